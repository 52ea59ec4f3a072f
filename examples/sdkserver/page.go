package main

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// static holds the page: HTML, CSS and JS, no build step, nothing loaded
// from another origin.
//
//go:embed static
var static embed.FS

// contentSecurityPolicy allows the page's own scripts, styles, images
// (the QR code), fetches and event stream, and nothing else: no inline
// script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// mountPage serves the page at / and its files under /static/.
func mountPage(mux *http.ServeMux) error {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return err
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		return err
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	withCSP := func(w http.ResponseWriter) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cache-Control", "no-cache")
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		withCSP(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(r.URL.Path, "index.html") { // no listings
			http.NotFound(w, r)
			return
		}
		withCSP(w)
		files.ServeHTTP(w, r)
	})
	return nil
}

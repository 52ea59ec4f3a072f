package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"

	qrcode "github.com/yeqown/go-qrcode/v2"

	"github.com/sdkbroker/sdkbroker/broker"
)

const (
	// qrModule is the size of one QR module in pixels.
	qrModule = 6
	// qrQuiet is the quiet zone around the code, in modules (the standard's 4).
	qrQuiet = 4
	// maxQRText bounds the text encoded: a grant's QR text or handoff URL is
	// far shorter, and version 40 at level M holds 2331 bytes.
	maxQRText = 2048
)

// qrDebugEnv makes go-qrcode log the encoded bits (the IDV handoff URL
// carries a device token) and write debug files; the server clears it.
const qrDebugEnv = "QRCODE_DEBUG"

// disableQRDebug clears QRCODE_DEBUG before go-qrcode reads it (it reads it
// once, at the first code), and reports whether it was set.
func disableQRDebug() bool {
	if os.Getenv(qrDebugEnv) == "" {
		return false
	}
	_ = os.Unsetenv(qrDebugEnv)
	return true
}

// qrPNG renders text as a black-on-white PNG QR code (byte mode, error
// correction level M, 4-module quiet zone).
func qrPNG(text string) (_ []byte, err error) {
	if text == "" || len(text) > maxQRText {
		return nil, errors.New("qr: text empty or too long")
	}
	defer func() { // the library panics on a few impossible inputs
		if p := recover(); p != nil {
			err = fmt.Errorf("qr: encoder failed")
		}
	}()
	code, err := qrcode.NewWith(text,
		qrcode.WithEncodingMode(qrcode.EncModeByte),
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	var w pngWriter
	if err := code.Save(&w); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return w.buf.Bytes(), nil
}

// pngWriter is a qrcode.Writer drawing the matrix as a paletted PNG with
// the standard library only.
type pngWriter struct{ buf bytes.Buffer }

func (p *pngWriter) Write(mat qrcode.Matrix) error {
	bits := mat.Bitmap() // [y][x], true = dark
	n := len(bits)
	size := (n + 2*qrQuiet) * qrModule
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y, row := range bits {
		for x, dark := range row {
			if !dark {
				continue
			}
			x0, y0 := (x+qrQuiet)*qrModule, (y+qrQuiet)*qrModule
			for dy := range qrModule {
				off := img.PixOffset(x0, y0+dy)
				for dx := range qrModule {
					img.Pix[off+dx] = 1
				}
			}
		}
	}
	return png.Encode(&p.buf, img)
}

func (p *pngWriter) Close() error { return nil }

// qrText returns the text a phone scans for the user's current grant of
// vendor: uqudo's dynamic link (the link a phone's camera opens in uqudo's
// app; the plain QR code text when the grant has none) or IDV's handoff URL.
func (s *server) qrText(vendor broker.Vendor, user string) (string, bool) {
	g, ok := s.grants.current(vendor, user)
	if !ok {
		return "", false
	}
	switch vendor {
	case broker.Uqudo:
		if g.QRCodeTextWithDynamicLink != "" {
			return g.QRCodeTextWithDynamicLink, true
		}
		return g.QRCodeText, g.QRCodeText != ""
	case broker.IDV:
		return g.HandoffURL, g.HandoffURL != ""
	}
	return "", false
}

// qr serves GET /v1/qr.png?vendor=uqudo|idv: the logged-in user's current
// grant as a QR code. The text is never taken from the request, so the
// endpoint cannot be made to draw anything else.
func (s *server) qr(w http.ResponseWriter, r *http.Request) {
	user := s.sessions.user(r)
	if user == "" {
		writeJSONError(w, http.StatusUnauthorized, "unauthenticated", "log in first")
		return
	}
	vendor := broker.Vendor(r.URL.Query().Get("vendor"))
	if vendor != broker.Uqudo && vendor != broker.IDV {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", `vendor must be "uqudo" or "idv"`)
		return
	}
	text, ok := s.qrText(vendor, user)
	if !ok {
		writeJSONError(w, http.StatusNotFound, "no_grant", "start a session for this vendor first")
		return
	}
	b, err := qrPNG(text)
	if err != nil {
		s.logger.Warn("qr: cannot render", "vendor", string(vendor), "length", len(text))
		writeJSONError(w, http.StatusInternalServerError, "internal", "the QR code could not be made")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "no-store") // an IDV handoff URL carries a device token
	h.Set("Content-Length", fmt.Sprint(len(b)))
	_, _ = w.Write(b)
}

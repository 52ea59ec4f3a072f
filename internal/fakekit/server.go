package fakekit

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
)

// Listen serves h on a loopback httptest.Server (127.0.0.1, or [::1] when
// IPv4 loopback is unavailable). Unlike httptest.NewServer it returns an
// error instead of panicking when no port can be had. Close the server when
// done; closing it twice is safe.
//
// The server closes each connection after its answer (no keep-alive), so
// that every request comes on a fresh connection and an injected [Reset]
// always reaches the client: net/http silently resends a GET whose reused
// connection is reset before any answer, which would hide the reset and
// make call counts depend on connection reuse.
func Listen(h http.Handler) (*httptest.Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if l, err6 = net.Listen("tcp", "[::1]:0"); err6 != nil {
			return nil, fmt.Errorf("fakekit: listen on loopback: %w", err)
		}
	}
	s := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	s.Config.SetKeepAlivesEnabled(false)
	s.Start()
	return s, nil
}

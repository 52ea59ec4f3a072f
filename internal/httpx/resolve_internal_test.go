package httpx

import (
	"net/url"
	"strings"
	"testing"
)

// resolveByReference is how Do built URLs before the direct path (and still
// builds the ones the direct path does not take): ResolveReference of the
// escaped and unescaped path against the base URL.
func resolveByReference(base *url.URL, p string) (*url.URL, error) {
	escaped := strings.TrimLeft(p, "/")
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(&url.URL{Path: unescaped, RawPath: escaped}), nil
}

// TestResolve_MatchesResolveReference checks that Client.resolve, which
// appends a plain path to the base path directly, builds exactly the URL
// that ResolveReference builds, for bases and paths of every kind: plain,
// escaped, with dot segments (escaped or not), empty segments, reserved
// characters, spaces and non-ASCII.
func TestResolve_MatchesResolveReference(t *testing.T) {
	bases := []string{
		"https://h", "https://h/", "https://h/api", "https://h/api/", "https://h:8443/v1/x/",
		"https://h/a%2Fb/", "https://h/a/../b/", "https://h/./x/", "https://h//x/", "http://h/sp%20ace/",
		"https://h/%C3%BC/", "https://h/tenant:1/",
	}
	paths := []string{
		"", "x", "/x", "//x", "a/b", "a//b", "a/", "a/./b", "a/../b", "../x", "..", ".", "./", "x/..",
		"%2E%2E", "%2E", Path("a/b"), Path(".."), Path("."), Path("v2", "items", "a b"), "a b", "a%20b",
		"x?y", "x#y", "ü", "%C3%BC", "a:b", "@x", "~u", "a;b=c", "a,b&c+d$e", "a!b", "a'b(c)*", "...", ".a", "a.",
		"%zz", "a%2", "v1/users/0f8e9c7a-1b2c-4d5e-8f90-a1b2c3d4e5f6/sdk-token",
	}
	for _, rawBase := range bases {
		c, err := New(Config{Vendor: "acme", BaseURL: rawBase})
		if err != nil {
			t.Fatalf("New(%q): %v", rawBase, err)
		}
		for _, p := range paths {
			for _, viaRequest := range []bool{false, true} {
				req := &Request{Path: p, Query: url.Values{"q": {"1 2"}}}
				base := c.base
				if viaRequest {
					req.BaseURL = rawBase
					base, _ = ParseBaseURL(rawBase, false)
				}
				want, wantErr := resolveByReference(base, p)
				var got url.URL
				gotErr := c.resolve(&got, req)
				if (wantErr != nil) != (gotErr != nil) {
					t.Errorf("%q + %q: error %v, want %v", rawBase, p, gotErr, wantErr)
					continue
				}
				if wantErr != nil {
					continue
				}
				want.RawQuery = "q=1+2"
				if got.String() != want.String() || got.EscapedPath() != want.EscapedPath() || got.Path != want.Path || got.Host != want.Host {
					t.Errorf("%q + %q:\n got %s (path %q, escaped %q)\nwant %s (path %q, escaped %q)",
						rawBase, p, got.String(), got.Path, got.EscapedPath(), want.String(), want.Path, want.EscapedPath())
				}
			}
		}
	}
}

func TestIsPlainPath(t *testing.T) {
	for p, want := range map[string]bool{
		"": true, "a/b": true, "a.b/~c-d_e": true, "a:b@c;d=e,f&g+h$i": true,
		".": false, "..": false, "a/./b": false, "a/..": false, "a%2Fb": false, "a b": false, "ü": false, "a?b": false, "a!b": false,
	} {
		if got := isPlainPath(p); got != want {
			t.Errorf("isPlainPath(%q) = %v, want %v", p, got, want)
		}
	}
}

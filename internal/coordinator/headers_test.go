package coordinator

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSecurityHeaders: every page and every other answer of the
// coordinator carries the security headers; the pages' CSP runs scripts
// of their own origin alone, and lets them connect to it and to the
// workers' ping URLs (by scheme: https:, and http: on a plain HTTP page).
func TestSecurityHeaders(t *testing.T) {
	web := fstest.MapFS{
		"index.html": {Data: []byte("<!doctype html><title>Telecart</title>")},
		"check.html": {Data: []byte("<!doctype html><title>Check</title>")},
		"js/main.js": {Data: []byte("export {};")},
	}
	c, srv := serve(t, Config{Secrets: []string{testSecret}, Web: web})
	paths := []string{"/", "/check", "/r/ROOM1234", "/js/main.js", "/healthz", "/readyz", "/ping", "/metrics", "/nothing-here", "/ws", "/worker"}
	for _, path := range paths {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		checkHeaders(t, path, resp.Header, "'self' http: https:")
	}
	// Over TLS, no plain http: a page served over HTTPS could fetch none.
	for _, path := range paths[:3] {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.TLS = &tls.ConnectionState{}
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, req)
		checkHeaders(t, "https "+path, rec.Result().Header, "'self' https:")
	}
}

func checkHeaders(t *testing.T, path string, h http.Header, connect string) {
	t.Helper()
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s %q, want %q", path, name, got, want)
		}
	}
	pp := h.Get("Permissions-Policy")
	for _, want := range []string{"gamepad=(self)", "fullscreen=(self)", "camera=()", "microphone=()", "geolocation=()"} {
		if !strings.Contains(pp, want) {
			t.Errorf("%s: Permissions-Policy %q lacks %s", path, pp, want)
		}
	}
	csp := directives(h.Get("Content-Security-Policy"))
	for name, want := range map[string]string{
		"default-src":     "'none'",
		"script-src":      "'self'",
		"style-src":       "'self'",
		"img-src":         "'self' data: blob:",
		"frame-ancestors": "'none'",
		"base-uri":        "'none'",
		"connect-src":     connect,
	} {
		if got := csp[name]; got != want {
			t.Errorf("%s: CSP %s %q, want %q", path, name, got, want)
		}
	}
}

// directives splits a CSP into its directives' values, by name.
func directives(csp string) map[string]string {
	d := map[string]string{}
	for _, part := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), " ")
		if name != "" {
			d[name] = value
		}
	}
	return d
}

// TestMetricsAccess: /metrics (and the embedded worker's) is served on
// the public listener only to the bearer of the metrics token, not at all
// without one, and to anyone by Metrics, for a private listener.
func TestMetricsAccess(t *testing.T) {
	workerMetrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("telecart_worker_rooms 0\n")) })
	const token = "metrics-test-token-0123"
	_, open := serve(t, Config{Secrets: []string{testSecret}, WorkerMetrics: workerMetrics})
	c, guarded := serve(t, Config{Secrets: []string{testSecret}, WorkerMetrics: workerMetrics, MetricsToken: token})
	private := httptestServer(t, c.Metrics())
	tests := []struct {
		name, url, token string
		want             int
	}{
		{"no token set", open.URL + "/metrics", "", http.StatusNotFound},
		{"no token set, the worker's", open.URL + "/worker/metrics", "", http.StatusNotFound},
		{"no token set, bearing one", open.URL + "/metrics", token, http.StatusNotFound},
		{"no bearer", guarded.URL + "/metrics", "", http.StatusUnauthorized},
		{"a wrong bearer", guarded.URL + "/metrics", "metrics-guessed-token", http.StatusUnauthorized},
		{"the worker secret", guarded.URL + "/metrics", testSecret, http.StatusUnauthorized},
		{"the token", guarded.URL + "/metrics", token, http.StatusOK},
		{"the worker's, no bearer", guarded.URL + "/worker/metrics", "", http.StatusUnauthorized},
		{"the worker's, the token", guarded.URL + "/worker/metrics", token, http.StatusOK},
		{"private", private.URL + "/metrics", "", http.StatusOK},
		{"private, the worker's", private.URL + "/worker/metrics", "", http.StatusOK},
	}
	for _, tt := range tests {
		code, body := getWith(t, tt.url, tt.token)
		if code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
		}
		if code == http.StatusOK && !strings.Contains(body, "telecart_") {
			t.Errorf("%s: no metrics in %q", tt.name, body)
		}
	}
}

// httptestServer serves h until the test ends.
func httptestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

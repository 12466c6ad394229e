package ping

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method string
		want   int
	}{
		{http.MethodGet, http.StatusNoContent},
		{http.MethodHead, http.StatusNoContent},
		{http.MethodPost, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, "/ping", nil))
		if rec.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.method, rec.Code, tt.want)
		}
		for _, h := range []string{"Access-Control-Allow-Origin", "Timing-Allow-Origin"} {
			if rec.Header().Get(h) != "*" {
				t.Errorf("%s: %s %q, want *", tt.method, h, rec.Header().Get(h))
			}
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: cached", tt.method)
		}
	}
}

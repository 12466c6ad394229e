package coordinator

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// TestStaticFiles: the app's files come gzipped to a browser that takes
// gzip, whole to one that does not, each with an ETag; a page opened
// again, naming it, gets 304 and no body; every answer says to
// revalidate.
func TestStaticFiles(t *testing.T) {
	js := []byte(strings.Repeat("export const a = 'telecart';\n", 200))
	index := []byte("<!doctype html><title>Telecart</title>" + strings.Repeat("<p>game</p>", 100))
	web := fstest.MapFS{
		"index.html": {Data: index},
		"check.html": {Data: []byte("<!doctype html><title>Check</title>")},
		"js/main.js": {Data: js},
	}
	c, err := New(Config{Secrets: []string{testSecret}, Web: web})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	h := c.Handler()
	get := func(path, encoding, etag string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if encoding != "" {
			req.Header.Set("Accept-Encoding", encoding)
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	body := func(resp *http.Response) []byte {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Encoding") != "gzip" {
			return b
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return plain
	}
	tests := []struct {
		path, encoding string
		want           []byte
		gzipped        bool
		contentType    string
	}{
		{"/js/main.js", "gzip, deflate, br", js, true, "text/javascript; charset=utf-8"},
		{"/js/main.js", "", js, false, "text/javascript; charset=utf-8"},
		{"/js/main.js", "gzip;q=0", js, false, "text/javascript; charset=utf-8"},
		{"/", "gzip", index, true, "text/html; charset=utf-8"},
		{"/r/ROOM1234", "gzip", index, true, "text/html; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.encoding, func(t *testing.T) {
			resp := get(tt.path, tt.encoding, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.gzipped {
				t.Errorf("gzipped %v, want %v", got, tt.gzipped)
			}
			if got := body(resp); !bytes.Equal(got, tt.want) {
				t.Errorf("body of %d bytes, want the file's %d", len(got), len(tt.want))
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again := get(tt.path, tt.encoding, etag)
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("with its ETag: status %d, want 304", again.StatusCode)
			}
			if b, _ := io.ReadAll(again.Body); len(b) != 0 {
				t.Errorf("a 304 with %d bytes of body", len(b))
			}
		})
	}
	if resp := get("/nothing-here.js", "gzip", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a file the app lacks: status %d, want 404", resp.StatusCode)
	}
}

// FuzzAcceptsGzip: any Accept-Encoding is read without a panic, and gzip
// is taken only when the header names it.
func FuzzAcceptsGzip(f *testing.F) {
	for _, seed := range []string{"", "gzip", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8, *;q=0.1", "gzip;q=0", "GZIP ; q = 0.5", "identity", ";;,,q=", "gzip;q=abc"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", header)
		if acceptsGzip(r) && !strings.Contains(strings.ToLower(header), "gzip") {
			t.Errorf("Accept-Encoding %q taken for gzip", header)
		}
	})
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "gzip, deflate, br": true, "deflate, gzip;q=0.8": true,
		"gzip;q=0": false, "gzip; q=0.000": false, "GZIP ; q = 0.5": true, "identity": false, "x-gzip": false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", header)
		if got := acceptsGzip(r); got != want {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", header, got, want)
		}
	}
}

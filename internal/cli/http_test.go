package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
	"github.com/telecart/telecart/internal/workerauth"
)

var openHTTP = regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)`)

// TestHTTPLimits runs a coordinator with the default limits but short
// timeouts: an idle keep-alive connection is closed by the server; a
// header over the limit gets 431; and a browser's WebSocket outlives the
// read and idle timeouts, as a game's must.
func TestHTTPLimits(t *testing.T) {
	t.Parallel()
	limits := defaultHTTPLimits()
	limits.Read, limits.Idle = 300*time.Millisecond, 300*time.Millisecond
	coord := startCommand(t, &env{http: &limits}, "coordinator", "-listen", "127.0.0.1:0", "-config", secretConfig(t))
	base := coord.wait(t, "the address to open, printed", openHTTP)
	addr := strings.TrimPrefix(base, "http://")

	// A browser's socket, open before the timeouts pass.
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readUntil(t, ctx, ws, "the hello", func(p signal.Payload) bool { _, ok := p.(signal.Hello); return ok })

	// An idle keep-alive connection, opened after the socket: the server
	// closes it once idle for the timeout.
	conn := dialRaw(t, addr)
	r := bufio.NewReader(conn)
	resp := request(t, conn, r, "GET /healthz HTTP/1.1\r\nHost: telecart\r\n\r\n")
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /healthz: %s, closing %v; want 200, kept alive", resp.Status, resp.Close)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waittest.Limit))
	if n, err := r.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("an idle keep-alive connection: read %d bytes, %v; want the server to close it (EOF) within %v", n, err, waittest.Limit)
	}

	// The socket has outlived both timeouts, and still answers: a bad
	// message gets its error.
	if err := ws.Write(ctx, websocket.MessageText, []byte("{}")); err != nil {
		t.Fatalf("the socket, after the timeouts: %v", err)
	}
	readUntil(t, ctx, ws, "the answer to a bad message, after the timeouts", func(p signal.Payload) bool {
		e, ok := p.(signal.Error)
		return ok && e.Code == signal.CodeBadRequest
	})

	// A header over the limit.
	conn = dialRaw(t, addr)
	big := strings.Repeat("x", 2*defaultHTTPLimits().MaxHeaderBytes)
	resp = request(t, conn, bufio.NewReader(conn), "GET /healthz HTTP/1.1\r\nHost: telecart\r\nX-Big: "+big+"\r\n\r\n")
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a header of %d bytes: %s, want 431", len(big), resp.Status)
	}

}

// TestBounded: a handler that reads a body reads at most the limit.
func TestBounded(t *testing.T) {
	t.Parallel()
	var got []byte
	var readErr error
	h := bounded(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, readErr = io.ReadAll(r.Body)
	}), 10)
	rec := &discardWriter{header: http.Header{}}
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(make([]byte, 100)))
	if err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(rec, req)
	var tooLarge *http.MaxBytesError
	if len(got) > 10 || !errors.As(readErr, &tooLarge) {
		t.Errorf("read %d bytes of 100, %v; want at most 10 and a MaxBytesError", len(got), readErr)
	}
}

type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// TestMetricsAccess: the embedded default serves no metrics on its
// public listener without metrics_token, and with it only to its bearer;
// on metrics_listen, the coordinator's and its worker's to anyone.
func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	const token = "cli-test-metrics-token"
	for _, tc := range []struct {
		name     string
		settings map[string]any
		public   int // what /metrics on the public listener answers a bearer of token
	}{
		{"metrics_listen alone", map[string]any{}, http.StatusNotFound},
		{"and metrics_token", map[string]any{"metrics_token": token}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			serve := startCommand(t, nil, "serve", "-listen", "127.0.0.1:0", "-games", "", "-saves", t.TempDir(),
				"-metrics-listen", "127.0.0.1:0", "-config", writeConfig(t, tc.settings))
			base := serve.wait(t, "the address to open, printed", openHTTP)
			private := "http://" + serve.wait(t, "the metrics address, logged", regexp.MustCompile(`metrics_listen=(127\.0\.0\.1:\d+)`))
			for _, path := range []string{"/metrics", "/worker/metrics"} {
				if code, _, _ := getBearer(t, base+path, ""); code != http.StatusNotFound && code != http.StatusUnauthorized {
					t.Errorf("public %s, no bearer: %d, want 404 or 401", path, code)
				}
				if code, _, _ := getBearer(t, base+path, token); code != tc.public {
					t.Errorf("public %s, the token's bearer: %d, want %d", path, code, tc.public)
				}
				code, body, err := getBearer(t, private+path, "")
				if code != http.StatusOK || !strings.Contains(body, "telecart_") {
					t.Errorf("metrics_listen %s: %d %v, want the metrics", path, code, err)
				}
			}
		})
	}
}

// TestWorkerToken: worker-token prints the credential of the id asked
// for, made with the first of the coordinator's secrets from the config
// file (or the environment; never a flag), which the coordinator accepts
// with any of its secrets.
func TestWorkerToken(t *testing.T) {
	t.Parallel()
	const oldSecret = "cli-test-old-secret"
	file := writeConfig(t, map[string]any{"worker_secret": []string{testSecret, oldSecret}})
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"worker-token", "-config", file, "-id", "eu-1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	cred := strings.TrimSpace(stdout.String())
	if id, err := workerauth.Verify([]string{testSecret}, cred); id != "eu-1" || err != nil {
		t.Errorf("printed %q: for %q (%v), want eu-1's with the first secret", cred, id, err)
	}
	if _, err := workerauth.Verify([]string{oldSecret}, cred); err == nil {
		t.Errorf("printed %q: made with the old secret, want the first", cred)
	}
	// -o writes it to a file instead, the worker's worker_token_file.
	out := filepath.Join(t.TempDir(), "worker.token")
	stdout.Reset()
	if code := Run(context.Background(), []string{"worker-token", "-config", file, "-id", "eu-1", "-o", out}, &stdout, &stderr); code != 0 || stdout.Len() > 0 {
		t.Fatalf("-o: exit %d, stdout %q: %s", code, stdout.String(), stderr.String())
	}
	if data, err := os.ReadFile(out); err != nil || strings.TrimSpace(string(data)) != cred {
		t.Errorf("-o wrote %q (%v), want %q", data, err, cred)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("-o's file: %v (%v), want mode 0600", fi.Mode(), err)
	}
	for _, tt := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"worker-token", "-config", file}, 2, "wants the worker's -id"},
		{[]string{"worker-token", "-id", "eu-1", "-config", writeConfig(t, map[string]any{})}, 1, "set the coordinator's worker_secret"},
		{[]string{"worker-token", "-id", "eu 1", "-config", file}, 1, "printable ASCII"},
		{[]string{"worker-token", "-id", "eu-1", "-secret", testSecret}, 2, "flag provided but not defined"},
		{[]string{"worker-token", "-id", "eu-1", "-config", file, "-o", filepath.Join(t.TempDir(), "no-such-dir", "worker.token")}, 1, "the credential's file"},
	} {
		stdout.Reset()
		stderr.Reset()
		code := Run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.say) || stdout.Len() > 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d saying %q", tt.args, code, stdout.String(), stderr.String(), tt.code, tt.say)
		}
	}
}

// dialRaw is a TCP connection to addr, closed when the test ends.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// request writes a raw request on conn and reads its answer, body and all.
func request(t *testing.T, conn net.Conn, r *bufio.Reader, raw string) *http.Response {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(waittest.Limit))
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("no answer to %.60q: %v", raw, err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_ = conn.SetDeadline(time.Time{})
	return resp
}

// getBearer GETs url with a bearer token, when not "".
func getBearer(t *testing.T, url, token string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// readUntil reads ws until a message satisfies ok.
func readUntil(t *testing.T, ctx context.Context, ws *websocket.Conn, what string, ok func(signal.Payload) bool) {
	t.Helper()
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if _, p, err := signal.Decode(b); err == nil && ok(p) {
			return
		}
	}
}

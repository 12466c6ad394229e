package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
	"github.com/telecart/telecart/internal/workerauth"
)

// testSecret is the worker secret of the tests' coordinators.
const testSecret = "cli-test-secret-0123"

// writeConfig writes a -config file of settings and returns its path.
func writeConfig(t *testing.T, settings map[string]any) string {
	t.Helper()
	b, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "telecart.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// secretConfig is a -config file with the coordinator's worker secret.
func secretConfig(t *testing.T) string {
	t.Helper()
	return writeConfig(t, map[string]any{"worker_secret": []string{testSecret}})
}

// credentialFile is a worker_token_file holding worker id's credential.
func credentialFile(t *testing.T, id signal.WorkerID) string {
	t.Helper()
	cred, err := workerauth.Credential(testSecret, id)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "worker.token")
	if err := os.WriteFile(path, []byte(cred+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// play starts runners as "<this executable> runner", so the test binary
// must answer that like telecart does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "runner" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestPlayPrintsLiveStatistics: play says what it plays, then prints a
// line of statistics a second until it is stopped.
func TestPlayPrintsLiveStatistics(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a runner process")
	}
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr fixturetest.SyncBuffer
	code := make(chan int, 1)
	go func() { code <- Run(ctx, []string{"play"}, &stdout, &stderr) }()

	// Two lines, however long a busy machine takes to print them.
	line := regexp.MustCompile(`(?m)^\s*(\d+\.\d) fps .* encode \d+\.\d\d/\d+\.\d\d .* cpu\s+\d+\.\d%$`)
	var stats [][]string
	waittest.Eventually(t, "two lines of statistics", func() error {
		select {
		case c := <-code:
			t.Fatalf("play exited %d while it should play on:\n%s\n%s", c, stdout.String(), stderr.String())
		default:
		}
		if stats = line.FindAllStringSubmatch(stdout.String(), -1); len(stats) < 2 {
			return fmt.Errorf("printed so far:\n%s", stdout.String())
		}
		return nil
	})
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d when stopped\n%s", c, stderr.String())
		}
	case <-time.After(waittest.Limit):
		t.Fatalf("play still running %v after it was stopped", waittest.Limit)
	}
	if out := stdout.String(); !strings.HasPrefix(out, "playing telecart-test.nes with Nestopia: 256x224") {
		t.Errorf("no start line:\n%s", out)
	}
	// Paced at the core's 60 fps, never faster; slower only on a loaded machine.
	if fps, _ := strconv.ParseFloat(stats[len(stats)-1][1], 64); fps <= 0 || fps > 63 {
		t.Errorf("last line says %.1f fps", fps)
	}
}

// TestPlayDuration: with -duration, play stops by itself once the game has
// played that long, counted from when it runs.
func TestPlayDuration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a runner process")
	}
	t.Parallel()
	var stdout, stderr fixturetest.SyncBuffer
	code := make(chan int, 1)
	go func() { code <- Run(context.Background(), []string{"play", "-duration", "1ms"}, &stdout, &stderr) }()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d\n%s", c, stderr.String())
		}
	case <-time.After(waittest.Limit):
		t.Fatalf("play -duration 1ms still running after %v", waittest.Limit)
	}
	if out := stdout.String(); !strings.HasPrefix(out, "playing telecart-test.nes with Nestopia") {
		t.Errorf("no start line:\n%s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"play", "-nosuchflag"}, 2, "flag provided but not defined"},
		{[]string{"play", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"play", "-game", "notes.txt"}, 1, "no system plays this file type"},
		{[]string{"play", "-codec", "mpeg2"}, 1, `video codec "mpeg2"`},
		{[]string{"help"}, 0, ""},
		{[]string{"worker"}, 1, "set the worker's credential, worker_token"},
		{[]string{"coordinator"}, 1, "set the workers' secret, worker_secret"},
		{[]string{"serve", "-capacity", "-1"}, 1, "capacity -1"},
		{[]string{"serve", "-config", "/nonexistent.json"}, 1, "no such file"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.say) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", tt.args, code, stderr.String(), tt.code, tt.say)
		}
	}
}

// TestServe runs the embedded default: the page is served, its worker
// joins, and it stops when asked.
func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr fixturetest.SyncBuffer
	code := make(chan int, 1)
	go func() {
		code <- Run(ctx, []string{"serve", "-listen", "127.0.0.1:0", "-games", "", "-saves", t.TempDir()}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("exit %d\n%s", c, stderr.String())
		}
	}()
	url := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)`)
	var base string
	waittest.Eventually(t, "the address to open, printed", func() error {
		m := url.FindStringSubmatch(stdout.String())
		if m == nil {
			return fmt.Errorf("none in:\n%s\n%s", stdout.String(), stderr.String())
		}
		base = m[1]
		return nil
	})
	waittest.Eventually(t, "the embedded worker, registered", func() error {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `"workers":1`) {
			return fmt.Errorf("health says %s", body)
		}
		return nil
	})
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<title>") {
		t.Fatalf("GET / = %d:\n%s", resp.StatusCode, page)
	}

	// A link to a room of an earlier run is answered at once: the rooms
	// went with that run's worker, no worker will bring them back, and
	// this run knows nothing of them.
	ctx, cancelWS := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancelWS()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	join, err := signal.Encode("ref", signal.Join{Room: "OLDROOM1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(ctx, websocket.MessageText, join); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("no answer to a link of an earlier run's room: %v", err)
		}
		if _, p, err := signal.Decode(data); err == nil {
			if e, ok := p.(signal.Error); ok && e.Code == signal.CodeNoRoom {
				break
			}
		}
	}
}

// TestBrowseURL: the address printed to open is one a browser on this
// machine can open, also for a server listening on every address.
func TestBrowseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ listen, want string }{
		{"127.0.0.1:8000", "http://127.0.0.1:8000"},
		{"0.0.0.0:8000", "http://127.0.0.1:8000"},
		{"[::]:8000", "http://127.0.0.1:8000"},
		{"[::1]:8000", "http://[::1]:8000"},
		{"192.0.2.7:80", "http://192.0.2.7:80"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.listen)
		if err != nil {
			t.Fatal(err)
		}
		if got := browseURL(addr, nil); got != tc.want {
			t.Errorf("listening on %s: open %s, want %s", tc.listen, got, tc.want)
		}
	}
}

// TestProbe: probe exits 0 on a 2xx answer only, over http and https, and
// takes a self-signed certificate only when told to.
func TestProbe(t *testing.T) {
	t.Parallel()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			fmt.Fprintln(w, "ready")
			return
		}
		http.Error(w, "no worker can take a game", http.StatusServiceUnavailable)
	})
	plain := httptest.NewServer(handler)
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewUnstartedServer(handler)
	// The refused handshake is the test's own doing: no log of it.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	// A port nothing listens on: one that was just closed.
	closed := httptest.NewServer(handler)
	closed.Close()

	tests := []struct {
		args []string
		code int
		say  string // in stdout on success, stderr otherwise
	}{
		{[]string{"probe", plain.URL + "/readyz"}, 0, "200 OK"},
		{[]string{"probe", plain.URL + "/notready"}, 1, "503 Service Unavailable no worker can take a game"},
		{[]string{"probe", closed.URL + "/readyz"}, 1, "connection refused"},
		{[]string{"probe", "-insecure", tlsSrv.URL + "/readyz"}, 0, "200 OK"},
		{[]string{"probe", tlsSrv.URL + "/readyz"}, 1, "certificate"},
		{[]string{"probe", "-insecure", tlsSrv.URL + "/notready"}, 1, "503"},
		{[]string{"probe"}, 2, "Usage: telecart probe"},
		{[]string{"probe", plain.URL, plain.URL}, 2, "Usage: telecart probe"},
		{[]string{"probe", "ftp://127.0.0.1/readyz"}, 2, "not an http or https URL"},
		{[]string{"probe", "127.0.0.1:8000/readyz"}, 2, "not an http or https URL"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tt.args, &stdout, &stderr)
		out := stderr.String()
		if tt.code == 0 {
			out = stdout.String()
		}
		if code != tt.code || !strings.Contains(out, tt.say) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d saying %q", tt.args, code, stdout.String(), stderr.String(), tt.code, tt.say)
		}
	}
}

// TestHelpListsProbe: the container image's health check is a command
// people can find.
func TestHelpListsProbe(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "  probe ") {
		t.Errorf("help: exit %d:\n%s", code, stdout.String())
	}
}

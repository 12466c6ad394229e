package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/signal"
)

// play starts runners as "<this executable> runner", so the test binary
// must answer that like telecart does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "runner" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestPlayPrintsLiveStatistics(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"play", "-duration", "2500ms"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "playing telecart-test.nes with Nestopia: 256x224") {
		t.Errorf("no start line:\n%s", out)
	}
	stats := regexp.MustCompile(`(?m)^\s*(\d+\.\d) fps .* encode \d+\.\d\d/\d+\.\d\d .* cpu\s+\d+\.\d%$`).FindAllStringSubmatch(out, -1)
	if len(stats) < 2 {
		t.Fatalf("want a statistics line a second, got:\n%s", out)
	}
	// Paced at the core's 60 fps, never faster; slower only on a loaded machine.
	if fps, _ := strconv.ParseFloat(stats[len(stats)-1][1], 64); fps <= 0 || fps > 63 {
		t.Errorf("last line says %.1f fps", fps)
	}
}

func TestUsageErrors(t *testing.T) {
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
		{[]string{"worker"}, 1, "worker token"},
		{[]string{"coordinator"}, 1, "worker token"},
		{[]string{"serve", "-capacity", "0"}, 1, "capacity 0"},
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
	for range 100 {
		if m := url.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("no address printed:\n%s\n%s", stdout.String(), stderr.String())
	}
	for range 100 {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `"workers":1`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<title>") {
		t.Fatalf("GET / = %d:\n%s", resp.StatusCode, page)
	}

	// A link to a room of an earlier run has ended, said at once: the
	// rooms went with that run's worker, no worker will bring them back.
	ctx, cancelWS := context.WithTimeout(context.Background(), 2*time.Second)
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
			t.Fatalf("no answer to a link of an earlier run's room within 2 s: %v", err)
		}
		if _, p, err := signal.Decode(data); err == nil {
			if e, ok := p.(signal.Error); ok && e.Code == signal.CodeRoomEnded {
				break
			}
		}
	}
}

// TestBrowseURL: the address printed to open is one a browser on this
// machine can open, also for a server listening on every address.
func TestBrowseURL(t *testing.T) {
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
		if got := browseURL(addr); got != tc.want {
			t.Errorf("listening on %s: open %s, want %s", tc.listen, got, tc.want)
		}
	}
}

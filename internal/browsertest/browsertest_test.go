package browsertest_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/png" // image.Decode must know PNG
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/waittest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.RunInNetNS(m)) }

// eachBrowser runs test on Chromium and on Firefox, each in a subtest
// with a browser of its own.
func eachBrowser(t *testing.T, test func(t *testing.T, b *browsertest.Browser)) {
	browsers := []struct {
		name  string
		start func(testing.TB) *browsertest.Browser
	}{
		{"chromium", browsertest.Start},
		{"firefox", browsertest.StartFirefox},
	}
	for _, br := range browsers {
		t.Run(br.name, func(t *testing.T) { test(t, br.start(t)) })
	}
}

// serveTestdata serves testdata/ on 127.0.0.1 (httptest's default address).
func serveTestdata(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	t.Cleanup(srv.Close)
	return srv
}

// check fails the test with err and the page's console, which usually says
// why a page did not do what was expected.
func check(t *testing.T, p *browsertest.Page, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%v\nconsole:\n\t%s", err, strings.Join(p.Console(), "\n\t"))
	}
}

// event is what testdata/input.html records for each DOM event.
type event struct {
	Type     string `json:"type"`
	Target   string `json:"target,omitempty"`
	Key      string `json:"key,omitempty"`
	Code     string `json:"code,omitempty"`
	KeyCode  int    `json:"keyCode,omitempty"`
	Location int    `json:"location,omitempty"`
	Repeat   bool   `json:"repeat,omitempty"`
	Shift    bool   `json:"shift,omitempty"`
	Ctrl     bool   `json:"ctrl,omitempty"`
	Trusted  bool   `json:"trusted"`
}

func TestClickAndKeys(t *testing.T) { eachBrowser(t, testClickAndKeys) }

func testClickAndKeys(t *testing.T, b *browsertest.Browser) {
	p := b.NewPage(t, serveTestdata(t).URL+"/input.html")

	check(t, p, p.Click("#btn"))

	// The standard values of a US keyboard, written out here rather than
	// taken from the harness's own table.
	keys := []struct {
		code, key   string
		keyCode     int
		location    int
		shiftOnDown bool
	}{
		{"ArrowUp", "ArrowUp", 38, 0, false},
		{"ArrowDown", "ArrowDown", 40, 0, false},
		{"ArrowLeft", "ArrowLeft", 37, 0, false},
		{"ArrowRight", "ArrowRight", 39, 0, false},
		{"Enter", "Enter", 13, 0, false},
		{"Escape", "Escape", 27, 0, false},
		{"Space", " ", 32, 0, false},
		{"KeyZ", "z", 90, 0, false},
		{"KeyX", "x", 88, 0, false},
		{"KeyA", "a", 65, 0, false},
		{"KeyS", "s", 83, 0, false},
		{"ShiftLeft", "Shift", 16, 1, true},
		{"ShiftRight", "Shift", 16, 2, true},
	}
	want := []event{{Type: "click", Target: "btn", Trusted: true}}
	for _, k := range keys {
		check(t, p, p.KeyDown(k.code))
		check(t, p, p.KeyUp(k.code))
		want = append(want,
			event{Type: "keydown", Key: k.key, Code: k.code, KeyCode: k.keyCode, Location: k.location, Shift: k.shiftOnDown, Trusted: true},
			event{Type: "keyup", Key: k.key, Code: k.code, KeyCode: k.keyCode, Location: k.location, Trusted: true},
		)
	}

	// Shift held changes the key of a letter, as on a real keyboard.
	check(t, p, p.KeyDown("ShiftLeft"))
	check(t, p, p.KeyDown("KeyA"))
	check(t, p, p.KeyUp("KeyA"))
	check(t, p, p.KeyUp("ShiftLeft"))
	want = append(want,
		event{Type: "keydown", Key: "Shift", Code: "ShiftLeft", KeyCode: 16, Location: 1, Shift: true, Trusted: true},
		event{Type: "keydown", Key: "A", Code: "KeyA", KeyCode: 65, Shift: true, Trusted: true},
		event{Type: "keyup", Key: "A", Code: "KeyA", KeyCode: 65, Shift: true, Trusted: true},
		event{Type: "keyup", Key: "Shift", Code: "ShiftLeft", KeyCode: 16, Location: 1, Trusted: true},
	)

	// Pressing a held key again is an auto-repeat, as holding it is.
	check(t, p, p.KeyDown("ArrowRight"))
	check(t, p, p.KeyDown("ArrowRight"))
	check(t, p, p.KeyUp("ArrowRight"))
	want = append(want,
		event{Type: "keydown", Key: "ArrowRight", Code: "ArrowRight", KeyCode: 39, Trusted: true},
		event{Type: "keydown", Key: "ArrowRight", Code: "ArrowRight", KeyCode: 39, Repeat: true, Trusted: true},
		event{Type: "keyup", Key: "ArrowRight", Code: "ArrowRight", KeyCode: 39, Trusted: true},
	)

	if err := p.KeyDown("NoSuchKey"); err == nil {
		t.Error("KeyDown(NoSuchKey) succeeded; want an error")
	}

	var got []event
	check(t, p, p.Eval("window.events", &got))
	if len(got) != len(want) {
		t.Errorf("got %d events, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestEvalAndWaitFor(t *testing.T) { eachBrowser(t, testEvalAndWaitFor) }

func testEvalAndWaitFor(t *testing.T, b *browsertest.Browser) {
	p := b.NewPage(t, serveTestdata(t).URL+"/input.html")

	var n int
	check(t, p, p.Eval(`new Promise(r => setTimeout(() => r(6 * 7), 10))`, &n))
	if n != 42 {
		t.Errorf("Eval awaited %d; want 42", n)
	}
	if err := p.Eval(`Promise.reject(new Error("nope"))`, nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Eval of a rejected promise: %v; want an error that says nope", err)
	}
	check(t, p, p.Eval(`setTimeout(() => { window.ready = true; console.log("ready now") }, 200)`, nil))
	check(t, p, p.WaitFor(`window.ready === true`, waittest.Limit))
	if err := p.WaitFor(`window.never`, 300*time.Millisecond); err == nil {
		t.Error("WaitFor(window.never) succeeded")
	}
	check(t, p, p.Eval(`setTimeout(() => { throw new Error("boom") }, 0)`, nil))
	check(t, p, p.WaitFor(`true`, waittest.Limit))
	// The exception reaches the console a moment after the timer fires.
	waittest.Eventually(t, "Console() with the page's log and its uncaught exception", func() error {
		console := strings.Join(p.Console(), "\n")
		for _, want := range []string{"ready now", "boom"} {
			if !strings.Contains(console, want) {
				return fmt.Errorf("Console() lacks %q:\n%s", want, console)
			}
		}
		return nil
	})
}

// candidatePair is what testdata/webrtc.html's selectedPair returns.
type candidatePair struct {
	State         string `json:"state"`
	Local, Remote struct {
		Address  string `json:"address"`
		Port     int    `json:"port"`
		Protocol string `json:"protocol"`
		Type     string `json:"type"`
	}
}

func TestWebRTCOverLoopback(t *testing.T) { eachBrowser(t, testWebRTCOverLoopback) }

func testWebRTCOverLoopback(t *testing.T, b *browsertest.Browser) {
	p := b.NewPage(t, serveTestdata(t).URL+"/webrtc.html")

	check(t, p, p.WaitFor(`framesDecoded().then(n => n > 30)`, waittest.Limit))
	var frames int
	check(t, p, p.Eval(`framesDecoded()`, &frames))
	for _, pc := range []string{"pc1", "pc2"} {
		var pair candidatePair
		check(t, p, p.Eval(`selectedPair(`+pc+`)`, &pair))
		t.Logf("%s: %d frames decoded; selected pair %+v", pc, frames, pair)
		if pair.State != "succeeded" {
			t.Errorf("%s: candidate pair state %q; want succeeded", pc, pair.State)
		}
		// Chromium takes 127.0.0.1; Firefox gathers ::1 too, and may
		// choose it. Either is the loopback the namespace has.
		local, remote := net.ParseIP(pair.Local.Address), net.ParseIP(pair.Remote.Address)
		if !local.IsLoopback() || !remote.IsLoopback() {
			t.Errorf("%s: selected pair %s -> %s; want loopback on both sides", pc, pair.Local.Address, pair.Remote.Address)
		}
	}

	// The received video is really on screen: the middle of its left edge
	// shows the canvas colour, which is fully saturated, never grey.
	var videoWidth int
	check(t, p, p.Eval(`document.getElementById("dst").videoWidth`, &videoWidth))
	if videoWidth != 320 {
		t.Errorf("video width %d; want 320", videoWidth)
	}
	path := filepath.Join(t.TempDir(), "webrtc.png")
	check(t, p, p.Screenshot(path))
	img := decodePNG(t, path)
	var rect struct{ X, Y int }
	check(t, p, p.Eval(`(() => { const r = document.getElementById("dst").getBoundingClientRect(); return {X: Math.round(r.left), Y: Math.round(r.top)}; })()`, &rect))
	r, g, bl, _ := img.At(rect.X+10, rect.Y+10).RGBA()
	if spread := max(r, g, bl) - min(r, g, bl); spread < 0x8000 {
		t.Errorf("video pixel at (%d,%d) is %04x %04x %04x, not a saturated colour: no video on screen", rect.X+10, rect.Y+10, r, g, bl)
	}
}

// decodePNG checks that path holds a PNG and decodes it.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s does not start with the PNG signature: % x", path, data[:min(len(data), 8)])
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if format != "png" {
		t.Fatalf("%s decodes as %s; want png", path, format)
	}
	return img
}

func TestScreenshot(t *testing.T) { eachBrowser(t, testScreenshot) }

func testScreenshot(t *testing.T, b *browsertest.Browser) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><body style="margin:0;background:rgb(0,128,255)"></body>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p := b.NewPage(t, srv.URL)

	path := filepath.Join(t.TempDir(), "shot.png")
	check(t, p, p.Screenshot(path))
	img := decodePNG(t, path)
	if got := img.Bounds().Size(); got != image.Pt(1280, 720) {
		t.Errorf("screenshot is %v; want 1280x720, the viewport", got)
	}
	r, g, bl, _ := img.At(100, 100).RGBA()
	if r>>8 != 0 || g>>8 != 128 || bl>>8 != 255 {
		t.Errorf("pixel (100,100) is %d,%d,%d; want the page background 0,128,255", r>>8, g>>8, bl>>8)
	}
}

func TestPagesHaveSeparateStorage(t *testing.T) { eachBrowser(t, testPagesHaveSeparateStorage) }

func testPagesHaveSeparateStorage(t *testing.T, b *browsertest.Browser) {
	url := serveTestdata(t).URL + "/input.html"
	alice := b.NewPage(t, url)
	bob := b.NewPage(t, url)

	check(t, alice, alice.Eval(`localStorage.setItem("user", "alice"); document.cookie = "user=alice"`, nil))
	var stored struct {
		Storage *string `json:"storage"`
		Cookie  string  `json:"cookie"`
	}
	check(t, bob, bob.Eval(`({storage: localStorage.getItem("user"), cookie: document.cookie})`, &stored))
	if stored.Storage != nil || stored.Cookie != "" {
		t.Errorf("bob sees alice's storage %v and cookie %q; want none", *stored.Storage, stored.Cookie)
	}
	// Both pages have focus and take keys, as two users' windows would.
	// (Firefox has no focus emulation: its pages take keys without focus.)
	for _, p := range []*browsertest.Page{alice, bob} {
		var focused bool
		check(t, p, p.Eval(`document.hasFocus()`, &focused))
		if !focused && b.Kind() == browsertest.Chromium {
			t.Error("document.hasFocus() is false")
		}
		check(t, p, p.KeyDown("KeyZ"))
		check(t, p, p.KeyUp("KeyZ"))
		check(t, p, p.WaitFor(`events.filter(e => e.code === "KeyZ").length === 2`, waittest.Limit))
	}
}

func TestBrowserProcessIsGoneAfterCleanup(t *testing.T) {
	var pid int
	var profile string
	t.Run("browser", func(t *testing.T) {
		b := browsertest.Start(t)
		pid = b.PID()
		profile = flagValue(t, pid, "--user-data-dir=")
		_ = b.NewPage(t, "about:blank")
	})
	if pid == 0 {
		t.Skip("no browser was started")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v after cleanup; want ESRCH", pid, err)
	}
	if profile == "" {
		t.Fatal("chromium's command line has no --user-data-dir")
	}
	if _, err := os.Stat(profile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("profile %s still there after cleanup (stat: %v)", profile, err)
	}
	// Chromium passes --user-data-dir to its children too; none may be left.
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte("--user-data-dir="+profile+"\x00")) {
			t.Errorf("process %s of that browser is still running: %s", e.Name(), bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
}

// flagValue returns the value of the flag with prefix in the command line of
// process pid.
func flagValue(t *testing.T, pid int, prefix string) string {
	t.Helper()
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for arg := range strings.SplitSeq(string(cmdline), "\x00") {
		if v, ok := strings.CutPrefix(arg, prefix); ok {
			return v
		}
	}
	return ""
}

// TestCSPViolations: a page whose own CSP refuses its inline script and
// a fetch reports both, in every document it loads (a reload too); one
// that breaks nothing reports nothing.
func TestCSPViolations(t *testing.T) { eachBrowser(t, testCSPViolations) }

func testCSPViolations(t *testing.T, b *browsertest.Browser) {
	const page = `<!doctype html><title>csp</title>
<script>document.title = 'inline ran';</script>
<img src="/pixel.png">`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/strict" {
			w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'")
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)

	calm := b.NewPage(t, srv.URL+"/")
	p := b.NewPage(t, srv.URL+"/strict")
	var v []string
	waittest.Eventually(t, "the inline script's violation reported", func() error {
		if v = append(v, p.TakeCSPViolations()...); len(v) == 0 {
			return errors.New("none yet")
		}
		return nil
	})
	if !strings.Contains(v[0], `"directive":"script-src-elem"`) || !strings.Contains(v[0], `"blocked":"inline"`) {
		t.Errorf("violations %q, want the inline script's", v)
	}
	check(t, p, p.Eval(`location.reload()`, nil))
	waittest.Eventually(t, "the violation reported again after a reload", func() error {
		if len(p.TakeCSPViolations()) == 0 {
			return errors.New("none yet")
		}
		return nil
	})
	var title string
	check(t, calm, calm.Eval(`document.title`, &title))
	if v := calm.TakeCSPViolations(); title != "inline ran" || len(v) > 0 {
		t.Errorf("a page with no CSP: title %q, violations %q", title, v)
	}
}

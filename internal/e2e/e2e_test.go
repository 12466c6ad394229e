package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/cli"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
	"github.com/telecart/telecart/internal/workerauth"
)

// The worker starts runners as "<this executable> runner", as telecart
// does; a test or benchmark that needs a server or a worker in a process
// of its own starts "<this executable> serve" or "worker".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "runner" || os.Args[1] == "serve" || os.Args[1] == "worker" || os.Args[1] == "coordinator") {
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) // as the telecart binary, signals and all
	}
	// The tests count runner processes: a runner started ahead of need
	// would be one more. The benchmarks that want the pool ask for it.
	if err := os.Setenv("TELECART_RUNNER_POOL", "0"); err != nil {
		panic(err)
	}
	os.Exit(browsertest.RunInNetNS(m))
}

// serve runs `telecart serve` in-process and returns its address.
func serve(t testing.TB, args ...string) string {
	t.Helper()
	saves := t.TempDir() // never the player's own; an argument may name another
	_, out := runCLI(t, append([]string{"serve", "-listen", "127.0.0.1:0", "-games", "", "-ice-loopback", "-saves", saves}, args...)...)
	return printedURL(t, out)
}

// runCLI runs a telecart command in-process until stop, or the test's end.
// Every test here starts Telecart through it or startWorker, which is where
// -short (the fast tier) skips them.
func runCLI(t testing.TB, args ...string) (stop func(), stdout *fixturetest.SyncBuffer) {
	t.Helper()
	skipShort(t)
	ctx, cancel := context.WithCancel(context.Background())
	stdout = new(fixturetest.SyncBuffer)
	var stderr fixturetest.SyncBuffer
	code := make(chan int, 1)
	go func() { code <- cli.Run(ctx, args, stdout, &stderr) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("telecart %s exited %d:\n%s", args[0], c, stderr.String())
		} else if t.Failed() {
			t.Logf("telecart %s's log:\n%s", args[0], stderr.String())
		}
	}
	t.Cleanup(stop)
	return stop, stdout
}

// printedURL waits for the "open http://..." a telecart command prints
// and returns its URL.
func printedURL(t testing.TB, out *fixturetest.SyncBuffer) string {
	t.Helper()
	addr := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)`)
	var url string
	waittest.Eventually(t, "telecart printing its address", func() error {
		m := addr.FindStringSubmatch(out.String())
		if m == nil {
			return fmt.Errorf("printed:\n%s", out.String())
		}
		url = m[1]
		return nil
	})
	return url
}

// skipShort skips a test with -short: it runs Telecart, with runner
// processes for its games, and a browser.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: runs Telecart, with runner processes")
	}
}

// clusterSecret is the worker secret of the tests' coordinators.
const clusterSecret = "telecart-e2e-worker-secret"

// startCoordinator runs `telecart coordinator` in-process on listen
// (127.0.0.1:0: any port), with the worker secrets given (a rotation's
// new and old), and returns its URL and what stops it. It never counts a
// worker overloaded: a test's workers share one busy machine.
func startCoordinator(t testing.TB, listen string, secrets ...string) (base string, stop func()) {
	t.Helper()
	stop, out := runCLI(t, "coordinator", "-listen", listen, "-overload", "1", "-config", secretConfig(t, secrets...))
	return printedURL(t, out), stop
}

// secretConfig is a -config file that gives a coordinator its worker
// secrets: a secret is no flag (a command line shows in ps), and the
// environment is the whole test process's.
func secretConfig(t testing.TB, secrets ...string) string {
	t.Helper()
	b, err := json.Marshal(map[string][]string{"worker_secret": secrets})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "coordinator.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tokenFile writes worker id's credential, made with secret, to a file
// for its worker_token_file (which it reads at each dial), and returns
// the file.
func tokenFile(t testing.TB, secret, id string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "worker.token")
	writeToken(t, path, secret, id)
	return path
}

// writeToken writes worker id's credential, made with secret, to path.
func writeToken(t testing.TB, path, secret, id string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(credential(t, secret, id)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// credential is worker id's credential, made with secret.
func credential(t testing.TB, secret, id string) string {
	t.Helper()
	cred, err := workerauth.Credential(secret, signal.WorkerID(id))
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// workerAuth are the arguments of worker id with its credential, made
// with secret.
func workerAuth(t testing.TB, secret, id string) []string {
	t.Helper()
	return []string{"-id", id, "-token-file", tokenFile(t, secret, id)}
}

// workerProcess runs `telecart worker` in a process of its own, for a
// test to signal, and returns it with its exit; it is killed, if still
// running, when the test ends, and its log shown if the test failed.
func workerProcess(t testing.TB, base, secret string, args ...string) (*exec.Cmd, chan error) {
	t.Helper()
	return startWorker(t, workerCommand(t, base, secret, args...))
}

// workerCommand is the command workerProcess runs, for a test to adjust
// before startWorker runs it. args name the worker's -id: its credential,
// made with secret, names it too.
func workerCommand(t testing.TB, base, secret string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(args, "-id")
	if i < 0 || i+1 == len(args) {
		t.Fatalf("workerCommand %q: name the worker's -id, which its credential names", args)
	}
	return exec.Command(exe, append([]string{"worker", "-coordinator", "ws" + strings.TrimPrefix(base, "http") + "/worker",
		"-token-file", tokenFile(t, secret, args[i+1]), "-ice-loopback", "-games", "", "-saves", t.TempDir()}, args...)...)
}

// startWorker starts a workerCommand as workerProcess does.
func startWorker(t testing.TB, cmd *exec.Cmd) (*exec.Cmd, chan error) {
	t.Helper()
	return startWorkerWith(t, cmd, (*exec.Cmd).Start)
}

// startWorkerWith starts a workerCommand with start: in a network
// namespace made beforehand, say.
func startWorkerWith(t testing.TB, cmd *exec.Cmd, start func(*exec.Cmd) error) (*exec.Cmd, chan error) {
	t.Helper()
	skipShort(t)
	var log fixturetest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := start(cmd); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // gone already, when the test let it go
		<-exited               // a test that took the exit puts it back
		if t.Failed() {
			t.Logf("the worker's log (%s):\n%s", strings.Join(cmd.Args[1:], " "), log.String())
		}
	})
	return cmd, exited
}

// pixelJS reads one pixel of the current video frame.
func pixelJS(x, y int) string {
	return fmt.Sprintf(`(() => {
		const v = document.getElementById('video');
		if (!v || v.videoWidth === 0) return null;
		const c = document.createElement('canvas');
		c.width = v.videoWidth; c.height = v.videoHeight;
		const g = c.getContext('2d', {willReadFrequently: true});
		g.drawImage(v, 0, 0);
		const d = g.getImageData(%d, %d, 1, 1).data;
		return [d[0], d[1], d[2]];
	})()`, x, y)
}

func near(got []int, want color.RGBA) bool {
	if len(got) != 3 {
		return false
	}
	d := math.Sqrt(math.Pow(float64(got[0])-float64(want.R), 2) + math.Pow(float64(got[1])-float64(want.G), 2) + math.Pow(float64(got[2])-float64(want.B), 2))
	return d < 40
}

// waitColour waits until the fill shows want.
func waitColour(t testing.TB, p *browsertest.Page, want color.RGBA) {
	t.Helper()
	waitPixel(t, p, testrom.FillPoint(), want)
}

func healthz(t testing.TB, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// runners lists the runner processes this test process started.
func runners(t testing.TB) []int {
	t.Helper()
	return runnersOf(t, os.Getpid())
}

// runnersOf lists the runner processes a process started.
func runnersOf(t testing.TB, parent int) []int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, dir := range dirs {
		stat, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ")".
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(dir + "/cmdline")
		if args := strings.Split(string(cmdline), "\x00"); len(args) > 1 && args[1] == "runner" {
			pid, _ := strconv.Atoi(filepath.Base(dir))
			pids = append(pids, pid)
		}
	}
	return pids
}

// screenshot saves the page for the README when TELECART_SCREENSHOT_DIR is set.
func screenshot(t *testing.T, p *browsertest.Page, name string) {
	t.Helper()
	if dir := os.Getenv("TELECART_SCREENSHOT_DIR"); dir != "" {
		if err := p.Screenshot(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// hookPeerConnections keeps every RTCPeerConnection the page gives an
// offer, so the test can read getStats without the app exposing anything.
// Installed before the game starts, it wraps the method the app then
// calls (the connection itself the app may have made at page load).
const hookPeerConnections = `(() => {
	if (window.__pcs) return true;
	window.__pcs = [];
	const original = RTCPeerConnection.prototype.setRemoteDescription;
	RTCPeerConnection.prototype.setRemoteDescription = function (...args) {
		if (!window.__pcs.includes(this)) window.__pcs.push(this);
		return original.apply(this, args);
	};
	return true;
})()`

// rtpStats is what the receiving side's getStats says of one kind of media.
type rtpStats struct {
	Packets int    `json:"packets"`
	Frames  int    `json:"frames"`
	Codec   string `json:"codec"`
}

const statsJS = `(async () => {
	const pc = window.__pcs[window.__pcs.length - 1];
	const report = await pc.getStats();
	const codecs = {}, out = {};
	report.forEach(s => { if (s.type === 'codec') codecs[s.id] = s.mimeType; });
	report.forEach(s => {
		if (s.type === 'inbound-rtp') out[s.kind] = {packets: s.packetsReceived, frames: s.framesDecoded || 0, codec: codecs[s.codecId] || ''};
	});
	return out;
})()`

func stats(t *testing.T, p *browsertest.Page) map[string]rtpStats {
	t.Helper()
	var out map[string]rtpStats
	if err := p.Eval(statsJS, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPlayInBrowser is the product's promise: open the page, pick a game,
// see it move, press keys, hear it, quit.
func TestPlayInBrowser(t *testing.T) {
	for _, codec := range []string{"vp8", "h264"} {
		t.Run(codec, func(t *testing.T) { playInBrowser(t, codec) })
	}
}

func playInBrowser(t *testing.T, codec string) {
	// A room lives on a moment after its last player leaves; the quit below
	// checks that it then ends, runner and all.
	base := serve(t, "-codec", codec, "-room-linger", "1s")
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")

	game := `li.game[data-game="nes:telecart-test.nes"]`
	if err := p.WaitFor(`document.querySelector('`+game+`') !== null`, waittest.Limit); err != nil {
		t.Fatalf("no test ROM in the list: %v\n%s", err, strings.Join(p.Console(), "\n"))
	}
	if codec == "vp8" {
		screenshot(t, p, "screenshot-list.png")
		// The embedded worker's ping is the coordinator's own, on the
		// address the page came from.
		waitJS(t, p, `(() => {
			const l = Object.values(window.telecart.latency ?? {});
			return l.length === 1 && l[0] >= 0;
		})()`, "the page did not time its round trip to the embedded worker")
	}
	var hooked bool
	if err := p.Eval(hookPeerConnections, &hooked); err != nil {
		t.Fatal(err)
	}
	if err := p.Click(game); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`(() => { const v = document.getElementById('video'); return v && v.videoWidth > 0; })()`, waittest.Limit); err != nil {
		t.Fatalf("no video: %v\n%s", err, strings.Join(p.Console(), "\n"))
	}
	waitColour(t, p, testrom.FillColor())

	// Frames keep being decoded, and sound arrives. Their rate is the
	// benchmarks' to measure (BENCHMARKS.md): a busy machine slows it.
	before, start := stats(t, p)["video"], time.Now()
	var after map[string]rtpStats
	waittest.Eventually(t, "two seconds of the game's frames decoded", func() error {
		after = stats(t, p)
		if n := after["video"].Frames - before.Frames; n < 120 || after["audio"].Packets == 0 {
			return fmt.Errorf("%d frames decoded, %d audio packets", n, after["audio"].Packets)
		}
		return nil
	})
	fps := float64(after["video"].Frames-before.Frames) / time.Since(start).Seconds()
	t.Logf("%s: %.1f frames decoded per second; %d audio packets", after["video"].Codec, fps, after["audio"].Packets)
	if want := "video/" + map[string]string{"vp8": "VP8", "h264": "H264"}[codec]; after["video"].Codec != want {
		t.Errorf("video codec %q, want %q", after["video"].Codec, want)
	}

	// Keys turn the picture the button's colour, and back.
	if err := p.KeyDown("KeyX"); err != nil {
		t.Fatal(err)
	}
	waitColour(t, p, testrom.FillColor(testrom.A))
	if codec == "vp8" {
		screenshot(t, p, "screenshot-playing.png")
	}
	if err := p.KeyUp("KeyX"); err != nil {
		t.Fatal(err)
	}
	keys := []struct {
		code   string
		button testrom.Button
	}{
		{"KeyX", testrom.A}, {"KeyZ", testrom.B}, {"Enter", testrom.Start}, {"ShiftLeft", testrom.Select},
		{"ArrowUp", testrom.Up}, {"ArrowDown", testrom.Down}, {"ArrowLeft", testrom.Left}, {"ArrowRight", testrom.Right},
	}
	for _, k := range keys {
		if err := p.KeyDown(k.code); err != nil {
			t.Fatal(err)
		}
		waitColour(t, p, testrom.FillColor(k.button))
		if err := p.KeyUp(k.code); err != nil {
			t.Fatal(err)
		}
		waitColour(t, p, testrom.FillColor())
	}

	if len(runners(t)) != 1 {
		t.Fatalf("runners while playing: %v, want one", runners(t))
	}
	if err := p.Click("#quit-btn"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`document.querySelector('`+game+`') !== null && !document.getElementById('view-list').hidden`, waittest.Limit); err != nil {
		var state string
		_ = p.Eval(`window.telecart.state`, &state)
		t.Fatalf("quit did not go back to the list (state %q): %v\n%s", state, err, strings.Join(p.Console(), "\n"))
	}
	waittest.Eventually(t, "the room ended after the quit, its runner too", func() error {
		if r, h := runners(t), healthz(t, base); len(r) != 0 || !strings.Contains(h, `"sessions":0`) {
			return fmt.Errorf("runners %v, health %s", r, h)
		}
		return nil
	})
}

// TestPlayOnPhone plays on a touch screen held upright: a tap starts the
// game, and the on-screen pad drives it.
func TestPlayOnPhone(t *testing.T) {
	base := serve(t)
	b := browsertest.Start(t)
	p := b.NewPageOn(t, base+"/", browsertest.Phone())
	game := `li.game[data-game="nes:telecart-test.nes"]`
	if err := p.WaitFor(`document.querySelector('`+game+`') !== null`, waittest.Limit); err != nil {
		t.Fatalf("no test ROM in the list: %v", err)
	}
	if err := p.TouchStart(game); err != nil {
		t.Fatal(err)
	}
	if err := p.TouchEnd(); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`(() => { const v = document.getElementById('video'); return v && v.videoWidth > 0; })()`, waittest.Limit); err != nil {
		t.Fatalf("no video: %v\n%s", err, strings.Join(p.Console(), "\n"))
	}
	waitColour(t, p, testrom.FillColor())
	for _, press := range []struct {
		button string
		want   testrom.Button
	}{{"A", testrom.A}, {"B", testrom.B}, {"START", testrom.Start}, {"UP", testrom.Up}, {"LEFT", testrom.Left}} {
		if err := p.TouchStart(`#touchpad [data-b="` + press.button + `"]`); err != nil {
			t.Fatal(err)
		}
		waitColour(t, p, testrom.FillColor(press.want))
		if press.want == testrom.A {
			screenshot(t, p, "screenshot-phone.png")
		}
		if err := p.TouchEnd(); err != nil {
			t.Fatal(err)
		}
		waitColour(t, p, testrom.FillColor())
	}
}

// fakeGamepadJS gives the page one gamepad with the standard mapping, whose
// buttons and axes the test sets: DevTools cannot plug in a real one, and
// the app reads pads only through navigator.getGamepads, each frame, from
// a pad's gamepadconnected (or the game's start) until none is left.
const fakeGamepadJS = `(() => {
	const pad = {
		id: 'Telecart test pad', index: 0, connected: true, mapping: 'standard', timestamp: 0,
		buttons: Array.from({length: 17}, () => ({pressed: false, touched: false, value: 0})),
		axes: [0, 0, 0, 0],
	};
	window.__pad = pad;
	navigator.getGamepads = () => [pad, null, null, null];
	window.__press = (i, down) => { pad.buttons[i] = {pressed: down, touched: down, value: down ? 1 : 0}; pad.timestamp++; };
	window.__stick = (x, y) => { pad.axes = [x, y, 0, 0]; pad.timestamp++; };
	dispatchEvent(new Event('gamepadconnected'));
	return true;
})()`

// TestGamepad plays with a standard-mapping gamepad: its buttons and the
// left stick drive the game.
func TestGamepad(t *testing.T) {
	base := serve(t)
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	var ok bool
	if err := p.Eval(fakeGamepadJS, &ok); err != nil {
		t.Fatal(err)
	}
	startGame(t, p, "nes:telecart-test.nes")
	waitColour(t, p, testrom.FillColor())
	// Standard mapping: 1 (right face button) is A, 0 (bottom) is B, 9 is Start.
	for _, press := range []struct {
		button int
		want   testrom.Button
	}{{1, testrom.A}, {0, testrom.B}, {9, testrom.Start}, {12, testrom.Up}} {
		if err := p.Eval(fmt.Sprintf(`window.__press(%d, true), true`, press.button), &ok); err != nil {
			t.Fatal(err)
		}
		waitColour(t, p, testrom.FillColor(press.want))
		if err := p.Eval(fmt.Sprintf(`window.__press(%d, false), true`, press.button), &ok); err != nil {
			t.Fatal(err)
		}
		waitColour(t, p, testrom.FillColor())
	}
	// The left stick pushed far left is the d-pad's Left.
	if err := p.Eval(`window.__stick(-1, 0), true`, &ok); err != nil {
		t.Fatal(err)
	}
	waitColour(t, p, testrom.FillColor(testrom.Left))
	if err := p.Eval(`window.__stick(0, 0), true`, &ok); err != nil {
		t.Fatal(err)
	}
	waitColour(t, p, testrom.FillColor())
}

// state reads the app's state as the page shows it.
func state(t *testing.T, p *browsertest.Page) string {
	t.Helper()
	var s string
	if err := p.Eval(`window.telecart.state`, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitState waits for the app to show a state whose Retry (or Back)
// button is there for the player.
func waitState(t *testing.T, p *browsertest.Page, want, button string) {
	t.Helper()
	js := fmt.Sprintf(`window.telecart.state === %q && !document.getElementById('view-message').hidden && !document.getElementById(%q).hidden`, want, button)
	if err := p.WaitFor(js, waittest.Limit); err != nil {
		t.Fatalf("state %q, want %q with #%s: %v\n%s", state(t, p), want, button, err, strings.Join(p.Console(), "\n"))
	}
}

func startGame(t testing.TB, p *browsertest.Page, id string) {
	t.Helper()
	game := `li.game[data-game=` + strconv.Quote(id) + `]`
	quoted, _ := json.Marshal(game) // a name may hold quotes of either kind
	if err := p.WaitFor(`document.querySelector(`+string(quoted)+`) !== null`, waittest.Limit); err != nil {
		t.Fatalf("no %s in the list: %v", id, err)
	}
	if err := p.Click(game); err != nil {
		t.Fatal(err)
	}
}

// TestFailuresShown provokes each failure a player can meet, for real, and
// checks the page says so with a way out.
func TestFailuresShown(t *testing.T) {
	rom := testrom.ROM()
	broken := fixturetest.File(t, "Broken.nes", rom[:len(rom)/2])
	base := serve(t, "-capacity", "1", "-games", filepath.Dir(broken))
	b := browsertest.Start(t)

	// One place on the only worker: a second player finds every server busy.
	first := b.NewPage(t, base+"/")
	startGame(t, first, "nes:telecart-test.nes")
	waitColour(t, first, testrom.FillColor())
	second := b.NewPage(t, base+"/")
	startGame(t, second, "nes:telecart-test.nes")
	waitState(t, second, "busy", "retry-btn")

	// The game crashes: its player is told.
	for _, pid := range runners(t) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, first, "ended", "retry-btn")

	// A ROM the core refuses: the game could not start. The room that
	// crashed leaves the live rooms a moment after its player heard, and
	// the games under them move up: the click waits for the list to settle.
	if err := second.Click("#back-btn"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, second, `window.telecart.state === 'list' && document.getElementById('live').hidden`,
		"the list did not settle without live rooms")
	startGame(t, second, "nes:Broken.nes")
	waitState(t, second, "failed", "back-btn")
}

// TestBadGameFiles: files that cannot be games are not listed (the others
// are, by title, their dump tags as detail), and a game
// whose file turns out bad when it starts says what is wrong with it, in
// words, with no Retry that could not help: a file emptied or grown past
// the size limit since the list was made, and one its console's core
// refuses.
func TestBadGameFiles(t *testing.T) {
	rom := testrom.ROM()
	shrunk := fixturetest.File(t, "Shrunk.nes", rom)
	dir := filepath.Dir(shrunk)
	file := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	grown := file("Grown.nes", rom)
	file("Junk.gba", bytes.Repeat([]byte("not a game "), 100))
	file("Tagged Game (USA) (Rev 1) [!].nes", rom)
	damagedZip(t, filepath.Join(dir, "Damaged.zip"), "Damaged.nes", rom)
	file("Empty.nes", nil)
	if err := os.Truncate(file("Huge.nes", nil), libretro.MaxGameSize+1); err != nil {
		t.Fatal(err)
	}
	base := serve(t, "-games", dir)
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	waitJS(t, p, `document.querySelector('li.game[data-game="nes:Shrunk.nes"]') !== null`, "the list has no Shrunk.nes")
	var listed []string
	eval(t, p, `[...document.querySelectorAll('li.game')].map(li => li.dataset.game)`, &listed)
	for _, id := range []string{"nes:Empty.nes", "nes:Huge.nes"} {
		if slices.Contains(listed, id) {
			t.Errorf("%s is listed: %v", id, listed)
		}
	}
	var row []string
	eval(t, p, `(() => { const li = document.querySelector('li.game[data-game="nes:Tagged Game (USA) (Rev 1) [!].nes"]');
		return [li.querySelector('.game-title').innerText, li.querySelector('.game-detail').innerText]; })()`, &row)
	if want := []string{"Tagged Game", "USA · Rev 1 · !"}; !slices.Equal(row, want) {
		t.Errorf("the tagged game's row shows %q, want %q", row, want)
	}

	if err := os.Truncate(shrunk, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(grown, libretro.MaxGameSize+1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ game, words string }{
		{"nes:Shrunk.nes", "This file is empty: it holds no game."},
		{"nes:Grown.nes", "This file is larger than 64 MiB, more than any game it could be."},
		{"gba:Junk.gba", "This file is not a Game Boy Advance game, or it is damaged."},
		{"nes:Damaged.zip", "This game's archive could not be unpacked: it is damaged."},
	} {
		startGame(t, p, c.game)
		waitState(t, p, "failed", "back-btn")
		if got := text(t, p, "#message-text"); got != c.words {
			fail(t, p, "%s: the page says %q, want %q", c.game, got, c.words)
		}
		waitJS(t, p, `document.getElementById('retry-btn').hidden`, c.game+": Retry is offered")
		click(t, p, "#back-btn")
		waitJS(t, p, `window.telecart.state === 'list'`, "Back did not lead to the list")
	}
}

// playTestROM plays the test ROM in Chromium on the coordinator at base:
// its frames arrive, and A changes the picture and back.
func playTestROM(t *testing.T, b *browsertest.Browser, base string) {
	t.Helper()
	playsAndAnswers(t, openTestROM(t, b, base))
}

// openTestROM opens the page at base and starts the test ROM, with its
// peer connections hooked (hookPeerConnections), and waits for its first
// picture.
func openTestROM(t *testing.T, b *browsertest.Browser, base string) *browsertest.Page {
	t.Helper()
	p := b.NewPage(t, base+"/")
	eval(t, p, hookPeerConnections, new(bool))
	startGame(t, p, testGame)
	waitColour(t, p, testrom.FillColor())
	return p
}

// playsAndAnswers waits for a second of the game's frames decoded, then
// holds A and releases it, the picture following.
func playsAndAnswers(t *testing.T, p *browsertest.Page) {
	t.Helper()
	before := stats(t, p)["video"].Frames
	waittest.Eventually(t, "a second of the game's frames decoded", func() error {
		if n := stats(t, p)["video"].Frames - before; n < 60 {
			return fmt.Errorf("%d frames decoded", n)
		}
		return nil
	})
	tapA(t, p)
}

// tapA holds A and releases it, and waits for the test ROM's picture to
// follow each.
func tapA(t testing.TB, p *browsertest.Page) {
	t.Helper()
	if err := p.KeyDown("KeyX"); err != nil {
		t.Fatal(err)
	}
	waitColour(t, p, testrom.FillColor(testrom.A))
	if err := p.KeyUp("KeyX"); err != nil {
		t.Fatal(err)
	}
	waitColour(t, p, testrom.FillColor())
}

// envCount is the count the environment variable name sets, def when it
// is unset: how many presses or rooms a long run wants instead of the
// suite's few.
func envCount(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a whole number, 1 or more", name, s)
	}
	return n
}

// damagedZip writes a zip archive of one file, name, whose stored bytes
// are then damaged: its list of files reads well, its file does not.
func damagedZip(t *testing.T, path, name string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = z.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	i := bytes.Index(b, data[:16]) // the stored file, after its local header
	if i < 0 {
		t.Fatal("the stored file is not in the archive")
	}
	b[i+len(data)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestZippedGame: a ROM in a zip archive, as ROM sets come, is listed by
// the archive's name and plays.
func TestZippedGame(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Zipped Test (World).zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	w, err := z.Create("Zipped Test (World).nes")
	if err == nil {
		_, err = w.Write(testrom.ROM())
	}
	if err == nil {
		err = z.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, "-games", filepath.Dir(path))
	p := browsertest.Start(t).NewPage(t, base+"/")
	startGame(t, p, "nes:Zipped Test (World).zip")
	waitColour(t, p, testrom.FillColor())
	tapA(t, p)
}

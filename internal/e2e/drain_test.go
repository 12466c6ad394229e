package e2e

import (
	"bytes"
	"context"
	"fmt"
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
	"github.com/telecart/telecart/internal/cli"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// TestWorkerDrainsOnSIGTERM runs a worker process as an operator would and
// sends it SIGTERM with a game under way: it takes no new game, the one
// running plays on, and once that game has ended the worker exits cleanly.
func TestWorkerDrainsOnSIGTERM(t *testing.T) {
	base, _ := startCoordinator(t, "127.0.0.1:0", clusterSecret)
	cmd, exited := workerProcess(t, base, clusterSecret, "-id", "w", "-room-linger", "1s")

	player := gobrowsertest.Dial(t, base)
	player.WaitGames()
	room := player.Play(signal.Start{Game: testGame}).Room
	dec := gobrowsertest.Decoder(t)
	player.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if h := gobrowsertest.Await[signal.Hello](player); len(h.Workers) == 1 && h.Workers[0].Draining {
			break
		}
	}
	// No new game goes there; the running one plays on and takes a guest.
	other := gobrowsertest.Dial(t, base)
	other.WaitGames()
	other.Begin(signal.Start{Game: testGame})
	if e := other.ReadError(); e.Code != signal.CodeNoWorker {
		t.Fatalf("a new game on a draining worker: %+v", e)
	}
	other.Join(signal.Join{Room: room})
	<-player.Input
	player.Press(t, testrom.B.Joypad())
	player.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B))
	select {
	case err := <-exited:
		t.Fatalf("the worker exited with a game under way: %v", err)
	default:
	}

	// The players leave; after the room's linger time the worker exits 0.
	player.Send(signal.Quit{})
	other.Send(signal.Quit{})
	waitDrained(t, exited)
}

// TestDrainCommand runs telecart drain as Kubernetes' preStop hook does,
// beside a worker process with a game under way: it signals the worker,
// which takes no new game, and waits while the game plays on; a second
// drain finds the worker draining and sends no signal (a second SIGTERM
// would end the game at once) and waits too, and one with a -timeout
// gives up; once the player quits both return 0, and the worker exits by
// itself. Before any of that, a drain
// that cannot reach the worker says so and leaves it alone.
func TestDrainCommand(t *testing.T) {
	base, _ := startCoordinator(t, "127.0.0.1:0", clusterSecret)
	// ping_listen in a -config file, which drain reads as the worker does.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ping := l.Addr().String()
	l.Close()
	settings := filepath.Join(t.TempDir(), "worker.json")
	if err := os.WriteFile(settings, []byte(`{"ping_listen": "`+ping+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, exited := workerProcess(t, base, clusterSecret, "-id", "w", "-room-linger", "1s", "-config", settings)
	pid := strconv.Itoa(cmd.Process.Pid)

	player := gobrowsertest.Dial(t, base)
	player.WaitGames()
	player.Play(signal.Start{Game: testGame})
	dec := gobrowsertest.Decoder(t)
	player.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())

	// Nothing answers where it is told to ask: no signal, exit 1.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	var stdout, stderr bytes.Buffer
	if code := cli.Run(context.Background(), []string{"drain", "-pid", pid, "-url", closed.URL + "/healthz"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "cannot reach the worker at "+closed.URL+"/healthz, so it was not signalled") {
		t.Fatalf("drain with nothing at -url: exit %d, %s%s; want 1 saying it cannot reach the worker", code, stdout.String(), stderr.String())
	}

	first := startDrain(t, "-pid", pid, "-config", settings)
	first.wait(t, "the first drain signalling the worker, and waiting for its game",
		"sent SIGTERM to process "+pid+": the worker takes no new game\ndraining: 1 game left, 1 player\n")
	for range 20 {
		if h := gobrowsertest.Await[signal.Hello](player); len(h.Workers) == 1 && h.Workers[0].Draining {
			break
		}
	}
	<-player.Input
	player.Press(t, testrom.B.Joypad())
	player.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B))

	second := startDrain(t, "-pid", pid, "-config", settings)
	second.wait(t, "the second drain finding the worker draining, and waiting",
		"the worker drains already: no signal sent (a second SIGTERM would end its games)\ndraining: 1 game left, 1 player\n")
	// One that gives up returns 1, and the game plays on.
	stdout.Reset()
	stderr.Reset()
	if code := cli.Run(context.Background(), []string{"drain", "-pid", pid, "-config", settings, "-timeout", "2s"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "gave up with 1 game left, which play on while the worker drains") {
		t.Errorf("drain -timeout 2s with a game under way: exit %d, %s%s; want 1, saying it gave up", code, stdout.String(), stderr.String())
	}
	// The game plays on: no second signal stopped the worker.
	player.Press(t, testrom.A.Joypad())
	player.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.A))
	for _, d := range []*drainRun{first, second} {
		select {
		case code := <-d.code:
			t.Fatalf("a drain returned %d with a game under way:\n%s%s", code, d.stdout.String(), d.stderr.String())
		default:
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("the worker exited with a game under way: %v", err)
	default:
	}

	// The player leaves; after the room's linger time both drains return
	// 0 and the worker exits 0, of itself.
	player.Send(signal.Quit{})
	for _, d := range []*drainRun{first, second} {
		select {
		case code := <-d.code:
			if code != 0 {
				t.Errorf("drain exited %d once the game ended:\n%s%s", code, d.stdout.String(), d.stderr.String())
			}
			if out := d.stdout.String(); !strings.Contains(out, "drained: ") {
				t.Errorf("drain printed:\n%s\nwant that it drained", out)
			}
		case <-time.After(waittest.Limit):
			t.Fatalf("drain still waiting %v after the last game ended:\n%s", waittest.Limit, d.stdout.String())
		}
	}
	waitDrained(t, exited)
}

// drainRun is a telecart drain running in-process.
type drainRun struct {
	stdout, stderr fixturetest.SyncBuffer
	code           chan int
}

// startDrain runs telecart drain with args until it returns, or the
// test ends.
func startDrain(t *testing.T, args ...string) *drainRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &drainRun{code: make(chan int, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.code <- cli.Run(ctx, append([]string{"drain"}, args...), &d.stdout, &d.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return d
}

// wait waits until drain has printed want.
func (d *drainRun) wait(t *testing.T, what, want string) {
	t.Helper()
	waittest.Eventually(t, what, func() error {
		if !strings.Contains(d.stdout.String(), want) {
			return fmt.Errorf("printed:\n%s%s", d.stdout.String(), d.stderr.String())
		}
		return nil
	})
}

// TestCoordinatorRestartInBrowser restarts the coordinator in the middle
// of a game in Chromium: the picture keeps coming and the buttons keep
// working while there is no coordinator, the page says it is
// reconnecting, and once a new coordinator is up it resumes its session
// on its own, and what it asks of the room is heard again.
func TestCoordinatorRestartInBrowser(t *testing.T) {
	addr := freeAddr(t)
	base, stop := startCoordinator(t, addr, clusterSecret)
	runCLI(t, append([]string{"worker", "-coordinator", "ws://" + addr + "/worker", "-ice-loopback", "-games", "", "-saves", t.TempDir()},
		workerAuth(t, clusterSecret, "w")...)...)

	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitColour(t, p, testrom.FillColor())
	countFrames(t, p)

	stop()
	waitJS(t, p, visible("#reconnecting")+` && window.telecart.state === 'playing'`, "the page does not say it is reconnecting")
	var frames int
	eval(t, p, `window.__frames`, &frames)
	waitJS(t, p, fmt.Sprintf(`window.__frames > %d`, frames+60), "the picture stopped with the coordinator")
	if err := p.KeyDown("KeyZ"); err != nil {
		t.Fatal(err)
	}
	waitColour(t, p, testrom.FillColor(testrom.B))
	if err := p.KeyUp("KeyZ"); err != nil {
		t.Fatal(err)
	}

	// The page tries to resume again after a backoff of up to 8 s, which
	// the bound leaves room for.
	startCoordinator(t, addr, clusterSecret)
	if err := p.WaitFor(`document.getElementById('reconnecting').hidden && window.telecart.state === 'playing'`, 8*time.Second+waittest.Limit); err != nil {
		fail(t, p, "the page did not resume its session on the new coordinator: %v", err)
	}
	openPanel(t, p)
	click(t, p, `#slots [data-seat="3"]`)
	waitSlot(t, p, 3)
	waitColour(t, p, testrom.FillColor())
}

// TestWorkerKilled kills a worker process with SIGKILL in the middle of a
// game: the coordinator drops it at once, and the page says the game's
// server went away and offers to play again.
func TestWorkerKilled(t *testing.T) {
	base, _ := startCoordinator(t, "127.0.0.1:0", clusterSecret)
	cmd, _ := workerProcess(t, base, clusterSecret, "-id", "doomed")

	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitColour(t, p, testrom.FillColor())
	games := runnersOf(t, cmd.Process.Pid)
	if len(games) != 1 {
		t.Fatalf("the worker runs %d games, want 1", len(games))
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitState(t, p, "ended", "retry-btn")
	// Its game went with it: the runner dies with its worker.
	waittest.Eventually(t, "the killed worker's game ended", func() error {
		if running(games[0]) {
			return fmt.Errorf("runner %d still running", games[0])
		}
		return nil
	})
	if got := text(t, p, "#message-detail"); !strings.Contains(got, "went away") {
		t.Errorf("the page says %q, want that the server went away", got)
	}
	if h := health(t, base); h.Workers != 0 || h.Rooms != 0 {
		t.Errorf("after the kill the coordinator still counts %+v", h)
	}
}

// running says whether a process runs: it exists and is not a zombie
// waiting for a parent that is gone to be reaped.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// waitDrained waits for a drained worker, whose last game has ended, to
// exit 0 by itself.
func waitDrained(t *testing.T, exited chan error) {
	t.Helper()
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("the drained worker exited with %v", err)
		}
	case <-time.After(waittest.Limit):
		t.Fatalf("the drained worker did not exit %v after its last game", waittest.Limit)
	}
}

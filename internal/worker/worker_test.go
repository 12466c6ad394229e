package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/coordinator"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/peer"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
	"github.com/telecart/telecart/internal/workerauth"
)

const testGame = "nes:telecart-test.nes"

// testLinger is how long the test cluster's empty rooms live on.
const testLinger = time.Second

// testSecret is the test coordinators' worker secret.
const testSecret = "worker-test-secret-0123"

// credential is worker id's credential, made with secret.
func credential(t *testing.T, secret string, id signal.WorkerID) string {
	t.Helper()
	cred, err := workerauth.Credential(secret, id)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// cluster is a coordinator with one worker, on loopback.
type cluster struct {
	srv        *httptest.Server
	worker     *Worker
	stopWorker func()
	// stop ends the coordinator's connections, as its shutdown does.
	stop context.CancelFunc
	// secrets are the coordinator's worker secrets (default testSecret):
	// a restart takes the ones set then.
	secrets []string
}

func newCluster(t *testing.T, capacity int, options ...func(*Config)) *cluster {
	t.Helper()
	c := &cluster{secrets: []string{testSecret}}
	c.startCoordinator(t, nil)
	c.worker, c.stopWorker = c.addWorker(t, capacity, options...)
	return c
}

// startCoordinator starts the cluster's coordinator, on ln when given.
func (c *cluster) startCoordinator(t *testing.T, ln net.Listener) {
	t.Helper()
	// Overload 1: the machine running the tests is often busy, and no
	// test here is about turning players away from a busy one.
	coord, err := coordinator.New(coordinator.Config{Secrets: c.secrets, Logger: slog.New(slog.DiscardHandler), Overload: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(coord.Handler())
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	ctx, stop := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()
	t.Cleanup(func() {
		stop()
		srv.Close()
		coord.Close()
	})
	c.srv, c.stop = srv, stop
}

// restartCoordinator stops the coordinator, as its shutdown does, runs
// down (if not nil) while there is none, and starts a new one on the same
// address, where the workers find it again.
func (c *cluster) restartCoordinator(t *testing.T, down func()) {
	t.Helper()
	addr := c.srv.Listener.Addr().String()
	c.stop()
	c.srv.Close()
	if down != nil {
		down()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	c.startCoordinator(t, ln)
}

// addWorker starts another worker on the cluster's coordinator and
// returns it with what stops it (which the test's end also does).
func (c *cluster) addWorker(t *testing.T, capacity int, options ...func(*Config)) (*Worker, func()) {
	t.Helper()
	lib, err := library.New(library.Game{
		GameInfo: signal.GameInfo{ID: testGame, Title: "Telecart Test ROM", System: "nes"},
		Path:     fixturetest.TestROM(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Capacity:    capacity,
		Coordinator: "ws" + strings.TrimPrefix(c.srv.URL, "http") + "/worker",
		Library:     lib,
		CoreDirs:    []string{filepath.Dir(fixturetest.Core(t, "nes"))},
		Runner:      runnertest.Options(runner.Config{}),
		ICE:         peer.ICEConfig{Loopback: true},
		Linger:      testLinger,
	}
	for _, o := range options {
		o(&cfg)
	}
	if cfg.Credential == "" && cfg.CredentialFile == "" {
		if cfg.ID == "" {
			cfg.ID = "worker-" + signal.NewID[signal.WorkerID](signal.NameBytes)
		}
		cfg.Credential = credential(t, testSecret, cfg.ID)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return w, stop
}

func (c *cluster) browse(t *testing.T) *gobrowsertest.Browser {
	t.Helper()
	return gobrowsertest.Dial(t, c.srv.URL)
}

// TestPlayThroughCoordinator plays the test ROM the way a browser will:
// hello, start, started, offer, answer, candidates through the
// coordinator; then video and input directly with the worker.
func TestPlayThroughCoordinator(t *testing.T) {
	c := newCluster(t, 2)
	b := c.browse(t)
	hello := b.WaitGames()
	if hello.Games[0].ID != testGame {
		t.Fatalf("games %+v", hello.Games)
	}
	started := b.Play(signal.Start{Game: testGame})
	if started.Width != 256 || started.Height != 224 || started.Game.ID != testGame || started.Room == "" {
		t.Fatalf("started %+v", started)
	}
	dec := gobrowsertest.Decoder(t)
	b.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
	dc := <-b.Input
	if err := dc.Send(pad.State{Seq: 1, Buttons: 1 << libretro.ButtonStart}.Marshal()); err != nil {
		t.Fatal(err)
	}
	b.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.Start))

	// Closing the tab empties the room, which ends a moment later.
	b.Close()
	waitRooms(t, c.worker, 0)
}

func waitRooms(t *testing.T, w *Worker, want int) {
	t.Helper()
	waittest.Eventually(t, fmt.Sprintf("%d rooms on the worker", want), func() error {
		if n := w.roomCount(); n != want {
			return fmt.Errorf("%d rooms", n)
		}
		return nil
	})
}

func TestStartErrors(t *testing.T) {
	c := newCluster(t, 1)
	first := c.browse(t)
	first.WaitGames()
	first.Begin(signal.Start{Game: "nes:nothing.nes"})
	if e := first.ReadError(); e.Code != signal.CodeUnknownGame {
		t.Fatalf("unknown game: %+v, want error %s", e, signal.CodeUnknownGame)
	}
	first.Play(signal.Start{Game: testGame})

	// The worker's one place is taken.
	second := c.browse(t)
	second.WaitGames()
	second.Begin(signal.Start{Game: testGame})
	if e := second.ReadError(); e.Code != signal.CodeNoWorker {
		t.Fatalf("full worker: %+v, want error %s", e, signal.CodeNoWorker)
	}
	// Nonsense gets an error reply, not a dropped connection.
	second.SendRaw([]byte(`{"v":1,"type":"launch"}`))
	if e := second.ReadError(); e.Code != signal.CodeBadRequest {
		t.Fatalf("bad message: %+v, want error %s", e, signal.CodeBadRequest)
	}
}

func TestWorkerCredentialRefused(t *testing.T) {
	coord, err := coordinator.New(coordinator.Config{Secrets: []string{testSecret}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Close()
	srv := httptest.NewServer(coord.Handler())
	defer srv.Close()
	for _, header := range []string{"", "Bearer wrong", testSecret, "Bearer " + testSecret, "Bearer ", credential(t, testSecret, "w"),
		"Bearer " + credential(t, "another-secret-0123", "w")} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/worker", &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": []string{header}},
		})
		cancel()
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %v, want 401", header, err)
		}
	}
}

// TestRedial restarts the coordinator: the worker dials again and joins
// the new one on its own, with the room it kept running.
func TestRedial(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) { cfg.Linger = time.Minute })
	b := c.browse(t)
	b.WaitGames()
	running := b.Play(signal.Start{Game: testGame}).Room
	c.restartCoordinator(t, nil)
	again := c.browse(t)
	if h := again.WaitGames(); h.Games[0].ID != testGame {
		t.Fatalf("games after redial: %+v", h.Games)
	}
	// The worker registered its running room again: its link still works.
	again.Join(signal.Join{Room: running})
	again.WaitColour(t, gobrowsertest.Decoder(t), testrom.FillPoint(), testrom.FillColor())
}

// TestQuitThenStart quits a game and starts another at once on a worker
// with one place: the place is free again as soon as the player quits,
// not once the old game has finished stopping.
func TestQuitThenStart(t *testing.T) {
	c := newCluster(t, 1)
	b := c.browse(t)
	b.WaitGames()
	for round := range 3 {
		b.Play(signal.Start{Game: testGame})
		b.Send(signal.Quit{})
		b.Begin(signal.Start{Game: testGame})
		for {
			m, p := b.ReadMessage()
			if m.Session != b.Ref() {
				continue // the old game's, still in flight
			}
			if e, ok := p.(signal.Error); ok {
				t.Fatalf("round %d: starting right after quitting: %s: %s", round, e.Code, e.Message)
			}
			break
		}
		b.Send(signal.Quit{})
	}
}

// TestCoordinatorRestart restarts the coordinator in the middle of a
// game: frames keep coming straight from the worker, and the browser,
// back on the new coordinator, resumes its session with the secret the
// worker gave it, and its requests are heard again.
func TestCoordinatorRestart(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) { cfg.Linger = time.Minute })
	p := c.browse(t)
	p.WaitGames()
	started := p.Play(signal.Start{Game: testGame})
	if started.Resume == "" {
		t.Fatal("started carries no secret to resume with")
	}
	dec := gobrowsertest.Decoder(t)
	p.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())

	c.restartCoordinator(t, func() {
		// With no coordinator at all, the game plays on: frames come, and
		// input goes, straight between the browser and the worker.
		<-p.Input
		p.Press(t, testrom.B.Joypad())
		p.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B))
		for i := 0; i < 60; i++ {
			select {
			case <-p.Frames:
			case <-time.After(waittest.Limit):
				t.Fatalf("only %d frames while the coordinator was away", i)
			}
		}
	})

	// A wrong secret resumes nothing.
	intruder := c.browse(t)
	intruder.WaitGames()
	intruder.Begin(signal.Resume{Room: started.Room, Token: "not-the-secret-0000000"})
	if e := intruder.ReadError(); e.Code != signal.CodeNoSession {
		t.Fatalf("resuming with a wrong secret: %+v, want %s", e, signal.CodeNoSession)
	}

	p.Reconnect(c.srv.URL)
	p.WaitGames()
	p.Send(signal.Resume{Room: started.Room, Token: started.Resume})
	p.Send(signal.Seat{Slot: 3})
	p.WaitRoom("moved to slot 3 after resuming", func(s signal.RoomState) bool { return slotOf(s, s.You) == 3 })
}

// TestCredentialFileReadAtEachDial rotates the worker's credential while
// it runs a game: the coordinator restarts with a new secret alone, which
// refuses the worker's old credential, and the worker, dialling again,
// says so; once its file holds a credential of the new secret, it dials
// with it, unrestarted, and registers its running room again.
func TestCredentialFileReadAtEachDial(t *testing.T) {
	const newSecret = "worker-test-new-secret"
	file := filepath.Join(t.TempDir(), "worker.token")
	if err := os.WriteFile(file, []byte(credential(t, testSecret, "rotating")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs fixturetest.SyncBuffer
	c := newCluster(t, 1, func(cfg *Config) {
		cfg.CredentialFile, cfg.Linger = file, time.Minute
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if c.worker.cfg.ID != "rotating" {
		t.Fatalf("the worker's id %q, want its credential's", c.worker.cfg.ID)
	}
	b := c.browse(t)
	b.WaitGames()
	room := b.Play(signal.Start{Game: testGame}).Room

	c.secrets = []string{newSecret}
	c.restartCoordinator(t, nil)
	waittest.Eventually(t, "the worker refused with its old credential", func() error {
		if !strings.Contains(logs.String(), "the coordinator refused this worker's credential") {
			return fmt.Errorf("its log:\n%s", logs.String())
		}
		return nil
	})
	if err := os.WriteFile(file, []byte(credential(t, newSecret, "rotating")), 0o600); err != nil {
		t.Fatal(err)
	}
	again := c.browse(t)
	again.WaitGames()
	again.Join(signal.Join{Room: room})
	again.WaitColour(t, gobrowsertest.Decoder(t), testrom.FillPoint(), testrom.FillColor())
}

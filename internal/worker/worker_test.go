package worker

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/coordinator"
	"github.com/telecart/telecart/internal/fixture"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/media/vpx"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
)

const testGame = "nes:telecart-test.nes"

// testLinger is how long the test cluster's empty rooms live on.
const testLinger = time.Second

// cluster is a coordinator with one worker, on loopback.
type cluster struct {
	srv    *httptest.Server
	worker *Worker
	// stop ends the coordinator's connections, as its shutdown does.
	stop context.CancelFunc
}

func newCluster(t *testing.T, capacity int) *cluster {
	t.Helper()
	coord := coordinator.New(coordinator.Config{Token: "secret", Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(coord.Handler())
	coordCtx, stop := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return coordCtx }
	srv.Start()
	t.Cleanup(func() {
		stop()
		srv.Close()
	})
	lib, err := library.New(library.Game{
		GameInfo: signal.GameInfo{ID: testGame, Title: "Telecart Test ROM", System: "nes"},
		Path:     fixture.TestROM(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{
		Capacity:    capacity,
		Coordinator: "ws" + strings.TrimPrefix(srv.URL, "http") + "/worker",
		Token:       "secret",
		Library:     lib,
		CoreDirs:    []string{filepath.Dir(fixture.Core(t, "nes"))},
		Runner:      runnertest.Options(runner.Config{}),
		ICE:         ICEConfig{Loopback: true},
		Linger:      testLinger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &cluster{srv: srv, worker: w, stop: stop}
}

// browser is a Go stand-in for the web app: the /ws protocol and a Pion
// peer. One goroutine reads the socket: once the answer is set it applies
// candidates itself, as the page does, and passes every other message on.
type browser struct {
	t  *testing.T
	ws *websocket.Conn
	*client
	inbox chan received

	mu       sync.Mutex
	answered *webrtc.PeerConnection // the peer whose answer is set
	room     signal.RoomState       // the newest
	live     signal.LiveRooms       // the newest
}

type received struct {
	m signal.Message
	p signal.Payload
}

func (c *cluster) browse(t *testing.T) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, ws: ws, inbox: make(chan received, 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.readLoop()
	}()
	t.Cleanup(func() {
		ws.CloseNow()
		<-done
	})
	return b
}

func (b *browser) readLoop() {
	for {
		_, data, err := b.ws.Read(context.Background())
		if err != nil {
			close(b.inbox)
			return
		}
		m, p, err := signal.Decode(data)
		if err != nil {
			b.t.Errorf("decode %s: %v", data, err)
			continue
		}
		b.mu.Lock()
		pc := b.answered
		switch p := p.(type) {
		case signal.RoomState:
			if m.Session == ref && p.Rev > b.room.Rev || p.ID != b.room.ID {
				b.room = p
			}
		case signal.LiveRooms:
			b.live = p
		}
		b.mu.Unlock()
		switch p := p.(type) {
		case signal.RoomState, signal.LiveRooms:
			continue // kept, for tests to wait on
		case signal.Candidate:
			if pc != nil && m.Session == ref {
				_ = pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: p.Candidate, SDPMid: p.SDPMid, SDPMLineIndex: p.SDPMLineIndex})
				continue
			}
		}
		b.inbox <- received{m, p}
	}
}

// ref is the stand-in browser's name for its game session.
const ref = "tab-1"

func (b *browser) send(p signal.Payload) {
	b.t.Helper()
	data, err := signal.Encode(ref, p)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.ws.Write(context.Background(), websocket.MessageText, data); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) readMessage() (signal.Message, signal.Payload) {
	b.t.Helper()
	select {
	case r, ok := <-b.inbox:
		if !ok {
			b.t.Fatal("the coordinator closed the socket")
		}
		return r.m, r.p
	case <-time.After(10 * time.Second):
		b.t.Fatal("no message for 10 s")
	}
	return signal.Message{}, nil
}

func (b *browser) read() signal.Payload {
	b.t.Helper()
	_, p := b.readMessage()
	return p
}

// waitGames reads hellos until one lists the test game: the worker
// registers a moment after the coordinator starts.
func (b *browser) waitGames() signal.Hello {
	b.t.Helper()
	for range 10 {
		if h, ok := b.read().(signal.Hello); ok && len(h.Games) > 0 {
			return h
		}
	}
	b.t.Fatal("no hello with games")
	return signal.Hello{}
}

// play starts the game and negotiates WebRTC like the web app does: the
// offer may come before "started" (the worker negotiates while the game
// boots), and candidates before either.
func (b *browser) play(game string) signal.Started {
	b.t.Helper()
	b.mu.Lock()
	b.answered = nil // a new game: the old peer's candidates are over
	b.mu.Unlock()
	b.send(signal.Start{Game: game})
	b.client = newClient(b.t)
	b.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			ci := c.ToJSON()
			data, _ := signal.Encode(ref, signal.Candidate{Candidate: ci.Candidate, SDPMid: ci.SDPMid, SDPMLineIndex: ci.SDPMLineIndex})
			_ = b.ws.Write(context.Background(), websocket.MessageText, data)
		}
	})
	var started *signal.Started
	var early []signal.Candidate
	answered := false
	for started == nil || !answered {
		m, p := b.readMessage()
		if _, ok := p.(signal.Hello); ok {
			continue // the library again, sent whenever a worker comes or goes
		}
		if m.Session != ref {
			b.t.Fatalf("%s for session %q, want the browser's own %q", m.Type, m.Session, ref)
		}
		switch p := p.(type) {
		case signal.Started:
			started = &p
		case signal.Candidate:
			if !answered {
				early = append(early, p)
				continue
			}
			_ = b.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: p.Candidate, SDPMid: p.SDPMid, SDPMLineIndex: p.SDPMLineIndex})
		case signal.SDP:
			if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: p.SDP}); err != nil {
				b.t.Fatal(err)
			}
			answer, err := b.pc.CreateAnswer(nil)
			if err != nil {
				b.t.Fatal(err)
			}
			if err := b.pc.SetLocalDescription(answer); err != nil {
				b.t.Fatal(err)
			}
			b.send(signal.Answer(answer.SDP))
			answered = true
			for _, c := range early {
				_ = b.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
			}
		default:
			b.t.Fatalf("unexpected %s while starting", p.Type())
		}
	}
	b.mu.Lock()
	b.answered = b.pc
	b.mu.Unlock()
	return *started
}

// TestPlayThroughCoordinator plays the test ROM the way a browser will:
// hello, start, started, offer, answer, candidates through the
// coordinator; then video and input directly with the worker.
func TestPlayThroughCoordinator(t *testing.T) {
	c := newCluster(t, 2)
	b := c.browse(t)
	hello := b.waitGames()
	if hello.Games[0].ID != testGame {
		t.Fatalf("games %+v", hello.Games)
	}
	started := b.play(testGame)
	if started.Width != 256 || started.Height != 224 || started.Game.ID != testGame || started.Room == "" {
		t.Fatalf("started %+v", started)
	}
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	b.waitColour(t, dec, testrom.FillColor())
	dc := <-b.input
	if err := dc.Send(padState{seq: 1, buttons: 1 << libretro.ButtonStart}.marshal()); err != nil {
		t.Fatal(err)
	}
	b.waitColour(t, dec, testrom.FillColor(testrom.Start))

	// Closing the tab empties the room, which ends a moment later.
	b.ws.Close(websocket.StatusNormalClosure, "")
	waitRooms(t, c.worker, 0)
}

func waitRooms(t *testing.T, w *Worker, want int) {
	t.Helper()
	for range 100 {
		if w.roomCount() == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("worker has %d rooms, want %d", w.roomCount(), want)
}

func TestStartErrors(t *testing.T) {
	c := newCluster(t, 1)
	first := c.browse(t)
	first.waitGames()
	first.send(signal.Start{Game: "nes:nothing.nes"})
	if e, ok := first.read().(signal.Error); !ok || e.Code != signal.CodeUnknownGame {
		t.Fatalf("unknown game: %+v, want error %s", e, signal.CodeUnknownGame)
	}
	first.play(testGame)

	// The worker's one place is taken.
	second := c.browse(t)
	second.waitGames()
	second.send(signal.Start{Game: testGame})
	if e, ok := second.read().(signal.Error); !ok || e.Code != signal.CodeNoWorker {
		t.Fatalf("full worker: %+v, want error %s", e, signal.CodeNoWorker)
	}
	// Nonsense gets an error reply, not a dropped connection.
	if err := second.ws.Write(context.Background(), websocket.MessageText, []byte(`{"v":1,"type":"launch"}`)); err != nil {
		t.Fatal(err)
	}
	if e, ok := second.read().(signal.Error); !ok || e.Code != signal.CodeBadRequest {
		t.Fatalf("bad message: %+v, want error %s", e, signal.CodeBadRequest)
	}
}

func TestWorkerTokenRefused(t *testing.T) {
	coord := coordinator.New(coordinator.Config{Token: "secret", Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(coord.Handler())
	defer srv.Close()
	for _, header := range []string{"", "Bearer wrong", "secret", "Bearer "} {
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
// the new one on its own.
func TestRedial(t *testing.T) {
	c := newCluster(t, 1)
	addr := c.srv.Listener.Addr().String()
	c.browse(t).waitGames()
	c.stop()
	c.srv.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	coord := coordinator.New(coordinator.Config{Token: "secret", Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(coord.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	again := (&cluster{srv: srv}).browse(t)
	if h := again.waitGames(); h.Games[0].ID != testGame {
		t.Fatalf("games after redial: %+v", h.Games)
	}
}

// TestQuitThenStart quits a game and starts another at once on a worker
// with one place: the place is free again as soon as the player quits,
// not once the old game has finished stopping.
func TestQuitThenStart(t *testing.T) {
	c := newCluster(t, 1)
	b := c.browse(t)
	b.waitGames()
	for round := range 3 {
		b.play(testGame)
		b.send(signal.Quit{})
		b.send(signal.Start{Game: testGame})
		for {
			m, p := b.readMessage()
			if _, ok := p.(signal.Candidate); ok {
				continue // the old game's, still in flight
			}
			if e, ok := p.(signal.Error); ok {
				t.Fatalf("round %d: starting right after quitting: %s: %s", round, e.Code, e.Message)
			}
			if m.Session == ref {
				break
			}
		}
		b.send(signal.Quit{})
	}
}

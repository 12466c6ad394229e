package coordinator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
	"github.com/telecart/telecart/internal/workerauth"
)

// serve serves a new coordinator for the length of the test, and closes
// it and its server at the end.
func serve(t *testing.T, cfg Config) (*Coordinator, *httptest.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(func() { c.Close() }) // before the server: it ends the WebSockets
	return c, srv
}

// testSecret is the test coordinators' worker secret; testMetricsToken,
// their metrics token when they have one.
const (
	testSecret       = "coordinator-test-secret"
	testMetricsToken = "coordinator-test-metrics"
)

// workerAuth is the Authorization header of worker id's credential.
func workerAuth(t *testing.T, id signal.WorkerID) http.Header {
	t.Helper()
	cred, err := workerauth.Credential(testSecret, id)
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Authorization": {"Bearer " + cred}}
}

func dial(t *testing.T, srv *httptest.Server, path string, header http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+path, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

func send(t *testing.T, ws *websocket.Conn, p signal.Payload) {
	t.Helper()
	sendAs(t, ws, "", p)
}

// sendAs sends p for a session, named by the browser's reference.
func sendAs(t *testing.T, ws *websocket.Conn, session signal.SessionID, p signal.Payload) {
	t.Helper()
	b, err := signal.Encode(session, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// waitHello reads a browser's socket until a hello satisfies ok.
func waitHello(t *testing.T, ws *websocket.Conn, what string, ok func(signal.Hello) bool) {
	t.Helper()
	readUntil(t, ws, what, func(p signal.Payload) bool {
		h, isHello := p.(signal.Hello)
		return isHello && ok(h)
	})
}

// TestSilentWorkerDropped registers a worker that then says nothing: the
// coordinator drops it after WorkerTimeout, and the browsers' list of
// workers loses it.
func TestSilentWorkerDropped(t *testing.T) {
	if c, _ := serve(t, Config{}); c.cfg.WorkerTimeout != 5*time.Second {
		t.Errorf("default worker timeout %v, want 5 s", c.cfg.WorkerTimeout)
	}
	_, srv := serve(t, Config{Secrets: []string{testSecret}, WorkerTimeout: 300 * time.Millisecond})
	browser := dial(t, srv, "/ws", nil)
	worker := dial(t, srv, "/worker", workerAuth(t, "quiet"))
	send(t, worker, signal.Register{ID: "quiet", Capacity: 1, Games: []signal.GameInfo{{ID: "g", System: "nes"}}, Ping: "http://quiet.example/ping"})
	waitHello(t, browser, "the worker joins", func(h signal.Hello) bool {
		return len(h.Workers) == 1 && h.Workers[0].ID == "quiet" && h.Workers[0].Ping == "http://quiet.example/ping"
	})
	start := time.Now()
	waitHello(t, browser, "the silent worker is dropped", func(h signal.Hello) bool { return len(h.Workers) == 0 })
	t.Logf("dropped %v after joining", time.Since(start))
}

// TestSilentWorkerKeepsGames: a worker in whose room a browser plays goes
// silent past WorkerTimeout, as one does whose heartbeats a congested
// uplink holds back (its own video fills it; TCP backs off under the
// loss). The coordinator drops its link, but the game plays on: the
// browser is not told it ended, and when the worker dials back within
// WorkerGrace its messages reach the browser again; if it comes back
// without the room, that room ended meanwhile, and its players are told.
// One that does not come back has its players told, once the grace has
// passed.
func TestSilentWorkerKeepsGames(t *testing.T) {
	for _, c := range []struct {
		name     string
		grace    time.Duration
		dialBack bool
		roomLeft bool // the room ended while the link was down
	}{
		{"dials back", waittest.Limit, true, false},
		{"dials back without the room", waittest.Limit, true, true},
		{"gone", 300 * time.Millisecond, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, srv := serve(t, Config{Secrets: []string{testSecret}, WorkerTimeout: 300 * time.Millisecond, WorkerGrace: c.grace})
			game := signal.GameInfo{ID: "g", System: "nes"}
			room := signal.Listing{ID: "ROOM1234", Game: game, Players: 1}
			reg := signal.Register{ID: "w", Capacity: 1, Games: []signal.GameInfo{game}, Rooms: []signal.Listing{room}}
			worker := dial(t, srv, "/worker", workerAuth(t, "w"))
			send(t, worker, reg)
			stop := beat(t, worker)
			browser := dial(t, srv, "/ws", nil)
			waitHello(t, browser, "the worker joins", func(h signal.Hello) bool { return len(h.Workers) == 1 })
			sendAs(t, browser, "ref", signal.Join{Room: room.ID})
			session := readUntil(t, worker, "the join reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.Join); return ok })

			// Silent from here: the coordinator closes the link.
			stop()
			ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
			defer cancel()
			silent := time.Now()
			for {
				if _, _, err := worker.Read(ctx); err != nil {
					if ctx.Err() != nil {
						t.Fatal("the silent worker's link was not closed")
					}
					break
				}
			}
			if !c.dialBack {
				readUntil(t, browser, "the player told the worker is gone", func(p signal.Payload) bool {
					_, ok := p.(signal.Ended)
					return ok
				})
				if waited := time.Since(silent); waited < c.grace {
					t.Errorf("told the game ended %v after the worker went silent, within the %v grace", waited, c.grace)
				}
				return
			}
			back := dial(t, srv, "/worker", workerAuth(t, "w"))
			if c.roomLeft {
				reg.Rooms = nil
				send(t, back, reg)
				readUntil(t, browser, "the player told the room ended", func(p signal.Payload) bool {
					e, ok := p.(signal.Ended)
					return ok && e.Reason == "This room has ended."
				})
				return
			}
			send(t, back, reg)
			state := signal.RoomState{ID: room.ID, Rev: 2, Game: game, You: "m1", Members: []signal.Member{}}
			sendAs(t, back, session, state)
			readUntil(t, browser, "the worker's news, once it has dialled back", func(p signal.Payload) bool {
				if e, ok := p.(signal.Ended); ok {
					t.Fatalf("the browser was told its game ended as its worker went silent: %+v", e)
				}
				s, ok := p.(signal.RoomState)
				return ok && s.Rev == state.Rev
			})
		})
	}
}

// TestCloseDuringGrace closes a coordinator that waits for a silent
// worker to dial back: Close does not wait out the grace, and tells the
// worker's players nothing (their game is the next coordinator's).
func TestCloseDuringGrace(t *testing.T) {
	c, srv := serve(t, Config{Secrets: []string{testSecret}, WorkerTimeout: 300 * time.Millisecond, WorkerGrace: time.Hour})
	game := signal.GameInfo{ID: "g", System: "nes"}
	worker := dial(t, srv, "/worker", workerAuth(t, "w"))
	send(t, worker, signal.Register{ID: "w", Capacity: 1, Games: []signal.GameInfo{game}, Rooms: []signal.Listing{{ID: "ROOM1234", Game: game, Players: 1}}})
	stop := beat(t, worker)
	browser := dial(t, srv, "/ws", nil)
	waitHello(t, browser, "the worker joins", func(h signal.Hello) bool { return len(h.Workers) == 1 })
	sendAs(t, browser, "ref", signal.Join{Room: "ROOM1234"})
	readUntil(t, worker, "the join reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.Join); return ok })
	stop()
	readUntil(t, browser, "the silent worker leaves the list", func(p signal.Payload) bool {
		h, ok := p.(signal.Hello)
		return ok && len(h.Workers) == 0
	})
	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(waittest.Limit):
		t.Fatal("Close waited for the silent worker's grace")
	}
	for _, p := range readToClose(t, browser, "browser") {
		if e, ok := p.(signal.Ended); ok {
			t.Errorf("the browser was told its game ended by a coordinator closing while its worker was silent: %+v", e)
		}
	}
}

// beat sends a worker's heartbeats, often enough for a WorkerTimeout of
// 300 ms, until the returned stop is called: the worker is silent from
// then on.
func beat(t *testing.T, ws *websocket.Conn) (stop func()) {
	t.Helper()
	b, err := signal.Encode("", signal.Heartbeat{})
	if err != nil {
		t.Fatal(err)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if ws.Write(context.Background(), websocket.MessageText, b) != nil {
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// TestPing answers the browser's round trip from the coordinator too: in
// the embedded default its worker has no address of its own.
func TestPing(t *testing.T) {
	_, srv := serve(t, Config{})
	resp, err := http.Get(srv.URL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("ping: %s, CORS %q", resp.Status, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return getWith(t, url, "")
}

// getWith GETs url with a bearer token, when not "".
func getWith(t *testing.T, url, token string) (int, string) {
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
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadyAndMetrics checks what operators watch: /readyz says whether a
// new game can start, /metrics counts workers, rooms and browsers.
func TestReadyAndMetrics(t *testing.T) {
	_, srv := serve(t, Config{Secrets: []string{testSecret}, MetricsToken: testMetricsToken})
	if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("ready with no worker: %d", code)
	}
	browser := dial(t, srv, "/ws", nil)
	worker := dial(t, srv, "/worker", workerAuth(t, "w"))
	send(t, worker, signal.Register{ID: "w", Capacity: 1, Games: []signal.GameInfo{{ID: "g", System: "nes"}}})
	waitHello(t, browser, "the worker joins", func(h signal.Hello) bool { return len(h.Workers) == 1 })
	if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("not ready with a worker: %d", code)
	}
	_, text := getWith(t, srv.URL+"/metrics", testMetricsToken)
	for _, want := range []string{"telecart_coordinator_workers 1", "telecart_coordinator_browsers 1", "telecart_coordinator_rooms 0", "go_goroutines"} {
		if !strings.Contains(text, want+"\n") && !strings.Contains(text, want+" ") {
			t.Errorf("metrics lack %q", want)
		}
	}
	send(t, worker, signal.Heartbeat{Draining: true})
	waitHello(t, browser, "the worker drains", func(h signal.Hello) bool { return len(h.Workers) == 1 && h.Workers[0].Draining })
	if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("ready with only a draining worker: %d", code)
	}
}

// TestShutdownKeepsGames cuts a worker's link the way the coordinator's
// shutdown does, while a browser is in one of its rooms: that game plays
// on without a coordinator, so the browser must not be told it ended. The
// worker's link is served on a server of its own, for its shutdown to come
// strictly before the browser's socket closes, as it may in a real one.
func TestShutdownKeepsGames(t *testing.T) {
	c, browsers := serve(t, Config{Secrets: []string{testSecret}})
	workers := httptest.NewUnstartedServer(c.Handler())
	ctx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	workers.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	workers.Start()
	defer workers.Close()

	worker := dial(t, workers, "/worker", workerAuth(t, "w"))
	game := signal.GameInfo{ID: "g", System: "nes"}
	send(t, worker, signal.Register{ID: "w", Capacity: 1, Games: []signal.GameInfo{game}, Rooms: []signal.Listing{{ID: "ROOM1234", Game: game}}})
	browser := dial(t, browsers, "/ws", nil)
	waitHello(t, browser, "the worker joins", func(h signal.Hello) bool { return len(h.Workers) == 1 })
	sendAs(t, browser, "ref", signal.Join{Room: "ROOM1234"})
	readUntil(t, worker, "the join reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.Join); return ok })

	shutdown()
	// The list of workers loses it only once the coordinator has let it go.
	readUntil(t, browser, "the worker leaves the list", func(p signal.Payload) bool {
		if e, ok := p.(signal.Ended); ok {
			t.Fatalf("the browser was told its game ended by a coordinator shutting down: %+v", e)
		}
		h, ok := p.(signal.Hello)
		return ok && len(h.Workers) == 0
	})
}

// TestQuietInRoom: a browser in a room is not sent the live rooms, nor the
// hello, as rooms change; a worker coming still reaches it (for its next
// game it measures the new one), and as it leaves its room it gets the
// list again.
func TestQuietInRoom(t *testing.T) {
	_, srv := serve(t, Config{Secrets: []string{testSecret}})
	isRooms := func(p signal.Payload) bool { _, ok := p.(signal.LiveRooms); return ok }
	spectators := func(n int) func(signal.Payload) bool {
		return func(p signal.Payload) bool {
			l, ok := p.(signal.LiveRooms)
			return ok && len(l.Rooms) == 1 && l.Rooms[0].Spectators == n
		}
	}
	watcher := dial(t, srv, "/ws", nil)
	readUntil(t, watcher, "the watcher's first list", isRooms)
	worker := dial(t, srv, "/worker", workerAuth(t, "w"))
	game := signal.GameInfo{ID: "g", System: "nes"}
	room := signal.Listing{ID: "ROOM1234", Game: game, Players: 1}
	send(t, worker, signal.Register{ID: "w", Capacity: 4, Games: []signal.GameInfo{game}, Rooms: []signal.Listing{room}})
	waitHello(t, watcher, "the worker joins", func(h signal.Hello) bool { return len(h.Workers) == 1 })

	player := dial(t, srv, "/ws", nil)
	readUntil(t, player, "the player's first list", isRooms)
	sendAs(t, player, "ref", signal.Join{Room: room.ID})
	readUntil(t, worker, "the join reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.Join); return ok })
	// The worker tells of each change in the room, as a real one does.
	// Lists go out one after another: once the watcher has one, the one
	// before has gone to everyone it was for.
	for n := 0; n <= 2; n++ {
		room.Spectators = n
		send(t, worker, room)
		readUntil(t, watcher, fmt.Sprintf("the room with %d spectators", n), spectators(n))
	}
	// The coordinator answers a bad message at once: what the player had
	// before that answer is all it was sent.
	if err := player.Write(context.Background(), websocket.MessageText, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, player, "the answer to a bad message", func(p signal.Payload) bool {
		switch p := p.(type) {
		case signal.LiveRooms, signal.Hello:
			t.Fatalf("the player, in a room, was sent %s as the rooms changed: %+v", p.Type(), p)
		case signal.Error:
			return p.Code == signal.CodeBadRequest
		}
		return false
	})

	other := dial(t, srv, "/worker", workerAuth(t, "w2"))
	send(t, other, signal.Register{ID: "w2", Capacity: 4, Games: []signal.GameInfo{game}})
	waitHello(t, player, "a new worker, in a room", func(h signal.Hello) bool { return len(h.Workers) == 2 })
	sendAs(t, player, "ref", signal.Quit{})
	readUntil(t, player, "the list, back from the room", isRooms)
}

// TestRejoinWindow: just after the coordinator starts, a browser may ask
// for its room before the room's worker, dialling back, has registered
// it. The request waits for the worker; one for a room no worker brings
// within the window is told the room has ended.
func TestRejoinWindow(t *testing.T) {
	const window = 2 * time.Second
	c, srv := serve(t, Config{Secrets: []string{testSecret}, RejoinWindow: window})
	// Two browsers, each back for its room.
	browsers := map[signal.RoomID]*websocket.Conn{}
	for _, room := range []signal.RoomID{"ROOM1234", "GONE1234"} {
		b := dial(t, srv, "/ws", nil)
		readUntil(t, b, "the first list", func(p signal.Payload) bool { _, ok := p.(signal.LiveRooms); return ok })
		sendAs(t, b, "ref", signal.Resume{Room: room, Token: "secret-of-the-session-00"})
		browsers[room] = b
	}
	worker := dial(t, srv, "/worker", workerAuth(t, "w"))
	game := signal.GameInfo{ID: "g", System: "nes"}
	send(t, worker, signal.Register{ID: "w", Capacity: 4, Games: []signal.GameInfo{game}, Rooms: []signal.Listing{{ID: "ROOM1234", Game: game, Players: 1}}})
	readUntil(t, worker, "the resume, once the worker has registered its room", func(p signal.Payload) bool {
		r, ok := p.(signal.Resume)
		return ok && r.Room == "ROOM1234"
	})
	readUntil(t, browsers["GONE1234"], "the room no worker brought back has ended", func(p signal.Payload) bool {
		e, ok := p.(signal.Error)
		return ok && e.Code == signal.CodeRoomEnded
	})
	if waited := time.Since(c.started); waited < window {
		t.Errorf("told the room had ended %v after the start, inside the %v window", waited, window)
	}

	// After the window, a room nobody knows is said to be none at once.
	late := browsers["GONE1234"]
	// At once: answered before a message sent after it, which is refused
	// straight away (a browser's messages are taken in order).
	sendAs(t, late, "late", signal.Join{Room: "LATE1234"})
	if err := late.Write(context.Background(), websocket.MessageText, []byte(`{"v":1,"type":"nonsense"}`)); err != nil {
		t.Fatal(err)
	}
	var first string
	readUntil(t, late, "a room unknown after the window", func(p signal.Payload) bool {
		e, ok := p.(signal.Error)
		if ok && first == "" {
			first = e.Code
		}
		return ok && e.Code == signal.CodeNoRoom
	})
	if first != signal.CodeNoRoom {
		t.Errorf("after the window, an unknown room was answered after a later message (%s first): it was held", first)
	}
}

// readUntil reads ws until a message satisfies ok, and returns the
// session it is for.
func readUntil(t *testing.T, ws *websocket.Conn, what string, ok func(signal.Payload) bool) signal.SessionID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if m, p, err := signal.Decode(b); err == nil && ok(p) {
			return m.Session
		}
	}
}

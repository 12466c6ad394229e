package coordinator

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// TestClose closes a coordinator in full swing: a worker with a room, a
// browser playing in it, another on the list of games, one waiting in
// the rejoin window for a room no worker has brought back, and a live
// rooms broadcast due. Close returns with none of the coordinator's
// goroutines left, tells nobody anything (the game plays on, for the next
// coordinator), and refuses whoever comes later; a second Close is
// harmless.
func TestClose(t *testing.T) {
	// Not serve's: its cleanup would call Close again, and a Close that
	// hangs must fail the test, not hang it.
	c, err := New(Config{Secrets: []string{testSecret}, Logger: slog.New(slog.DiscardHandler), RejoinWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	worker := dial(t, srv, "/worker", workerAuth(t, "w"))
	game := signal.GameInfo{ID: "g", System: "nes"}
	send(t, worker, signal.Register{ID: "w", Capacity: 2, Games: []signal.GameInfo{game}, Rooms: []signal.Listing{{ID: "ROOM1234", Game: game, Players: 1}}})
	watcher := dial(t, srv, "/ws", nil)
	waitHello(t, watcher, "the worker joins", func(h signal.Hello) bool { return len(h.Workers) == 1 })
	player := dial(t, srv, "/ws", nil)
	sendAs(t, player, "ref", signal.Join{Room: "ROOM1234"})
	readUntil(t, worker, "the join reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.Join); return ok })
	// The join changed the live rooms: a broadcast is due within 200 ms.
	waiting := dial(t, srv, "/ws", nil)
	readUntil(t, waiting, "the first list", func(p signal.Payload) bool { _, ok := p.(signal.LiveRooms); return ok })
	sendAs(t, waiting, "back", signal.Resume{Room: "GONE1234", Token: "secret-of-the-session-00"})
	// The coordinator reads a browser's messages in order: once a later
	// one is answered, the resume waits in the window.
	send(t, waiting, signal.Seat{Slot: 1})
	readUntil(t, waiting, "the answer to a seat outside a room", func(p signal.Payload) bool {
		e, ok := p.(signal.Error)
		return ok && e.Code == signal.CodeBadRequest
	})

	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(waittest.Limit):
		t.Fatalf("Close has not returned after %v:\n%s", waittest.Limit, strings.Join(coordinatorGoroutines(), "\n\n"))
	}
	// A handler may still be unwinding past its last deferred call, which
	// is what Close waited for; one that never ends is a leak.
	var left []string
	if waittest.Poll(waittest.Limit, func() error {
		if left = coordinatorGoroutines(); len(left) > 0 {
			return errors.New("still running")
		}
		return nil
	}) != nil {
		t.Fatalf("Close returned with %d of the coordinator's goroutines running:\n%s", len(left), strings.Join(left, "\n\n"))
	}

	// Everyone's connection is cut, and nobody was told anything.
	for name, ws := range map[string]*websocket.Conn{"worker": worker, "player": player, "waiting": waiting} {
		for _, p := range readToClose(t, ws, name) {
			switch p.(type) {
			case signal.Quit, signal.Ended, signal.Error:
				t.Errorf("the %s was sent %s %+v by a coordinator closing", name, p.Type(), p)
			}
		}
	}
	if code, _ := get(t, srv.URL+"/ws"); code != http.StatusServiceUnavailable {
		t.Errorf("a browser after Close: %d, want 503", code)
	}
	if err := c.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// TestCloseUnserved closes coordinators that never served anything.
func TestCloseUnserved(t *testing.T) {
	c0, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c0.Close(); err != nil {
		t.Errorf("Close of a new coordinator: %v", err)
	}
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c.Handler()
	if err := c.Close(); err != nil {
		t.Errorf("Close of a coordinator whose handler nothing served: %v", err)
	}
}

// readToClose reads ws until the coordinator closes it, and returns what
// came before.
func readToClose(t *testing.T, ws *websocket.Conn, name string) []signal.Payload {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	var got []signal.Payload
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the %s's connection is still open after Close", name)
			}
			return got
		}
		if _, p, err := signal.Decode(b); err == nil {
			got = append(got, p)
		}
	}
}

// coordinatorGoroutines lists the stacks of the goroutines running the
// coordinator's code (the test's own do not: they are in functions, not
// methods).
func coordinatorGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for _, f := range []string{"coordinator.(*Coordinator)", "coordinator.(*browserConn)", "coordinator.(*workerConn)", "coordinator.keepAlive"} {
			if strings.Contains(g, "internal/"+f) {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

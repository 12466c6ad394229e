package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// serveCluster serves n coordinators sharing one NATS cluster of three
// real servers, each coordinator on a node of its own.
func serveCluster(t *testing.T, n int, cfg Config) ([]*Coordinator, []*httptest.Server) {
	t.Helper()
	nats := fixturetest.NATSCluster(t, 3)
	var cs []*Coordinator
	var srvs []*httptest.Server
	for i := range n {
		cfg := cfg
		cfg.NATS = []string{nats.URL(i % 3)}
		c, srv := serve(t, cfg)
		cs, srvs = append(cs, c), append(srvs, srv)
	}
	return cs, srvs
}

// registerWorker registers a worker with a game on a coordinator, and
// keeps it beating until the test ends.
func registerWorker(t *testing.T, srv *httptest.Server, id signal.WorkerID, rooms ...signal.Listing) *websocket.Conn {
	t.Helper()
	ws := dial(t, srv, "/worker", workerAuth(t, id))
	send(t, ws, signal.Register{ID: id, Capacity: 2, Games: []signal.GameInfo{{ID: "g", System: "nes", Title: "G"}}, Rooms: rooms})
	t.Cleanup(beat(t, ws))
	return ws
}

// TestCoordinatorsShare: three coordinators over one NATS cluster act as
// one. A worker registered on one is offered by the others; a browser on
// another starts a game on it, and hears the worker's answers; a third
// sees the room in its live list, and joins it.
func TestCoordinatorsShare(t *testing.T) {
	_, srvs := serveCluster(t, 3, Config{Secrets: []string{testSecret}})
	worker := registerWorker(t, srvs[0], "w1")

	starter := dial(t, srvs[1], "/ws", nil)
	waitHello(t, starter, "the worker, registered on another coordinator, is offered", func(h signal.Hello) bool {
		return len(h.Workers) == 1 && h.Workers[0].ID == "w1" && len(h.Games) == 1 && h.Games[0].ID == "g"
	})
	sendAs(t, starter, "mine", signal.Start{Game: "g"})
	var start signal.Start
	session := readUntil(t, worker, "the start reaches the worker through its coordinator", func(p signal.Payload) bool {
		start, _ = p.(signal.Start)
		return start.Game == "g"
	})
	sendAs(t, worker, session, signal.Offer("v=0 offer"))
	readUntil(t, starter, "the worker's offer reaches the browser on the other coordinator", func(p signal.Payload) bool {
		sdp, ok := p.(signal.SDP)
		return ok && sdp.SDP == "v=0 offer"
	})
	sendAs(t, starter, "mine", signal.Answer("v=0 answer"))
	readUntil(t, worker, "the browser's answer reaches the worker", func(p signal.Payload) bool {
		sdp, ok := p.(signal.SDP)
		return ok && sdp.SDP == "v=0 answer"
	})

	send(t, worker, signal.Listing{ID: start.Room, Game: signal.GameInfo{ID: "g", System: "nes", Title: "G"}, Players: 1})
	watcher := dial(t, srvs[2], "/ws", nil)
	readUntil(t, watcher, "the third coordinator lists the room", func(p signal.Payload) bool {
		live, ok := p.(signal.LiveRooms)
		return ok && slices.ContainsFunc(live.Rooms, func(l signal.Listing) bool { return l.ID == start.Room })
	})
	sendAs(t, watcher, "watch", signal.Join{Room: start.Room})
	readUntil(t, worker, "the join reaches the worker", func(p signal.Payload) bool {
		j, ok := p.(signal.Join)
		return ok && j.Room == start.Room
	})
}

// TestSameChoiceEverywhere: every coordinator sends a new game where the
// others would, by the same latencies and the same loads: the rooms a
// worker's coordinator shares count on all of them.
func TestSameChoiceEverywhere(t *testing.T) {
	_, srvs := serveCluster(t, 3, Config{Secrets: []string{testSecret}})
	workers := map[signal.WorkerID]*websocket.Conn{}
	for i, id := range []signal.WorkerID{"slow", "near", "next"} {
		workers[id] = registerWorker(t, srvs[i], id)
	}
	rtt := map[signal.WorkerID]float64{"slow": 40, "near": 10, "next": 20}
	// near has two places: the first two games go there, from whichever
	// coordinator; the third, once near is seen full, to next.
	for i, want := range []signal.WorkerID{"near", "near", "next"} {
		b := dial(t, srvs[i], "/ws", nil)
		waitHello(t, b, "every worker is offered, with near's rooms", func(h signal.Hello) bool {
			rooms := 0
			for _, w := range h.Workers {
				if w.ID == "near" {
					rooms = w.Rooms
				}
			}
			return len(h.Workers) == 3 && rooms == i
		})
		send(t, b, signal.Latency{RTT: rtt})
		sendAs(t, b, "mine", signal.Start{Game: "g"})
		var start signal.Start
		readUntil(t, workers[want], fmt.Sprintf("coordinator %d's start reaches %s", i, want), func(p signal.Payload) bool {
			start, _ = p.(signal.Start)
			return start.Game == "g"
		})
		send(t, workers[want], signal.Listing{ID: start.Room, Game: signal.GameInfo{ID: "g", System: "nes", Title: "G"}, Players: 1})
	}
}

// TestWorkerMovesCoordinator: the coordinator holding a worker's link
// stops; the worker dials another, and the browser in its room, on a
// third, hears it again there, and is never told the game ended.
func TestWorkerMovesCoordinator(t *testing.T) {
	cs, srvs := serveCluster(t, 3, Config{Secrets: []string{testSecret}, WorkerTimeout: 500 * time.Millisecond, WorkerGrace: time.Minute})
	game := signal.GameInfo{ID: "g", System: "nes", Title: "G"}
	room := signal.Listing{ID: "ROOM1234", Game: game, Players: 1}
	worker := dial(t, srvs[0], "/worker", workerAuth(t, "w1"))
	reg := signal.Register{ID: "w1", Capacity: 2, Games: []signal.GameInfo{game}, Rooms: []signal.Listing{room}}
	send(t, worker, reg)
	stop := beat(t, worker)
	browser := dial(t, srvs[2], "/ws", nil)
	waitHello(t, browser, "the worker is offered", func(h signal.Hello) bool { return len(h.Workers) == 1 })
	sendAs(t, browser, "mine", signal.Join{Room: room.ID})
	session := readUntil(t, worker, "the join reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.Join); return ok })

	stop()
	cs[0].Close()
	srvs[0].Close()
	moved := dial(t, srvs[1], "/worker", workerAuth(t, "w1"))
	send(t, moved, reg)
	t.Cleanup(beat(t, moved))
	state := signal.RoomState{ID: room.ID, Rev: 2, Game: game, You: "m1", Members: []signal.Member{}}
	sendAs(t, moved, session, state)
	readUntil(t, browser, "the worker's news through the coordinator it moved to", func(p signal.Payload) bool {
		if e, ok := p.(signal.Ended); ok {
			t.Fatalf("the browser was told its game ended as its worker moved: %+v", e)
		}
		s, ok := p.(signal.RoomState)
		return ok && s.Rev == state.Rev
	})
	waittest.Eventually(t, "the browser's coordinator sees the worker on the one it moved to", func() error {
		cs[2].mu.Lock()
		defer cs[2].mu.Unlock()
		w := cs[2].workers["w1"]
		if w == nil || w.holder != cs[1].id || w.rooms[room.ID] == nil {
			return fmt.Errorf("worker %+v", w)
		}
		return nil
	})
}

// TestStartWithNATSServerDown: a coordinator starts while the NATS
// server that led the cluster is down, and offers the worker another
// coordinator registered before.
func TestStartWithNATSServerDown(t *testing.T) {
	nats := fixturetest.NATSCluster(t, 3)
	_, first := serve(t, Config{Secrets: []string{testSecret}, NATS: nats.URLs()})
	registerWorker(t, first, "w1")
	nats.Kill(nats.MetaLeader())
	start := time.Now()
	_, srv := serve(t, Config{Secrets: []string{testSecret}, NATS: nats.URLs()})
	t.Logf("started in %v with a NATS server down", time.Since(start))
	waitHello(t, dial(t, srv, "/ws", nil), "the worker registered on the other coordinator is offered", func(h signal.Hello) bool {
		return len(h.Workers) == 1 && h.Workers[0].ID == "w1"
	})
}

// TestDeadWorkerForgotten: a coordinator stops, and its worker never
// dials another. The others drop it once their grace for it is over, and
// forget it in what they share: a coordinator started afterwards does not
// offer a worker that is gone.
func TestDeadWorkerForgotten(t *testing.T) {
	nats := fixturetest.NATSCluster(t, 1)
	cfg := Config{Secrets: []string{testSecret}, NATS: nats.URLs(), WorkerTimeout: 300 * time.Millisecond, WorkerGrace: 300 * time.Millisecond}
	holder, holderSrv := serve(t, cfg)
	worker := dial(t, holderSrv, "/worker", workerAuth(t, "w1"))
	send(t, worker, signal.Register{ID: "w1", Capacity: 1, Games: []signal.GameInfo{{ID: "g", System: "nes"}},
		Rooms: []signal.Listing{{ID: "ROOM1234", Game: signal.GameInfo{ID: "g", System: "nes"}, Players: 1}}})
	stop := beat(t, worker)
	other, otherSrv := serve(t, cfg)
	browser := dial(t, otherSrv, "/ws", nil)
	waitHello(t, browser, "the worker is offered", func(h signal.Hello) bool { return len(h.Workers) == 1 })

	stop()
	holder.Close()
	waittest.Eventually(t, "the worker's key deleted", func() error {
		if _, err := other.shared.Get(t.Context(), workerKey("w1")); !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("get: %v", err)
		}
		if _, err := other.shared.Get(t.Context(), roomKey("ROOM1234")); !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("its room's: %v", err)
		}
		return nil
	})
	_, later := serve(t, cfg)
	waitHello(t, dial(t, later, "/ws", nil), "no worker is offered", func(h signal.Hello) bool { return len(h.Workers) == 0 })
}

// TestAcrossCoordinators: what a browser or the operator asks of a worker
// reaches it through another coordinator than the one that holds it: a
// game's picture, a connectivity check, the drain.
func TestAcrossCoordinators(t *testing.T) {
	_, srvs := serveCluster(t, 2, Config{Secrets: []string{testSecret}})
	game := signal.GameInfo{ID: "g", System: "nes", Title: "G", Art: "aa11"}
	worker := dial(t, srvs[0], "/worker", workerAuth(t, "w1"))
	send(t, worker, signal.Register{ID: "w1", Capacity: 2, Games: []signal.GameInfo{game}})
	t.Cleanup(beat(t, worker))
	browser := dial(t, srvs[1], "/ws", nil)
	waitHello(t, browser, "the worker is offered", func(h signal.Hello) bool { return len(h.Workers) == 1 })

	// The picture: asked over HTTP of the other coordinator, answered by
	// the worker through its own.
	png := []byte("\x89PNG\r\n\x1a\n a picture")
	got := make(chan []byte, 1)
	go func() {
		resp, err := http.Get(srvs[1].URL + "/art/g?v=aa11")
		if err != nil {
			got <- nil
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- b
	}()
	session := readUntil(t, worker, "the picture request reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.ArtRequest); return ok })
	sendAs(t, worker, session, signal.Art{Game: "g", Version: "aa11", ContentType: "image/png", Data: png})
	if b := <-got; !bytes.Equal(b, png) {
		t.Fatalf("the picture through the other coordinator: %q", b)
	}

	// The connectivity check.
	sendAs(t, browser, "check-1", signal.Check{Worker: "w1"})
	session = readUntil(t, worker, "the check reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.Check); return ok })
	sendAs(t, worker, session, signal.Offer("v=0 check"))
	readUntil(t, browser, "the check's offer reaches the browser", func(p signal.Payload) bool {
		sdp, ok := p.(signal.SDP)
		return ok && sdp.SDP == "v=0 check"
	})

	// The operator's drain.
	req, err := http.NewRequest(http.MethodPost, srvs[1].URL+"/admin/workers/w1/drain", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("drain through the other coordinator: %s", resp.Status)
	}
	readUntil(t, worker, "the drain reaches the worker", func(p signal.Payload) bool { _, ok := p.(signal.Drain); return ok })
}

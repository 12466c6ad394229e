package coordinator

import (
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
)

// TestPick runs the choice of a worker over a table of worker states.
func TestPick(t *testing.T) {
	type state struct {
		id       signal.WorkerID
		zone     string
		rooms    int // occupied
		capacity int
		cpu      float64
		draining bool
	}
	const game = "nes:g"
	rtt := map[signal.WorkerID]float64{"near": 5, "mid": 40, "far": 120} // "new" is unmeasured
	tests := []struct {
		name    string
		workers []state
		start   signal.Start
		want    signal.WorkerID
		err     error
	}{
		{"the fastest", []state{{id: "far", capacity: 1}, {id: "near", capacity: 1}, {id: "mid", capacity: 1}}, signal.Start{}, "near", nil},
		{"the fastest with a place", []state{{id: "near", rooms: 1, capacity: 1}, {id: "mid", capacity: 1}}, signal.Start{}, "mid", nil},
		{"measured before unmeasured", []state{{id: "new", capacity: 9}, {id: "far", rooms: 3, capacity: 4}}, signal.Start{}, "far", nil},
		{"unmeasured: the least loaded", []state{{id: "new", rooms: 2, capacity: 9}, {id: "new2", rooms: 1, capacity: 9}}, signal.Start{}, "new2", nil},
		{"not draining", []state{{id: "near", capacity: 1, draining: true}, {id: "far", capacity: 1}}, signal.Start{}, "far", nil},
		{"not overloaded", []state{{id: "near", capacity: 1, cpu: 0.95}, {id: "far", capacity: 1, cpu: 0.5}}, signal.Start{}, "far", nil},
		{"the zone", []state{{id: "near", zone: "us", capacity: 1}, {id: "far", zone: "eu", capacity: 1}}, signal.Start{Zone: "eu"}, "far", nil},
		{"the zone, when full: elsewhere", []state{{id: "near", zone: "us", capacity: 1}, {id: "far", zone: "eu", rooms: 1, capacity: 1}}, signal.Start{Zone: "eu"}, "near", nil},
		{"by hand", []state{{id: "near", capacity: 1}, {id: "far", capacity: 1}}, signal.Start{Worker: "far"}, "far", nil},
		{"by hand, full", []state{{id: "near", capacity: 1}, {id: "far", rooms: 1, capacity: 1}}, signal.Start{Worker: "far"}, "", errAllBusy},
		{"by hand, not there", []state{{id: "near", capacity: 1}}, signal.Start{Worker: "gone"}, "", errNoSuchWorker},
		{"all full", []state{{id: "near", rooms: 1, capacity: 1}}, signal.Start{}, "", errAllBusy},
		{"no such game", nil, signal.Start{}, "", errUnknownGame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close() // its rooms scheduled a broadcast
			// The state is c.mu's, as in a running coordinator: the
			// broadcast its rooms scheduled may read it meanwhile.
			c.mu.Lock()
			for _, s := range tt.workers {
				w := &workerConn{id: s.id, zone: s.zone, capacity: s.capacity, cpu: s.cpu, draining: s.draining,
					games: map[string]signal.GameInfo{game: {ID: game, System: "nes"}}, rooms: map[signal.RoomID]*roomEntry{}}
				for i := range s.rooms {
					r := c.addRoom(w, signal.Listing{ID: signal.RoomID(s.id) + signal.RoomID(rune('a'+i))}, time.Now())
					r.sessions["someone"] = true
				}
				c.workers[s.id] = w
			}
			c.mu.Unlock()
			b := &browserConn{latency: rtt, client: &client{}}
			start := tt.start
			start.Game = game
			w, _, _, err := c.pick(b, "ref", start, nil)
			if !errors.Is(err, tt.err) || (err == nil && w.id != tt.want) {
				var got signal.WorkerID
				if w != nil {
					got = w.id
				}
				t.Fatalf("picked %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// TestStartAgainWhenRefusedFull: the worker chosen refuses the start as
// full (another coordinator filled its last place first); the
// coordinator sends the start to the next best worker itself, and the
// player sees no error. A worker asked for by hand is not replaced.
func TestStartAgainWhenRefusedFull(t *testing.T) {
	_, srv := serve(t, Config{Secrets: []string{testSecret}})
	workers := map[signal.WorkerID]*websocket.Conn{}
	for _, id := range []signal.WorkerID{"near", "far"} {
		workers[id] = registerWorker(t, srv, id)
	}
	browser := dial(t, srv, "/ws", nil)
	waitHello(t, browser, "both workers", func(h signal.Hello) bool { return len(h.Workers) == 2 })
	send(t, browser, signal.Latency{RTT: map[signal.WorkerID]float64{"near": 10, "far": 50}})
	full := signal.Error{Code: signal.CodeNoWorker, Message: "This server is full: every room it can host is in use."}
	isStart := func(p signal.Payload) bool { _, ok := p.(signal.Start); return ok }

	sendAs(t, browser, "mine", signal.Start{Game: "g"})
	sendAs(t, workers["near"], readUntil(t, workers["near"], "the start reaches the nearest worker", isStart), full)
	session := readUntil(t, workers["far"], "the start goes on to the next worker", isStart)
	sendAs(t, workers["far"], session, signal.Offer("v=0 far"))
	readUntil(t, browser, "the offer of the worker that took it", func(p signal.Payload) bool {
		if e, ok := p.(signal.Error); ok {
			t.Fatalf("the player saw the refusal: %+v", e)
		}
		sdp, ok := p.(signal.SDP)
		return ok && sdp.SDP == "v=0 far"
	})
	sendAs(t, browser, "mine", signal.Quit{})

	sendAs(t, browser, "byhand", signal.Start{Game: "g", Worker: "near"})
	sendAs(t, workers["near"], readUntil(t, workers["near"], "the start by hand", isStart), full)
	readUntil(t, browser, "the refusal of the worker asked for", func(p signal.Payload) bool {
		e, ok := p.(signal.Error)
		return ok && e.Code == signal.CodeNoWorker
	})
}

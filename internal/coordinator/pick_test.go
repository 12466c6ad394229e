package coordinator

import (
	"errors"
	"testing"
	"time"

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
			w, _, _, err := c.pick(b, "ref", start)
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

package worker

import (
	"testing"

	"github.com/telecart/telecart/internal/signal"
)

// TestChooseWorker sends each new room to the worker its browser measured
// fastest among those with a free place, keeps to the zone asked for, and
// honours a worker picked by hand.
func TestChooseWorker(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) { cfg.ID, cfg.Zone, cfg.Ping = "a", "eu", "http://a.example/ping" })
	b, _ := c.addWorker(t, 2, func(cfg *Config) { cfg.ID, cfg.Zone, cfg.Ping = "b", "us", "http://b.example/ping" })
	w, _ := c.addWorker(t, 2, func(cfg *Config) { cfg.ID, cfg.Zone, cfg.Ping = "c", "eu", "http://c.example/ping" })
	workers := map[signal.WorkerID]*Worker{"a": c.worker, "b": b, "c": w}
	rtt := signal.Latency{RTT: map[signal.WorkerID]float64{"a": 40, "b": 5, "c": 120}}

	// Every worker is a candidate to measure, with its ping URL.
	p := c.browse(t)
	var hello signal.Hello
	for range 20 {
		if hello = p.WaitGames(); len(hello.Workers) == 3 {
			break
		}
	}
	for _, wi := range hello.Workers {
		if wi.Ping != "http://"+string(wi.ID)+".example/ping" || wi.Capacity == 0 {
			t.Errorf("hello tells %+v", wi)
		}
	}

	tests := []struct {
		name  string
		start signal.Start
		want  signal.WorkerID
	}{
		{"the fastest", signal.Start{Game: testGame}, "b"},
		{"the zone asked for, though another is faster", signal.Start{Game: testGame, Zone: "eu"}, "a"},
		{"the fastest again", signal.Start{Game: testGame}, "b"},
		{"the fastest with a place", signal.Start{Game: testGame}, "c"}, // a and b are full
		{"by hand", signal.Start{Game: testGame, Worker: "c"}, "c"},
	}
	for _, tt := range tests {
		p := c.browse(t)
		p.WaitGames()
		p.Send(rtt)
		before := map[signal.WorkerID]int{}
		for id, w := range workers {
			before[id] = w.roomCount()
		}
		p.Play(tt.start)
		for id, w := range workers {
			if got, grew := w.roomCount(), id == tt.want; (got > before[id]) != grew {
				t.Errorf("%s: worker %s has %d rooms, had %d; want the room on %s", tt.name, id, got, before[id], tt.want)
			}
		}
	}
	// Every place is taken: a hand-picked worker that is full says so.
	p = c.browse(t)
	p.WaitGames()
	p.Begin(signal.Start{Game: testGame, Worker: "b"})
	if e := p.ReadError(); e.Code != signal.CodeNoWorker {
		t.Errorf("a full worker picked by hand: %+v", e)
	}
}

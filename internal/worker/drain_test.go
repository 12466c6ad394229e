package worker

import (
	"net/http"
	"testing"

	"github.com/telecart/telecart/internal/gobrowser"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
)

// TestDrain drains a worker through the operator's call: it takes no new
// rooms, its running room plays on and takes more people, and once that
// room has ended the worker leaves.
func TestDrain(t *testing.T) {
	c := newCluster(t, 2, func(cfg *Config) { cfg.ID = "old" })
	p := c.browse(t)
	p.WaitGames()
	room := p.Play(signal.Start{Game: testGame}).Room

	drain := func(id, token string) int {
		req, err := http.NewRequest(http.MethodPost, c.srv.URL+"/admin/workers/"+id+"/drain", nil)
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
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		id, token string
		want      int
	}{
		{"old", "", http.StatusUnauthorized},
		{"old", "wrong", http.StatusUnauthorized},
		{"nobody", "secret", http.StatusNotFound},
		{"old", "secret", http.StatusAccepted},
	} {
		if got := drain(tt.id, tt.token); got != tt.want {
			t.Errorf("drain %s with token %q: %d, want %d", tt.id, tt.token, got, tt.want)
		}
	}

	// Browsers see it draining; a new game finds no place there.
	q := c.browse(t)
	for range 20 {
		if h := q.WaitGames(); len(h.Workers) == 1 && h.Workers[0].Draining {
			break
		}
	}
	q.Begin(signal.Start{Game: testGame})
	if e := q.ReadError(); e.Code != signal.CodeNoWorker {
		t.Fatalf("a new game on a draining worker: %+v", e)
	}
	// The running room plays on, and takes a spectator.
	q.Join(signal.Join{Room: room})
	q.WaitColour(t, gobrowser.Decoder(t), testrom.FillPoint(), testrom.FillColor())

	// Everyone leaves; the room ends after its linger time; the worker goes.
	watcher := c.browse(t)
	gobrowser.Await[signal.Hello](watcher)
	p.Send(signal.Quit{})
	q.Send(signal.Quit{})
	for range 10 {
		if h := gobrowser.Await[signal.Hello](watcher); len(h.Workers) == 0 {
			return
		}
	}
	t.Fatal("the drained worker did not leave")
}

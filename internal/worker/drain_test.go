package worker

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
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
		{"old", credential(t, testSecret, "old"), http.StatusUnauthorized}, // the worker's own
		{"nobody", testSecret, http.StatusNotFound},
		{"old", testSecret, http.StatusAccepted},
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
	q.WaitColour(t, gobrowsertest.Decoder(t), testrom.FillPoint(), testrom.FillColor())

	// Everyone leaves; the room ends after its linger time; the worker goes.
	watcher := c.browse(t)
	gobrowsertest.Await[signal.Hello](watcher)
	p.Send(signal.Quit{})
	q.Send(signal.Quit{})
	for range 10 {
		if h := gobrowsertest.Await[signal.Hello](watcher); len(h.Workers) == 0 {
			return
		}
	}
	t.Fatal("the drained worker did not leave")
}

// TestWorkerEndpoints reads a playing worker's metrics and readiness as
// an operator's tools do.
func TestWorkerEndpoints(t *testing.T) {
	const metricsToken = "worker-test-metrics-token"
	c := newCluster(t, 1, func(cfg *Config) { cfg.MetricsToken = metricsToken })
	srv := httptest.NewServer(c.worker.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+metricsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	health := func() Health {
		t.Helper()
		code, body := get("/healthz")
		var h Health
		if err := json.Unmarshal([]byte(body), &h); code != http.StatusOK || err != nil {
			t.Fatalf("/healthz: %d %q (%v); want 200 and JSON", code, body, err)
		}
		return h
	}
	p := c.browse(t)
	p.WaitGames()
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Errorf("an idle connected worker is not ready: %d", code)
	}
	if h := health(); h != (Health{Connected: true}) {
		t.Errorf("an idle connected worker's health: %+v", h)
	}
	p.Play(signal.Start{Game: testGame})
	dec := gobrowsertest.Decoder(t)
	<-p.Input
	for _, b := range []testrom.Button{testrom.A, testrom.B} {
		p.Press(t, b.Joypad())
		p.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(b))
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "full") {
		t.Errorf("a full worker's readyz: %d %q", code, body)
	}
	if h := health(); h != (Health{Rooms: 1, Sessions: 1, Connected: true}) {
		t.Errorf("the health of a worker with one player: %+v", h)
	}
	// Draining, it is still healthy, and says it drains: telecart drain
	// reads that before it signals.
	c.worker.Drain()
	if h := health(); h != (Health{Rooms: 1, Sessions: 1, Draining: true, Connected: true}) {
		t.Errorf("the health of a draining worker with one player: %+v", h)
	}
	// The runner reports once a second.
	var text string
	waittest.Eventually(t, "the runner's first report in the metrics", func() error {
		if _, text = get("/metrics"); !strings.Contains(text, "telecart_worker_encode_seconds_count") || strings.Contains(text, "telecart_worker_encode_seconds_count 0") {
			return errors.New("no encode time observed")
		}
		return nil
	})
	for _, want := range []string{
		"telecart_worker_rooms 1", "telecart_worker_peers 1", "telecart_worker_coordinator_connected 1",
		"telecart_worker_input_to_frame_seconds_count", "telecart_worker_frames_encoded_total", "telecart_worker_video_bytes_total",
		"telecart_worker_runahead_replays_total",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, "telecart_worker_input_to_frame_seconds_count 0") || strings.Contains(text, "telecart_worker_frames_encoded_total 0\n") {
		t.Errorf("no input-to-frame times or frames counted:\n%s", text)
	}
	if code, _ := get("/ping"); code != http.StatusNoContent {
		t.Errorf("ping: %d", code)
	}

	// The metrics only to the token's bearer; none without a token.
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("metrics without the token: %d, want 401", resp.StatusCode)
	}
	if h := resp.Header; h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("the ping listener's security headers: %v", h)
	}
	open := httptest.NewServer(c.addWorkerHandler(t))
	defer open.Close()
	if resp, err = http.Get(open.URL + "/metrics"); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("metrics of a worker without a metrics token: %d, want 404", resp.StatusCode)
	}
}

// addWorkerHandler is the Handler of another worker on the cluster, with
// no metrics token.
func (c *cluster) addWorkerHandler(t *testing.T) http.Handler {
	t.Helper()
	w, _ := c.addWorker(t, 1)
	return w.Handler()
}

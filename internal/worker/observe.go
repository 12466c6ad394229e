package worker

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/telecart/telecart/internal/metrics"
	"github.com/telecart/telecart/internal/ping"
	"github.com/telecart/telecart/internal/runner/wire"
)

// observer is what the worker's rooms report to Prometheus: one for all
// rooms, the metrics being the worker's.
type observer struct {
	frames       prometheus.Counter
	late         prometheus.Counter
	videoBytes   prometheus.Counter
	videoTarget  prometheus.Counter
	audioBytes   prometheus.Counter
	encode       prometheus.Histogram
	inputToFrame prometheus.Histogram
	replays      prometheus.Counter
	replayed     prometheus.Counter
}

func (w *Worker) registerMetrics() {
	m := metrics.New()
	w.metrics = m
	count := func(read func() int) func() float64 {
		return func() float64 {
			w.mu.Lock()
			defer w.mu.Unlock()
			return float64(read())
		}
	}
	m.Gauge("telecart_worker_rooms", "Rooms the worker hosts, lingering ones included.", count(func() int { return len(w.hosted) }))
	m.Gauge("telecart_worker_capacity", "Rooms the worker can host at once.", func() float64 { return float64(w.cfg.Capacity) })
	m.Gauge("telecart_worker_peers", "Browsers connected to the worker's rooms.", count(func() int { return len(w.sessions) }))
	m.Gauge("telecart_worker_draining", "1 while the worker takes no new rooms.", count(func() int {
		if w.draining {
			return 1
		}
		return 0
	}))
	m.Gauge("telecart_worker_coordinator_connected", "1 while the worker is connected to its coordinator.", count(func() int {
		if w.link != nil {
			return 1
		}
		return 0
	}))
	w.observer = &observer{
		frames:     m.Counter("telecart_worker_frames_encoded_total", "Video frames the worker's runners emulated and encoded."),
		late:       m.Counter("telecart_worker_frames_late_total", "Frames that started after their deadline (the game ran slow)."),
		videoBytes: m.Counter("telecart_worker_video_bytes_total", "Encoded video, in bytes: its rate is the video bitrate of all rooms."),
		videoTarget: m.Counter("telecart_worker_video_target_kbit_total",
			"The encoders' target bitrates over time, in kbit: its rate is the sum of the rooms' targets, which follow their players' paths."),
		audioBytes: m.Counter("telecart_worker_audio_bytes_total", "Encoded audio, in bytes."),
		encode: m.Seconds("telecart_worker_encode_seconds",
			"Video encode time per frame, one observation per room and second (that second's mean)."),
		inputToFrame: m.Seconds("telecart_worker_input_to_frame_seconds",
			"From a pad state leaving the worker for the runner to the encoded picture that shows it coming back."),
		replays: m.Counter("telecart_worker_runahead_replays_total",
			"Run-ahead's replays: changes of input in games with run-ahead, each a state loaded and frames run again."),
		replayed: m.Counter("telecart_worker_runahead_replayed_frames_total",
			"Frames run-ahead's replays ran besides the ones shown: its cost, in frames."),
	}
}

func (o *observer) Stats(s wire.Stats) {
	o.frames.Add(float64(s.Frames))
	o.late.Add(float64(s.Late))
	o.videoBytes.Add(float64(s.VideoBytes))
	o.audioBytes.Add(float64(s.AudioBytes))
	o.videoTarget.Add(float64(s.VideoKbps) * s.Interval.Seconds())
	o.replays.Add(float64(s.Replays))
	o.replayed.Add(float64(s.ReplayedFrames))
	if s.Frames > 0 {
		o.encode.Observe(s.Encode.Mean.Seconds())
	}
}

func (o *observer) InputToFrame(d time.Duration) { o.inputToFrame.Observe(d.Seconds()) }

// Health is what a worker's /healthz answers, in JSON: enough for
// `telecart drain` to know whether the worker drains already (a second
// SIGTERM would end its games at once) and how many games it waits for.
type Health struct {
	// Rooms are the rooms the worker hosts, lingering ones included: a
	// draining worker exits once they are none.
	Rooms int `json:"rooms"`
	// Sessions are the browsers connected to them.
	Sessions int `json:"sessions"`
	// Draining is true once the worker takes no new rooms.
	Draining bool `json:"draining"`
	// Connected is true while it has a link to a coordinator.
	Connected bool `json:"connected"`
}

// Health is the worker's state as /healthz tells it.
func (w *Worker) Health() Health {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Health{Rooms: len(w.hosted), Sessions: len(w.sessions), Draining: w.draining, Connected: w.link != nil}
}

// Handler serves the worker's own HTTP endpoints: /ping for browsers to
// time, /healthz (the process answers: 200 with its Health, whatever
// that is), /readyz (it takes new games: connected to its coordinator,
// not draining, not full), and /metrics for Prometheus to the bearer of
// the metrics token, when there is one.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ping", ping.Handler())
	if w.cfg.MetricsToken != "" {
		mux.Handle("GET /metrics", metrics.Bearer(w.cfg.MetricsToken, w.metrics.Handler()))
	}
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(w.Health())
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		w.mu.Lock()
		var why string
		switch {
		case w.link == nil:
			why = "not connected to the coordinator"
		case w.draining:
			why = "draining"
		case len(w.hosted) >= w.cfg.Capacity:
			why = "full"
		}
		w.mu.Unlock()
		if why != "" {
			http.Error(rw, why, http.StatusServiceUnavailable)
			return
		}
		_, _ = rw.Write([]byte("ready\n"))
	})
	return secure(mux)
}

// secure sets the security headers on every answer of h: nothing here is
// a page, and nothing may frame it, run in it, or be sniffed into one.
// /ping's own CORS headers let pages time it.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hd := rw.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(rw, r)
	})
}

// Metrics serves the worker's metrics alone, for a process that serves
// the rest itself (the embedded default).
func (w *Worker) Metrics() http.Handler { return w.metrics.Handler() }

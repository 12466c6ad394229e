// Package coordinator is the front door: it serves the web app, keeps the
// registry of workers, sends each browser to a worker that can play its
// game, and relays the WebRTC negotiation between the two.
package coordinator

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/telecart/telecart/internal/cluster"
	"github.com/telecart/telecart/internal/metrics"
	"github.com/telecart/telecart/internal/ping"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/turnrest"
)

// Config configures a coordinator.
type Config struct {
	// Secrets are the coordinator's worker secrets (package workerauth):
	// a worker registers under the id its credential names when one of
	// them made it, and the operator's admin endpoint takes any of them
	// as its bearer token. None refuses every worker.
	Secrets []string
	// MetricsToken opens /metrics on Handler to a bearer of it; empty,
	// Handler serves no metrics, and Metrics serves them for a private
	// listener of the operator's.
	MetricsToken string
	// WorkerMetrics are the metrics of a worker in the same process (the
	// embedded default), served at /worker/metrics beside the
	// coordinator's own, with the same access.
	WorkerMetrics http.Handler
	// ICEServers are handed to browsers.
	ICEServers []signal.ICEServer
	// Web is the browser app, served at /.
	Web    fs.FS
	Logger *slog.Logger
	// Overload is the load of a worker's machine (0 to 1, smoothed over a
	// few seconds) from which it takes no new room: the rooms it runs would
	// start to lose frames (default DefaultOverload; 1 or more: never, as
	// suits one machine that runs everything, or a test).
	Overload float64
	// WorkerTimeout drops a worker silent for this long (default 5 s;
	// workers send a heartbeat every second).
	WorkerTimeout time.Duration
	// WorkerGrace is how long the rooms of a worker dropped for its
	// silence are kept, and its players left to play, for it to dial
	// back (default DefaultWorkerGrace). A worker whose link closed is
	// dropped with its rooms at once: its process is gone.
	WorkerGrace time.Duration
	// TURN names TURN servers for which each browser gets credentials of
	// its own in every hello; none when its URLs are empty.
	TURN TURN
	// Now is the clock TURN credentials expire by, and the limits on rates
	// fill up by (default time.Now): a test hands out expired
	// credentials with it, or stops the limits filling up.
	Now func() time.Time
	// Limits bound what one client may ask for; the zero Limits, nothing.
	Limits Limits
	// RejoinWindow is how long after it starts the coordinator waits, for
	// a browser asking for a room it does not know, for a worker to
	// register that room (default DefaultRejoinWindow; NoRejoinWindow for
	// none): after a restart, browsers whose games played on may find it
	// before their workers do.
	RejoinWindow time.Duration
	// ArtCache is how many bytes of games' pictures the coordinator keeps
	// (default DefaultArtCache).
	ArtCache int
	// NATS are the servers of the NATS cluster the coordinator shares its
	// workers, rooms and messages over with the others; none starts a
	// server inside the process, with no port, which Close stops: a
	// coordinator on its own runs the same code.
	NATS []string
}

// TURN is a set of TURN servers that share a secret with the coordinator
// (TURN REST; coturn's use-auth-secret and static-auth-secret). A browser
// is handed credentials made with it, never the secret: a username of its
// expiry and a random id of that browser's connection (not its player id,
// which opens the player's saves: a TURN username travels in the clear),
// and their HMAC. coturn checks them when a relay is opened, not as it is
// kept (internal/turntest), so a game outlives them; the coordinator
// sends every browser fresh ones every TTL/2, for the peer connection it
// makes next.
type TURN struct {
	URLs   []string
	Secret string
	// TTL is how long credentials can open a relay (default
	// DefaultTURNTTL).
	TTL time.Duration
}

// DefaultTURNTTL is turn_ttl's default: a leaked credential opens relays
// for an hour at most, and renewing every browser's twice an hour costs
// one hello each.
const DefaultTURNTTL = time.Hour

// NoRejoinWindow is a RejoinWindow of none: an unknown room has ended.
const NoRejoinWindow time.Duration = -1

// DefaultRejoinWindow outlasts a worker's longest wait between two dials
// (worker.maxRedial), and the dial itself.
const DefaultRejoinWindow = 15 * time.Second

// DefaultWorkerGrace is WorkerGrace's default. A live worker dials back
// half a second after seeing its link closed (worker.minRedial), and
// again 1, 2 and 4 s later if those dials fail; the players of a machine
// that has vanished learn it about when their own pages would (they
// count 10 s of ICE "disconnected" as lost).
const DefaultWorkerGrace = 10 * time.Second

const (
	// sharedReadTimeout bounds a new coordinator's first read of what the
	// others share: a NATS cluster electing its leaders takes seconds.
	sharedReadTimeout = 30 * time.Second
	registerTimeout   = 10 * time.Second
	writeTimeout      = 5 * time.Second
	// pingInterval keeps idle browser connections open through proxies
	// that drop silent ones; browsers cannot send pings themselves.
	pingInterval = 25 * time.Second
)

// Coordinator routes browsers to workers.
//
// It owns every goroutine it runs, and Close ends them: each connection's
// handler (counted from its first line to its last), which itself awaits
// the helpers it starts (a browser's writer and pinger), and the timers'
// functions (a live rooms broadcast, the end of the rejoin window),
// counted from when they are scheduled until they have run or been
// stopped.
type Coordinator struct {
	cfg Config
	log *slog.Logger
	// id names this coordinator among the others.
	id string
	// cluster is its NATS, which the first Close closes; bus, the
	// connection to it.
	cluster *cluster.Cluster
	bus     *nats.Conn
	// shared is the bucket of what the coordinators share (shared.go);
	// shareQueue are the writes queued for it, in order, and
	// pendingValue the newest value queued for each key, not yet taken
	// by the writer, both guarded by sharing; shareDue wakes the writer.
	shared       jetstream.KeyValue
	sharing      sync.Mutex
	shareQueue   []*sharedWrite
	pendingValue map[string]*sharedWrite
	shareDue     chan struct{}
	// alive is when each coordinator was last heard, by id; guarded by mu.
	alive map[string]time.Time

	// ctx ends with Close; every connection's context derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	// running counts what Close waits for: the connections' handlers and
	// the scheduled timers' functions.
	running sync.WaitGroup

	mu      sync.Mutex
	workers map[signal.WorkerID]*workerConn
	// lost are the workers whose link went silent, kept with their rooms
	// for WorkerGrace in case they dial back (keepWorker).
	lost     map[signal.WorkerID]*workerConn
	sessions map[signal.SessionID]*browserConn
	browsers map[*browserConn]bool
	rooms    map[signal.RoomID]*roomEntry
	// checks are the connectivity check's test connections being set up,
	// by the id the worker knows them by (check.go).
	checks map[signal.SessionID]*checkEntry
	ended  endedRooms
	// closed refuses new connections and timers once Close has begun.
	closed bool
	// roomsTimer is the scheduled live rooms broadcast; windowTimer, the
	// end of the rejoin window, once a browser waits for it; turnTimer,
	// the next renewal of browsers' TURN credentials.
	roomsTimer, windowTimer, turnTimer *time.Timer
	// started is when this coordinator began; awaiting holds, by room id,
	// the joins and resumes of rooms no worker has registered yet, within
	// the rejoin window (see Config.RejoinWindow).
	started  time.Time
	awaiting map[signal.RoomID][]awaitingEnter
	// roomsDue is set while a live rooms broadcast is scheduled;
	// helloDue, when every browser is owed a hello: a worker came, went
	// or changed since the last, or TURN credentials are due for renewal.
	roomsDue, helloDue bool
	// broadcasting is held through a broadcast: a slow one must not be
	// overtaken by the next, which would leave browsers with the older news.
	broadcasting sync.Mutex
	// limits counts what each client holds; guarded by mu.
	limits *limiter
	// art keeps games' pictures; artWaits are the picture requests
	// waiting for their worker's answer, by session id (art.go), guarded
	// by mu.
	art      *artCache
	artWaits map[signal.SessionID]chan signal.Art

	metrics      *metrics.Registry
	roomsStarted prometheus.Counter
	refused      *prometheus.CounterVec
	pickTime     prometheus.Histogram
	artServed    *prometheus.CounterVec
}

// New makes a coordinator; serve its Handler.
func New(cfg Config) (*Coordinator, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Overload <= 0 {
		cfg.Overload = DefaultOverload
	}
	if cfg.WorkerTimeout <= 0 {
		cfg.WorkerTimeout = 5 * time.Second
	}
	if cfg.RejoinWindow == 0 {
		cfg.RejoinWindow = DefaultRejoinWindow
	}
	if cfg.WorkerGrace <= 0 {
		cfg.WorkerGrace = DefaultWorkerGrace
	}
	if cfg.TURN.TTL <= 0 {
		cfg.TURN.TTL = DefaultTURNTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ArtCache <= 0 {
		cfg.ArtCache = DefaultArtCache
	}
	id := "coordinator-" + string(signal.NewID[signal.SessionID](signal.NameBytes))
	cl, err := cluster.Open(context.Background(), cluster.Config{URLs: cfg.NATS, Name: id, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("coordinator: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg:          cfg,
		id:           id,
		cluster:      cl,
		bus:          cl.Conn(),
		pendingValue: map[string]*sharedWrite{},
		shareDue:     make(chan struct{}, 1),
		alive:        map[string]time.Time{},
		ctx:          ctx,
		cancel:       cancel,
		log:          cfg.Logger,
		started:      time.Now(),
		awaiting:     map[signal.RoomID][]awaitingEnter{},
		workers:      map[signal.WorkerID]*workerConn{},
		lost:         map[signal.WorkerID]*workerConn{},
		sessions:     map[signal.SessionID]*browserConn{},
		browsers:     map[*browserConn]bool{},
		rooms:        map[signal.RoomID]*roomEntry{},
		checks:       map[signal.SessionID]*checkEntry{},
		art:          newArtCache(cfg.ArtCache),
		artWaits:     map[signal.SessionID]chan signal.Art{},
		metrics:      metrics.New(),
	}
	count := func(read func() int) func() float64 {
		return func() float64 {
			c.mu.Lock()
			defer c.mu.Unlock()
			return float64(read())
		}
	}
	m := c.metrics
	m.Gauge("telecart_coordinator_workers", "Workers registered.", count(func() int { return len(c.workers) }))
	m.Gauge("telecart_coordinator_rooms", "Rooms on all workers, lingering ones included.", count(func() int { return len(c.rooms) }))
	m.Gauge("telecart_coordinator_sessions", "Browsers in a room.", count(func() int { return len(c.sessions) }))
	m.Gauge("telecart_coordinator_browsers", "Browsers connected to /ws.", count(func() int { return len(c.browsers) }))
	c.roomsStarted = m.Counter("telecart_coordinator_rooms_started_total", "New rooms sent to a worker.")
	c.refused = m.CounterVec("telecart_coordinator_starts_refused_total", "New rooms refused, by reason.", "reason")
	c.artServed = m.CounterVec("telecart_coordinator_art_total", "Requests for games' pictures, by answer: from the cache, from a worker, none (404), busy (503), failed (502).", "answer")
	m.Gauge("telecart_coordinator_art_cache_bytes", "Bytes of games' pictures in the cache.", func() float64 { return float64(c.art.bytes()) })
	c.pickTime = m.Seconds("telecart_coordinator_pick_seconds", "Time to choose a worker for a new room.")
	c.limits = newLimiter(cfg.Limits, cfg.Now, c.log,
		m.CounterVec("telecart_coordinator_refused_total", "Requests of browsers refused by a limit on what one client may ask for, by limit.", "limit"))
	if l := cfg.Limits; l.Browsers > 0 {
		c.log.Info("coordinator: limits", "sockets_in_all", l.Browsers, "sockets", l.Sockets, "starts_per_minute", l.StartsPerMinute,
			"rooms", l.Rooms, "joins_per_second", l.JoinsPerSecond, "unanswered", l.Unanswered,
			"player_rooms", l.PlayerRooms, "player_unanswered", l.PlayerUnanswered, "trusted_proxies", len(l.TrustedProxies))
	}
	if len(cfg.TURN.URLs) > 0 {
		c.mu.Lock()
		c.turnTimer = c.afterFunc(cfg.TURN.TTL/2, c.renewTURN)
		c.mu.Unlock()
	}
	if len(cfg.NATS) > 0 {
		c.log.Info("coordinator: sharing its state with the others over NATS", "id", id, "servers", len(cfg.NATS))
	}
	openCtx, cancelOpen := context.WithTimeout(ctx, sharedReadTimeout)
	defer cancelOpen()
	if err := c.openShared(openCtx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// renewTURN sends every browser a hello with fresh TURN credentials, and
// schedules the next renewal: a page makes its next peer connection
// (a new game, or a lost one joined anew) with the newest it has.
func (c *Coordinator) renewTURN() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.helloDue = true
	c.roomsChanged()
	c.turnTimer = c.afterFunc(c.cfg.TURN.TTL/2, c.renewTURN)
}

// iceServers are the ICE servers for browser b: the configured ones, and
// the TURN servers with b's own fresh credentials.
func (c *Coordinator) iceServers(b *browserConn) []signal.ICEServer {
	if len(c.cfg.TURN.URLs) == 0 {
		return c.cfg.ICEServers
	}
	cred := turnrest.New(c.cfg.TURN.Secret, b.turnID, c.cfg.Now().Add(c.cfg.TURN.TTL))
	return append(slices.Clip(c.cfg.ICEServers), signal.ICEServer{URLs: c.cfg.TURN.URLs, Username: cred.Username, Credential: cred.Credential})
}

// Close cuts every browser's and worker's connection and waits until
// every goroutine of the coordinator's has returned; from then on it
// refuses new connections with 503. Like a shutdown of the server it is
// served by, it tells nobody: a browser's game plays on, its worker keeps
// the room, and both carry on with the next coordinator. Close may be
// called more than once, and on a coordinator that never served anything.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	first := !c.closed
	if first {
		c.closed = true
		for _, t := range []*time.Timer{c.roomsTimer, c.windowTimer, c.turnTimer} {
			if t != nil && t.Stop() {
				c.running.Done() // its function will not run
			}
		}
		// Like a shutdown, a lost worker's wait tells nobody: its
		// rooms are the next coordinator's, if it dials back.
		for id := range c.lost {
			c.stopGrace(id)
		}
	}
	c.mu.Unlock()
	c.cancel()
	c.running.Wait()
	if first {
		return c.cluster.Close()
	}
	return nil
}

// hold counts a connection's handler for Close to wait for, and reports
// false once Close has begun; the handler calls c.running.Done as it
// returns.
func (c *Coordinator) hold() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.running.Add(1)
	return true
}

// afterFunc runs f after d, unless Close stops it first; Close waits for
// an f that has begun. It returns nil once Close has begun. c.mu is held.
func (c *Coordinator) afterFunc(d time.Duration, f func()) *time.Timer {
	if c.closed {
		return nil
	}
	c.running.Add(1)
	return time.AfterFunc(d, func() {
		defer c.running.Done()
		f()
	})
}

// connContext is the context of one connection's handler: it ends with
// the coordinator (Close), with the server (its BaseContext, the
// request's parent) and when the handler calls stop. Before stop, an
// ended context means a shutdown, not a lost connection.
func (c *Coordinator) connContext(r *http.Request) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(r.Context())
	unlink := context.AfterFunc(c.ctx, cancel)
	return ctx, func() {
		unlink()
		cancel()
	}
}

// closedText refuses a connection once Close has begun.
const closedText = "the coordinator is shutting down"

// Handler serves the web app at /, browsers at /ws, workers at /worker,
// health at /healthz and /readyz, the operator's drain, and, with a
// MetricsToken, the metrics; every response with the security headers
// (secure).
func (c *Coordinator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", c.serveBrowser)
	mux.HandleFunc("GET /worker", c.serveWorker)
	mux.HandleFunc("GET /healthz", c.serveHealth)
	mux.HandleFunc("GET /readyz", c.serveReady)
	if c.cfg.MetricsToken != "" {
		mux.Handle("GET /metrics", metrics.Bearer(c.cfg.MetricsToken, c.metrics.Handler()))
		if c.cfg.WorkerMetrics != nil {
			mux.Handle("GET /worker/metrics", metrics.Bearer(c.cfg.MetricsToken, c.cfg.WorkerMetrics))
		}
	}
	mux.HandleFunc("POST /admin/workers/{id}/drain", c.serveDrain)
	mux.Handle("GET /ping", ping.Handler())
	mux.HandleFunc("GET /art/{id}", c.serveArt)
	if c.cfg.Web != nil {
		files := newStaticFiles(c.cfg.Web)
		mux.Handle("GET /", files)
		// The connectivity check's page (internal/check runs the same steps).
		mux.HandleFunc("GET /check", func(w http.ResponseWriter, r *http.Request) {
			files.ServeFile(w, r, "check.html")
		})
		// A room's link is the app, which reads the room from its URL.
		mux.HandleFunc("GET /r/{room}", func(w http.ResponseWriter, r *http.Request) {
			files.ServeFile(w, r, "index.html")
		})
		// Its controller page too: a phone that is a gamepad for one seat.
		mux.HandleFunc("GET /r/{room}/pad", func(w http.ResponseWriter, r *http.Request) {
			files.ServeFile(w, r, "index.html")
		})
	}
	return secure(mux)
}

// Metrics serves /metrics (and a worker's in the same process at
// /worker/metrics) to anyone: for a listener only the operator reaches.
func (c *Coordinator) Metrics() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", c.metrics.Handler())
	if c.cfg.WorkerMetrics != nil {
		mux.Handle("GET /worker/metrics", c.cfg.WorkerMetrics)
	}
	return mux
}

func (c *Coordinator) serveHealth(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	status := struct {
		Workers  int `json:"workers"`
		Rooms    int `json:"rooms"`
		Sessions int `json:"sessions"`
	}{len(c.workers), len(c.rooms), len(c.sessions)}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(status)
}

// serveReady says whether a new game can start here: at least one worker
// is registered, not draining and not full. A load balancer keeps players
// away from a coordinator that has nowhere to send them.
func (c *Coordinator) serveReady(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	ready := false
	for _, wk := range c.workers {
		ready = ready || (!wk.draining && wk.load() < wk.capacity)
	}
	c.mu.Unlock()
	if !ready {
		http.Error(w, "no worker can take a new game", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// conn is a WebSocket of encoded messages. ctx is its handler's (see
// connContext): a write ends with it.
type conn struct {
	ws  *websocket.Conn
	ctx context.Context
}

// write sends an encoded message.
func (c conn) write(b []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// games is the library of every worker, without duplicates, by title.
func (c *Coordinator) games() []signal.GameInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]int{} // id: its index in games
	var games []signal.GameInfo
	for _, w := range c.workers {
		for _, g := range w.games {
			i, ok := seen[g.ID]
			switch {
			case !ok:
				seen[g.ID] = len(games)
				games = append(games, g)
			case games[i].Art == "":
				games[i] = g // one with a picture, if a worker has one
			}
		}
	}
	sort.Slice(games, func(i, j int) bool { return strings.ToLower(games[i].Title) < strings.ToLower(games[j].Title) })
	return games
}

// pick chooses the worker for a new room of b's and registers the room
// and the session on both sides under one lock, so two browsers cannot
// take the same last place. Among the workers that have the game, are
// not draining and have a free place (the one asked for by hand, if any):
// those of the zone asked for, when one of them can take the room; then
// the one the browser measured fastest; then the least loaded.
func (c *Coordinator) pick(b *browserConn, ref signal.SessionID, req signal.Start, refused []signal.WorkerID) (*workerConn, signal.SessionID, signal.RoomID, error) {
	defer metrics.Since(c.pickTime, time.Now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.limits.allowStart(b.client, req.Player, len(refused) > 0); err != nil {
		return nil, "", "", err
	}
	var open []*workerConn
	var info signal.GameInfo
	hasGame := false
	for _, w := range c.workers {
		g, ok := w.games[req.Game]
		if !ok || (req.Worker != "" && w.id != req.Worker) {
			continue
		}
		if slices.Contains(refused, w.id) {
			hasGame, info = true, g
			continue
		}
		hasGame, info = true, g
		if !w.draining && (w.cpu < c.cfg.Overload || c.cfg.Overload >= 1) && w.load() < w.capacity {
			open = append(open, w)
		}
	}
	switch {
	case len(open) == 0 && hasGame:
		return nil, "", "", errAllBusy
	case len(open) == 0 && req.Worker != "":
		return nil, "", "", errNoSuchWorker
	case len(open) == 0:
		return nil, "", "", errUnknownGame
	}
	if inZone := slices.DeleteFunc(slices.Clone(open), func(w *workerConn) bool { return w.zone != req.Zone }); req.Zone != "" && len(inZone) > 0 {
		open = inZone
	}
	loads := make(map[*workerConn]int, len(open)) // counted once: a worker's load walks its rooms
	for _, w := range open {
		loads[w] = w.load()
	}
	best := slices.MinFunc(open, func(x, y *workerConn) int { return b.compare(x, y, loads) })
	roomID := signal.NewID[signal.RoomID](signal.NameBytes)
	for c.rooms[roomID] != nil || c.ended.game(roomID) != nil {
		roomID = signal.NewID[signal.RoomID](signal.NameBytes)
	}
	r := c.addRoom(best, signal.Listing{ID: roomID, Game: info, Players: 1}, time.Now())
	r.hold = c.limits.take(b.client, req.Player, true)
	id, err := c.addSession(b, ref, r, req.Player, true)
	if err != nil {
		c.removeRoom(roomID)
		return nil, "", "", err
	}
	r.opening = id
	r.start = &pendingStart{req: req, ref: ref, refused: refused}
	return best, id, roomID, nil
}

// pendingStart is the start that opens a room, kept until its worker
// first lists the room: a worker that refuses it as full is left out of
// the next choice, which the coordinator makes itself (startAgain).
type pendingStart struct {
	req signal.Start
	ref signal.SessionID
	// refused are the workers that refused it already.
	refused []signal.WorkerID
}

// maxStartTries bounds the workers one start is sent to: a worker another
// coordinator has just filled refuses it, and the next is likely free.
const maxStartTries = 3

// addSession registers a new session of b's in a room, one whose answer
// to the worker's offer is to come when unanswered (a start, a join; a
// resume's peer is connected already); c.mu is held.
func (c *Coordinator) addSession(b *browserConn, ref signal.SessionID, r *roomEntry, player signal.PlayerID, unanswered bool) (signal.SessionID, error) {
	id := signal.NewID[signal.SessionID](signal.SecretBytes)
	sub, err := c.listen(id)
	if err != nil {
		return "", err
	}
	b.sub = sub
	r.sessions[id] = true
	c.sessions[id] = b
	b.session, b.ref, b.room = id, ref, r
	if unanswered {
		b.unanswered = c.limits.take(b.client, player, false)
	}
	return id, nil
}

// DefaultOverload leaves a worker's machine a tenth for its running rooms'
// peaks.
const DefaultOverload = 0.9

// unmeasured ranks a worker the browser has no latency for after every
// measured one: it may be unreachable from there.
const unmeasured = signal.MaxLatency + 1

// compare orders two workers for b: the lower latency b reported, then
// the lower load, then the id, so that the choice is stable. c.mu is held.
func (b *browserConn) compare(x, y *workerConn, loads map[*workerConn]int) int {
	rtt := func(w *workerConn) float64 {
		if ms, ok := b.latency[w.id]; ok {
			return ms
		}
		return unmeasured
	}
	return cmp.Or(cmp.Compare(rtt(x), rtt(y)), cmp.Compare(loads[x], loads[y]), cmp.Compare(x.id, y.id))
}

// hello is what a browser is told first, and again after a worker came,
// went or changed: the games, the workers to measure, and the ICE
// servers, which the template takes for each browser (iceServers).
func (c *Coordinator) hello() (signal.HelloTemplate, error) {
	h := signal.Hello{Games: c.games()}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.workers {
		h.Workers = append(h.Workers, signal.WorkerInfo{ID: w.id, Zone: w.zone, Ping: w.ping, Rooms: w.load(), Capacity: w.capacity, Draining: w.draining})
	}
	slices.SortFunc(h.Workers, func(a, b signal.WorkerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return signal.NewHelloTemplate(h)
}

// workersChanged schedules the hello every browser is sent when a worker
// came, went or changed: with the live rooms, in order (see broadcastRooms).
func (c *Coordinator) workersChanged() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.helloDue = true
	c.roomsChanged()
}

// bearer is the request's bearer token, "" when it has none.
func bearer(r *http.Request) string {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return got
}

// secretOK says whether the request bears one of the coordinator's
// secrets, compared in constant time, so that none can be guessed byte by
// byte.
func (c *Coordinator) secretOK(r *http.Request) bool {
	got := bearer(r)
	match := 0
	for _, s := range c.cfg.Secrets {
		if s != "" {
			match |= subtle.ConstantTimeCompare([]byte(got), []byte(s))
		}
	}
	return got != "" && match == 1
}

// refuse answers 401 to a request that is not let in, without reading
// its body: the connection is closed after the answer, where net/http
// would otherwise read what is left of the body first (to use the
// connection again), and wait for a body announced and never sent.
func refuse(w http.ResponseWriter, text string) {
	w.Header().Set("Connection", "close")
	w.Header().Set("WWW-Authenticate", "Bearer")
	http.Error(w, text, http.StatusUnauthorized)
}

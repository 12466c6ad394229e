package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/metrics"
	"github.com/telecart/telecart/internal/peer"
	"github.com/telecart/telecart/internal/room"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/workerauth"
)

// Config configures a worker.
type Config struct {
	// ID names the worker to the coordinator; empty picks a random one.
	ID   signal.WorkerID
	Zone string
	// Ping is the URL browsers time their round trip to this worker with
	// (see package ping); empty, they cannot measure it.
	Ping string
	// Capacity is how many rooms it hosts at once; 0 takes it from the
	// machine (MachineCapacity).
	Capacity int
	// Linger is how long a room lives on after its last peer left
	// (default room.DefaultLinger). A new room may take its place sooner.
	Linger time.Duration
	// Saves keeps players' saves; nil keeps none. Autosave is how often a
	// room saves for the player who started it (default room.DefaultAutosave),
	// besides when it ends.
	Saves    *saves.Store
	Autosave time.Duration
	// UploadBudget is how many bytes of save files the worker takes in at
	// once, counted as each upload announces its size (default
	// peer.DefaultUploadBudget); the files wait in UploadDir (default
	// os.TempDir()) as they arrive, and one no byte of which came for
	// UploadStall (default peer.DefaultUploadStall) is dropped.
	UploadBudget int64
	UploadDir    string
	UploadStall  time.Duration
	// MaxSpectators is how many may watch a room besides its players
	// (default room.DefaultMaxSpectators).
	MaxSpectators int
	// Coordinator is the coordinator's worker endpoint, ws://host:port/worker
	// or wss://.
	Coordinator string
	// TLS is the link's TLS configuration for a wss:// coordinator (the
	// roots it trusts); nil, the system's roots.
	TLS *tls.Config
	// Credential authenticates the worker to the coordinator: ID.MAC,
	// made with the coordinator's secret for the worker's id (package
	// workerauth). CredentialFile, when set, holds it instead, and is read
	// anew at every dial: an operator replaces the file to rotate it,
	// and the worker's running games never stop.
	Credential     string
	CredentialFile string
	// MetricsToken opens /metrics on Handler to a bearer of it; empty,
	// Handler serves no metrics (Metrics does, for a private listener).
	MetricsToken string
	// Library is what it can play; CoreDirs where the cores are.
	Library  *library.Library
	CoreDirs []string
	// Runner is the base of every room's runner: video and audio settings,
	// and the command (empty: this executable's `runner`).
	Runner runner.Options
	// RunAhead chooses each game's run-ahead; the zero value is off.
	RunAhead runner.RunAheadPolicy
	// RunnerPool is how many runners the worker keeps started ahead of
	// need while Run runs (runner.Pool), never more than its places left
	// free; 0 starts each room's runner when the room opens.
	RunnerPool int
	ICE        peer.ICEConfig
	// ICEServers are STUN/TURN servers for the worker's own connections.
	ICEServers []webrtc.ICEServer
	Logger     *slog.Logger
}

// Backoff between attempts to reach the coordinator.
const (
	minRedial = 500 * time.Millisecond
	// maxRedial keeps a worker back within coordinator.DefaultRejoinWindow
	// of its coordinator's restart, however long it was away.
	maxRedial = 10 * time.Second
	// heartbeatInterval is well inside the coordinator's 5 s: a worker
	// that is gone must be seen to be gone within it.
	heartbeatInterval = time.Second
)

// Worker hosts rooms for the browsers a coordinator sends it. It keeps
// the registry of its rooms and of the sessions in them, by the ids the
// coordinator routes by, and its link to the coordinator; each room owns
// the rest of its state.
type Worker struct {
	cfg Config
	api *webrtc.API
	// closeICEPort closes the one UDP port of cfg.ICE.UDPPort, once Run's
	// rooms and checks, whose connections use it, are gone.
	closeICEPort func() error
	log          *slog.Logger

	metrics  *metrics.Registry
	observer *observer
	// uploads is the allowance every room's peers share for save files
	// on their way in.
	uploads *peer.Uploads

	beat    chan struct{}  // a heartbeat wanted now, not at the next tick
	drained chan struct{}  // closed once draining and no room is left
	rooms   sync.WaitGroup // each room's Run

	mu       sync.Mutex
	draining bool
	link     *link // to the coordinator; nil while there is none
	sessions map[signal.SessionID]*room.Session
	hosted   map[signal.RoomID]*room.Room
	// checks are the connectivity check's test connections, by session id
	// (check.go); checking counts their goroutines.
	checks   map[signal.SessionID]*checkConn
	checking sync.WaitGroup
	// pool holds runners started ahead of need; Run makes it, before any
	// room can open, and closes it once its rooms are gone. Nil without
	// Config.RunnerPool.
	pool *runner.Pool
	// captured are the versions of the pictures captured of games without
	// art, by game id (art.go); pictures counts the goroutines that read
	// or keep pictures.
	captured map[string]string
	pictures sync.WaitGroup
	// unzipped is the folder the ROMs of zipped games are unpacked into
	// (library.Unzip); Run makes it, and removes it as it returns.
	unzipped string
}

// New makes a worker; Run connects it.
func New(cfg Config) (*Worker, error) {
	if cfg.Capacity < 0 {
		return nil, fmt.Errorf("worker: capacity %d: want 0 (from the machine) or more", cfg.Capacity)
	}
	if cfg.Library == nil {
		return nil, errors.New("worker: no library")
	}
	if cfg.ID == "" && (cfg.Credential != "" || cfg.CredentialFile != "") {
		// The credential names the worker.
		cred, err := readCredential(cfg)
		if err != nil {
			return nil, err
		}
		if cfg.ID, err = workerauth.ID(cred); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	if cfg.ID == "" {
		cfg.ID = "worker-" + signal.NewID[signal.WorkerID](signal.NameBytes)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Capacity == 0 {
		n, err := MachineCapacity()
		if err != nil {
			return nil, fmt.Errorf("%w; set capacity", err)
		}
		cfg.Capacity = n
		log.Info("worker: capacity from the machine", "rooms", n, "rooms_per_core", RoomsPerCore, "room_memory_mib", RoomMemory>>20)
	}
	if cfg.RunnerPool < 0 || cfg.RunnerPool > cfg.Capacity {
		return nil, fmt.Errorf("worker: runner pool %d: want 0 to the capacity, %d", cfg.RunnerPool, cfg.Capacity)
	}
	codec := cfg.Runner.Config.Video.Codec
	if codec == "" {
		codec = runner.DefaultCodec
	}
	api, closeICEPort, err := peer.NewAPI(codec, cfg.ICE)
	if err != nil {
		return nil, err
	}
	w := &Worker{
		cfg: cfg, api: api, closeICEPort: closeICEPort, log: log.With("worker", cfg.ID),
		sessions: map[signal.SessionID]*room.Session{}, hosted: map[signal.RoomID]*room.Room{},
		checks: map[signal.SessionID]*checkConn{}, captured: map[string]string{},
		uploads: &peer.Uploads{Dir: cfg.UploadDir, Budget: cfg.UploadBudget, Stall: cfg.UploadStall},
		beat:    make(chan struct{}, 1), drained: make(chan struct{}),
	}
	w.registerMetrics()
	return w, nil
}

// Run keeps the worker connected to its coordinator until ctx ends, dialling
// again with backoff whenever the link drops. Rooms outlive a dropped link;
// they all end when Run returns. A drained worker's Run returns nil. Run
// is called once: when it returns, the worker's UDP port is closed.
func (w *Worker) Run(ctx context.Context) error {
	defer func() {
		if err := w.closeICEPort(); err != nil {
			w.log.Warn("worker: closing the ICE UDP port", "err", err)
		}
	}()
	// The ROMs of zipped games, unpacked for the cores, for as long as the
	// worker runs.
	unzipped, err := os.MkdirTemp("", "telecart-unzipped-")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer os.RemoveAll(unzipped)
	w.mu.Lock()
	w.unzipped = unzipped
	w.mu.Unlock()
	if w.cfg.RunnerPool > 0 {
		pool := runner.NewPool(runner.PoolConfig{Size: w.cfg.RunnerPool, Options: w.runnerBase(), Free: w.freePlaces, Read: w.gameFolders()})
		w.mu.Lock()
		w.pool = pool
		w.mu.Unlock()
		// After closeAll (deferred below, so run before this): a room
		// still booting may yet take a runner from it.
		defer pool.Close()
	}
	// The rooms' contexts derive from ctx, but the worker ends them, each
	// with its reason, once its link is down (closeAll): a room cancelled
	// with ctx itself could tell the coordinator it closed while the link
	// was still up, and its players would never hear why their game ended
	// (the coordinator tells them when the worker's link drops).
	defer w.pictures.Wait() // once the rooms, which take pictures, are gone
	rooms, endRooms := context.WithCancel(context.WithoutCancel(ctx))
	defer endRooms()
	defer w.closeAll()
	ctx, cancel := context.WithCancel(ctx)
	watcher := make(chan struct{})
	defer func() {
		cancel()
		<-watcher
	}()
	go func() {
		defer close(watcher)
		select {
		case <-w.drained:
			w.log.Info("worker: drained: every room has ended")
			cancel()
		case <-ctx.Done():
		}
	}()
	w.findCaptured(ctx)
	backoff := minRedial
	for {
		connected, err := w.serve(ctx, rooms)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = minRedial
		}
		if why := explainDial(err); why != "" {
			// The operator's to fix: said in their words, at every try.
			w.log.Error("worker: "+why+"; dialling again", "url", w.cfg.Coordinator, "err", err, "in", backoff)
		} else {
			w.log.Warn("worker: coordinator link down; dialling again", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxRedial)
	}
}

// readCredential is the worker's credential: its file's, when it has
// one, read now.
func readCredential(cfg Config) (string, error) {
	if cfg.CredentialFile == "" {
		return cfg.Credential, nil
	}
	b, err := os.ReadFile(cfg.CredentialFile)
	if err != nil {
		return "", fmt.Errorf("worker: the credential's file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// credential is the credential to dial with now, checked to name this
// worker: a credential for another id would be refused by the
// coordinator, in words the operator would have to find in its log.
func (w *Worker) credential() (string, error) {
	cred, err := readCredential(w.cfg)
	if err != nil {
		return "", err
	}
	id, err := workerauth.ID(cred)
	if err != nil {
		return "", &credentialError{file: w.cfg.CredentialFile, err: err}
	}
	if id != w.cfg.ID {
		return "", &credentialError{file: w.cfg.CredentialFile, err: fmt.Errorf("it is worker %s's, and this worker is %s", id, w.cfg.ID)}
	}
	return cred, nil
}

// link is one connection to the coordinator.
type link struct {
	conn *websocket.Conn
}

func (l *link) send(ctx context.Context, session signal.SessionID, p signal.Payload) error {
	b, err := signal.Encode(session, p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return l.conn.Write(ctx, websocket.MessageText, b)
}

// serve runs one connection to the coordinator until ctx ends; connected
// reports whether it got as far as registering. The rooms it opens take
// their context from rooms, and outlive the link.
func (w *Worker) serve(ctx, rooms context.Context) (connected bool, err error) {
	cred, err := w.credential()
	if err != nil {
		return false, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A transport of this dial's own: its connections, even one that
	// answered no upgrade, go with it.
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: w.cfg.TLS, TLSHandshakeTimeout: 10 * time.Second}
	defer transport.CloseIdleConnections()
	conn, resp, err := websocket.Dial(dialCtx, w.cfg.Coordinator, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: transport},
		HTTPHeader: http.Header{"Authorization": []string{"Bearer " + cred}},
	})
	if err != nil {
		return false, &dialError{url: w.cfg.Coordinator, resp: resp, err: err}
	}
	defer conn.CloseNow()
	conn.SetReadLimit(signal.MaxMessage)
	l := &link{conn: conn}
	// Registering and taking the link up happen under one lock, so no
	// listing can slip between the rooms the registration names and the
	// link that carries their changes.
	w.mu.Lock()
	reg := signal.Register{ID: w.cfg.ID, Zone: w.cfg.Zone, Capacity: w.cfg.Capacity, Games: w.infos(), Ping: w.cfg.Ping}
	for _, r := range w.hosted {
		reg.Rooms = append(reg.Rooms, r.Listing(false))
	}
	err = l.send(ctx, "", reg)
	if err == nil {
		w.link = l
	}
	w.mu.Unlock()
	if err != nil {
		return false, fmt.Errorf("register: %w", err)
	}
	defer func() {
		w.mu.Lock()
		if w.link == l {
			w.link = nil
		}
		w.mu.Unlock()
	}()
	w.log.Info("worker: connected to coordinator", "url", w.cfg.Coordinator, "games", len(w.cfg.Library.Games()), "capacity", w.cfg.Capacity)

	linkCtx, cancelLink := context.WithCancel(ctx)
	var beats sync.WaitGroup
	defer func() {
		cancelLink()
		beats.Wait()
	}()
	beats.Add(1)
	go func() {
		defer beats.Done()
		tick := time.NewTicker(heartbeatInterval)
		defer tick.Stop()
		var cpu cpuMeter
		smooth := 0.0
		for {
			select {
			case <-linkCtx.Done():
				return
			case <-tick.C:
			case <-w.beat:
			}
			load, err := cpu.read()
			if err != nil {
				w.log.Debug("worker: cpu load", "err", err)
			}
			// A moving average over about five heartbeats: a busy moment is
			// no reason to turn players away, a busy machine is.
			smooth += (load - smooth) / 5
			w.mu.Lock()
			hb := signal.Heartbeat{Rooms: len(w.hosted), CPU: smooth, Draining: w.draining}
			w.mu.Unlock()
			if err := l.send(linkCtx, "", hb); err != nil {
				conn.CloseNow()
				return
			}
		}
	}()

	for {
		_, b, err := conn.Read(linkCtx)
		if err != nil {
			return true, err
		}
		m, p, err := signal.Decode(b)
		if err != nil {
			w.log.Warn("worker: bad message from coordinator", "err", err)
			continue
		}
		w.handle(rooms, m.Session, p)
	}
}

// Send sends a message through the current link to the coordinator: the
// worker is its rooms' room.Sender.
func (w *Worker) Send(session signal.SessionID, p signal.Payload) error {
	w.mu.Lock()
	l := w.link
	w.mu.Unlock()
	if l == nil {
		return errNoLink
	}
	return l.send(context.Background(), session, p) // bounded by send's own timeout
}

var errNoLink = errors.New("worker: not connected to the coordinator")

func (w *Worker) roomCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.hosted)
}

// Room is a room the worker hosts, or nil.
func (w *Worker) Room(id signal.RoomID) *room.Room {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hosted[id]
}

func (w *Worker) handle(ctx context.Context, id signal.SessionID, p signal.Payload) {
	switch p := p.(type) {
	case signal.Drain:
		w.Drain()
		return
	case signal.ArtChanged:
		w.learnPicture(p)
		return
	}
	if id == "" {
		w.log.Warn("worker: message without session", "type", p.Type())
		return
	}
	switch p := p.(type) {
	case signal.Start:
		w.start(ctx, id, p)
		return
	case signal.Join:
		w.join(id, p)
		return
	case signal.Resume:
		w.resume(id, p)
		return
	case signal.Check:
		w.startCheck(ctx, id)
		return
	case signal.ArtRequest:
		w.answerArt(ctx, id, p)
		return
	}
	if w.checkMessage(id, p) {
		return
	}
	w.mu.Lock()
	s := w.sessions[id]
	_, quit := p.(signal.Quit)
	if quit && s != nil {
		delete(w.sessions, id)
	}
	w.mu.Unlock()
	switch {
	case s == nil:
		w.log.Debug("worker: message for an unknown session", "session", id, "type", p.Type())
	case quit:
		s.Quit()
	default:
		s.Handle(p)
	}
}

// start opens a room for a game, with the session as its first member in
// slot 1.
func (w *Worker) start(ctx context.Context, id signal.SessionID, req signal.Start) {
	game, ok := w.cfg.Library.Lookup(req.Game)
	if !ok {
		w.refuse(id, signal.Error{Code: signal.CodeUnknownGame, Message: "This server does not have that game."})
		return
	}
	roomID := req.Room
	if roomID == "" {
		roomID = signal.NewID[signal.RoomID](signal.NameBytes)
	}
	params, err := w.roomParams(ctx, roomID, game, req)
	if err != nil {
		w.log.Error("worker: cannot host game", "game", game.ID, "err", err)
		w.refuse(id, signal.Error{Code: signal.CodeGameFailed, Message: "This server cannot play that game.", Game: &game.GameInfo})
		return
	}
	w.mu.Lock()
	refusal, idle := w.placeFor(id, roomID)
	if refusal != nil {
		w.mu.Unlock()
		w.refuse(id, *refusal)
		return
	}
	r, err := room.New(ctx, params)
	if err != nil {
		w.mu.Unlock()
		w.log.Error("worker: cannot host game", "game", game.ID, "err", err)
		w.refuse(id, signal.Error{Code: signal.CodeGameFailed, Message: "This server cannot play that game.", Game: &game.GameInfo})
		return
	}
	if idle != nil {
		// Its place is the new room's from now on; it ends below, once
		// the worker's lock is free for it.
		delete(w.hosted, idle.ID())
	}
	w.hosted[roomID] = r
	s, err := r.Admit(id, room.Guest{Nick: req.Nick, Player: req.Player, Slot: 1})
	if err == nil {
		w.sessions[id] = s
	}
	w.mu.Unlock()
	if idle != nil {
		idle.End("The room made way for a new game.")
	}
	w.rooms.Go(r.Run)
	if err != nil {
		r.End("The room could not be opened.")
		w.log.Error("worker: first member", "err", err)
		w.refuse(id, signal.Error{Code: signal.CodeInternal, Message: "The server could not open the room."})
		return
	}
	w.log.Info("worker: room opened", "room", roomID, "game", game.ID, "private", req.Private, "crowd", req.Crowd)
}

// placeFor says why a new room cannot open, or finds it a place, naming
// the empty room that must make way for it: a room kept for someone who
// may come back must not turn away someone who is here. w.mu is held.
func (w *Worker) placeFor(id signal.SessionID, roomID signal.RoomID) (refusal *signal.Error, idle *room.Room) {
	_, taken := w.sessions[id]
	_, dup := w.hosted[roomID]
	switch {
	case taken:
		return &signal.Error{Code: signal.CodeBadRequest, Message: "The session is already running."}, nil
	case w.draining:
		return &signal.Error{Code: signal.CodeNoWorker, Message: "This server is closing: it takes no new games."}, nil
	case dup:
		return &signal.Error{Code: signal.CodeBadRequest, Message: "That room already exists."}, nil
	case len(w.hosted) < w.cfg.Capacity:
		return nil, nil
	}
	for _, r := range w.hosted {
		if r.Empty() && (idle == nil || r.Created().Before(idle.Created())) {
			idle = r
		}
	}
	if idle == nil {
		return &signal.Error{Code: signal.CodeNoWorker, Message: "This server is full: every room it can host is in use."}, nil
	}
	return nil, idle
}

// join adds the session to a running room, watching.
func (w *Worker) join(id signal.SessionID, req signal.Join) {
	w.mu.Lock()
	r := w.hosted[req.Room]
	_, taken := w.sessions[id]
	var s *room.Session
	var err error
	if r != nil && !taken {
		if s, err = r.Admit(id, room.Guest{Nick: req.Nick, Player: req.Player, Controller: req.Controller}); err == nil {
			w.sessions[id] = s
		}
	}
	w.mu.Unlock()
	switch {
	case taken:
		w.refuse(id, signal.Error{Code: signal.CodeBadRequest, Message: "The session is already running."})
	case r == nil:
		w.refuse(id, signal.Error{Code: signal.CodeRoomEnded, Message: "This room has ended."})
	case err != nil:
		w.log.Info("worker: join refused", "room", req.Room, "session", id, "err", err)
		refusal := room.JoinRefusal(err)
		if refusal.Code == signal.CodeRoomEnded {
			refusal.Game = gameOf(r)
		}
		w.refuse(id, refusal)
	}
}

// resume gives a session whose browser lost its socket (the coordinator
// restarted, say) the id of the browser's new connection, and tells it the
// room's state. Its peer connection, and the game on it, never stopped.
func (w *Worker) resume(id signal.SessionID, req signal.Resume) {
	w.mu.Lock()
	r := w.hosted[req.Room]
	if r == nil {
		w.mu.Unlock()
		w.refuse(id, signal.Error{Code: signal.CodeRoomEnded, Message: "This room has ended."})
		return
	}
	s, ok := r.Session(req.Token)
	if !ok {
		w.mu.Unlock()
		w.refuse(id, signal.Error{Code: signal.CodeNoSession, Message: "That session is over; join the room again.", Game: gameOf(r)})
		return
	}
	if _, taken := w.sessions[id]; taken {
		w.mu.Unlock()
		w.refuse(id, signal.Error{Code: signal.CodeBadRequest, Message: "The session is already running."})
		return
	}
	if old := s.ID(); w.sessions[old] == s {
		delete(w.sessions, old)
	}
	s.Resume(id) // under w.mu: the session's id and the worker's key change together
	w.sessions[id] = s
	w.mu.Unlock()
	s.SendState()
}

// refuse answers a request that opened no session.
func (w *Worker) refuse(id signal.SessionID, e signal.Error) {
	if err := w.Send(id, e); err != nil {
		w.log.Warn("worker: send error", "err", err)
	}
}

// roomEnded frees an ended room's place: a browser told its game ended
// must find the place free when it starts again.
func (w *Worker) roomEnded(r *room.Room) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hosted[r.ID()] == r {
		delete(w.hosted, r.ID())
	}
	w.checkDrained()
	if w.pool != nil {
		w.pool.Refill() // a place came free
	}
}

// sessionEnded forgets a session that is over.
func (w *Worker) sessionEnded(s *room.Session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id := s.ID(); w.sessions[id] == s {
		delete(w.sessions, id)
	}
}

// Drain takes no new rooms from now on, tells the coordinator at once,
// and makes Run return once the rooms there are have ended: a worker
// leaves without ending anyone's game.
func (w *Worker) Drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.draining {
		return
	}
	w.draining = true
	w.log.Info("worker: draining: no new rooms; the running ones play on", "rooms", len(w.hosted))
	select {
	case w.beat <- struct{}{}:
	default:
	}
	w.checkDrained()
}

// checkDrained ends a drain once no room is left; w.mu is held.
func (w *Worker) checkDrained() {
	if w.draining && len(w.hosted) == 0 {
		select {
		case <-w.drained:
		default:
			close(w.drained)
		}
	}
}

// closeAll ends every room and check connection and waits until they are
// gone.
func (w *Worker) closeAll() {
	w.endChecks()
	w.mu.Lock()
	rooms := make([]*room.Room, 0, len(w.hosted))
	for _, r := range w.hosted {
		rooms = append(rooms, r)
	}
	w.mu.Unlock()
	for _, r := range rooms {
		r.End("The server is shutting down.")
	}
	w.rooms.Wait()
}

// runnerBase is what every runner of the worker starts with.
func (w *Worker) runnerBase() runner.Options {
	opts := w.cfg.Runner
	if opts.Logger == nil {
		opts.Logger = w.log
	}
	return opts
}

// gameFolders are the folders of every core and game the worker may run:
// what a runner waiting in its pool is confined to before its game is
// known.
func (w *Worker) gameFolders() []string {
	var dirs []string
	for _, s := range cores.Systems() {
		if core, err := s.Find(w.cfg.CoreDirs); err == nil {
			dirs = append(dirs, filepath.Dir(core))
		}
	}
	for _, g := range w.cfg.Library.Games() {
		dirs = append(dirs, filepath.Dir(g.Path))
	}
	w.mu.Lock()
	if w.unzipped != "" {
		dirs = append(dirs, w.unzipped)
	}
	w.mu.Unlock()
	slices.Sort(dirs)
	return slices.Compact(dirs)
}

// freePlaces is how many more rooms the worker could open now: the most
// runners its pool may hold, so that the runners never outnumber its
// places.
func (w *Worker) freePlaces() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.draining {
		return 0
	}
	return w.cfg.Capacity - len(w.hosted)
}

// roomParams builds the room for a game from the worker's settings.
func (w *Worker) roomParams(ctx context.Context, id signal.RoomID, game library.Game, req signal.Start) (room.Params, error) {
	system, err := cores.ForFile(game.File())
	if err != nil {
		return room.Params{}, err
	}
	core, err := system.Find(w.cfg.CoreDirs)
	if err != nil {
		return room.Params{}, err
	}
	opts := w.cfg.Runner
	opts.Config.Core = core
	opts.Config.Game = game.Path
	opts.Config.RunAhead = w.cfg.RunAhead.For(system, game.Path)
	w.mu.Lock()
	pool, unzipped := w.pool, w.unzipped
	w.mu.Unlock()
	var unpack func() (string, error)
	if game.Entry != "" {
		unpack = func() (string, error) { return library.Unzip(game, unzipped) }
	}
	return room.Params{
		ID: id, Game: game, Runner: opts, Unpack: unpack, Pool: pool, Private: req.Private, Crowd: req.Crowd, Owner: req.Player,
		Linger: w.cfg.Linger, Autosave: w.cfg.Autosave, Saves: w.cfg.Saves, Uploads: w.uploads,
		MaxSpectators: w.cfg.MaxSpectators,
		API:           w.api, ICEServers: w.cfg.ICEServers, Sender: w,
		OnEnd: w.roomEnded, OnSessionEnd: w.sessionEnded, OnPicture: w.onPicture(ctx, game),
		Observer: w.observer, Logger: w.log,
	}, nil
}

// gameOf is a room's game, for a refusal that offers it afresh.
func gameOf(r *room.Room) *signal.GameInfo {
	g := r.Game().GameInfo
	return &g
}

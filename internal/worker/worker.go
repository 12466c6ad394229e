package worker

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/metrics"
	"github.com/telecart/telecart/internal/room"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// Config configures a worker.
type Config struct {
	// ID names the worker to the coordinator; empty picks a random one.
	ID   signal.WorkerID
	Zone string
	// Ping is the URL browsers time their round trip to this worker with
	// (see package ping); empty, they cannot measure it.
	Ping string
	// Capacity is how many rooms it hosts at once.
	Capacity int
	// Linger is how long a room lives on after its last peer left
	// (default DefaultLinger). A new room may take its place sooner.
	Linger time.Duration
	// Saves keeps players' saves; nil keeps none. Autosave is how often a
	// room saves for the player who started it (default DefaultAutosave),
	// besides when it ends.
	Saves    *saves.Store
	Autosave time.Duration
	// Coordinator is the coordinator's worker endpoint, ws://host:port/worker.
	Coordinator string
	// Token authenticates the worker to the coordinator.
	Token string
	// Library is what it can play; CoreDirs where the cores are.
	Library  *library.Library
	CoreDirs []string
	// Runner is the base of every room's runner: video and audio settings,
	// and the command (empty: this executable's `runner`).
	Runner runner.Options
	ICE    ICEConfig
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

// Worker hosts rooms for the browsers a coordinator sends it.
type Worker struct {
	cfg Config
	api *webrtc.API
	log *slog.Logger

	metrics  *metrics.Registry
	observer *observer

	beat    chan struct{} // a heartbeat wanted now, not at the next tick
	drained chan struct{} // closed once draining and no room is left

	mu       sync.Mutex
	draining bool
	link     *link // to the coordinator; nil while there is none
	sessions map[signal.SessionID]*session
	rooms    map[signal.RoomID]*hosted
	wg       sync.WaitGroup // session and room goroutines
}

// New makes a worker; Run connects it.
func New(cfg Config) (*Worker, error) {
	if cfg.Capacity < 1 {
		return nil, fmt.Errorf("worker: capacity %d: want at least 1", cfg.Capacity)
	}
	if cfg.Library == nil {
		return nil, errors.New("worker: no library")
	}
	if cfg.ID == "" {
		cfg.ID = "worker-" + signal.NewID[signal.WorkerID](signal.NameBytes)
	}
	if cfg.Linger <= 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.Autosave <= 0 {
		cfg.Autosave = DefaultAutosave
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	codec := cfg.Runner.Config.Video.Codec
	if codec == "" {
		codec = runner.DefaultCodec
	}
	api, err := newAPI(codec, cfg.ICE)
	if err != nil {
		return nil, err
	}
	w := &Worker{
		cfg: cfg, api: api, log: log.With("worker", cfg.ID),
		sessions: map[signal.SessionID]*session{}, rooms: map[signal.RoomID]*hosted{},
		beat: make(chan struct{}, 1), drained: make(chan struct{}),
	}
	w.registerMetrics()
	return w, nil
}

// Run keeps the worker connected to its coordinator until ctx ends, dialling
// again with backoff whenever the link drops. Rooms outlive a dropped link;
// they all end when Run returns.
// A drained worker's Run returns nil.
func (w *Worker) Run(ctx context.Context) error {
	defer w.closeAll()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.drained:
			w.log.Info("worker: drained: every room has ended")
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := minRedial
	for {
		connected, err := w.serve(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = minRedial
		}
		w.log.Warn("worker: coordinator link down; dialling again", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxRedial)
	}
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

// serve runs one connection to the coordinator; connected reports whether
// it got as far as registering.
func (w *Worker) serve(ctx context.Context) (connected bool, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, w.cfg.Coordinator, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": []string{"Bearer " + w.cfg.Token}},
	})
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", w.cfg.Coordinator, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(signal.MaxMessage)
	l := &link{conn: conn}
	// Registering and taking the link up happen under one lock, so no
	// listing can slip between the rooms the registration names and the
	// link that carries their changes.
	w.mu.Lock()
	reg := signal.Register{ID: w.cfg.ID, Zone: w.cfg.Zone, Capacity: w.cfg.Capacity, Games: w.cfg.Library.Infos(), Ping: w.cfg.Ping}
	for _, h := range w.rooms {
		reg.Rooms = append(reg.Rooms, h.listing(false))
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

	ctx, cancelLink := context.WithCancel(ctx)
	defer cancelLink()

	go func() {
		tick := time.NewTicker(heartbeatInterval)
		defer tick.Stop()
		var cpu cpuMeter
		smooth := 0.0
		for {
			select {
			case <-ctx.Done():
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
			hb := signal.Heartbeat{Rooms: len(w.rooms), CPU: smooth, Draining: w.draining}
			w.mu.Unlock()
			if err := l.send(ctx, "", hb); err != nil {
				conn.CloseNow()
				return
			}
		}
	}()

	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return true, err
		}
		m, p, err := signal.Decode(b)
		if err != nil {
			w.log.Warn("worker: bad message from coordinator", "err", err)
			continue
		}
		w.handle(m.Session, p)
	}
}

// send sends a message through the current link to the coordinator.
func (w *Worker) send(session signal.SessionID, p signal.Payload) error {
	w.mu.Lock()
	l := w.link
	w.mu.Unlock()
	if l == nil {
		return errNoLink
	}
	return l.send(context.Background(), session, p)
}

var errNoLink = errors.New("worker: not connected to the coordinator")

// sendListing tells the coordinator about a room. Without a link it is
// dropped: registering again lists every room as it is then.
func (w *Worker) sendListing(l signal.Listing) {
	if err := w.send("", l); err != nil && !errors.Is(err, errNoLink) {
		w.log.Warn("worker: send listing", "room", l.ID, "err", err)
	}
}

func (w *Worker) roomCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.rooms)
}

func (w *Worker) handle(id signal.SessionID, p signal.Payload) {
	if _, ok := p.(signal.Drain); ok {
		w.Drain()
		return
	}
	if id == "" {
		w.log.Warn("worker: message without session", "type", p.Type())
		return
	}
	switch p := p.(type) {
	case signal.Start:
		w.start(id, p)
		return
	case signal.Join:
		w.join(id, p)
		return
	case signal.Resume:
		w.resume(id, p)
		return
	}
	w.mu.Lock()
	s := w.sessions[id]
	if _, quit := p.(signal.Quit); quit && s != nil {
		// The peer is out of the room the moment it says so: the
		// coordinator already counts it out, and a player who quits and
		// starts another game at once must find the room's place free
		// (an empty room gives its place to a new one).
		w.leave(s)
		s.quit()
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	if s == nil {
		w.log.Debug("worker: message for an unknown session", "session", id, "type", p.Type())
		return
	}
	s.handle(p)
}

var errRoomOver = errors.New("worker: the room has ended")

// start opens a room for a game, with the session as its first member in
// slot 1.
func (w *Worker) start(id signal.SessionID, req signal.Start) {
	game, ok := w.cfg.Library.Lookup(req.Game)
	if !ok {
		w.refuse(id, signal.Error{Code: signal.CodeUnknownGame, Message: "This server does not have that game."})
		return
	}
	roomID := signal.RoomID(req.Room)
	if roomID == "" {
		roomID = signal.NewID[signal.RoomID](signal.NameBytes)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkNewSession(id); err != nil {
		w.refuse(id, signal.Error{Code: signal.CodeBadRequest, Message: err.Error()})
		return
	}
	if w.draining {
		w.refuse(id, signal.Error{Code: signal.CodeNoWorker, Message: "This server is closing: it takes no new games."})
		return
	}
	if _, dup := w.rooms[roomID]; dup {
		w.refuse(id, signal.Error{Code: signal.CodeBadRequest, Message: "That room already exists."})
		return
	}
	if !w.makeRoom() {
		w.refuse(id, signal.Error{Code: signal.CodeNoWorker, Message: "This server is full: every room it can host is in use."})
		return
	}
	h, err := w.newHosted(roomID, game, req)
	if err != nil {
		w.log.Error("worker: cannot host game", "game", game.ID, "err", err)
		w.refuse(id, signal.Error{Code: signal.CodeGameFailed, Message: "This server cannot play that game.", Game: &game.GameInfo})
		return
	}
	s := newSession(w, id, req.Player)
	if err := h.admit(s, req.Nick, 1); err != nil {
		h.end()
		w.log.Error("worker: first member", "err", err)
		w.refuse(id, signal.Error{Code: signal.CodeInternal, Message: "The server could not open the room."})
		return
	}
	h.log.Info("worker: room opened", "private", req.Private, "crowd", req.Crowd)
	w.rooms[roomID] = h
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		h.run()
	}()
	w.runSession(s)
}

// join adds the session to a running room, watching.
func (w *Worker) join(id signal.SessionID, req signal.Join) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkNewSession(id); err != nil {
		w.refuse(id, signal.Error{Code: signal.CodeBadRequest, Message: err.Error()})
		return
	}
	h := w.rooms[signal.RoomID(req.Room)]
	if h == nil {
		w.refuse(id, signal.Error{Code: signal.CodeRoomEnded, Message: "This room has ended."})
		return
	}
	s := newSession(w, id, req.Player)
	if err := h.admit(s, req.Nick, 0); err != nil {
		w.refuse(id, signal.Error{Code: signal.CodeRoomEnded, Message: "This room has ended.", Game: &h.game.GameInfo})
		return
	}
	w.runSession(s)
}

// resume gives a session whose browser lost its socket (the coordinator
// restarted, say) the id of the browser's new connection, and tells it the
// room's state. Its peer connection, and the game on it, never stopped.
func (w *Worker) resume(id signal.SessionID, req signal.Resume) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.rooms[signal.RoomID(req.Room)]
	if h == nil {
		w.refuse(id, signal.Error{Code: signal.CodeRoomEnded, Message: "This room has ended."})
		return
	}
	var s *session
	for _, m := range h.members {
		if subtle.ConstantTimeCompare([]byte(m.token), []byte(req.Token)) == 1 {
			s = m
		}
	}
	if s == nil {
		w.refuse(id, signal.Error{Code: signal.CodeNoSession, Message: "That session is over; join the room again.", Game: &h.game.GameInfo})
		return
	}
	if _, taken := w.sessions[id]; taken {
		w.refuse(id, signal.Error{Code: signal.CodeBadRequest, Message: "The session is already running."})
		return
	}
	delete(w.sessions, s.id)
	delete(h.members, s.id)
	s.mu.Lock()
	s.id = id
	s.mu.Unlock()
	w.sessions[id] = s
	h.members[id] = s
	s.log.Info("worker: session resumed", "as", id)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		s.send(h.state(s)) // the browser is back: where things stand
	}()
}

// refuse answers a request that opened no session. It is called with
// w.mu held, and sends from its own goroutine: the link's writes must
// not hold up the worker.
func (w *Worker) refuse(id signal.SessionID, e signal.Error) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := w.send(id, e); err != nil {
			w.log.Warn("worker: send error", "err", err)
		}
	}()
}

// checkNewSession refuses a session id in use; w.mu is held.
func (w *Worker) checkNewSession(id signal.SessionID) error {
	if _, dup := w.sessions[id]; dup {
		return errors.New("The session is already running.")
	}
	return nil
}

// makeRoom says whether a new room fits, closing a room with nobody in
// it when that makes the place: a room kept for someone who may come back
// must not turn away someone who is here. w.mu is held.
func (w *Worker) makeRoom() bool {
	if len(w.rooms) < w.cfg.Capacity {
		return true
	}
	var idle *hosted
	for _, h := range w.rooms {
		if len(h.members) == 0 && (idle == nil || h.created.Before(idle.created)) {
			idle = h
		}
	}
	if idle == nil {
		return false
	}
	idle.log.Info("worker: closing an empty room to make place for a new one")
	idle.close("The room made way for a new game.")
	return true
}

// runSession starts a session's goroutine; w.mu is held.
func (w *Worker) runSession(s *session) {
	s.log = s.log.With("room", s.host.room.ID(), "member", s.member)
	w.sessions[s.id] = s
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		final := s.run()
		// Out of the room before anyone hears of it: a browser told its
		// game ended must find its place free when it starts again.
		w.mu.Lock()
		w.leave(s)
		w.mu.Unlock()
		if final != nil {
			s.send(final)
		}
	}()
}

// leave takes a session out of the worker and its room; w.mu is held.
func (w *Worker) leave(s *session) {
	if w.sessions[s.id] == s {
		delete(w.sessions, s.id)
	}
	s.host.dismiss(s)
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
	w.log.Info("worker: draining: no new rooms; the running ones play on", "rooms", len(w.rooms))
	select {
	case w.beat <- struct{}{}:
	default:
	}
	w.checkDrained()
}

// checkDrained ends a drain once no room is left; w.mu is held.
func (w *Worker) checkDrained() {
	if w.draining && len(w.rooms) == 0 {
		select {
		case <-w.drained:
		default:
			close(w.drained)
		}
	}
}

// closeRoom ends a room; see hosted.close.
func (w *Worker) closeRoom(h *hosted, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h.close(reason)
}

func (w *Worker) closeAll() {
	w.mu.Lock()
	for _, s := range w.sessions {
		s.quit()
	}
	for _, h := range w.rooms {
		h.close("The server is shutting down.")
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// roomParams builds the room for a game from the worker's runner settings.
func (w *Worker) roomParams(id signal.RoomID, game library.Game, crowd bool) (room.Params, error) {
	system, err := cores.ForFile(game.Path)
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
	return room.Params{ID: id, Runner: opts, Crowd: crowd, Logger: w.log, Observer: w.observer}, nil
}

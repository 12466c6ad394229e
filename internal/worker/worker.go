package worker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
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
	"github.com/telecart/telecart/internal/room"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/signal"
)

// Config configures a worker.
type Config struct {
	// ID names the worker to the coordinator; empty picks a random one.
	ID   string
	Zone string
	// Capacity is how many rooms it hosts at once.
	Capacity int
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
	minRedial         = 500 * time.Millisecond
	maxRedial         = 30 * time.Second
	heartbeatInterval = 5 * time.Second
)

// Worker hosts rooms for the browsers a coordinator sends it.
type Worker struct {
	cfg Config
	api *webrtc.API
	log *slog.Logger

	mu       sync.Mutex
	sessions map[signal.SessionID]*session
	wg       sync.WaitGroup // session goroutines
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
		cfg.ID = "worker-" + randomID()
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
	return &Worker{cfg: cfg, api: api, log: log.With("worker", cfg.ID), sessions: map[signal.SessionID]*session{}}, nil
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Run keeps the worker connected to its coordinator until ctx ends, dialling
// again with backoff whenever the link drops. Rooms outlive a dropped link;
// they all end when Run returns.
func (w *Worker) Run(ctx context.Context) error {
	defer w.closeAll()
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
	if err := l.send(ctx, "", signal.Register{ID: w.cfg.ID, Zone: w.cfg.Zone, Capacity: w.cfg.Capacity, Games: w.cfg.Library.Infos()}); err != nil {
		return false, fmt.Errorf("register: %w", err)
	}
	w.log.Info("worker: connected to coordinator", "url", w.cfg.Coordinator, "games", len(w.cfg.Library.Games()), "capacity", w.cfg.Capacity)

	ctx, cancelLink := context.WithCancel(ctx)
	defer cancelLink()
	// Sessions that outlive this link talk through the next one.
	w.mu.Lock()
	for _, s := range w.sessions {
		s.setLink(l)
	}
	w.mu.Unlock()

	go func() {
		tick := time.NewTicker(heartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := l.send(ctx, "", signal.Heartbeat{Rooms: w.roomCount()}); err != nil {
					conn.CloseNow()
					return
				}
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
		w.handle(ctx, l, m.Session, p)
	}
}

func (w *Worker) roomCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sessions)
}

func (w *Worker) handle(ctx context.Context, l *link, id signal.SessionID, p signal.Payload) {
	if id == "" {
		w.log.Warn("worker: message without session", "type", p.Type())
		return
	}
	if start, ok := p.(signal.Start); ok {
		w.start(l, id, start)
		return
	}
	_, quit := p.(signal.Quit)
	w.mu.Lock()
	s := w.sessions[id]
	if quit {
		// The place is free the moment the player leaves, as the
		// coordinator already counts it: a player who quits and picks
		// another game at once must not find the server full while the
		// old runner is still stopping (it briefly runs one over).
		delete(w.sessions, id)
	}
	w.mu.Unlock()
	if s == nil {
		w.log.Debug("worker: message for an unknown session", "session", id, "type", p.Type())
		return
	}
	s.handle(p)
}

// start opens a session: a room for the game and a peer for the browser.
// Starting a game takes a while, so it runs on its own goroutine and the
// link keeps reading.
func (w *Worker) start(l *link, id signal.SessionID, req signal.Start) {
	refuse := func(code, msg string) {
		if err := l.send(context.Background(), id, signal.Error{Code: code, Message: msg}); err != nil {
			w.log.Warn("worker: send error", "err", err)
		}
	}
	game, ok := w.cfg.Library.Lookup(req.Game)
	if !ok {
		refuse(signal.CodeUnknownGame, "This server does not have that game.")
		return
	}
	w.mu.Lock()
	if _, dup := w.sessions[id]; dup {
		w.mu.Unlock()
		refuse(signal.CodeBadRequest, "The session is already running.")
		return
	}
	if len(w.sessions) >= w.cfg.Capacity {
		w.mu.Unlock()
		refuse(signal.CodeNoWorker, "This server is full.")
		return
	}
	s := newSession(w, id, game, l)
	w.sessions[id] = s
	w.wg.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.wg.Done()
		final := s.run()
		w.mu.Lock()
		delete(w.sessions, id)
		w.mu.Unlock()
		if final != nil {
			s.send(final)
		}
	}()
}

func (w *Worker) closeAll() {
	w.mu.Lock()
	for _, s := range w.sessions {
		s.quit()
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// roomParams builds the room for a game from the worker's runner settings.
func (w *Worker) roomParams(game library.Game) (room.Params, error) {
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
	return room.Params{ID: room.NewID(), Runner: opts, Logger: w.log}, nil
}

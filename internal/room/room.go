// Package room is one running game and the people in it: a runner whose
// single encoded stream is fanned out to every member's peer connection,
// the player slots whose input reaches the game, each member's session
// (its browser's signalling, peer and saves), and the room's life from
// boot through linger to its end.
//
// A Room owns all of that. Its fields are guarded by its own lock, and one
// goroutine, Run, boots the game, tells members and the coordinator about
// changes, keeps the linger and autosave clocks, and tears the room down.
// Each session has a goroutine of its own, started by the room and waited
// for by Run.
package room

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/peer"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// DefaultLinger is how long a room with nobody in it lives on: long enough
// for a reload or a phone changing networks to find the game as it was.
const DefaultLinger = 30 * time.Second

// DefaultPictureAfter is how long a game runs before the room takes its
// picture for the list (Params.OnPicture).
const DefaultPictureAfter = 5 * time.Second

// pictureTries bounds the looks at a game whose picture stays one colour.
const pictureTries = 10

// DefaultAutosave is how often a room saves for the player who started it.
const DefaultAutosave = 5 * time.Minute

var (
	ErrSlot  = errors.New("room: no such player slot")
	ErrEnded = errors.New("room: the room has ended")
)

// Sender carries messages to browsers, through the coordinator: the
// worker's current link to it.
type Sender interface {
	Send(session signal.SessionID, p signal.Payload) error
}

// Observer hears how a room's game runs, for metrics.
type Observer interface {
	// Stats summarises the last second of the frame loop.
	Stats(wire.Stats)
	// InputToFrame is the time from a pad state leaving the worker for the
	// runner to the encoded picture that shows it coming back.
	InputToFrame(time.Duration)
}

// Params configure a room.
type Params struct {
	ID   signal.RoomID
	Game library.Game
	// Runner runs the game: its core and ROM are set; its Handlers are the
	// room's own.
	Runner runner.Options
	// Pool, when not nil, has runners started ahead of need; the room's
	// game starts in one of them when it can.
	Pool    *runner.Pool
	Private bool
	// Crowd lets several members hold one slot, their pads combined.
	Crowd bool
	// Owner is the player who started the room: the game runs with their
	// battery save, and autosaves for them. Empty without a player id.
	Owner signal.PlayerID
	// Linger is how long the room lives on once empty (default
	// DefaultLinger); Autosave how often it saves for its owner (default
	// DefaultAutosave), besides when it ends.
	Linger   time.Duration
	Autosave time.Duration
	// Saves keeps players' saves; nil keeps none. Uploads is the worker's
	// allowance for save files on their way in; nil takes none.
	Saves   *saves.Store
	Uploads *peer.Uploads
	// MaxSpectators is how many may watch besides the players (default
	// DefaultMaxSpectators); a join over it is refused.
	MaxSpectators int
	// API makes the members' peer connections; ICEServers are handed to
	// them.
	API        *webrtc.API
	ICEServers []webrtc.ICEServer
	// Sender reaches the browsers and the coordinator.
	Sender Sender
	// OnEnd hears that the room ends, before its members do: whoever keeps
	// a registry of rooms frees the room's place there. Called once,
	// Unpack, when set, makes the game's file the runner loads (a zipped
	// game's ROM, unpacked) as the room boots, off its owner's message
	// loop; its path replaces Runner.Config.Game.
	Unpack func() (string, error)
	// without any of the room's locks held.
	OnEnd func(*Room)
	// OnSessionEnd hears that a session is over and out of the room,
	// before its browser is told: whoever routes messages to sessions
	// forgets it.
	OnSessionEnd func(*Session)
	// OnPicture, when set, is given a picture of the game once it has run
	// for PictureAfter (default DefaultPictureAfter): a title screen, not
	// the boot's black frame. A picture all of one colour is no picture:
	// the room looks again every second, a few times. Called from the
	// room's own loop: it must not block.
	OnPicture    func(*image.RGBA)
	PictureAfter time.Duration
	Observer     Observer
	Logger       *slog.Logger
}

// Room is one game in one runner, shared by its members: every member's
// connection carries the same two tracks, so each frame is encoded once
// however many people watch.
type Room struct {
	id      signal.RoomID
	game    library.Game
	private bool
	crowd   bool
	owner   signal.PlayerID
	created time.Time
	p       Params
	opts    runner.Options
	log     *slog.Logger

	// ctx is the room's life, derived from its owner's; ended by End.
	ctx    context.Context
	cancel context.CancelFunc

	video     *videoTrack
	audio     *webrtc.TrackLocalStaticSample
	keyframes *keyframes                     // the runner's keyframes, rate-limited
	bitrates  *bitrates                      // the encoder's bitrate, following the members' paths
	proc      atomic.Pointer[runner.Process] // set once booted
	seq       atomic.Uint32                  // Seq of the last input sent to the runner

	booted  chan struct{} // closed once the boot is over; bootErr is then set
	bootErr error
	ended   chan struct{} // closed once the room is torn down; endReason is then set

	sessions sync.WaitGroup // the members' goroutines

	mu         sync.Mutex
	members    []*member              // in the order they joined
	held       [Slots]signal.PlayerID // who held each slot last
	left       [Slots]time.Time       // when they left the room from it; zero while it is held, or was given up
	rev        uint64
	nextMember int
	phase      phaseState
	closing    bool   // nobody may join any more
	endReason  string // what the members are told when the room ends
	changes    chan struct{}

	obs     Observer
	sentMu  sync.Mutex
	sent    [64]sentInput // the last inputs sent, by Seq modulo 64
	shownTo uint32        // the newest Seq a picture has answered
}

// New makes a room and its tracks, its life derived from ctx; Run runs
// it. Members may be admitted before Run starts: they negotiate their
// connections while the game boots.
func New(ctx context.Context, p Params) (*Room, error) {
	if p.Linger <= 0 {
		p.Linger = DefaultLinger
	}
	if p.PictureAfter <= 0 {
		p.PictureAfter = DefaultPictureAfter
	}
	if p.Autosave <= 0 {
		p.Autosave = DefaultAutosave
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &Room{
		id: p.ID, game: p.Game, private: p.Private, crowd: p.Crowd, owner: p.Owner, created: time.Now(),
		p: p, opts: p.Runner, log: log.With("room", p.ID, "game", p.Game.ID), obs: p.Observer,
		booted: make(chan struct{}), ended: make(chan struct{}), changes: make(chan struct{}, 1),
	}
	r.keyframes = newKeyframes(keyframeGap, r.sendKeyframe)
	r.bitrates = newBitrates(p.Runner.Config.Video.BitrateKbps)
	if err := r.newStream(); err != nil {
		return nil, err
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	return r, nil
}

// Created is when the room was made.
func (r *Room) Created() time.Time { return r.created }

// Game is the room's game.
func (r *Room) Game() library.Game { return r.game }

// Empty says whether nobody is in the room.
func (r *Room) Empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members) == 0
}

// End ends the room for a reason its members are told: nobody joins it any
// more, its owner hears of it at once (OnEnd), and Run stops its game and
// returns. The first reason stands; End reports whether it was this call's.
func (r *Room) End(reason string) bool {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return false
	}
	r.closing = true
	r.endReason = reason
	r.mu.Unlock()
	r.log.Info("room: ending", "reason", reason)
	if r.p.OnEnd != nil {
		r.p.OnEnd(r)
	}
	r.cancel()
	return true
}

// Run owns the room from boot to teardown, and returns once the room and
// every session in it are gone. Call it once.
func (r *Room) Run() {
	boot := make(chan error, 1)
	go func() { boot <- r.start(r.ctx, r.ownerSRAM()) }() // returns early when ctx ends
	var gameOver <-chan struct{}                          // the runner's end, once there is one
	var autosave <-chan time.Time
	var pictureAt <-chan time.Time
	pictureTry := 0
	var linger *time.Timer
	var lingered <-chan time.Time
	crashed := false
	defer func() {
		r.keyframes.stop()
		if linger != nil {
			linger.Stop()
		}
		if boot != nil {
			r.bootErr = <-boot // the boot is abandoned: ctx is over
			close(r.booted)
		}
		r.tellCoordinator(r.Listing(true)) // before the game stops, which takes a while
		if gameOver != nil && !crashed {
			r.autosave() // the game as the room leaves it
		}
		if err := r.stopGame(); err != nil {
			r.log.Warn("room: stopping the game", "err", err)
		}
		r.log.Info("room: closed", "reason", r.endReason)
		close(r.ended)
		r.sessions.Wait()
	}()
	for {
		select {
		case err := <-boot:
			boot = nil
			r.bootErr = err
			close(r.booted)
			if err != nil {
				r.log.Error("room: game failed to start", "err", err)
				r.End("The game could not start.")
				return
			}
			gameOver = r.gameOver()
			tick := time.NewTicker(r.p.Autosave)
			defer tick.Stop()
			autosave = tick.C
			if r.p.OnPicture != nil {
				pictureAt = time.After(r.p.PictureAfter)
			}
			r.publish() // the listing, now that the game runs
		case <-autosave:
			r.autosave()
		case <-pictureAt:
			pictureAt = nil
			pictureTry++
			if pic := r.takePicture(); pic != nil {
				r.p.OnPicture(pic)
			} else if pictureTry < pictureTries {
				pictureAt = time.After(time.Second)
			}
		case <-gameOver:
			r.log.Error("room: game ended", "err", r.gameErr())
			crashed = true
			r.End("The game stopped unexpectedly.")
			return
		case <-r.changes:
			r.publish()
			// The last one out starts the countdown; anyone coming back
			// stops it.
			switch empty := r.Empty(); {
			case empty && linger == nil:
				r.log.Info("room: empty; it ends unless someone comes back", "in", r.p.Linger)
				linger = time.NewTimer(r.p.Linger)
				lingered = linger.C
			case !empty && linger != nil:
				linger.Stop()
				linger, lingered = nil, nil
			}
		case <-lingered:
			r.End("Nobody was left in the room.")
			return
		case <-r.ctx.Done(): // ended, with its reason
			return
		}
	}
}

// publish sends every member the room's state, each with its own id, and
// the coordinator the room's listing. Only Run calls it, so states go out
// in order.
func (r *Room) publish() {
	for _, s := range r.present() {
		s.send(r.state(s))
	}
	r.tellCoordinator(r.Listing(false))
}

func (r *Room) tellCoordinator(l signal.Listing) {
	if err := r.p.Sender.Send("", l); err != nil {
		r.log.Debug("room: listing not sent; the next registration lists the room", "err", err)
	}
}

// present is a snapshot of the sessions in the room.
func (r *Room) present() []*Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	sessions := make([]*Session, 0, len(r.members))
	for _, m := range r.members {
		sessions = append(sessions, m.session)
	}
	return sessions
}

// broadcast sends a message to everyone in the room.
func (r *Room) broadcast(p signal.Payload) {
	for _, s := range r.present() {
		s.send(p)
	}
}

// state is the room's state as one of its sessions is told it.
func (r *Room) state(s *Session) signal.RoomState {
	members, rev := r.Members()
	state := signal.RoomState{
		ID: r.id, Rev: rev, Game: r.game.GameInfo, Private: r.private, Crowd: r.crowd,
		You: s.member, Members: make([]signal.Member, len(members)),
	}
	for i, m := range members {
		state.Members[i] = signal.Member{ID: m.ID, Nick: m.Nick, Slot: m.Slot, Controller: m.Controller}
	}
	return state
}

// Listing describes the room for the live rooms list.
func (r *Room) Listing(closed bool) signal.Listing {
	members, _ := r.Members()
	l := signal.Listing{
		ID: r.id, Game: r.game.GameInfo, Private: r.private, Crowd: r.crowd,
		Age: time.Since(r.created).Milliseconds(), Closed: closed,
	}
	for _, m := range members {
		if m.Slot == 0 {
			l.Spectators++
		} else {
			l.Players++
		}
	}
	return l
}

// Guest is who asks to come into a room, and how.
type Guest struct {
	Nick   string
	Player signal.PlayerID // may be empty
	Slot   int             // 1 to Slots, or 0 to watch
	// Controller: the browser's page is a gamepad only, and its
	// connection carries no picture or sound.
	Controller bool
}

// Admit makes a browser's session a member of the room, in a slot (0
// watching), and starts the session: it offers the browser a connection at
// once, while the game may still be booting. A player who left the room
// from a slot within its linger time (a reload, a phone that lost its
// page) and asks only to watch is given that slot back, if it is free.
func (r *Room) Admit(id signal.SessionID, g Guest) (*Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return nil, ErrEnded
	}
	if g.Slot == 0 {
		g.Slot = r.seatLeft(g.Player, time.Now())
	}
	member := signal.MemberID(fmt.Sprintf("m%d", r.nextMember+1))
	s := newSession(r, id, member, g)
	if err := r.join(member, g, s); err != nil {
		return nil, err
	}
	r.nextMember++
	r.sessions.Add(1)
	go func() {
		defer r.sessions.Done()
		s.run()
	}()
	return s, nil
}

// Session finds the session whose secret token this is, for a browser
// that lost its socket and carries on through a new one.
func (r *Room) Session(token string) (*Session, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if m.session.tokenIs(token) {
			return m.session, true
		}
	}
	return nil, false
}

// dismiss takes a session out of the room. The room's goroutine hears of
// it as a change, and starts the linger countdown for the last one out.
func (r *Room) dismiss(s *Session) {
	r.leave(s.member)
}

package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/room"
	"github.com/telecart/telecart/internal/signal"
)

// DefaultLinger is how long a room with nobody in it lives on: long enough
// for a reload or a phone changing networks to find the game as it was.
const DefaultLinger = 30 * time.Second

// hosted is one room on this worker: its game, its members' sessions and
// its life. Its goroutine (run) boots the game, tells members and the
// coordinator about changes, and tears the room down when it ends.
type hosted struct {
	w       *Worker
	room    *room.Room
	game    library.Game
	private bool
	// owner is the player who started the room: the game runs with their
	// battery save, and autosaves for them. Empty without a player id.
	owner   signal.PlayerID
	created time.Time
	log     *slog.Logger

	// end ends the room; run does the rest.
	ctx context.Context
	end context.CancelFunc

	booted  chan struct{} // closed once the boot is over; bootErr is then set
	bootErr error
	ended   chan struct{} // closed once the room is gone; endReason is then set
	// Guarded by w.mu; read without it once ended is closed.
	endReason  string // what the members are told when the room ends
	members    map[signal.SessionID]*session
	nextMember int
	linger     *time.Timer // running while the room is empty
	closing    bool        // no one may join any more
}

func (w *Worker) newHosted(id signal.RoomID, game library.Game, req signal.Start) (*hosted, error) {
	params, err := w.roomParams(id, game, req.Crowd)
	if err != nil {
		return nil, err
	}
	r, err := room.New(params)
	if err != nil {
		return nil, err
	}
	ctx, end := context.WithCancel(context.Background())
	return &hosted{
		w: w, room: r, game: game, private: req.Private, owner: req.Player, created: time.Now(),
		log: w.log.With("room", id, "game", game.ID),
		ctx: ctx, end: end,
		booted: make(chan struct{}), ended: make(chan struct{}),
		members: map[signal.SessionID]*session{},
	}, nil
}

// run owns the room from boot to teardown.
func (h *hosted) run() {
	boot := make(chan error, 1)
	go func() { boot <- h.room.Start(h.ctx, h.ownerSRAM()) }()
	var gameOver <-chan struct{} // the runner's end, once there is one
	var autosave <-chan time.Time
	crashed := false
	defer func() {
		if boot != nil {
			h.bootErr = <-boot // the boot is abandoned: ctx is over
			close(h.booted)
		}
		h.w.sendListing(h.listing(true)) // before the game stops, which takes a while
		if gameOver != nil && !crashed {
			h.autosave() // the game as the room leaves it
		}
		if err := h.room.Close(); err != nil {
			h.log.Warn("worker: closing room", "err", err)
		}
		h.log.Info("worker: room closed", "reason", h.endReason)
		close(h.ended)
	}()
	for {
		select {
		case err := <-boot:
			boot = nil
			h.bootErr = err
			close(h.booted)
			if err != nil {
				h.log.Error("worker: game failed to start", "err", err)
				h.w.closeRoom(h, "The game could not start.")
				return
			}
			gameOver = h.room.Done()
			tick := time.NewTicker(h.w.cfg.Autosave)
			defer tick.Stop()
			autosave = tick.C
			h.publish() // the listing, now that the game runs
		case <-autosave:
			h.autosave()
		case <-gameOver:
			h.log.Error("worker: game ended", "err", h.room.Err())
			crashed = true
			h.w.closeRoom(h, "The game stopped unexpectedly.")
			return
		case <-h.room.Changes():
			h.publish()
		case <-h.ctx.Done(): // closed, with its reason
			return
		}
	}
}

// present is a snapshot of the sessions in the room.
func (h *hosted) present() []*session {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	sessions := make([]*session, 0, len(h.members))
	for _, s := range h.members {
		sessions = append(sessions, s)
	}
	return sessions
}

// broadcast sends a message to everyone in the room.
func (h *hosted) broadcast(p signal.Payload) {
	for _, s := range h.present() {
		s.send(p)
	}
}

// publish sends every member the room's state, each with its own id, and
// the coordinator the room's listing. Only run calls it, so states go out
// in order.
func (h *hosted) publish() {
	for _, s := range h.present() {
		s.send(h.state(s))
	}
	h.w.sendListing(h.listing(false))
}

// state is the room's state as one of its sessions is told it.
func (h *hosted) state(s *session) signal.RoomState {
	members, rev := h.room.Members()
	state := signal.RoomState{
		ID: h.room.ID(), Rev: rev, Game: h.game.GameInfo, Private: h.private, Crowd: h.room.Crowd(),
		You: s.member, Members: make([]signal.Member, len(members)),
	}
	for i, m := range members {
		state.Members[i] = signal.Member{ID: m.ID, Nick: m.Nick, Slot: m.Slot}
	}
	return state
}

// listing describes the room for the live rooms list.
func (h *hosted) listing(closed bool) signal.Listing {
	members, _ := h.room.Members()
	l := signal.Listing{
		ID: h.room.ID(), Game: h.game.GameInfo, Private: h.private, Crowd: h.room.Crowd(),
		Age: time.Since(h.created).Milliseconds(), Closed: closed,
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

// admit makes a session a member of the room, in a slot (0 watching);
// w.mu is held.
func (h *hosted) admit(s *session, nick string, slot int) error {
	if h.closing {
		return errRoomOver
	}
	h.nextMember++
	s.member = signal.MemberID(fmt.Sprintf("m%d", h.nextMember))
	s.host = h
	if err := h.room.Join(s.member, nick, slot); err != nil {
		return err
	}
	h.members[s.id] = s
	if h.linger != nil {
		h.linger.Stop()
		h.linger = nil
	}
	return nil
}

// dismiss takes a session out of the room; the last one out starts the
// room's countdown. w.mu is held.
func (h *hosted) dismiss(s *session) {
	if _, ok := h.members[s.id]; !ok {
		return
	}
	delete(h.members, s.id)
	if h.room.Leave(s.member) > 0 || h.closing {
		return
	}
	h.log.Info("worker: room empty; it ends unless someone comes back", "in", h.w.cfg.Linger)
	h.linger = time.AfterFunc(h.w.cfg.Linger, func() {
		h.w.mu.Lock()
		defer h.w.mu.Unlock()
		if len(h.members) == 0 {
			h.close("Nobody was left in the room.")
		}
	})
}

// close ends the room for a reason its members are told: nobody joins it
// any more and its place is free at once, while run stops its game. The
// first reason stands. w.mu is held.
func (h *hosted) close(reason string) {
	if h.closing {
		return
	}
	h.closing = true
	h.endReason = reason
	if h.linger != nil {
		h.linger.Stop()
	}
	delete(h.w.rooms, h.room.ID())
	h.end()
	h.w.checkDrained()
}

package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/room"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// answerTimeout bounds the wait for a browser's answer: a browser that
// never answers must not hold a room.
const answerTimeout = 30 * time.Second

// session is one browser in one room: its peer connection and its seat.
// Its goroutine (run) owns the peer; the link's reader hands it messages.
type session struct {
	w      *Worker
	player signal.PlayerID // whose saves are whose; may be empty
	// token is the session's secret, for its browser to carry it on after
	// losing its socket (see Worker.resume).
	token string
	log   *slog.Logger

	// id names the session to the coordinator. It changes when the browser
	// resumes the session through a new coordinator connection; it is
	// written with both w.mu and mu held, read with either.
	id signal.SessionID

	// Set when the session is admitted to its room, before run starts.
	host   *hosted
	member signal.MemberID

	mu        sync.Mutex
	offerSent bool
	pending   []signal.Candidate // ours, gathered before the offer went out

	inbox    chan signal.Payload
	quitting chan struct{}
	quitOnce sync.Once
}

func newSession(w *Worker, id signal.SessionID, player signal.PlayerID) *session {
	return &session{
		w: w, id: id, player: player, token: signal.NewID[string](signal.SecretBytes),
		log:      w.log.With("session", id),
		inbox:    make(chan signal.Payload, 64),
		quitting: make(chan struct{}),
	}
}

func (s *session) send(p signal.Payload) {
	if err := s.w.send(s.currentID(), p); err != nil {
		s.log.Warn("worker: send to coordinator", "type", p.Type(), "err", err)
	}
}

func (s *session) currentID() signal.SessionID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// handle passes a message from the browser to the session's goroutine.
func (s *session) handle(p signal.Payload) {
	select {
	case s.inbox <- p:
	default:
		s.log.Warn("worker: session inbox full; dropping", "type", p.Type())
	}
}

func (s *session) quit() { s.quitOnce.Do(func() { close(s.quitting) }) }

// sendCandidate relays one of our ICE candidates, holding it back until
// the offer it belongs to has gone out: a browser cannot use a candidate
// before the offer.
func (s *session) sendCandidate(c webrtc.ICECandidateInit) {
	sc := signal.Candidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	s.mu.Lock()
	if !s.offerSent {
		s.pending = append(s.pending, sc)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.send(sc)
}

func (s *session) sendOffer(sdp string) {
	s.send(signal.Offer(sdp))
	s.mu.Lock()
	pending := s.pending
	s.pending, s.offerSent = nil, true
	s.mu.Unlock()
	for _, c := range pending {
		s.send(c)
	}
}

// run connects the browser to its room until the browser quits or
// leaves, or the room ends, and returns what to tell the browser then
// (nil after a quit). It returns once the peer is gone.
// The browser negotiates its connection while the game boots: the room's
// tracks exist before the game does, and the first picture waits for
// neither in turn.
func (s *session) run() signal.Payload {
	h := s.host
	peer, offer, err := NewPeer(PeerParams{
		ID: PeerID(s.currentID()), API: s.w.api, Room: h.room, Member: s.member,
		ICEServers: s.w.cfg.ICEServers, OnCandidate: s.sendCandidate, Files: s, Logger: s.log,
	})
	if err != nil {
		s.log.Error("worker: peer", "err", err)
		return signal.Error{Code: signal.CodeInternal, Message: "The server could not open a connection."}
	}
	defer peer.Close()
	s.sendOffer(offer.SDP)

	booted := h.booted
	answered := time.NewTimer(answerTimeout)
	defer answered.Stop()
	for {
		select {
		case <-booted:
			booted = nil
			if h.bootErr != nil {
				return signal.Error{Code: signal.CodeGameFailed, Message: "The game could not start.", Game: &h.game.GameInfo}
			}
			g := h.room.Game()
			s.send(signal.Started{Room: h.room.ID(), Resume: s.token, Game: h.game.GameInfo, Width: g.Width, Height: g.Height, Aspect: g.Aspect, FPS: g.FPS})
			s.sendSaves(0)
		case p := <-s.inbox:
			if err := s.apply(peer, p, answered); err != nil {
				s.log.Warn("worker: bad message from browser", "err", err)
			}
		case <-answered.C:
			return signal.Ended{Reason: "The browser did not answer in time."}
		case <-peer.Done():
			return signal.Ended{Reason: "The connection was lost."}
		case <-h.ended:
			if h.bootErr != nil {
				return signal.Error{Code: signal.CodeGameFailed, Message: "The game could not start.", Game: &h.game.GameInfo}
			}
			return signal.Ended{Reason: h.endReason}
		case <-s.quitting:
			return nil
		}
	}
}

func (s *session) apply(peer *Peer, p signal.Payload, answered *time.Timer) error {
	switch m := p.(type) {
	case signal.SDP:
		if m.Type() != signal.TypeAnswer {
			return fmt.Errorf("got %s, want an answer", m.Type())
		}
		answered.Stop()
		return peer.SetAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
	case signal.Candidate:
		return peer.AddCandidate(webrtc.ICECandidateInit{Candidate: m.Candidate, SDPMid: m.SDPMid, SDPMLineIndex: m.SDPMLineIndex, UsernameFragment: m.UsernameFragment})
	case signal.Seat:
		err := s.host.room.Seat(s.member, m.Slot)
		if errors.Is(err, room.ErrSlotTaken) {
			s.send(signal.Refused{Code: signal.CodeSlotTaken, Message: fmt.Sprintf("Someone else holds controller %d.", m.Slot)})
			return nil
		}
		return err
	case signal.Nick:
		return s.host.room.Rename(s.member, m.Nick)
	case signal.Save:
		s.saveGame(m.Slot)
		return nil
	case signal.Load:
		s.loadGame(m.Slot)
		return nil
	}
	return fmt.Errorf("unexpected %s", p.Type())
}

// sendSaves sends the player their saves of the room's game; saved names
// the slot just saved, 0 for none.
func (s *session) sendSaves(saved int) {
	if s.player == "" || s.w.cfg.Saves == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	list, err := s.host.savesList(ctx, s.player)
	if err != nil {
		s.log.Warn("worker: listing saves", "err", err)
		msg := "Your saves could not be listed; try again in a moment."
		if saved != 0 {
			msg = fmt.Sprintf("Saved to slot %d, but your saves could not be listed.", saved)
		}
		s.send(signal.Refused{Code: signal.CodeSaveFailed, Message: msg})
		return
	}
	list.Saved = saved
	s.send(list)
}

func (s *session) saveGame(slot int) {
	if s.player == "" {
		s.send(signal.Refused{Code: signal.CodeNoPlayer, Message: "Saving needs a player id; reload the page."})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	if err := s.host.save(ctx, s.player, slot); err != nil {
		s.log.Warn("worker: save", "slot", slot, "err", err)
		s.send(refusal(err))
		return
	}
	s.log.Info("worker: saved", "slot", slot)
	s.sendSaves(slot)
}

// loadGame loads one of the player's saves for the whole room, and tells
// everyone in it: the game jumps for all of them.
func (s *session) loadGame(slot int) {
	switch members, _ := s.host.room.Members(); {
	case s.player == "":
		s.send(signal.Refused{Code: signal.CodeNoPlayer, Message: "Loading needs a player id; reload the page."})
		return
	case !holdsSlot(members, s.member):
		s.send(signal.Refused{Code: signal.CodeNotPlaying, Message: "Only players can load a save: take a controller first."})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	sv, err := s.host.load(ctx, s.player, slot)
	if err != nil {
		s.log.Warn("worker: load", "slot", slot, "err", err)
		s.send(refusal(err))
		return
	}
	s.log.Info("worker: loaded", "slot", slot)
	s.host.broadcast(signal.Loaded{Save: saveInfo(sv), By: s.member})
}

func holdsSlot(members []room.Member, id signal.MemberID) bool {
	for _, m := range members {
		if m.ID == id {
			return m.Slot > 0
		}
	}
	return false
}

// exportSave is the player's save in a slot of the room's game, as a
// file (for the "saves" data channel).
func (s *session) exportSave(ctx context.Context, slot int) ([]byte, error) {
	g, err := s.filesGame()
	if err != nil {
		return nil, err
	}
	return s.w.cfg.Saves.Export(ctx, s.player, g, slot)
}

// importSave puts a save file into one of the player's slots of the
// room's game, and sends the player their saves.
func (s *session) importSave(ctx context.Context, slot int, file []byte) error {
	g, err := s.filesGame()
	if err != nil {
		return err
	}
	if _, err := s.w.cfg.Saves.Import(ctx, s.player, g, slot, file); err != nil {
		return err
	}
	s.sendSaves(0)
	return nil
}

// filesGame is the room's game for the player's save files: known once the
// game runs, for a player with an id, where saves are kept.
func (s *session) filesGame() (saves.Game, error) {
	switch {
	case s.w.cfg.Saves == nil:
		return saves.Game{}, errNoSaves
	case s.player == "":
		return saves.Game{}, errNoPlayer
	}
	select {
	case <-s.host.booted:
		if s.host.bootErr != nil {
			return saves.Game{}, s.host.bootErr
		}
		return s.host.savesGame(), nil
	default:
		return saves.Game{}, errStarting
	}
}

package worker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/room"
	"github.com/telecart/telecart/internal/signal"
)

// answerTimeout bounds the wait for a browser's answer: a browser that
// never answers must not hold a room.
const answerTimeout = 30 * time.Second

// session is one browser playing one game: its room and its peer. Its
// goroutine (run) owns both; the link's reader hands it messages.
type session struct {
	w    *Worker
	id   signal.SessionID
	game library.Game
	log  *slog.Logger

	mu        sync.Mutex
	link      *link
	offerSent bool
	pending   []signal.Candidate // ours, gathered before the offer went out

	inbox    chan signal.Payload
	quitting chan struct{}
	quitOnce sync.Once
}

func newSession(w *Worker, id signal.SessionID, game library.Game, l *link) *session {
	return &session{
		w: w, id: id, game: game, link: l,
		log:      w.log.With("session", id, "game", game.ID),
		inbox:    make(chan signal.Payload, 64),
		quitting: make(chan struct{}),
	}
}

func (s *session) setLink(l *link) {
	s.mu.Lock()
	s.link = l
	s.mu.Unlock()
}

func (s *session) send(p signal.Payload) {
	s.mu.Lock()
	l := s.link
	s.mu.Unlock()
	if err := l.send(context.Background(), s.id, p); err != nil {
		s.log.Warn("worker: send to coordinator", "type", p.Type(), "err", err)
	}
}

// handle passes a message from the browser to the session's goroutine.
func (s *session) handle(p signal.Payload) {
	if _, ok := p.(signal.Quit); ok {
		s.quit()
		return
	}
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

// run plays the game until the browser quits or leaves, or the game ends,
// and returns what to tell the browser then (nil after a quit). It returns
// once the room and the peer are gone, so that the worker frees the place
// before the browser, or anyone it tells, can ask for it again.
// The browser negotiates its connection while the runner boots: the tracks
// exist before the game does, and the first picture waits for neither
// in turn.
func (s *session) run() signal.Payload {
	params, err := s.w.roomParams(s.game)
	if err != nil {
		s.log.Error("worker: cannot start game", "err", err)
		return signal.Error{Code: signal.CodeGameFailed, Message: "This server cannot play that game."}
	}
	r, err := room.New(params)
	if err != nil {
		s.log.Error("worker: room", "err", err)
		return signal.Error{Code: signal.CodeInternal, Message: "The server could not prepare the game."}
	}
	s.log = s.log.With("room", r.ID())

	ctx, cancel := context.WithCancel(context.Background())
	booted := make(chan error, 1)
	go func() { booted <- r.Start(ctx) }()
	defer func() {
		cancel() // a boot still under way is abandoned ...
		if booted != nil {
			<-booted // ... and over before the room closes
		}
		r.Close()
	}()

	peer, offer, err := NewPeer(PeerParams{
		ID: PeerID(s.id), API: s.w.api, Room: r, Slot: 0,
		ICEServers: s.w.cfg.ICEServers, OnCandidate: s.sendCandidate, Logger: s.log,
	})
	if err != nil {
		s.log.Error("worker: peer", "err", err)
		return signal.Error{Code: signal.CodeInternal, Message: "The server could not open a connection."}
	}
	defer peer.Close()
	s.sendOffer(offer.SDP)

	answered := time.NewTimer(answerTimeout)
	defer answered.Stop()
	for {
		select {
		case err := <-booted:
			booted = nil
			if err != nil {
				s.log.Error("worker: game failed to start", "err", err)
				return signal.Error{Code: signal.CodeGameFailed, Message: "The game could not start."}
			}
			g := r.Game()
			s.send(signal.Started{Room: string(r.ID()), Game: s.game.GameInfo, Width: g.Width, Height: g.Height, Aspect: g.Aspect, FPS: g.FPS})
		case p := <-s.inbox:
			if err := s.apply(peer, p, answered); err != nil {
				s.log.Warn("worker: bad message from browser", "err", err)
			}
		case <-answered.C:
			return signal.Ended{Reason: "The browser did not answer in time."}
		case <-peer.Done():
			return signal.Ended{Reason: "The connection was lost."}
		case <-r.Done(): // nil, so never ready, until the game runs
			s.log.Error("worker: game ended", "err", r.Err())
			return signal.Ended{Reason: "The game stopped unexpectedly."}
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
	}
	return fmt.Errorf("unexpected %s", p.Type())
}

package room

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/peer"
	"github.com/telecart/telecart/internal/signal"
)

// answerTimeout bounds the wait for a browser's answer: a browser that
// never answers must not hold a room.
const answerTimeout = 30 * time.Second

// Session is one browser in one room: its peer connection, its seat and
// its saves. Its goroutine (run) owns the peer; whoever reads the
// browser's messages hands them over with Handle.
type Session struct {
	room   *Room
	member signal.MemberID
	player signal.PlayerID // whose saves are whose; may be empty
	// controller: a gamepad page, sent neither picture nor sound.
	controller bool
	// peer is the connection while connect runs it, for the echoes the
	// room's stream sends from its own goroutine.
	peer atomic.Pointer[peer.Peer]
	// token is the session's secret, for its browser to carry it on after
	// losing its socket (see Room.Resume).
	token string
	log   *slog.Logger

	inbox    chan signal.Payload
	quitting chan struct{}
	quitOnce sync.Once

	mu sync.Mutex
	// id names the session to the coordinator. It changes when the browser
	// resumes the session through a new coordinator connection.
	id        signal.SessionID
	offerSent bool
	pending   []signal.Candidate // ours, gathered before the offer went out
}

func newSession(r *Room, id signal.SessionID, member signal.MemberID, g Guest) *Session {
	return &Session{
		room: r, id: id, member: member, player: g.Player, controller: g.Controller, token: signal.NewID[string](signal.SecretBytes),
		log:      r.log.With("session", id, "member", member),
		inbox:    make(chan signal.Payload, 64),
		quitting: make(chan struct{}),
	}
}

// echo tells the browser a picture answering its pad state went out; a
// controller page, which has no picture to match it with, is not told.
func (s *Session) echo(e pad.Echo) {
	if p := s.peer.Load(); p != nil && !s.controller {
		p.Echo(e)
	}
}

// ID is the session's id with the coordinator now.
func (s *Session) ID() signal.SessionID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

func (s *Session) tokenIs(token string) bool {
	return subtle.ConstantTimeCompare([]byte(s.token), []byte(token)) == 1
}

// Resume carries the session on under the id of the browser's new
// connection: its peer connection, and the game on it, never stopped.
// SendState then tells the browser where things stand.
func (s *Session) Resume(id signal.SessionID) {
	s.mu.Lock()
	s.id = id
	s.mu.Unlock()
	s.log.Info("room: session resumed", "as", id)
}

// SendState sends the browser the room's state.
func (s *Session) SendState() { s.send(s.room.state(s)) }

func (s *Session) send(p signal.Payload) {
	if err := s.room.p.Sender.Send(s.ID(), p); err != nil {
		s.log.Warn("room: send to coordinator", "type", p.Type(), "err", err)
	}
}

// Handle passes a message from the browser to the session's goroutine.
func (s *Session) Handle(p signal.Payload) {
	select {
	case s.inbox <- p:
	default:
		s.log.Warn("room: session inbox full; dropping", "type", p.Type())
	}
}

// Quit takes the session out of the room at once, and ends it. The peer is
// out the moment its browser says so: the coordinator already counts it
// out, and a player who quits and starts another game at once must find
// the room's place free (an empty room gives its place to a new one).
func (s *Session) Quit() {
	s.room.dismiss(s)
	s.quitOnce.Do(func() { close(s.quitting) })
}

// sendCandidate relays one of our ICE candidates, holding it back until
// the offer it belongs to has gone out: a browser cannot use a candidate
// before the offer.
func (s *Session) sendCandidate(c webrtc.ICECandidateInit) {
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

func (s *Session) sendOffer(sdp string) {
	s.send(signal.Offer(sdp))
	s.mu.Lock()
	pending := s.pending
	s.pending, s.offerSent = nil, true
	s.mu.Unlock()
	for _, c := range pending {
		s.send(c)
	}
}

// run is the session's life: it connects the browser to the room until
// the browser quits or leaves, or the room ends; then takes the session out
// of the room and its owner's routing, and only then tells the browser
// (nothing after a quit), so a browser told its game ended finds its place
// free when it starts again.
func (s *Session) run() {
	ctx, cancel := context.WithCancel(s.room.ctx)
	defer cancel()
	final := s.connect(ctx)
	s.room.dismiss(s)
	s.room.bitrates.forget(s.member)
	if s.room.p.OnSessionEnd != nil {
		s.room.p.OnSessionEnd(s)
	}
	if final != nil {
		s.send(final)
	}
}

// connect runs the peer, and returns what to tell the browser as it ends
// (nil after a quit). The browser negotiates its connection while the
// game boots: the room's tracks exist before the game does, and the first
// picture waits for neither in turn.
func (s *Session) connect(ctx context.Context) signal.Payload {
	r := s.room
	tracks := r.tracks()
	if s.controller {
		tracks = nil
	}
	p, offer, err := peer.New(ctx, peer.Params{
		API: r.p.API, Tracks: tracks, ICEServers: r.p.ICEServers,
		OnKeyframe: r.RequestKeyframe,
		OnEstimate: func(kbps int) { r.estimate(s.member, kbps) },
		OnInput: func(st pad.State) {
			if err := r.input(s.member, st); err != nil {
				s.log.Debug("room: input", "err", err)
			}
		},
		OnReport:    func(rep pad.Report) { r.displayReport(s.member, rep) },
		OnCandidate: s.sendCandidate, Files: s, Words: words, Uploads: r.p.Uploads, Logger: s.log,
	})
	if err != nil {
		s.log.Error("room: peer", "err", err)
		return signal.Error{Code: signal.CodeInternal, Message: "The server could not open a connection."}
	}
	defer p.Close()
	s.peer.Store(p)
	defer s.peer.Store(nil)
	s.sendOffer(offer.SDP)

	booted := r.booted
	answered := time.NewTimer(answerTimeout)
	defer answered.Stop()
	for {
		select {
		case <-booted:
			booted = nil
			if r.bootErr != nil {
				return bootRefusal(r.bootErr, r.game.GameInfo)
			}
			g := r.ready()
			s.send(signal.Started{Room: r.id, Resume: s.token, Game: r.game.GameInfo, Width: g.Width, Height: g.Height, Aspect: g.Aspect, FPS: g.FPS})
			s.sendSaves(ctx, 0)
		case m := <-s.inbox:
			if err := s.apply(ctx, p, m, answered); err != nil {
				s.log.Warn("room: bad message from browser", "err", err)
			}
		case <-answered.C:
			return signal.Ended{Reason: "The browser did not answer in time."}
		case <-p.Done():
			return signal.Ended{Reason: "The connection was lost."}
		case <-r.ended:
			if r.bootErr != nil {
				return bootRefusal(r.bootErr, r.game.GameInfo)
			}
			return signal.Ended{Reason: r.endReason}
		case <-s.quitting:
			return nil
		}
	}
}

func (s *Session) apply(ctx context.Context, p *peer.Peer, m signal.Payload, answered *time.Timer) error {
	switch m := m.(type) {
	case signal.SDP:
		if m.Type() != signal.TypeAnswer {
			return fmt.Errorf("got %s, want an answer", m.Type())
		}
		answered.Stop()
		return p.SetAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
	case signal.Candidate:
		return p.AddCandidate(webrtc.ICECandidateInit{Candidate: m.Candidate, SDPMid: m.SDPMid, SDPMLineIndex: m.SDPMLineIndex, UsernameFragment: m.UsernameFragment})
	case signal.Seat:
		err := s.room.seat(s.member, m.Slot)
		if errors.Is(err, ErrSlotTaken) {
			s.send(signal.Refused{Code: signal.CodeSlotTaken, Message: fmt.Sprintf("Someone else holds controller %d.", m.Slot)})
			return nil
		}
		return err
	case signal.Nick:
		return s.room.rename(s.member, m.Nick)
	case signal.Save:
		s.saveGame(ctx, m.Slot)
		return nil
	case signal.Load:
		s.loadGame(ctx, m.Slot)
		return nil
	case signal.Reset:
		s.resetGame(ctx)
		return nil
	}
	return fmt.Errorf("unexpected %s", m.Type())
}

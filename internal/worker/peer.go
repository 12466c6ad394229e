package worker

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/room"
	"github.com/telecart/telecart/internal/signal"
)

// PeerID names a peer within its worker.
type PeerID string

// PeerParams configure a Peer.
type PeerParams struct {
	ID   PeerID
	API  *webrtc.API
	Room *room.Room
	// Member is the peer's place in the room: its input drives whatever
	// slot the member holds.
	Member     signal.MemberID
	ICEServers []webrtc.ICEServer
	// OnCandidate sends one of our ICE candidates to the browser.
	OnCandidate func(webrtc.ICECandidateInit)
	// Files are the player's save files, which the "saves" data channel
	// carries (see files.go).
	Files  fileStore
	Logger *slog.Logger
}

// Peer is one browser's connection to a room. The worker offers: the
// room's video and audio tracks, send-only, the "input" data channel and
// the "saves" one.
type Peer struct {
	id     PeerID
	pc     *webrtc.PeerConnection
	room   *room.Room
	member signal.MemberID
	log    *slog.Logger

	mu       sync.Mutex
	lastSeq  uint32
	seen     bool
	answered bool
	early    []webrtc.ICECandidateInit // the browser's, before its answer

	done     chan struct{}
	doneOnce sync.Once
}

// NewPeer creates the connection and returns it with the offer for the
// browser.
func NewPeer(p PeerParams) (*Peer, webrtc.SessionDescription, error) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	pc, err := p.API.NewPeerConnection(webrtc.Configuration{ICEServers: p.ICEServers})
	if err != nil {
		return nil, webrtc.SessionDescription{}, fmt.Errorf("worker: peer connection: %w", err)
	}
	peer := &Peer{id: p.ID, pc: pc, room: p.Room, member: p.Member, log: log.With("peer", p.ID), done: make(chan struct{})}
	fail := func(err error) (*Peer, webrtc.SessionDescription, error) {
		pc.Close()
		return nil, webrtc.SessionDescription{}, err
	}
	for _, track := range p.Room.Tracks() {
		sender, err := pc.AddTrack(track)
		if err != nil {
			return fail(fmt.Errorf("worker: add track: %w", err))
		}
		go peer.readRTCP(sender)
	}
	ordered, retransmits := false, uint16(0)
	dc, err := pc.CreateDataChannel("input", &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &retransmits})
	if err != nil {
		return fail(fmt.Errorf("worker: data channel: %w", err))
	}
	dc.OnMessage(peer.onInput)
	files, err := pc.CreateDataChannel("saves", nil) // ordered and reliable
	if err != nil {
		return fail(fmt.Errorf("worker: data channel: %w", err))
	}
	newSaveFiles(files, p.Files, peer.log)

	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && p.OnCandidate != nil {
			p.OnCandidate(c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		peer.log.Debug("peer connection", "state", s)
		switch s {
		case webrtc.PeerConnectionStateConnected:
			// A new viewer starts on a keyframe, not on deltas it cannot decode.
			p.Room.RequestKeyframe()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			peer.doneOnce.Do(func() { close(peer.done) })
		}
	})

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(fmt.Errorf("worker: offer: %w", err))
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail(fmt.Errorf("worker: set offer: %w", err))
	}
	return peer, offer, nil
}

// SetAnswer applies the browser's answer.
func (p *Peer) SetAnswer(answer webrtc.SessionDescription) error {
	if answer.Type != webrtc.SDPTypeAnswer {
		return fmt.Errorf("worker: got %v, want an answer", answer.Type)
	}
	if err := p.pc.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("worker: set answer: %w", err)
	}
	p.mu.Lock()
	early := p.early
	p.early, p.answered = nil, true
	p.mu.Unlock()
	var errs []error
	for _, c := range early {
		if err := p.pc.AddICECandidate(c); err != nil {
			errs = append(errs, fmt.Errorf("worker: add candidate: %w", err))
		}
	}
	return errors.Join(errs...)
}

// AddCandidate adds one of the browser's ICE candidates. One that comes
// before the answer is kept until the answer is in: a browser gathers,
// and may send, candidates as soon as it has made its answer.
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	p.mu.Lock()
	if !p.answered {
		p.early = append(p.early, c)
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("worker: add candidate: %w", err)
	}
	return nil
}

// Done is closed when the connection has failed or closed.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Close ends the connection.
func (p *Peer) Close() error { return p.pc.Close() }

// onInput applies a pad state from the browser, unless a newer one came first.
func (p *Peer) onInput(msg webrtc.DataChannelMessage) {
	state, err := pad.Parse(msg.Data)
	if err != nil {
		p.log.Debug("peer: dropping input", "err", err)
		return
	}
	p.mu.Lock()
	stale := p.seen && int32(state.Seq-p.lastSeq) <= 0
	if !stale {
		p.lastSeq, p.seen = state.Seq, true
	}
	p.mu.Unlock()
	if stale {
		return
	}
	if err := p.room.Input(p.member, state.Buttons, state.Analog); err != nil {
		p.log.Debug("peer: input", "err", err)
	}
}

// readRTCP answers the browser's picture loss reports with a keyframe. It
// returns when the connection closes. Reading also lets the interceptors
// (NACK) see every RTCP packet.
func (p *Peer) readRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			if !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, io.EOF) {
				p.log.Debug("peer: rtcp", "err", err)
			}
			return
		}
		packets, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue // one malformed report is no reason to stop listening
		}
		for _, pkt := range packets {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.room.RequestKeyframe()
			}
		}
	}
}

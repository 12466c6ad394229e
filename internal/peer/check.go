package peer

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"
)

// CheckLabel is the data channel of a check connection.
const CheckLabel = "check"

// MaxCheckMessage bounds what a check connection echoes: a check sends a
// few bytes to see them come back, nobody should use it as a relay.
const MaxCheckMessage = 1024

// maxEarly bounds the browser's candidates kept until its answer: a
// browser has a few addresses, not hundreds.
const maxEarly = 64

// CheckParams configure a Check.
type CheckParams struct {
	// API is the worker's: its UDP port, public IPs and loopback setting,
	// so the check takes the path a game would.
	API        *webrtc.API
	ICEServers []webrtc.ICEServer
	// OnCandidate sends one of the worker's ICE candidates to the browser;
	// none is sent before the offer has gone (see Offered).
	OnCandidate func(webrtc.ICECandidateInit)
	Logger      *slog.Logger
}

// Check is a test peer connection for the connectivity check: one data
// channel, "check", that echoes every message of at most MaxCheckMessage
// bytes, and no media. The worker offers, as it does for a game.
type Check struct {
	pc          *webrtc.PeerConnection
	onCandidate func(webrtc.ICECandidateInit)

	answering

	mu      sync.Mutex
	offered bool
	held    []webrtc.ICECandidateInit // ours, until the offer has gone

	done     chan struct{}
	doneOnce sync.Once
}

// NewCheck creates the connection and returns it with its offer.
func NewCheck(p CheckParams) (*Check, webrtc.SessionDescription, error) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	pc, err := p.API.NewPeerConnection(webrtc.Configuration{ICEServers: p.ICEServers})
	if err != nil {
		return nil, webrtc.SessionDescription{}, fmt.Errorf("peer: check connection: %w", err)
	}
	c := &Check{pc: pc, answering: answering{pc: pc, maxEarly: maxEarly}, onCandidate: p.OnCandidate, done: make(chan struct{})}
	fail := func(err error) (*Check, webrtc.SessionDescription, error) {
		pc.Close()
		return nil, webrtc.SessionDescription{}, err
	}
	dc, err := pc.CreateDataChannel(CheckLabel, nil)
	if err != nil {
		return fail(fmt.Errorf("peer: check channel: %w", err))
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if len(msg.Data) > MaxCheckMessage {
			return
		}
		var err error
		if msg.IsString {
			err = dc.SendText(string(msg.Data))
		} else {
			err = dc.Send(msg.Data)
		}
		if err != nil {
			log.Debug("peer: check echo", "err", err)
		}
	})
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil || c.onCandidate == nil {
			return
		}
		init := cand.ToJSON()
		c.mu.Lock()
		if !c.offered {
			c.held = append(c.held, init)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.onCandidate(init)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		log.Debug("check connection", "state", s)
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			c.doneOnce.Do(func() { close(c.done) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(fmt.Errorf("peer: check offer: %w", err))
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail(fmt.Errorf("peer: set check offer: %w", err))
	}
	return c, offer, nil
}

// Offered sends the candidates gathered before the offer went out, and
// every later one as it comes: a browser given a candidate before the
// offer it belongs to would drop it.
func (c *Check) Offered() {
	c.mu.Lock()
	held := c.held
	c.held, c.offered = nil, true
	c.mu.Unlock()
	if c.onCandidate == nil {
		return
	}
	for _, cand := range held {
		c.onCandidate(cand)
	}
}

// Done is closed when the connection has failed or closed.
func (c *Check) Done() <-chan struct{} { return c.done }

// Close ends the connection.
func (c *Check) Close() error { return c.pc.Close() }

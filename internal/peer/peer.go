package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/pad"
)

// Params configure a Peer.
type Params struct {
	API *webrtc.API
	// Tracks are the room's shared video and audio tracks, sent as they
	// are: one encode for every peer.
	Tracks     []webrtc.TrackLocal
	ICEServers []webrtc.ICEServer
	// OnKeyframe asks for a keyframe: the browser connected, or lost a
	// picture. Called on Pion's goroutines.
	OnKeyframe func()
	// OnEstimate takes the browser's estimate of what the path to it
	// carries (REMB), in kbit/s. Called on Pion's goroutines.
	OnEstimate func(kbps int)
	// OnInput takes each new pad state from the browser, once and in
	// order; copies and older states that arrive late are dropped first.
	// Called on Pion's goroutines, one call at a time.
	OnInput func(pad.State)
	// OnReport takes the page's display reports (pad.Report), which come
	// on the same channel. Called on Pion's goroutines.
	OnReport func(pad.Report)
	// OnCandidate sends one of our ICE candidates to the browser.
	OnCandidate func(webrtc.ICECandidateInit)
	// Files are the player's save files, which the "saves" data channel
	// carries (see files.go); nil refuses every request. Words turns the
	// store's errors into sentences for the player.
	Files FileStore
	Words func(error) string
	// Uploads is the worker's allowance for files on their way in, shared
	// by all its peers; nil takes no upload.
	Uploads *Uploads
	Logger  *slog.Logger
}

// Peer is one browser's connection to a room. The worker offers: the
// room's video and audio tracks, send-only, the "input" data channel and
// the "saves" one.
type Peer struct {
	pc       *webrtc.PeerConnection
	inputDC  *webrtc.DataChannel // also carries the echoes back
	onInput  func(pad.State)
	onReport func(pad.Report)
	log      *slog.Logger
	// cancel ends the context of the peer's file transfers.
	cancel context.CancelFunc

	answering

	mu  sync.Mutex
	seq pad.Sequencer // the states applied so far

	done     chan struct{}
	doneOnce sync.Once
}

// New creates the connection and returns it with the offer for the
// browser. ctx bounds the peer's save-file transfers: a session that ends
// cancels its storage I/O.
func New(ctx context.Context, p Params) (*Peer, webrtc.SessionDescription, error) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	pc, err := p.API.NewPeerConnection(webrtc.Configuration{ICEServers: p.ICEServers})
	if err != nil {
		return nil, webrtc.SessionDescription{}, fmt.Errorf("peer: peer connection: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	peer := &Peer{pc: pc, answering: answering{pc: pc}, onInput: p.OnInput, onReport: p.OnReport, log: log, cancel: cancel, done: make(chan struct{})}
	fail := func(err error) (*Peer, webrtc.SessionDescription, error) {
		cancel()
		pc.Close()
		return nil, webrtc.SessionDescription{}, err
	}
	keyframe := p.OnKeyframe
	if keyframe == nil {
		keyframe = func() {}
	}
	estimate := p.OnEstimate
	if estimate == nil {
		estimate = func(int) {}
	}
	for _, track := range p.Tracks {
		sender, err := pc.AddTrack(track)
		if err != nil {
			return fail(fmt.Errorf("peer: add track: %w", err))
		}
		go peer.readRTCP(sender, keyframe, estimate) // ends when pc closes
	}
	ordered, retransmits := false, uint16(0)
	dc, err := pc.CreateDataChannel("input", &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &retransmits})
	if err != nil {
		return fail(fmt.Errorf("peer: data channel: %w", err))
	}
	dc.OnMessage(peer.input)
	peer.inputDC = dc
	files, err := pc.CreateDataChannel("saves", nil) // ordered and reliable
	if err != nil {
		return fail(fmt.Errorf("peer: data channel: %w", err))
	}
	serveFiles(ctx, files, p.Files, p.Words, p.Uploads, log)

	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && p.OnCandidate != nil {
			p.OnCandidate(c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		log.Debug("peer connection", "state", s)
		switch s {
		case webrtc.PeerConnectionStateConnected:
			// A new viewer starts on a keyframe, not on deltas it cannot decode.
			keyframe()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			peer.doneOnce.Do(func() { close(peer.done) })
		}
	})

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(fmt.Errorf("peer: offer: %w", err))
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail(fmt.Errorf("peer: set offer: %w", err))
	}
	return peer, offer, nil
}

// Done is closed when the connection has failed or closed.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Close ends the connection and its transfers.
func (p *Peer) Close() error {
	p.cancel()
	return p.pc.Close()
}

// input applies the states of one message from the browser that are new,
// oldest first; copies of states already applied, and states older than
// those, are dropped. The lock is held while they are applied, so that two
// messages never interleave their states.
func (p *Peer) input(msg webrtc.DataChannelMessage) {
	if len(msg.Data) > 0 && msg.Data[0] == pad.KindReport {
		r, err := pad.ParseReport(msg.Data)
		if err != nil {
			p.log.Debug("peer: dropping display report", "err", err)
			return
		}
		if p.onReport != nil {
			p.onReport(r)
		}
		return
	}
	states, err := pad.Parse(msg.Data)
	if err != nil {
		p.log.Debug("peer: dropping input", "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.seq.Fresh(states) {
		if p.onInput != nil {
			p.onInput(s)
		}
	}
}

// Echo tells the browser that a picture answering its pad state went out
// (pad.Echo). Lost, it costs the overlay one sample: the channel never
// retransmits, like the states it answers.
func (p *Peer) Echo(e pad.Echo) {
	if p.inputDC.ReadyState() != webrtc.DataChannelStateOpen {
		return
	}
	if err := p.inputDC.Send(e.Marshal()); err != nil {
		p.log.Debug("peer: echo", "err", err)
	}
}

// readRTCP answers the browser's picture loss reports with a keyframe, and
// passes on its bandwidth estimates. It returns when the connection
// closes. Reading also lets the interceptors (NACK) see every RTCP packet.
func (p *Peer) readRTCP(sender *webrtc.RTPSender, keyframe func(), estimate func(kbps int)) {
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
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				keyframe()
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				// A crafted REMB's exponent reaches far past any int.
				if kbps := float64(pkt.Bitrate) / 1000; kbps >= 0 && kbps < math.MaxInt32 {
					estimate(int(kbps))
				}
			}
		}
	}
}

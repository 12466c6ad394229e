// Package gobrowsertest is a browser written in Go, for tests and benchmarks:
// it speaks the web app's signalling protocol on /ws and receives a room's
// stream over real WebRTC with Pion, so a test can play, watch and count
// frames without Chromium, and a benchmark can be twenty viewers at once.
package gobrowsertest

import (
	"image"
	"image/color"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/telecart/telecart/internal/media/vpx"
	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/waittest"
)

// PlayoutDelayURI is the RTP header extension the worker sends with video.
const PlayoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

// Client is a Pion peer that answers a worker's offer, depacketizes the
// VP8 video it receives and sends pad states.
type Client struct {
	PC *webrtc.PeerConnection
	// Frames receives whole VP8 frames; when nobody reads, frames are
	// counted and dropped.
	Frames chan []byte
	// Input receives the "input" data channel once it is open, and Saves
	// the "saves" one.
	Input, Saves chan *webrtc.DataChannel
	// PlayoutDelay receives the playout-delay extension of the first video
	// packet, nil if it had none.
	PlayoutDelay chan []byte
	// VideoSSRC receives the SSRC of the video track, for RTCP about it.
	VideoSSRC chan uint32

	frames atomic.Int64 // whole frames received

	mu          sync.Mutex
	connectedAt time.Time
	firstFrame  time.Time
	seq         uint32
	channel     *webrtc.DataChannel
}

// NewClient makes a client; it is closed when the test ends.
func NewClient(t testing.TB) *Client {
	t.Helper()
	return NewClientWith(t, ClientOptions{})
}

// ClientOptions change a client's ICE from NewClient's.
type ClientOptions struct {
	// Settings, when not nil, changes its settings: a client behind a
	// NAT, say, whose candidates are all server-reflexive.
	Settings func(*webrtc.SettingEngine)
	// Config is its peer connection's configuration: its TURN servers
	// and whether it keeps to relayed candidates, say.
	Config webrtc.Configuration
}

// NewClientWith is NewClient with opts.
func NewClientWith(t testing.TB, opts ClientOptions) *Client {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: PlayoutDelayURI}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	s := webrtc.SettingEngine{}
	s.SetIncludeLoopbackCandidate(true)
	if opts.Settings != nil {
		opts.Settings(&s)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s)).NewPeerConnection(opts.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c := &Client{
		PC: pc, Frames: make(chan []byte, 1024), Input: make(chan *webrtc.DataChannel, 1), Saves: make(chan *webrtc.DataChannel, 1),
		PlayoutDelay: make(chan []byte, 1), VideoSSRC: make(chan uint32, 1),
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			c.mu.Lock()
			c.connectedAt = time.Now()
			c.mu.Unlock()
		}
	})
	pc.OnTrack(func(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		if track.Kind() == webrtc.RTPCodecTypeVideo {
			c.readVideo(track, receiver)
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() == "saves" {
			dc.OnOpen(func() { c.Saves <- dc })
			return
		}
		dc.OnOpen(func() {
			c.mu.Lock()
			c.channel = dc
			c.mu.Unlock()
			c.Input <- dc
		})
	})
	return c
}

// readVideo runs until the track ends, with the connection.
func (c *Client) readVideo(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	c.VideoSSRC <- uint32(track.SSRC())
	var extID uint8
	for _, ext := range receiver.GetParameters().HeaderExtensions {
		if ext.URI == PlayoutDelayURI {
			extID = uint8(ext.ID)
		}
	}
	sb := samplebuilder.New(64, &codecs.VP8Packet{}, track.Codec().ClockRate)
	for first := true; ; first = false {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		if first {
			c.PlayoutDelay <- pkt.GetExtension(extID)
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if c.frames.Add(1) == 1 {
				c.mu.Lock()
				c.firstFrame = time.Now()
				c.mu.Unlock()
			}
			select {
			case c.Frames <- s.Data:
			default:
			}
		}
	}
}

// FrameCount is how many whole frames have arrived.
func (c *Client) FrameCount() int64 { return c.frames.Load() }

// FirstFrame is when the first whole frame came; zero until it did.
func (c *Client) FirstFrame() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstFrame
}

// FirstFrameDelay is the time from the connection coming up to the first
// whole frame; 0 until both happened.
func (c *Client) FirstFrameDelay() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.connectedAt.IsZero() || c.firstFrame.IsZero() {
		return 0
	}
	return c.firstFrame.Sub(c.connectedAt)
}

// Press sends the whole pad state: these buttons held, nothing else. The
// input channel must be open (read Input first).
func (c *Client) Press(t testing.TB, buttons uint16) {
	t.Helper()
	c.mu.Lock()
	c.seq++
	s, dc := pad.State{Seq: c.seq, Buttons: buttons}, c.channel
	c.mu.Unlock()
	if dc == nil {
		t.Fatal("gobrowsertest: no input channel yet")
	}
	if err := dc.Send(s.Marshal()); err != nil {
		t.Fatal(err)
	}
}

// Colour decodes a frame and returns the colour at p; false for a frame
// that cannot be decoded yet (a delta before the first keyframe).
func Colour(t testing.TB, dec *vpx.Decoder, frame []byte, p image.Point) (color.RGBA, bool) {
	t.Helper()
	at, ok := decode(t, dec, frame)
	if !ok {
		return color.RGBA{}, false
	}
	return at(p), true
}

// decode decodes a frame and returns what reads its colour at a point;
// false for a frame the decoder refused.
func decode(t testing.TB, dec *vpx.Decoder, frame []byte) (func(image.Point) color.RGBA, bool) {
	t.Helper()
	img, err := dec.Decode(frame)
	if err != nil {
		return nil, false
	}
	rgba := make([]byte, 4*img.Width*img.Height)
	if err := img.ToRGBA(rgba); err != nil {
		t.Fatal(err)
	}
	return func(p image.Point) color.RGBA {
		i := 4 * (p.Y*img.Width + p.X)
		return color.RGBA{rgba[i], rgba[i+1], rgba[i+2], 255}
	}, true
}

// Near says whether two colours are alike after lossy coding.
func Near(a, b color.RGBA) bool {
	d := math.Sqrt(math.Pow(float64(a.R)-float64(b.R), 2) + math.Pow(float64(a.G)-float64(b.G), 2) + math.Pow(float64(a.B)-float64(b.B), 2))
	return d < 40
}

// WaitColour decodes received frames until the picture at p shows want.
func (c *Client) WaitColour(t testing.TB, dec *vpx.Decoder, p image.Point, want color.RGBA) {
	t.Helper()
	timeout := time.After(waittest.Limit)
	var got color.RGBA
	for {
		select {
		case f := <-c.Frames:
			var ok bool
			if got, ok = Colour(t, dec, f, p); ok && Near(got, want) {
				return
			}
		case <-timeout:
			t.Fatalf("picture at %v is %v after %v, want %v", p, got, waittest.Limit, want)
		}
	}
}

// WatchUntil decodes received frames until the picture at until shows
// want, and returns the colours seen at watch in every frame up to and
// including that one: what a test checks did not happen before an event
// that comes after it.
func (c *Client) WatchUntil(t testing.TB, dec *vpx.Decoder, until image.Point, want color.RGBA, watch image.Point) []color.RGBA {
	t.Helper()
	timeout := time.After(waittest.Limit)
	var seen []color.RGBA
	for {
		select {
		case f := <-c.Frames:
			at, ok := decode(t, dec, f)
			if !ok {
				continue
			}
			seen = append(seen, at(watch))
			if Near(at(until), want) {
				return seen
			}
		case <-timeout:
			t.Fatalf("picture at %v not %v after %v", until, want, waittest.Limit)
		}
	}
}

// Decoder is a VP8 decoder closed when the test ends.
func Decoder(t testing.TB) *vpx.Decoder {
	t.Helper()
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dec.Close() })
	return dec
}

package worker

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/telecart/telecart/internal/fixture"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/media/vpx"
	"github.com/telecart/telecart/internal/room"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/testrom"
)

func TestMain(m *testing.M) {
	runnertest.Main()
	os.Exit(m.Run())
}

func newTestRoom(t *testing.T) *room.Room {
	t.Helper()
	r, err := room.New(room.Params{
		ID:     room.NewID(),
		Runner: runnertest.Options(runner.Config{Core: fixture.Core(t, "nes"), Game: fixture.TestROM(t)}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// client is a browser stand-in: a Pion peer that answers the worker's
// offer, decodes the video it receives and sends pad states.
type client struct {
	pc     *webrtc.PeerConnection
	frames chan []byte // VP8 frames, depacketized
	input  chan *webrtc.DataChannel
	// playoutDelay receives the playout-delay extension of the first video
	// packet, nil if it had none.
	playoutDelay chan []byte
	// videoSSRC receives the SSRC of the video track, for RTCP about it.
	videoSSRC chan uint32
}

func newClient(t *testing.T) *client {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: playoutDelayURI}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	s := webrtc.SettingEngine{}
	s.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c := &client{pc: pc, frames: make(chan []byte, 1024), input: make(chan *webrtc.DataChannel, 1), playoutDelay: make(chan []byte, 1), videoSSRC: make(chan uint32, 1)}
	pc.OnTrack(func(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		if track.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		c.videoSSRC <- uint32(track.SSRC())
		var extID uint8
		for _, ext := range receiver.GetParameters().HeaderExtensions {
			if ext.URI == playoutDelayURI {
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
				c.playoutDelay <- pkt.GetExtension(extID)
			}
			sb.Push(pkt)
			for s := sb.Pop(); s != nil; s = sb.Pop() {
				select {
				case c.frames <- s.Data:
				default:
				}
			}
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnOpen(func() { c.input <- dc })
	})
	return c
}

// connect runs the signalling a coordinator will relay, in-process.
func connect(t *testing.T, api *webrtc.API, r *room.Room, slot int, c *client) *Peer {
	t.Helper()
	if err := r.Join("test", "", slot); err != nil {
		t.Fatal(err)
	}
	fromWorker := make(chan webrtc.ICECandidateInit, 16)
	peer, offer, err := NewPeer(PeerParams{
		ID: "test", API: api, Room: r, Member: "test",
		OnCandidate: func(ci webrtc.ICECandidateInit) { fromWorker <- ci },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	fromClient := make(chan webrtc.ICECandidateInit, 16)
	c.pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil {
			fromClient <- ci.ToJSON()
		}
	})
	if err := c.pc.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	if err := peer.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for {
			select {
			case ci := <-fromWorker:
				_ = c.pc.AddICECandidate(ci)
			case ci := <-fromClient:
				_ = peer.AddCandidate(ci)
			case <-ctx.Done():
				return
			}
		}
	}()
	return peer
}

func fillColour(t *testing.T, dec *vpx.Decoder, frame []byte) (color.RGBA, bool) {
	t.Helper()
	img, err := dec.Decode(frame)
	if err != nil {
		return color.RGBA{}, false // a delta before the first keyframe
	}
	rgba := make([]byte, 4*img.Width*img.Height)
	if err := img.ToRGBA(rgba); err != nil {
		t.Fatal(err)
	}
	p := testrom.FillPoint()
	i := 4 * (p.Y*img.Width + p.X)
	return color.RGBA{rgba[i], rgba[i+1], rgba[i+2], 255}, true
}

func near(a, b color.RGBA) bool {
	d := math.Sqrt(math.Pow(float64(a.R)-float64(b.R), 2) + math.Pow(float64(a.G)-float64(b.G), 2) + math.Pow(float64(a.B)-float64(b.B), 2))
	return d < 40
}

// waitColour decodes received frames until the fill shows want, for at
// most a second of video.
func (c *client) waitColour(t *testing.T, dec *vpx.Decoder, want color.RGBA) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	var got color.RGBA
	for range 60 {
		select {
		case f := <-c.frames:
			var ok bool
			if got, ok = fillColour(t, dec, f); ok && near(got, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no video for 5 s (last colour %v, want %v)", got, want)
		}
	}
	t.Fatalf("picture is %v after a second of video, want %v", got, want)
}

// play connects a client to a fresh room through a worker API with these
// ICE settings, in a player slot (0: watching), and returns once the
// client decodes the game's idle picture.
func play(t *testing.T, ice ICEConfig, slot int) (*client, *Peer, *vpx.Decoder) {
	t.Helper()
	api, err := newAPI(runner.CodecVP8, ice)
	if err != nil {
		t.Fatal(err)
	}
	r := newTestRoom(t)
	c := newClient(t)
	peer := connect(t, api, r, slot, c)
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dec.Close() })
	c.waitColour(t, dec, testrom.FillColor())
	return c, peer, dec
}

// TestPeerPlaysOverWebRTC connects a Pion client over real WebRTC on
// loopback: it receives the room's video, starting on a keyframe, and its
// button presses on the data channel change the picture.
func TestPeerPlaysOverWebRTC(t *testing.T) {
	c, peer, dec := play(t, ICEConfig{Loopback: true}, 1)
	// Min and max delay 0: Chromium's low-latency renderer.
	if ext := <-c.playoutDelay; len(ext) != 3 || ext[0]|ext[1]|ext[2] != 0 {
		t.Errorf("playout-delay extension %x, want 000000", ext)
	}

	var dc *webrtc.DataChannel
	select {
	case dc = <-c.input:
	case <-time.After(5 * time.Second):
		t.Fatal("input channel not open after 5 s")
	}
	send := func(seq uint32, buttons uint16) {
		if err := dc.Send(padState{seq: seq, buttons: buttons}.marshal()); err != nil {
			t.Fatal(err)
		}
	}
	send(1, 1<<libretro.ButtonA)
	c.waitColour(t, dec, testrom.FillColor(testrom.A))
	send(2, 1<<libretro.ButtonB)
	c.waitColour(t, dec, testrom.FillColor(testrom.B))
	// A late, older state is dropped: the picture stays B.
	send(1, 1<<libretro.ButtonA)
	send(3, 1<<libretro.ButtonB)
	c.waitColour(t, dec, testrom.FillColor(testrom.B))

	if err := peer.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-peer.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("peer not done 5 s after Close")
	}
}

func TestSpectatorInputIgnored(t *testing.T) {
	c, _, dec := play(t, ICEConfig{Loopback: true}, 0)
	dc := <-c.input
	if err := dc.Send(padState{seq: 1, buttons: 1 << libretro.ButtonA}.marshal()); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if got, ok := fillColour(t, dec, <-c.frames); ok && !near(got, testrom.FillColor()) {
			t.Fatalf("a spectator's A press changed the picture to %v", got)
		}
	}
}

func TestParseInput(t *testing.T) {
	valid := padState{seq: 7, buttons: 0x0101, analog: [4]int16{-32768, 32767, 0, -1}}
	got, err := parseInput(valid.marshal())
	if err != nil || got != valid {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	bad := [][]byte{nil, {1}, append(valid.marshal(), 0), append([]byte{2}, valid.marshal()[1:]...)}
	for _, b := range bad {
		if _, err := parseInput(b); !errors.Is(err, errInput) {
			t.Errorf("parseInput(%x) = %v, want errInput", b, err)
		}
	}
}

func FuzzParseInput(f *testing.F) {
	f.Add(padState{seq: 1, buttons: 3}.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseInput(b)
		if err == nil && string(s.marshal()) != string(b) {
			t.Fatalf("%x parsed to %+v, which marshals to %x", b, s, s.marshal())
		}
	})
}

// TestPublicDeploymentICE is a worker set up as on a public cloud: every
// peer on one UDP port, and a public address announced in place of its
// own (here 127.0.0.1, the only address a test may reach).
func TestPublicDeploymentICE(t *testing.T) {
	port := freeUDPPort(t)
	_, peer, _ := play(t, ICEConfig{PublicIPs: []string{"127.0.0.1"}, UDPPort: port}, 1)

	// By the first picture gathering is long over: the local description
	// holds every candidate the worker announced.
	want := fmt.Sprintf(" 127.0.0.1 %d typ host", port)
	for _, cand := range sdpCandidates(peer.pc.LocalDescription().SDP) {
		if strings.Contains(cand, "udp") && !strings.Contains(cand, want) {
			t.Errorf("candidate %q is not the public address on the one port (%s)", cand, want)
		}
	}
}

func sdpCandidates(sdp string) []string {
	var out []string
	for _, line := range strings.Split(sdp, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "a=candidate:"); ok {
			out = append(out, c)
		}
	}
	return out
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).Port
}

// TestPictureLossGetsKeyframe sends the worker a picture loss report or a
// full intra request, as a browser does when it cannot decode: a keyframe
// follows at once.
func TestPictureLossGetsKeyframe(t *testing.T) {
	tests := []struct {
		name   string
		report func(ssrc uint32) rtcp.Packet
	}{
		{"PLI", func(ssrc uint32) rtcp.Packet { return &rtcp.PictureLossIndication{MediaSSRC: ssrc} }},
		{"FIR", func(ssrc uint32) rtcp.Packet {
			return &rtcp.FullIntraRequest{MediaSSRC: ssrc, FIR: []rtcp.FIREntry{{SSRC: ssrc, SequenceNumber: 1}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := play(t, ICEConfig{Loopback: true}, 1)
			keyframe := func(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 } // VP8 frame tag
			// Past the keyframe the connection started with, into delta frames.
			for deltas := 0; deltas < 30; {
				select {
				case f := <-c.frames:
					if !keyframe(f) {
						deltas++
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no video for 5 s")
				}
			}
			ssrc := <-c.videoSSRC
			if err := c.pc.WriteRTCP([]rtcp.Packet{tt.report(ssrc)}); err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				select {
				case f := <-c.frames:
					if keyframe(f) {
						t.Logf("keyframe %d frames after the %s", i, tt.name)
						return
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no video for 5 s")
				}
			}
			t.Fatalf("no keyframe within 10 frames of a %s", tt.name)
		})
	}
}

// TestOfferFeedback checks the offer asks the browser for the feedback
// that keeps video whole: NACK (retransmission), PLI and FIR (keyframes).
func TestOfferFeedback(t *testing.T) {
	api, err := newAPI(runner.CodecVP8, ICEConfig{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	peer, offer, err := NewPeer(PeerParams{ID: "sdp", API: api, Room: newTestRoom(t), Member: "sdp"})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	for _, line := range []string{"a=rtcp-fb:96 nack\r", "a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 ccm fir", "a=extmap:", playoutDelayURI} {
		if !strings.Contains(offer.SDP, line) {
			t.Errorf("offer lacks %q:\n%s", line, offer.SDP)
		}
	}
}

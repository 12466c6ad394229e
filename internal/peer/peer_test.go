package peer

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/media/vpx"
	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

func TestMain(m *testing.M) {
	runnertest.Main()
	os.Exit(m.Run())
}

// testStream is a room's stream in miniature: the test ROM in a runner,
// its pictures and sound in two tracks, pads to its slot 1, and the
// display reports heard.
type testStream struct {
	proc    *runner.Process
	tracks  []webrtc.TrackLocal
	reports chan pad.Report
}

func newTestStream(t testing.TB) *testStream {
	t.Helper()
	codec, err := VideoCodec(runner.CodecVP8)
	if err != nil {
		t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticSample(codec.RTPCodecCapability, "video", "test-video")
	if err != nil {
		t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(AudioCodec().RTPCodecCapability, "audio", "test-audio")
	if err != nil {
		t.Fatal(err)
	}
	opts := runnertest.Options(runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)})
	opts.Handlers = runner.Handlers{
		Video: func(v wire.Video) {
			_ = video.WriteSample(media.Sample{Data: v.Data, Duration: v.Duration, Timestamp: v.Captured})
		},
		Audio: func(a wire.Audio) {
			_ = audio.WriteSample(media.Sample{Data: a.Data, Duration: a.Duration, Timestamp: a.Captured})
		},
	}
	proc, err := runner.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Close() })
	return &testStream{proc: proc, tracks: []webrtc.TrackLocal{video, audio}, reports: make(chan pad.Report, 16)}
}

func (s *testStream) params(api *webrtc.API) Params {
	return Params{
		API: api, Tracks: s.tracks,
		OnKeyframe: func() { _ = s.proc.RequestKeyframe() },
		OnInput: func(st pad.State) {
			_ = s.proc.SendInput(wire.Input{Slot: 0, Seq: st.Seq, Buttons: st.Buttons, Analog: st.Analog})
		},
		OnReport: func(r pad.Report) {
			select {
			case s.reports <- r:
			default:
			}
		},
	}
}

// connect runs the signalling a coordinator will relay, in-process.
func connect(t *testing.T, api *webrtc.API, s *testStream, c *gobrowsertest.Client) *Peer {
	t.Helper()
	return connectFiltered(t, api, s, c, nil)
}

// play connects a client to a fresh game through a worker API with these
// ICE settings, and returns once the client decodes the game's idle
// picture.
func play(t *testing.T, ice ICEConfig) (*gobrowsertest.Client, *Peer, *vpx.Decoder) {
	t.Helper()
	return playStream(t, ice, newTestStream(t))
}

// playStream is play on a game already started.
func playStream(t *testing.T, ice ICEConfig, s *testStream) (*gobrowsertest.Client, *Peer, *vpx.Decoder) {
	t.Helper()
	api, closeICEPort, err := NewAPI(runner.CodecVP8, ice)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeICEPort() })
	c := gobrowsertest.NewClient(t)
	peer := connect(t, api, s, c)
	dec := gobrowsertest.Decoder(t)
	c.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
	return c, peer, dec
}

// TestPeerPlaysOverWebRTC connects a Pion client over real WebRTC on
// loopback: it receives the room's video, starting on a keyframe, and its
// button presses on the data channel change the picture.
func TestPeerPlaysOverWebRTC(t *testing.T) {
	stream := newTestStream(t)
	c, peer, dec := playStream(t, ICEConfig{Loopback: true}, stream)
	// Min and max delay 0: Chromium's low-latency renderer.
	if ext := <-c.PlayoutDelay; len(ext) != 3 || ext[0]|ext[1]|ext[2] != 0 {
		t.Errorf("playout-delay extension %x, want 000000", ext)
	}

	var dc *webrtc.DataChannel
	select {
	case dc = <-c.Input:
	case <-time.After(waittest.Limit):
		t.Fatal("input channel not open")
	}
	send := func(seq uint32, buttons uint16) {
		if err := dc.Send(pad.State{Seq: seq, Buttons: buttons}.Marshal()); err != nil {
			t.Fatal(err)
		}
	}
	send(1, 1<<libretro.ButtonA)
	c.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.A))
	send(2, 1<<libretro.ButtonB)
	c.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B))
	// A late, older state is dropped: the picture stays B.
	send(1, 1<<libretro.ButtonA)
	send(3, 1<<libretro.ButtonB)
	c.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B))
	// Version 2 carries the last states: a press lost with every earlier
	// message still reaches the game (for a frame at least) before the
	// release that came after it, and copies change nothing.
	sendV2 := func(states ...pad.State) {
		b, err := pad.Marshal(states...)
		if err != nil {
			t.Fatal(err)
		}
		if err := dc.Send(b); err != nil {
			t.Fatal(err)
		}
	}
	sendV2(pad.State{Seq: 5}, pad.State{Seq: 4, Buttons: 1 << libretro.ButtonA}, pad.State{Seq: 3, Buttons: 1 << libretro.ButtonB})
	c.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.A))
	c.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
	sendV2(pad.State{Seq: 5}, pad.State{Seq: 4, Buttons: 1 << libretro.ButtonA})
	sendV2(pad.State{Seq: 6, Buttons: 1 << libretro.ButtonB}, pad.State{Seq: 5}, pad.State{Seq: 4, Buttons: 1 << libretro.ButtonA})
	seen := c.WatchUntil(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B), testrom.FillPoint())
	for _, col := range seen {
		if gobrowsertest.Near(col, testrom.FillColor(testrom.A)) {
			t.Fatalf("the picture showed A again after copies of its press: %v", seen)
		}
	}
	// The page's display report shares the channel; it is no pad state.
	report := pad.Report{Slack: 8500 * time.Microsecond, Frames: 60}
	if err := dc.Send(report.Marshal()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-stream.reports:
		if got != report {
			t.Errorf("report %+v arrived as %+v", report, got)
		}
	case <-time.After(waittest.Limit):
		t.Fatal("display report not heard")
	}
	send(7, 0)
	c.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())

	if err := peer.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-peer.Done():
	case <-time.After(waittest.Limit):
		t.Fatal("peer not done after Close")
	}
}

// TestPublicDeploymentICE is a worker set up as on a public cloud: every
// peer on one UDP port, and a public address announced in place of its
// own (here 127.0.0.1, the only address a test may reach).
func TestPublicDeploymentICE(t *testing.T) {
	port := fixturetest.FreeUDPPort(t)
	_, peer, _ := play(t, ICEConfig{PublicIPs: []string{"127.0.0.1"}, UDPPort: port})

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
			c, _, _ := play(t, ICEConfig{Loopback: true})
			keyframe := func(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 } // VP8 frame tag
			// Past the keyframe the connection started with, into delta frames.
			for deltas := 0; deltas < 30; {
				select {
				case f := <-c.Frames:
					if !keyframe(f) {
						deltas++
					}
				case <-time.After(waittest.Limit):
					t.Fatal("no video")
				}
			}
			ssrc := <-c.VideoSSRC
			if err := c.PC.WriteRTCP([]rtcp.Packet{tt.report(ssrc)}); err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				select {
				case f := <-c.Frames:
					if keyframe(f) {
						t.Logf("keyframe %d frames after the %s", i, tt.name)
						return
					}
				case <-time.After(waittest.Limit):
					t.Fatal("no video")
				}
			}
			t.Fatalf("no keyframe within 10 frames of a %s", tt.name)
		})
	}
}

// TestOfferFeedback checks the offer asks the browser for the feedback
// that keeps video whole: NACK (retransmission), PLI and FIR (keyframes).
func TestOfferFeedback(t *testing.T) {
	api, _, err := NewAPI(runner.CodecVP8, ICEConfig{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	peer, offer, err := New(t.Context(), newTestStream(t).params(api))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	for _, line := range []string{"a=rtcp-fb:96 nack\r", "a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 ccm fir", "a=extmap:", PlayoutDelayURI} {
		if !strings.Contains(offer.SDP, line) {
			t.Errorf("offer lacks %q:\n%s", line, offer.SDP)
		}
	}
}

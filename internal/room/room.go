// Package room is one running game and the people watching and playing it:
// a runner whose single encoded stream is fanned out to every peer, and the
// player slots whose input reaches the game.
package room

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/signal"
)

var ErrSlot = errors.New("room: no such player slot")

// Params configure a room.
type Params struct {
	ID     signal.RoomID
	Runner runner.Options // its Handlers are the room's own
	// Crowd lets several members hold one slot, their pads combined.
	Crowd  bool
	Logger *slog.Logger
	// Observer, if not nil, hears how the game runs.
	Observer Observer
}

// Observer hears how a room's game runs, for metrics.
type Observer interface {
	// Stats summarises the last second of the frame loop.
	Stats(wire.Stats)
	// InputToFrame is the time from a pad state leaving the worker for the
	// runner to the encoded picture that shows it coming back.
	InputToFrame(time.Duration)
}

// Room is one game in one runner, shared by its peers: every peer's
// connection carries the same two tracks, so each frame is encoded once
// however many people watch. The tracks exist from New on, so peers can
// negotiate while Start boots the game.
type Room struct {
	id    signal.RoomID
	crowd bool
	log   *slog.Logger
	opts  runner.Options
	video *webrtc.TrackLocalStaticSample
	audio *webrtc.TrackLocalStaticSample
	seq   atomic.Uint32 // Seq of the last input sent to the runner

	proc atomic.Pointer[runner.Process] // set by Start

	mu      sync.Mutex
	members []*member // in the order they joined
	rev     uint64
	changes chan struct{}

	obs     Observer
	sentMu  sync.Mutex
	sent    [64]sentInput // the last inputs sent, by Seq modulo 64
	shownTo uint32        // the newest Seq a picture has answered
}

// sentInput is when an input left for the runner.
type sentInput struct {
	seq uint32
	at  time.Time
}

// New makes a room and its tracks; Start runs its game.
func New(p Params) (*Room, error) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("room", p.ID)
	codec := p.Runner.Config.Video.Codec
	if codec == "" {
		codec = runner.DefaultCodec
	}
	videoCodec, err := VideoCodec(codec)
	if err != nil {
		return nil, err
	}
	// Separate stream ids keep the tracks out of one sync group: Chromium
	// would otherwise hold pictures back to match the audio's jitter
	// buffer, and for a game the picture must not wait for the sound.
	video, err := webrtc.NewTrackLocalStaticSample(videoCodec.RTPCodecCapability, "video", "telecart-video-"+string(p.ID))
	if err != nil {
		return nil, fmt.Errorf("room: video track: %w", err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(AudioCodec().RTPCodecCapability, "audio", "telecart-audio-"+string(p.ID))
	if err != nil {
		return nil, fmt.Errorf("room: audio track: %w", err)
	}
	r := &Room{id: p.ID, crowd: p.Crowd, log: log, opts: p.Runner, video: video, audio: audio, changes: make(chan struct{}, 1), obs: p.Observer}
	r.opts.Logger = log
	r.opts.Handlers = runner.Handlers{
		Video: func(v wire.Video) {
			if err := video.WriteSample(media.Sample{Data: v.Data, Duration: v.Duration, Timestamp: v.Captured}); err != nil {
				log.Debug("room: write video", "err", err)
			}
			r.answered(v.Input)
		},
		Stats: func(st wire.Stats) {
			if r.obs != nil {
				r.obs.Stats(st)
			}
		},
		Audio: func(a wire.Audio) {
			if err := audio.WriteSample(media.Sample{Data: a.Data, Duration: a.Duration, Timestamp: a.Captured}); err != nil {
				log.Debug("room: write audio", "err", err)
			}
		},
	}
	return r, nil
}

// Start runs the game, with a battery save (SRAM) when sram is not nil,
// and returns once it runs. Call it once.
func (r *Room) Start(ctx context.Context, sram []byte) error {
	opts := r.opts
	opts.Config.SRAM = sram
	proc, err := runner.Start(ctx, opts)
	if err != nil {
		return err
	}
	r.proc.Store(proc)
	return nil
}

var ErrNotRunning = errors.New("room: the game is not running")

// game is the running game, or ErrNotRunning.
func (r *Room) game() (*runner.Process, error) {
	if p := r.running(); p != nil {
		return p, nil
	}
	return nil, ErrNotRunning
}

// SaveState returns the game's state.
func (r *Room) SaveState(ctx context.Context) ([]byte, error) {
	p, err := r.game()
	if err != nil {
		return nil, err
	}
	return p.SaveState(ctx)
}

// LoadState puts the game in a saved state.
func (r *Room) LoadState(ctx context.Context, state []byte) error {
	p, err := r.game()
	if err != nil {
		return err
	}
	return p.LoadState(ctx, state)
}

// SRAM returns the game's battery save, nil when it has none.
func (r *Room) SRAM(ctx context.Context) ([]byte, error) {
	p, err := r.game()
	if err != nil {
		return nil, err
	}
	return p.SRAM(ctx)
}

// Picture returns what the game shows now.
func (r *Room) Picture(ctx context.Context) (*image.RGBA, error) {
	p, err := r.game()
	if err != nil {
		return nil, err
	}
	return p.Thumbnail(ctx)
}

// running is the room's runner, or nil before Start has succeeded.
func (r *Room) running() *runner.Process { return r.proc.Load() }

// ID is the room's id.
func (r *Room) ID() signal.RoomID { return r.id }

// Game describes the running game; valid after Start.
func (r *Room) Game() wire.Ready {
	if p := r.running(); p != nil {
		return p.Ready()
	}
	return wire.Ready{}
}

// Tracks are the room's shared video and audio tracks, for a peer to send.
func (r *Room) Tracks() []webrtc.TrackLocal { return []webrtc.TrackLocal{r.video, r.audio} }

// sentInputAt notes when an input left for the runner.
func (r *Room) sentInputAt(seq uint32, at time.Time) {
	r.sentMu.Lock()
	r.sent[seq%uint32(len(r.sent))] = sentInput{seq: seq, at: at}
	r.sentMu.Unlock()
}

// answered tells the observer how long the newest input a picture shows
// took to come back as that picture: once per input.
func (r *Room) answered(seq uint32) {
	if r.obs == nil || seq == 0 {
		return
	}
	r.sentMu.Lock()
	in := r.sent[seq%uint32(len(r.sent))]
	fresh := seq != r.shownTo && in.seq == seq
	r.shownTo = seq
	r.sentMu.Unlock()
	if fresh {
		r.obs.InputToFrame(time.Since(in.at))
	}
}

// Crowd says whether several members may hold one slot.
func (r *Room) Crowd() bool { return r.crowd }

// Pid is the runner's process id, 0 before the game runs.
func (r *Room) Pid() int {
	if p := r.running(); p != nil {
		return p.Pid()
	}
	return 0
}

// RequestKeyframe makes the next picture a keyframe, for a peer that
// joined or lost pictures. Before the game runs there is no need: its
// first picture is a keyframe.
func (r *Room) RequestKeyframe() {
	if p := r.running(); p != nil {
		if err := p.RequestKeyframe(); err != nil {
			r.log.Debug("room: keyframe request", "err", err)
		}
	}
}

// Done is closed when the game has ended, by Close or by a crash; never
// before Start has succeeded.
func (r *Room) Done() <-chan struct{} {
	if p := r.running(); p != nil {
		return p.Done()
	}
	return nil
}

// Err says why the game ended; nil after Close.
func (r *Room) Err() error {
	if p := r.running(); p != nil {
		return p.Err()
	}
	return nil
}

// Close ends the game. A Start still under way must have returned first:
// cancel its context and wait for it.
func (r *Room) Close() error {
	if p := r.running(); p != nil {
		return p.Close()
	}
	return nil
}

// VideoCodec is the RTP codec of a runner codec, as negotiated with browsers.
func VideoCodec(c runner.Codec) (webrtc.RTPCodecParameters, error) {
	feedback := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	switch c {
	case runner.CodecVP8:
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback},
			PayloadType:        96,
		}, nil
	case runner.CodecH264:
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType:     webrtc.MimeTypeH264,
				ClockRate:    90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
				RTCPFeedback: feedback,
			},
			PayloadType: 102,
		}, nil
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("room: no RTP codec for %q", c)
}

// AudioCodec is Opus as negotiated with browsers.
func AudioCodec() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"},
		PayloadType:        111,
	}
}

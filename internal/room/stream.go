package room

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/peer"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/signal"
)

// The stream: one runner whose encoded pictures and sound go, once, into
// two tracks every peer of the room sends. The tracks exist from New on,
// so peers negotiate while the game boots.

// sentInput is when an input left for the runner.
type sentInput struct {
	seq uint32
	at  time.Time
	// The page state that made it, to echo (pad.Echo): whose, and its
	// number on that page; member is empty for a change no page sent (a
	// seat given up releases its buttons).
	member  signal.MemberID
	pageSeq uint32
}

// newStream makes the room's tracks and the runner's handlers that fill
// them.
func (r *Room) newStream() error {
	codec := r.opts.Config.Video.Codec
	if codec == "" {
		codec = runner.DefaultCodec
	}
	videoCodec, err := peer.VideoCodec(codec)
	if err != nil {
		return err
	}
	// Separate stream ids keep the tracks out of one sync group: Chromium
	// would otherwise hold pictures back to match the audio's jitter
	// buffer, and for a game the picture must not wait for the sound.
	clock := rtpClock{next: rand.Uint32()}
	sample, err := webrtc.NewTrackLocalStaticSample(videoCodec.RTPCodecCapability, "video", "telecart-video-"+string(r.id), webrtc.WithRTPTimestamp(clock.next))
	if err != nil {
		return fmt.Errorf("room: video track: %w", err)
	}
	video := &videoTrack{TrackLocalStaticSample: sample}
	audio, err := webrtc.NewTrackLocalStaticSample(peer.AudioCodec().RTPCodecCapability, "audio", "telecart-audio-"+string(r.id))
	if err != nil {
		return fmt.Errorf("room: audio track: %w", err)
	}
	r.video, r.audio = video, audio
	log := r.log
	r.opts.Logger = log
	r.opts.Handlers = runner.Handlers{
		// The runner's one reading goroutine calls these: the clock is its.
		Video: func(v wire.Video) {
			if !video.bound.Load() {
				return // nobody to send it to, and it would not count on the clock
			}
			stamp := clock.advance(v.Duration)
			if err := video.WriteSample(media.Sample{Data: v.Data, Duration: v.Duration, Timestamp: v.Captured}); err != nil {
				log.Debug("room: write video", "err", err)
			}
			r.answered(v.Input, stamp)
		},
		Stats: func(st wire.Stats) {
			r.adjustBitrate(st)
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
	return nil
}

// start runs the game, with a battery save (SRAM) when sram is not nil,
// and returns once it runs. Called once, by run.
func (r *Room) start(ctx context.Context, sram []byte) error {
	opts := r.opts
	opts.Config.SRAM = sram
	if r.p.Unpack != nil {
		path, err := r.p.Unpack()
		if err != nil {
			return err
		}
		opts.Config.Game = path
	}
	proc, err := r.p.Pool.Start(ctx, opts) // a nil pool starts a runner afresh
	if err != nil {
		return err
	}
	r.proc.Store(proc)
	return nil
}

var ErrNotRunning = errors.New("room: the game is not running")

// process is the running game, or ErrNotRunning.
func (r *Room) process() (*runner.Process, error) {
	if p := r.running(); p != nil {
		return p, nil
	}
	return nil, ErrNotRunning
}

// saveState returns the game's state.
func (r *Room) saveState(ctx context.Context) ([]byte, error) {
	p, err := r.process()
	if err != nil {
		return nil, err
	}
	return p.SaveState(ctx)
}

// loadState puts the game in a saved state.
func (r *Room) loadState(ctx context.Context, state []byte) error {
	p, err := r.process()
	if err != nil {
		return err
	}
	return p.LoadState(ctx, state)
}

// SRAM returns the game's battery save, nil when it has none.
func (r *Room) SRAM(ctx context.Context) ([]byte, error) {
	p, err := r.process()
	if err != nil {
		return nil, err
	}
	return p.SRAM(ctx)
}

// picture returns what the game shows now.
func (r *Room) picture(ctx context.Context) (*image.RGBA, error) {
	p, err := r.process()
	if err != nil {
		return nil, err
	}
	return p.Thumbnail(ctx)
}

// running is the room's runner, or nil before Start has succeeded.
func (r *Room) running() *runner.Process { return r.proc.Load() }

// ID is the room's id.
func (r *Room) ID() signal.RoomID { return r.id }

// ready describes the running game; valid once booted.
func (r *Room) ready() wire.Ready {
	if p := r.running(); p != nil {
		return p.Ready()
	}
	return wire.Ready{}
}

// videoTrack is the room's video track, and whether a peer has bound it
// yet: Pion makes the track's packetizer at the first binding, and from
// then on each sample written advances its RTP timestamps from the one the
// room chose, which rtpClock counts alike. Before, a sample reaches nobody
// and advances nothing.
type videoTrack struct {
	*webrtc.TrackLocalStaticSample
	bound atomic.Bool
}

// Bind is the track's, and marks it bound.
func (t *videoTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := t.TrackLocalStaticSample.Bind(ctx)
	if err == nil {
		t.bound.Store(true)
	}
	return codec, err
}

// rtpClock counts a sample track's RTP timestamps as Pion's
// TrackLocalStaticSample does: each sample's duration in 90 kHz ticks,
// the fraction carried on to the next. The room echoes a picture's
// timestamp to the pages, which find the picture by it.
type rtpClock struct {
	next uint32
	rest float64
}

// advance returns the timestamp of a sample of duration d, and counts it.
func (c *rtpClock) advance(d time.Duration) uint32 {
	stamp := c.next
	total := d.Seconds()*videoClockRate + c.rest
	ticks := uint32(total)
	c.rest = total - float64(ticks)
	c.next += ticks
	return stamp
}

// videoClockRate is every video codec's RTP clock rate.
const videoClockRate = 90000

// tracks are the room's shared video and audio tracks, for a peer to send.
func (r *Room) tracks() []webrtc.TrackLocal { return []webrtc.TrackLocal{r.video, r.audio} }

// sentInputAt notes when an input left for the runner, and what made it.
func (r *Room) sentInputAt(in sentInput) {
	r.sentMu.Lock()
	r.sent[in.seq%uint32(len(r.sent))] = in
	r.sentMu.Unlock()
}

// answered is called for each picture written to the video track (at RTP
// timestamp stamp), with the newest input it shows: every input it is the
// first picture of goes back to its page as an echo, and the observer
// hears how long the newest took to come back as that picture.
func (r *Room) answered(seq, stamp uint32) {
	if seq == 0 {
		return
	}
	now := time.Now()
	var fresh []sentInput
	r.sentMu.Lock()
	if pad.Newer(seq, r.shownTo) {
		// The inputs since the last picture's newest, as many as are kept.
		from := r.shownTo + 1
		if !pad.Newer(from, seq-uint32(len(r.sent))) {
			from = seq - uint32(len(r.sent)) + 1
		}
		for s := from; s != seq+1; s++ {
			if in := r.sent[s%uint32(len(r.sent))]; in.seq == s {
				fresh = append(fresh, in)
			}
		}
		r.shownTo = seq
	}
	r.sentMu.Unlock()
	if len(fresh) == 0 {
		return
	}
	if newest := fresh[len(fresh)-1]; r.obs != nil && newest.seq == seq {
		r.obs.InputToFrame(now.Sub(newest.at))
	}
	for _, in := range fresh {
		if in.member != "" {
			r.echo(in.member, pad.Echo{Seq: in.pageSeq, Worker: now.Sub(in.at), RTP: stamp})
		}
	}
}

// echo sends a member's page its echo, outside the room's lock (a
// member's session never changes). A member without a session (the
// room's own tests drive pads without peers) is sent nothing.
func (r *Room) echo(id signal.MemberID, e pad.Echo) {
	r.mu.Lock()
	m, err := r.member(id)
	r.mu.Unlock()
	if err == nil && m.session != nil {
		m.session.echo(e)
	}
}

// Pid is the runner's process id, 0 before the game runs.
func (r *Room) Pid() int {
	if p := r.running(); p != nil {
		return p.Pid()
	}
	return 0
}

// RequestKeyframe makes a coming picture a keyframe, for a peer that
// joined or lost pictures: at once, or within keyframeGap when one went
// out just before. Before the game runs there is no need: its first
// picture is a keyframe.
func (r *Room) RequestKeyframe() { r.keyframes.request() }

// sendKeyframe asks the runner for a keyframe now.
func (r *Room) sendKeyframe() {
	if p := r.running(); p != nil {
		if err := p.RequestKeyframe(); err != nil {
			r.log.Debug("room: keyframe request", "err", err)
		}
	}
}

// estimate notes a member's bandwidth estimate; the next stats adjust
// the bitrate.
func (r *Room) estimate(m signal.MemberID, kbps int) { r.bitrates.set(m, kbps, time.Now()) }

// adjustBitrate sets the encoder's bitrate from the members' estimates and
// the second of stats the runner just reported.
func (r *Room) adjustBitrate(st wire.Stats) {
	p := r.running()
	if p == nil {
		return
	}
	if kbps, changed := r.bitrates.adjust(st, time.Now(), r.slotOf, p.SetBitrate); changed {
		r.log.Debug("room: video bitrate", "kbps", kbps, "sent_kbps", st.VideoBytes*8/1000)
	}
}

// slotOf is a member's slot (0 watching), and false for one not in the
// room.
func (r *Room) slotOf(m signal.MemberID) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := r.find(m); i >= 0 {
		return r.members[i].Slot, true
	}
	return 0, false
}

// gameOver is closed when the game has ended, stopped or crashed; never
// before start has succeeded.
func (r *Room) gameOver() <-chan struct{} {
	if p := r.running(); p != nil {
		return p.Done()
	}
	return nil
}

// gameErr says why the game ended; nil after stopGame.
func (r *Room) gameErr() error {
	if p := r.running(); p != nil {
		return p.Err()
	}
	return nil
}

// stopGame ends the game. A start still under way must have returned
// first: cancel its context and wait for it.
func (r *Room) stopGame() error {
	if p := r.running(); p != nil {
		return p.Close()
	}
	return nil
}

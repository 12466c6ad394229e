package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/media/opus"
	"github.com/telecart/telecart/internal/media/resample"
	"github.com/telecart/telecart/internal/media/yuv"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/sandbox"
)

// A frame loop that falls this many frames behind starts a new schedule
// instead of racing to catch up, which would fast-forward the game.
const maxFramesBehind = 4

// resampleQuality is speexdsp's quality: 5 is transparent for 8- and 16-bit
// game audio at a fraction of the cost of 10.
const resampleQuality = 5

// Serve runs the runner side of the protocol on conn until the parent sends
// Stop or goes away (nil), or the game fails (the error, also sent to the
// parent as a Fatal message). It closes conn before it returns. It must be
// the only libretro user of the process. It confines nothing: Child runs
// it in the sandbox.
func Serve(ctx context.Context, conn io.ReadWriteCloser, log *slog.Logger) error {
	return serveWith(ctx, conn, log, sandbox.None())
}

// serveWith is Serve in a sandbox that report describes, for Ready.
func serveWith(ctx context.Context, conn io.ReadWriteCloser, log *slog.Logger, report sandbox.Report) error {
	w := wire.NewWriter(conn)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close() // ends the command reader
	err := serve(ctx, conn, w, log, &wg, report)
	if err != nil {
		// Best effort: the parent may be the reason we are failing.
		_ = w.Send(wire.Fatal{Error: err.Error(), Reason: faultReason(err)})
	}
	return err
}

// gameFaults pairs each wire.Fatal reason with the libretro errors it
// stands for: the child names the reason of its error (faultReason), the
// parent gives the first error back (fatalError).
func gameFaults() []struct {
	reason string
	err    error
} {
	return []struct {
		reason string
		err    error
	}{
		{wire.ReasonEmptyGame, libretro.ErrEmptyGame},
		{wire.ReasonGameTooLarge, libretro.ErrGameTooLarge},
		{wire.ReasonNotAGame, libretro.ErrGameRejected},
		{wire.ReasonNotAGame, libretro.ErrWrongExtension},
	}
}

// faultReason is the wire.Fatal reason when err says the game's file is
// to blame, else "".
func faultReason(err error) string {
	for _, f := range gameFaults() {
		if errors.Is(err, f.err) {
			return f.reason
		}
	}
	return ""
}

func serve(ctx context.Context, conn io.Reader, w *wire.Writer, log *slog.Logger, wg *sync.WaitGroup, report sandbox.Report) error {
	r := wire.NewReader(conn)
	msg, err := r.Read()
	if err != nil {
		return fmt.Errorf("runner: read start: %w", err)
	}
	if _, ok := msg.(wire.Prepare); ok {
		// Confined already (child): the pool may hand this runner a game.
		if err := w.Send(wire.Prepared{}); err != nil {
			return fmt.Errorf("runner: send prepared: %w", err)
		}
		if msg, err = r.Read(); err != nil {
			return fmt.Errorf("runner: read start: %w", err)
		}
	}
	start, ok := msg.(wire.Start)
	if !ok {
		return fmt.Errorf("runner: first message is type %d, want start", msg.Type())
	}
	var cfg Config
	if err := json.Unmarshal(start.Config, &cfg); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()

	// Cores keep thread-local state; every call into this one comes from
	// this OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	g, err := newGame(cfg, w, log, report)
	if err != nil {
		return err
	}
	defer g.close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readDone := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		readDone <- g.readCommands(ctx, r)
	}()
	if err := g.loop(ctx); err != nil {
		return err
	}
	select {
	case err := <-readDone:
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("runner: read commands: %w", err)
		}
	default: // ctx ended from outside
	}
	return nil
}

// game is one running game: the core, its encoders, and the loop's state.
type game struct {
	cfg  Config
	core *libretro.Core
	w    *wire.Writer
	log  *slog.Logger

	inputs   inputTable
	commands chan wire.Message
	keyframe atomic.Bool
	// inputChanged wakes the loop when an input changed, for an early
	// frame (PhaseInput).
	inputChanged chan struct{}
	pace         *pacer

	appliedInput uint32 // Seq of the newest input applied
	ahead        *runAhead

	img       *yuv.I420
	video     videoEncoder
	videoErr  error
	frameNo   uint64
	fps       float64
	announced wire.Geometry

	resampler  *resample.Resampler
	audioEnc   *opus.Encoder
	sampleRate float64
	resampled  []int16 // 48 kHz stereo not yet encoded

	stats statsWindow
}

func newGame(cfg Config, w *wire.Writer, log *slog.Logger, report sandbox.Report) (*game, error) {
	core, err := libretro.Load(libretro.Config{
		Path:      cfg.Core,
		SystemDir: cfg.SystemDir,
		SaveDir:   cfg.SaveDir,
		Options:   cfg.Options,
		Logger:    log,
	})
	if err != nil {
		return nil, err
	}
	g := &game{cfg: cfg, core: core, w: w, log: log, commands: make(chan wire.Message, 64), inputChanged: make(chan struct{}, 1)}
	if err := core.LoadGame(cfg.Game, nil); err != nil {
		g.close()
		return nil, err
	}
	if cfg.SRAM != nil {
		if err := core.SetSRAM(cfg.SRAM); err != nil {
			g.close()
			return nil, fmt.Errorf("runner: restore SRAM: %w", err)
		}
	}
	g.ahead = newRunAhead(core, cfg.RunAhead, g.onFrame, &g.stats, log)
	core.SetVideo(g.ahead.onFrame)
	av := core.AVInfo()
	if err := g.setTiming(av); err != nil {
		g.close()
		return nil, err
	}
	g.announced = wire.Geometry{Width: av.BaseWidth, Height: av.BaseHeight, Aspect: av.AspectRatio}
	ready := wire.Ready{
		Core:        core.SystemInfo().Name,
		CoreVersion: core.SystemInfo().Version,
		Width:       av.BaseWidth,
		Height:      av.BaseHeight,
		Aspect:      av.AspectRatio,
		FPS:         av.FPS,
		SampleRate:  av.SampleRate,
		Codec:       string(cfg.Video.Codec),
		RunAhead:    g.ahead.Frames(),
	}
	for _, s := range report {
		ready.Sandbox = append(ready.Sandbox, wire.SandboxLayer{Layer: s.Layer.String(), On: s.On, Detail: s.Detail})
	}
	if err := w.Send(ready); err != nil {
		g.close()
		return nil, fmt.Errorf("runner: send ready: %w", err)
	}
	log.Info("game started", "core", ready.Core, "game", cfg.Game, "width", ready.Width, "height", ready.Height, "fps", ready.FPS, "sample_rate", ready.SampleRate, "codec", ready.Codec, "run_ahead", ready.RunAhead, "sandbox", report.On())
	return g, nil
}

func (g *game) close() {
	if g.video != nil {
		g.video.Close()
	}
	if g.audioEnc != nil {
		g.audioEnc.Close()
	}
	if g.resampler != nil {
		g.resampler.Close()
	}
	g.core.Close()
}

// setTiming (re)builds what depends on the core's frame and sample rates.
func (g *game) setTiming(av libretro.AVInfo) error {
	// Negated, so that NaN, which a crafted state can make a core
	// report, fails too.
	if !(av.FPS > 0 && av.FPS <= 240) {
		return fmt.Errorf("runner: core reports %v frames per second", av.FPS)
	}
	g.fps = av.FPS
	if av.SampleRate == g.sampleRate && g.resampler != nil {
		return nil
	}
	if !(av.SampleRate > 0 && av.SampleRate <= 384000) {
		return fmt.Errorf("runner: core reports a sample rate of %v Hz", av.SampleRate)
	}
	if g.resampler != nil {
		g.resampler.Close()
	}
	rs, err := resample.New(2, av.SampleRate, opus.SampleRate, resampleQuality)
	if err != nil {
		return fmt.Errorf("runner: audio resampler: %w", err)
	}
	g.resampler, g.sampleRate = rs, av.SampleRate
	if g.audioEnc == nil {
		g.audioEnc, err = opus.NewEncoder(opus.EncoderConfig{Channels: 2, BitrateKbps: g.cfg.Audio.BitrateKbps, FrameDuration: g.cfg.Audio.FrameDuration})
		if err != nil {
			return fmt.Errorf("runner: opus encoder: %w", err)
		}
	}
	return nil
}

// readCommands feeds the frame loop from the parent's messages. Input goes
// straight into the input table, so it is never queued behind anything.
func (g *game) readCommands(ctx context.Context, r *wire.Reader) error {
	for {
		msg, err := r.Read()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case wire.Input:
			if g.inputs.update(m) {
				select {
				case g.inputChanged <- struct{}{}:
				default:
				}
			}
		case wire.Keyframe:
			g.keyframe.Store(true)
		case wire.Stop:
			return nil
		case wire.Request, wire.SetBitrate, wire.Phase:
			select {
			case g.commands <- m:
			case <-ctx.Done():
				return nil
			}
		default:
			g.log.Warn("runner: ignoring unexpected message", "type", msg.Type())
		}
	}
}

// loop runs frames at the core's rate until ctx ends. It sleeps between
// frames on absolute deadlines, which its pacer sets, so timer jitter
// never accumulates into drift.
func (g *game) loop(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	now := time.Now()
	g.pace = newPacer(g.cfg.FramePhase, g.period(), now)
	g.stats.reset(now)
	var wake <-chan struct{} // input changes, when they may run a frame early
	if g.pace.mode == PhaseInput {
		wake = g.inputChanged
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-wake:
			if !g.pace.inputChanged(time.Now()) {
				continue
			}
			timer.Stop()
		}
		started := time.Now()
		if started.Sub(g.stats.since) >= time.Second {
			st := g.stats.take(started)
			st.Early = g.pace.takeEarly()
			st.VideoKbps = g.cfg.Video.BitrateKbps
			if err := g.w.Write(st); err != nil {
				return fmt.Errorf("runner: send stats: %w", err)
			}
		}
		if g.pace.begin(started) {
			g.stats.late++
		}
		if err := g.handleCommands(); err != nil {
			return err
		}
		if err := g.frame(); err != nil {
			return err
		}
		if g.core.ShutdownRequested() {
			return errors.New("runner: the core shut down")
		}
		if err := g.w.Flush(); err != nil {
			return fmt.Errorf("runner: send: %w", err)
		}
		// Run-ahead's save for the next frame, now that this one is sent.
		g.ahead.keep()

		now := time.Now()
		timer.Reset(g.pace.advance(now, g.period()).Sub(now))
	}
}

// period is one frame at the core's rate.
func (g *game) period() time.Duration {
	return time.Duration(float64(time.Second) / g.fps)
}

// handleCommands runs the parent's requests between two frames, where the
// core's state is consistent.
func (g *game) handleCommands() error {
	for {
		select {
		case m := <-g.commands:
			switch m := m.(type) {
			case wire.SetBitrate:
				g.cfg.Video.BitrateKbps = int(m.Kbps)
				if g.video != nil {
					if err := g.video.SetBitrate(int(m.Kbps)); err != nil {
						g.log.Warn("runner: set bitrate", "kbps", m.Kbps, "err", err)
					}
				}
			case wire.Phase:
				g.pace.setPhase(m.Offset)
			case wire.Request:
				if err := g.w.Write(g.answer(m)); err != nil {
					return fmt.Errorf("runner: send reply: %w", err)
				}
			}
		default:
			return nil
		}
	}
}

func (g *game) answer(req wire.Request) wire.Reply {
	reply := wire.Reply{ID: req.ID}
	var err error
	switch req.Op {
	case wire.OpSaveState:
		var ok bool
		if reply.Data, ok = g.ahead.realState(); !ok {
			reply.Data, err = g.core.SaveState()
		}
	case wire.OpLoadState:
		err = g.core.LoadState(req.Data)
	case wire.OpReset:
		err = g.core.Reset()
	case wire.OpReadSRAM:
		reply.Data = g.core.SRAM()
	case wire.OpWriteSRAM:
		err = g.core.SetSRAM(req.Data)
	case wire.OpThumbnail:
		reply.Data, err = g.thumbnail()
	default:
		err = fmt.Errorf("runner: unknown request %v", req.Op)
	}
	if err != nil {
		reply.Error = err.Error()
		reply.Data = nil
	}
	if err == nil && (req.Op == wire.OpLoadState || req.Op == wire.OpReset) {
		// The picture jumps: viewers decode it best from a keyframe.
		g.keyframe.Store(true)
		// And run-ahead's real timeline starts anew from here.
		g.ahead.restart()
	}
	return reply
}

// thumbnail is the picture of the last frame, as encoded: what the
// players saw. Only the copy is made here, between two frames; the parent
// compresses it.
func (g *game) thumbnail() ([]byte, error) {
	if g.img == nil {
		return nil, errors.New("runner: no picture yet")
	}
	return wire.AppendPicture(nil, g.img.Width, g.img.Height, func(rgba []byte) error { return g.img.ToRGBA(rgba) })
}

// frame emulates, encodes and sends one frame.
func (g *game) frame() error {
	var pads padState
	for port, in := range g.inputs.snapshot() {
		pads[port] = libretro.Input{Buttons: in.Buttons, Analog: in.Analog}
		if int32(in.Seq-g.appliedInput) > 0 {
			g.appliedInput = in.Seq
		}
	}

	t0 := time.Now()
	samples, err := g.ahead.step(pads)
	if err != nil {
		return err
	}
	captured := time.Now()
	g.stats.emulate.add(captured.Sub(t0) - g.stats.convertThisFrame)
	g.stats.convert.add(g.stats.convertThisFrame)
	g.stats.convertThisFrame = 0
	if g.videoErr != nil {
		return g.videoErr
	}
	if g.core.AVInfoChanged() {
		if err := g.setTiming(g.core.AVInfo()); err != nil {
			return err
		}
	}
	if err := g.sendVideo(captured); err != nil {
		return err
	}
	return g.sendAudio(captured, samples)
}

// onFrame receives the core's picture during Run and converts it at once:
// the core's buffer is only valid inside this call.
func (g *game) onFrame(f libretro.Frame, dupe bool) {
	if dupe || g.videoErr != nil {
		return // keep the previous picture in g.img
	}
	t0 := time.Now()
	if g.img == nil || g.img.Width != f.Width || g.img.Height != f.Height {
		if err := g.resize(f.Width, f.Height); err != nil {
			g.videoErr = err
			return
		}
	}
	if err := g.img.Convert(f.Data, f.Pitch, pixelFormat(f.Format)); err != nil {
		g.videoErr = fmt.Errorf("runner: convert frame: %w", err)
		return
	}
	g.stats.convertThisFrame += time.Since(t0)
}

// resize starts a new encoder for a new picture size and tells the parent.
func (g *game) resize(width, height int) error {
	img, err := yuv.NewI420(width, height)
	if err != nil {
		return fmt.Errorf("runner: frame of %dx%d: %w", width, height, err)
	}
	if g.video != nil {
		g.video.Close()
		g.video = nil
	}
	enc, err := newVideoEncoder(g.cfg.Video.Codec, width, height, g.fps, g.cfg.Video.BitrateKbps)
	if err != nil {
		return fmt.Errorf("runner: video encoder for %dx%d: %w", width, height, err)
	}
	g.img, g.video = img, enc
	g.keyframe.Store(true)
	geo := wire.Geometry{Width: width, Height: height, Aspect: g.core.AVInfo().AspectRatio}
	if geo != g.announced {
		g.announced = geo
		if err := g.w.Write(geo); err != nil {
			return fmt.Errorf("runner: send geometry: %w", err)
		}
	}
	return nil
}

func (g *game) sendVideo(captured time.Time) error {
	if g.img == nil {
		return nil // the core has not drawn anything yet
	}
	t0 := time.Now()
	data, key, err := g.video.encode(g.img, g.keyframe.Swap(false))
	g.stats.encode.add(time.Since(t0))
	if err != nil {
		return fmt.Errorf("runner: encode video: %w", err)
	}
	frame := g.frameNo
	g.frameNo++
	if len(data) == 0 {
		return nil
	}
	g.stats.videoBytes += len(data)
	return g.w.Write(wire.Video{
		Frame:    frame,
		Captured: captured,
		Duration: time.Duration(float64(time.Second) / g.fps),
		Input:    g.appliedInput,
		Keyframe: key,
		Data:     data,
	})
}

// sendAudio resamples the frame's audio to 48 kHz and sends every whole
// Opus frame; the remainder waits for the next video frame.
func (g *game) sendAudio(captured time.Time, samples []int16) error {
	t0 := time.Now()
	defer func() { g.stats.audio.add(time.Since(t0)) }()
	g.resampled = g.resampler.Process(g.resampled, samples)
	n := g.audioEnc.FrameSamples() * 2
	sent := 0
	for len(g.resampled)-sent >= n {
		packet, err := g.audioEnc.Encode(g.resampled[sent : sent+n])
		if err != nil {
			return fmt.Errorf("runner: encode audio: %w", err)
		}
		sent += n
		g.stats.audioBytes += len(packet)
		if err := g.w.Write(wire.Audio{Captured: captured, Duration: g.cfg.Audio.FrameDuration, Data: packet}); err != nil {
			return err
		}
	}
	g.resampled = append(g.resampled[:0], g.resampled[sent:]...)
	return nil
}

func pixelFormat(f libretro.PixelFormat) yuv.PixelFormat {
	switch f {
	case libretro.PixelFormatXRGB8888:
		return yuv.XRGB8888
	case libretro.PixelFormatRGB565:
		return yuv.RGB565
	}
	return yuv.RGB1555
}

// inputTable holds the newest state of each player slot, and what the
// frame loop has not yet seen of it.
type inputTable struct {
	mu     sync.Mutex
	states [libretro.Ports]wire.Input
	seen   [libretro.Ports]bool
	// pressed holds each slot's buttons pressed since the last snapshot:
	// a tap whose press and release both arrive between two frames still
	// reaches the game, for one frame, instead of vanishing.
	pressed [libretro.Ports]uint16
	// latest holds, of each pair of opposite directions, the one pressed
	// last (neither when both came at once).
	latest [libretro.Ports]uint16
}

// Opposite directions: cores and games misbehave when both of a pair are
// held (Zelda's Link walks through walls with Left+Right), which a crowd's
// combined pad, a gamepad's worn d-pad or a kept tap could otherwise send.
const (
	upDown    = 1<<libretro.ButtonUp | 1<<libretro.ButtonDown
	leftRight = 1<<libretro.ButtonLeft | 1<<libretro.ButtonRight
)

// update keeps m unless a newer state of its slot arrived first. Sequence
// numbers wrap: newer means ahead by less than half the range.
func (t *inputTable) update(m wire.Input) bool {
	if int(m.Slot) >= len(t.states) {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	slot := m.Slot
	if t.seen[slot] && int32(m.Seq-t.states[slot].Seq) <= 0 {
		return false
	}
	down := m.Buttons &^ t.states[slot].Buttons // never seen: states is the zero pad
	t.pressed[slot] |= down
	for _, pair := range [...]uint16{upDown, leftRight} {
		if down&pair != 0 {
			t.latest[slot] = t.latest[slot]&^pair | down&pair
			if down&pair == pair {
				t.latest[slot] &^= pair // both at once: neither is newer
			}
		}
	}
	t.states[slot], t.seen[slot] = m, true
	return true
}

// snapshot is the pad of every slot for the next frame: the buttons held,
// and those pressed since the last snapshot even if released since (the
// release takes effect a frame later), with only the newer of two
// opposite directions.
func (t *inputTable) snapshot() [libretro.Ports]wire.Input {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.states
	for slot := range out {
		b := out[slot].Buttons | t.pressed[slot]
		for _, pair := range [...]uint16{upDown, leftRight} {
			if b&pair == pair {
				b = b&^pair | t.latest[slot]&pair
			}
		}
		out[slot].Buttons = b
		t.pressed[slot] = 0
	}
	return out
}

// statsWindow accumulates the frame loop's costs between two Stats messages.
type statsWindow struct {
	since                  time.Time
	cpuSince               time.Duration
	late                   int
	emulate, convert       timing
	encode, audio          timing
	videoBytes, audioBytes int
	convertThisFrame       time.Duration
	// Run-ahead's (runAhead).
	save, replay      timing
	replays, replayed int
}

type timing struct {
	total, max time.Duration
	n          int
}

func (t *timing) add(d time.Duration) {
	t.total += d
	t.n++
	t.max = max(t.max, d)
}

func (t timing) wire() wire.Timing {
	if t.n == 0 {
		return wire.Timing{}
	}
	return wire.Timing{Mean: t.total / time.Duration(t.n), Max: t.max}
}

func (s *statsWindow) reset(now time.Time) {
	*s = statsWindow{since: now, cpuSince: processCPU()}
}

func (s *statsWindow) take(now time.Time) wire.Stats {
	interval := now.Sub(s.since)
	cpu := processCPU()
	st := wire.Stats{
		Interval:   interval,
		Frames:     s.emulate.n,
		FPS:        float64(s.emulate.n) / interval.Seconds(),
		Late:       s.late,
		Emulate:    s.emulate.wire(),
		Convert:    s.convert.wire(),
		Encode:     s.encode.wire(),
		Audio:      s.audio.wire(),
		VideoBytes: s.videoBytes,
		AudioBytes: s.audioBytes,
		CPU:        (cpu - s.cpuSince).Seconds() / interval.Seconds(),

		Save:           s.save.wire(),
		Replays:        s.replays,
		ReplayedFrames: s.replayed,
		Replay:         s.replay.wire(),
	}
	s.reset(now)
	return st
}

// processCPU is the CPU time this process has used, user plus system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package runner_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/media/opus"
	"github.com/telecart/telecart/internal/media/vpx"
	"github.com/telecart/telecart/internal/media/yuv"
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

// Every test runs in parallel with the others: each has runner processes
// of its own, and waits for frames, never for a length of time.

// session is a runner under test with everything it sent.
type session struct {
	*runner.Process
	video   chan wire.Video
	audio   chan wire.Audio
	stats   chan wire.Stats
	dropped atomic.Int64
}

func start(t testing.TB, opts runner.Options) (*session, error) {
	t.Helper()
	return startWith(t, opts, runner.Start)
}

// startWith is start with the runner started by startFn: a pool's Start,
// say.
func startWith(t testing.TB, opts runner.Options, startFn func(context.Context, runner.Options) (*runner.Process, error)) (*session, error) {
	t.Helper()
	s := &session{
		video: make(chan wire.Video, 4096),
		audio: make(chan wire.Audio, 8192),
		stats: make(chan wire.Stats, 64),
	}
	opts.Handlers = runner.Handlers{
		Video: func(v wire.Video) { offer(s, s.video, v) },
		Audio: func(a wire.Audio) { offer(s, s.audio, a) },
		Stats: func(st wire.Stats) { offer(s, s.stats, st) },
	}
	p, err := startFn(context.Background(), opts)
	if err != nil {
		return nil, err
	}
	s.Process = p
	t.Cleanup(func() {
		if err := p.Close(); err != nil && !errors.Is(err, runner.ErrCrashed) && !errors.Is(err, runner.ErrHung) {
			t.Errorf("close: %v", err)
		}
		assertReaped(t, p.Pid())
	})
	return s, nil
}

func offer[T any](s *session, ch chan T, v T) {
	select {
	case ch <- v:
	default:
		s.dropped.Add(1)
	}
}

func mustStart(t testing.TB, cfg runner.Config) *session {
	t.Helper()
	s, err := start(t, runnertest.Options(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertReaped checks that no process, not even a zombie, has the pid.
func assertReaped(t testing.TB, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("runner %d still exists after it ended (kill 0: %v)", pid, err)
	}
}

func (s *session) nextVideo(t *testing.T) wire.Video {
	t.Helper()
	select {
	case v := <-s.video:
		return v
	case <-time.After(waittest.Limit):
		t.Fatalf("no video frame for %v", waittest.Limit)
	case <-s.Done():
		t.Fatalf("runner ended: %v", s.Err())
	}
	panic("unreachable")
}

// picture decodes video frames and samples colours from them.
type picture struct {
	dec  *vpx.Decoder
	rgba []byte
	img  *yuv.I420
}

func newPicture(t *testing.T) *picture {
	t.Helper()
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dec.Close() })
	return &picture{dec: dec}
}

func (p *picture) decode(t *testing.T, v wire.Video) {
	t.Helper()
	img, err := p.dec.Decode(v.Data)
	if err != nil {
		t.Fatalf("decode frame %d: %v", v.Frame, err)
	}
	p.img = img
	if n := 4 * img.Width * img.Height; len(p.rgba) != n {
		p.rgba = make([]byte, n)
	}
	if err := img.ToRGBA(p.rgba); err != nil {
		t.Fatal(err)
	}
}

func (p *picture) at(pt image.Point) color.RGBA {
	i := 4 * (pt.Y*p.img.Width + pt.X)
	return color.RGBA{p.rgba[i], p.rgba[i+1], p.rgba[i+2], 255}
}

// mean is the average colour of the middle of r, away from its edges,
// where the codec's blocks blur it into its neighbours.
func (p *picture) mean(r image.Rectangle) color.RGBA {
	r = r.Inset(min(r.Dx(), r.Dy()) / 4)
	var sum [3]int
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := p.at(image.Pt(x, y))
			sum[0] += int(c.R)
			sum[1] += int(c.G)
			sum[2] += int(c.B)
			n++
		}
	}
	return color.RGBA{uint8(sum[0] / n), uint8(sum[1] / n), uint8(sum[2] / n), 255}
}

func distance(a, b color.RGBA) float64 {
	dr, dg, db := float64(a.R)-float64(b.R), float64(a.G)-float64(b.G), float64(a.B)-float64(b.B)
	return math.Sqrt(dr*dr + dg*dg + db*db)
}

// colourMatch reports whether got is closer to want than to any other
// colour the test ROM can show, and close in absolute terms.
func colourMatch(got, want color.RGBA) bool {
	if distance(got, want) > 40 {
		return false
	}
	candidates := []color.RGBA{testrom.FillColor(), testrom.P2Color(true), testrom.P2Color(false), testrom.MarkColor(false), testrom.MarkColor(true)}
	for _, b := range testrom.Buttons() {
		candidates = append(candidates, testrom.FillColor(b))
	}
	for _, c := range candidates {
		if c != want && distance(got, c) < distance(got, want) {
			return false
		}
	}
	return true
}

// TestInputToPicture sends every button through the runner protocol and
// decodes the encoded stream: the test ROM's picture must show the
// button's colour in the frame the input was applied to, or the next. The
// mark box comes along: off until player 1's Select flips it on, then on.
func TestInputToPicture(t *testing.T) {
	t.Parallel()
	s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)})
	pic := newPicture(t)

	var seq uint32
	// press holds buttons and decodes frames up to the first one the input
	// was applied to, which it returns.
	press := func(slot uint8, buttons uint16) wire.Video {
		seq++
		if err := s.SendInput(wire.Input{Slot: slot, Seq: seq, Buttons: buttons}); err != nil {
			t.Fatal(err)
		}
		for {
			v := s.nextVideo(t)
			pic.decode(t, v)
			if v.Input >= seq {
				return v
			}
		}
	}
	// check passes if the frame the input was applied to, or the next one,
	// satisfies ok; it reports which.
	check := func(name string, slot uint8, buttons uint16, ok func(*picture) bool) {
		t.Helper()
		applied := press(slot, buttons)
		if ok(pic) {
			t.Logf("%s: picture changed in frame %d, the frame the input was applied to", name, applied.Frame)
			return
		}
		v := s.nextVideo(t)
		pic.decode(t, v)
		if !ok(pic) {
			t.Errorf("%s: picture not changed in frame %d (input applied in frame %d)", name, v.Frame, applied.Frame)
			return
		}
		t.Logf("%s: picture changed in frame %d, one after the input was applied", name, v.Frame)
	}

	// Let the ROM boot.
	for range 10 {
		pic.decode(t, s.nextVideo(t))
	}
	fill := testrom.FillPoint()
	if got := pic.at(fill); !colourMatch(got, testrom.FillColor()) {
		t.Fatalf("idle picture %v, want the no-button colour %v", got, testrom.FillColor())
	}
	mark := false
	markShown := func(p *picture) bool { return colourMatch(p.mean(testrom.MarkBox()), testrom.MarkColor(mark)) }
	if !markShown(pic) {
		t.Fatalf("mark box %v at start, want off, %v", pic.mean(testrom.MarkBox()), testrom.MarkColor(false))
	}

	for _, b := range testrom.Buttons() {
		mark = mark || b == testrom.Select
		check("player 1 "+b.String(), 0, b.Joypad(), func(p *picture) bool {
			return colourMatch(p.mean(image.Rectangle{Min: fill.Sub(image.Pt(8, 8)), Max: fill.Add(image.Pt(8, 8))}), testrom.FillColor(b)) && markShown(p)
		})
	}
	check("player 1 released", 0, 0, func(p *picture) bool {
		return colourMatch(p.mean(image.Rectangle{Min: fill.Sub(image.Pt(8, 8)), Max: fill.Add(image.Pt(8, 8))}), testrom.FillColor()) && markShown(p)
	})
	for _, b := range testrom.Buttons() {
		check("player 2 "+b.String(), 1, b.Joypad(), func(p *picture) bool {
			for _, other := range testrom.Buttons() {
				if !colourMatch(p.mean(testrom.P2Box(other)), testrom.P2Color(other == b)) {
					return false
				}
			}
			// Player 2 never changes player 1's area, nor the mark.
			return colourMatch(p.at(fill), testrom.FillColor()) && markShown(p)
		})
	}
	if n := s.dropped.Load(); n > 0 {
		t.Errorf("test dropped %d messages", n)
	}
}

// TestToneWhileAHeld decodes the Opus stream: silent with nothing held,
// a tone while A is held.
func TestToneWhileAHeld(t *testing.T) {
	t.Parallel()
	s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)})
	dec, err := opus.NewDecoder(2)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	rms := func(packets int) float64 {
		var sum float64
		var n int
		for range packets {
			var a wire.Audio
			select {
			case a = <-s.audio:
			case <-time.After(waittest.Limit):
				t.Fatalf("no audio for %v", waittest.Limit)
			}
			pcm, err := dec.Decode(a.Data)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range pcm {
				sum += float64(v) * float64(v)
			}
			n += len(pcm)
		}
		return math.Sqrt(sum / float64(n))
	}
	drain := func() {
		for {
			select {
			case <-s.audio:
			default:
				return
			}
		}
	}
	for range 10 { // past the ROM's start-up
		s.nextVideo(t)
	}
	drain()
	quiet := rms(30)
	if err := s.SendInput(wire.Input{Slot: 0, Seq: 1, Buttons: testrom.A.Joypad()}); err != nil {
		t.Fatal(err)
	}
	for s.nextVideo(t).Input < 1 {
	}
	drain() // what was encoded before A was held
	tone := rms(30)
	t.Logf("audio RMS: %.0f idle, %.0f with A held", quiet, tone)
	if quiet > 50 {
		t.Errorf("RMS %.0f with nothing held, want silence", quiet)
	}
	if tone < 1000 {
		t.Errorf("RMS %.0f with A held, want a tone", tone)
	}
}

// TestAudioFrames checks the Opus packets carry the configured duration of
// 48 kHz stereo, and keep pace with the video.
func TestAudioFrames(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t), Audio: runner.AudioConfig{FrameDuration: d}})
			dec, err := opus.NewDecoder(2)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			var last wire.Video
			for range 120 {
				last = s.nextVideo(t)
			}
			// The audio of a frame follows its video on the socket, so the
			// first packet of a later frame means every packet of the first
			// 120 has arrived.
			var total time.Duration
			for {
				var a wire.Audio
				select {
				case a = <-s.audio:
				case <-time.After(waittest.Limit):
					t.Fatalf("no audio for %v", waittest.Limit)
				}
				if a.Captured.After(last.Captured) {
					break
				}
				if a.Duration != d {
					t.Fatalf("packet of %v, want %v", a.Duration, d)
				}
				pcm, err := dec.Decode(a.Data)
				if err != nil {
					t.Fatal(err)
				}
				if want := 2 * int(d*opus.SampleRate/time.Second); len(pcm) != want {
					t.Fatalf("packet decodes to %d samples, want %d", len(pcm), want)
				}
				total += a.Duration
			}
			// 120 frames at 60 fps are 2 s of sound, less what waits for a
			// whole packet.
			if video := 2 * time.Second; total < video-d || total > video {
				t.Errorf("%v of audio for %v of video", total, video)
			}
		})
	}
}

// TestSharedROMs plays the homebrew through the runner: frames flow, the
// decoded picture is not blank, the decoded audio is not silent.
func TestSharedROMs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ system, rom string }{
		{"nes", "nes/Alwa's Awakening (Demo).nes"},
		{"gba", "gba/anguna.gba"},
	} {
		t.Run(filepath.Base(tt.rom), func(t *testing.T) {
			t.Parallel()
			s := mustStart(t, runner.Config{Core: fixturetest.Core(t, tt.system), Game: fixturetest.SharedROM(t, tt.rom)})
			pic := newPicture(t)
			for range 600 {
				pic.decode(t, s.nextVideo(t))
			}
			colours := map[color.RGBA]bool{}
			for y := 0; y < pic.img.Height; y += 4 {
				for x := 0; x < pic.img.Width; x += 4 {
					colours[pic.at(image.Pt(x, y))] = true
				}
			}
			if len(colours) < 8 {
				t.Errorf("frame 600 has %d colours: blank", len(colours))
			}
			dec, err := opus.NewDecoder(2)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			var loud int
			for len(s.audio) > 0 {
				pcm, err := dec.Decode((<-s.audio).Data)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range pcm {
					if v > 500 || v < -500 {
						loud++
					}
				}
			}
			if loud == 0 {
				t.Error("10 s of audio without a sample above -36 dBFS: silent")
			}
		})
	}
}

func TestRequests(t *testing.T) {
	t.Parallel()
	s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)})
	ctx := context.Background()
	for range 5 { // past the power-up frames
		s.nextVideo(t)
	}
	// The thumbnail is the picture: the test ROM's idle fill, full size.
	pic, err := s.Thumbnail(ctx)
	if err != nil {
		t.Fatalf("thumbnail: %v", err)
	}
	if b := pic.Bounds(); b.Dx() != 256 || b.Dy() != 224 {
		t.Errorf("thumbnail of %v, want 256x224", b)
	}
	p := testrom.FillPoint()
	if got := pic.RGBAAt(p.X, p.Y); !colourMatch(got, testrom.FillColor()) {
		t.Errorf("thumbnail shows %v at the fill, want %v", got, testrom.FillColor())
	}
	state, err := s.SaveState(ctx)
	if err != nil || len(state) == 0 {
		t.Fatalf("save state: %d bytes, %v", len(state), err)
	}
	if err := s.LoadState(ctx, state); err != nil {
		t.Fatalf("load state: %v", err)
	}
	if err := s.LoadState(ctx, bytes.Repeat([]byte{0xEE}, len(state))); err == nil {
		t.Fatal("load of a garbage state succeeded")
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if sram, err := s.SRAM(ctx); err != nil || sram != nil {
		t.Fatalf("SRAM of a game without battery: %d bytes, %v", len(sram), err)
	}
	if err := s.SetSRAM(ctx, []byte{1}); err == nil {
		t.Fatal("SRAM write to a game without battery succeeded")
	}
	if err := s.SetBitrate(800); err != nil {
		t.Fatal(err)
	}
	// After all that the game still runs, and a keyframe comes on request.
	for range 5 {
		s.nextVideo(t)
	}
	if err := s.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	// Frames encoded before the request may still be on their way to a
	// reader slowed by a busy machine; the runner makes no keyframe
	// unasked, so one within two seconds of game is the request's.
	for i := 0; ; i++ {
		if s.nextVideo(t).Keyframe {
			break
		}
		if i == 120 {
			t.Fatal("no keyframe within 120 frames of the request")
		}
	}
}

func TestH264(t *testing.T) {
	t.Parallel()
	s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t), Video: runner.VideoConfig{Codec: runner.CodecH264}})
	first := s.nextVideo(t)
	if !first.Keyframe {
		t.Fatal("first H.264 frame is not a keyframe")
	}
	if !bytes.Contains(first.Data, []byte{0, 0, 1, 0x67}) {
		t.Fatal("first H.264 frame carries no SPS")
	}
	if r := s.Ready(); r.Codec != "h264" {
		t.Fatalf("ready says codec %q", r.Codec)
	}
}

// TestPacing checks the loop runs at the core's rate, not as fast as it
// can: never faster than the core's rate. (Slower happens on a loaded
// machine; how fast it runs on ours is BenchmarkRunnerCPU's business.)
func TestPacing(t *testing.T) {
	t.Parallel()
	s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)})
	var st wire.Stats
	for range 2 { // the first interval includes start-up
		select {
		case st = <-s.stats:
		case <-time.After(waittest.Limit):
			t.Fatalf("no stats for %v", waittest.Limit)
		}
	}
	want := s.Ready().FPS
	t.Logf("%.2f fps (core: %.3f), %d late, cpu %.1f%%", st.FPS, want, st.Late, st.CPU*100)
	if st.FPS > want*1.05 || st.Frames == 0 {
		t.Fatalf("loop ran at %.2f fps, the core's rate is %.3f", st.FPS, want)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	nes := fixturetest.Core(t, "nes")
	rom, err := os.ReadFile(fixturetest.TestROM(t))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string { return fixturetest.File(t, name, data) }
	huge := write("huge.nes", nil)
	if err := os.Truncate(huge, libretro.MaxGameSize+1); err != nil { // sparse: no disk spent
		t.Fatal(err)
	}
	faults := []error{libretro.ErrEmptyGame, libretro.ErrGameTooLarge, libretro.ErrGameRejected}
	tests := []struct {
		name  string
		cfg   runner.Config
		want  error
		fault error // what is wrong with the game's file, for the player; nil when it is not the file
	}{
		{"missing core", runner.Config{Core: "/nonexistent/core_libretro.so", Game: fixturetest.TestROM(t)}, runner.ErrFailed, nil},
		{"truncated ROM", runner.Config{Core: nes, Game: write("truncated.nes", rom[:len(rom)/2])}, runner.ErrFailed, libretro.ErrGameRejected},
		{"ROM for another system", runner.Config{Core: fixturetest.Core(t, "gba"), Game: write("test.gba", rom)}, runner.ErrFailed, libretro.ErrGameRejected},
		{"empty ROM", runner.Config{Core: nes, Game: write("empty.nes", nil)}, runner.ErrFailed, libretro.ErrEmptyGame},
		{"ROM over the size limit", runner.Config{Core: nes, Game: huge}, runner.ErrFailed, libretro.ErrGameTooLarge},
		{"missing ROM", runner.Config{Core: nes, Game: filepath.Join(t.TempDir(), "missing.nes")}, runner.ErrFailed, nil},
		{"bad codec", runner.Config{Core: nes, Game: fixturetest.TestROM(t), Video: runner.VideoConfig{Codec: "mpeg2"}}, runner.ErrInvalidConfig, nil},
		{"no game", runner.Config{Core: nes}, runner.ErrInvalidConfig, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := start(t, runnertest.Options(tt.cfg))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, f := range faults {
				if got := errors.Is(err, f); got != (f == tt.fault) {
					t.Errorf("%v: errors.Is %v is %v", err, f, got)
				}
			}
			t.Log(err)
		})
	}
}

// TestChildFailures kills or freezes a running runner: the parent reports
// why, and reaps it.
func TestChildFailures(t *testing.T) {
	t.Parallel()
	// A runner that died is noticed by its exit, whenever that comes; only
	// the frozen one is found out by the hang timeout, short to keep the
	// test quick. The others get one no busy machine reaches: a runner
	// starved of frames for a second before its kill would pass for hung.
	tests := []struct {
		name     string
		signal   syscall.Signal
		hang     time.Duration
		want     error
		wantText string
	}{
		{"killed", syscall.SIGKILL, waittest.Limit, runner.ErrCrashed, "killed"},
		{"crashed", syscall.SIGSEGV, waittest.Limit, runner.ErrCrashed, "SIGSEGV"},
		{"frozen", syscall.SIGSTOP, time.Second, runner.ErrHung, "no frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := runnertest.Options(runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)})
			opts.HangTimeout = tt.hang
			s, err := start(t, opts)
			if err != nil {
				t.Fatal(err)
			}
			s.nextVideo(t)
			if err := syscall.Kill(s.Pid(), tt.signal); err != nil {
				t.Fatal(err)
			}
			select {
			case <-s.Done():
			case <-time.After(waittest.Limit):
				t.Fatalf("runner not noticed as gone within %v", waittest.Limit)
			}
			if err := s.Err(); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("got %v, want %v saying %q", err, tt.want, tt.wantText)
			}
			assertReaped(t, s.Pid())
			if _, err := s.SaveState(context.Background()); !errors.Is(err, runner.ErrExited) {
				t.Fatalf("request to an ended runner: %v, want ErrExited", err)
			}
		})
	}
}

// TestSlowStartIsNoHang: a runner slow to load its game (on a busy
// machine, say) is not taken for hung. The hang timeout counts from when
// the game runs; loading has the start timeout.
func TestSlowStartIsNoHang(t *testing.T) {
	t.Parallel()
	opts := runnertest.Options(runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)})
	// The runner starts only after a pause four times the hang timeout.
	opts.Command = append([]string{"/bin/sh", "-c", `sleep 1 && exec "$@"`, "sh"}, opts.Command...)
	opts.HangTimeout = 250 * time.Millisecond
	opts.StartTimeout = waittest.Limit
	if _, err := start(t, opts); err != nil {
		t.Fatalf("a runner slow to start: %v", err)
	}
}

func TestCloseStopsCleanly(t *testing.T) {
	t.Parallel()
	s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)})
	s.nextVideo(t)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	assertReaped(t, s.Pid())
	if err := s.SendInput(wire.Input{Seq: 1}); !errors.Is(err, runner.ErrExited) {
		t.Fatalf("input after close: %v, want ErrExited", err)
	}
}

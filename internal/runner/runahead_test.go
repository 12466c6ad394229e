package runner

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/testrom"
)

// These tests drive a core in this process, one at a time (libretro allows
// one per process): none of them runs in parallel.

// loadTestROM loads the test ROM into nestopia in this process.
func loadTestROM(t testing.TB) *libretro.Core {
	t.Helper()
	c, err := libretro.Load(libretro.Config{Path: fixturetest.Core(t, "nes"), SystemDir: t.TempDir(), SaveDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LoadGame(fixturetest.TestROM(t), nil); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// screen keeps the newest picture a VideoFunc was given, as the runner's
// converter would: a dupe keeps the picture before it.
type screen struct {
	pixels []byte
	frames int // pictures received, dupes included
}

func (s *screen) show(f libretro.Frame, dupe bool) {
	s.frames++
	if !dupe {
		s.pixels = append(s.pixels[:0], f.Data...)
	}
}

// pad is player 1 holding buttons, and player 2 holding p2.
func pad(p1 []testrom.Button, p2 ...testrom.Button) padState {
	var in padState
	for _, b := range p1 {
		in[0].Buttons |= b.Joypad()
	}
	for _, b := range p2 {
		in[1].Buttons |= b.Joypad()
	}
	return in
}

// exactScript is an input stream for the exactness test: taps of A shorter
// and longer than every run-ahead, changes on consecutive frames, held
// buttons, Select flipping the mark (state that lasts), and player 2.
func exactScript() []padState {
	A, B, Sel, St := testrom.A, testrom.B, testrom.Select, testrom.Start
	var s []padState
	add := func(n int, in padState) {
		for range n {
			s = append(s, in)
		}
	}
	add(6, pad(nil)) // boot frames: the ROM reads no input yet
	add(3, pad(nil))
	add(1, pad([]testrom.Button{A}))
	add(5, pad(nil))
	add(8, pad([]testrom.Button{A}))
	add(1, pad([]testrom.Button{A, B}))
	add(1, pad([]testrom.Button{Sel}))
	add(1, pad(nil))
	add(1, pad([]testrom.Button{A}))
	add(1, pad([]testrom.Button{Sel, A}))
	add(2, pad(nil, testrom.Up))
	add(4, pad([]testrom.Button{St}, testrom.Up))
	add(1, pad([]testrom.Button{A}))
	add(1, pad(nil))
	add(1, pad([]testrom.Button{A}))
	add(7, pad(nil))
	add(2, pad([]testrom.Button{Sel}))
	add(6, pad([]testrom.Button{A}, testrom.Left))
	add(6, pad(nil))
	return s
}

// TestRunAheadExact checks run-ahead's promise for N from 0 to 3, byte for
// byte: the picture shown at frame t is the one a plain emulator shows at
// frame t+N when fed the same input up to t and t's input after, i.e. the
// game N frames sooner; and each frame plays one frame's audio, the
// plain emulator's frame t+N's.
func TestRunAheadExact(t *testing.T) {
	script := exactScript()
	type run struct {
		pictures [][]byte
		samples  []int
	}
	shown := map[int]run{}
	for n := range MaxRunAhead + 1 {
		c := loadTestROM(t)
		var s screen
		var stats statsWindow
		r := newRunAhead(c, n, s.show, &stats, slog.New(slog.DiscardHandler))
		c.SetVideo(r.onFrame)
		var got run
		for i, in := range script {
			audio, err := r.step(in)
			if err != nil {
				t.Fatalf("N=%d frame %d: %v", n, i, err)
			}
			got.pictures = append(got.pictures, bytes.Clone(s.pixels))
			got.samples = append(got.samples, len(audio))
			if i%2 == 0 {
				// The loop saves between frames; a step does it
				// itself when nobody did.
				r.keep()
			}
		}
		if r.Frames() != n {
			t.Fatalf("N=%d: run-ahead of %d in force at the end", n, r.Frames())
		}
		changes := 1 // the first frame starts the timeline
		for i := 1; i < len(script); i++ {
			if script[i] != script[i-1] {
				changes++
			}
		}
		if n > 0 && (stats.replays != changes || stats.replayed != n*changes) {
			t.Errorf("N=%d: %d replays of %d frames for %d changes of input, want %d of %d", n, stats.replays, stats.replayed, changes, changes, n*changes)
		}
		// keep's save between frames is wasted when the input then
		// changes: one more per change at most.
		if want := len(script) - changes + n*changes + 1; n > 0 && (stats.save.n < want || stats.save.n > want+changes) {
			t.Errorf("N=%d: %d saves, want %d to %d: one per frame of steady input (%d), N per change (%d), the first state, and keep's before changes", n, stats.save.n, want, want+changes, len(script)-changes, n*changes)
		}
		if s.frames != len(script) {
			t.Errorf("N=%d: %d pictures shown in %d frames: replayed frames were not muted", n, s.frames, len(script))
		}
		c.Close()
		shown[n] = got
	}

	// The reference: for each frame t, a fresh emulator fed the script up
	// to t, then t's input for MaxRunAhead frames more; no save states.
	for i := range script {
		c := loadTestROM(t)
		var s screen
		c.SetVideo(s.show)
		var samples []int
		for k := range i + 1 + MaxRunAhead {
			in := script[min(k, i)]
			for port, p := range in {
				if err := c.SetInput(port, p); err != nil {
					t.Fatal(err)
				}
			}
			audio, err := c.Run()
			if err != nil {
				t.Fatal(err)
			}
			samples = append(samples, len(audio))
			n := k - i
			if n < 0 {
				continue
			}
			if !bytes.Equal(shown[n].pictures[i], s.pixels) {
				t.Errorf("N=%d frame %d: the picture shown differs from the plain emulator's %d frames on (%s)", n, i, n, describe(shown[n].pictures[i], s.pixels))
			}
			if got := shown[n].samples[i]; got != samples[k] {
				t.Errorf("N=%d frame %d: %d audio samples, want frame %d's %d", n, i, got, k, samples[k])
			}
		}
		c.Close()
		if t.Failed() {
			return
		}
		if i < len(script)-1 {
			continue
		}
		// The stream as a whole: as many samples as the plain
		// emulator's over as many frames.
		plain := 0
		for _, k := range samples[:len(script)] {
			plain += k
		}
		for n := range MaxRunAhead + 1 {
			out := 0
			for _, k := range shown[n].samples {
				out += k
			}
			if out != plain {
				t.Errorf("N=%d: %d audio samples over %d frames, the plain emulator %d", n, out, len(script), plain)
			}
		}
	}
}

// describe says where two XRGB8888 pictures of the test ROM differ, for a
// failure message.
func describe(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d bytes, want %d", len(got), len(want))
	}
	var boxes []string
	for name, box := range map[string]image.Rectangle{"lag box": testrom.LagBox(), "echo box": testrom.EchoBox(), "mark box": testrom.MarkBox()} {
		p := box.Min
		if i := 4 * (p.Y*256 + p.X); !bytes.Equal(got[i:i+4], want[i:i+4]) {
			boxes = append(boxes, name)
		}
	}
	if p := testrom.FillPoint(); !bytes.Equal(got[4*(p.Y*256+p.X):][:4], want[4*(p.Y*256+p.X):][:4]) {
		boxes = append(boxes, "fill")
	}
	return "differs in: " + strings.Join(boxes, ", ")
}

// TestRunAheadHidesLag checks what a player sees: with N run-ahead frames,
// the lag box (LagFrames late) answers A N frames sooner, as it would
// with the game's lag N frames shorter.
func TestRunAheadHidesLag(t *testing.T) {
	for n := range testrom.LagFrames + 1 {
		c := loadTestROM(t)
		var s screen
		var stats statsWindow
		r := newRunAhead(c, n, s.show, &stats, slog.New(slog.DiscardHandler))
		c.SetVideo(r.onFrame)
		lit := func() bool {
			p := testrom.LagPoint()
			i := 4 * (p.Y*256 + p.X)
			return s.pixels[i+1] == testrom.LagColor(true).G // XRGB8888 is B, G, R, X in memory
		}
		for range 10 {
			if _, err := r.step(pad(nil)); err != nil {
				t.Fatal(err)
			}
		}
		late := -1
		for i := range 6 {
			if _, err := r.step(pad([]testrom.Button{testrom.A})); err != nil {
				t.Fatal(err)
			}
			if lit() {
				late = i
				break
			}
		}
		c.Close()
		if want := testrom.LagFrames - n; late != want {
			t.Errorf("N=%d: the lag box lit %d frames after the press, want %d", n, late, want)
		}
	}
}

// failingSaves is nestopia made to refuse its saves from the given one
// on, as a core that cannot serialise some state refuses: no core we ship
// fails a save, and run-ahead must survive one that does.
type failingSaves struct {
	*libretro.Core
	ok int // saves that succeed before the first failure
}

func (f *failingSaves) SaveStateInto(buf []byte) (int, error) {
	if f.ok == 0 {
		return 0, libretro.ErrSerialize
	}
	f.ok--
	return f.Core.SaveStateInto(buf)
}

// TestRunAheadSaveFails checks that a save that fails, first or midway
// through a replay, turns run-ahead off with a log line, and the game goes
// on answering its input.
func TestRunAheadSaveFails(t *testing.T) {
	for _, ok := range []int{0, 1, 5, 12} {
		t.Run(fmt.Sprintf("after %d saves", ok), func(t *testing.T) {
			c := loadTestROM(t)
			defer c.Close()
			var s screen
			var stats statsWindow
			var log bytes.Buffer
			r := newRunAhead(&failingSaves{Core: c, ok: ok}, 2, s.show, &stats, slog.New(slog.NewTextHandler(&log, nil)))
			c.SetVideo(r.onFrame)
			fill := func() []byte {
				p := testrom.FillPoint()
				return s.pixels[4*(p.Y*256+p.X):][:3]
			}
			for i := range 40 {
				in := pad(nil)
				if i%3 == 0 {
					in = pad([]testrom.Button{testrom.B})
				}
				if _, err := r.step(in); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			if r.Frames() != 0 {
				t.Fatalf("run-ahead of %d in force after failed saves", r.Frames())
			}
			if !strings.Contains(log.String(), "run-ahead off: the core failed to save a state") {
				t.Errorf("log: %q", log.String())
			}
			for _, b := range []testrom.Button{testrom.Start, testrom.B} {
				if _, err := r.step(pad([]testrom.Button{b})); err != nil {
					t.Fatal(err)
				}
				c := testrom.FillColor(b)
				if got := fill(); got[0] != c.B || got[1] != c.G || got[2] != c.R {
					t.Errorf("after the failure, %v shows fill % x, want %v", b, got, c)
				}
			}
		})
	}
}

// TestRunAheadDupe checks that a replay whose last frame repeats the
// picture before it (a dupe, which some cores send for an unchanged frame)
// shows the replay's last picture, not the one from before the replay.
func TestRunAheadDupe(t *testing.T) {
	var s screen
	r := &runAhead{show: s.show}
	frame := func(b byte) libretro.Frame {
		return libretro.Frame{Data: []byte{b, b, b, b}, Width: 1, Height: 1, Pitch: 4}
	}
	r.onFrame(frame(1), false) // shown before the replay
	r.muted = true
	r.onFrame(frame(2), false)
	r.onFrame(frame(3), false)
	r.onFrame(libretro.Frame{}, true)
	r.muted = false
	r.onFrame(libretro.Frame{}, true) // the replay's last frame: a dupe
	if !bytes.Equal(s.pixels, []byte{3, 3, 3, 3}) {
		t.Errorf("shown % x after a replay ending in a dupe, want the replay's last picture", s.pixels)
	}
	if s.frames != 2 {
		t.Errorf("%d pictures shown, want 2: replayed frames are muted", s.frames)
	}
	r.onFrame(libretro.Frame{}, true) // an ordinary dupe keeps the picture
	r.onFrame(frame(4), false)
	if !bytes.Equal(s.pixels, []byte{4, 4, 4, 4}) {
		t.Errorf("shown % x, want the newest picture", s.pixels)
	}
}

// TestRunAheadLoadState checks that a state loaded between frames starts
// the real timeline afresh: the ring's states belong to the old one.
func TestRunAheadLoadState(t *testing.T) {
	c := loadTestROM(t)
	defer c.Close()
	var s screen
	var stats statsWindow
	r := newRunAhead(c, 2, s.show, &stats, slog.New(slog.DiscardHandler))
	c.SetVideo(r.onFrame)
	step := func(in padState) {
		t.Helper()
		if _, err := r.step(in); err != nil {
			t.Fatal(err)
		}
	}
	for range 8 {
		step(pad(nil))
	}
	saved, ok := r.realState()
	if !ok {
		t.Fatal("no real state with run-ahead on")
	}
	markOn := func() bool {
		p := testrom.MarkBox().Min
		return s.pixels[4*(p.Y*256+p.X)+1] == testrom.MarkColor(true).G
	}
	step(pad([]testrom.Button{testrom.Select}))
	step(pad(nil))
	if !markOn() {
		t.Fatal("Select did not flip the mark")
	}
	if err := c.LoadState(saved); err != nil {
		t.Fatal(err)
	}
	r.restart()
	for range 3 {
		step(pad(nil))
	}
	if markOn() {
		t.Error("the mark is on after loading a state saved before it flipped")
	}
	step(pad([]testrom.Button{testrom.Select}))
	if !markOn() {
		t.Error("Select does not flip the mark after loading the state")
	}
}

func TestRunAheadConfig(t *testing.T) {
	for _, n := range []int{-1, MaxRunAhead + 1} {
		err := Config{Core: "core.so", Game: "game.nes", RunAhead: n}.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "want 0 to 3") {
			t.Errorf("run-ahead %d: %v, want ErrInvalidConfig with the range", n, err)
		}
	}
	p := RunAheadPolicy{On: true, Frames: map[string]int{"nes": 7}}
	if err := p.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "for nes") {
		t.Errorf("nes=7: %v, want ErrInvalidConfig naming nes", err)
	}
}

package testrom_test

import (
	"fmt"
	"image"
	"image/color"
	"slices"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/testrom"
)

// nes plays the test ROM in the installed nestopia, one frame at a time,
// and keeps the newest picture so tests can check it pixel for pixel.
type nes struct {
	core   *libretro.Core
	pixels []byte
	frame  libretro.Frame
	// heldA has one entry per run since loading: whether player 1 held A,
	// which the lag and echo boxes show some frames late.
	heldA []bool
}

// heldAgo reports whether player 1 held A the given number of frames
// before the newest run.
func (n *nes) heldAgo(frames int) bool {
	i := len(n.heldA) - 1 - frames
	return i >= 0 && n.heldA[i]
}

// bootFrames is how many retro_runs after loading pass before the ROM reads
// input (see the package comment).
const bootFrames = 4

// startNES loads the test ROM into nestopia, with its default options, for
// one test, and runs it until it reads input.
func startNES(t *testing.T) *nes {
	t.Helper()
	c, err := libretro.Load(libretro.Config{Path: fixturetest.Core(t, "nes"), SystemDir: t.TempDir(), SaveDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.LoadGame(fixturetest.TestROM(t), nil); err != nil {
		t.Fatal(err)
	}
	n := &nes{core: c}
	c.SetVideo(func(f libretro.Frame, dupe bool) {
		if dupe {
			return
		}
		n.pixels = append(n.pixels[:0], f.Data...)
		n.frame = f
		n.frame.Data = n.pixels
	})
	for range bootFrames {
		n.run(t, nil, nil)
	}
	if f := n.frame; f.Width != 256 || f.Height != 224 || f.Format != libretro.PixelFormatXRGB8888 {
		t.Fatalf("frame %dx%d %v, want 256x224 XRGB8888", f.Width, f.Height, f.Format)
	}
	return n
}

// run holds the buttons on pads 1 and 2 for one frame.
func (n *nes) run(t *testing.T, p1, p2 []testrom.Button) {
	t.Helper()
	for port, held := range [][]testrom.Button{p1, p2} {
		var in libretro.Input
		for _, b := range held {
			in.Buttons |= b.Joypad()
		}
		if err := n.core.SetInput(port, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.core.Run(); err != nil {
		t.Fatal(err)
	}
	n.heldA = append(n.heldA, slices.Contains(p1, testrom.A))
}

// press runs one frame with player 1 holding the buttons.
func (n *nes) press(t *testing.T, p1 ...testrom.Button) {
	t.Helper()
	n.run(t, p1, nil)
}

// at is the colour of one pixel of the newest picture.
func (n *nes) at(p image.Point) color.RGBA {
	i := p.Y*n.frame.Pitch + 4*p.X // XRGB8888 in memory: B, G, R, X
	return color.RGBA{n.pixels[i+2], n.pixels[i+1], n.pixels[i], 255}
}

// check compares the whole picture with what the Go API says it shows: the
// mark box in MarkColor(mark), player 2's boxes lit for p2, the lag and echo
// boxes lit for A as held LagFrames and EchoFrames runs ago, and the fill
// colour for p1 everywhere else. It reports the first wrong pixel.
func (n *nes) check(t *testing.T, name string, p1, p2 []testrom.Button, mark bool) {
	t.Helper()
	lit := map[testrom.Button]bool{}
	for _, b := range p2 {
		lit[b] = true
	}
	for y := range n.frame.Height {
		for x := range n.frame.Width {
			p := image.Pt(x, y)
			want, what := testrom.FillColor(p1...), "the fill"
			switch {
			case p.In(testrom.MarkBox()):
				want, what = testrom.MarkColor(mark), "the mark box"
			case p.In(testrom.LagBox()):
				want, what = testrom.LagColor(n.heldAgo(testrom.LagFrames)), "the lag box"
			case p.In(testrom.EchoBox()):
				want, what = testrom.LagColor(n.heldAgo(testrom.EchoFrames)), "the echo box"
			}
			for _, b := range testrom.Buttons() {
				if p.In(testrom.P2Box(b)) {
					want, what = testrom.P2Color(lit[b]), "player 2's "+b.String()+" box"
				}
			}
			if got := n.at(p); got != want {
				t.Errorf("%s: %v in %s is %v, want %v", name, p, what, got, want)
				return
			}
		}
	}
}

// TestNestopiaPicture checks every colour and box of the Go API against
// nestopia's own output, exactly: the idle picture, each of player 1's
// buttons, each of player 2's, both colours of the mark, all in the frame
// whose retro_run read the input.
func TestNestopiaPicture(t *testing.T) {
	n := startNES(t)
	n.check(t, "the fourth frame", nil, nil, false)
	n.press(t)
	n.check(t, "idle", nil, nil, false)

	mark := false
	for _, b := range testrom.Buttons() {
		n.press(t, b)
		mark = mark != (b == testrom.Select)
		n.check(t, "player 1 "+b.String(), []testrom.Button{b}, nil, mark)
	}
	for _, b := range testrom.Buttons() {
		held := []testrom.Button{b}
		n.run(t, nil, held)
		n.check(t, "player 2 "+b.String(), nil, held, mark)
	}
	both := []testrom.Button{testrom.A, testrom.Right}
	n.run(t, both, both)
	n.check(t, "A and Right on both pads", both, both, mark)
}

// TestMark checks the mark: off at power-on, flipped by each new press of
// player 1's Select in the frame that reads it, by nothing else.
func TestMark(t *testing.T) {
	n := startNES(t)
	isOn := func(step string, want bool) {
		t.Helper()
		if got := n.at(testrom.MarkBox().Min); got != testrom.MarkColor(want) {
			t.Fatalf("%s: mark box %v, want %v (on: %v)", step, got, testrom.MarkColor(want), want)
		}
	}
	for range 30 {
		n.press(t)
		isOn("idle", false)
	}
	n.press(t, testrom.Select)
	isOn("Select pressed", true)
	for range 30 {
		n.press(t, testrom.Select)
		isOn("Select held", true)
	}
	for range 30 {
		n.press(t)
		isOn("Select released", true)
	}
	n.run(t, nil, []testrom.Button{testrom.Select})
	n.press(t, testrom.A, testrom.B, testrom.Start, testrom.Up, testrom.Left)
	n.press(t)
	isOn("other buttons and player 2's Select", true)
	n.press(t, testrom.Select, testrom.A)
	isOn("Select pressed again, with A", false)
	n.press(t)
	isOn("Select released again", false)
	n.press(t, testrom.Select)
	n.press(t)
	n.press(t, testrom.Select)
	isOn("two presses in three frames", false)

	n.press(t)
	n.press(t, testrom.Select)
	isOn("on before reset", true)
	if err := n.core.Reset(); err != nil {
		t.Fatal(err)
	}
	for range bootFrames {
		n.press(t)
	}
	isOn("after reset", false)
}

// TestMarkSaveState saves a state, flips the mark, and loads the state: the
// mark is as saved, in each direction.
func TestMarkSaveState(t *testing.T) {
	n := startNES(t)
	for _, saved := range []bool{true, false} {
		n.press(t, testrom.Select)
		n.press(t)
		n.check(t, "before saving", nil, nil, saved)
		state, err := n.core.SaveState()
		if err != nil {
			t.Fatal(err)
		}
		n.press(t, testrom.Select)
		n.press(t)
		n.check(t, "flipped after saving", nil, nil, !saved)
		if err := n.core.LoadState(state); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			n.press(t)
			n.check(t, "after loading", nil, nil, saved)
		}
		// The state restores the mark, not a stale picture: it still flips.
		n.press(t, testrom.Select)
		n.check(t, "flipped after loading", []testrom.Button{testrom.Select}, nil, !saved)
		n.press(t)
		n.press(t, testrom.Select)
		n.press(t)
		n.check(t, "flipped back", nil, nil, saved)
	}
}

// TestLagBoxes checks the lag and echo boxes: each shows player 1's A
// exactly LagFrames or EchoFrames frames late, whatever the pattern of
// presses, and the rest of the picture is unchanged.
func TestLagBoxes(t *testing.T) {
	n := startNES(t)
	// One-frame taps, a hold, and taps closer together than the lag.
	pattern := []bool{false, true, false, false, false, false, false, true, true, true, true, true, true, false, true, false, true, true, false, false, false, false, false}
	for i, a := range pattern {
		var held []testrom.Button
		if a {
			held = []testrom.Button{testrom.A}
		}
		n.press(t, held...)
		n.check(t, fmt.Sprintf("frame %d of the pattern", i), held, nil, false)
		if lit := n.at(testrom.LagPoint()) == testrom.LagColor(true); lit != (i >= testrom.LagFrames && pattern[i-testrom.LagFrames]) {
			t.Fatalf("frame %d: lag box lit %v", i, lit)
		}
	}
}

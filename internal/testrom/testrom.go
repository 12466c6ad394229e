// Package testrom is Telecart's own NES test ROM: the default game, and the
// fixture for exact input-to-picture tests.
//
// The ROM (src/testrom.s, 6502 assembly for Debian's cc65) fills the screen
// with a colour chosen by player 1's buttons, lights one of eight boxes for
// each of player 2's buttons, and plays a tone while player 1 holds A. All
// that is a function of the buttons held in the current frame alone. The
// exceptions are the mark, a bit of RAM for save-state tests: off at
// power-on and reset, flipped by every new press of player 1's Select (held
// in this frame, not in the one before), shown in its own box, and saved and
// restored with the rest of the machine by save states; and the lag and echo
// boxes, which show player 1's A as held LagFrames and EchoFrames frames
// earlier: a game with known lag frames, for run-ahead. The ROM reads the
// controllers in its NMI handler and rewrites the palette in the same
// vblank, so with nestopia a button, and a flip of the mark, shows in the
// very frame whose retro_run read it. build.sh assembles it; `go generate`
// runs build.sh.
//
// Also measured with nestopia and its default options:
//   - The first three retro_runs after loading show power-up frames; the
//     idle picture is exact from the fourth on, and the ROM first reads the
//     controllers in the fifth: a button held only in the first four is
//     never seen, and so cannot flip the mark.
//   - The mark was added without changing anything else: over 600 frames
//     of input on both pads, the picture outside MarkBox and the sound of
//     every frame, power-up frames included, were those of the ROM before
//     it, sample for sample.
//   - nestopia drops Up+Down and Left+Right held together (neither reaches
//     the ROM), so tests must not hold opposite directions.
//   - The tone starts and stops in the retro_run that read A, but nestopia's
//     DC filter leaves a slowly decaying offset after release (halving about
//     every 10 frames): check silence by the level at ToneHz or by RMS with
//     the mean removed, not by plain RMS.
package testrom

import (
	_ "embed"
	"fmt"
	"image"
	"image/color"

	"github.com/telecart/telecart/internal/libretro"
)

//go:generate sh build.sh

//go:embed testrom.nes
var rom string

// ROM returns a fresh copy of the ROM file.
func ROM() []byte { return []byte(rom) }

// Button is an NES controller button, numbered in the order the NES shift
// register reports them.
type Button uint8

const (
	A Button = iota
	B
	Select
	Start
	Up
	Down
	Left
	Right
)

func (b Button) String() string {
	switch b {
	case A:
		return "A"
	case B:
		return "B"
	case Select:
		return "Select"
	case Start:
		return "Start"
	case Up:
		return "Up"
	case Down:
		return "Down"
	case Left:
		return "Left"
	case Right:
		return "Right"
	}
	return fmt.Sprintf("Button(%d)", uint8(b))
}

// Joypad is the button's bit in a libretro pad state (RETRO_DEVICE_ID_JOYPAD),
// as a browser sends it and a runner applies it.
func (b Button) Joypad() uint16 {
	id := map[Button]int{
		A: libretro.ButtonA, B: libretro.ButtonB, Select: libretro.ButtonSelect, Start: libretro.ButtonStart,
		Up: libretro.ButtonUp, Down: libretro.ButtonDown, Left: libretro.ButtonLeft, Right: libretro.ButtonRight,
	}[b]
	return 1 << id
}

// Buttons returns all eight buttons in shift-register order.
func Buttons() []Button { return []Button{A, B, Select, Start, Up, Down, Left, Right} }

// The colours below are what nestopia 1.52 (Debian's libretro-nestopia)
// outputs with its default options (palette cxa2025as, XRGB8888), read from
// its frames. Its default also crops 8 lines at the top and bottom as
// overscan: the picture is 256x224 and every coordinate here is in it.

// fillColors is indexed by Button; the last entry is for no button.
func fillColors() [9]color.RGBA {
	return [9]color.RGBA{
		A:      {196, 178, 0, 255},   // $28 yellow
		B:      {21, 60, 254, 255},   // $12 blue
		Select: {95, 24, 0, 255},     // $07 dark brown
		Start:  {233, 222, 134, 255}, // $38 pale yellow
		Up:     {0, 19, 155, 255},    // $02 dark blue
		Down:   {88, 88, 88, 255},    // $00 grey
		Left:   {255, 255, 255, 255}, // $30 white
		Right:  {0, 0, 0, 255},       // $0F black
		8:      {94, 137, 254, 255},  // $22 light blue-violet: nothing held
	}
}

// FillColor is the colour of player 1's area while the given buttons are
// held. When several are, the first in shift-register order wins; with none
// it is the idle colour.
func FillColor(held ...Button) color.RGBA {
	colors := fillColors()
	best := len(colors) - 1
	for _, b := range held {
		if int(b) < best {
			best = int(b)
		}
	}
	return colors[best]
}

// FillPoint is a point in player 1's area, far from player 2's boxes.
func FillPoint() image.Point { return image.Pt(128, 48) }

// P2Box is the box that lights while player 2 holds b: 16x32 pixels, boxes
// 24 pixels apart, from (32, 136).
func P2Box(b Button) image.Rectangle {
	x := 32 + 24*int(b)
	return image.Rect(x, 136, x+16, 168)
}

// P2Color is the colour of a player 2 box, lit or not.
func P2Color(lit bool) color.RGBA {
	if lit {
		return color.RGBA{254, 101, 246, 255} // $24 bright magenta
	}
	return color.RGBA{93, 0, 82, 255} // $04 dark purple
}

// MarkBox is the box that shows the mark: 32x32 pixels at (32, 24), near the
// top-left corner, away from FillPoint and the P2 boxes.
func MarkBox() image.Rectangle { return image.Rect(32, 24, 64, 56) }

// MarkColor is the colour of the mark box while the mark is on or off. Both
// are far from every other colour the ROM shows and from each other.
func MarkColor(on bool) color.RGBA {
	if on {
		return color.RGBA{58, 213, 74, 255} // $2A green
	}
	return color.RGBA{210, 44, 0, 255} // $16 red
}

// ToneHz is the pitch of the tone played while player 1 holds A: pulse
// channel 1 with period 253, 1789772.7 / (16 × 254) Hz.
func ToneHz() float64 { return 1789772.7 / (16 * 254) }

// LagFrames and EchoFrames are how many frames late the lag box and the echo
// box show player 1's A: the lag frames run-ahead hides and `telecart lag`
// measures.
const (
	LagFrames  = 2
	EchoFrames = 4
)

// LagBox is the box lit while player 1 held A LagFrames frames before the
// current one: 32x32 pixels at (160, 24), right of the mark box, in the same
// row.
func LagBox() image.Rectangle { return image.Rect(160, 24, 192, 56) }

// EchoBox is the box lit while player 1 held A EchoFrames frames before the
// current one, right of the lag box.
func EchoBox() image.Rectangle { return image.Rect(192, 24, 224, 56) }

// LagPoint is the middle of the lag box.
func LagPoint() image.Point { return image.Pt(176, 40) }

// EchoPoint is the middle of the echo box.
func EchoPoint() image.Point { return image.Pt(208, 40) }

// LagColor is the colour of the lag and echo boxes, lit or not.
func LagColor(lit bool) color.RGBA {
	if lit {
		return color.RGBA{6, 191, 254, 255} // $2C cyan
	}
	return color.RGBA{0, 60, 34, 255} // $0B dark green
}

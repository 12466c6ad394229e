package runner

import (
	"testing"

	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/runner/wire"
)

// TestInputTable feeds the table what the parent sends between frames and
// checks what each frame's game sees: the newest state, taps kept for a
// frame, late states dropped, and never two opposite directions.
func TestInputTable(t *testing.T) {
	const (
		a     = 1 << libretro.ButtonA
		b     = 1 << libretro.ButtonB
		up    = 1 << libretro.ButtonUp
		down  = 1 << libretro.ButtonDown
		left  = 1 << libretro.ButtonLeft
		right = 1 << libretro.ButtonRight
	)
	// A frame is the states that arrive before it (slot 0 unless told),
	// and the buttons the game then sees in slot 0 and slot 1.
	type frame struct {
		in   []wire.Input
		want [2]uint16
	}
	in := func(seq uint32, buttons uint16) wire.Input { return wire.Input{Seq: seq, Buttons: buttons} }
	for _, tc := range []struct {
		name   string
		frames []frame
	}{
		{"held and released", []frame{
			{[]wire.Input{in(1, a)}, [2]uint16{a, 0}},
			{nil, [2]uint16{a, 0}},
			{[]wire.Input{in(2, 0)}, [2]uint16{0, 0}},
		}},
		{"a tap between two frames shows for one", []frame{
			{[]wire.Input{in(1, a), in(2, 0)}, [2]uint16{a, 0}},
			{nil, [2]uint16{0, 0}},
		}},
		{"a release and a new press between two frames", []frame{
			{[]wire.Input{in(1, a)}, [2]uint16{a, 0}},
			{[]wire.Input{in(2, 0), in(3, b)}, [2]uint16{b, 0}},
			{nil, [2]uint16{b, 0}},
		}},
		{"a tap while another button is held", []frame{
			{[]wire.Input{in(1, b)}, [2]uint16{b, 0}},
			{[]wire.Input{in(2, a|b), in(3, b)}, [2]uint16{a | b, 0}},
			{nil, [2]uint16{b, 0}},
		}},
		{"an older state arriving late is dropped", []frame{
			{[]wire.Input{in(5, a)}, [2]uint16{a, 0}},
			{[]wire.Input{in(4, 0)}, [2]uint16{a, 0}},
		}},
		{"sequence numbers wrap", []frame{
			{[]wire.Input{in(0xffffffff, a)}, [2]uint16{a, 0}},
			{[]wire.Input{in(0, b)}, [2]uint16{b, 0}},
			{[]wire.Input{in(0xfffffffe, 0)}, [2]uint16{b, 0}},
		}},
		{"slots apart", []frame{
			{[]wire.Input{in(1, a), {Slot: 1, Seq: 2, Buttons: b}}, [2]uint16{a, b}},
			{[]wire.Input{{Slot: 1, Seq: 3}}, [2]uint16{a, 0}},
		}},
		{"the newer of Up and Down", []frame{
			{[]wire.Input{in(1, up)}, [2]uint16{up, 0}},
			{[]wire.Input{in(2, up|down)}, [2]uint16{down, 0}},
			{[]wire.Input{in(3, up)}, [2]uint16{up, 0}},
			{[]wire.Input{in(4, up|down)}, [2]uint16{down, 0}},
		}},
		{"the newer of Left and Right", []frame{
			{[]wire.Input{in(1, right|a)}, [2]uint16{right | a, 0}},
			{[]wire.Input{in(2, right|left|a)}, [2]uint16{left | a, 0}},
			{[]wire.Input{in(3, right)}, [2]uint16{right, 0}},
		}},
		{"both directions at once: neither", []frame{
			{[]wire.Input{in(1, left|right|up)}, [2]uint16{up, 0}},
			{nil, [2]uint16{up, 0}},
		}},
		{"a tap of the opposite direction while one is held", []frame{
			{[]wire.Input{in(1, up)}, [2]uint16{up, 0}},
			{[]wire.Input{in(2, up|down), in(3, up)}, [2]uint16{down, 0}},
			{nil, [2]uint16{up, 0}},
		}},
		{"a slot out of range is ignored", []frame{
			{[]wire.Input{{Slot: libretro.Ports, Seq: 1, Buttons: a}}, [2]uint16{0, 0}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var table inputTable
			for i, f := range tc.frames {
				for _, m := range f.in {
					table.update(m)
				}
				snap := table.snapshot()
				if got := [2]uint16{snap[0].Buttons, snap[1].Buttons}; got != f.want {
					t.Fatalf("frame %d: the game sees %016b and %016b, want %016b and %016b", i, got[0], got[1], f.want[0], f.want[1])
				}
			}
		})
	}
}

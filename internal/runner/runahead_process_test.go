package runner_test

import (
	"context"
	"image"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// TestRunAheadInRunner plays the test ROM in a runner process, with and
// without run-ahead, and looks at the encoded stream as a player would:
// with run-ahead of LagFrames, the lag box answers A in the same frame as
// the fill, which answers at once; without, LagFrames frames later. The
// runner says the run-ahead in force, a state saved and loaded brings back
// what was shown, and the statistics count the replays.
func TestRunAheadInRunner(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, testrom.LagFrames} {
		s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t), RunAhead: n})
		if got := s.Ready().RunAhead; got != n {
			t.Fatalf("N=%d: Ready.RunAhead %d", n, got)
		}
		pic := newPicture(t)
		for range 10 {
			pic.decode(t, s.nextVideo(t))
		}
		if err := s.SendInput(wire.Input{Slot: 0, Seq: 1, Buttons: testrom.A.Joypad()}); err != nil {
			t.Fatal(err)
		}
		fill := testrom.FillPoint()
		fillArea := image.Rectangle{Min: fill.Sub(image.Pt(8, 8)), Max: fill.Add(image.Pt(8, 8))}
		lagLit := func() bool {
			m := pic.mean(testrom.LagBox())
			return distance(m, testrom.LagColor(true)) < distance(m, testrom.LagColor(false))
		}
		answered := -1 // frames from the fill's answer to the lag box's
		for frame := 0; answered < 0; {
			pic.decode(t, s.nextVideo(t))
			if frame > 0 || colourMatch(pic.mean(fillArea), testrom.FillColor(testrom.A)) {
				if lagLit() {
					answered = frame
				}
				frame++
			}
			if frame > 10 {
				t.Fatalf("N=%d: the lag box never lit", n)
			}
		}
		if want := testrom.LagFrames - n; answered != want {
			t.Errorf("N=%d: the lag box lit %d frames after the fill, want %d", n, answered, want)
		}
		// A save the player keeps and loads again brings back what was
		// shown when it was made: the mark, on.
		seq := uint32(1)
		press := func(buttons uint16) {
			seq++
			if err := s.SendInput(wire.Input{Slot: 0, Seq: seq, Buttons: buttons}); err != nil {
				t.Fatal(err)
			}
		}
		waitMark := func(on bool) {
			t.Helper()
			for range 60 {
				pic.decode(t, s.nextVideo(t))
				if colourMatch(pic.mean(testrom.MarkBox()), testrom.MarkColor(on)) {
					return
				}
			}
			t.Fatalf("N=%d: the mark not %v within 60 frames", n, on)
		}
		ctx := context.Background()
		press(testrom.Select.Joypad())
		waitMark(true)
		press(0)
		state, err := s.SaveState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		press(testrom.Select.Joypad())
		waitMark(false)
		press(0)
		if err := s.LoadState(ctx, state); err != nil {
			t.Fatal(err)
		}
		waitMark(true)
		press(testrom.Select.Joypad())
		waitMark(false)
		if n == 0 {
			continue
		}

		deadline := time.After(waittest.Limit)
		for replays := 0; replays == 0; {
			select {
			case st := <-s.stats:
				replays = st.Replays
				if replays > 0 && (st.ReplayedFrames != n*replays || st.Save.Mean <= 0 || st.Replay.Mean <= 0) {
					t.Errorf("stats: %d replays of %d frames, save %v, replay %v", replays, st.ReplayedFrames, st.Save, st.Replay)
				}
			case <-deadline:
				t.Fatalf("no statistics with a replay for %v", waittest.Limit)
			}
		}
	}
}

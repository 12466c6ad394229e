package runner_test

import (
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// TestFramePhases plays the test ROM in each frame phase while its input
// changes every third frame and its phase is asked to move: input mode
// runs early frames, the others none, and none runs the game faster than
// the core's rate.
func TestFramePhases(t *testing.T) {
	t.Parallel()
	for _, mode := range []runner.FramePhase{runner.PhaseDisplay, runner.PhaseInput, runner.PhaseFixed} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			s := mustStart(t, runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t), FramePhase: mode})
			var seq uint32
			var stats []wire.Stats
			deadline := time.After(waittest.Limit)
			for frames := 0; len(stats) < 3; {
				select {
				case <-s.video:
					frames++
					if frames%3 != 0 {
						continue
					}
					// Past half a period after the frame began: when an
					// early frame may run.
					time.Sleep(10 * time.Millisecond)
					seq++
					if err := s.SendInput(wire.Input{Seq: seq, Buttons: uint16(seq%2) * testrom.A.Joypad()}); err != nil {
						t.Fatal(err)
					}
					if frames%30 == 0 {
						if err := s.SetPhase(time.Duration(frames%7) * time.Millisecond); err != nil {
							t.Fatal(err)
						}
					}
				case st := <-s.stats:
					stats = append(stats, st)
				case <-s.Done():
					t.Fatalf("runner ended: %v", s.Err())
				case <-deadline:
					t.Fatalf("%d stats in %v", len(stats), waittest.Limit)
				}
			}
			want := s.Ready().FPS
			early := 0
			for _, st := range stats[1:] { // the first interval includes start-up
				t.Logf("%.2f fps (core %.3f), %d early, %d late", st.FPS, want, st.Early, st.Late)
				if st.FPS > want*1.05 {
					t.Errorf("loop ran at %.2f fps, the core's rate is %.3f", st.FPS, want)
				}
				early += st.Early
			}
			if (early > 0) != (mode == runner.PhaseInput) {
				t.Errorf("%d early frames in %s mode", early, mode)
			}
		})
	}
}

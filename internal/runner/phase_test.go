package runner_test

import (
	"math/rand/v2"
	"slices"
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

// BenchmarkInputToFrame measures, in each frame phase, the time from an
// input leaving the parent to the encoded frame it was applied to coming
// back: what the room adds to the way from key to picture, without a
// browser. The inputs come about 200 ms apart, each at a random point of
// the frame loop's period.
func BenchmarkInputToFrame(b *testing.B) {
	for _, mode := range []runner.FramePhase{runner.PhaseDisplay, runner.PhaseInput, runner.PhaseFixed} {
		b.Run(string(mode), func(b *testing.B) {
			for range b.N {
				s := mustStart(b, runner.Config{Core: fixturetest.Core(b, "nes"), Game: fixturetest.TestROM(b), FramePhase: mode})
				next := func() wire.Video {
					select {
					case v := <-s.video:
						return v
					case <-s.Done():
						b.Fatalf("runner ended: %v", s.Err())
					case <-time.After(waittest.Limit):
						b.Fatalf("no video for %v", waittest.Limit)
					}
					panic("unreachable")
				}
				for range 30 { // boot
					next()
				}
				const presses = 60
				var took []float64
				for seq := uint32(1); seq <= presses; seq++ {
					time.Sleep(200*time.Millisecond + time.Duration(rand.Int64N(int64(17*time.Millisecond))))
					for len(s.video) > 0 {
						<-s.video
					}
					sent := time.Now()
					if err := s.SendInput(wire.Input{Seq: seq, Buttons: uint16(seq%2) * testrom.A.Joypad()}); err != nil {
						b.Fatal(err)
					}
					for next().Input < seq {
					}
					took = append(took, float64(time.Since(sent).Microseconds())/1000)
				}
				slices.Sort(took)
				b.ReportMetric(took[len(took)/2], "p50-ms")
				b.ReportMetric(took[len(took)*95/100], "p95-ms")
			}
		})
	}
}

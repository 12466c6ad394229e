package runner

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/telecart/telecart/internal/testrom"
)

// BenchmarkRunAhead measures what run-ahead costs a frame of the test ROM
// in nestopia, emulation alone (no conversion, no encoding): ns/op is a
// step and the save after it, as the loop makes them, cpu-us/frame the
// process's CPU time for them, with N from 0 to 3,
// the input steady or changing every frame (the worst case: a replay each
// frame). The metrics split it: save-us is one save, replay-us one replay
// (a load and N+1 frames, N saves).
func BenchmarkRunAhead(b *testing.B) {
	for _, input := range []string{"steady", "changing"} {
		for n := range MaxRunAhead + 1 {
			b.Run(fmt.Sprintf("%s/N=%d", input, n), func(b *testing.B) {
				c := loadTestROM(b)
				defer c.Close()
				var s screen
				var stats statsWindow
				r := newRunAhead(c, n, s.show, &stats, slog.New(slog.DiscardHandler))
				c.SetVideo(r.onFrame)
				pads := []padState{pad(nil), pad([]testrom.Button{testrom.B})}
				for i := range 60 {
					if _, err := r.step(pads[i%2]); err != nil {
						b.Fatal(err)
					}
					r.keep()
				}
				stats = statsWindow{}
				cpu := processCPU()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					in := pads[0]
					if input == "changing" {
						in = pads[i%2]
					}
					if _, err := r.step(in); err != nil {
						b.Fatal(err)
					}
					r.keep()
				}
				b.StopTimer()
				// CPU time, which a busy machine inflates less than
				// the wall clock's ns/op.
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-us/frame")
				us := func(t timing) float64 {
					if t.n == 0 {
						return 0
					}
					return t.total.Seconds() * 1e6 / float64(t.n)
				}
				b.ReportMetric(us(stats.save), "save-us")
				b.ReportMetric(us(stats.replay), "replay-us")
				b.ReportMetric(float64(stats.replays)/float64(b.N), "replays/frame")
			})
		}
	}
}

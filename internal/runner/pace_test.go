package runner

import (
	"math/rand/v2"
	"testing"
	"time"
)

// ntscPeriod is Nestopia's frame period (60.0988 fps).
const ntscPeriod = time.Second * 10000 / 600988

// TestPaceNeverFaster drives the pacer in every mode with random input
// changes and phase requests, on a clock that follows its deadlines, and
// checks what a player would notice: over any stretch of frames the game
// runs no faster than the core's rate (at most one period gained), and
// no period is shorter than its mode allows.
func TestPaceNeverFaster(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode     FramePhase
		shortest time.Duration
	}{
		{PhaseFixed, ntscPeriod},
		{PhaseDisplay, ntscPeriod - ntscPeriod/adjustDivisor},
		{PhaseInput, ntscPeriod / 2},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, uint64(len(tt.mode))))
			period := ntscPeriod
			start := time.Unix(1000, 0)
			p := newPacer(tt.mode, period, start)
			now := start
			var starts []time.Time
			for range 20000 {
				due := p.deadline()
				// Inputs and phase reports arrive at random moments
				// before the frame is due.
				if now.Before(due) && rng.IntN(3) == 0 {
					at := now.Add(time.Duration(rng.Int64N(int64(due.Sub(now)) + 1)))
					if rng.IntN(2) == 0 {
						if p.inputChanged(at) {
							due = at
						}
					} else {
						p.setPhase(time.Duration(rng.Int64N(int64(period))))
					}
				}
				now = due
				if p.begin(now) {
					t.Fatalf("frame %d late on a clock that keeps its deadlines", len(starts))
				}
				starts = append(starts, now)
				now = now.Add(time.Duration(rng.Int64N(int64(period / 2)))) // the frame's work
				p.advance(now, period)
			}
			for i := 1; i < len(starts); i++ {
				if d := starts[i].Sub(starts[i-1]); d < tt.shortest {
					t.Fatalf("frame %d came %v after the last, shorter than %v", i, d, tt.shortest)
				}
			}
			// Frames i..j span (j-i) periods at least, less the one
			// period the pacer may run ahead.
			for _, w := range []int{2, 10, 100, 1000, len(starts) - 1} {
				for i := 0; i+w < len(starts); i += max(1, w/4) {
					if span, least := starts[i+w].Sub(starts[i]), time.Duration(w)*period-period; span < least {
						t.Fatalf("%d frames from frame %d in %v, faster than the core's %v", w, i, span, time.Duration(w)*period)
					}
				}
			}
		})
	}
}

// TestPaceShiftConverges asks for later and earlier phases in display
// mode: the loop reaches each within the frames the 1/32 limit needs,
// bending every period by no more than that, and then keeps the period.
func TestPaceShiftConverges(t *testing.T) {
	t.Parallel()
	period := ntscPeriod
	tests := []struct {
		name   string
		offset time.Duration
		want   time.Duration // the phase reached, against the old schedule
	}{
		{"later", 5 * time.Millisecond, 5 * time.Millisecond},
		{"earlier the shorter way", period - 2*time.Millisecond, -2 * time.Millisecond},
		{"nothing", 0, 0},
		{"a whole period is nothing", period, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Unix(1000, 0)
			p := newPacer(PhaseDisplay, period, start)
			p.setPhase(tt.offset)
			prev := p.deadline()
			limit := period / adjustDivisor
			steps := int((abs64(tt.want) + limit - 1) / limit)
			for i := 1; i <= steps+5; i++ {
				p.begin(prev)
				next := p.advance(prev, period)
				if d := next.Sub(prev); d < period-limit || d > period+limit {
					t.Fatalf("period %d lasts %v, outside %v±%v", i, d, period, limit)
				}
				if i > steps && next.Sub(prev) != period {
					t.Fatalf("period %d lasts %v after the shift, want %v", i, next.Sub(prev), period)
				}
				prev = next
			}
			nominal := start.Add(time.Duration(steps+5) * period)
			if got := prev.Sub(nominal); got != tt.want {
				t.Fatalf("phase moved by %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPaceEarlyFrame: in input mode an input half a period or more after
// the last frame runs the next one at once; its borrowed time is repaid
// by periods of at most 33/32, after which the schedule is the old one.
// Sooner than half a period, or in the other modes, nothing changes.
func TestPaceEarlyFrame(t *testing.T) {
	t.Parallel()
	period := ntscPeriod
	start := time.Unix(1000, 0)
	for _, mode := range []FramePhase{PhaseInput, PhaseDisplay, PhaseFixed} {
		p := newPacer(mode, period, start)
		p.begin(start)
		p.advance(start.Add(time.Millisecond), period)
		if p.inputChanged(start.Add(period / 4)) {
			t.Fatalf("%s: early frame a quarter period after the last", mode)
		}
		at := start.Add(period * 6 / 10)
		early := p.inputChanged(at)
		if early != (mode == PhaseInput) {
			t.Fatalf("%s: early frame %v", mode, early)
		}
		if !early {
			if got := p.takeEarly(); got != 0 {
				t.Fatalf("%s: %d early frames counted", mode, got)
			}
			continue
		}
		if p.deadline() != at {
			t.Fatalf("deadline %v after an early frame, want now", p.deadline().Sub(start))
		}
		if got := p.takeEarly(); got != 1 {
			t.Fatalf("%d early frames counted, want 1", got)
		}
		prev := at
		for i := 0; i < 20; i++ {
			p.begin(prev)
			next := p.advance(prev, period)
			if d := next.Sub(prev); d < period || d > period+period/adjustDivisor {
				t.Fatalf("period %d after the early frame lasts %v", i, d)
			}
			prev = next
		}
		if want := start.Add(21 * period); prev != want {
			t.Fatalf("schedule off by %v once repaid", prev.Sub(want))
		}
	}
}

func abs64(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

package e2e

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestImpairmentLoses checks the delay link's model of a bad network: the
// share of packets it loses, how long its bursts are, and that jitter and
// a narrow link delay packets without ever reordering them.
func TestImpairmentLoses(t *testing.T) {
	const packets = 200_000
	for _, tc := range []struct {
		name string
		imp  impairment
	}{
		{"none", impairment{}},
		{"5% random", impairment{Loss: 0.05}},
		{"10% random", impairment{Loss: 0.10}},
		{"20% random", impairment{Loss: 0.20}},
		{"10% in bursts of 4", impairment{Loss: 0.10, Burst: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := lossState{rng: rand.New(rand.NewPCG(1, 2))}
			lost, bursts, run := 0, 0, 0
			for range packets {
				if s.lose(&tc.imp) {
					lost++
					run++
					continue
				}
				if run > 0 {
					bursts++
					run = 0
				}
			}
			share := float64(lost) / packets
			if math.Abs(share-tc.imp.Loss) > 0.01 {
				t.Errorf("lost %.3f of the packets, want %.2f", share, tc.imp.Loss)
			}
			if bursts == 0 {
				return
			}
			wantBurst := max(tc.imp.Burst, 1) // the mean run of a burst that goes on with probability 1 − 1/Burst
			if mean := float64(lost) / float64(bursts); math.Abs(mean-wantBurst)/wantBurst > 0.1 {
				t.Errorf("bursts of %.2f packets on average, want %.2f", mean, wantBurst)
			}
		})
	}
}

func TestImpairmentKeepsOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		imp  impairment
	}{
		{"jitter", impairment{Jitter: 20 * time.Millisecond}},
		{"narrow", impairment{Rate: 1_000_000}},
		{"both", impairment{Jitter: 20 * time.Millisecond, Rate: 500_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const delay = 40 * time.Millisecond
			s := schedule{rng: rand.New(rand.NewPCG(3, 4))}
			now := time.Unix(0, 0)
			var last time.Time
			var early, late, refused int
			for i := range 10_000 {
				now = now.Add(time.Millisecond) // 1200 bytes a millisecond: 9.6 Mbit/s
				due, ok := s.due(now, 1200, delay, &tc.imp)
				if !ok {
					refused++
					continue
				}
				if due.Before(last) {
					t.Fatalf("packet %d leaves at %v, before the one before it (%v)", i, due, last)
				}
				last = due
				wait := due.Sub(now)
				if wait < delay-tc.imp.Jitter {
					t.Fatalf("packet %d waits %v, less than the delay less the jitter", i, wait)
				}
				if wait < delay {
					early++
				}
				if wait > delay {
					late++
				}
			}
			if tc.imp.Jitter > 0 && tc.imp.Rate == 0 && (early == 0 || late == 0) {
				t.Errorf("jitter of %v: %d packets early and %d late, want some of each", tc.imp.Jitter, early, late)
			}
			if tc.imp.Rate > 0 {
				// Offered 9.6 Mbit/s: the link carries Rate and drops the
				// rest once its queue is full.
				carried := float64(10_000-refused) * 1200 * 8 / 10 // bits a second over the 10 s offered
				if math.Abs(carried-float64(tc.imp.Rate))/float64(tc.imp.Rate) > 0.1 {
					t.Errorf("carried %.0f bit/s, want about %d", carried, tc.imp.Rate)
				}
			}
		})
	}
}

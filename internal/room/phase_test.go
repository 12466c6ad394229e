package room

import (
	"testing"
	"time"

	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/signal"
)

const period = time.Second * 10000 / 600988 // Nestopia's 60.0988 fps

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func TestPhaseOffset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		slack time.Duration
		want  time.Duration
		ok    bool
	}{
		{"frames wait 9 ms: 7 of them can go", ms(9), ms(7), true},
		{"within the margin", ms(2.5), 0, false},
		{"just past the deadband", ms(4), ms(2), true},
		{"no wait at all: 2 ms earlier", 0, period - ms(2), true},
		{"a hair under the margin", ms(1.5), 0, false},
		{"a refresh's worth: on the edge", period + ms(1), 0, false},
		{"a refresh of the browser's own on top", period + ms(9), ms(7), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := phaseOffset(tt.slack, phaseMargin, period)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("phaseOffset(%v) = %v, %v; want %v, %v", tt.slack, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestPhaseMarginGrows: a shift after which the frames wait most of a
// period missed their refresh; the room then leaves them a wider margin,
// up to its limit, and goes back the short way.
func TestPhaseMarginGrows(t *testing.T) {
	r, err := New(t.Context(), Params{ID: "margin"})
	if err != nil {
		t.Fatal(err)
	}
	if err := join(r, "first", 1); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	report := func(slack time.Duration) (time.Duration, bool) {
		now = now.Add(phaseSettle)
		return r.phaseFor("first", pad.Report{Slack: slack, Frames: 60}, period, now)
	}
	if off, ok := report(ms(9)); !ok || off != ms(7) {
		t.Fatalf("first shift %v, %v; want 7ms", off, ok)
	}
	// A later wait is only the display's drift: the margin stays.
	if off, ok := report(ms(5)); !ok || off != ms(3) || r.phase.margin != phaseMargin {
		t.Fatalf("after the drift: %v, %v, margin %v; want 3ms with the margin %v", off, ok, r.phase.margin, phaseMargin)
	}
	// The frames missed: they wait 15 ms now, not 2.
	off, ok := report(ms(15))
	if want := ms(15) - ms(3) - period; !ok || off != want+period {
		t.Fatalf("after a miss: %v, %v; want %v (earlier by %v)", off, ok, want+period, -want)
	}
	for range 10 {
		report(ms(15))
	}
	if r.phase.margin != phaseMaxMargin {
		t.Fatalf("margin %v after many misses, want at most %v", r.phase.margin, phaseMaxMargin)
	}
}

// TestPhaseFollowsFirstPlayer: only the first player's page moves the
// phase, not a spectator's nor a second player's; once moved, reports
// are not heard until the page measured frames made after the shift.
func TestPhaseFollowsFirstPlayer(t *testing.T) {
	r, err := New(t.Context(), Params{ID: "phase"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		id   signal.MemberID
		slot int
	}{{"watcher", 0}, {"second", 2}, {"first", 1}} {
		if err := join(r, m.id, m.slot); err != nil {
			t.Fatal(err)
		}
	}
	rep := pad.Report{Slack: ms(9), Frames: 60}
	now := time.Unix(1000, 0)
	for _, id := range []signal.MemberID{"watcher", "second"} {
		if off, ok := r.phaseFor(id, rep, period, now); ok {
			t.Fatalf("%s's report shifted the phase by %v", id, off)
		}
	}
	if _, ok := r.phaseFor("first", rep, period, now); !ok {
		t.Fatal("the first player's report did not shift the phase")
	}
	if _, ok := r.phaseFor("first", rep, period, now.Add(phaseSettle/2)); ok {
		t.Fatal("shifted again before the last shift could show")
	}
	if _, ok := r.phaseFor("first", rep, period, now.Add(phaseSettle)); !ok {
		t.Fatal("a report after the shift settled was not heard")
	}
	if _, ok := r.phaseFor("first", pad.Report{Slack: ms(9), Frames: 10}, period, now.Add(3*phaseSettle)); ok {
		t.Fatal("a report on 10 frames shifted the phase")
	}
}

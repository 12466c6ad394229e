package room

import (
	"testing"
	"time"

	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/signal"
)

const period = time.Second * 10000 / 600988 // Nestopia's 60.0988 fps

func TestPhaseOffset(t *testing.T) {
	t.Parallel()
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name   string
		report pad.Report
		want   time.Duration
		ok     bool
	}{
		{"frames wait 9 ms: 7 of them can go", pad.Report{Slack: ms(9), Frames: 60}, ms(7), true},
		{"within the margin", pad.Report{Slack: ms(2.5), Frames: 60}, 0, false},
		{"just past the deadband", pad.Report{Slack: ms(4), Frames: 60}, ms(2), true},
		{"no wait at all", pad.Report{Slack: 0, Frames: 60}, 0, false},
		{"a refresh's worth: on the edge", pad.Report{Slack: period + ms(1), Frames: 60}, 0, false},
		{"a refresh of the browser's own on top", pad.Report{Slack: period + ms(9), Frames: 60}, ms(7), true},
		{"too few frames to tell", pad.Report{Slack: ms(9), Frames: 10}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := phaseOffset(tt.report, period)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("phaseOffset(%v over %d frames) = %v, %v; want %v, %v", tt.report.Slack, tt.report.Frames, got, ok, tt.want, tt.ok)
			}
		})
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
	rep := pad.Report{Slack: 9 * time.Millisecond, Frames: 60}
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
}

package room

import (
	"testing"
	"time"

	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/signal"
)

func TestNextBitrate(t *testing.T) {
	for _, tt := range []struct {
		name                              string
		current, ceiling, weakest, output int
		want                              int
	}{
		{"no estimate: stays at the ceiling", 1500, 1500, 0, 1400, 1500},
		{"no estimate: climbs back", 800, 1500, 0, 700, 1000},
		{"climbs no further than the ceiling", 1400, 1500, 0, 1300, 1500},
		{"climbs towards a wider path's estimate", 600, 1500, 1000, 600, 750},
		{"climbs no further than the estimate with headroom", 800, 1500, 1000, 800, 850},
		{"a still picture's estimate holds a lowered target", 600, 1500, 80, 50, 600},
		{"a path narrower than the output: headroom below it", 1500, 1500, 1000, 1450, 850},
		{"an estimate that merely follows a still picture caps nothing", 1500, 1500, 160, 100, 1500},
		{"never below the floor", 1500, 1500, 100, 1000, minVideoKbps},
		{"a ceiling under the floor is the floor", 200, 200, 0, 100, minVideoKbps},
		{"an estimate above the ceiling caps nothing", 1500, 1500, 9000, 1500, 1500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextBitrate(tt.current, tt.ceiling, tt.weakest, tt.output); got != tt.want {
				t.Errorf("nextBitrate(%d, %d, %d, %d) = %d, want %d", tt.current, tt.ceiling, tt.weakest, tt.output, got, tt.want)
			}
		})
	}
}

// TestBitrateFollowsWeakest: the weakest player sets the bitrate; a
// spectator's poor path pulls it no lower than half the ceiling; an
// estimate of a member gone, or too old, counts no more.
func TestBitrateFollowsWeakest(t *testing.T) {
	slots := map[signal.MemberID]int{"p1": 1, "p2": 2, "watcher": 0}
	slotOf := func(m signal.MemberID) (int, bool) { s, ok := slots[m]; return s, ok }
	now := time.Unix(1000, 0)
	full := wire.Stats{Interval: time.Second, VideoBytes: 1500 * 1000 / 8} // the encoder fills 1500 kbit/s
	var set []int
	setter := func(kbps int) error { set = append(set, kbps); return nil }
	b := newBitrates(1500)

	b.set("p1", 3000, now)
	b.set("p2", 1000, now)
	b.set("watcher", 200, now)
	if got, _ := b.adjust(full, now, slotOf, setter); got != 637 {
		// The watcher's 200 counts as half the ceiling (750): below p2's
		// 1000, so 750 sets the bitrate, with the headroom.
		t.Fatalf("bitrate %d, want 637", got)
	}
	delete(slots, "watcher")
	for _, want := range []int{796, 850, 850} {
		// The encoder fills what it is given: p2's path carries more, and
		// the bitrate climbs to p2's estimate with headroom, no further.
		st := wire.Stats{Interval: time.Second, VideoBytes: set[len(set)-1] * 1000 / 8}
		if got, _ := b.adjust(st, now, slotOf, setter); got != want {
			t.Fatalf("the watcher gone: bitrate %d, want %d on the way to p2's 1000 with headroom", got, want)
		}
	}
	// p2's estimate grows old: nothing holds the bitrate back, and it
	// climbs to the ceiling.
	later := now.Add(estimateLife + time.Second)
	b.set("p1", 3000, later)
	for range 5 {
		b.adjust(wire.Stats{Interval: time.Second, VideoBytes: 800 * 1000 / 8}, later, slotOf, setter)
	}
	if got := set[len(set)-1]; got != 1500 {
		t.Fatalf("bitrate %d once no estimate holds it back, want the ceiling 1500 (set %v)", got, set)
	}
}

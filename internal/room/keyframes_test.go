package room

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/waittest"
)

// TestKeyframesLimited: a storm of picture-loss reports from a room's
// browsers makes one keyframe at once and one more once the gap is over,
// never two within the gap; a request alone, after a quiet gap, goes out
// at once.
func TestKeyframesLimited(t *testing.T) {
	const gap = 100 * time.Millisecond
	var mu sync.Mutex
	var sent []time.Time
	k := newKeyframes(gap, func() {
		mu.Lock()
		sent = append(sent, time.Now())
		mu.Unlock()
	})
	t.Cleanup(k.stop)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(sent)
	}

	for range 100 {
		k.request()
	}
	if n := count(); n != 1 {
		t.Fatalf("100 requests at once sent %d keyframes at once, want 1", n)
	}
	sentN := func(want int) func() error {
		return func() error {
			if n := count(); n != want {
				return fmt.Errorf("%d keyframes sent, want %d", n, want)
			}
			return nil
		}
	}
	waittest.Eventually(t, "the request held back", sentN(2))
	for range 100 {
		k.request() // within the gap of the second: held back as one
	}
	waittest.Eventually(t, "the third keyframe", sentN(3))

	// Quiet for longer than the gap: the next request goes out at once.
	time.Sleep(2 * gap)
	k.request()
	if n := count(); n != 4 {
		t.Fatalf("a request after a quiet gap: %d keyframes, want 4", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(sent); i++ {
		if d := sent[i].Sub(sent[i-1]); d < gap {
			t.Errorf("keyframes %d and %d %v apart, want at least %v", i-1, i, d, gap)
		}
	}
}

// TestKeyframesStop: a request held back when the room ends never goes
// out.
func TestKeyframesStop(t *testing.T) {
	sent := make(chan struct{}, 10)
	k := newKeyframes(time.Hour, func() { sent <- struct{}{} })
	k.request()
	k.request()
	k.stop()
	k.request()
	if n := len(sent); n != 1 {
		t.Fatalf("%d keyframes sent, want 1", n)
	}
}

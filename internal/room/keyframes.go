package room

import (
	"sync"
	"time"
)

// keyframeGap is the least time between two keyframes of a room. Under
// loss, every member's browser asks for one (PLI) whenever it cannot
// decode, several of them for one lost picture; a keyframe is five to
// ten times a delta frame, and a burst of them is more loss on a narrow
// link. One every 250 ms still repairs a picture within a quarter second
// of the last one.
const keyframeGap = 250 * time.Millisecond

// keyframes rate-limits a room's keyframe requests: the first goes out at
// once; those within gap of the last keyframe become one, sent when the
// gap is over, so that no request is lost (a new member must start on a
// keyframe) and none is sent twice.
type keyframes struct {
	send func()
	gap  time.Duration

	mu      sync.Mutex
	last    time.Time   // when the last keyframe was asked of the runner
	pending *time.Timer // the one held back, if any
	stopped bool
}

func newKeyframes(gap time.Duration, send func()) *keyframes {
	return &keyframes{send: send, gap: gap}
}

// request asks for a keyframe.
func (k *keyframes) request() {
	k.mu.Lock()
	if k.stopped || k.pending != nil {
		k.mu.Unlock()
		return // one is on its way
	}
	if wait := k.gap - time.Since(k.last); !k.last.IsZero() && wait > 0 {
		k.pending = time.AfterFunc(wait, k.fire)
		k.mu.Unlock()
		return
	}
	k.last = time.Now()
	k.mu.Unlock()
	k.send()
}

// fire sends the request held back.
func (k *keyframes) fire() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	k.pending = nil
	k.last = time.Now()
	k.mu.Unlock()
	k.send()
}

// stop drops a request held back, and any to come: the room is over.
func (k *keyframes) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.pending != nil {
		k.pending.Stop()
	}
}

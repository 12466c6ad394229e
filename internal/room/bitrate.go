package room

import (
	"sync"
	"time"

	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/signal"
)

// The room's video bitrate follows what its members' paths carry: each
// browser estimates its own (REMB) and the one encoder serves the weakest
// player, as one stream must. Only the bitrate gives way, never the frame
// rate: a game at 30 fps plays worse than one in a coarser picture.

const (
	// minVideoKbps is the least bitrate the encoder is set to, whatever
	// the estimates: below it a game's picture breaks up in blocks.
	minVideoKbps = 250
	// headroom is the share of an estimate the encoder may fill, leaving
	// room for retransmissions, audio and the estimate's own error.
	headroom = 0.85
	// congested: an estimate under this many times the encoder's actual
	// output says the path carries less than we send. Above it, the
	// estimate merely follows what we send (Chromium's estimate stays
	// about 1.5 times what arrives while nothing is queueing), and says
	// nothing of the path: a still title screen must not cap what the
	// game gets when it starts moving.
	congested = 1.25
	// climb is how much the bitrate may grow per update (about once a
	// second) once no path holds it back: back to the ceiling in seconds,
	// without flooding a link that has only just cleared.
	climb = 1.25
	// estimateLife is how long an estimate counts: a browser sends one
	// every second or so while it receives.
	estimateLife = 5 * time.Second
)

// estimate is a member's last reported bandwidth estimate.
type estimate struct {
	kbps int
	at   time.Time
}

// bitrates is the room's bitrate control: its members' estimates and the
// encoder's current target.
type bitrates struct {
	ceiling int // the configured video bitrate: never exceeded

	mu        sync.Mutex
	target    int // what the encoder is set to; the ceiling until changed
	estimates map[signal.MemberID]estimate
}

func newBitrates(ceiling int) *bitrates {
	if ceiling <= 0 {
		ceiling = runner.DefaultVideoKbps
	}
	return &bitrates{ceiling: ceiling, target: ceiling, estimates: make(map[signal.MemberID]estimate)}
}

// set notes a member's estimate.
func (b *bitrates) set(m signal.MemberID, kbps int, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.estimates[m] = estimate{kbps: kbps, at: at}
}

// forget drops a member's estimate: it left.
func (b *bitrates) forget(m signal.MemberID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.estimates, m)
}

// weakest is the lowest estimate that counts, 0 for none: those of the
// members slotOf knows (slot 0 watching), heard of within estimateLife.
// A spectator's counts no lower than half the ceiling: one viewer on a
// poor phone must not blur the game for its players.
func (b *bitrates) weakest(now time.Time, slotOf func(signal.MemberID) (int, bool)) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	weakest := 0
	for m, e := range b.estimates {
		slot, ok := slotOf(m)
		if !ok || now.Sub(e.at) > estimateLife {
			delete(b.estimates, m)
			continue
		}
		kbps := e.kbps
		if slot == 0 {
			kbps = max(kbps, b.ceiling/2)
		}
		if weakest == 0 || kbps < weakest {
			weakest = kbps
		}
	}
	return weakest
}

// nextBitrate is the encoder's next target from its current one, the
// ceiling, the weakest estimate (0: none) and what the encoder actually
// sent over the last second. A path that carries less than that gets
// headroom times its estimate. An estimate above it climbs the target
// towards headroom times itself, but never pulls it down: it only follows
// what we send, and a still picture sends little. With no estimate at all
// the target climbs back to the ceiling. Never below minVideoKbps, nor
// above the ceiling.
func nextBitrate(current, ceiling, weakest, output int) int {
	up := int(float64(current) * climb)
	var next int
	switch limit := int(headroom * float64(weakest)); {
	case weakest == 0:
		next = up
	case float64(weakest) < congested*float64(output):
		next = limit
	default:
		next = min(up, max(current, limit))
	}
	return min(max(next, minVideoKbps), max(ceiling, minVideoKbps))
}

// adjust sets the encoder's target from the estimates and the last
// second's stats, when it changes; call it with each Stats.
func (b *bitrates) adjust(st wire.Stats, now time.Time, slotOf func(signal.MemberID) (int, bool), set func(kbps int) error) (int, bool) {
	weakest := b.weakest(now, slotOf)
	output := 0
	if st.Interval > 0 {
		output = int(float64(st.VideoBytes*8) / 1000 / st.Interval.Seconds())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	next := nextBitrate(b.target, b.ceiling, weakest, output)
	if next == b.target {
		return next, false
	}
	if err := set(next); err != nil {
		return b.target, false // the next stats try again
	}
	b.target = next
	return next, true
}

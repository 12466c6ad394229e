package room

import (
	"time"

	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/signal"
)

// The display phase (runner.PhaseDisplay): the first player's page
// reports how long its frames wait between arriving and being displayed,
// and the room asks the runner to make them that much later, less a
// margin. Only one page can be followed, and the first player's is the
// one whose input the game is waiting for; spectators follow along.
const (
	// phaseMargin is the wait first left to every frame: the page's
	// decode and the spread of arrival times, which a frame later than
	// its display's deadline would miss, to be shown a refresh late and
	// the next one never. A shift that made frames miss raises it by
	// phaseMarginStep, up to phaseMaxMargin: a busy browser needs more.
	phaseMargin     = 2 * time.Millisecond
	phaseMarginStep = time.Millisecond
	phaseMaxMargin  = 5 * time.Millisecond
	// phaseDeadband is the smallest shift worth making: below it, a
	// report is noise, and a shift would only move the frames that sit
	// on a refresh's edge from one side of it to the other.
	phaseDeadband = 2 * time.Millisecond
	// phaseSettle is how long after a shift the room hears no report:
	// the page's figure still counts frames from before it.
	phaseSettle = 1500 * time.Millisecond
	// phaseMinFrames is how many frames a report must cover to be heard.
	phaseMinFrames = 30
)

// phaseState is what the room keeps of the display phase.
type phaseState struct {
	of      signal.MemberID // whose display it follows
	margin  time.Duration
	at      time.Time // when the runner's phase was last shifted
	shifted bool      // and no report heard since
}

// phaseOffset is how much later the runner may make its frames, modulo
// period, from a display report's wait, leaving margin; false when no
// shift is worth making. A wait of whole periods more is the browser's
// own pipeline (a compositor that shows a frame a refresh after it
// takes it), which no phase can shorten: only the wait modulo a period
// counts. A wait under the margin asks for frames earlier (an offset
// near a period, which the runner takes the short way round).
func phaseOffset(slack, margin, period time.Duration) (time.Duration, bool) {
	if period <= 0 {
		return 0, false
	}
	off := ((slack-margin)%period + period) % period
	if off < phaseDeadband || off > period-phaseDeadband {
		return 0, false
	}
	return off, true
}

// displayReport hears a member's display report and shifts the runner's
// phase when it comes from the first player and says enough.
func (r *Room) displayReport(id signal.MemberID, rep pad.Report) {
	if mode := r.opts.Config.FramePhase; mode != "" && mode != runner.PhaseDisplay {
		return // the runner would not heed it
	}
	p := r.running()
	if p == nil {
		return
	}
	fps := p.Ready().FPS
	if fps <= 0 {
		return
	}
	off, ok := r.phaseFor(id, rep, time.Duration(float64(time.Second)/fps), time.Now())
	if !ok {
		return
	}
	if err := p.SetPhase(off); err != nil {
		r.log.Debug("room: set phase", "err", err)
		return
	}
	r.log.Debug("room: frame phase shifted", "offset", off, "slack", rep.Slack)
}

// phaseFor decides the shift a report from id asks for, at now, and
// counts it as made. The first report after a shift tells whether it
// went too far: frames put a margin before their display's deadline
// that now wait most of a period missed it, and the margin grows.
func (r *Room) phaseFor(id signal.MemberID, rep pad.Report, period time.Duration, now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ph := &r.phase
	if r.firstPlayer() != id || rep.Frames < phaseMinFrames || now.Sub(ph.at) < phaseSettle {
		return 0, false
	}
	if ph.of != id {
		*ph = phaseState{of: id, margin: phaseMargin}
	}
	if ph.shifted {
		ph.shifted = false
		if missed, _ := phaseOffset(rep.Slack, ph.margin, period); missed > period/2 {
			ph.margin = min(ph.margin+phaseMarginStep, phaseMaxMargin)
		}
	}
	off, ok := phaseOffset(rep.Slack, ph.margin, period)
	if ok {
		ph.at, ph.shifted = now, true
	}
	return off, ok
}

// firstPlayer is the member holding the lowest slot, the earliest to
// join among those sharing it; empty when nobody plays. r.mu is held.
func (r *Room) firstPlayer() signal.MemberID {
	var first *member
	for _, m := range r.members {
		if m.Slot != 0 && (first == nil || m.Slot < first.Slot) {
			first = m
		}
	}
	if first == nil {
		return ""
	}
	return first.ID
}

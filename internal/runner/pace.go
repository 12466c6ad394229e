package runner

import "time"

// FramePhase is how the frame loop places its frames within each period.
// The period is always the core's; only where in it a frame runs changes.
type FramePhase string

const (
	// PhaseDisplay moves the loop's phase toward what the player's display
	// wants: the room reports (wire.Phase) how much later a frame could
	// be made and still be shown as soon, and the loop drifts there. A
	// frame then waits less between its arrival and its display, and
	// answers fresher input. The default: it never makes the browser skip
	// a frame.
	PhaseDisplay FramePhase = "display"
	// PhaseInput runs a frame at once when the input changes, if half a
	// period has passed since the last one, and repays the time it
	// borrowed by stretching the following periods. The shortest wait
	// from key to picture, but the browser then drops a frame about once
	// per input change (two frames inside one display refresh).
	PhaseInput FramePhase = "input"
	// PhaseFixed keeps the phase the loop started with.
	PhaseFixed FramePhase = "fixed"
)

// DefaultFramePhase is the phase a Config leaves empty.
const DefaultFramePhase = PhaseDisplay

// adjustDivisor bounds how much the pacer bends one period: by at most
// 1/32 of it, so a period lasts 31/32 to 33/32 of the core's (0.5 ms at
// 60 fps). The picture's motion stays even, and the audio, resampled to a
// fixed rate, never runs dry: a frame's audio covers its period to within
// a few percent.
const adjustDivisor = 32

// pacer owns the frame loop's schedule: when the coming frame is due. Its
// deadlines advance by the core's period, bent by an early frame (input
// mode) or a phase shift (display mode), and never run more than one
// period ahead of a schedule without either, so the game never runs
// faster than the core's rate on average. Only the loop's goroutine uses
// it.
type pacer struct {
	mode   FramePhase
	period time.Duration
	// base is the coming frame's deadline before early frames: deadline
	// is base less debt.
	base time.Time
	// debt is the time early frames borrowed and later periods have not
	// yet paid back (input mode).
	debt time.Duration
	// shift is the phase shift still to make: later when positive
	// (display mode).
	shift time.Duration
	// ahead is how far earlier shifts have moved the schedule before one
	// that never shifted earlier; shifts later pay it back first.
	ahead time.Duration
	last  time.Time // when the last frame started
	early int       // early frames since takeEarly
}

func newPacer(mode FramePhase, period time.Duration, now time.Time) *pacer {
	if mode == "" {
		mode = DefaultFramePhase
	}
	return &pacer{mode: mode, period: period, base: now}
}

// deadline is when the coming frame is due.
func (p *pacer) deadline() time.Time { return p.base.Add(-p.debt) }

// begin records that a frame starts at now, and reports whether it
// started late: more than half a period after its deadline.
func (p *pacer) begin(now time.Time) (late bool) {
	p.last = now
	return now.Sub(p.deadline()) > p.period/2
}

// inputChanged says whether a frame may run at once, at now, because the
// input changed: only in input mode, at least half a period after the
// last frame, and while the time borrowed stays within one period. The
// frame's deadline becomes now; the caller then runs it.
func (p *pacer) inputChanged(now time.Time) bool {
	if p.mode != PhaseInput || p.last.IsZero() {
		return false
	}
	due := p.deadline()
	if !now.Before(due) || now.Sub(p.last) < p.period/2 {
		return false
	}
	borrow := due.Sub(now)
	if p.ahead+p.debt+borrow > p.period {
		return false
	}
	p.debt += borrow
	p.early++
	return true
}

// setPhase asks for frames offset later than now (modulo a period), in
// display mode. The shift goes the shorter way round, unless going
// earlier would put the schedule more than a period ahead. A new
// request replaces what is left of the last: it was measured after it.
func (p *pacer) setPhase(offset time.Duration) {
	if p.mode != PhaseDisplay || p.period <= 0 {
		return
	}
	later := offset % p.period
	if later < 0 {
		later += p.period
	}
	earlier := p.period - later
	if later != 0 && earlier < later && p.ahead+p.debt+earlier <= p.period {
		p.shift = -earlier
	} else {
		p.shift = later
	}
}

// advance schedules the frame after the one that just ended, at now, with
// the core's period (which a core may change), and returns its deadline.
// A loop more than maxFramesBehind periods late starts a new schedule at
// now rather than racing to catch up, which would fast-forward the game.
func (p *pacer) advance(now time.Time, period time.Duration) time.Time {
	p.period = period
	p.base = p.base.Add(period)
	limit := period / adjustDivisor
	// Repay borrowed time first, within the limit.
	repay := min(p.debt, limit)
	p.debt -= repay
	limit -= repay
	if p.shift != 0 {
		step := max(min(p.shift, limit), -period/adjustDivisor)
		if step < 0 {
			// Never more than a period ahead, whatever asked.
			step = -min(-step, max(0, period-p.ahead-p.debt))
			p.ahead -= step
		} else {
			p.ahead = max(0, p.ahead-step)
		}
		if step == 0 && p.shift < 0 {
			p.shift = 0 // the cap refuses the rest
		}
		p.shift -= step
		p.base = p.base.Add(step)
	}
	if now.Sub(p.deadline()) > maxFramesBehind*period {
		p.base, p.debt, p.shift = now, 0, 0
	}
	return p.deadline()
}

// takeEarly returns the number of early frames since its last call.
func (p *pacer) takeEarly() int {
	n := p.early
	p.early = 0
	return n
}

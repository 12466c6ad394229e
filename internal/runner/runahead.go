package runner

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/telecart/telecart/internal/libretro"
)

// MaxRunAhead is the most run-ahead frames a game may have: each costs a
// replayed frame at every change of input, and no game we measured lags
// more.
const MaxRunAhead = 3

// frameCore is what run-ahead needs of a core: a *libretro.Core, or in
// tests a wrapper of one that fails on cue.
type frameCore interface {
	SetInput(port int, in libretro.Input) error
	Run() ([]int16, error)
	StateSize() int
	SaveStateInto(buf []byte) (int, error)
	LoadState(state []byte) error
}

var _ frameCore = (*libretro.Core)(nil)

// padState is every port's input for one frame.
type padState = [libretro.Ports]libretro.Input

// runAhead steps a core so that the picture it shows is the game's N frames
// ahead of its real timeline: a game that answers a button some frames late
// answers it N frames sooner (ARCHITECTURE.md, Run-ahead).
//
// The core is kept at the head, N frames ahead of the real state, run with
// the newest input. While the input holds, the head is what the real
// timeline will reach if it goes on holding, so a frame is one Run, as
// without run-ahead, plus one save of the head: the real state N frames on,
// kept in case the input changes before then. keep makes that save after
// the frame is sent, off the path from a key to its picture. When the input
// changes at frame t, the guesses made since the real state R(t) are
// wrong: R(t) is loaded from the ring and frames t to t+N are replayed
// with the new input, their pictures and audio muted but for the last,
// each saved as the new guess of the real states to come. The cost of a
// change is one load and N frames and saves more.
type runAhead struct {
	core   frameCore
	frames int // N in force: 0 when off
	log    *slog.Logger
	show   libretro.VideoFunc // where pictures shown go: the game's converter
	stats  *statsWindow

	// ring[u%(N+1)] holds the real state before frame u, as far as the
	// input since the last change tells: u from the next frame to N after.
	ring    [][]byte
	lengths []int
	next    uint64 // the frame the next step runs on the real timeline
	last    padState
	started bool // the ring holds the real state of frame next
	owed    bool // the head's save, as the real state of frame next+N

	// A replay's frames but the last are muted; the last picture any of
	// them drew is copied, as the last frame may repeat it (dupe).
	muted   bool
	held    []byte
	heldPic libretro.Frame
	hasHeld bool
}

func newRunAhead(core frameCore, frames int, show libretro.VideoFunc, stats *statsWindow, log *slog.Logger) *runAhead {
	r := &runAhead{core: core, show: show, stats: stats, log: log}
	if frames > 0 && core.StateSize() == 0 {
		log.Warn("run-ahead off: the core saves no states", "frames", frames)
		frames = 0
	}
	r.frames = frames
	r.ring = make([][]byte, frames+1)
	r.lengths = make([]int, frames+1)
	return r
}

// Frames is the run-ahead in force: 0 when off.
func (r *runAhead) Frames() int { return r.frames }

// restart forgets the real timeline, after the game's state was replaced
// (a state loaded, a reset): the next step starts it again.
func (r *runAhead) restart() { r.started, r.owed = false, false }

// keep saves the head as the real state N frames on, if the last step left
// that owed: between frames, after the last one was sent, so that a frame
// with steady input costs one Run before it is shown.
func (r *runAhead) keep() {
	if r.owed {
		r.owed = false
		r.save(r.next + uint64(r.frames))
	}
}

// realState is the game's real state, for a save the player keeps: not
// the head, which holds frames not yet played. ok is false when run-ahead
// is off, and the core's state is the real one.
func (r *runAhead) realState() (state []byte, ok bool) {
	if r.frames == 0 || !r.started {
		return nil, false
	}
	slot := r.slot(r.next)
	return append([]byte(nil), r.ring[slot][:r.lengths[slot]]...), true
}

// onFrame is the core's video callback.
func (r *runAhead) onFrame(f libretro.Frame, dupe bool) {
	switch {
	case r.muted && !dupe:
		r.held = append(r.held[:0], f.Data...)
		r.heldPic, r.hasHeld = f, true
		r.heldPic.Data = r.held
	case r.muted:
	case dupe && r.hasHeld:
		// The last frame repeats the replay's last picture, which was
		// never shown.
		r.hasHeld = false
		r.show(r.heldPic, false)
	default:
		r.hasHeld = false
		r.show(f, dupe)
	}
}

// step runs one frame of the real timeline with the input in, and returns
// the audio to play for it: one frame's, so the stream stays seamless.
func (r *runAhead) step(in padState) ([]int16, error) {
	if r.frames == 0 {
		r.setInput(in)
		return r.core.Run()
	}
	defer func() {
		r.next++
		r.owed = r.frames > 0 && r.started
	}()
	if !r.started || in != r.last {
		return r.replay(in)
	}
	// The input holds: the head is the real state N frames on, unless
	// it changes before then. Saved by keep, or else now.
	r.keep()
	return r.core.Run()
}

// replay starts the head afresh from the real state before frame next, with
// the input in.
func (r *runAhead) replay(in padState) ([]int16, error) {
	t0 := time.Now()
	r.owed = false // the replay saves states of its own
	if r.started {
		slot := r.slot(r.next)
		if err := r.core.LoadState(r.ring[slot][:r.lengths[slot]]); err != nil {
			r.off("load", err)
			r.setInput(in)
			return r.core.Run()
		}
	} else if !r.save(r.next) {
		// The core is at the real state: go on from it without run-ahead.
		r.setInput(in)
		return r.core.Run()
	}
	r.started, r.last = true, in
	r.setInput(in)
	frames := r.frames
	r.muted, r.hasHeld = true, false
	for k := range frames {
		if _, err := r.core.Run(); err != nil {
			r.muted = false
			return nil, err
		}
		if r.frames > 0 {
			// A save that fails turns run-ahead off; the replay still
			// reaches the head, the picture to show.
			r.save(r.next + uint64(k) + 1)
		}
	}
	r.muted = false
	samples, err := r.core.Run()
	if err != nil {
		return nil, err
	}
	r.stats.replay.add(time.Since(t0))
	r.stats.replays++
	r.stats.replayed += frames
	return samples, nil
}

// save keeps the core's state as the real state before frame u. A core
// that fails to save turns run-ahead off, and save reports false.
func (r *runAhead) save(u uint64) bool {
	t0 := time.Now()
	slot := r.slot(u)
	if size := r.core.StateSize(); size > len(r.ring[slot]) {
		r.ring[slot] = make([]byte, size+size/8) // states may grow a little
	}
	n, err := r.core.SaveStateInto(r.ring[slot])
	if err != nil {
		r.off("save", err)
		return false
	}
	r.lengths[slot] = n
	r.stats.save.add(time.Since(t0))
	return true
}

func (r *runAhead) slot(u uint64) int { return int(u % uint64(len(r.ring))) }

// off turns run-ahead off for the rest of the game: the game goes on from
// the core's state, at most N frames from where it would have been.
func (r *runAhead) off(what string, err error) {
	r.log.Warn(fmt.Sprintf("run-ahead off: the core failed to %s a state", what), "frames", r.frames, "err", err)
	r.frames, r.started, r.muted, r.owed = 0, false, false, false
	r.ring, r.lengths = nil, nil
}

func (r *runAhead) setInput(in padState) {
	for port, pad := range in {
		// Ports are in range: SetInput fails for no other reason.
		_ = r.core.SetInput(port, pad)
	}
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"log/slog"
	"os"

	"github.com/telecart/telecart/internal/libretro"
)

// ErrNoAnswer means the picture never answered the button in the frames
// watched.
var ErrNoAnswer = errors.New("runner: the picture did not answer the button")

// LagOptions says which game's lag to measure, and how.
type LagOptions struct {
	// Core and Game are the paths of the libretro core and the ROM.
	Core, Game string
	// Options override core options, by key.
	Options map[string]string
	// Button is player 1's button pressed: a libretro joypad id
	// (libretro.ButtonA, ...).
	Button int
	// Region is where the picture answers the button, in the core's
	// picture; empty, the whole picture.
	Region image.Rectangle
	// Warmup is how many frames run, with nothing held, before the first
	// press: past the boot and the title screens to the place measured.
	// Zero means DefaultLagWarmup.
	Warmup int
	// Window is how many frames are watched after each press; zero means
	// DefaultLagWindow.
	Window int
	// Trials is how many presses are measured, each a frame later than the
	// one before, as a game may read its input on some frames only; zero
	// means DefaultLagTrials.
	Trials int
	// RunAhead plays the game with this run-ahead, 0 to MaxRunAhead, as
	// the runner does: the lag measured is then the one players see.
	RunAhead int
	// Logger receives the core's log; nil means none.
	Logger *slog.Logger
}

// Defaults of LagOptions.
const (
	DefaultLagWarmup = 120
	DefaultLagWindow = 30
	DefaultLagTrials = 3
)

// LagResult is a game's lag, in frames: from the frame whose run first
// reads the button held to the first frame whose picture shows it.
type LagResult struct {
	// Frames is the fewest over the trials: run-ahead of more would show
	// a future the game would not have shown yet.
	Frames int
	// Trials are each press's lag; -1 where the picture did not answer.
	Trials []int
}

// RunAhead is the run-ahead to set for the game: its lag frames, at most
// MaxRunAhead.
func (r LagResult) RunAhead() int { return min(r.Frames, MaxRunAhead) }

// MeasureLag finds a game's lag frames as a player sees them: it presses
// the button at frame k and counts the frames until the picture in the
// region differs from that of the same game not pressed from frame k on.
// Both runs start from one save state, so they differ only by the press.
//
// It drives the core in this process, which must have no other core
// loaded (libretro allows one per process).
func MeasureLag(ctx context.Context, o LagOptions) (LagResult, error) {
	if o.Warmup == 0 {
		o.Warmup = DefaultLagWarmup
	}
	if o.Window == 0 {
		o.Window = DefaultLagWindow
	}
	if o.Trials == 0 {
		o.Trials = DefaultLagTrials
	}
	switch {
	case o.Core == "" || o.Game == "":
		return LagResult{}, fmt.Errorf("%w: lag: a core and a game", ErrInvalidConfig)
	case o.Button < 0 || o.Button > libretro.ButtonR3:
		return LagResult{}, fmt.Errorf("%w: lag: button %d: want a joypad id, 0 to %d", ErrInvalidConfig, o.Button, libretro.ButtonR3)
	case o.Warmup < 0 || o.Window < 1 || o.Trials < 1 || o.Warmup > 100000 || o.Window > 10000 || o.Trials > 100:
		return LagResult{}, fmt.Errorf("%w: lag: warmup %d, window %d, trials %d frames: want 0-100000, 1-10000, 1-100", ErrInvalidConfig, o.Warmup, o.Window, o.Trials)
	case o.RunAhead < 0 || o.RunAhead > MaxRunAhead:
		return LagResult{}, fmt.Errorf("%w: lag: run-ahead of %d frames: want 0 to %d", ErrInvalidConfig, o.RunAhead, MaxRunAhead)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "telecart-lag-")
	if err != nil {
		return LagResult{}, fmt.Errorf("runner: lag: %w", err)
	}
	defer os.RemoveAll(dir)
	core, err := libretro.Load(libretro.Config{Path: o.Core, SystemDir: dir, SaveDir: dir, Options: o.Options, Logger: log})
	if err != nil {
		return LagResult{}, err
	}
	defer core.Close()
	if err := core.LoadGame(o.Game, nil); err != nil {
		return LagResult{}, err
	}
	m := &lagMeter{region: o.Region}
	m.ahead = newRunAhead(core, o.RunAhead, m.onFrame, &statsWindow{}, log)
	core.SetVideo(m.ahead.onFrame)

	for range o.Warmup {
		if err := m.run(ctx, 0); err != nil {
			return LagResult{}, err
		}
	}
	res := LagResult{Frames: -1}
	pressed := uint16(1) << o.Button
	for trial := range o.Trials {
		if trial > 0 {
			if err := m.run(ctx, 0); err != nil {
				return LagResult{}, err
			}
		}
		state, err := core.SaveState()
		if err != nil {
			return LagResult{}, fmt.Errorf("runner: lag: the two runs start from a save state: %w", err)
		}
		// With run-ahead, both runs start its timeline afresh from the
		// state, the same way.
		m.ahead.restart()
		idle, err := m.watch(ctx, 0, o.Window)
		if err != nil {
			return LagResult{}, err
		}
		if err := core.LoadState(state); err != nil {
			return LagResult{}, err
		}
		m.ahead.restart()
		held, err := m.watch(ctx, pressed, o.Window)
		if err != nil {
			return LagResult{}, err
		}
		lag := -1
		for i := range held {
			if held[i] != idle[i] {
				lag = i
				break
			}
		}
		res.Trials = append(res.Trials, lag)
		if lag >= 0 && (res.Frames < 0 || lag < res.Frames) {
			res.Frames = lag
		}
		// The next trial goes on from the game not pressed.
		if err := core.LoadState(state); err != nil {
			return LagResult{}, err
		}
		m.ahead.restart()
	}
	if res.Frames < 0 {
		return res, fmt.Errorf("%w in %d frames after any of %d presses", ErrNoAnswer, o.Window, o.Trials)
	}
	return res, nil
}

// lagMeter runs frames and fingerprints the region of each picture.
type lagMeter struct {
	ahead   *runAhead
	region  image.Rectangle
	picture uint64 // the region's fingerprint in the newest picture
	err     error
}

func (m *lagMeter) onFrame(f libretro.Frame, dupe bool) {
	if dupe || m.err != nil {
		return // the picture before it
	}
	r := m.region
	bounds := image.Rect(0, 0, f.Width, f.Height)
	if r.Empty() {
		r = bounds
	}
	if !r.In(bounds) {
		m.err = fmt.Errorf("%w: lag: region %v is not inside the %dx%d picture", ErrInvalidConfig, m.region, f.Width, f.Height)
		return
	}
	bpp := f.Format.BytesPerPixel()
	h := fnv.New64a()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := y*f.Pitch + r.Min.X*bpp
		h.Write(f.Data[row : row+r.Dx()*bpp])
	}
	m.picture = h.Sum64()
}

// run runs a frame with player 1 holding buttons.
func (m *lagMeter) run(ctx context.Context, buttons uint16) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var pads padState
	pads[0].Buttons = buttons
	if _, err := m.ahead.step(pads); err != nil {
		return err
	}
	m.ahead.keep()
	return m.err
}

// watch runs frames with player 1 holding buttons and returns each
// picture's fingerprint.
func (m *lagMeter) watch(ctx context.Context, buttons uint16, frames int) ([]uint64, error) {
	prints := make([]uint64, frames)
	for i := range prints {
		if err := m.run(ctx, buttons); err != nil {
			return nil, err
		}
		prints[i] = m.picture
	}
	return prints, nil
}

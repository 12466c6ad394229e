package cli

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/runner"
)

// lagButtons names player 1's buttons for `telecart lag -button`.
var lagButtons = map[string]int{
	"a": libretro.ButtonA, "b": libretro.ButtonB, "x": libretro.ButtonX, "y": libretro.ButtonY,
	"select": libretro.ButtonSelect, "start": libretro.ButtonStart,
	"up": libretro.ButtonUp, "down": libretro.ButtonDown, "left": libretro.ButtonLeft, "right": libretro.ButtonRight,
	"l": libretro.ButtonL, "r": libretro.ButtonR,
}

func runLag(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("lag", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	game := fs.String("game", "", "ROM to measure (default: the bundled test ROM, whose lag box lags 2 frames)")
	coreDir := fs.String("cores", strings.Join(cores.DefaultDirs(), string(os.PathListSeparator)), "directories to search for libretro cores, separated by "+string(os.PathListSeparator))
	button := fs.String("button", "a", "player 1's `button` pressed: a, b, x, y, select, start, up, down, left, right, l, r")
	region := fs.String("region", "", "`x,y,w,h` of the picture that answers the button (a menu's cursor); default: the whole picture")
	warmup := fs.Int("warmup", runner.DefaultLagWarmup, "`frames` run before the first press, to reach the screen measured")
	window := fs.Int("window", runner.DefaultLagWindow, "`frames` watched after each press")
	trials := fs.Int("trials", runner.DefaultLagTrials, "presses measured, each a frame later")
	runAhead := fs.Int("runahead", 0, fmt.Sprintf("play with run-ahead of these `frames`, 0 to %d, as the runner does: the lag players see", runner.MaxRunAhead))
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: telecart lag [flags]\n\nMeasures a game's lag frames: presses a button in an emulator in this\nprocess and counts the frames until the picture answers, against the same\ngame not pressed, and suggests the game's runahead_frames.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, ok := lagButtons[strings.ToLower(*button)]
	if !ok {
		fmt.Fprintf(e.stderr, "-button %q: want one of a, b, x, y, select, start, up, down, left, right, l, r\n", *button)
		return errUsage
	}
	rect, err := parseRegion(*region)
	if err != nil {
		fmt.Fprintf(e.stderr, "-region %q: %v\n", *region, err)
		return errUsage
	}

	work, err := os.MkdirTemp("", "telecart-lag-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	romPath, _, corePath, err := gameAndCore(*game, *coreDir, work)
	if err != nil {
		return err
	}
	res, err := runner.MeasureLag(ctx, runner.LagOptions{
		Core: corePath, Game: romPath, Button: id, Region: rect,
		Warmup: *warmup, Window: *window, Trials: *trials, RunAhead: *runAhead, Logger: e.log,
	})
	if err != nil {
		return err
	}
	name := filepath.Base(romPath)
	if *runAhead > 0 {
		fmt.Fprintf(e.stdout, "%s: %s answers in %d frames with run-ahead of %d (each press: %v)\n", name, *button, res.Frames, *runAhead, res.Trials)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: %s answers in %d frames (each press: %v)\n", name, *button, res.Frames, res.Trials)
	fmt.Fprintf(e.stdout, "suggested: \"runahead_frames\": {%q: %d}\n", name, res.RunAhead())
	return nil
}

// parseRegion reads x,y,w,h; empty is the whole picture.
func parseRegion(s string) (image.Rectangle, error) {
	if s == "" {
		return image.Rectangle{}, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("want x,y,w,h: four whole numbers")
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 1<<16 {
			return image.Rectangle{}, fmt.Errorf("%q: want a whole number from 0 to 65536", p)
		}
		v[i] = n
	}
	if v[2] == 0 || v[3] == 0 {
		return image.Rectangle{}, fmt.Errorf("want a width and a height above 0")
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

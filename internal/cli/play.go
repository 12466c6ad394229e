package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/sandbox"
	"github.com/telecart/telecart/internal/testrom"
)

// demoButtons is what `play -demo` holds in its n-th second: nothing, then
// each NES button in turn, so the statistics show a picture that changes
// (the test ROM turns the screen a new colour for each).
func demoButtons(n uint32) uint16 {
	buttons := [...]uint16{0, libretro.ButtonA, libretro.ButtonB, libretro.ButtonSelect, libretro.ButtonStart,
		libretro.ButtonUp, libretro.ButtonDown, libretro.ButtonLeft, libretro.ButtonRight}
	if i := n % uint32(len(buttons)); i > 0 {
		return 1 << buttons[i]
	}
	return 0
}

func runPlay(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("play", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	game := fs.String("game", "", "ROM to play (default: the bundled test ROM)")
	coreDir := fs.String("cores", strings.Join(cores.DefaultDirs(), string(os.PathListSeparator)), "directories to search for libretro cores, separated by "+string(os.PathListSeparator))
	codec := fs.String("codec", string(runner.DefaultCodec), "video codec: vp8 or h264")
	bitrate := fs.Int("bitrate", runner.DefaultVideoKbps, "video bitrate in kbit/s")
	duration := fs.Duration("duration", 0, "stop after playing this long (0: until interrupted)")
	demo := fs.Bool("demo", true, "press player 1's buttons in turn, one a second")
	confine := fs.Bool("sandbox", true, "run the game in the runner's sandbox (false only to debug a core)")
	runAhead := fs.Int("runahead", -1, fmt.Sprintf("run-ahead `frames`, 0 to %d; -1: the system's default (nes 1, others 0)", runner.MaxRunAhead))
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: telecart play [flags]\n\nPlays a game in a runner process, as a worker would, and prints its frame\nrate and the cost of each stage once a second.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	work, err := os.MkdirTemp("", "telecart-play-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	romPath, system, corePath, err := gameAndCore(*game, *coreDir, work)
	if err != nil {
		return err
	}

	frames := *runAhead
	if frames < 0 {
		frames = runner.RunAheadPolicy{On: true}.For(system, romPath)
	}

	stats := make(chan wire.Stats, 8)
	var unsandboxed sandbox.Layers
	if !*confine {
		unsandboxed = sandbox.All
	}
	p, err := runner.Start(ctx, runner.Options{
		Config: runner.Config{
			Core:        corePath,
			Game:        romPath,
			SystemDir:   work,
			SaveDir:     work,
			Video:       runner.VideoConfig{Codec: runner.Codec(*codec), BitrateKbps: *bitrate},
			RunAhead:    frames,
			Unsandboxed: unsandboxed,
		},
		Logger: e.log,
		Handlers: runner.Handlers{
			// Printed by the loop below: stdout has one writer.
			Stats: func(s wire.Stats) {
				select {
				case stats <- s:
				default:
				}
			},
		},
	})
	if err != nil {
		return err
	}
	r := p.Ready()
	fmt.Fprintf(e.stdout, "playing %s with %s: %dx%d at %.3f fps, audio %.0f Hz -> 48000 Hz Opus, video %s at %d kbit/s, run-ahead %d frames (pid %d)\n",
		filepath.Base(romPath), r.Core, r.Width, r.Height, r.FPS, r.SampleRate, r.Codec, *bitrate, r.RunAhead, p.Pid())
	fmt.Fprintln(e.stdout, sandboxLine(r.Sandbox))

	// The duration is of play: a machine slow to start the game plays as
	// long as a quick one.
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for seq := uint32(1); ; seq++ {
		select {
		case <-ctx.Done():
			return p.Close()
		case <-p.Done():
			return p.Err()
		case s := <-stats:
			fmt.Fprintln(e.stdout, formatStats(s))
		case <-tick.C:
			if *demo {
				in := wire.Input{Slot: 0, Seq: seq, Buttons: demoButtons(seq)}
				if err := p.SendInput(in); err != nil {
					return err
				}
			}
		}
	}
}

func formatStats(s wire.Stats) string {
	ms := func(t wire.Timing) string {
		return fmt.Sprintf("%.2f/%.2f", t.Mean.Seconds()*1e3, t.Max.Seconds()*1e3)
	}
	kbps := func(bytes int) float64 { return float64(bytes) * 8 / 1000 / s.Interval.Seconds() }
	ahead := ""
	if s.Save.Mean > 0 || s.Replays > 0 {
		// Run-ahead's share of emulate: a save a frame, and the replays.
		ahead = fmt.Sprintf("  |  run-ahead: save %s  %d replays of %d frames %s", ms(s.Save), s.Replays, s.ReplayedFrames, ms(s.Replay))
	}
	return fmt.Sprintf("%5.1f fps  late %d  ms mean/max: emulate %s  convert %s  encode %s  audio %s  |  video %4.0f kbit/s  audio %3.0f kbit/s%s  |  cpu %4.1f%%",
		s.FPS, s.Late, ms(s.Emulate), ms(s.Convert), ms(s.Encode), ms(s.Audio), kbps(s.VideoBytes), kbps(s.AudioBytes), ahead, s.CPU*100)
}

// sandboxLine says which layers of the runner's sandbox hold, and why
// the others do not.
func sandboxLine(layers []wire.SandboxLayer) string {
	var on, off []string
	for _, l := range layers {
		if l.On {
			on = append(on, l.Layer)
		} else {
			off = append(off, l.Layer+" ("+l.Detail+")")
		}
	}
	line := "sandbox: none"
	if len(on) > 0 {
		line = "sandbox: " + strings.Join(on, ", ")
	}
	if len(off) > 0 {
		line += "; without " + strings.Join(off, "; ")
	}
	return line
}

// gameAndCore is the ROM to play (the bundled test ROM, written into work,
// when game is empty), its system, and the core for it found in coreDirs.
func gameAndCore(game, coreDirs, work string) (romPath string, system cores.System, corePath string, err error) {
	romPath = game
	if romPath == "" {
		romPath = filepath.Join(work, "telecart-test.nes")
		if err := os.WriteFile(romPath, testrom.ROM(), 0o644); err != nil {
			return "", cores.System{}, "", err
		}
	}
	system, err = cores.ForFile(romPath)
	if err != nil {
		return "", cores.System{}, "", err
	}
	corePath, err = system.Find(filepath.SplitList(coreDirs))
	if err != nil {
		return "", cores.System{}, "", err
	}
	return romPath, system, corePath, nil
}

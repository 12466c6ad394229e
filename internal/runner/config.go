// Package runner runs one game in a child process and supervises it from
// the parent.
//
// The child (Serve, started as `telecart runner`) loads a libretro core and
// a game, runs the frame loop at the core's own frame rate, encodes video and
// audio, and speaks package wire with its parent over an inherited socket.
// The parent side (Start, Process) starts the child, exchanges messages with
// it, and turns a crash or a hang into an error without leaving a zombie.
// One process per game keeps a crashing core from taking anything else down,
// and lets one worker run many games, which libretro's per-process callbacks
// would otherwise forbid.
package runner

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/sandbox"
)

// Codec is a video codec the runner can encode.
type Codec string

const (
	CodecVP8  Codec = "vp8"
	CodecH264 Codec = "h264"
)

// Config is everything a runner needs to start a game. It travels to the
// child as JSON in the wire.Start message.
type Config struct {
	// Core is the path of the libretro core.
	Core string `json:"core"`
	// Game is the path of the ROM.
	Game string `json:"game"`
	// SystemDir holds BIOS files; SaveDir is where cores may write files.
	SystemDir string `json:"system_dir,omitempty"`
	SaveDir   string `json:"save_dir,omitempty"`
	// Options override core options, by key.
	Options map[string]string `json:"options,omitempty"`
	// SRAM, when set, is restored into the game's battery save at start.
	SRAM  []byte      `json:"sram,omitempty"`
	Video VideoConfig `json:"video"`
	Audio AudioConfig `json:"audio"`
	// FramePhase is how the frame loop places its frames in each period
	// (see pace.go); empty: DefaultFramePhase.
	FramePhase FramePhase `json:"frame_phase,omitempty"`
	// RunAhead is how many frames ahead of the game's real timeline the
	// picture is, 0 to MaxRunAhead: the lag frames of the game hidden
	// (ARCHITECTURE.md, Run-ahead). 0 is off.
	RunAhead int `json:"run_ahead,omitempty"`
	// Unsandboxed are the layers of the runner's sandbox left out: none
	// by default, sandbox.All to debug a core without any.
	Unsandboxed sandbox.Layers `json:"unsandboxed,omitempty"`
}

// sandbox is what the runner may read: the core, the game, and the
// core's folders, which it reads and never writes (a save goes to the
// parent over the socket).
func (c Config) sandbox() sandbox.Spec { return c.sandboxReading(c.Core, c.Game) }

// sandboxReading is the sandbox of a runner that may read paths besides
// its system and save folders.
func (c Config) sandboxReading(paths ...string) sandbox.Spec {
	spec := sandbox.Spec{Off: c.Unsandboxed, Read: paths}
	for _, dir := range []string{c.SystemDir, c.SaveDir} {
		if dir != "" {
			spec.Read = append(spec.Read, dir)
		}
	}
	return spec
}

// VideoConfig selects the video encoder.
type VideoConfig struct {
	Codec       Codec `json:"codec"`
	BitrateKbps int   `json:"bitrate_kbps"`
}

// AudioConfig selects the Opus encoder's settings.
type AudioConfig struct {
	BitrateKbps int `json:"bitrate_kbps"`
	// FrameDuration is the length of one Opus packet: 10 or 20 ms. Shorter
	// packets mean less delay, longer ones less overhead.
	FrameDuration time.Duration `json:"frame_duration"`
}

// Encoder settings used when a Config leaves them zero: enough bitrate for
// sharp 8- and 16-bit pictures, 10 ms audio packets for low delay.
const (
	DefaultCodec              = CodecVP8
	DefaultVideoKbps          = 1500
	DefaultAudioKbps          = 96
	DefaultAudioFrameDuration = 10 * time.Millisecond
)

var ErrInvalidConfig = errors.New("runner: invalid config")

// RunAheadPolicy chooses each game's run-ahead (Config.RunAhead).
type RunAheadPolicy struct {
	// On is false to turn run-ahead off for every game.
	On bool
	// Frames overrides the system's default (cores.System.RunAhead), by
	// system id ("nes") or by the game's file name, which wins.
	Frames map[string]int
}

// For is the run-ahead of the game at path, which system plays.
func (p RunAheadPolicy) For(system cores.System, path string) int {
	if !p.On {
		return 0
	}
	if n, ok := p.Frames[filepath.Base(path)]; ok {
		return n
	}
	if n, ok := p.Frames[system.ID]; ok {
		return n
	}
	return system.RunAhead
}

// Validate reports the first frame count out of range.
func (p RunAheadPolicy) Validate() error {
	for _, k := range slices.Sorted(maps.Keys(p.Frames)) {
		if k == "" {
			return fmt.Errorf("%w: run-ahead for an empty name: want a system id (nes) or a game's file name", ErrInvalidConfig)
		}
		if n := p.Frames[k]; n < 0 || n > MaxRunAhead {
			return fmt.Errorf("%w: run-ahead of %d frames for %s: want 0 to %d", ErrInvalidConfig, n, k, MaxRunAhead)
		}
	}
	return nil
}

// withDefaults fills zero fields with the defaults.
func (c Config) withDefaults() Config {
	if c.Video.Codec == "" {
		c.Video.Codec = DefaultCodec
	}
	if c.Video.BitrateKbps == 0 {
		c.Video.BitrateKbps = DefaultVideoKbps
	}
	if c.Audio.BitrateKbps == 0 {
		c.Audio.BitrateKbps = DefaultAudioKbps
	}
	if c.Audio.FrameDuration == 0 {
		c.Audio.FrameDuration = DefaultAudioFrameDuration
	}
	if c.FramePhase == "" {
		c.FramePhase = DefaultFramePhase
	}
	return c
}

// Validate reports the first problem with the config, after defaults.
func (c Config) Validate() error {
	switch {
	case c.Core == "":
		return fmt.Errorf("%w: no core", ErrInvalidConfig)
	case c.Game == "":
		return fmt.Errorf("%w: no game", ErrInvalidConfig)
	}
	if err := c.ValidateEncoding(); err != nil {
		return err
	}
	if c.RunAhead < 0 || c.RunAhead > MaxRunAhead {
		return fmt.Errorf("%w: run-ahead of %d frames: want 0 to %d", ErrInvalidConfig, c.RunAhead, MaxRunAhead)
	}
	for _, dir := range []string{c.SystemDir, c.SaveDir} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("%w: %s is not a directory", ErrInvalidConfig, dir)
		}
	}
	return nil
}

// ValidateEncoding reports the first problem with the video and audio
// settings and the frame phase, after defaults: what a worker's
// configuration sets for every game.
func (c Config) ValidateEncoding() error {
	c = c.withDefaults()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Video.Codec != CodecVP8 && c.Video.Codec != CodecH264:
		return bad("video codec %q: want %q or %q", c.Video.Codec, CodecVP8, CodecH264)
	case c.Video.BitrateKbps < 100 || c.Video.BitrateKbps > 50000:
		return bad("video bitrate %d kbps: want 100 to 50000", c.Video.BitrateKbps)
	case c.Audio.BitrateKbps < 6 || c.Audio.BitrateKbps > 510:
		return bad("audio bitrate %d kbps: want 6 to 510", c.Audio.BitrateKbps)
	case c.Audio.FrameDuration != 10*time.Millisecond && c.Audio.FrameDuration != 20*time.Millisecond:
		return bad("audio frame duration %v: want 10ms or 20ms", c.Audio.FrameDuration)
	case c.FramePhase != PhaseDisplay && c.FramePhase != PhaseInput && c.FramePhase != PhaseFixed:
		return bad("frame phase %q: want %q, %q or %q", c.FramePhase, PhaseDisplay, PhaseInput, PhaseFixed)
	}
	return nil
}

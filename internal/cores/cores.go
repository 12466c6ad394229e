// Package cores knows which systems Telecart plays, which Debian libretro
// core plays each, and where to find the cores on this machine.
package cores

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// ErrNoSystem means no system plays a file with that extension.
var ErrNoSystem = errors.New("cores: no system plays this file type")

// ErrNoCore means the system's core is not installed.
var ErrNoCore = errors.New("cores: core not installed")

// System is a console and the core that emulates it.
type System struct {
	ID   string // short and stable: used in URLs and configs
	Name string
	// Core is the file name of the libretro core; Package the Debian
	// package that installs it.
	Core    string
	Package string
	// Extensions are the ROM file types, lower case, without dots.
	Extensions []string
	// RunAhead is the run-ahead, in frames, a game of the system gets by
	// default (ARCHITECTURE.md, Run-ahead): 1 where the core saves a
	// state in a small part of a frame and most games lag a frame or
	// more, 0 where a save costs too much (mGBA's take 10 to 38 ms) or
	// is unmeasured.
	RunAhead int
}

// Systems lists the supported systems, in the order a menu shows them.
func Systems() []System {
	return []System{
		{ID: "nes", Name: "Nintendo Entertainment System", Core: "nestopia_libretro.so", Package: "libretro-nestopia", Extensions: []string{"nes", "fds", "unf", "unif"}, RunAhead: 1},
		{ID: "snes", Name: "Super Nintendo", Core: "bsnes_mercury_performance_libretro.so", Package: "libretro-bsnes-mercury-performance", Extensions: []string{"sfc", "smc"}},
		{ID: "gb", Name: "Game Boy / Game Boy Color", Core: "gambatte_libretro.so", Package: "libretro-gambatte", Extensions: []string{"gb", "gbc"}},
		{ID: "gba", Name: "Game Boy Advance", Core: "mgba_libretro.so", Package: "libretro-mgba", Extensions: []string{"gba"}},
		{ID: "pce", Name: "PC Engine / TurboGrafx-16", Core: "mednafen_pce_fast_libretro.so", Package: "libretro-beetle-pce-fast", Extensions: []string{"pce"}},
	}
}

// ForFile returns the system that plays the ROM at path, by its extension.
func ForFile(path string) (System, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	for _, s := range Systems() {
		if slices.Contains(s.Extensions, ext) {
			return s, nil
		}
	}
	return System{}, fmt.Errorf("%w: %q", ErrNoSystem, filepath.Base(path))
}

// DefaultDirs are where Debian installs libretro cores on this architecture.
func DefaultDirs() []string {
	triplet := map[string]string{
		"amd64": "x86_64-linux-gnu",
		"arm64": "aarch64-linux-gnu",
		"386":   "i386-linux-gnu",
		"arm":   "arm-linux-gnueabihf",
	}[runtime.GOARCH]
	dirs := []string{"/usr/lib/libretro"}
	if triplet != "" {
		dirs = append([]string{"/usr/lib/" + triplet + "/libretro"}, dirs...)
	}
	return dirs
}

// Find returns the path of the system's core in the first of dirs that
// has it.
func (s System) Find(dirs []string) (string, error) {
	for _, dir := range dirs {
		path := filepath.Join(dir, s.Core)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w: %s for %s is in none of %s (Debian package %s)", ErrNoCore, s.Core, s.Name, strings.Join(dirs, ", "), s.Package)
}

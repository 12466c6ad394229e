// Package libretro is a libretro frontend: it loads an emulator core with
// dlopen, feeds it a game, input and settings, and hands back its frames,
// audio and state.
//
// libretro's callbacks carry no context pointer, so a process can drive only
// one core at a time. That is a property of the C API, and the reason
// Telecart runs every game in a runner process of its own.
package libretro

/*
#cgo CFLAGS: -I/usr/include/libretro-common -O2
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "frontend.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"
)

var (
	ErrCoreLoad        = errors.New("libretro: cannot load core")
	ErrCoreBusy        = errors.New("libretro: another core is loaded in this process")
	ErrGameRejected    = errors.New("libretro: core refused the game")
	ErrGameTooLarge    = errors.New("libretro: game file too large")
	ErrEmptyGame       = errors.New("libretro: game file is empty")
	ErrWrongExtension  = errors.New("libretro: core does not support this file type")
	ErrNoGame          = errors.New("libretro: no game loaded")
	ErrStateSize       = errors.New("libretro: state does not fit this game")
	ErrSerialize       = errors.New("libretro: core failed to save state")
	ErrUnserialize     = errors.New("libretro: core refused the state")
	ErrNoSRAM          = errors.New("libretro: game has no battery save")
	ErrSRAMSize        = errors.New("libretro: SRAM size does not match the game")
	ErrClosed          = errors.New("libretro: core closed")
	errUnsupportedPort = errors.New("libretro: player port out of range")
)

// MaxGameSize bounds a ROM read into memory: bigger than any cartridge of
// the systems we serve, small enough that a wrong file cannot exhaust memory.
const MaxGameSize = 64 << 20

// MaxStateSize bounds a save state handed to LoadState. States of the same
// game vary in size from frame to frame (nestopia's do), so a state is not
// checked against the current size, only against this bound.
const MaxStateSize = 32 << 20

// Ports is the number of player ports the frontend drives.
const Ports = C.TC_MAX_PORTS

// The one core this process drives; see the package comment.
var active atomic.Pointer[Core]

// Config says which core to load and where it may keep files.
type Config struct {
	// Path of the core's shared library.
	Path string
	// SystemDir holds BIOS files and other read-only assets.
	SystemDir string
	// SaveDir is where cores that write their own files may do so.
	SaveDir string
	// Options override the core's defaults, by option key. An override
	// that is not one of the option's values is ignored with a warning.
	Options map[string]string
	// Logger receives the core's log; nil means slog.Default().
	Logger *slog.Logger
}

// SystemInfo describes a core.
type SystemInfo struct {
	Name       string
	Version    string
	Extensions []string // lower case, without dots
	// NeedFullPath means the core reads the game from its path itself.
	NeedFullPath bool
}

// Geometry is the picture size a core announces.
type Geometry struct {
	BaseWidth, BaseHeight int
	MaxWidth, MaxHeight   int
	AspectRatio           float64 // display aspect; width/height when the core gives none
}

// AVInfo is a core's picture geometry and timing.
type AVInfo struct {
	Geometry
	FPS        float64
	SampleRate float64
}

// Frame is one picture from the core. Data aliases the core's memory and is
// valid only during the VideoFunc call that receives it.
type Frame struct {
	Data          []byte
	Width, Height int
	Pitch         int
	Format        PixelFormat
}

// PixelFormat is the layout of a Frame's pixels.
type PixelFormat uint8

const (
	PixelFormat0RGB1555 PixelFormat = C.RETRO_PIXEL_FORMAT_0RGB1555
	PixelFormatXRGB8888 PixelFormat = C.RETRO_PIXEL_FORMAT_XRGB8888
	PixelFormatRGB565   PixelFormat = C.RETRO_PIXEL_FORMAT_RGB565
)

func (f PixelFormat) String() string {
	switch f {
	case PixelFormat0RGB1555:
		return "0RGB1555"
	case PixelFormatXRGB8888:
		return "XRGB8888"
	case PixelFormatRGB565:
		return "RGB565"
	}
	return fmt.Sprintf("PixelFormat(%d)", uint8(f))
}

// BytesPerPixel is the size of one pixel in this format.
func (f PixelFormat) BytesPerPixel() int {
	if f == PixelFormatXRGB8888 {
		return 4
	}
	return 2
}

// VideoFunc receives each frame the core draws. dupe reports a frame the
// core skipped drawing because it equals the previous one (frame is empty).
type VideoFunc func(frame Frame, dupe bool)

// Input is the state of one player's controller.
type Input struct {
	// Buttons has bit n set while RETRO_DEVICE_ID_JOYPAD n is held
	// (ButtonB = 0 ... ButtonR3 = 15).
	Buttons uint16
	// Analog holds left X, left Y, right X, right Y in -0x8000..0x7fff.
	Analog [4]int16
}

// Joypad button ids, the bit numbers of Input.Buttons.
const (
	ButtonB = iota
	ButtonY
	ButtonSelect
	ButtonStart
	ButtonUp
	ButtonDown
	ButtonLeft
	ButtonRight
	ButtonA
	ButtonX
	ButtonL
	ButtonR
	ButtonL2
	ButtonR2
	ButtonL3
	ButtonR3
)

// Core is a loaded libretro core. It is not safe for concurrent use: one
// goroutine, ideally locked to its OS thread, drives it.
type Core struct {
	c          *C.tc_core
	path       string
	log        *slog.Logger
	info       SystemInfo
	systemDir  *C.char
	saveDir    *C.char
	corePath   *C.char
	options    *options
	controller []controllerPort

	video       VideoFunc
	pixelFormat PixelFormat
	av          AVInfo
	avChanged   bool
	shutdown    bool

	gameLoaded bool
	gameData   unsafe.Pointer // kept until unload: cores may keep pointers into it
	gamePath   *C.char
}

// Load opens the core at cfg.Path and initialises it.
func Load(cfg Config) (*Core, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCoreLoad, err)
	}
	core := &Core{
		path:        cfg.Path,
		log:         logger,
		pixelFormat: PixelFormat0RGB1555, // libretro's default until the core asks otherwise
		options:     newOptions(cfg.Options, logger),
	}
	if !active.CompareAndSwap(nil, core) {
		return nil, ErrCoreBusy
	}
	cpath := C.CString(cfg.Path)
	defer C.free(unsafe.Pointer(cpath))
	var errbuf [512]C.char
	core.c = C.tc_open(cpath, &errbuf[0], C.size_t(len(errbuf)))
	if core.c == nil {
		active.Store(nil)
		return nil, fmt.Errorf("%w %s: %s", ErrCoreLoad, cfg.Path, C.GoString(&errbuf[0]))
	}
	core.systemDir = C.CString(cfg.SystemDir)
	core.saveDir = C.CString(cfg.SaveDir)
	core.corePath = C.CString(cfg.Path)

	C.tc_attach(core.c)

	var si C.struct_retro_system_info
	C.tc_get_system_info(core.c, &si)
	core.info = SystemInfo{
		Name:         C.GoString(si.library_name),
		Version:      C.GoString(si.library_version),
		NeedFullPath: bool(si.need_fullpath),
	}
	for _, ext := range strings.Split(C.GoString(si.valid_extensions), "|") {
		if ext = strings.ToLower(strings.TrimSpace(ext)); ext != "" {
			core.info.Extensions = append(core.info.Extensions, ext)
		}
	}
	return core, nil
}

// Close unloads the game and the core. It is safe to call more than once.
func (c *Core) Close() error {
	if c.c == nil {
		return nil
	}
	if c.gameLoaded {
		C.tc_unload_game(c.c)
		c.gameLoaded = false
	}
	C.tc_deinit(c.c)
	C.tc_close(c.c)
	c.c = nil
	C.free(c.gameData)
	C.free(unsafe.Pointer(c.gamePath))
	C.free(unsafe.Pointer(c.systemDir))
	C.free(unsafe.Pointer(c.saveDir))
	C.free(unsafe.Pointer(c.corePath))
	c.gameData, c.gamePath = nil, nil
	c.options.free()
	active.CompareAndSwap(c, nil)
	return nil
}

// SystemInfo describes the core.
func (c *Core) SystemInfo() SystemInfo { return c.info }

// Supports reports whether the core claims files with this extension.
func (c *Core) Supports(ext string) bool {
	ext = strings.ToLower(strings.TrimPrefix(ext, "."))
	return slices.Contains(c.info.Extensions, ext)
}

// LoadGame loads the game at path. data, when not nil, is the file's
// contents (for a game that does not live on disk); otherwise the file is
// read unless the core reads it itself.
func (c *Core) LoadGame(path string, data []byte) error {
	if c.c == nil {
		return ErrClosed
	}
	if ext := extension(path); !c.Supports(ext) {
		return fmt.Errorf("%w: %s takes %s, not %q", ErrWrongExtension, c.info.Name, strings.Join(c.info.Extensions, ", "), ext)
	}
	if data == nil {
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("libretro: load game: %w", err)
		}
		if st.Size() > MaxGameSize {
			return fmt.Errorf("%w: %s is %d bytes", ErrGameTooLarge, path, st.Size())
		}
		if !c.info.NeedFullPath {
			if data, err = os.ReadFile(path); err != nil {
				return fmt.Errorf("libretro: load game: %w", err)
			}
		} else if st.Size() == 0 {
			return fmt.Errorf("%w: %s", ErrEmptyGame, path)
		}
	}
	if data != nil && len(data) == 0 {
		return fmt.Errorf("%w: %s", ErrEmptyGame, path)
	}
	if len(data) > MaxGameSize {
		return fmt.Errorf("%w: %d bytes", ErrGameTooLarge, len(data))
	}

	var gi C.struct_retro_game_info
	c.gamePath = C.CString(path)
	gi.path = c.gamePath
	if !c.info.NeedFullPath {
		c.gameData = C.CBytes(data)
		gi.data = c.gameData
		gi.size = C.size_t(len(data))
	}
	if !C.tc_load_game(c.c, &gi) {
		C.free(c.gameData)
		C.free(unsafe.Pointer(c.gamePath))
		c.gameData, c.gamePath = nil, nil
		return fmt.Errorf("%w: %s could not load %s", ErrGameRejected, c.info.Name, path)
	}
	c.gameLoaded = true

	var av C.struct_retro_system_av_info
	C.tc_get_system_av_info(c.c, &av)
	c.av = avInfo(&av)
	c.avChanged = false
	c.connectControllers()
	return nil
}

// connectControllers plugs a joypad into every port the core describes, so
// that cores defaulting to "none" or "auto" on later ports hear player 2-4.
func (c *Core) connectControllers() {
	for port, pc := range c.controller {
		if port >= Ports {
			break
		}
		if id, ok := pc.joypad(); ok {
			C.tc_set_controller_port_device(c.c, C.unsigned(port), C.unsigned(id))
		}
	}
}

// AVInfo is the game's current geometry and timing.
func (c *Core) AVInfo() AVInfo { return c.av }

// AVInfoChanged reports whether the core changed its geometry or timing
// since the last call.
func (c *Core) AVInfoChanged() bool {
	changed := c.avChanged
	c.avChanged = false
	return changed
}

// ShutdownRequested reports whether the core asked to quit.
func (c *Core) ShutdownRequested() bool { return c.shutdown }

// SetVideo sets the function that receives frames during Run.
func (c *Core) SetVideo(f VideoFunc) { c.video = f }

// SetInput sets the controller state the core reads on its next Run.
func (c *Core) SetInput(port int, in Input) error {
	if port < 0 || port >= Ports {
		return fmt.Errorf("%w: %d", errUnsupportedPort, port)
	}
	analog := [4]C.int16_t{C.int16_t(in.Analog[0]), C.int16_t(in.Analog[1]), C.int16_t(in.Analog[2]), C.int16_t(in.Analog[3])}
	C.tc_set_input(C.unsigned(port), C.uint16_t(in.Buttons), &analog[0])
	return nil
}

// Device classes a core may ask input_state about.
const (
	DeviceJoypad = C.RETRO_DEVICE_JOYPAD
	DeviceAnalog = C.RETRO_DEVICE_ANALOG
)

// InputState answers as the core's input_state callback does, for the state
// SetInput set: what a core reads for port, device, index and id.
func (c *Core) InputState(port, device, index, id uint) int16 {
	return int16(C.tc_query_input(C.unsigned(port), C.unsigned(device), C.unsigned(index), C.unsigned(id)))
}

// Run emulates one frame. The frame reaches the VideoFunc before Run returns;
// the audio the core produced is returned as interleaved stereo samples at
// AVInfo().SampleRate, valid until the next call to Run.
func (c *Core) Run() ([]int16, error) {
	if !c.gameLoaded {
		return nil, ErrNoGame
	}
	C.tc_audio_reset()
	C.tc_run(c.c)
	var frames C.size_t
	p := C.tc_audio(&frames)
	if frames == 0 {
		return nil, nil
	}
	return unsafe.Slice((*int16)(unsafe.Pointer(p)), int(frames)*2), nil
}

// AudioDropped counts audio frames lost because a core produced more than
// the frontend buffers between two Runs.
func (c *Core) AudioDropped() int { return int(C.tc_audio_dropped()) }

// Reset is the console's reset button.
func (c *Core) Reset() error {
	if !c.gameLoaded {
		return ErrNoGame
	}
	C.tc_reset(c.c)
	return nil
}

// SaveState serializes the running game.
func (c *Core) SaveState() ([]byte, error) {
	if !c.gameLoaded {
		return nil, ErrNoGame
	}
	size := C.tc_serialize_size(c.c)
	if size == 0 {
		return nil, fmt.Errorf("%w: %s does not support save states", ErrSerialize, c.info.Name)
	}
	buf := C.malloc(size)
	defer C.free(buf)
	if !C.tc_serialize(c.c, buf, size) {
		return nil, ErrSerialize
	}
	return C.GoBytes(buf, C.int(size)), nil
}

// StateSize is the size of a save state of the running game now, 0 when
// the core cannot save one. It may change from frame to frame.
func (c *Core) StateSize() int {
	if !c.gameLoaded {
		return 0
	}
	return int(C.tc_serialize_size(c.c))
}

// SaveStateInto serializes the running game into buf, which must hold
// StateSize bytes, and returns the state's length. Unlike SaveState it
// allocates nothing: run-ahead saves a state every frame into buffers it
// reuses.
func (c *Core) SaveStateInto(buf []byte) (int, error) {
	if !c.gameLoaded {
		return 0, ErrNoGame
	}
	size := int(C.tc_serialize_size(c.c))
	if size == 0 {
		return 0, fmt.Errorf("%w: %s does not support save states", ErrSerialize, c.info.Name)
	}
	if size > len(buf) {
		return 0, fmt.Errorf("%w: %d bytes do not hold a state of %d", ErrStateSize, len(buf), size)
	}
	// The core writes into Go memory only during the call (cgo's rules
	// allow it: buf holds no Go pointers).
	if !C.tc_serialize(c.c, unsafe.Pointer(&buf[0]), C.size_t(size)) {
		return 0, ErrSerialize
	}
	return size, nil
}

// LoadState restores a state made by SaveState or SaveStateInto of the
// same core and game.
func (c *Core) LoadState(state []byte) error {
	if !c.gameLoaded {
		return ErrNoGame
	}
	if len(state) == 0 {
		return fmt.Errorf("%w: empty state", ErrStateSize)
	}
	if len(state) > MaxStateSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrStateSize, len(state), MaxStateSize)
	}
	// The core reads the state only during the call: no C copy, which
	// run-ahead would otherwise make and free at every replay.
	if !C.tc_unserialize(c.c, unsafe.Pointer(&state[0]), C.size_t(len(state))) {
		return ErrUnserialize
	}
	return nil
}

func (c *Core) sram() []byte {
	if !c.gameLoaded {
		return nil
	}
	size := C.tc_get_memory_size(c.c, C.RETRO_MEMORY_SAVE_RAM)
	data := C.tc_get_memory_data(c.c, C.RETRO_MEMORY_SAVE_RAM)
	if size == 0 || data == nil {
		return nil
	}
	return unsafe.Slice((*byte)(data), int(size))
}

// SRAM returns a copy of the cartridge's battery-backed memory, or nil when
// the game has none.
func (c *Core) SRAM() []byte {
	if m := c.sram(); m != nil {
		return append([]byte(nil), m...)
	}
	return nil
}

// SetSRAM restores battery-backed memory saved by SRAM.
func (c *Core) SetSRAM(data []byte) error {
	if !c.gameLoaded {
		return ErrNoGame
	}
	m := c.sram()
	if m == nil {
		return ErrNoSRAM
	}
	if len(data) != len(m) {
		return fmt.Errorf("%w: %d bytes, the game has %d", ErrSRAMSize, len(data), len(m))
	}
	copy(m, data)
	return nil
}

func avInfo(av *C.struct_retro_system_av_info) AVInfo {
	return AVInfo{
		Geometry:   geometry(&av.geometry),
		FPS:        float64(av.timing.fps),
		SampleRate: float64(av.timing.sample_rate),
	}
}

func geometry(g *C.struct_retro_game_geometry) Geometry {
	out := Geometry{
		BaseWidth:  int(g.base_width),
		BaseHeight: int(g.base_height),
		MaxWidth:   int(g.max_width),
		MaxHeight:  int(g.max_height),
	}
	out.AspectRatio = displayAspect(float64(g.aspect_ratio), out.BaseWidth, out.BaseHeight)
	return out
}

// displayAspect is a core's display aspect, or the picture's own when the
// core gives none (0), or one that is no number: a crafted save state can
// make a core divide by zero, and an infinite aspect must not end the
// game (it cannot even be sent as JSON).
func displayAspect(aspect float64, width, height int) float64 {
	if aspect > 0 && aspect <= math.MaxFloat32 {
		return aspect
	}
	if width > 0 && height > 0 {
		return float64(width) / float64(height)
	}
	return 0
}

func extension(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 && !strings.ContainsRune(path[i:], '/') {
		return strings.ToLower(path[i+1:])
	}
	return ""
}

// Options returns the value of every core option, by key.
func (c *Core) Options() map[string]string { return c.options.values() }

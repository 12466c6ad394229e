package libretro_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/testrom"
)

// load loads a core for one test and closes it after.
func load(t *testing.T, corePath string, options map[string]string) *libretro.Core {
	t.Helper()
	c, err := libretro.Load(libretro.Config{Path: corePath, SystemDir: t.TempDir(), SaveDir: t.TempDir(), Options: options})
	if err != nil {
		t.Fatalf("load %s: %v", corePath, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder keeps the hash and a copy of the newest frame the core drew.
type recorder struct {
	frames, dupes int
	last          libretro.Frame
	pixels        []byte
	hash          [32]byte
}

func (r *recorder) video(f libretro.Frame, dupe bool) {
	r.frames++
	if dupe {
		r.dupes++
		return
	}
	r.last = f
	r.pixels = append(r.pixels[:0], f.Data...)
	r.last.Data = r.pixels
	r.hash = sha256.Sum256(r.pixels)
}

// distinctColours counts the different pixel values in the newest frame.
func (r *recorder) distinctColours() int {
	seen := map[uint32]bool{}
	bpp := r.last.Format.BytesPerPixel()
	for y := 0; y < r.last.Height; y++ {
		row := r.pixels[y*r.last.Pitch:]
		for x := 0; x < r.last.Width; x++ {
			var v uint32
			for i := range bpp {
				v |= uint32(row[x*bpp+i]) << (8 * i)
			}
			if bpp == 4 {
				v &= 0xffffff
			}
			seen[v] = true
		}
	}
	return len(seen)
}

func run(t *testing.T, c *libretro.Core, frames int) (audioRMS float64) {
	t.Helper()
	var sum float64
	var n int
	for range frames {
		samples, err := c.Run()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range samples {
			sum += float64(s) * float64(s)
		}
		n += len(samples)
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(sum / float64(n))
}

func TestLoadErrors(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "fake_libretro.so")
	if err := os.WriteFile(notELF, []byte("not a shared object"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
	}{
		{"missing file", "/nonexistent/nestopia_libretro.so"},
		{"not a shared object", notELF},
		{"a library that is no core", "/lib/x86_64-linux-gnu/libz.so.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := libretro.Load(libretro.Config{Path: tt.path})
			if !errors.Is(err, libretro.ErrCoreLoad) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("got %v, want ErrCoreLoad", err)
			}
			t.Log(err)
		})
	}
}

func TestOneCorePerProcess(t *testing.T) {
	nes := fixturetest.Core(t, "nes")
	load(t, nes, nil)
	if c, err := libretro.Load(libretro.Config{Path: nes}); !errors.Is(err, libretro.ErrCoreBusy) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("second Load: %v, want ErrCoreBusy", err)
	}
}

func TestLoadGameErrors(t *testing.T) {
	write := func(name string, data []byte) string { return fixturetest.File(t, name, data) }
	rom := testrom.ROM()
	tests := []struct {
		name string
		path string
		want error
	}{
		{"wrong extension", write("test.gba", rom), libretro.ErrWrongExtension},
		{"another system's ROM", write("gameboy.nes", fixturetest.LoopROM("gb")), libretro.ErrGameRejected},
		{"truncated ROM", write("truncated.nes", rom[:len(rom)/3]), libretro.ErrGameRejected},
		{"header only", write("header.nes", rom[:16]), libretro.ErrGameRejected},
		{"empty file", write("empty.nes", nil), libretro.ErrEmptyGame},
		{"missing file", filepath.Join(t.TempDir(), "missing.nes"), os.ErrNotExist},
	}
	nes := fixturetest.Core(t, "nes")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := load(t, nes, nil)
			err := c.LoadGame(tt.path, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if _, err := c.Run(); !errors.Is(err, libretro.ErrNoGame) {
				t.Fatalf("Run without a game: %v, want ErrNoGame", err)
			}
		})
	}
}

// TestSharedROMs plays the homebrew in ../shared/roms: real games nobody on
// the team wrote.
func TestSharedROMs(t *testing.T) {
	tests := []struct {
		system, rom   string
		width, height int
	}{
		{"nes", "nes/Alwa's Awakening (Demo).nes", 256, 224},
		{"gba", "gba/anguna.gba", 240, 160},
		{"gba", "gba/Sushi The Cat.gba", 240, 160},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.rom), func(t *testing.T) {
			rom := fixturetest.SharedROM(t, tt.rom)
			c := load(t, fixturetest.Core(t, tt.system), nil)
			if err := c.LoadGame(rom, nil); err != nil {
				t.Fatal(err)
			}
			var rec recorder
			c.SetVideo(rec.video)

			// 600 frames: the picture is a real picture and there is sound.
			rms := run(t, c, 600)
			if rec.frames != 600 {
				t.Fatalf("%d frames from 600 runs", rec.frames)
			}
			if rec.last.Width != tt.width || rec.last.Height != tt.height {
				t.Errorf("frame is %dx%d, want %dx%d", rec.last.Width, rec.last.Height, tt.width, tt.height)
			}
			if n := rec.distinctColours(); n < 4 {
				t.Errorf("last frame has %d colours: blank", n)
			}
			if rms < 100 {
				t.Errorf("audio RMS %.1f over 600 frames: silent", rms)
			}

			// A state restores the game exactly.
			state, err := c.SaveState()
			if err != nil {
				t.Fatal(err)
			}
			hashes := func() [][32]byte {
				var hs [][32]byte
				for range 60 {
					run(t, c, 1)
					hs = append(hs, rec.hash)
				}
				return hs
			}
			first := hashes()
			if err := c.LoadState(state); err != nil {
				t.Fatal(err)
			}
			second := hashes()
			for i := range first {
				if first[i] != second[i] {
					t.Fatalf("frame %d after loading the state differs from the first run", i)
				}
			}
			if first[0] == first[59] && rec.distinctColours() < 4 {
				t.Log("the picture did not change over 60 frames")
			}

			// Battery save: what is written is what the game holds.
			sram := c.SRAM()
			if sram == nil {
				t.Skip("game has no SRAM")
			}
			pattern := bytes.Repeat([]byte{0xA5, 0x5A, 0x01}, len(sram)/3+1)[:len(sram)]
			if err := c.SetSRAM(pattern); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.SRAM(), pattern) {
				t.Fatal("SRAM read back differs from what was written")
			}
			if err := c.SetSRAM(pattern[:len(pattern)-1]); !errors.Is(err, libretro.ErrSRAMSize) {
				t.Fatalf("short SRAM: %v, want ErrSRAMSize", err)
			}
		})
	}
}

func TestStateErrors(t *testing.T) {
	c := load(t, fixturetest.Core(t, "nes"), nil)
	if err := c.LoadGame(fixturetest.TestROM(t), nil); err != nil {
		t.Fatal(err)
	}
	state, err := c.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		state []byte
		want  error
	}{
		{"empty", nil, libretro.ErrStateSize},
		{"oversized", make([]byte, libretro.MaxStateSize+1), libretro.ErrStateSize},
		{"garbage", bytes.Repeat([]byte{0xEE}, len(state)), libretro.ErrUnserialize},
		{"truncated", state[:len(state)/2], libretro.ErrUnserialize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.LoadState(tt.state); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if _, err := c.Run(); err != nil {
				t.Fatalf("game broken after a refused state: %v", err)
			}
		})
	}
}

func TestCoreOptionOverride(t *testing.T) {
	rom := fixturetest.TestROM(t)
	tests := []struct {
		name       string
		options    map[string]string
		wantHeight int
	}{
		{"default crops overscan", nil, 224},
		{"override shows all lines", map[string]string{"nestopia_overscan_v": "disabled"}, 240},
		{"invalid value is ignored", map[string]string{"nestopia_overscan_v": "sideways"}, 224},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := load(t, fixturetest.Core(t, "nes"), tt.options)
			if err := c.LoadGame(rom, nil); err != nil {
				t.Fatal(err)
			}
			var rec recorder
			c.SetVideo(rec.video)
			run(t, c, 2)
			if rec.last.Height != tt.wantHeight {
				t.Fatalf("frame height %d, want %d", rec.last.Height, tt.wantHeight)
			}
		})
	}
}

// TestDebianCores loads and runs each system's Debian core on a minimal
// ROM built here, one that only loops: it proves the core loads, accepts a
// game and draws frames of the system's size through this frontend.
func TestDebianCores(t *testing.T) {
	tests := []struct {
		system, file  string
		rom           []byte
		width, height int
		format        libretro.PixelFormat
	}{
		{"gb", "loop.gb", fixturetest.LoopROM("gb"), 160, 144, libretro.PixelFormatRGB565},
		{"gba", "loop.gba", fixturetest.LoopROM("gba"), 240, 160, libretro.PixelFormatRGB565},
		{"snes", "loop.sfc", fixturetest.LoopROM("snes"), 256, 224, libretro.PixelFormatXRGB8888},
		{"pce", "loop.pce", fixturetest.LoopROM("pce"), 0, 0, libretro.PixelFormatRGB565},
	}
	for _, tt := range tests {
		t.Run(tt.system, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(path, tt.rom, 0o644); err != nil {
				t.Fatal(err)
			}
			c := load(t, fixturetest.Core(t, tt.system), nil)
			if err := c.LoadGame(path, nil); err != nil {
				t.Fatal(err)
			}
			var rec recorder
			c.SetVideo(rec.video)
			run(t, c, 30)
			av := c.AVInfo()
			t.Logf("%s: %dx%d %v, %.3f fps, %.0f Hz", c.SystemInfo().Name, rec.last.Width, rec.last.Height, rec.last.Format, av.FPS, av.SampleRate)
			if rec.frames != 30 {
				t.Fatalf("%d frames from 30 runs", rec.frames)
			}
			if tt.width != 0 && (rec.last.Width != tt.width || rec.last.Height != tt.height) {
				t.Errorf("frame %dx%d, want %dx%d", rec.last.Width, rec.last.Height, tt.width, tt.height)
			}
			// Each core announces its options in its own format (legacy
			// variables, v1 or v2); all must be parsed.
			if n := len(c.Options()); n == 0 {
				t.Errorf("%s announced no options", c.SystemInfo().Name)
			}
			if rec.last.Format != tt.format {
				t.Errorf("pixel format %v, want %v", rec.last.Format, tt.format)
			}
			if av.FPS < 49 || av.FPS > 61 {
				t.Errorf("%.3f fps", av.FPS)
			}
		})
	}
}

// TestInputState checks what cores read for the state SetInput sets: each
// joypad button, the bitmask, both sticks and analog buttons, on all ports.
func TestInputState(t *testing.T) {
	c := load(t, fixturetest.Core(t, "nes"), nil)
	const mask = 256 // RETRO_DEVICE_ID_JOYPAD_MASK
	in := libretro.Input{Buttons: 1<<libretro.ButtonA | 1<<libretro.ButtonLeft, Analog: [4]int16{-32768, 100, 32767, -5}}
	if err := c.SetInput(3, in); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                    string
		port, device, index, id uint
		want                    int16
	}{
		{"A held", 3, libretro.DeviceJoypad, 0, libretro.ButtonA, 1},
		{"Left held", 3, libretro.DeviceJoypad, 0, libretro.ButtonLeft, 1},
		{"B not held", 3, libretro.DeviceJoypad, 0, libretro.ButtonB, 0},
		{"bitmask", 3, libretro.DeviceJoypad, 0, mask, int16(in.Buttons)},
		{"left stick x", 3, libretro.DeviceAnalog, 0, 0, -32768},
		{"left stick y", 3, libretro.DeviceAnalog, 0, 1, 100},
		{"right stick x", 3, libretro.DeviceAnalog, 1, 0, 32767},
		{"right stick y", 3, libretro.DeviceAnalog, 1, 1, -5},
		{"analog A button", 3, libretro.DeviceAnalog, 2, libretro.ButtonA, 0x7fff},
		{"analog B button", 3, libretro.DeviceAnalog, 2, libretro.ButtonB, 0},
		{"another port", 0, libretro.DeviceJoypad, 0, libretro.ButtonA, 0},
		{"port out of range", 9, libretro.DeviceJoypad, 0, libretro.ButtonA, 0},
		{"joypad subclass", 3, libretro.DeviceJoypad | 1<<8, 0, libretro.ButtonA, 1},
	}
	for _, tt := range tests {
		if got := c.InputState(tt.port, tt.device, tt.index, tt.id); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if err := c.SetInput(4, in); err == nil {
		t.Error("SetInput on port 4 succeeded")
	}
}

// TestSaveStateInto checks the allocation-free save that run-ahead makes
// every frame: the same bytes as SaveState, no allocation, and a clear
// error for a buffer too small.
func TestSaveStateInto(t *testing.T) {
	c := load(t, fixturetest.Core(t, "nes"), nil)
	if err := c.LoadGame(fixturetest.TestROM(t), nil); err != nil {
		t.Fatal(err)
	}
	run(t, c, 10)
	size := c.StateSize()
	if size == 0 {
		t.Fatal("nestopia reports no state size")
	}
	want, err := c.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	n, err := c.SaveStateInto(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatal("SaveStateInto wrote another state than SaveState")
	}
	if allocs := testing.AllocsPerRun(20, func() {
		if _, err := c.SaveStateInto(buf); err != nil {
			t.Fatal(err)
		}
		if err := c.LoadState(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("a save and a load allocate %v times, want 0", allocs)
	}
	if _, err := c.SaveStateInto(buf[:size-1]); !errors.Is(err, libretro.ErrStateSize) {
		t.Errorf("buffer a byte short: %v, want ErrStateSize", err)
	}
	if _, err := c.SaveStateInto(nil); !errors.Is(err, libretro.ErrStateSize) {
		t.Errorf("no buffer: %v, want ErrStateSize", err)
	}
}

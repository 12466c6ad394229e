package runner

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/sandbox"
)

// BenchmarkFrame measures what one frame costs in the runner's own pipeline
// (emulate, convert, encode video, resample and encode audio), without the
// pacing: ns/op is the whole frame; the metrics split it by stage.
func BenchmarkFrame(b *testing.B) {
	games := []struct {
		name, system, rom string
		options           map[string]string
	}{
		// nestopia crops 8 lines top and bottom by default; the benchmark
		// encodes the full 256x240 picture.
		{"NES-256x240", "nes", "nes/Alwa's Awakening (Demo).nes", map[string]string{"nestopia_overscan_v": "disabled"}},
		{"GBA-240x160", "gba", "gba/anguna.gba", nil},
		{"testrom-256x224", "nes", "", nil},
	}
	for _, game := range games {
		for _, codec := range []Codec{CodecVP8, CodecH264} {
			b.Run(game.name+"/"+string(codec), func(b *testing.B) {
				rom := fixturetest.TestROM(b)
				if game.rom != "" {
					rom = fixturetest.SharedROM(b, game.rom)
				}
				cfg := Config{Core: fixturetest.Core(b, game.system), Game: rom, Options: game.options, Video: VideoConfig{Codec: codec}}.withDefaults()
				g, err := newGame(cfg, wire.NewWriter(io.Discard), slog.New(slog.DiscardHandler), sandbox.None())
				if err != nil {
					b.Fatal(err)
				}
				defer g.close()
				// Past the boot screens, with input changing the picture.
				for i := range 300 {
					g.inputs.update(wire.Input{Seq: uint32(i + 1), Buttons: uint16(i/20) & 0x1ff})
					if err := g.frame(); err != nil {
						b.Fatal(err)
					}
				}
				g.stats.reset(time.Now())
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := g.frame(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				ms := func(t timing) float64 { return t.total.Seconds() * 1e3 / float64(t.n) }
				b.ReportMetric(ms(g.stats.emulate), "emulate-ms")
				b.ReportMetric(ms(g.stats.convert), "convert-ms")
				b.ReportMetric(ms(g.stats.encode), "encode-ms")
				b.ReportMetric(g.stats.encode.max.Seconds()*1e3, "encode-max-ms")
				b.ReportMetric(ms(g.stats.audio), "audio-ms")
				b.ReportMetric(float64(g.img.Width), "width")
				b.ReportMetric(float64(g.img.Height), "height")
			})
		}
	}
}

// BenchmarkRunnerCPU runs the test ROM in a real runner process at its
// paced 60 fps for a few seconds, buttons changing twice a second, and
// reports the share of one core the runner used.
func BenchmarkRunnerCPU(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	rom := fixturetest.TestROM(b)
	for i := 0; i < b.N; i++ {
		stats := make(chan wire.Stats, 16)
		p, err := Start(context.Background(), Options{
			Config:  Config{Core: fixturetest.Core(b, "nes"), Game: rom},
			Command: []string{exe},
			Env:     []string{"TELECART_TEST_RUNNER=1"},
			Handlers: Handlers{Stats: func(s wire.Stats) {
				select {
				case stats <- s:
				default:
				}
			}},
		})
		if err != nil {
			b.Fatal(err)
		}
		var cpu, fps float64
		const seconds = 6
		for n := 0; n < seconds; n++ {
			_ = p.SendInput(wire.Input{Seq: uint32(n + 1), Buttons: 1 << (n % 9)})
			s := <-stats
			if n > 0 { // the first second includes loading the game
				cpu += s.CPU
				fps += s.FPS
			}
		}
		if err := p.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(100*cpu/(seconds-1), "cpu-%")
		b.ReportMetric(fps/(seconds-1), "fps")
	}
}

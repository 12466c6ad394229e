package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/waittest"
)

// regionJS installs the page side of a game's key-to-picture measurement.
// A game draws what it likes, so the page cannot wait for a known colour
// as with the test ROM: it waits for the region where the game's cursor
// moves to change. __waitChange snapshots the region in the newest frame
// and resolves, for the first later frame where it differs, with the time
// from the key's stamp to the frame's presentation (0 when nothing
// changed within a second, so a caller can tell).
const regionJS = `(() => {
	window.__keyAt = 0;
	const stamp = () => { window.__keyAt = performance.now(); };
	window.addEventListener('keydown', stamp, true);
	window.addEventListener('keyup', stamp, true);
	const signature = (g, r) => g.getImageData(r[0], r[1], r[2] - r[0], r[3] - r[1]).data;
	const differs = (a, b) => {
		let changed = 0;
		for (let i = 0; i < a.length; i += 4) {
			if (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]) > 96) changed++;
		}
		return changed >= 6;
	};
	window.__waitChange = (r) => new Promise((resolve) => {
		const v = document.getElementById('video');
		const c = document.createElement('canvas');
		c.width = v.videoWidth; c.height = v.videoHeight;
		const g = c.getContext('2d', {willReadFrequently: true});
		g.drawImage(v, 0, 0);
		const before = signature(g, r);
		const started = performance.now();
		const step = (now, meta) => {
			g.drawImage(v, 0, 0);
			if (window.__keyAt > 0 && differs(before, signature(g, r))) resolve(meta.presentationTime - window.__keyAt);
			else if (now - started > 1000) resolve(0);
			else v.requestVideoFrameCallback(step);
		};
		v.requestVideoFrameCallback(step);
	});
	return true;
})()`

// menuGame is a homebrew game whose title menu moves a cursor: the
// buttons that move it there and back, and the region it moves in, in the
// game's own pixels.
type menuGame struct {
	name, system, rom string
	forth, back       string // the keys, as browsertest names them
	region            [4]int // x0, y0, x1, y1
}

var menuGames = []menuGame{
	// The cursor moves between START GAME and SETTINGS, 2 to 3 frames
	// after the input the game reads.
	{"alwa", "nes", "nes/Alwa's Awakening (Demo).nes", "ArrowDown", "ArrowUp", [4]int{72, 132, 90, 164}},
	// The hand moves between NEW GAME and CONTINUE.
	{"anguna", "gba", "gba/anguna.gba", "ArrowRight", "ArrowLeft", [4]int{58, 126, 188, 146}},
}

// BenchmarkGameInputToPicture measures, in headless Chromium, a key press
// on a real game's title menu to the first picture where its cursor
// moved: what a player of that game feels, the game's own lag frames
// included. TELECART_BENCH_CONFIG adds a settings file (run-ahead, say),
// so that one command compares set-ups.
func BenchmarkGameInputToPicture(b *testing.B) {
	for _, game := range menuGames {
		b.Run(game.name, func(b *testing.B) {
			for range b.N {
				measureGameLatency(b, game)
			}
		})
	}
}

func measureGameLatency(b *testing.B, game menuGame) {
	rom := fixturetest.SharedROM(b, game.rom)
	args := []string{"-games", filepath.Dir(rom)}
	if cfg := os.Getenv("TELECART_BENCH_CONFIG"); cfg != "" {
		args = append(args, "-config", fixturetest.File(b, "telecart.json", []byte(cfg)))
	}
	base := serve(b, args...)
	br := browsertest.Start(b)
	p := br.NewPage(b, base+"/")
	eval(b, p, regionJS, new(bool))
	startGame(b, p, game.system+":"+filepath.Base(rom))
	if err := p.WaitFor(`(() => { const v = document.getElementById('video'); return v && v.videoWidth > 0; })()`, waittest.Limit); err != nil {
		b.Fatal(err)
	}

	// Past the splash screens: the menu is up when a key moves the
	// cursor.
	region := fmt.Sprintf("[%d, %d, %d, %d]", game.region[0], game.region[1], game.region[2], game.region[3])
	press := func(key string) float64 {
		b.Helper()
		eval(b, p, `(() => { window.__keyAt = 0; window.__pending = window.__waitChange(`+region+`); return true; })()`, new(bool))
		// A random pause spreads the presses over the phase of the
		// runner's frame loop, as a player's are.
		time.Sleep(time.Duration(rand.IntN(17_000)) * time.Microsecond)
		if err := p.KeyDown(key); err != nil {
			b.Fatal(err)
		}
		var ms float64
		eval(b, p, `window.__pending`, &ms)
		if err := p.KeyUp(key); err != nil {
			b.Fatal(err)
		}
		return ms
	}
	deadline := time.Now().Add(waittest.Limit)
	for press(game.forth) == 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%s: the cursor never moved in %v", game.name, region)
		}
	}
	presses := envCount(b, "TELECART_BENCH_PRESSES", 40)
	var latencies []float64
	missed := 0
	for i := range presses {
		key := game.back
		if i%2 == 1 {
			key = game.forth
		}
		// Held like a player's tap, then let go long enough for the game
		// to take the next press as a new one.
		ms := press(key)
		time.Sleep(150 * time.Millisecond)
		if ms == 0 {
			missed++
			continue
		}
		latencies = append(latencies, ms)
	}
	if len(latencies) < presses/2 {
		b.Fatalf("%s: only %d of %d presses moved the cursor", game.name, len(latencies), presses)
	}
	slices.Sort(latencies)
	pct := func(q float64) float64 { return latencies[int(q*float64(len(latencies)-1))] }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(latencies[len(latencies)-1], "max-ms")
	b.ReportMetric(float64(missed), "missed")
}

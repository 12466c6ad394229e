package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/testrom"
)

// filterSample is what the page reads back of the filter's canvas: the
// canvas's and the game's sizes, and the brightness (red + green + blue)
// of the canvas's pixels down one column and along one row, both in
// player 1's plain fill.
type filterSample struct {
	CanvasW, CanvasH int
	VideoW, VideoH   int
	Column           []float64 // rows Top.. of the column at game x ColumnX
	Row              []float64 // columns Left.. of the row at game y RowY
	Top, Left        int
}

// filterSampleJS reads the filter's canvas just after it drew a frame:
// from a video frame callback asked for after the filter's own, which
// runs after it for the same frame, while the drawing buffer still holds
// what was drawn (the canvas keeps no copy: preserveDrawingBuffer is off).
// The column is six device pixels wide (two of the CRT mask's periods,
// which so average out) and runs over game lines 70 to 100; the row is
// the middle of game line 100, over game columns 70 to 150: all of it
// the fill, far from the ROM's boxes.
const filterSampleJS = `new Promise((resolve) => {
	const v = document.getElementById('video');
	v.requestVideoFrameCallback(() => {
		const c = document.querySelector('#stage .screen-filter');
		if (!c || !c.width) { resolve(null); return; }
		const g = document.createElement('canvas');
		g.width = c.width; g.height = c.height;
		const ctx = g.getContext('2d', {willReadFrequently: true});
		ctx.drawImage(c, 0, 0);
		const sx = c.width / v.videoWidth, sy = c.height / v.videoHeight;
		const px = (d, i) => d[i] + d[i + 1] + d[i + 2];
		const x0 = Math.floor(110 * sx), top = Math.floor(70 * sy), bottom = Math.floor(100 * sy);
		const col = ctx.getImageData(x0, top, 6, bottom - top).data;
		const column = [];
		for (let y = 0; y < bottom - top; y++) {
			let sum = 0;
			for (let x = 0; x < 6; x++) sum += px(col, (y * 6 + x) * 4);
			column.push(sum / 6);
		}
		const left = Math.floor(70 * sx), right = Math.floor(150 * sx);
		const line = ctx.getImageData(left, Math.floor(100.5 * sy), right - left, 1).data;
		const row = [];
		for (let x = 0; x < right - left; x++) row.push(px(line, x * 4));
		resolve({CanvasW: c.width, CanvasH: c.height, VideoW: v.videoWidth, VideoH: v.videoHeight,
			Column: column, Row: row, Top: top, Left: left});
	});
})`

// byPhase splits the brightness of device pixels start.. along an axis
// by where each one's centre falls in its game pixel (0 to 1, with
// perGame game pixels to a device pixel), and returns the mean of those
// in the part in(phase) and of the rest.
func byPhase(values []float64, start int, perGame float64, in func(phase float64) bool) (inside, outside float64) {
	var sums, counts [2]float64
	for i, v := range values {
		_, phase := math.Modf((float64(start+i) + 0.5) * perGame)
		k := 1
		if in(phase) {
			k = 0
		}
		sums[k] += v
		counts[k]++
	}
	if counts[0] == 0 || counts[1] == 0 {
		return math.NaN(), math.NaN()
	}
	return sums[0] / counts[0], sums[1] / counts[1]
}

func readFilter(t *testing.T, p *browsertest.Page) filterSample {
	t.Helper()
	var s *filterSample
	eval(t, p, filterSampleJS, &s)
	if s == nil || len(s.Column) == 0 || len(s.Row) == 0 {
		fail(t, p, "the filter's canvas cannot be read back: %+v", s)
	}
	return *s
}

// TestScreenFilters: with the test ROM playing, the filter button turns
// on CRT scanlines, which darken the edges of each of the game's lines
// (not the canvas's), then an LCD grid, which darkens the first device
// pixel of each game pixel, across and down; off gives back the plain
// video with no canvas left; and the choice is there again after a
// reload. The stats overlay says what the filter costs a frame.
func TestScreenFilters(t *testing.T) {
	base := serve(t)
	p := browsertest.Start(t).NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	fill := testrom.FillColor()
	waitColour(t, p, fill)

	var available bool
	eval(t, p, `window.telecart.filter.available`, &available)
	if !available {
		browsertest.Skip(t, "skipping: this Chromium has no WebGL, which the screen filters need")
	}
	waitJS(t, p, `window.telecart.filter.kind === 'off' && !document.querySelector('.screen-filter')`, "a filter is on by default")

	// Every WebGL context the page makes, to see that off gives them back.
	eval(t, p, `(() => {
		window.__gls = [];
		const getContext = HTMLCanvasElement.prototype.getContext;
		HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
			const c = getContext.call(this, type, ...rest);
			if (c && /webgl/.test(type)) window.__gls.push(c);
			return c;
		};
		return true;
	})()`, new(bool))

	filterIs := func(kind string) {
		t.Helper()
		waitJS(t, p, fmt.Sprintf(`(() => { const f = window.telecart.filter;
			return f.kind === %[1]q && f.drawing && localStorage.getItem('telecart.filter') === %[1]q
				&& document.getElementById('filter-btn').getAttribute('aria-pressed') === 'true'; })()`, kind),
			kind+" is not drawn, or not kept")
		// The canvas lies exactly on the video, which stays in the page to
		// play the sound and give the frames.
		waitJS(t, p, `(() => { const c = document.querySelector('#stage .screen-filter'), v = document.getElementById('video');
			const a = c.getBoundingClientRect(), b = v.getBoundingClientRect();
			return getComputedStyle(c).visibility === 'visible' && a.width > 0 && Math.abs(a.left - b.left) < 1 && Math.abs(a.top - b.top) < 1
				&& Math.abs(a.width - b.width) < 1 && Math.abs(a.height - b.height) < 1 && getComputedStyle(v).display !== 'none'
				&& !v.paused; })()`, "the filter's canvas does not cover the video")
	}

	// The NES had a television: CRT comes first.
	click(t, p, "#filter-btn")
	filterIs("crt")
	s := readFilter(t, p)
	if s.CanvasH < 3*s.VideoH*9/10 {
		t.Fatalf("canvas %dx%d for a %dx%d game: want nearly 3 device rows a line at least", s.CanvasW, s.CanvasH, s.VideoW, s.VideoH)
	}
	checkScanlines(t, s)
	screenshot(t, p, "screenshot-crt.png")

	// LCD: the grid, across and down.
	click(t, p, "#filter-btn")
	filterIs("lcd")
	checkGrid(t, readFilter(t, p))

	// A smaller window (as leaving fullscreen makes): the canvas follows the
	// video's box, and the grid its new pixels.
	eval(t, p, `(() => { document.getElementById('player').style.width = '800px'; return true; })()`, new(bool))
	waitJS(t, p, `(() => { const c = document.querySelector('#stage .screen-filter'), r = document.getElementById('video').getBoundingClientRect();
		return c.width < 900 && Math.abs(c.width - r.width * devicePixelRatio) <= 1 && Math.abs(c.height - r.height * devicePixelRatio) <= 1; })()`,
		"the canvas does not follow the video's box")
	filterIs("lcd")
	checkGrid(t, readFilter(t, p))
	eval(t, p, `(() => { document.getElementById('player').style.width = ''; return true; })()`, new(bool))

	// A context the browser loses (a GPU reset) shows the plain video until
	// it is given back, then the filter again.
	eval(t, p, `(() => { window.__lose = window.__gls[0].getExtension('WEBGL_lose_context'); window.__lose.loseContext(); return true; })()`, new(bool))
	waitJS(t, p, `!window.telecart.filter.drawing && getComputedStyle(document.querySelector('#stage .screen-filter')).visibility === 'hidden'`,
		"a lost context does not give the picture back to the video")
	waitColour(t, p, fill)
	eval(t, p, `(() => { window.__lose.restoreContext(); return true; })()`, new(bool))
	filterIs("lcd")
	checkGrid(t, readFilter(t, p))

	// Off: the canvas goes, with its loop, and the video shows the game.
	click(t, p, "#filter-btn")
	waitJS(t, p, `window.telecart.filter.kind === 'off' && !window.telecart.filter.drawing && !document.querySelector('.screen-filter')
		&& localStorage.getItem('telecart.filter') === 'off'
		&& document.getElementById('filter-btn').getAttribute('aria-pressed') === 'false'`, "off leaves the filter on")
	waitJS(t, p, `window.__gls.length === 1 && window.__gls.every((gl) => gl.isContextLost())`, "off leaves a WebGL context, or CRT to LCD made another")
	waitColour(t, p, fill)

	// The choice is kept: after a reload the game comes back through it.
	click(t, p, "#filter-btn")
	filterIs("crt")
	reloadPlaying(t, p)
	filterIs("crt")

	// The stats overlay says what it costs.
	press(t, p, "F3")
	waitJS(t, p, `[...document.querySelectorAll('#stats-lines > div')].some((r) => r.querySelector('dt').textContent === 'Filter'
		&& /^CRT · \d+\.\d ms \(p95 \d+\.\d\)$/.test(r.querySelector('dd').textContent))`, "the stats overlay does not give the filter's cost")
	var cost struct{ MedianMs, P95Ms float64 }
	eval(t, p, `window.telecart.filter.cost`, &cost)
	t.Logf("CRT costs %.2f ms a frame (p95 %.2f) here", cost.MedianMs, cost.P95Ms)
}

// checkGrid checks an LCD canvas: the first device row and column of each
// of the game's pixels darker than the rest, which keep the video's colour.
func checkGrid(t *testing.T, s filterSample) {
	t.Helper()
	perCol := float64(s.VideoW) / float64(s.CanvasW)
	perRow := float64(s.VideoH) / float64(s.CanvasH)
	gapX, cellX := byPhase(s.Row, s.Left, perCol, func(ph float64) bool { return ph < perCol })
	gapY, cellY := byPhase(s.Column, s.Top, perRow, func(ph float64) bool { return ph < perRow })
	t.Logf("LCD: canvas %dx%d: cells %.0f and gaps %.0f across, %.0f and %.0f down", s.CanvasW, s.CanvasH, cellX, gapX, cellY, gapY)
	if !(cellX > 1.3*gapX) || !(cellY > 1.3*gapY) {
		t.Errorf("LCD: no grid on the game's pixels: cells %.0f, gaps %.0f across; cells %.0f, gaps %.0f down\nrow %v\ncolumn %v",
			cellX, gapX, cellY, gapY, rounded(s.Row), rounded(s.Column))
	}
	if !(cellX > 0.85*fillSum()) {
		t.Errorf("LCD: the cells (%.0f) are not the video's colour (%.0f)", cellX, fillSum())
	}
}

// fillSum is the test ROM's fill as the plain video shows it: red + green + blue.
func fillSum() float64 {
	fill := testrom.FillColor()
	return float64(fill.R) + float64(fill.G) + float64(fill.B)
}

// checkScanlines checks a CRT canvas: the centres of the game's lines (in
// its pixels, not the canvas's) brighter than their edges, by as much as
// the filter's strength at this scale, and about the video's colour.
func checkScanlines(t *testing.T, s filterSample) {
	t.Helper()
	if s.VideoW != 256 || s.VideoH != 224 {
		t.Fatalf("a %dx%d game, want the NES's 256x224", s.VideoW, s.VideoH)
	}
	perRow := float64(s.VideoH) / float64(s.CanvasH)
	strength := math.Min(1, math.Max(0, 1/perRow-2)) // model/filter.js's strengthAt
	centre, edges := byPhase(s.Column, s.Top, perRow, func(ph float64) bool { return ph > 0.3 && ph < 0.7 })
	t.Logf("CRT: canvas %dx%d for a %dx%d game, strength %.2f: line centres %.0f, edges %.0f, the video's fill %.0f",
		s.CanvasW, s.CanvasH, s.VideoW, s.VideoH, strength, centre, edges, fillSum())
	if strength < 0.5 {
		t.Fatalf("CRT: %.1f device rows a line: too few to see scanlines", 1/perRow)
	}
	if !(centre > (1+0.2*strength)*edges) {
		t.Errorf("CRT: the game's line centres (%.0f) are not brighter than their edges (%.0f): no scanlines on the game's lines\ncolumn %v", centre, edges, rounded(s.Column))
	}
	if !(centre > 0.85*fillSum()) || !(edges < 0.9*fillSum()) {
		t.Errorf("CRT: line centres %.0f and edges %.0f, want the centres about the video's colour (%.0f) and the edges darker", centre, edges, fillSum())
	}
}

// TestScreenFilterFallbacks: a CRT filter kept from an earlier visit
// draws from the start, by whole frames where the page has no VideoFrame,
// and on a phone's screen of two device pixels to a CSS pixel; where
// WebGL is missing the button says so, and the plain video plays.
func TestScreenFilterFallbacks(t *testing.T) {
	base := serve(t)
	b := browsertest.Start(t)
	const keptCRT = `localStorage.setItem('telecart.filter', 'crt');`
	for _, c := range []struct {
		name   string
		device browsertest.Device
		script string
		upload string // "" for no WebGL
	}{
		{"whole frames", browsertest.Desktop(), keptCRT + `delete window.VideoFrame;`, "element"},
		{"phone", browsertest.Phone(), keptCRT, "planes"},
		{"no WebGL", browsertest.Desktop(), keptCRT + `(() => {
			const getContext = HTMLCanvasElement.prototype.getContext;
			HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
				return /webgl/.test(type) ? null : getContext.call(this, type, ...rest);
			};
		})();`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := b.NewPageWithScript(t, base+"/", c.device, c.script)
			startGame(t, p, testGame)
			inRoom(t, p)
			waitColour(t, p, testrom.FillColor())
			if c.upload == "" {
				waitJS(t, p, `(() => { const f = window.telecart.filter, btn = document.getElementById('filter-btn');
					return !f.available && !f.drawing && f.kind === 'crt' && !document.querySelector('.screen-filter')
						&& btn.disabled && /WebGL/.test(btn.title) && btn.getAttribute('aria-pressed') === 'false'; })()`,
					"without WebGL the filter button does not say so, or a canvas is left")
				return
			}
			waitJS(t, p, fmt.Sprintf(`window.telecart.filter.drawing && window.telecart.filter.upload === %q`, c.upload), "the kept CRT filter is not drawn, or not so")
			// The canvas's pixels are the video box's device pixels.
			waitJS(t, p, `(() => { const c = document.querySelector('#stage .screen-filter'), r = document.getElementById('video').getBoundingClientRect();
				return Math.abs(c.width - r.width * devicePixelRatio) <= 1 && Math.abs(c.height - r.height * devicePixelRatio) <= 1; })()`,
				"the canvas is not drawn on the video's device pixels")
			checkScanlines(t, readFilter(t, p))
		})
	}
}

// rounded prints brightness values compactly, for a failure's message.
func rounded(v []float64) string {
	var b strings.Builder
	for _, x := range v {
		fmt.Fprintf(&b, "%.0f ", x)
	}
	return b.String()
}

package e2e

import (
	"fmt"
	"image/color"
	"math"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/testrom"
)

// TestRemap: the player changes which key and which gamepad button press
// A, in the help dialog; the game answers the new ones and no longer the
// old, the choice outlives a reload, and Reset brings the defaults back.
func TestRemap(t *testing.T) {
	base := serve(t, "-room-linger", "30s")
	p := browsertest.Start(t).NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitColour(t, p, testrom.FillColor())
	hold := func(code string, want color.RGBA) {
		t.Helper()
		if err := p.KeyDown(code); err != nil {
			fail(t, p, "%v", err)
		}
		waitColour(t, p, want)
	}
	release := func(code string) {
		t.Helper()
		if err := p.KeyUp(code); err != nil {
			fail(t, p, "%v", err)
		}
	}
	bindA := func(kind string) string { return fmt.Sprintf(`.bind[data-kind=%q][data-button="A"]`, kind) }

	// K for A, in the help dialog.
	press(t, p, "F1")
	waitJS(t, p, `document.getElementById('help').open && document.getElementById('bindings-system').value === 'nes'`,
		"the help does not open on the game's system")
	click(t, p, bindA("keys"))
	waitJS(t, p, `document.querySelector('.bind.listening') !== null`, "the binding does not wait for a key")
	press(t, p, "KeyF") // the fullscreen key stays the page's
	waitJS(t, p, `document.getElementById('bindings-hint').textContent.includes('fullscreen')`, "a reserved key is not refused in words")
	press(t, p, "KeyK")
	waitJS(t, p, `document.querySelector('.bind[data-kind="keys"][data-button="A"]').textContent.trim() === 'K'`, "A does not show its new key")
	// Esc while it waits keeps the key, and the dialog open.
	click(t, p, bindA("keys"))
	waitJS(t, p, `document.querySelector('.bind.listening') !== null`, "the binding does not wait for a key")
	press(t, p, "Escape")
	waitJS(t, p, `document.querySelector('.bind.listening') === null && document.getElementById('help').open
		&& document.querySelector('.bind[data-kind="keys"][data-button="A"]').textContent.trim() === 'K'`, "Esc does not stop the wait alone")
	press(t, p, "Escape")
	waitJS(t, p, `!document.getElementById('help').open`, "Esc does not close the help")

	hold("KeyK", testrom.FillColor(testrom.A))
	release("KeyK")
	waitColour(t, p, testrom.FillColor())
	// X pressed A before; now it presses nothing: with it held, B alone shows.
	if err := p.KeyDown("KeyX"); err != nil {
		fail(t, p, "%v", err)
	}
	hold("KeyZ", testrom.FillColor(testrom.B))
	release("KeyZ")
	release("KeyX")
	waitColour(t, p, testrom.FillColor())

	// Kept across a reload.
	reloadPlaying(t, p)
	waitColour(t, p, testrom.FillColor())
	hold("KeyK", testrom.FillColor(testrom.A))
	release("KeyK")
	waitColour(t, p, testrom.FillColor())

	// A gamepad's top button for A: pressed on the pad while the dialog waits.
	eval(t, p, fakeGamepadJS, new(bool))
	click(t, p, "#help-btn")
	waitJS(t, p, `document.getElementById('help').open`, "the help does not open")
	click(t, p, bindA("pad"))
	waitJS(t, p, `document.querySelector('.bind.listening') !== null`, "the binding does not wait for a gamepad button")
	eval(t, p, `window.__press(3, true)`, nil)
	waitJS(t, p, `document.querySelector('.bind[data-kind="pad"][data-button="A"]').textContent.trim() === 'Top'`, "A does not show its new gamepad button")
	eval(t, p, `window.__press(3, false)`, nil)
	click(t, p, "#help-close")
	eval(t, p, `window.__press(3, true)`, nil)
	waitColour(t, p, testrom.FillColor(testrom.A))
	eval(t, p, `window.__press(3, false)`, nil)
	waitColour(t, p, testrom.FillColor())
	// The right button pressed A before; now, held with the bottom one (B), B alone shows.
	eval(t, p, `(window.__press(1, true), window.__press(0, true))`, nil)
	waitColour(t, p, testrom.FillColor(testrom.B))
	eval(t, p, `(window.__press(1, false), window.__press(0, false))`, nil)
	waitColour(t, p, testrom.FillColor())

	// Reset: X is A again.
	click(t, p, "#help-btn")
	click(t, p, "#bindings-reset")
	waitJS(t, p, `document.querySelector('.bind[data-kind="keys"][data-button="A"]').textContent.trim() === 'X'
		&& localStorage.getItem('telecart.bindings') === null`, "Reset does not bring the default keys back")
	click(t, p, "#help-close")
	hold("KeyX", testrom.FillColor(testrom.A))
	release("KeyX")
	waitColour(t, p, testrom.FillColor())
}

// TestControllerPage: a room shown on one screen, and a phone that opens
// its controller link: the phone gets no picture, takes the first free
// controller by itself and drives it by touch and with a gamepad; it may
// move to another controller; the screen's players panel has the link.
func TestControllerPage(t *testing.T) {
	base := serve(t)
	b := browsertest.Start(t)
	screen := b.NewPage(t, base+"/")
	startGame(t, screen, testGame)
	room := inRoom(t, screen)

	// The screen offers the link.
	click(t, screen, "#people-btn")
	click(t, screen, "#panel-controller")
	link := base + "/r/" + room + "/pad"
	waitJS(t, screen, fmt.Sprintf(`(document.getElementById('toast').innerText === 'Link copied' && !document.getElementById('toast').hidden)
		|| (document.getElementById('share-link').value === %q && !document.getElementById('share-pop').hidden)`, link),
		"the players panel does not give the controller link")
	waitJS(t, screen, visible("#controller-qr svg[role=img]"), "the players panel shows no code to scan")
	t.Run("the code scans", func(t *testing.T) {
		if got, ok := scanned(t, zbarimg(t), screen); got != link {
			fail(t, screen, "the code in the players panel reads %q (found: %v), want %q", got, ok, link)
		}
	})

	phone := b.NewPageOn(t, link, browsertest.Phone())
	waitJS(t, phone, `window.telecart.state === 'playing' && window.telecart.slot === 2`, "the phone does not take controller 2")
	waitJS(t, phone, visible("#controller-panel")+` && document.getElementById('controller-role').textContent === 'Player 2'
		&& location.pathname === '/r/`+room+`/pad'`, "the phone does not say it is player 2")
	waitJS(t, phone, visible(`#touchpad [data-b="A"]`), "the phone shows no pad")
	var media int
	eval(t, phone, `document.getElementById('video').srcObject?.getTracks().length ?? 0`, &media)
	if media != 0 {
		fail(t, phone, "the controller page receives %d tracks", media)
	}

	// Touch, then a gamepad connected to the phone.
	a := centre(testrom.P2Box(testrom.A))
	if err := phone.TouchStart(`#touchpad [data-b="A"]`); err != nil {
		fail(t, phone, "%v", err)
	}
	waitPixel(t, screen, a, testrom.P2Color(true))
	if err := phone.TouchEnd(); err != nil {
		fail(t, phone, "%v", err)
	}
	waitPixel(t, screen, a, testrom.P2Color(false))
	eval(t, phone, fakeGamepadJS, new(bool))
	eval(t, phone, `window.__press(1, true)`, nil)
	waitPixel(t, screen, a, testrom.P2Color(true))
	eval(t, phone, `window.__press(1, false)`, nil)
	waitPixel(t, screen, a, testrom.P2Color(false))

	// Another controller.
	click(t, phone, `.controller-seat[data-seat="3"]`)
	waitJS(t, phone, `window.telecart.slot === 3 && document.getElementById('controller-role').textContent === 'Player 3'`,
		"the phone does not move to controller 3")
	waitJS(t, screen, `window.telecart.members.some((m) => m.slot === 3)
		&& document.querySelector('#slots [data-slot="3"] .phone-tag') !== null`, "the screen's players panel does not show the phone on controller 3")
}

// pressProbeJS measures, the test's own way, each press of X (A) from the
// key event's own time to the display time of the first frame that shows
// A's colour, from requestVideoFrameCallback. A callback that came late is
// not counted: when frames were presented since the last callback, or a
// newer frame than the callback's is the element's already (drawImage
// then reads that picture, not the one the callback's times are of).
const pressProbeJS = `((x, y, r, g, b) => {
	const probe = { pending: null, results: [], presented: 0 };
	window.__probe = probe;
	// After the app's own listener, which has sent the state: its number is the pad's now.
	addEventListener('keydown', (e) => {
		if (e.code === 'KeyX' && !e.repeat) probe.pending = { keyAt: e.timeStamp, seq: window.telecart.seq };
	}, true);
	const v = document.getElementById('video');
	const c = document.createElement('canvas');
	const ctx = c.getContext('2d', { willReadFrequently: true });
	const tick = (now, meta) => {
		const late = (probe.presented && meta.presentedFrames - probe.presented > 1)
			|| v.getVideoPlaybackQuality().totalVideoFrames !== meta.presentedFrames;
		probe.presented = meta.presentedFrames;
		const p = probe.pending;
		if (p && v.videoWidth) {
			c.width = v.videoWidth; c.height = v.videoHeight;
			ctx.drawImage(v, 0, 0);
			const d = ctx.getImageData(x, y, 1, 1).data;
			if (Math.hypot(d[0] - r, d[1] - g, d[2] - b) < 40) {
				if (!late) probe.results.push({ seq: p.seq, total: meta.expectedDisplayTime - p.keyAt });
				probe.pending = null;
			}
		}
		v.requestVideoFrameCallback(tick);
	};
	v.requestVideoFrameCallback(tick);
	return true;
})`

// TestPressSplit: the stats overlay splits each press's time to its
// picture (to the server, the server, back, shown), and its whole agrees
// within 5 ms with the test's own measurement of the same presses.
func TestPressSplit(t *testing.T) {
	base := serve(t)
	p := browsertest.Start(t).NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitColour(t, p, testrom.FillColor())
	a, pt := testrom.FillColor(testrom.A), testrom.FillPoint()
	eval(t, p, fmt.Sprintf(`%s(%d, %d, %d, %d, %d)`, pressProbeJS, pt.X, pt.Y, a.R, a.G, a.B), new(bool))
	press(t, p, "F3")
	// Presses until three were measured both ways: a busy page skips
	// frame callbacks, and a press whose picture may have had none is
	// counted by neither.
	const matched = `window.__probe.results.filter((r) => window.telecart.presses.some((s) => s.seq === r.seq))`
	for n := 0; ; n++ {
		if n == 60 {
			fail(t, p, "60 presses, and fewer than three measured both by the overlay and by the test")
		}
		tapA(t, p)
		var count int
		eval(t, p, matched+`.length`, &count)
		if count >= 3 {
			break
		}
	}
	var pairs []struct{ Test, Overlay float64 }
	eval(t, p, matched+`.map((r) => ({ test: r.total, overlay: window.telecart.presses.find((s) => s.seq === r.seq).total }))`, &pairs)
	for _, pair := range pairs {
		if math.Abs(pair.Test-pair.Overlay) > 5 {
			fail(t, p, "a press took %.1f ms by the test's measure and %.1f ms by the overlay's", pair.Test, pair.Overlay)
		}
	}
	var split []map[string]float64
	eval(t, p, `window.telecart.presses`, &split)
	for _, s := range split {
		if s["up"] < 0 || s["worker"] <= 0 || s["down"] < 0 || s["display"] < 0 || s["total"] <= 0 ||
			math.Abs(s["up"]+s["worker"]+s["down"]+s["display"]-s["total"]) > 0.01 {
			fail(t, p, "an implausible split: %v", s)
		}
	}
	// The overlay shows them.
	waitJS(t, p, `(() => {
		const row = [...document.querySelectorAll('#stats-lines > div')].find((r) => r.querySelector('dt').textContent === 'Press to picture');
		return row && parseFloat(row.querySelector('dd').textContent) > 0;
	})()`, "the overlay shows no press-to-picture time")
	t.Logf("test and overlay, ms: %v", pairs)
}

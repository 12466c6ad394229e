package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// consoleLimit is how many console messages a Page keeps. A page that logs
// every frame must not grow without bound; the newest are kept because they
// are nearest to the failure.
const consoleLimit = 1000

// The viewport of every page, in CSS pixels (and screenshot pixels).
const (
	viewportWidth  = 1280
	viewportHeight = 720
)

// pollInterval is how often WaitFor evaluates its expression.
const pollInterval = 50 * time.Millisecond

// Page is one tab in a browser context of its own (in Firefox, a window
// in a user context of its own), so its cookies and storage are not
// shared with other pages: several pages act as several
// users. Use a Page from one goroutine at a time (its actions share one
// tab); Console is safe to call from anywhere.
type Page struct {
	drv  driver
	keys map[string]keyDef

	mu      sync.Mutex
	held    map[string]bool // KeyboardEvent.code of each key that is down
	console []string
	dropped int // console messages dropped from the front
	// csp are the Content-Security-Policy violations the page reported
	// and no one took (TakeCSPViolations), in every document it loaded.
	csp []string
}

// driver is what a Page needs of the browser underneath: CDP for
// Chromium (cdpDriver), WebDriver BiDi for Firefox (bidiDriver). The Page
// keeps what both share (the keys held, the console, the CSP violations),
// so that the e2e helpers drive either browser the same way. Each method
// is bounded by opTimeout unless it takes a duration.
type driver interface {
	// evaluate evaluates js in the page, awaiting a promise, and returns
	// the result as JSON: nil when it is undefined.
	evaluate(js string, d time.Duration) ([]byte, error)
	// click moves the mouse to (x, y) in CSS pixels and clicks there.
	click(x, y float64) error
	// touch puts a finger down at (x, y) when down, else lifts every finger.
	touch(down bool, x, y float64) error
	// key presses or releases one key.
	key(e keyEvent) error
	// screenshot returns a PNG of the viewport.
	screenshot() ([]byte, error)
	// closed is not nil once the page is closed, with why.
	closed() error
}

// keyEvent is one key going down or up, with the modifier keys down
// (CDP bits) and whether it is an auto-repeat.
type keyEvent struct {
	down      bool
	code      string // KeyboardEvent.code
	def       keyDef
	modifiers int64
	repeat    bool
}

// newPage returns a page over drv, with nothing held or logged yet.
func newPage(drv driver) *Page {
	return &Page{drv: drv, keys: keyTable(), held: make(map[string]bool)}
}

// cspBinding is the function through which every document the page loads
// reports its CSP violations to the test (a Runtime binding: its calls
// come to the test as events, across reloads).
const cspBinding = "__browsertestCSPViolation"

// cspListener runs in every document before its own scripts (DevTools
// injects it, whatever the page's CSP): each securitypolicyviolation
// event is reported through cspBinding.
const cspListener = `document.addEventListener('securitypolicyviolation', (e) => {
	try {
		window.` + cspBinding + `(JSON.stringify({directive: e.effectiveDirective, blocked: e.blockedURI,
			at: e.sourceFile + ':' + e.lineNumber, sample: e.sample, disposition: e.disposition}));
	} catch {}
}, true);`

// Device is the screen a page emulates.
type Device struct {
	Width, Height int
	Scale         float64 // device pixels per CSS pixel
	// Mobile emulates a phone's browser (viewport meta tag, overlay
	// scrollbars); Touch gives it a touch screen, so pages see
	// (pointer: coarse) and touch events.
	Mobile, Touch bool
}

// Desktop is a 1280x720 screen with a mouse.
func Desktop() Device { return Device{Width: viewportWidth, Height: viewportHeight, Scale: 1} }

// Phone is a 390x844 touch screen held upright.
func Phone() Device { return Device{Width: 390, Height: 844, Scale: 2, Mobile: true, Touch: true} }

// NewPage opens url on a Desktop; see NewPageOn.
func (b *Browser) NewPage(t testing.TB, url string) *Page {
	t.Helper()
	return b.NewPageOn(t, url, Desktop())
}

// NewPageOn opens url in a new tab of a new browser context, emulating the
// device, and waits for it to load. The page has camera and microphone
// permission, which WebRTC needs to offer 127.0.0.1 (see setUpTab). The tab
// and its browser context are closed in t.Cleanup. NewPageOn stops the test
// with t.Fatal when the page cannot be opened.
func (b *Browser) NewPageOn(t testing.TB, url string, device Device) *Page {
	t.Helper()
	return b.NewPageWithScript(t, url, device, "")
}

// NewPageWithScript is NewPageOn with script, when not empty, run in the
// page before any of its own: what a measurement of the page's start
// needs, as the page is already running when NewPageOn returns.
func (b *Browser) NewPageWithScript(t testing.TB, url string, device Device, script string) *Page {
	t.Helper()
	if b.bidi != nil {
		return b.bidi.newPage(t, url, device, script)
	}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := newPage(cdpDriver{ctx: ctx})
	var collector sync.WaitGroup
	t.Cleanup(func() {
		// A page the app broke its own CSP in fails the test, whichever it
		// is: the app must work with script-src 'self' and the rest.
		if v := p.TakeCSPViolations(); len(v) > 0 {
			t.Errorf("browsertest: the page reported Content-Security-Policy violations:\n\t%s", strings.Join(v, "\n\t"))
		}
		// cancel closes the tab, disposes of its browser context and ends
		// the console and violation subscriptions, which ends the
		// collectors.
		cancel()
		collector.Wait()
	})

	// The first action creates the tab and binds it to ctx, so it cannot run
	// under a timeout context; a timer closes the tab if it takes too long.
	timer := time.AfterFunc(navTimeout, cancel)
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		return setUpTab(ctx, tgt, device, script)
	}))
	if !timer.Stop() && err == nil {
		err = fmt.Errorf("no new tab in %v", navTimeout)
	}
	if err != nil {
		t.Fatalf("browsertest: opening a tab: %v", err)
	}

	// Subscribe before navigating so that nothing the page logs is lost.
	messages := chromedp.Console(ctx)
	collector.Go(func() {
		for m, err := range messages {
			if err != nil {
				return // the page is closing
			}
			p.addConsole(formatConsole(m))
		}
	})
	violations := chromedp.Events(ctx, runtime.BindingCalled)
	collector.Go(func() {
		for ev, err := range violations {
			if err != nil {
				return // the page is closing
			}
			if ev.Name == cspBinding {
				p.mu.Lock()
				if len(p.csp) < consoleLimit {
					p.csp = append(p.csp, ev.Payload)
				}
				p.mu.Unlock()
			}
		}
	})

	nctx, ncancel := context.WithTimeout(ctx, navTimeout)
	defer ncancel()
	if err := chromedp.Do(nctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("browsertest: loading %s: %v\nconsole:\n%s", url, err, p.consoleText())
	}
	return p
}

// setUpTab prepares a new tab before it loads anything.
func setUpTab(ctx context.Context, tgt *chromedp.Target, device Device, script string) error {
	// Focus emulation makes every page behave as the focused one, as each
	// user's own window would be: document.hasFocus() holds, so an app that
	// pauses when it loses focus keeps running in every page.
	_, err := cdp.Call(ctx, tgt, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
	if err != nil {
		return fmt.Errorf("emulating focus: %w", err)
	}
	// A fixed viewport makes screenshots and layouts the same on every
	// machine; the window size alone leaves room for emulated browser UI.
	_, err = cdp.Call(ctx, tgt, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: int64(device.Width), Height: int64(device.Height), DeviceScaleFactor: device.Scale, Mobile: device.Mobile,
	})
	if err != nil {
		return fmt.Errorf("setting the viewport: %w", err)
	}
	if device.Touch {
		_, err = cdp.Call(ctx, tgt, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 5})
		if err != nil {
			return fmt.Errorf("emulating touch: %w", err)
		}
	}
	if _, err := cdp.Call(ctx, tgt, runtime.AddBinding, runtime.AddBindingParams{Name: cspBinding}); err != nil {
		return fmt.Errorf("adding the CSP violations' binding: %w", err)
	}
	if _, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener}); err != nil {
		return fmt.Errorf("adding the CSP violations' listener: %w", err)
	}
	if script != "" {
		if _, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script}); err != nil {
			return fmt.Errorf("adding the test's script: %w", err)
		}
	}
	// Without camera or microphone permission, Chromium's WebRTC gathers
	// host candidates only for the interface of the default route. The
	// namespace has no default route, so it would offer just 0.0.0.0 and ::
	// and never connect. With the permission it offers every interface's
	// address, and with --allow-loopback-in-peer-connection that includes
	// 127.0.0.1. The grant covers every origin, in this tab's browser
	// context only; there is no camera or microphone, so getUserMedia still
	// fails.
	c := chromedp.FromContext(ctx)
	for _, name := range []string{"camera", "microphone"} {
		_, err := cdp.Call(ctx, c.Browser, browser.SetPermission, browser.SetPermissionParams{
			Permission:       &browser.PermissionDescriptor{Name: name},
			Setting:          browser.PermissionSettingGranted,
			BrowserContextID: c.BrowserContextID,
		})
		if err != nil {
			return fmt.Errorf("granting %s permission for WebRTC's host candidates: %w", name, err)
		}
	}
	return nil
}

// formatConsole renders a console message with where it came from, because
// an exception without its place is hard to find.
func formatConsole(m chromedp.ConsoleMessage) string {
	if m.URL == "" {
		return m.String()
	}
	// The protocol counts lines from 0; editors count from 1.
	return fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1)
}

// addConsole records a message, dropping the oldest beyond consoleLimit.
func (p *Page) addConsole(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.console) == consoleLimit {
		p.console = append(p.console[:0], p.console[1:]...)
		p.dropped++
	}
	p.console = append(p.console, s)
}

// TakeCSPViolations returns the Content-Security-Policy violations the
// page reported since the last call, oldest first, each as JSON (the
// directive, the URI blocked, where, a sample). The page's cleanup fails
// the test for any not taken: a test that wants one takes it.
func (p *Page) TakeCSPViolations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.csp
	p.csp = nil
	return v
}

// Console returns the console messages, uncaught exceptions and browser log
// entries of the page so far, oldest first, for failure messages.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.console)+1)
	if p.dropped > 0 {
		out = append(out, fmt.Sprintf("(%d older messages dropped)", p.dropped))
	}
	return append(out, p.console...)
}

// consoleText is Console as one indented block.
func (p *Page) consoleText() string {
	var s string
	for _, m := range p.Console() {
		s += "\t" + m + "\n"
	}
	if s == "" {
		return "\t(empty)\n"
	}
	return s
}

// run runs one action in the tab of ctx, bounded by d.
func run[T any](ctx context.Context, d time.Duration, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// Eval evaluates the JavaScript expression js in the page, waits for the
// promise if it returns one, and decodes the result as JSON into out (a
// pointer, or nil to ignore the result). A thrown exception or a rejected
// promise is an error.
func (p *Page) Eval(js string, out any) error {
	return p.eval(js, out, opTimeout)
}

// eval is Eval bounded by d.
func (p *Page) eval(js string, out any, d time.Duration) error {
	raw, err := p.drv.evaluate(js, d)
	if err != nil {
		return fmt.Errorf("evaluating %s: %w", short(js), err)
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 {
		return fmt.Errorf("evaluating %s: the result is undefined", short(js))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("evaluating %s: decoding %s: %w", short(js), short(string(raw)), err)
	}
	return nil
}

// WaitFor evaluates the JavaScript expression js every 50 ms until it is
// truthy (a promise is awaited first) or timeout passes. Exceptions while
// polling are not fatal, since the page may not have built what js reads
// yet; the last one is in the error on timeout.
func (p *Page) WaitFor(js string, timeout time.Duration) error {
	// The line breaks keep a trailing // comment in js from eating the
	// closing parenthesis.
	expr := "Promise.resolve((\n" + js + "\n)).then(v => !!v)"
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		var ok bool
		err := p.eval(expr, &ok, min(left, opTimeout))
		if err == nil && ok {
			return nil
		}
		lastErr = err
		if err := p.drv.closed(); err != nil {
			// The page is closed; polling on cannot succeed.
			return fmt.Errorf("waiting for %s: %w", short(js), err)
		}
		time.Sleep(min(pollInterval, max(time.Until(deadline), 0)))
	}
	if lastErr != nil {
		return fmt.Errorf("waiting for %s: not true after %v; last error: %w", short(js), timeout, lastErr)
	}
	return fmt.Errorf("waiting for %s: not true after %v", short(js), timeout)
}

// Click moves the pointer to the centre of the first element that matches
// the CSS selector and clicks there with real mouse events.
func (p *Page) Click(selector string) error {
	// Move the pointer there first, as a person's does: pages reveal
	// controls on hover (an auto-hiding bar has pointer-events: none until
	// the pointer moves), and a bare press would land on what is below.
	x, y, err := p.centre(selector)
	if err != nil {
		return fmt.Errorf("clicking %s: %w", selector, err)
	}
	if err := p.drv.click(x, y); err != nil {
		return fmt.Errorf("clicking %s: %w", selector, err)
	}
	return nil
}

// centre scrolls the first element matching selector into view and
// returns its centre in CSS pixels of the viewport.
func (p *Page) centre(selector string) (x, y float64, err error) {
	var at *struct{ X, Y float64 }
	find := fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e) return null;
		e.scrollIntoView({block: 'nearest', inline: 'nearest'});
		const r = e.getBoundingClientRect();
		return {X: r.left + r.width / 2, Y: r.top + r.height / 2};
	})()`, selector)
	if err := p.Eval(find, &at); err != nil {
		return 0, 0, err
	}
	if at == nil {
		return 0, 0, errors.New("no such element")
	}
	return at.X, at.Y, nil
}

// TouchStart puts a finger on the centre of the first element matching
// selector, on a page with a touch screen (see Device); TouchEnd lifts it.
func (p *Page) TouchStart(selector string) error {
	x, y, err := p.centre(selector)
	if err != nil {
		return fmt.Errorf("touching %s: %w", selector, err)
	}
	if err := p.drv.touch(true, x, y); err != nil {
		return fmt.Errorf("touching %s: %w", selector, err)
	}
	return nil
}

// TouchEnd lifts every finger.
func (p *Page) TouchEnd() error {
	if err := p.drv.touch(false, 0, 0); err != nil {
		return fmt.Errorf("lifting the fingers: %w", err)
	}
	return nil
}

// KeyDown presses the key whose KeyboardEvent.code is code ("ArrowUp",
// "KeyZ", "ShiftLeft", "Space", …) with Input.dispatchKeyEvent (in
// Firefox, BiDi's input.performActions), so page handlers get a trusted
// KeyboardEvent with the key, code, keyCode, location
// and modifier state of a US keyboard. Pressing a key that is already down
// sends an auto-repeat event, as holding a key does. Modifier keys that are
// down (Shift, Control, Alt, Meta) change the keys pressed after them.
func (p *Page) KeyDown(code string) error {
	k, err := lookupKey(p.keys, code)
	if err != nil {
		return err
	}
	p.mu.Lock()
	repeat := p.held[code]
	p.held[code] = true
	mods := p.modifiersLocked()
	p.mu.Unlock()

	err = p.drv.key(keyEvent{down: true, code: code, def: k, modifiers: mods, repeat: repeat})
	if err != nil {
		// The page did not get the press, so the key is as it was.
		p.mu.Lock()
		p.held[code] = repeat
		p.mu.Unlock()
		return fmt.Errorf("pressing %s: %w", code, err)
	}
	return nil
}

// KeyUp releases the key whose KeyboardEvent.code is code. See KeyDown.
func (p *Page) KeyUp(code string) error {
	k, err := lookupKey(p.keys, code)
	if err != nil {
		return err
	}
	p.mu.Lock()
	was := p.held[code]
	delete(p.held, code)
	mods := p.modifiersLocked()
	p.mu.Unlock()

	err = p.drv.key(keyEvent{code: code, def: k, modifiers: mods})
	if err != nil {
		p.mu.Lock()
		if was {
			p.held[code] = true
		}
		p.mu.Unlock()
		return fmt.Errorf("releasing %s: %w", code, err)
	}
	return nil
}

// modifiersLocked returns the CDP modifier bits of the keys that are down.
// A modifier's own keydown already counts it, and its keyup does not, which
// is what browsers report (shiftKey is true on Shift's keydown).
func (p *Page) modifiersLocked() int64 {
	var mods int64
	for code := range p.held {
		mods |= p.keys[code].modifier
	}
	return mods
}

// Screenshot writes a PNG of the page's viewport to path.
func (p *Page) Screenshot(path string) error {
	png, err := p.drv.screenshot()
	if err != nil {
		return fmt.Errorf("taking a screenshot: %w", err)
	}
	if len(png) == 0 {
		return errors.New("taking a screenshot: the browser returned no image")
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("writing the screenshot: %w", err)
	}
	return nil
}

// short shortens a script or value for an error message.
func short(s string) string {
	const limit = 120
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}

package browsertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// firefoxPath is Debian's Firefox ESR, a link to the browser's binary, so
// the PID it starts with is the browser's.
const firefoxPath = "/usr/bin/firefox-esr"

// ErrUnsupported is what a Page method returns for what its browser's
// driver cannot do (touch on a Firefox page, for one), rather than
// pretending to do it.
var ErrUnsupported = errors.New("not supported by this browser's driver")

// cspChannel names the BiDi channel through which every document of a
// Firefox page reports its CSP violations (the counterpart of cspBinding).
const cspChannel = "browsertest-csp"

// firefoxPrefs returns the preferences of the test profile, each for a
// reason. Firefox's remote agent already sets its own recommended ones for
// automation (no first-run pages, no updates, and more); these are what
// the tests need beyond them, or must not be left to a default that may
// change. A function rather than a package variable, so that no test can
// change what another one gets.
func firefoxPrefs() map[string]any {
	return map[string]any{
		// WebRTC over loopback, the only interface of the namespace: by
		// default Firefox skips loopback addresses, and hides host
		// addresses behind .local names that only multicast DNS resolves.
		"media.peerconnection.ice.loopback":                 true,
		"media.peerconnection.ice.obfuscate_host_addresses": false,
		"media.navigator.permission.disabled":               true,
		// Without camera or microphone permission, Firefox's WebRTC
		// gathers only the address of the default route, and the namespace
		// has none: it would gather nothing and fail ICE. A default grant
		// covers every origin, as Chromium's grant does (see setUpTab);
		// there is no camera or microphone, so getUserMedia still fails.
		"permissions.default.camera":     1,
		"permissions.default.microphone": 1,
		// Video and sound must play without a click.
		"media.autoplay.default":         0,
		"media.autoplay.blocking_policy": 0,
		// Several pages play several users at once: none may be slowed
		// down for being in the background.
		"dom.min_background_timeout_value":           4,
		"dom.timeout.enable_budget_timer_throttling": false,
		// Each window behaves as the focused one, as each user's own
		// window would be (Chromium's focus emulation): the app lets go
		// of held keys when its window loses focus.
		"focusmanager.testmode":    true,
		"dom.disable_beforeunload": true,
		// No first-run, welcome or what's-new pages.
		"browser.shell.checkDefaultBrowser":        false,
		"browser.startup.homepage_override.mstone": "ignore",
		"browser.startup.page":                     0,
		"startup.homepage_welcome_url":             "",
		"browser.aboutwelcome.enabled":             false,
		"browser.newtabpage.enabled":               false,
		"browser.sessionstore.resume_from_crash":   false,
		"toolkit.startup.max_resumed_crashes":      -1,
		// The namespace has no network: nothing may try to reach one,
		// neither to wait on it nor to fill the output with its failures.
		"app.update.disabledForTesting":                              true,
		"app.update.auto":                                            false,
		"app.normandy.enabled":                                       false,
		"app.shield.optoutstudies.enabled":                           false,
		"messaging-system.rsexperimentloader.enabled":                false,
		"datareporting.policy.dataSubmissionEnabled":                 false,
		"datareporting.healthreport.uploadEnabled":                   false,
		"toolkit.telemetry.enabled":                                  false,
		"toolkit.telemetry.unified":                                  false,
		"toolkit.telemetry.server":                                   "",
		"browser.ping-centre.telemetry":                              false,
		"services.settings.server":                                   "data:,#remote-settings-dummy/v1",
		"extensions.update.enabled":                                  false,
		"extensions.getAddons.cache.enabled":                         false,
		"extensions.blocklist.enabled":                               false,
		"network.captive-portal-service.enabled":                     false,
		"network.connectivity-service.enabled":                       false,
		"network.trr.mode":                                           5,
		"network.proxy.type":                                         0,
		"network.dns.disablePrefetch":                                true,
		"network.prefetch-next":                                      false,
		"network.http.speculative-parallel-limit":                    0,
		"browser.safebrowsing.malware.enabled":                       false,
		"browser.safebrowsing.phishing.enabled":                      false,
		"browser.safebrowsing.downloads.enabled":                     false,
		"browser.safebrowsing.blockedURIs.enabled":                   false,
		"browser.safebrowsing.update.enabled":                        false,
		"security.OCSP.enabled":                                      0,
		"security.remote_settings.crlite_filters.enabled":            false,
		"security.remote_settings.intermediates.enabled":             false,
		"geo.provider.network.url":                                   "",
		"browser.region.network.url":                                 "",
		"browser.region.update.enabled":                              false,
		"dom.push.connection.enabled":                                false,
		"dom.push.serverURL":                                         "",
		"media.gmp-manager.url":                                      "",
		"browser.newtabpage.activity-stream.feeds.system.topstories": false,
		"browser.newtabpage.activity-stream.feeds.snippets":          false,
		"browser.topsites.contile.enabled":                           false,
		// No crash reporter dialog, and no crash report to send.
		"browser.crashReports.unsubmittedCheck.enabled": false,
		"breakpad.reportURL":                            "",
	}
}

// userJS renders prefs as a profile's user.js.
func userJS(prefs map[string]any) ([]byte, error) {
	var b strings.Builder
	b.WriteString("// Written by internal/browsertest for one test run.\n")
	names := make([]string, 0, len(prefs))
	for n := range prefs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v, err := json.Marshal(prefs[n])
		if err != nil {
			return nil, fmt.Errorf("pref %s: %w", n, err)
		}
		fmt.Fprintf(&b, "user_pref(%q, %s);\n", n, v)
	}
	return []byte(b.String()), nil
}

// firefox is a Firefox process and its WebDriver BiDi session.
type firefox struct {
	conn *bidiConn

	mu    sync.Mutex
	pages map[string]*Page // by browsing context id, for their events
}

// StartFirefox launches headless Firefox ESR for the test, driven over
// WebDriver BiDi, and stops it in t.Cleanup. Its pages work with the same
// Page methods as Chromium's, but for what BiDi cannot do, which gives
// ErrUnsupported. It skips as Start does: outside the network namespace,
// with -short, or when firefox-esr is not installed, unless
// TELECART_BROWSERTEST_REQUIRE=1 makes those skips failures (but
// -short's); TELECART_FIREFOX_REQUIRE=1 makes a missing firefox-esr one.
func StartFirefox(t testing.TB) *Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts Firefox")
	}
	skip, err := netnsState()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	if skip == "" {
		if _, err := os.Stat(firefoxPath); err != nil {
			skip = "skipping: firefox-esr not installed; scripts/test installs it"
			if os.Getenv(envFirefoxRequire) == "1" {
				t.Fatalf("%s (and %s=1)", skip, envFirefoxRequire)
			}
		}
	}
	if skip != "" {
		Skip(t, skip)
	}

	profile, err := os.MkdirTemp("", "telecart-firefox-")
	if err != nil {
		t.Fatalf("browsertest: a profile for firefox: %v", err)
	}
	prefs, err := userJS(firefoxPrefs())
	if err == nil {
		err = os.WriteFile(filepath.Join(profile, "user.js"), prefs, 0o644)
	}
	if err != nil {
		_ = os.RemoveAll(profile)
		t.Fatalf("browsertest: writing firefox's prefs: %v", err)
	}

	output := &tailBuffer{limit: outputLimit}
	listening := make(chan string, 1)
	out := &lineWatcher{w: output, match: bidiListening, found: listening}
	proc, err := startFirefoxProcess(profile, out)
	if err != nil {
		_ = os.RemoveAll(profile)
		t.Fatalf("browsertest: starting %s: %v", firefoxPath, err)
	}
	ff := &firefox{pages: make(map[string]*Page)}
	b := &Browser{pid: proc.pid, bidi: ff}
	t.Cleanup(func() {
		err := ff.stop(proc, profile)
		if err != nil {
			t.Errorf("browsertest: stopping firefox: %v", err)
		}
		if err != nil || t.Failed() {
			t.Logf("firefox output (last %d bytes at most):\n%s", outputLimit, output.String())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), firefoxStartTimeout)
	defer cancel()
	var url string
	select {
	case url = <-listening:
	case <-proc.done:
		t.Fatalf("browsertest: firefox exited at start: %v\n%s", proc.err, output.String())
	case <-ctx.Done():
		t.Fatalf("browsertest: firefox did not open its WebDriver BiDi port in %v\n%s", firefoxStartTimeout, output.String())
	}
	ff.conn, err = dialBiDi(ctx, url+"/session", ff.event)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	err = ff.conn.call(ctx, "session.new", map[string]any{
		"capabilities": map[string]any{"alwaysMatch": map[string]any{
			"acceptInsecureCerts": true,
			// A dialog must not stop the page a test waits on.
			"unhandledPromptBehavior": map[string]string{"default": "accept"},
		}},
	}, nil)
	if err == nil {
		// One subscription for every page: the events name their browsing
		// context, and event routes them to its Page.
		err = ff.conn.call(ctx, "session.subscribe", map[string]any{
			"events": []string{"log.entryAdded", "script.message"},
		}, nil)
	}
	if err != nil {
		t.Fatalf("browsertest: starting the BiDi session: %v", err)
	}
	return b
}

// firefoxStartTimeout bounds Firefox's start, from the launch to its BiDi
// session. Longer than Chromium's: session.new waits until the browser has
// finished starting up: a few seconds on the 2-core test machine, over
// 30 s once at a load average of 20.
const firefoxStartTimeout = 90 * time.Second

// envFirefoxRequire turns the skips of StartFirefox into failures, as
// envRequire does for every browser: scripts/test sets it, so that CI
// cannot pass by skipping Firefox alone.
const envFirefoxRequire = "TELECART_FIREFOX_REQUIRE"

// bidiListening finds the line where Firefox says where BiDi listens.
var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://[0-9.:\[\]a-z]+)`)

// firefoxProcess is a started Firefox, the goroutine that waits for it
// and the one that copies its output.
type firefoxProcess struct {
	pid    int
	done   chan struct{} // closed once the process has exited and been reaped
	err    error         // how it exited; read after done
	output *os.File      // the read end of the output pipe
	copied chan struct{} // closed once every writer of the pipe has gone
}

// startFirefoxProcess starts Firefox on profile, its output to out, in a
// process group of its own, so that its content processes can be killed
// with it.
func startFirefoxProcess(profile string, out *lineWatcher) (*firefoxProcess, error) {
	cmd := exec.Command(firefoxPath,
		"--headless",
		"--remote-debugging-port=0", // any free port; Firefox prints which
		"--profile", profile,
		"--no-remote",
		"about:blank",
	)
	cmd.Env = append(os.Environ(),
		"MOZ_CRASHREPORTER_DISABLE=1",
		"MOZ_CRASHREPORTER_SHUTDOWN=1",
	)
	// A pipe of our own rather than a Writer: exec would copy from its own
	// pipe and Wait would wait for every content process that holds it,
	// where the browser's exit is what stop waits for.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("a pipe for firefox's output: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// Pdeathsig: the kernel kills Firefox if the test binary dies. It
	// fires when the thread that started the process ends, so the
	// goroutine below locks its thread and keeps it until Firefox exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &firefoxProcess{done: make(chan struct{}), output: r, copied: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		defer close(p.done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
	}()
	err = <-started
	_ = w.Close() // the processes hold their own copies
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	go func() {
		defer close(p.copied)
		_, _ = io.Copy(out, r) // until the last process holding the pipe is gone
	}()
	return p, nil
}

// stop closes the browser gracefully, then kills its process group, waits
// for it, and removes the profile.
func (ff *firefox) stop(proc *firefoxProcess, profile string) error {
	var errs []error
	if ff.conn != nil {
		if ff.conn.closed() == nil {
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			// browser.close ends the session and Firefox; the answer may
			// not come before the connection drops.
			if err := ff.conn.call(ctx, "browser.close", nil, nil); err != nil && !errors.Is(err, errBiDiClosed) {
				errs = append(errs, fmt.Errorf("closing: %w", err))
			}
			cancel()
		}
		ff.conn.close()
	}
	select {
	case <-proc.done:
	case <-time.After(closeTimeout):
		errs = append(errs, fmt.Errorf("firefox did not exit in %v after browser.close", closeTimeout))
	}
	// Whatever is left of the group (all of it, if the close failed).
	if err := syscall.Kill(-proc.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("killing process group %d: %w", proc.pid, err))
	}
	<-proc.done
	if err := waitGroupGone(proc.pid, closeTimeout); err != nil {
		errs = append(errs, err)
	}
	// The copy ends when the group is gone; a process outside it (one
	// that made a group of its own) could still hold the pipe.
	select {
	case <-proc.copied:
	case <-time.After(closeTimeout):
		errs = append(errs, errors.New("firefox's output still open after its process group was killed"))
	}
	_ = proc.output.Close()
	if err := os.RemoveAll(profile); err != nil {
		errs = append(errs, fmt.Errorf("removing the profile: %w", err))
	}
	return errors.Join(errs...)
}

// waitGroupGone waits until no live process is left in process group
// pgid. A zombie counts as gone: it runs nothing, and whoever inherited
// it reaps it.
func waitGroupGone(pgid int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		left := groupMembers(pgid)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of firefox's group %d still running %v after the kill", left, pgid, d)
		}
		time.Sleep(pollInterval)
	}
}

// groupMembers lists the live (not zombie) processes of group pgid.
func groupMembers(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// event routes a BiDi event to the page of its browsing context. It runs
// on the connection's reader, so it only records.
func (ff *firefox) event(method string, params json.RawMessage) {
	switch method {
	case "log.entryAdded":
		var e logEntry
		if json.Unmarshal(params, &e) != nil {
			return
		}
		if p := ff.page(e.Source.Context); p != nil {
			p.addConsole(e.String())
		}
	case "script.message":
		var m struct {
			Channel string      `json:"channel"`
			Data    remoteValue `json:"data"`
			Source  struct {
				Context string `json:"context"`
			} `json:"source"`
		}
		if json.Unmarshal(params, &m) != nil || m.Channel != cspChannel || m.Data.Type != "string" {
			return
		}
		var payload string
		if json.Unmarshal(m.Data.Value, &payload) != nil {
			return
		}
		if p := ff.page(m.Source.Context); p != nil {
			p.mu.Lock()
			if len(p.csp) < consoleLimit {
				p.csp = append(p.csp, payload)
			}
			p.mu.Unlock()
		}
	}
}

// page is the open page of browsing context id, or nil.
func (ff *firefox) page(id string) *Page {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	return ff.pages[id]
}

// logEntry is BiDi's log.entryAdded: a console call or an uncaught error.
type logEntry struct {
	Type   string `json:"type"`   // console, javascript
	Method string `json:"method"` // log, warn, error... for console
	Level  string `json:"level"`
	Text   string `json:"text"`
	Source struct {
		Context string `json:"context"`
	} `json:"source"`
	StackTrace struct {
		CallFrames []struct {
			URL        string `json:"url"`
			LineNumber int    `json:"lineNumber"`
		} `json:"callFrames"`
	} `json:"stackTrace"`
}

// String renders the entry as Chromium's are (console.log: text, or
// exception: text) with where it came from.
func (e logEntry) String() string {
	kind := "exception"
	if e.Type == "console" {
		kind = "console." + e.Method
	}
	s := kind + ": " + e.Text
	if f := e.StackTrace.CallFrames; len(f) > 0 && f[0].URL != "" {
		// The protocol counts lines from 0; editors count from 1.
		s += fmt.Sprintf(" (%s:%d)", f[0].URL, f[0].LineNumber+1)
	}
	return s
}

// newPage opens url in a new window of a new user context (its own
// cookies and storage), as Browser.NewPageWithScript does for Chromium.
func (ff *firefox) newPage(t testing.TB, url string, device Device, script string) *Page {
	t.Helper()
	if device.Mobile || device.Touch {
		t.Fatalf("browsertest: a Firefox page cannot be a phone (Mobile or Touch): %v; WebDriver BiDi has no touch screen to emulate", ErrUnsupported)
	}
	ctx, cancel := context.WithTimeout(context.Background(), navTimeout)
	defer cancel()

	var uc struct {
		UserContext string `json:"userContext"`
	}
	if err := ff.conn.call(ctx, "browser.createUserContext", nil, &uc); err != nil {
		t.Fatalf("browsertest: a user context for a page: %v", err)
	}
	// A window, not a tab: a tab behind another is hidden, and the app
	// lets go of every key when its page is hidden. In the background:
	// only one window of a browser has focus, so a new one would take it
	// from the pages already open, and the app lets go of every key when
	// its window loses focus. Input reaches a window that lacks focus, so
	// none ever takes it (document.hasFocus() is false in every page).
	var bc struct {
		Context string `json:"context"`
	}
	err := ff.conn.call(ctx, "browsingContext.create", map[string]any{"type": "window", "userContext": uc.UserContext, "background": true}, &bc)
	if err != nil {
		_ = ff.conn.call(ctx, "browser.removeUserContext", map[string]any{"userContext": uc.UserContext}, nil)
		t.Fatalf("browsertest: opening a window: %v", err)
	}
	d := &bidiDriver{ff: ff, context: bc.Context, gone: make(chan struct{})}
	p := newPage(d)
	ff.mu.Lock()
	ff.pages[bc.Context] = p
	ff.mu.Unlock()
	t.Cleanup(func() {
		if v := p.TakeCSPViolations(); len(v) > 0 {
			t.Errorf("browsertest: the page reported Content-Security-Policy violations:\n\t%s", strings.Join(v, "\n\t"))
		}
		close(d.gone)
		ff.mu.Lock()
		delete(ff.pages, bc.Context)
		ff.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		// Removing the user context closes its windows too; closing the
		// window first lets its page unload as a closed window's does.
		_ = ff.conn.call(ctx, "browsingContext.close", map[string]any{"context": bc.Context}, nil)
		err := ff.conn.call(ctx, "browser.removeUserContext", map[string]any{"userContext": uc.UserContext}, nil)
		if err != nil && ff.conn.closed() == nil {
			t.Errorf("browsertest: closing a page: %v", err)
		}
	})

	if err := ff.setUpWindow(ctx, bc.Context, device, script); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	err = ff.conn.call(ctx, "browsingContext.navigate", map[string]any{"context": bc.Context, "url": url, "wait": "complete"}, nil)
	if err != nil {
		t.Fatalf("browsertest: loading %s: %v\nconsole:\n%s", url, err, p.consoleText())
	}
	return p
}

// setUpWindow prepares a new window before it loads anything.
func (ff *firefox) setUpWindow(ctx context.Context, id string, device Device, script string) error {
	// A fixed viewport makes screenshots and layouts the same on every
	// machine.
	err := ff.conn.call(ctx, "browsingContext.setViewport", map[string]any{
		"context":          id,
		"viewport":         map[string]int{"width": device.Width, "height": device.Height},
		"devicePixelRatio": device.Scale,
	}, nil)
	if err != nil {
		return fmt.Errorf("setting the viewport: %w", err)
	}
	// The CSP listener reports through a channel: each call is a
	// script.message event, across reloads.
	err = ff.conn.call(ctx, "script.addPreloadScript", map[string]any{
		"functionDeclaration": `(report) => {
			document.addEventListener('securitypolicyviolation', (e) => {
				try {
					report(JSON.stringify({directive: e.effectiveDirective, blocked: e.blockedURI,
						at: e.sourceFile + ':' + e.lineNumber, sample: e.sample, disposition: e.disposition}));
				} catch {}
			}, true);
		}`,
		"arguments": []any{map[string]any{"type": "channel", "value": map[string]string{"channel": cspChannel}}},
		"contexts":  []string{id},
	}, nil)
	if err != nil {
		return fmt.Errorf("adding the CSP violations' listener: %w", err)
	}
	if script != "" {
		err = ff.conn.call(ctx, "script.addPreloadScript", map[string]any{
			// The line breaks keep a trailing // comment from eating the brace.
			"functionDeclaration": "() => {\n" + script + "\n}",
			"contexts":            []string{id},
		}, nil)
		if err != nil {
			return fmt.Errorf("adding the test's script: %w", err)
		}
	}
	return nil
}

// bidiDriver drives one Firefox window over WebDriver BiDi.
type bidiDriver struct {
	ff      *firefox
	context string        // the browsing context id
	gone    chan struct{} // closed when the page's test closes it
}

var _ driver = (*bidiDriver)(nil)

// call runs one command bounded by d.
func (d *bidiDriver) call(dur time.Duration, method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	return d.ff.conn.call(ctx, method, params, result)
}

func (d *bidiDriver) evaluate(js string, dur time.Duration) ([]byte, error) {
	var r struct {
		Type             string          `json:"type"` // success, exception
		Result           json.RawMessage `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := d.call(dur, "script.evaluate", map[string]any{
		"expression":      js,
		"target":          map[string]string{"context": d.context},
		"awaitPromise":    true,
		"resultOwnership": "none",
	}, &r)
	if err != nil {
		return nil, err
	}
	if r.Type == "exception" {
		return nil, fmt.Errorf("exception: %s", r.ExceptionDetails.Text)
	}
	return remoteJSON(r.Result)
}

// perform sends one input source's actions.
func (d *bidiDriver) perform(source map[string]any) error {
	return d.call(opTimeout, "input.performActions", map[string]any{
		"context": d.context,
		"actions": []any{source},
	}, nil)
}

func mouse(actions ...map[string]any) map[string]any {
	return map[string]any{"type": "pointer", "id": "mouse", "parameters": map[string]string{"pointerType": "mouse"}, "actions": actions}
}

func (d *bidiDriver) click(x, y float64) error {
	// The move first and on its own, as in cdpDriver: the page may reveal
	// what is under the pointer on hover.
	at := map[string]any{"type": "pointerMove", "x": int(math.Round(x)), "y": int(math.Round(y)), "origin": "viewport"}
	if err := d.perform(mouse(at)); err != nil {
		return err
	}
	return d.perform(mouse(
		map[string]any{"type": "pointerDown", "button": 0},
		map[string]any{"type": "pointerUp", "button": 0},
	))
}

func (d *bidiDriver) touch(bool, float64, float64) error {
	return fmt.Errorf("touch on a Firefox page: %w", ErrUnsupported)
}

// key sends the key's WebDriver value: Firefox derives the event's key,
// code, keyCode, location and modifiers from it and from the keys down.
func (d *bidiDriver) key(e keyEvent) error {
	value, err := webdriverKey(e.code, e.def)
	if err != nil {
		return err
	}
	typ := "keyUp"
	if e.down {
		typ = "keyDown"
	}
	return d.perform(map[string]any{
		"type": "key", "id": "keyboard",
		"actions": []map[string]string{{"type": typ, "value": value}},
	})
}

// webdriverKey is the value WebDriver presses for a KeyboardEvent.code:
// the character for one that types, a code point of WebDriver's own
// (Private Use Area) for the others.
func webdriverKey(code string, k keyDef) (string, error) {
	special := map[string]rune{
		"Backspace": '\uE003', "Tab": '\uE004', "Enter": '\uE006', // E007 is the keypad's
		"ShiftLeft": '\uE008', "ControlLeft": '\uE009', "AltLeft": '\uE00A',
		"Escape": '\uE00C', "Space": '\uE00D',
		"ArrowLeft": '\uE012', "ArrowUp": '\uE013', "ArrowRight": '\uE014', "ArrowDown": '\uE015',
		"MetaLeft": '\uE03D', "ShiftRight": '\uE050', "ControlRight": '\uE051', "AltRight": '\uE052', "MetaRight": '\uE053',
	}
	if r, ok := special[code]; ok {
		return string(r), nil
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(code, "F")); err == nil && strings.HasPrefix(code, "F") && n >= 1 && n <= 12 {
		return string(rune(0xE031 + n - 1)), nil
	}
	if len([]rune(k.text)) == 1 {
		return k.text, nil
	}
	return "", fmt.Errorf("key %s on a Firefox page: %w", code, ErrUnsupported)
}

func (d *bidiDriver) screenshot() ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	err := d.call(opTimeout, "browsingContext.captureScreenshot", map[string]any{
		"context": d.context,
		"origin":  "viewport",
		"format":  map[string]string{"type": "image/png"},
	}, &r)
	if err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return nil, fmt.Errorf("decoding the screenshot: %w", err)
	}
	return png, nil
}

func (d *bidiDriver) closed() error {
	select {
	case <-d.gone:
		return errors.New("the page is closed")
	default:
		return d.ff.conn.closed()
	}
}

// lineWatcher passes output on to w and sends the first submatch of match
// on found, once, from the first line that has it.
type lineWatcher struct {
	w     *tailBuffer
	match *regexp.Regexp
	found chan<- string // buffered, one

	mu   sync.Mutex
	line []byte // the line so far
	sent bool
}

// Write passes p on and looks for match in each complete line.
func (l *lineWatcher) Write(p []byte) (int, error) {
	n, _ := l.w.Write(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent {
		return n, nil
	}
	l.line = append(l.line, p...)
	for {
		i := strings.IndexByte(string(l.line), '\n')
		if i < 0 {
			break
		}
		if m := l.match.FindSubmatch(l.line[:i]); m != nil {
			l.found <- string(m[1])
			l.sent, l.line = true, nil
			return n, nil
		}
		l.line = l.line[i+1:]
	}
	if len(l.line) > outputLimit {
		l.line = l.line[len(l.line)-outputLimit:]
	}
	return n, nil
}

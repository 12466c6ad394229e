// Package browsertest starts headless Chromium (Start) or Firefox ESR
// (StartFirefox) for end-to-end tests of the Telecart web app, with real
// WebRTC over loopback. Chromium is driven over the DevTools protocol,
// Firefox over WebDriver BiDi; their pages are the same Page type, so a
// test helper drives either.
//
// A test package opts in from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.RunInNetNS(m)) }
//
// RunInNetNS puts the whole test binary in a network namespace of its own
// that has only lo, so the browser, the server under test and everything
// they start can reach 127.0.0.1 and nothing else. Then a test does:
//
//	b := browsertest.Start(t)
//	p := b.NewPage(t, srv.URL)
//	if err := p.WaitFor(`document.querySelector("video").readyState >= 2`, 10*time.Second); err != nil {
//		t.Fatalf("%v\nconsole:\n%s", err, strings.Join(p.Console(), "\n"))
//	}
//
// Start and NewPage take the test and stop it with t.Skip or t.Fatal; every
// Page method returns an error and is bounded by a timeout, so a stuck page
// fails a test instead of hanging it. Everything a test starts is stopped in
// t.Cleanup: the pages, the browser process (by its PID, and waited for),
// its child processes and its temporary profile.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's launcher. It reads /etc/chromium.d and then execs
// /usr/lib/chromium/chromium, so the PID it starts with is the browser's.
const chromiumPath = "/usr/bin/chromium"

// Time limits. They are generous for a 2-core machine running tests under
// -race, and short enough that a hang fails well inside go test's timeout.
const (
	startTimeout = 30 * time.Second // launching Chromium and connecting
	closeTimeout = 10 * time.Second // a graceful Browser.close before the kill
	navTimeout   = 30 * time.Second // NewPage: new tab and page load
	opTimeout    = 15 * time.Second // each other Page method
	outputLimit  = 64 << 10         // bytes of Chromium's output kept for failures
)

// flag is one command-line switch of Chromium: --name, or --name=value.
type flag struct {
	name  string
	value any // true for a bare switch
}

// chromiumFlags returns the switches Chromium runs with, each for a reason.
// A function rather than a package variable, so that no test can change
// what another one gets.
func chromiumFlags() []flag {
	return []flag{
		{"headless", "new"},
		// Root cannot use Chromium's sandbox; the network namespace is the
		// isolation here.
		{"no-sandbox", true},
		{"disable-gpu", true},
		// This machine has no network, and these features would try to reach
		// Google at start-up and get their connections refused.
		{"disable-quic", true},
		{"no-first-run", true},
		{"no-default-browser-check", true},
		{"disable-background-networking", true},
		{"disable-component-update", true},
		{"disable-sync", true},
		{"disable-breakpad", true},
		// No keyring service to ask for a password.
		{"password-store", "basic"},
		{"use-mock-keychain", true},
		// Video must play without a click.
		{"autoplay-policy", "no-user-gesture-required"},
		// Chromium's WebRTC ignores loopback addresses unless told otherwise,
		// and the namespace has nothing else. Needed: without it no
		// connection forms.
		{"allow-loopback-in-peer-connection", true},
		// A page without camera or microphone permission would otherwise
		// offer host candidates under random .local names that only
		// multicast DNS resolves, and the namespace has none. NewPage grants
		// the permission, which already makes Chromium offer plain addresses
		// (see setUpTab), so this guards pages that lack the grant.
		{"disable-features", "WebRtcHideLocalIpsWithMdns"},
		// Several pages play several users at once: none may be slowed down for
		// being in the background.
		{"disable-background-timer-throttling", true},
		{"disable-backgrounding-occluded-windows", true},
		{"disable-renderer-backgrounding", true},
		// Tests send many input events quickly.
		{"disable-ipc-flooding-protection", true},
		{"mute-audio", true},
		{"hide-scrollbars", true},
		{"window-size", "1280,720"},
	}
}

// Browser is a headless Chromium (Start) or Firefox (StartFirefox) process
// that a test started. Its methods are safe for concurrent use: each Page
// has its own tab.
type Browser struct {
	ctx  context.Context // the chromedp context that owns Chromium
	pid  int             // set once by Start, before the Browser is shared
	bidi *firefox        // Firefox, driven over WebDriver BiDi; nil for Chromium
}

// Start launches headless Chromium for the test and stops it in t.Cleanup.
// It skips the test when the process is not in the network namespace of
// RunInNetNS because the kernel refused one, or when Chromium is not
// installed. With TELECART_BROWSERTEST_REQUIRE=1 those skips are failures.
// With -short (the fast tier) it skips, whatever that variable says.
func Start(t testing.TB) *Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts Chromium")
	}
	skip, err := netnsState()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	if skip == "" {
		if _, err := os.Stat(chromiumPath); err != nil {
			skip = "skipping: chromium not installed; scripts/setup installs it"
		}
	}
	if skip != "" {
		Skip(t, skip)
	}

	output := &tailBuffer{limit: outputLimit}
	// No ModifyCmdFunc: chromedp's default sets Pdeathsig, so the kernel
	// kills the browser if the test binary dies, and it starts the browser
	// from a goroutine locked to its thread, which Pdeathsig needs.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.CombinedOutput(output),
	}
	for _, f := range chromiumFlags() {
		opts = append(opts, chromedp.Flag(f.name, f.value))
	}
	// The ExecAllocator talks to Chromium over a pipe (fds 3 and 4), so no
	// debugging port is open at all. It makes the temporary profile itself
	// and removes it, after killing any child of Chromium that outlived it.
	// Cancelling procCtx makes exec.CommandContext SIGKILL the browser by
	// its PID.
	procCtx, killProcess := context.WithCancel(context.Background())
	allocCtx, releaseAlloc := chromedp.NewExecAllocator(procCtx, opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx}
	t.Cleanup(func() {
		err := b.stop(cancelCtx, killProcess, releaseAlloc)
		if err != nil {
			t.Errorf("browsertest: stopping chromium: %v", err)
		}
		if err != nil || t.Failed() {
			t.Logf("chromium output (last %d bytes at most, D-Bus errors left out):\n%s", outputLimit, withoutNoise(output.String()))
		}
	})

	// The first Do starts the browser and ties its life to ctx, so it
	// cannot take a timeout context; a timer kills the process instead if
	// Chromium never answers.
	timer := time.AfterFunc(startTimeout, killProcess)
	err = chromedp.Do(ctx)
	if !timer.Stop() && err == nil {
		err = fmt.Errorf("no answer in %v", startTimeout)
	}
	if c := chromedp.FromContext(ctx); c.Browser != nil && c.Browser.Process() != nil {
		b.pid = c.Browser.Process().Pid
	}
	if err != nil {
		t.Fatalf("browsertest: starting %s: %v", chromiumPath, err)
	}
	if b.pid == 0 {
		t.Fatalf("browsertest: chromium started but chromedp reports no process")
	}
	return b
}

// Skip skips the test with reason, or fails it when
// TELECART_BROWSERTEST_REQUIRE=1: for Start, and for what else a browser
// test needs of the machine.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(envRequire) == "1" {
		t.Fatalf("%s (and %s=1)", reason, envRequire)
	}
	t.Skip(reason)
}

// Kind names a browser the package can start.
type Kind string

// The browsers: Start starts Chromium, StartFirefox Firefox.
const (
	Chromium Kind = "chromium"
	Firefox  Kind = "firefox"
)

// Kind says which browser b is.
func (b *Browser) Kind() Kind {
	if b.bidi != nil {
		return Firefox
	}
	return Chromium
}

// PID is the process ID of the browser's main process.
func (b *Browser) PID() int { return b.pid }

// stop closes the browser gracefully, so that Chromium shuts down its own
// child processes, then kills what is left and waits for all of it.
func (b *Browser) stop(cancelCtx, killProcess, releaseAlloc context.CancelFunc) error {
	var errs []error
	if b.pid != 0 {
		cctx, cancel := context.WithTimeout(b.ctx, closeTimeout)
		// Cancel sends Browser.close and waits for the process to exit
		// and for the profile to be removed.
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("closing: %w", err))
		}
		cancel()
	}
	cancelCtx()
	// The kill only matters if the graceful close failed or timed out;
	// releaseAlloc then waits for the process and the profile removal.
	killProcess()
	releaseAlloc()
	if b.pid != 0 {
		// The allocator reaped the process, so it must be gone; a PID that
		// still answers is a leak worth failing for.
		if err := syscall.Kill(b.pid, 0); !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("chromium pid %d still exists after stop (kill 0: %v)", b.pid, err))
		}
	}
	return errors.Join(errs...)
}

// withoutNoise drops the lines of Chromium's output that every run prints
// and that say nothing about a failure: there is no D-Bus in a test
// environment.
func withoutNoise(out string) string {
	var kept []string
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.Contains(line, ":ERROR:dbus/") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

// tailBuffer keeps the last limit bytes written to it. Chromium's output is
// noise on success; the tail explains a failed start.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

// Write keeps p, dropping the oldest bytes beyond the limit.
func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.limit; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

// String returns what the buffer holds.
func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(string(w.buf))
}

package browsertest_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/waittest"
)

// TestPageWithScript: the script runs in every document before the page's
// own, a reload too.
func TestPageWithScript(t *testing.T) { eachBrowser(t, testPageWithScript) }

func testPageWithScript(t *testing.T, b *browsertest.Browser) {
	p := b.NewPageWithScript(t, serveTestdata(t).URL+"/input.html", browsertest.Desktop(),
		`window.early = {state: document.readyState, events: typeof window.events}; // a comment at the end`)
	type early struct {
		State  string `json:"state"`
		Events string `json:"events"`
	}
	want := early{State: "loading", Events: "undefined"}
	var got early
	check(t, p, p.Eval(`window.early`, &got))
	if got != want {
		t.Errorf("the script saw %+v; want %+v, before the page's own script", got, want)
	}
	check(t, p, p.Eval(`location.reload()`, nil))
	check(t, p, p.WaitFor(`window.early && document.readyState === 'complete'`, waittest.Limit))
	check(t, p, p.Eval(`window.early`, &got))
	if got != want {
		t.Errorf("after a reload the script saw %+v; want %+v", got, want)
	}
}

// TestEvalValues: what a page's values decode to in Go, the same in both
// browsers (Firefox's come through BiDi's serialization). Functions and
// dates are left out: Chromium gives {} for them.
func TestEvalValues(t *testing.T) { eachBrowser(t, testEvalValues) }

func testEvalValues(t *testing.T, b *browsertest.Browser) {
	p := b.NewPage(t, serveTestdata(t).URL+"/input.html")
	tests := []struct {
		js, want string
	}{
		{`6 * 7`, `42`},
		{`0.5`, `0.5`},
		{`"a \"quoted\" ünïcode"`, `"a \"quoted\" ünïcode"`},
		{`null`, `null`},
		{`[1, "b", null, undefined, NaN, Infinity, true]`, `[1,"b",null,null,null,null,true]`},
		{`({a: {b: [{c: 1}]}, u: undefined})`, `{"a":{"b":[{"c":1}]}}`},
		{`({n: -0})`, `{"n":0}`},
		{`({m: new Map([[1, 2]]), s: new Set([1]), r: /x/})`, `{"m":{},"s":{},"r":{}}`},
		{`Promise.resolve([2, 3])`, `[2,3]`},
		{`let x = 1; x + 1`, `2`},
	}
	for _, tt := range tests {
		var got any
		check(t, p, p.Eval(tt.js, &got))
		var want any
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Eval(%s) = %#v; want %s", tt.js, got, tt.want)
		}
	}
	var n int
	if err := p.Eval(`undefined`, &n); err == nil {
		t.Error("Eval(undefined) into an int succeeded; want an error")
	}
	if err := p.Eval(`throw new TypeError("thrown")`, nil); err == nil || !strings.Contains(err.Error(), "thrown") {
		t.Errorf("Eval of a throw: %v; want an error that says thrown", err)
	}
}

// TestHungPage: a page that never answers, or is busy, fails WaitFor
// within its timeout, and works again once it is free.
func TestHungPage(t *testing.T) { eachBrowser(t, testHungPage) }

func testHungPage(t *testing.T, b *browsertest.Browser) {
	p := b.NewPage(t, serveTestdata(t).URL+"/input.html")
	const timeout = 500 * time.Millisecond
	for _, js := range []string{
		`new Promise(() => {})`, // never settles
		`(() => { const end = Date.now() + 3000; while (Date.now() < end); return false; })()`, // busy for 3 s
	} {
		start := time.Now()
		err := p.WaitFor(js, timeout)
		took := time.Since(start)
		if err == nil {
			t.Fatalf("WaitFor(%s) succeeded", js)
		}
		// Generous against a busy machine, and well short of the 3 s the
		// busy page takes.
		if took > timeout+2*time.Second {
			t.Errorf("WaitFor(%s) took %v to fail; want about %v", js, took, timeout)
		}
		t.Logf("%s: failed after %v: %v", js, took.Round(time.Millisecond), err)
	}
	check(t, p, p.WaitFor(`true`, waittest.Limit))
}

func TestFirefoxTouchUnsupported(t *testing.T) {
	b := browsertest.StartFirefox(t)
	p := b.NewPage(t, serveTestdata(t).URL+"/input.html")
	if err := p.TouchStart("#btn"); !errors.Is(err, browsertest.ErrUnsupported) {
		t.Errorf("TouchStart on a Firefox page: %v; want ErrUnsupported", err)
	}
	if err := p.TouchEnd(); !errors.Is(err, browsertest.ErrUnsupported) {
		t.Errorf("TouchEnd on a Firefox page: %v; want ErrUnsupported", err)
	}
	if b.Kind() != browsertest.Firefox {
		t.Errorf("Kind() = %q; want %q", b.Kind(), browsertest.Firefox)
	}
}

func TestFirefoxProcessIsGoneAfterCleanup(t *testing.T) {
	var pid int
	var profile string
	var group []int
	t.Run("browser", func(t *testing.T) {
		b := browsertest.StartFirefox(t)
		pid = b.PID()
		p := b.NewPage(t, serveTestdata(t).URL+"/webrtc.html")
		check(t, p, p.WaitFor(`framesDecoded().then(n => n > 0)`, waittest.Limit))
		profile = argAfter(t, pid, "--profile")
		group = browsertest.GroupMembers(pid)
	})
	if pid == 0 {
		t.Skip("no browser was started")
	}
	// A browser, its content processes, its socket and GPU processes...
	t.Logf("firefox ran as %d processes: %v", len(group), group)
	if len(group) < 2 {
		t.Errorf("firefox's process group had %v; want the browser and its content processes", group)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v after cleanup; want ESRCH", pid, err)
	}
	if left := browsertest.GroupMembers(pid); len(left) > 0 {
		t.Errorf("processes %v of that browser are still running", left)
	}
	if profile == "" {
		t.Fatal("firefox's command line has no --profile")
	}
	if _, err := os.Stat(profile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("profile %s still there after cleanup (stat: %v)", profile, err)
	}
}

// argAfter returns the argument after flag in the command line of pid.
func argAfter(t *testing.T, pid int, flag string) string {
	t.Helper()
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(string(cmdline), "\x00")
	for i, a := range args[:len(args)-1] {
		if a == flag {
			return args[i+1]
		}
	}
	return ""
}

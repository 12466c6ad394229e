package e2e

import (
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
)

// TestCheckPage: /check against `telecart serve` runs every step in
// Chromium, with its own fetch, WebSocket and RTCPeerConnection, and
// each passes.
func TestCheckPage(t *testing.T) {
	base := serve(t)
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/check")
	waitJS(t, p, `window.telecartCheck?.done === true`, "the check did not finish")
	var results []struct {
		Step  string `json:"step"`
		Mode  string `json:"mode"`
		OK    bool   `json:"ok"`
		Words string `json:"words"`
	}
	eval(t, p, `window.telecartCheck.results`, &results)
	steps := map[string]bool{}
	for _, r := range results {
		steps[r.Step] = true
		if !r.OK {
			fail(t, p, "step %s %s failed: %s", r.Step, r.Mode, r.Words)
		}
	}
	for _, s := range []string{"coordinator", "websocket", "workers", "ping", "candidates", "connection"} {
		if !steps[s] {
			fail(t, p, "no %s step in %+v", s, results)
		}
	}
	if got := text(t, p, "#check-summary"); got != "Every step works." {
		fail(t, p, "the summary says %q", got)
	}
	if n := len(results); text(t, p, "#check-steps") == "" || n < 6 {
		fail(t, p, "%d steps shown", n)
	}
}

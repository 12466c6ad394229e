package e2e

import (
	"fmt"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// filterFrames is how many frames a measurement covers: the page keeps
// the newest 300 (model/filter.js), five seconds of the test ROM.
const filterFrames = 300

// BenchmarkScreenFilter measures what a screen filter costs the page a
// frame, as the stats overlay reports it: from the video frame's callback
// to the end of the GPU's draw (gl.finish), the frame uploaded as a
// texture and drawn through the filter's shader on the canvas's device
// pixels, the test ROM playing in a 1280x720 window. Headless Chromium
// draws WebGL with SwiftShader, a CPU rasteriser: a GPU does the same
// work in a fraction of the time. crt-whole-frames uploads each frame
// with texImage2D(video), as a page without VideoFrame does, for
// comparison with the copy by planes.
func BenchmarkScreenFilter(b *testing.B) {
	for _, v := range []struct{ name, kind, script string }{
		{"crt", "crt", ""},
		{"lcd", "lcd", ""},
		{"crt-whole-frames", "crt", `delete window.VideoFrame;`},
	} {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				measureFilter(b, v.kind, v.script)
			}
		})
	}
}

func measureFilter(b *testing.B, kind, script string) {
	base := serve(b)
	p := browsertest.Start(b).NewPageWithScript(b, base+"/", browsertest.Desktop(), script)
	startGame(b, p, testGame)
	inRoom(b, p)
	waitColour(b, p, testrom.FillColor())
	var available bool
	eval(b, p, `window.telecart.filter.available`, &available)
	if !available {
		browsertest.Skip(b, "skipping: this Chromium has no WebGL, which the screen filters need")
	}
	// The button goes off, CRT, LCD for the NES.
	for n := 0; n < 3; n++ {
		var on bool
		eval(b, p, fmt.Sprintf(`window.telecart.filter.kind === %q`, kind), &on)
		if on {
			break
		}
		click(b, p, "#filter-btn")
	}
	waitJS(b, p, fmt.Sprintf(`window.telecart.filter.kind === %q && window.telecart.filter.drawing`, kind), kind+" is not drawn")
	// Timed only while the stats overlay shows.
	press(b, p, "F3")
	var cost struct {
		MedianMs, P95Ms float64
		Frames          int
	}
	var upload string
	eval(b, p, `window.telecart.filter.upload`, &upload)
	var size []int
	eval(b, p, `(() => { const c = document.querySelector('#stage .screen-filter'); return [c.width, c.height]; })()`, &size)
	err := waittest.Poll(2*waittest.Limit, func() error { // 5 s at 60 fps; more on a busy machine
		if err := p.Eval(`window.telecart.filter.cost ?? {Frames: 0}`, &cost); err != nil {
			return err
		}
		if cost.Frames < filterFrames {
			return fmt.Errorf("%d frames timed", cost.Frames)
		}
		return nil
	})
	if err != nil {
		fail(b, p, "the filter's cost: %v", err)
	}
	b.Logf("%s on %v device pixels, frames uploaded by %s: median %.2f ms, p95 %.2f ms over %d frames", kind, size, upload, cost.MedianMs, cost.P95Ms, cost.Frames)
	b.ReportMetric(cost.MedianMs, "ms/frame")
	b.ReportMetric(cost.P95Ms, "p95-ms/frame")
}

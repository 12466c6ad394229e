package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/turntest"
)

// latencyJS installs the page side of the measurement. Key events are
// stamped in the capture phase, before the app's handler sends the pad
// state in the same task; waitColour resolves, for the first video frame
// whose pixel shows the colour, with the time from that stamp to the
// frame's presentation (requestVideoFrameCallback's presentationTime).
const latencyJS = `(() => {
	window.__keyAt = 0;
	const stamp = () => { window.__keyAt = performance.now(); };
	window.addEventListener('keydown', stamp, true);
	window.addEventListener('keyup', stamp, true);
	window.__clickAt = 0;
	window.addEventListener('click', () => { window.__clickAt = window.__clickAt || performance.now(); }, true);
	window.__waitColour = (rgb, x, y) => new Promise((resolve) => {
		const v = document.getElementById('video');
		const c = document.createElement('canvas');
		c.width = v.videoWidth; c.height = v.videoHeight;
		const g = c.getContext('2d', {willReadFrequently: true});
		const step = (now, meta) => {
			g.drawImage(v, 0, 0);
			const d = g.getImageData(x, y, 1, 1).data;
			if (Math.hypot(d[0] - rgb[0], d[1] - rgb[1], d[2] - rgb[2]) < 40) resolve(meta.presentationTime - window.__keyAt);
			else v.requestVideoFrameCallback(step);
		};
		v.requestVideoFrameCallback(step);
	});
	window.__firstFrame = new Promise((resolve) => {
		const wait = () => {
			const v = document.getElementById('video');
			if (v) v.requestVideoFrameCallback((now, meta) => resolve(meta.presentationTime));
			else setTimeout(wait, 1);
		};
		wait();
	});
	return true;
})()`

// BenchmarkInputToPicture measures in headless Chromium what a player
// feels: from a key press to the first picture showing its effect, and
// from opening the page to the first picture. It also reports the CPU the
// runner and the worker process used per session while playing. The
// vp8-turn variant plays through Debian's coturn on loopback, the page
// held to relay candidates, to show what the relay adds.
func BenchmarkInputToPicture(b *testing.B) {
	for _, v := range []struct {
		name, codec string
		relay       bool
	}{{"vp8", "vp8", false}, {"h264", "h264", false}, {"vp8-turn", "vp8", true}} {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				measureLatency(b, v.codec, v.relay)
			}
		})
	}
}

// relayOnlyJS holds every peer connection the page makes to relay
// candidates (iceTransportPolicy "relay"): on loopback a direct path is
// always there, and ICE would rather take it.
const relayOnlyJS = `(() => {
	const Original = window.RTCPeerConnection;
	window.RTCPeerConnection = class extends Original {
		constructor(config, ...rest) { super({...config, iceTransportPolicy: 'relay'}, ...rest); }
	};
	return true;
})()`

func measureLatency(b *testing.B, codec string, relay bool) {
	args := []string{"-codec", codec}
	if relay {
		const secret = "telecart-bench-turn-secret"
		srv := turntest.Start(b, turntest.Config{Secret: secret, Loopback: true})
		args = append(args, "-turn-url", srv.URLs()[0],
			"-config", fixturetest.File(b, "telecart.json", []byte(`{"turn_secret": "`+secret+`"}`)))
	}
	base := serve(b, args...)
	br := browsertest.Start(b)
	p := br.NewPage(b, base+"/")
	var ok bool
	if err := p.Eval(latencyJS, &ok); err != nil {
		b.Fatal(err)
	}
	if relay {
		eval(b, p, hookPeerConnections, &ok)
		eval(b, p, relayOnlyJS, &ok)
	}
	startGame(b, p, "nes:telecart-test.nes")
	var firstFrame, clickAt, listAt float64
	if err := p.Eval(`window.__firstFrame`, &firstFrame); err != nil {
		b.Fatal(err)
	}
	if err := p.Eval(`window.__clickAt`, &clickAt); err != nil {
		b.Fatal(err)
	}
	if err := p.Eval(`performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd`, &listAt); err != nil {
		b.Fatal(err)
	}
	if relay {
		var pair *candidatePair
		eval(b, p, selectedPairJS, &pair)
		if pair == nil || pair.Local != "relay" {
			b.Fatalf("selected pair %+v, want a relay candidate", pair)
		}
	}
	// Let the stream settle before measuring.
	time.Sleep(time.Second)

	runner := runners(b)
	if len(runner) != 1 {
		b.Fatalf("runners: %v", runner)
	}
	runnerCPU0, selfCPU0, wall0 := processCPU(b, runner[0]), selfCPU(), time.Now()

	const presses = 100
	pt := testrom.FillPoint()
	var latencies []float64
	for i := range presses {
		held := i%2 == 0
		want := testrom.FillColor()
		if held {
			want = testrom.FillColor(testrom.A)
		}
		setup := fmt.Sprintf(`(() => { window.__pending = window.__waitColour([%d, %d, %d], %d, %d); return true; })()`, want.R, want.G, want.B, pt.X, pt.Y)
		if err := p.Eval(setup, &ok); err != nil {
			b.Fatal(err)
		}
		// A random pause spreads the presses over the phase of the
		// runner's frame loop, as a player's are.
		time.Sleep(time.Duration(rand.IntN(17_000)) * time.Microsecond)
		press := p.KeyUp
		if held {
			press = p.KeyDown
		}
		if err := press("KeyX"); err != nil {
			b.Fatal(err)
		}
		var ms float64
		if err := p.Eval(`window.__pending`, &ms); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, ms)
	}
	wall := time.Since(wall0).Seconds()
	runnerCPU, self := processCPU(b, runner[0])-runnerCPU0, selfCPU()-selfCPU0

	slices.Sort(latencies)
	pct := func(q float64) float64 { return latencies[int(q*float64(len(latencies)-1))] }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(latencies[len(latencies)-1], "max-ms")
	b.ReportMetric(firstFrame, "first-frame-ms")
	b.ReportMetric(firstFrame-clickAt, "click-to-frame-ms")
	b.ReportMetric(listAt, "page-loaded-ms")
	b.ReportMetric(100*runnerCPU.Seconds()/wall, "runner-cpu-%")
	b.ReportMetric(100*self.Seconds()/wall, "worker-cpu-%")
}

// processCPU is the user plus system time a process has used, from /proc.
func processCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	// After the command: state is field 0, utime field 11, stime field 12,
	// in clock ticks of 1/100 s on Linux.
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// selfCPU is this process's CPU time: the coordinator and the worker with
// its WebRTC peers (and the small chromedp client driving the browser).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package e2e

import (
	"fmt"
	"math"
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
// whose pixel shows the colour, with the times from that stamp to the
// frame's presentation and to its expected display
// (requestVideoFrameCallback's presentationTime and expectedDisplayTime).
// __watchJudder logs every frame callback's expected display time and
// presented frame count, and the decoder's frame count, from then on.
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
			if (Math.hypot(d[0] - rgb[0], d[1] - rgb[1], d[2] - rgb[2]) < 40) resolve([meta.presentationTime - window.__keyAt, meta.expectedDisplayTime - window.__keyAt]);
			else v.requestVideoFrameCallback(step);
		};
		v.requestVideoFrameCallback(step);
	});
	window.__watchJudder = async () => {
		const v = document.getElementById('video');
		const decoded = async () => {
			let n = 0;
			(await window.__pcs[window.__pcs.length - 1].getStats()).forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.framesDecoded; });
			return n;
		};
		const log = [];
		const step = (now, meta) => { log.push([meta.expectedDisplayTime, meta.presentedFrames, meta.receiveTime || 0]); v.requestVideoFrameCallback(step); };
		v.requestVideoFrameCallback(step);
		const decoded0 = await decoded();
		window.__judder = async () => ({log, decoded: (await decoded()) - decoded0});
		return true;
	};
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
// held to relay candidates, to show what the relay adds. Those play in
// the default frame phase (display); vp8-input and vp8-fixed in the
// others. Besides key to presentation, each reports key to the frame's
// expected display, and judder: the frames decoded but never presented,
// and the spread of the intervals between presented frames.
func BenchmarkInputToPicture(b *testing.B) {
	for _, v := range []struct {
		name, codec, phase string
		relay              bool
	}{
		{"vp8", "vp8", "display", false}, {"h264", "h264", "display", false}, {"vp8-turn", "vp8", "display", true},
		{"vp8-input", "vp8", "input", false}, {"vp8-fixed", "vp8", "fixed", false},
	} {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				measureLatency(b, v.codec, v.phase, v.relay)
			}
		})
	}
}

// relayOnlyJS holds every peer connection the page uses to relay
// candidates (iceTransportPolicy "relay"): on loopback a direct path is
// always there, and ICE would rather take it. The app makes its
// connection ahead and configures it before the offer, so both the
// constructor and setConfiguration are held.
const relayOnlyJS = `(() => {
	const Original = window.RTCPeerConnection;
	window.RTCPeerConnection = class extends Original {
		constructor(config, ...rest) { super({...config, iceTransportPolicy: 'relay'}, ...rest); }
	};
	const setConfiguration = Original.prototype.setConfiguration;
	Original.prototype.setConfiguration = function (config) {
		return setConfiguration.call(this, {...config, iceTransportPolicy: 'relay'});
	};
	return true;
})()`

// settleTime is how long the stream plays before the presses: the page
// reports its display every 2 s, and the display phase moves on the
// second report.
const settleTime = 5 * time.Second

func measureLatency(b *testing.B, codec, phase string, relay bool) {
	args := []string{"-codec", codec, "-frame-phase", phase}
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
	eval(b, p, hookPeerConnections, &ok)
	if relay {
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
	// Let the stream settle, and the phase move, before measuring.
	time.Sleep(settleTime)
	eval(b, p, `window.__watchJudder()`, &ok)

	runner := runners(b)
	if len(runner) != 1 {
		b.Fatalf("runners: %v", runner)
	}
	runnerCPU0, selfCPU0, wall0 := processCPU(b, runner[0]), selfCPU(), time.Now()

	const presses = 100
	pt := testrom.FillPoint()
	var latencies, displayed []float64
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
		// runner's frame loop, as a player's are, about 200 ms apart:
		// a player's pace, and the input phase's borrowed time repaid
		// between two.
		time.Sleep(200*time.Millisecond + time.Duration(rand.IntN(17_000))*time.Microsecond)
		press := p.KeyUp
		if held {
			press = p.KeyDown
		}
		if err := press("KeyX"); err != nil {
			b.Fatal(err)
		}
		var ms [2]float64
		if err := p.Eval(`window.__pending`, &ms); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, ms[0])
		displayed = append(displayed, ms[1])
	}
	wall := time.Since(wall0).Seconds()
	runnerCPU, self := processCPU(b, runner[0])-runnerCPU0, selfCPU()-selfCPU0
	var judder struct {
		Log     [][3]float64 `json:"log"`
		Decoded int          `json:"decoded"`
	}
	eval(b, p, `window.__judder()`, &judder)
	j := judderOf(judder.Log, judder.Decoded)
	var slack []float64 // how long each frame waited for its display
	for _, l := range judder.Log {
		if l[2] > 0 {
			slack = append(slack, l[0]-l[2])
		}
	}
	slices.Sort(slack)

	slices.Sort(latencies)
	slices.Sort(displayed)
	pct := func(v []float64, q float64) float64 { return v[int(q*float64(len(v)-1))] }
	b.ReportMetric(pct(latencies, 0.5), "p50-ms")
	b.ReportMetric(pct(latencies, 0.95), "p95-ms")
	b.ReportMetric(latencies[len(latencies)-1], "max-ms")
	b.ReportMetric(pct(displayed, 0.5), "display-p50-ms")
	b.ReportMetric(pct(displayed, 0.95), "display-p95-ms")
	b.ReportMetric(float64(j.unshown), "unshown-frames")
	b.ReportMetric(float64(j.skipped), "skipped-frames")
	b.ReportMetric(float64(j.repeated), "repeated-frames")
	b.ReportMetric(j.sd, "interval-sd-ms")
	b.ReportMetric(float64(judder.Decoded), "decoded-frames")
	if len(slack) > 0 {
		b.ReportMetric(pct(slack, 0.1), "wait-p10-ms")
		b.ReportMetric(pct(slack, 0.5), "wait-p50-ms")
	}
	b.ReportMetric(firstFrame, "first-frame-ms")
	b.ReportMetric(firstFrame-clickAt, "click-to-frame-ms")
	b.ReportMetric(listAt, "page-loaded-ms")
	b.ReportMetric(100*runnerCPU.Seconds()/wall, "runner-cpu-%")
	b.ReportMetric(100*self.Seconds()/wall, "worker-cpu-%")
}

// judderOf reads a log of frame callbacks (expected display time,
// presented frames so far, receive time) over which decoded frames were
// decoded: the frames never presented by the count; the refreshes that
// showed more than one new frame (skipped: all but the last were never
// seen) or none (repeated: the last picture stayed), counting refreshes
// by the expected display times, whatever callbacks the page missed; and
// the standard deviation of the intervals between consecutive presented
// frames, in ms.
func judderOf(log [][3]float64, decoded int) (j judderFigures) {
	if len(log) < 2 {
		return judderFigures{unshown: decoded}
	}
	presented := int(log[len(log)-1][1] - log[0][1])
	j.unshown = max(0, decoded-presented-1) // the first logged frame was decoded before the count began
	var intervals []float64
	for i := 1; i < len(log); i++ {
		if log[i][1]-log[i-1][1] == 1 {
			intervals = append(intervals, log[i][0]-log[i-1][0])
		}
	}
	if len(intervals) == 0 {
		return j
	}
	sorted := slices.Sorted(slices.Values(intervals))
	refresh := sorted[len(sorted)/2]
	for i := 1; i < len(log); i++ {
		frames := int(log[i][1] - log[i-1][1])
		refreshes := int(math.Round((log[i][0] - log[i-1][0]) / refresh))
		j.skipped += max(0, frames-refreshes)
		j.repeated += max(0, refreshes-frames)
	}
	var mean float64
	for _, d := range intervals {
		mean += d / float64(len(intervals))
	}
	for _, d := range intervals {
		j.sd += (d - mean) * (d - mean) / float64(len(intervals))
	}
	j.sd = math.Sqrt(j.sd)
	return j
}

type judderFigures struct {
	unshown, skipped, repeated int
	sd                         float64
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

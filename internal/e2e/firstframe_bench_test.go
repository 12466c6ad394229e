package e2e

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/waittest"
)

// firstFrameJS runs in the page before the app: it stamps each step from
// opening the page to its first picture (milliseconds since the page's
// navigation began), and clicks the test ROM the moment the game list
// shows it, as a player who knows what to play would, with none of the
// test driver's own delay. window.__frame resolves to the stamps once the
// first picture is presented.
const firstFrameJS = `(() => {
	const t = window.__t = {};
	const stamp = (k, at) => { if (t[k] === undefined) t[k] = at ?? performance.now(); };
	const Original = window.RTCPeerConnection;
	window.RTCPeerConnection = class extends Original {
		constructor(...args) {
			super(...args);
			stamp('pc');
			this.addEventListener('iceconnectionstatechange', () => { if (this.iceConnectionState === 'connected' || this.iceConnectionState === 'completed') stamp('ice'); });
			this.addEventListener('connectionstatechange', () => { if (this.connectionState === 'connected') stamp('connected'); });
			this.addEventListener('track', () => stamp('track'));
		}
	};
	const ws = window.WebSocket;
	window.WebSocket = class extends ws {
		constructor(...args) {
			super(...args);
			stamp('ws');
			this.addEventListener('open', () => stamp('ws_open'));
			this.addEventListener('message', (e) => {
				stamp('hello');
				try {
					const m = JSON.parse(e.data);
					if (m.type === 'started') stamp('started');
					if (m.type === 'offer') stamp('offer');
				} catch (_) {}
			});
		}
	};
	const game = 'li.game[data-game="nes:telecart-test.nes"]';
	const click = () => {
		const li = document.querySelector(game);
		if (!li || li.offsetParent === null) return false;
		stamp('list');
		stamp('click');
		li.click();
		return true;
	};
	document.addEventListener('DOMContentLoaded', () => {
		stamp('dom');
		if (click()) return;
		const watch = new MutationObserver(() => { if (click()) watch.disconnect(); });
		watch.observe(document.body, {childList: true, subtree: true, attributes: true});
	});
	window.__frame = new Promise((resolve) => {
		const wait = () => {
			const v = document.getElementById('video');
			if (!v) { setTimeout(wait, 1); return; }
			v.requestVideoFrameCallback((now, meta) => {
				stamp('frame', meta.presentationTime);
				const js = performance.getEntriesByType('resource').filter((r) => r.name.endsWith('.js'));
				t.modules = Math.max(...js.map((r) => r.responseEnd));
				t.module_count = js.length;
				resolve(t);
			});
		};
		wait();
	});
})()`

// firstFrame is the page's stamps, in milliseconds since navigation began.
type firstFrame struct {
	WS          float64 `json:"ws"`
	WSOpen      float64 `json:"ws_open"`
	Hello       float64 `json:"hello"`
	DOM         float64 `json:"dom"`
	Modules     float64 `json:"modules"`
	ModuleCount int     `json:"module_count"`
	List        float64 `json:"list"`
	Click       float64 `json:"click"`
	Started     float64 `json:"started"`
	Offer       float64 `json:"offer"`
	PC          float64 `json:"pc"`
	ICE         float64 `json:"ice"`
	Connected   float64 `json:"connected"`
	Track       float64 `json:"track"`
	Frame       float64 `json:"frame"`
}

// BenchmarkFirstFrame measures in headless Chromium the time from opening
// the page to its first picture, and from the click on a game to it, with
// a port per peer and with every peer on one UDP port behind a public
// address (the ICE mux and public_ips), with and without the runner pool.
// It also reports the steps between: the modules fetched, the socket's
// hello, the game list, the worker's offer, ICE, DTLS.
func BenchmarkFirstFrame(b *testing.B) {
	setups := []struct {
		name string
		args func(b *testing.B) []string
	}{
		{"port-per-peer", func(*testing.B) []string { return nil }},
		{"mux+public-ip", func(b *testing.B) []string {
			return []string{"-udp-port", strconv.Itoa(fixturetest.FreeUDPPort(b)), "-public-ip", "127.0.0.1"}
		}},
	}
	for _, s := range setups {
		for _, pool := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/pool=%d", s.name, pool), func(b *testing.B) {
				args := append([]string{"-runner-pool", strconv.Itoa(pool), "-room-linger", "1s"}, s.args(b)...)
				base := serve(b, args...)
				br := browsertest.Start(b)
				var sum firstFrame
				for b.Loop() {
					// The last page's room gone, and the pool full again.
					waitRunners(b, pool)
					p := br.NewPageWithScript(b, base+"/", browsertest.Desktop(), firstFrameJS)
					var f firstFrame
					eval(b, p, `window.__frame`, &f)
					var ok bool
					eval(b, p, `(() => { location.href = 'about:blank'; return true; })()`, &ok)
					sum = sum.plus(f)
				}
				n := float64(b.N)
				b.ReportMetric(sum.Frame/n, "open-to-frame-ms")
				b.ReportMetric((sum.Frame-sum.Click)/n, "click-to-frame-ms")
				b.ReportMetric(sum.Modules/n, "modules-loaded-ms")
				b.ReportMetric((sum.Hello-sum.WS)/n, "socket-to-hello-ms")
				b.ReportMetric(sum.List/n, "list-shown-ms")
				b.ReportMetric((sum.Offer-sum.Click)/n, "click-to-offer-ms")
				b.ReportMetric((sum.Connected-sum.Offer)/n, "offer-to-connected-ms")
				b.ReportMetric((sum.Frame-sum.Connected)/n, "connected-to-frame-ms")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func (f firstFrame) plus(g firstFrame) firstFrame {
	return firstFrame{
		WS: f.WS + g.WS, WSOpen: f.WSOpen + g.WSOpen, Hello: f.Hello + g.Hello, DOM: f.DOM + g.DOM,
		Modules: f.Modules + g.Modules, ModuleCount: g.ModuleCount, List: f.List + g.List, Click: f.Click + g.Click,
		Started: f.Started + g.Started, Offer: f.Offer + g.Offer, PC: f.PC + g.PC, ICE: f.ICE + g.ICE,
		Connected: f.Connected + g.Connected, Track: f.Track + g.Track, Frame: f.Frame + g.Frame,
	}
}

// waitRunners waits until this process has n runners, each in its
// seccomp filter: a pool's runner has it once it has entered its sandbox
// and waits for a game with nothing left but the game's load.
func waitRunners(t testing.TB, n int) {
	t.Helper()
	waittest.Eventually(t, fmt.Sprintf("%d runners", n), func() error {
		got := runners(t)
		if len(got) != n {
			return fmt.Errorf("%d runners: %v", len(got), got)
		}
		for _, pid := range got {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil || !bytes.Contains(status, []byte("\nSeccomp:\t2\n")) {
				return fmt.Errorf("runner %d not yet in its sandbox", pid)
			}
		}
		return nil
	})
}

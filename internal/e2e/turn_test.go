package e2e

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/coordinator"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/turntest"
	"github.com/telecart/telecart/web"
)

// The tests of this file play through a TURN relay (Debian's coturn, with
// short-lived credentials the coordinator makes from the secret it shares
// with it) where nothing else reaches the worker:
//
//	browser (this test's namespace) ── link 31 ── coturn, coordinator ── link 32 ── worker
//	      10.77.31.1                       10.77.31.2 │ 10.77.32.1                  10.77.32.2, UDP port 50000
//
// The middle namespace forwards nothing, so nothing carries the
// browser's packets to the worker (its default route ends in the middle,
// which drops them): its only way there is coturn, which listens on the
// browser's side and relays from the worker's. The
// coordinator listens on both sides, on 127.0.0.1 here for the page and
// on 10.77.32.1 for the worker. The worker carries every peer on one UDP
// port and announces its address with public_ips, as a public one does.

const (
	turnSecret = "telecart-e2e-turn-secret"
	// turnWorkerPort is the worker's udp_port.
	turnWorkerPort = 50000
	// browserLink is this namespace's end of the link to coturn's.
	browserLink = "tcnear31"
)

// turnSite is the layout above, running.
type turnSite struct {
	base string // the coordinator, as the page opens it
	turn *turntest.Server
}

// turnOptions change the coordinator's side of a turnSite.
type turnOptions struct {
	// secret is the coordinator's turn_secret (default coturn's).
	secret string
	// now is the coordinator's clock (default time.Now).
	now func() time.Time
	// udpOnly hands the browser coturn's UDP URL alone, not its TCP one
	// too (see TestPlayThroughTURN).
	udpOnly bool
}

// newTURNSite builds the layout above and waits for its worker. Call it
// after browsertest.Start, which checks as it starts that this namespace
// reaches nothing but itself.
func newTURNSite(t *testing.T, opts turnOptions) *turnSite {
	t.Helper()
	skipShort(t)
	if opts.secret == "" {
		opts.secret = turnSecret
	}
	middle, far := newNamespace(t), newNamespace(t)
	linkNamespaces(t, 31, netns.None(), middle, 0)
	linkNamespaces(t, 32, middle, far, 0)
	// The middle forwards nothing: coturn is the only way across.
	if err := inNamespace(middle, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("0\n"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	// And the browser's packets for anywhere else go to the middle, to be
	// dropped there: as on a real network, the worker's address is a
	// black hole from the browser, not an error. (Chromium closes a UDP
	// socket whose send fails, and with it the TURN allocation sharing
	// it.)
	dev, err := netlink.LinkByName(browserLink)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: dev.Attrs().Index, Scope: netlink.SCOPE_LINK,
		Dst: &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}}); err != nil {
		t.Fatalf("a default route through %s: %v", browserLink, err)
	}
	srv := turntest.Start(t, turntest.Config{
		Secret: turnSecret, Listen: "10.77.31.2", Relay: "10.77.32.1", Peers: []string{"10.77.32.2"},
		Start: func(cmd *exec.Cmd) error { return inNamespace(middle, cmd.Start) },
	})

	urls := srv.URLs()
	if opts.udpOnly {
		urls = urls[:1]
	}
	var log fixturetest.SyncBuffer
	coord, err := coordinator.New(coordinator.Config{
		Secrets: []string{clusterSecret}, Web: web.FS(), Overload: 1, Now: opts.now,
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		TURN:   coordinator.TURN{URLs: urls, Secret: opts.secret, TTL: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	forPage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var forWorker net.Listener
	if err := inNamespace(middle, func() (err error) {
		forWorker, err = net.Listen("tcp", "10.77.32.1:0")
		return err
	}); err != nil {
		forPage.Close()
		t.Fatal(err)
	}
	hs := &http.Server{Handler: coord.Handler()}
	served := make(chan error, 2)
	for _, ln := range []net.Listener{forPage, forWorker} {
		go func() { served <- hs.Serve(ln) }()
	}
	t.Cleanup(func() {
		coord.Close() // before the server: it ends the WebSockets
		hs.Close()
		<-served
		<-served
		if t.Failed() {
			t.Logf("the coordinator's log:\n%s", log.String())
		}
	})

	cmd := workerCommand(t, "http://"+forWorker.Addr().String(), clusterSecret, "-id", "relayed", "-capacity", "1", "-room-linger", "1s",
		"-ice-loopback=false", "-udp-port", strconv.Itoa(turnWorkerPort), "-public-ip", "10.77.32.2")
	startWorkerWith(t, cmd, func(cmd *exec.Cmd) error { return inNamespace(far, cmd.Start) })
	base := "http://" + forPage.Addr().String()
	waitWorkers(t, base, 1)
	return &turnSite{base: base, turn: srv}
}

// newNamespace makes a network namespace, with only a loopback that is
// down, for a test to link and put processes and sockets in. It goes when
// the test ends and nothing is left in it.
func newNamespace(t *testing.T) netns.NsHandle {
	t.Helper()
	var ns netns.NsHandle
	err := onThread(func(here netns.NsHandle) (err error) {
		ns, err = netns.New() // this thread is in it now; onThread takes it back
		return err
	})
	if err != nil {
		browsertest.Skip(t, "skipping: cannot make a network namespace: "+err.Error())
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// inNamespace runs f on a thread in namespace ns: a socket f opens, or a
// process it starts, is there.
func inNamespace(ns netns.NsHandle, f func() error) error {
	return onThread(func(netns.NsHandle) error {
		if err := netns.Set(ns); err != nil {
			return err
		}
		return f()
	})
}

// onThread runs f on a thread of its own, which f may move to another
// network namespace: the thread is put back in this one afterwards, or,
// should that fail, ends with its goroutine, so no other goroutine ever
// runs in a namespace it did not ask for.
func onThread(f func(here netns.NsHandle) error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		here, err := netns.Get()
		if err != nil {
			done <- err
			return // the thread ends with the goroutine, locked
		}
		defer here.Close()
		err = f(here)
		if netns.Set(here) == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// candidatePair is the peer connection's selected pair as getStats tells
// it: the local candidate's type and, for a relay, the protocol it speaks
// to the TURN server; the remote candidate's address.
type candidatePair struct {
	Local         string `json:"local"`
	RelayProtocol string `json:"relayProtocol"`
	Remote        string `json:"remote"`
	Address       string `json:"address"`
	Port          int    `json:"port"`
}

const selectedPairJS = `(async () => {
	const pc = window.__pcs[window.__pcs.length - 1];
	const report = await pc.getStats();
	let pair = null;
	report.forEach(s => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId); });
	if (!pair) return null;
	const l = report.get(pair.localCandidateId), r = report.get(pair.remoteCandidateId);
	return {local: l.candidateType, relayProtocol: l.relayProtocol || '', remote: r.candidateType, address: r.address, port: r.port};
})()`

// playThroughRelay starts the test ROM on the site's worker and checks
// that it plays through coturn, relaying over protocol: the selected pair
// a relay candidate to the worker's one UDP port, frames decoded, and a
// key changing the picture.
func playThroughRelay(t *testing.T, b *browsertest.Browser, site *turnSite, protocol string) {
	t.Helper()
	p := openTestROM(t, b, site.base)
	inRoom(t, p)

	var pair *candidatePair
	eval(t, p, selectedPairJS, &pair)

	if pair == nil || pair.Local != "relay" || pair.RelayProtocol != protocol {
		fail(t, p, "selected pair %+v, want a relay candidate over %s", pair, protocol)
	}
	// The worker's own address and muxed port, as public_ips announces it.
	if pair.Address != "10.77.32.2" || pair.Port != turnWorkerPort {
		fail(t, p, "selected pair %+v, want the worker's 10.77.32.2:%d", pair, turnWorkerPort)
	}
	t.Logf("selected pair: %+v", *pair)
	playsAndAnswers(t, p)
}

// TestPlayThroughTURN: with nothing carrying the browser's packets to the
// worker, the game plays through coturn, with the credentials the
// coordinator made for this browser, relayed over UDP to the worker's
// muxed port.
//
// The browser gets the UDP URL alone. Given coturn's TCP URL too, here
// Chromium's UDP allocation often fails ("Socket was closed", 701, and
// coturn never hears from it over UDP) and it plays over the TCP relay,
// which TestPlayThroughTURNOverTCP tests. Why is not known: it happened
// in most runs, and in one of two without the loopback network that
// Chromium gathers on in these tests (--allow-loopback-in-peer-connection).
func TestPlayThroughTURN(t *testing.T) {
	b := browsertest.Start(t)
	site := newTURNSite(t, turnOptions{udpOnly: true})
	playThroughRelay(t, b, site, "udp")
}

// TestPlayThroughTURNOverTCP: with every UDP packet on the browser's side
// dropped by a firewall (its one way out is the link to coturn), the game
// plays through coturn over TCP, the page offered the UDP URL too.
func TestPlayThroughTURNOverTCP(t *testing.T) {
	b := browsertest.Start(t)
	site := newTURNSite(t, turnOptions{})
	dropped := blockUDP(t, browserLink)
	playThroughRelay(t, b, site, "tcp")
	if n := dropped(); n == 0 {
		t.Errorf("the firewall dropped no UDP packet: the browser never tried UDP, and the test proves nothing")
	}
}

// blockUDP drops every UDP packet in and out of device dev in this
// namespace (nftables), until the test ends, and returns what counts the
// packets dropped going out.
func blockUDP(t *testing.T, dev string) (dropped func() int) {
	t.Helper()
	nft := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command("nft", args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	const table = "telecart_e2e_no_udp"
	rules := fmt.Sprintf(`table inet %[1]s {
	chain out { type filter hook output priority 0; policy accept; oifname %[2]q meta l4proto udp counter drop; }
	chain in { type filter hook input priority 0; policy accept; iifname %[2]q meta l4proto udp counter drop; }
}
`, table, dev)
	if out, err := nft(rules, "-f", "-"); err != nil {
		browsertest.Skip(t, fmt.Sprintf("skipping: nftables cannot block UDP here (scripts/test installs nftables): %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := nft("", "delete", "table", "inet", table); err != nil {
			t.Errorf("nft delete table: %v: %s", err, out)
		}
	})
	counter := regexp.MustCompile(`counter packets (\d+)`)
	return func() int {
		out, err := nft("", "list", "chain", "inet", table, "out")
		if err != nil {
			t.Fatalf("nft list chain: %v: %s", err, out)
		}
		m := counter.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no counter in\n%s", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
}

// TestTURNCredentialsRefused: a coordinator whose turn_secret is not
// coturn's, or whose credentials have expired (its clock two hours
// behind, its TTL one hour), leaves the page no way to the worker; the
// page says the relay refused its credentials, and what the operator
// should check, rather than that the connection was interrupted.
func TestTURNCredentialsRefused(t *testing.T) {
	b := browsertest.Start(t)
	for _, tc := range []struct {
		name string
		opts turnOptions
	}{
		{"wrong secret", turnOptions{secret: "not-coturns-secret"}},
		{"expired", turnOptions{now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := newTURNSite(t, tc.opts)
			p := b.NewPage(t, site.base+"/")
			startGame(t, p, testGame)
			waitJS(t, p, `window.telecart.state === 'lost' && `+visible("#view-message"), "the page did not give up on the connection")
			if s := text(t, p, "#view-message"); !strings.Contains(s, "The relay server (TURN) refused this browser’s credentials") ||
				!strings.Contains(s, "turn_secret matches the TURN server’s static-auth-secret") {
				fail(t, p, "the page says %q, want the relay's refusal in words", s)
			}
		})
	}
}

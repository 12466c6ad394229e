package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/telecart/telecart/internal/balancertest"
	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// TestCoordinatorsFailover runs Telecart as a fleet would: three
// coordinator processes sharing a three-node NATS cluster behind a load
// balancer, and two worker processes dialling through it. While a game
// plays in Chromium and another in a Go client:
//   - the coordinator that holds the page's socket is killed (SIGKILL);
//   - then a NATS server;
//   - then the killed coordinator starts again.
//
// No game's picture stops, the page resumes its session on another
// coordinator by itself, and a new game starts during each fault.
func TestCoordinatorsFailover(t *testing.T) {
	skipShort(t)
	nats := fixturetest.NATSCluster(t, 3)
	addrs := make([]string, 3)
	coords := make([]*exec.Cmd, 3)
	for i := range addrs {
		addrs[i] = freeAddr(t)
		coords[i] = coordinatorProcess(t, addrs[i], nats.URLs())
	}
	lb := balancertest.Start(t, addrs...)
	base := "http://" + lb.Addr()
	workerProcess(t, base, clusterSecret, "-id", "w1")
	workerProcess(t, base, clusterSecret, "-id", "w2")
	for _, a := range addrs {
		waitWorkers(t, "http://"+a, 2)
	}

	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitColour(t, p, testrom.FillColor())
	countFrames(t, p)
	var ok bool
	eval(t, p, `(() => {
		const note = document.getElementById('reconnecting');
		new MutationObserver(() => { if (note.hidden) window.__resumedAt = performance.now(); })
			.observe(note, {attributes: true, attributeFilter: ['hidden']});
		return true;
	})()`, &ok)
	pageOn := -1
	for i, a := range addrs {
		if health(t, "http://"+a).Sessions == 1 {
			pageOn = i
		}
	}
	if pageOn < 0 {
		t.Fatal("no coordinator holds the page's session")
	}
	// The Go client plays through a coordinator the faults leave alone.
	other := "http://" + addrs[(pageOn+1)%3]
	goClient := gobrowsertest.Dial(t, other)
	goClient.Play(signal.Start{Game: testGame})
	playing := func(what string) {
		t.Helper()
		var frames int
		eval(t, p, `window.__frames`, &frames)
		n := goClient.FrameCount()
		waitJS(t, p, fmt.Sprintf(`window.__frames > %d`, frames+30), "the page's picture stopped "+what)
		waittest.Eventually(t, "the Go client's picture goes on "+what, func() error {
			if got := goClient.FrameCount(); got < n+30 {
				return fmt.Errorf("%d frames, %d before", got, n)
			}
			return nil
		})
	}
	newGame := func(what string) {
		t.Helper()
		c := gobrowsertest.Dial(t, base)
		c.Play(signal.Start{Game: testGame})
		waittest.Eventually(t, "a new game's picture "+what, func() error {
			if c.FrameCount() < 10 {
				return fmt.Errorf("%d frames", c.FrameCount())
			}
			return nil
		})
		c.Send(signal.Quit{})
	}

	// 1. The page's coordinator dies.
	var killedAt float64
	eval(t, p, `performance.now()`, &killedAt)
	if err := coords[pageOn].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	lb.SetBackends(without(addrs, pageOn)...)
	playing("as its coordinator died")
	newGame("while a coordinator is down")
	waitJS(t, p, `window.__resumedAt > 0 && document.getElementById('reconnecting').hidden && window.telecart.state === 'playing'`,
		"the page did not resume its session on another coordinator")
	var resumedAt float64
	eval(t, p, `window.__resumedAt`, &resumedAt)
	t.Logf("the page resumed its session %.0f ms after its coordinator was killed", resumedAt-killedAt)
	// What the page asks of its room is heard through its new coordinator.
	openPanel(t, p)
	click(t, p, `#slots [data-seat="3"]`)
	waitSlot(t, p, 3)

	// 2. A NATS server dies: its coordinators' connections move to the
	// others, and JetStream elects new leaders.
	nats.Kill(nats.MetaLeader())
	playing("as a NATS server died")
	newGame("while a NATS server is down")

	// 3. The killed coordinator starts again, reads what the others share,
	// and serves new games.
	coords[pageOn] = coordinatorProcess(t, addrs[pageOn], nats.URLs())
	lb.SetBackends(addrs...)
	waitWorkers(t, "http://"+addrs[pageOn], 2)
	c := gobrowsertest.Dial(t, "http://"+addrs[pageOn])
	c.Play(signal.Start{Game: testGame})
	waittest.Eventually(t, "a new game through the restarted coordinator", func() error {
		if c.FrameCount() < 10 {
			return fmt.Errorf("%d frames", c.FrameCount())
		}
		return nil
	})
	playing("after the coordinator came back")
}

// coordinatorProcess runs `telecart coordinator` in a process of its own
// on listen, sharing its state over the NATS servers at nats, and waits
// until it serves; it is killed, if still running, when the test ends.
func coordinatorProcess(t testing.TB, listen string, nats []string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "coordinator", "-listen", listen, "-overload", "1", "-config", secretConfig(t, clusterSecret),
		"-nats", strings.Join(nats, ","))
	var out fixturetest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("coordinator %s's log:\n%s", listen, out.String())
		}
	})
	printedURL(t, &out)
	return cmd
}

// countFrames counts the frames the page's video shows from now on, in
// window.__frames.
func countFrames(t testing.TB, p *browsertest.Page) {
	t.Helper()
	var ok bool
	eval(t, p, `(() => {
		window.__frames = 0;
		const v = document.getElementById('video');
		const count = () => { window.__frames++; v.requestVideoFrameCallback(count); };
		v.requestVideoFrameCallback(count);
		return true;
	})()`, &ok)
}

// freeAddr is a loopback address no one listens on, for a server that
// must come back at the same one.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func without(s []string, i int) []string {
	out := append([]string(nil), s[:i]...)
	return append(out, s[i+1:]...)
}

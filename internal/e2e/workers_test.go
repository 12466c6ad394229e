package e2e

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// The tests of this file choose a worker as a player's browser does: the
// page times each worker's ping URL and reports the best round trips, and
// a new room goes to the fastest worker, to a worker of the zone in the
// address, or to the one picked by hand in the servers panel. Most run
// their workers on loopback, where a worker "far away" is one whose ping
// URL answers late: a test server that waits before its 204, which is all
// a browser's timing can tell of distance. TestNearestWorkerAcrossNamespaces
// puts real distance in: each worker in a network namespace of its own,
// behind a link that delays its packets.

// workerSpec is one worker of a test cluster: its id, zone, and how late
// its ping answers (0: the worker's own ping endpoint, -ping-listen).
type workerSpec struct {
	id, zone string
	delay    time.Duration
}

// cluster runs a coordinator and returns its base URL and a function that
// starts workers on it and waits until they have registered.
func cluster(t *testing.T) (base string, add func(...workerSpec) map[string]*atomic.Int32) {
	t.Helper()
	base, _ = startCoordinator(t, "127.0.0.1:0", clusterSecret)
	running := 0
	// add returns the requests each delayed ping has answered, by worker id.
	add = func(specs ...workerSpec) map[string]*atomic.Int32 {
		t.Helper()
		hits := make(map[string]*atomic.Int32)
		for _, w := range specs {
			args := append([]string{"worker", "-coordinator", "ws" + strings.TrimPrefix(base, "http") + "/worker",
				"-ice-loopback", "-games", "", "-saves", t.TempDir(), "-room-linger", "1s",
				"-capacity", "4"}, // what the panel shows, whatever the machine
				workerAuth(t, clusterSecret, w.id)...)
			if w.zone != "" {
				args = append(args, "-zone", w.zone)
			}
			if w.delay > 0 {
				url, n := slowPing(t, w.delay)
				hits[w.id] = n
				args = append(args, "-ping-url", url)
			} else {
				args = append(args, "-ping-listen", "127.0.0.1:0")
			}
			runCLI(t, args...)
		}
		running += len(specs)
		waitWorkers(t, base, running)
		return hits
	}
	return base, add
}

// slowPing is a ping endpoint that answers like a worker's, after delay,
// and counts the requests it got.
func slowPing(t *testing.T, delay time.Duration) (string, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1) // on arrival: the page may have its answer before a count after it
		time.Sleep(delay)
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Timing-Allow-Origin", "*")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/ping", &hits
}

// waitHost waits until the workers with a room in use are want: where
// the pages' games run.
func waitHost(t *testing.T, base string, want ...string) {
	t.Helper()
	slices.Sort(want)
	waittest.Eventually(t, fmt.Sprintf("the games on %v", want), func() error {
		var busy []string
		for _, w := range gobrowsertest.Hello(t, base).Workers {
			if w.Rooms > 0 {
				busy = append(busy, string(w.ID))
			}
		}
		slices.Sort(busy)
		if !slices.Equal(busy, want) {
			return fmt.Errorf("rooms in use on %v", busy)
		}
		return nil
	})
}

// latency is what the page last reported to the coordinator, by worker id.
func latency(t testing.TB, p *browsertest.Page) map[string]float64 {
	t.Helper()
	var l map[string]float64
	eval(t, p, `window.telecart.latency`, &l)
	return l
}

// waitMeasured waits until the page has reported a round trip to each of
// the workers, and returns the report.
func waitMeasured(t testing.TB, p *browsertest.Page, ids ...string) map[string]float64 {
	t.Helper()
	waitJS(t, p, fmt.Sprintf(`(() => {
		const l = window.telecart.latency;
		return l !== null && %q.split(' ').every((id) => typeof l[id] === 'number');
	})()`, strings.Join(ids, " ")), fmt.Sprintf("no latency reported for each of %v", ids))
	return latency(t, p)
}

// address is the page's path and query.
func address(t testing.TB, p *browsertest.Page) string {
	t.Helper()
	var s string
	eval(t, p, `location.pathname + location.search`, &s)
	return s
}

// quitToList leaves the room from the top bar and waits for the list to
// settle: at its own address (the way back is a history step, whose
// scroll restoration would move what is clicked next), and without live
// rooms (the room just left leaves that list a moment later, moving
// everything under it; nobody else plays in these tests).
func quitToList(t testing.TB, p *browsertest.Page) {
	t.Helper()
	click(t, p, "#quit-btn")
	waitJS(t, p, `window.telecart.state === 'list' && !document.getElementById('view-list').hidden && location.pathname === '/'
		&& document.getElementById('live').hidden`, "quit did not go back to the list")
}

// chooseZone picks a region in the list's selector, as a person does.
func chooseZone(t testing.TB, p *browsertest.Page, zone string) {
	t.Helper()
	var ok bool
	eval(t, p, fmt.Sprintf(`(() => {
		const s = document.getElementById('opt-zone');
		s.value = %q;
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return s.value === %[1]q;
	})()`, zone), &ok)
	if !ok {
		fail(t, p, "the region selector has no %q", zone)
	}
}

// TestNearestWorker: the page times every worker, including one that
// joins while it is open, and a new room goes to the one it found fastest,
// though the coordinator's own order (fewest rooms, then the id) would
// have picked the other.
func TestNearestWorker(t *testing.T) {
	base, add := cluster(t)
	far := add(workerSpec{id: "a", delay: 40 * time.Millisecond})["a"]
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	if got := waitMeasured(t, p, "a"); got["a"] < 40 {
		fail(t, p, "%.1f ms to a, whose ping answers after 40 ms", got["a"])
	}
	// Several samples, the best kept: the first pays for the connection.
	samples := far.Load()
	if samples < 3 {
		fail(t, p, "a's ping answered %d requests, want several samples", samples)
	}

	// A worker joins: the page hears of it, and measures it alone.
	add(workerSpec{id: "b"})
	got := waitMeasured(t, p, "a", "b")
	if !(got["b"] < got["a"]) {
		fail(t, p, "reported %v: b, on loopback, should be nearer than a", got)
	}
	if far.Load() != samples {
		fail(t, p, "a was measured again (%d requests, %d before) when b joined", far.Load(), samples)
	}
	var workers []signal.WorkerInfo
	eval(t, p, `window.telecart.workers`, &workers)
	if len(workers) != 2 || workers[0].ID != "a" || workers[1].ID != "b" || workers[0].Ping == "" || workers[1].Ping == "" {
		fail(t, p, "the page knows the workers %+v, want a and b with their ping URLs", workers)
	}

	startGame(t, p, testGame)
	inRoom(t, p)
	waitHost(t, base, "b")
}

// TestZoneFromAddress: a zone in the address (?zone=us) sends a new room
// to that zone's worker, nearer ones elsewhere notwithstanding; the zone
// stays in the address through the room and back; the region selector
// changes it.
func TestZoneFromAddress(t *testing.T) {
	base, add := cluster(t)
	add(workerSpec{id: "a", zone: "eu"}, workerSpec{id: "b", zone: "us", delay: 40 * time.Millisecond})
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/?zone=us")
	waitMeasured(t, p, "a", "b")
	waitJS(t, p, visible("#zone-field")+` && document.getElementById('opt-zone').value === 'us'`, "no region selector showing us")

	startGame(t, p, testGame)
	room := inRoom(t, p)
	waitHost(t, base, "b")
	if got := address(t, p); got != "/r/"+room+"?zone=us" {
		fail(t, p, "address %q in the room, want the zone kept", got)
	}
	quitToList(t, p)
	if got := address(t, p); got != "/?zone=us" {
		fail(t, p, "address %q back on the list, want /?zone=us", got)
	}

	// Any region: the nearest, a.
	chooseZone(t, p, "")
	if got := address(t, p); got != "/" {
		fail(t, p, "address %q with any region, want /", got)
	}
	startGame(t, p, testGame)
	inRoom(t, p)
	waitHost(t, base, "a")
	quitToList(t, p)

	// Chosen in the selector: the zone is in the address, and the room in the zone.
	chooseZone(t, p, "us")
	if got := address(t, p); got != "/?zone=us" {
		fail(t, p, "address %q after choosing us, want /?zone=us", got)
	}
	startGame(t, p, testGame)
	inRoom(t, p)
	waitHost(t, base, "b")
}

// TestPickWorkerByHand: ?debug opens the servers panel, which lists every
// worker with its zone, load and round trip; a worker picked there takes
// the next room, the slowest though it is, and Automatic gives the choice
// back to the coordinator.
func TestPickWorkerByHand(t *testing.T) {
	base, add := cluster(t)
	add(workerSpec{id: "eu-1", zone: "eu"}, workerSpec{id: "eu-2", zone: "eu", delay: 40 * time.Millisecond},
		workerSpec{id: "us-1", zone: "us", delay: 120 * time.Millisecond})
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/?debug")
	waitJS(t, p, `document.getElementById('servers').open`, "?debug did not open the servers panel")
	got := waitMeasured(t, p, "eu-1", "eu-2", "us-1")
	if !(got["eu-1"] < got["eu-2"] && got["eu-2"] < got["us-1"]) {
		fail(t, p, "reported %v, want eu-1 < eu-2 < us-1", got)
	}
	row := func(id string) string { return fmt.Sprintf(`#server-rows [data-worker=%q]`, id) }
	waitJS(t, p, fmt.Sprintf(`/\d ms$/.test(document.querySelector('%s .server-rtt').innerText)`, row("us-1")), "us-1's round trip is not shown")
	for _, w := range []struct{ id, says string }{
		{"eu-1", "eu-1 eu FASTEST 0 of 4 rooms"},
		{"eu-2", "eu-2 eu 0 of 4 rooms"},
		{"us-1", "us-1 us 0 of 4 rooms"},
	} {
		if s := text(t, p, row(w.id)+" .server-text"); s != w.says {
			fail(t, p, "the panel says %q of %s, want %q", s, w.id, w.says)
		}
	}
	// The round trip the page measured and reported, which is at least the
	// 120 ms its ping waits: a busy machine may add to that, never take away.
	if s, want := text(t, p, row("us-1")+" .server-rtt"), fmt.Sprintf("%.0f ms", math.Round(got["us-1"])); s != want || got["us-1"] < 120 {
		fail(t, p, "us-1's round trip shows as %q, want %q, 120 ms or more", s, want)
	}

	click(t, p, row("us-1")+` input`)
	waitJS(t, p, `document.getElementById('servers-label').innerText.trim() === 'Servers: us-1'`, "the pick is not shown on the Servers button")
	click(t, p, "#servers-done")
	waitJS(t, p, `!document.getElementById('servers').open`, "the servers panel did not close")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitHost(t, base, "us-1")

	// Another player's panel shows the room on us-1.
	other := b.NewPage(t, base+"/?debug")
	waitMeasured(t, other, "eu-1", "eu-2", "us-1")
	if s := text(t, other, row("us-1")+" .server-meta"); s != "1 of 4 rooms" {
		fail(t, other, "us-1 shows %q to another player, want its room", s)
	}
	screenshot(t, other, "screenshot-servers.png")

	// Automatic: the fastest again.
	quitToList(t, p)
	click(t, p, "#servers-btn")
	waitJS(t, p, `document.getElementById('servers').open`, "the Servers button did not open the panel")
	click(t, p, row("")+` input`)
	waitJS(t, p, `document.getElementById('servers-label').innerText.trim() === 'Servers'`, "Automatic is not shown on the Servers button")
	press(t, p, "Escape")
	waitJS(t, p, `!document.getElementById('servers').open && document.activeElement?.id === 'servers-btn'`,
		"Escape did not close the servers panel, back to its button")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitHost(t, base, "eu-1")
	if ids := slices.Sorted(maps.Keys(latency(t, p))); fmt.Sprint(ids) != "[eu-1 eu-2 us-1]" {
		fail(t, p, "latency reported for %v", ids)
	}
}

// TestNearestWorkerAcrossNamespaces: three workers, each in a network
// namespace of its own, 5, 40 and 120 ms away from the browser's, which
// the test's own namespace is (the coordinator runs there too). The page
// measures all three over those links, and a new room goes to the 5 ms
// worker; with that one full, to the 40 ms one; and each game plays over
// its link.
func TestNearestWorkerAcrossNamespaces(t *testing.T) {
	// Started first: the browser checks, as it starts, that this namespace
	// reaches nothing but itself, which the links below keep true, since
	// both ends of each are this test's.
	b := browsertest.Start(t)
	base, port := coordinatorForNamespaces(t)
	workers := []struct {
		id    string
		delay time.Duration
	}{{"near", 5 * time.Millisecond}, {"mid", 40 * time.Millisecond}, {"far", 120 * time.Millisecond}}
	for i, w := range workers {
		workerInNamespace(t, i+1, port, w.id, w.delay)
	}
	waitWorkers(t, base, len(workers))

	p := b.NewPage(t, base+"/")
	got := waitMeasured(t, p, "near", "mid", "far")
	for _, w := range workers {
		// A round trip crosses the link's delay once.
		if got[w.id] < float64(w.delay.Milliseconds()) {
			fail(t, p, "%.1f ms measured to %s, %v away", got[w.id], w.id, w.delay)
		}
	}
	if !(got["near"] < got["mid"] && got["mid"] < got["far"]) {
		fail(t, p, "measured %v, want near < mid < far", got)
	}
	startGame(t, p, testGame)
	inRoom(t, p)
	waitHost(t, base, "near")
	waitColour(t, p, testrom.FillColor())

	// near has no place left: the next nearest.
	other := b.NewPage(t, base+"/")
	waitMeasured(t, other, "near", "mid", "far")
	startGame(t, other, testGame)
	inRoom(t, other)
	waitHost(t, base, "near", "mid")
	waitColour(t, other, testrom.FillColor())
	if err := other.KeyDown("KeyZ"); err != nil {
		t.Fatal(err)
	}
	waitColour(t, other, testrom.FillColor(testrom.B))
}

// TestWorkerVanishes cuts a worker's network in the middle of a game, as
// a machine that dies or drops off its network does: nothing is closed,
// everything just goes silent. The coordinator drops the worker within
// its 5 s, and its room 10 s later (the grace it gives a silent worker to
// dial back): the room leaves the live rooms of a page on the list, and
// the player is told the game is gone (by the coordinator, or by the
// page's own peer connection, whichever is first), and plays again, on
// the worker left.
func TestWorkerVanishes(t *testing.T) {
	b := browsertest.Start(t)
	base, port := coordinatorForNamespaces(t)
	link := workerInNamespace(t, 1, port, "doomed", 0)
	workerInNamespace(t, 2, port, "spare", 40*time.Millisecond)
	waitWorkers(t, base, 2)

	p := b.NewPage(t, base+"/")
	waitMeasured(t, p, "doomed", "spare")
	startGame(t, p, testGame)
	room := inRoom(t, p)
	waitHost(t, base, "doomed")
	waitColour(t, p, testrom.FillColor())
	watcher := b.NewPage(t, base+"/")
	listed := fmt.Sprintf(`document.querySelector('#live-rooms [data-room="%s"]') !== null`, room)
	waitJS(t, watcher, listed, "the room is not among the live rooms")

	link.Cut()
	cut := time.Now()
	waitJS(t, p, `['ended', 'lost'].includes(window.telecart.state) && `+visible("#view-message")+` && `+visible("#retry-btn"),
		"the player was not told the game is gone, with a way to play again")
	t.Logf("%v after the cut the player was told: %q", time.Since(cut).Round(100*time.Millisecond), text(t, p, "#view-message .card"))
	waitWorkers(t, base, 1)
	t.Logf("%v after the cut the worker was dropped", time.Since(cut).Round(100*time.Millisecond))
	waitJS(t, watcher, `!(`+listed+`)`, "the room of the vanished worker is still listed")

	click(t, p, "#retry-btn")
	inRoom(t, p)
	waitHost(t, base, "spare")
	waitColour(t, p, testrom.FillColor())
}

// coordinatorForNamespaces runs a coordinator on every address of this
// namespace, for workers in namespaces of their own to reach over their
// links, and returns the address a page here opens, and its port.
func coordinatorForNamespaces(t *testing.T) (base, port string) {
	t.Helper()
	base, _ = startCoordinator(t, "0.0.0.0:0", clusterSecret)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return base, port
}

// workerInNamespace runs worker id (one room) in a process born in a
// network namespace of its own, linked to this one by delay link n, and
// returns the link. Until the link is up the worker has no way out, and
// dials the coordinator again.
func workerInNamespace(t *testing.T, n int, port, id string, delay time.Duration) *link {
	t.Helper()
	cmd := workerCommand(t, fmt.Sprintf("http://10.77.%d.1:%s", n, port), clusterSecret, "-id", id, "-capacity", "1", "-room-linger", "1s",
		"-ping-listen", "0.0.0.0:7000", "-ping-url", fmt.Sprintf("http://10.77.%d.2:7000/ping", n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	startWorker(t, cmd)
	return delayLink(t, n, cmd.Process.Pid, delay)
}

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// soakChurners is how many players churn at once, each with its guests.
const soakChurners = 3

// soakMetricsToken opens the worker's /metrics.
const soakMetricsToken = "telecart-e2e-soak-metrics"

// TestSoak churns a coordinator and a worker process for as long as
// TELECART_SOAK says (30m, say): players start games, guests join them,
// take controllers and press buttons, and everyone leaves, by quitting or
// by closing the tab. At the end, once the rooms have lingered out, the
// worker's goroutines, file descriptors and runner processes are back to
// where they were before, and its memory near it. Not on CI: it runs for
// as long as it is told.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("TELECART_SOAK"))
	if err != nil {
		t.Skip("set TELECART_SOAK to how long to churn (30m, say)")
	}
	base, _ := startCoordinator(t, "127.0.0.1:0", clusterSecret)
	cmd := workerCommand(t, base, clusterSecret, "-id", "soaked", "-capacity", strconv.Itoa(soakChurners+1),
		"-room-linger", "1s", "-ping-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TELECART_METRICS_TOKEN="+soakMetricsToken)
	worker, _ := startWorker(t, cmd)
	waitWorkers(t, base, 1)
	pid := worker.Process.Pid
	metrics := workerMetricsURL(t, base)

	// The baseline: the worker before any game. One that has played and
	// is idle again holds no more goroutines and file descriptors.
	before := measure(t, pid, metrics)
	t.Logf("before: %v", before)

	deadline := time.Now().Add(d)
	rounds := make([]int, soakChurners)
	peak := sampleRSS(pid)
	// Each round is a subtest, so that what it opened is closed with it;
	// the churners are goroutines rather than parallel subtests, which
	// -parallel (GOMAXPROCS) would run fewer of at once.
	var churners sync.WaitGroup
	for i := range soakChurners {
		churners.Go(func() {
			for ; time.Now().Before(deadline) && rounds[i] < 100_000; rounds[i]++ {
				if !t.Run(fmt.Sprintf("churner-%d", i), func(t *testing.T) { churnOnce(t, base, i, rounds[i]) }) {
					return
				}
			}
		})
	}
	churners.Wait()
	peakRSS := peak.stop()
	waitIdle(t, pid)
	var after soakFigures
	waittest.Eventually(t, "the worker back to where it was", func() error {
		after = measure(t, pid, metrics)
		switch {
		case after.goroutines > before.goroutines:
			return fmt.Errorf("%d goroutines, %d before", after.goroutines, before.goroutines)
		case after.fds > before.fds:
			return fmt.Errorf("%d file descriptors, %d before", after.fds, before.fds)
		}
		return nil
	})
	t.Logf("after %v of churn, %v rounds: %v; peak RSS %.0f MB", d, rounds, after, peakRSS/(1<<20))
	if after.rss > before.rss+32<<20 {
		t.Errorf("RSS %.0f MB after, %.0f MB before: more than 32 MB kept", after.rss/(1<<20), before.rss/(1<<20))
	}
}

// churnOnce is one round of a player: a game started, one to three guests
// joining it, one of them taking a controller, buttons pressed, and
// everyone leaving, some by quitting and some by closing the tab. Each
// round's people are on an address of their own, as many people in many
// places would be: from one, the coordinator's limits would soon refuse
// them.
func churnOnce(t *testing.T, base string, churner, round int) {
	from := attacker(5, (round*soakChurners+churner)%(250*250))
	host := gobrowsertest.DialFrom(t, base, from)
	host.WaitGames()
	room := host.Play(signal.Start{Game: testGame}).Room
	awaitPicture(t, host)
	guests := make([]*gobrowsertest.Browser, 1+rand.IntN(3))
	for i := range guests {
		g := gobrowsertest.DialFrom(t, base, from)
		g.WaitGames()
		g.Join(signal.Join{Room: room})
		awaitPicture(t, g)
		guests[i] = g
	}
	guests[0].Send(signal.Seat{Slot: 2})
	guests[0].WaitRoom("the guest seated", func(r signal.RoomState) bool {
		for _, m := range r.Members {
			if m.ID == r.You {
				return m.Slot == 2
			}
		}
		return false
	})
	<-host.Input
	host.Press(t, testrom.Buttons()[0].Joypad())
	host.Press(t, 0)
	for i, g := range append(guests, host) {
		if (round+i)%2 == 0 {
			g.Send(signal.Quit{})
		}
		g.Close()
		g.PC.Close()
	}
}

// awaitPicture waits for a browser's first picture.
func awaitPicture(t *testing.T, b *gobrowsertest.Browser) {
	t.Helper()
	waittest.Eventually(t, "a first picture", func() error {
		if b.FirstFrame().IsZero() {
			return errors.New("none yet")
		}
		return nil
	})
}

// waitIdle waits until the worker runs no game.
func waitIdle(t *testing.T, pid int) {
	t.Helper()
	waittest.Eventually(t, "the worker's games over", func() error {
		if r := runnersOf(t, pid); len(r) > 0 {
			return fmt.Errorf("runners %v", r)
		}
		return nil
	})
}

type soakFigures struct {
	goroutines, fds int
	rss             float64
}

func (f soakFigures) String() string {
	return fmt.Sprintf("%d goroutines, %d file descriptors, RSS %.0f MB", f.goroutines, f.fds, f.rss/(1<<20))
}

func measure(t *testing.T, pid int, metrics string) soakFigures {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return soakFigures{goroutines: int(metric(t, metrics, soakMetricsToken, "go_goroutines")), fds: len(fds), rss: residentBytes(pid)}
}

// workerMetricsURL is the worker's /metrics, on the ping listener the
// coordinator's hello names.
func workerMetricsURL(t *testing.T, base string) string {
	t.Helper()
	for _, w := range gobrowsertest.Hello(t, base).Workers {
		return strings.TrimSuffix(w.Ping, "/ping") + "/metrics"
	}
	t.Fatal("no worker")
	return ""
}

// metric reads one unlabelled metric from url, opened with token.
func metric(t testing.TB, url, token, name string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	// No connection kept: it would be one of the worker's file descriptors.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s: no %s", url, name)
	return 0
}

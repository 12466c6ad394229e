package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// serveProcess runs `telecart serve` in a process of its own, so that its
// CPU time is its own, and returns its address and pid. It is stopped when
// the benchmark ends.
func serveProcess(b *testing.B, args ...string) (string, int) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, exe, append([]string{"serve", "-listen", "127.0.0.1:0", "-games", "", "-ice-loopback", "-saves", b.TempDir()}, args...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr fixturetest.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if b.Failed() {
			b.Logf("telecart serve's log:\n%s", stderr.String())
		}
	})
	addr := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)`)
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if m := addr.FindStringSubmatch(lines.Text()); m != nil {
			go func() {
				for lines.Scan() { // drain, or the server blocks on a full pipe
				}
			}()
			return m[1], cmd.Process.Pid
		}
	}
	b.Fatal("telecart serve printed no address")
	return "", 0
}

// BenchmarkViewers has Go viewers (real WebRTC, the real stream) join one
// room of a `telecart serve` process, 1, 5, 10 and then 20 of them, and
// measures what each costs the server: the coordinator and worker
// process's CPU (the runner encodes once, whoever watches), and the frame
// rate each viewer receives, which must stay at 55 fps or more. It also
// reports how soon a joining viewer's first whole frame follows its
// connection coming up: the keyframe a join asks for.
func BenchmarkViewers(b *testing.B) {
	for range b.N {
		measureViewers(b)
	}
}

func measureViewers(b *testing.B) {
	const window = 5 * time.Second
	base, pid := serveProcess(b, "-capacity", "1")
	host := gobrowsertest.Dial(b, base)
	host.WaitGames()
	room := host.Play(signal.Start{Game: testGame}).Room
	viewers := []*gobrowsertest.Browser{host}
	var runner int
	waittest.Eventually(b, "the room's runner", func() error {
		r := runnersOf(b, pid)
		if len(r) != 1 {
			return fmt.Errorf("runners %v", r)
		}
		runner = r[0]
		return nil
	})

	var cpu1 float64
	var joins []float64
	for _, n := range []int{1, 5, 10, 20} {
		for len(viewers) < n {
			v := gobrowsertest.Dial(b, base)
			v.WaitGames()
			v.Join(signal.Join{Room: room})
			viewers = append(viewers, v)
		}
		for _, v := range viewers[max(len(joins)+1, 1):] {
			waittest.Eventually(b, "a new viewer's first picture", func() error {
				if v.FirstFrameDelay() == 0 {
					return errors.New("connected and framed: not both yet")
				}
				return nil
			})
			joins = append(joins, float64(v.FirstFrameDelay().Microseconds())/1000)
		}
		frames0 := make([]int64, n)
		for i, v := range viewers {
			frames0[i] = v.FrameCount()
		}
		server0, runner0, wall0 := processCPU(b, pid), processCPU(b, runner), time.Now()
		time.Sleep(window)
		wall := time.Since(wall0).Seconds()
		server := (processCPU(b, pid) - server0).Seconds() / wall * 100
		runnerCPU := (processCPU(b, runner) - runner0).Seconds() / wall * 100
		fps := make([]float64, n)
		for i, v := range viewers {
			fps[i] = float64(v.FrameCount()-frames0[i]) / wall
		}
		slowest := slices.Min(fps)
		b.ReportMetric(server, fmt.Sprintf("server-cpu-%%-%d", n))
		b.ReportMetric(slowest, fmt.Sprintf("min-fps-%d", n))
		if n == 1 {
			cpu1 = server
		} else {
			b.ReportMetric((server-cpu1)/float64(n-1), fmt.Sprintf("cpu-%%-per-extra-viewer-%d", n))
		}
		b.Logf("%2d viewers: server %.1f%% of a core, runner %.1f%%, slowest viewer %.1f fps", n, server, runnerCPU, slowest)
		if slowest < 55 {
			b.Errorf("%d viewers: one received %.1f fps, want 55 or more", n, slowest)
		}
	}
	slices.Sort(joins)
	b.ReportMetric(joins[len(joins)/2], "join-to-frame-p50-ms")
	b.ReportMetric(joins[len(joins)-1], "join-to-frame-max-ms")
}

package runner_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/waittest"
)

// newPool starts a pool of size runners for games of cfg's core, in cfg's
// game's folder, and closes it when the test ends.
func newPool(t testing.TB, size int, cfg runner.Config, free func() int) *runner.Pool {
	t.Helper()
	pool := runner.NewPool(runner.PoolConfig{Size: size, Options: runnertest.Options(runner.Config{}), Free: free,
		Read: []string{filepath.Dir(cfg.Core), filepath.Dir(cfg.Game)}})
	t.Cleanup(func() { _ = pool.Close() })
	return pool
}

// testROMConfig runs the test ROM on the NES core.
func testROMConfig(t testing.TB) runner.Config {
	return runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)}
}

// layers are a sandbox report's layers and whether each is on.
func layers(report []wire.SandboxLayer) []string {
	var on []string
	for _, l := range report {
		on = append(on, fmt.Sprintf("%s:%v", l.Layer, l.On))
	}
	return on
}

// waitIdle waits until the pool holds n runners, and returns their pids.
func waitIdle(t *testing.T, p *runner.Pool, n int) []int {
	t.Helper()
	var pids []int
	waittest.Eventually(t, fmt.Sprintf("%d runners waiting in the pool", n), func() error {
		if pids = p.Pids(); len(pids) != n {
			return fmt.Errorf("%d waiting", len(pids))
		}
		return nil
	})
	return pids
}

// TestPoolStartsRoomsFromItsRunners: a game starts in the runner that was
// waiting in the pool, fully sandboxed as a runner started for it would
// be, and the pool starts another to wait in its place. Closing the pool
// ends the one waiting, and leaves the taken one running.
func TestPoolStartsRoomsFromItsRunners(t *testing.T) {
	t.Parallel()
	cfg := testROMConfig(t)
	pool := newPool(t, 1, cfg, nil)
	waiting := waitIdle(t, pool, 1)

	s, err := startWith(t, runnertest.Options(cfg), pool.Start)
	if err != nil {
		t.Fatal(err)
	}
	proc := s.Process
	if proc.Pid() != waiting[0] {
		t.Errorf("the game runs in runner %d, not in %d, the one waiting in the pool", proc.Pid(), waiting[0])
	}
	s.nextVideo(t)

	// The same layers, confined to the game's folder rather than its file.
	fresh := mustStart(t, cfg)
	if got, want := layers(proc.Ready().Sandbox), layers(fresh.Ready().Sandbox); !slices.Equal(got, want) {
		t.Errorf("pooled runner's sandbox %v, a fresh runner's %v", got, want)
	}
	for _, l := range proc.Ready().Sandbox {
		if l.Layer == "filesystem" && l.On && !strings.Contains(l.Detail, filepath.Dir(cfg.Game)) {
			t.Errorf("pooled runner's filesystem: %s; want reading %s", l.Detail, filepath.Dir(cfg.Game))
		}
	}

	refilled := waitIdle(t, pool, 1)
	if refilled[0] == waiting[0] {
		t.Fatalf("the pool still lists runner %d, which it gave away", waiting[0])
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	assertReaped(t, refilled[0])
	s.nextVideo(t) // the game plays on
}

// TestPoolStartsAfreshWhenItCannot: a game whose runner must start
// otherwise than the pool's (another environment, or a game outside the
// folders the pool's runners are confined to) starts in a new runner, and
// a config that is not valid fails before it costs the pool its runner.
func TestPoolStartsAfreshWhenItCannot(t *testing.T) {
	t.Parallel()
	cfg := testROMConfig(t)
	pool := newPool(t, 1, cfg, nil)
	waiting := waitIdle(t, pool, 1)

	if _, err := pool.Start(context.Background(), runnertest.Options(runner.Config{Core: cfg.Core})); !errors.Is(err, runner.ErrInvalidConfig) {
		t.Fatalf("a config without a game: %v, want ErrInvalidConfig", err)
	}
	otherEnv := runnertest.Options(cfg)
	otherEnv.Env = append(otherEnv.Env, "TELECART_TEST_OTHER=1")
	elsewhere := cfg
	elsewhere.Game = fixturetest.TestROM(t) // another test folder, outside the pool's
	for _, c := range []struct {
		name string
		opts runner.Options
	}{
		{"another environment", otherEnv},
		{"a game outside the pool's folders", runnertest.Options(elsewhere)},
	} {
		s, err := startWith(t, c.opts, pool.Start)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if s.Pid() == waiting[0] {
			t.Errorf("%s: the game runs in the pool's runner", c.name)
		}
		s.nextVideo(t)
		if got := pool.Pids(); !slices.Equal(got, waiting) {
			t.Errorf("%s: pool holds %v, want %v still", c.name, got, waiting)
		}
	}
}

// TestPoolKeepsNoMoreThanFree: the pool never holds more runners than
// its owner has places free.
func TestPoolKeepsNoMoreThanFree(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 3, testROMConfig(t), func() int { return 2 })
	pids := waitIdle(t, pool, 2)
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		assertReaped(t, pid)
	}
}

// BenchmarkPoolStart measures a game's start in a runner the pool started
// ahead of need, from Start to the game running (Ready), against a runner
// started for it: what the pool saves a player on the click.
//
//	go test -run '^$' -bench PoolStart -benchtime 10x ./internal/runner
func BenchmarkPoolStart(b *testing.B) {
	for _, size := range []int{0, 1} {
		b.Run(fmt.Sprintf("pool=%d", size), func(b *testing.B) {
			cfg := testROMConfig(b)
			base := runnertest.Options(runner.Config{})
			base.Logger = slog.New(slog.DiscardHandler)
			pool := runner.NewPool(runner.PoolConfig{Size: size, Options: base, Read: []string{filepath.Dir(cfg.Core), filepath.Dir(cfg.Game)}})
			b.Cleanup(func() { _ = pool.Close() })
			opts := runnertest.Options(cfg)
			opts.Logger = base.Logger
			var total time.Duration
			for range b.N {
				if err := waittest.Poll(waittest.Limit, func() error {
					if pool.Idle() < size {
						return errors.New("the pool is not full")
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				p, err := pool.Start(context.Background(), opts)
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestPoolRunnerKilledWhileWaiting: a runner killed while it waited in the
// pool costs the game nothing: it starts in another.
func TestPoolRunnerKilledWhileWaiting(t *testing.T) {
	t.Parallel()
	cfg := testROMConfig(t)
	pool := newPool(t, 1, cfg, nil)
	victim := waitIdle(t, pool, 1)[0]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s, err := startWith(t, runnertest.Options(cfg), pool.Start)
	if err != nil {
		t.Fatalf("after the pool's runner was killed: %v", err)
	}
	if s.Pid() == victim {
		t.Fatalf("the game runs in %d, the runner killed", victim)
	}
	s.nextVideo(t)
}

package worker

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// pooled waits until the worker's runner pool holds n runners, and
// returns their pids.
func pooled(t *testing.T, w *Worker, n int) []int {
	t.Helper()
	var pids []int
	waittest.Eventually(t, fmt.Sprintf("%d runners in the pool", n), func() error {
		w.mu.Lock()
		pool := w.pool
		w.mu.Unlock()
		if pool == nil {
			return errors.New("no pool yet")
		}
		if pids = pool.Pids(); len(pids) != n {
			return fmt.Errorf("%d runners", len(pids))
		}
		return nil
	})
	return pids
}

// TestRoomStartsFromRunnerPool: with runner_pool 1, a new room's game runs
// in the runner the worker started before anyone asked, another takes its
// place in the pool, and the worker's end leaves no runner behind.
func TestRoomStartsFromRunnerPool(t *testing.T) {
	c := newCluster(t, 2, func(cfg *Config) { cfg.RunnerPool = 1 })
	waiting := pooled(t, c.worker, 1)

	b := c.browse(t)
	b.WaitGames()
	room := b.Play(signal.Start{Game: testGame}).Room
	if pid := c.worker.Room(room).Pid(); pid != waiting[0] {
		t.Errorf("the room's game runs in runner %d, not in %d from the pool", pid, waiting[0])
	}
	refilled := pooled(t, c.worker, 1)
	if refilled[0] == waiting[0] {
		t.Fatalf("the pool still holds runner %d, which a room took", waiting[0])
	}

	c.stopWorker()
	for _, pid := range append(refilled, waiting[0]) {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("runner %d still exists after the worker ended (kill 0: %v)", pid, err)
		}
	}
}

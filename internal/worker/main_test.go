package worker

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/telecart/telecart/internal/runner/runnertest"
)

// TestMain serves as a runner when a test starts one, and otherwise runs
// the tests and fails on a goroutine any of them left running: every
// goroutine of a worker, its rooms and their sessions has an owner that
// stops it.
func TestMain(m *testing.M) {
	runnertest.Main()
	goleak.VerifyTestMain(m)
}

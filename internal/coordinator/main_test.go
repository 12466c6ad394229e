package coordinator_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: each
// test closes its coordinators and servers, and Close waits for every
// goroutine a coordinator started. With scaleChildEnv set, the test
// binary is a coordinator for BenchmarkScale instead.
func TestMain(m *testing.M) {
	if os.Getenv(scaleChildEnv) != "" {
		os.Exit(serveChildCoordinator())
	}
	goleak.VerifyTestMain(m)
}

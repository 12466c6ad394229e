// Package waittest is test support for waiting on events: a test that
// needs something to become true polls for it with Eventually, bounded by a
// generous limit, instead of sleeping for a guessed length of time. On a
// busy machine the wait is longer, never wrong.
package waittest

import (
	"testing"
	"time"
)

// Limit bounds every wait: long enough for a machine running other work
// beside the tests, short enough that a broken test fails rather than
// hanging the suite.
const Limit = 20 * time.Second

// interval is how often a condition is checked: the conditions are cheap,
// and a short interval keeps the suite quick.
const interval = 10 * time.Millisecond

// Eventually checks cond until it returns nil, and fails the test with
// cond's last error when Limit passes first. what names the event for the
// failure message.
func Eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	if err := Poll(Limit, cond); err != nil {
		t.Fatalf("%s: not within %v: %v", what, Limit, err)
	}
}

// Poll checks cond every few milliseconds until it returns nil or limit
// passes, and returns its last error then. For waits that are not the
// test's own goroutine's to fail (t.Fatal must not be called from
// another goroutine), or that end in something other than a failure.
func Poll(limit time.Duration, cond func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(interval)
	}
}

package waittest

import (
	"errors"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	t.Parallel()
	calls := 0
	err := Poll(time.Minute, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Poll = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestPollGivesUp(t *testing.T) {
	t.Parallel()
	want := errors.New("never")
	if err := Poll(30*time.Millisecond, func() error { return want }); err != want {
		t.Fatalf("Poll = %v, want the condition's last error", err)
	}
}

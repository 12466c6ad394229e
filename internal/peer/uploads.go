package peer

import (
	"os"
	"sync"
	"time"
)

// DefaultUploadBudget is how many bytes of save files a worker takes in at
// once when nothing says otherwise: two of the largest files.
const DefaultUploadBudget = 64 << 20

// DefaultUploadStall is how long an upload may go without a byte before
// it is dropped: as long as a download may (stallTimeout), and as long as
// the page waits for news of a transfer.
const DefaultUploadStall = stallTimeout

// Uploads is a worker's allowance for save files on their way in, which
// all its peers share: each upload reserves the size it announced before
// a byte of it is kept, and gives it back when it ends, however it ends.
// A file waits in a temporary file in Dir while it arrives, never in
// memory. The worker makes one and hands it to every peer
// (Params.Uploads); the peers only reserve and release.
type Uploads struct {
	// Dir is the folder of the files on their way in; empty, os.TempDir().
	Dir string
	// Budget is the most bytes the uploads in flight may announce in all;
	// 0, DefaultUploadBudget.
	Budget int64
	// Stall drops an upload once no byte of it came for this long; 0,
	// DefaultUploadStall.
	Stall time.Duration

	mu   sync.Mutex
	held int64
}

// InFlight is how many bytes the uploads under way announced.
func (u *Uploads) InFlight() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.held
}

// reserve takes n bytes of the budget, if that many are left.
func (u *Uploads) reserve(n int64) bool {
	budget := u.Budget
	if budget <= 0 {
		budget = DefaultUploadBudget
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if n > budget-u.held {
		return false
	}
	u.held += n
	return true
}

// release gives back what reserve took.
func (u *Uploads) release(n int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.held -= n
}

func (u *Uploads) dir() string {
	if u.Dir == "" {
		return os.TempDir()
	}
	return u.Dir
}

func (u *Uploads) stall() time.Duration {
	if u.Stall <= 0 {
		return DefaultUploadStall
	}
	return u.Stall
}

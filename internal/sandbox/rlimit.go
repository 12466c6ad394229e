package sandbox

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultMemory bounds a runner's data: its heap, its threads' stacks and
// the core's own memory. Runners of every core Telecart plays use 130 to
// 240 MB of it (VmData, bsnes the most); a quarter of the bound leaves
// room for a game that needs more, and a crafted state that makes a core
// allocate wildly gets ENOMEM long before the machine runs short.
const DefaultMemory = 1 << 30

// Limits other than memory. The runner needs a dozen descriptors (its
// socket, the Go runtime's poller, a library being loaded) and 7 or 8
// threads.
const (
	maxFiles   = 64
	maxThreads = 64
)

// limit is one resource limit, set as both soft and hard limit, so that
// the process cannot raise it again.
type limit struct {
	resource int
	name     string
	value    uint64
}

// setLimits sets the resource limits of the whole process. NPROC counts
// every process and thread of the user, or, in a user namespace of its
// own, of the user in that namespace only: only there is it a bound on
// the sandbox rather than on the whole service.
func setLimits(memory uint64, ownUserNS bool) Status {
	limits := []limit{
		{unix.RLIMIT_DATA, "data", memory},
		{unix.RLIMIT_FSIZE, "file size", 0},
		{unix.RLIMIT_CORE, "core dumps", 0},
		{unix.RLIMIT_NOFILE, "open files", maxFiles},
		{unix.RLIMIT_MEMLOCK, "locked memory", 0},
		{unix.RLIMIT_MSGQUEUE, "message queues", 0},
	}
	if ownUserNS {
		limits = append(limits, limit{unix.RLIMIT_NPROC, "threads", maxThreads})
	}
	var set, failed []string
	for _, l := range limits {
		if err := lower(l.resource, l.value); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", l.name, err))
			continue
		}
		set = append(set, fmt.Sprintf("%s %s", l.name, size(l.value)))
	}
	s := Status{Layer: Rlimits, On: len(failed) == 0}
	if !s.On {
		s.Detail = "refused: " + strings.Join(failed, "; ") + "; set: "
	}
	s.Detail += strings.Join(set, ", ")
	if !ownUserNS {
		s.Detail += "; threads not limited: RLIMIT_NPROC would count every process of the user, not only the sandbox's"
	}
	return s
}

// lower sets a limit to value, or leaves it lower when it is already.
func lower(resource int, value uint64) error {
	var cur unix.Rlimit
	if err := unix.Getrlimit(resource, &cur); err != nil {
		return err
	}
	value = min(value, cur.Max)
	return unix.Setrlimit(resource, &unix.Rlimit{Cur: value, Max: value})
}

func size(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprint(n)
}

package sandbox

import (
	"os"
	"strings"
	"syscall"
)

// networkEnv tells a process started by Isolate's caller whether it got
// its namespaces: "own", or why not. The child cannot tell by itself: it
// may not look at its parent's namespaces.
const networkEnv = "TELECART_SANDBOX_NETWORK"

// Isolate sets attr so that the process starts in a user namespace and a
// network namespace of its own: its user and group ids mapped to
// themselves (it keeps its files and gains no privilege over anyone
// else's), and no network interface but a loopback that is down. In its
// own user namespace RLIMIT_NPROC counts only its own threads, so Enter
// can bound them.
//
// The kernel, a container or systemd (RestrictNamespaces) may refuse
// the namespaces: the caller then starts the process without them and
// tells it so with NetworkEnv.
func Isolate(attr *syscall.SysProcAttr) {
	attr.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
	// An unprivileged process may map its group only with setgroups
	// denied; the process keeps its supplementary groups either way.
	attr.GidMappingsEnableSetgroups = false
}

// NetworkEnv is the environment variable that tells the process whether
// Isolate's namespaces were had: refused is nil when the process started
// in them, else why it could not.
func NetworkEnv(refused error) string {
	if refused == nil {
		return networkEnv + "=own"
	}
	return networkEnv + "=refused: " + strings.ReplaceAll(refused.Error(), "\n", " ")
}

// networkStatus is the network layer's status, from what the parent said.
func networkStatus(off bool) (s Status, ownUserNS bool) {
	s.Layer = Network
	v, ok := os.LookupEnv(networkEnv)
	switch {
	case off:
		s.Detail = turnedOff
	case v == "own":
		s.On = true
		s.Detail = "a user and a network namespace of its own: no network interface"
		ownUserNS = true
	case strings.HasPrefix(v, "refused: "):
		s.Detail = "no namespaces of its own: " + strings.TrimPrefix(v, "refused: ")
	case !ok:
		s.Detail = "no namespaces of its own: not started by a parent that makes them"
	default:
		s.Detail = "no namespaces of its own: " + v
	}
	return s, ownUserNS
}

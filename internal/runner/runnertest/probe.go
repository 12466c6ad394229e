package runnertest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/telecart/telecart/internal/runner"
)

// probeEnv carries a probe's Targets to the runner, as JSON.
const probeEnv = "TELECART_TEST_SANDBOX_PROBE"

// Targets are what a sandbox probe tries to reach from inside the
// runner's sandbox, as a core taken over by a crafted ROM or save state
// would.
type Targets struct {
	// TCP and UDP are addresses on loopback where the test listens.
	TCP, UDP netip.AddrPort
	// Outside is a file outside what the runner may read.
	Outside string
	// WriteDir is a folder the runner may read (its game's), to create a
	// file in.
	WriteDir string
	// Program is a program to start (/bin/true).
	Program string
	// Parent is a process to signal (with signal 0, which only asks
	// whether it could): the test's own.
	Parent int
}

// The attempts of a probe, by name. The result of each is "ok" or the
// name of the errno that refused it: EPERM from seccomp (and from
// Landlock's scope for a signal), EACCES from Landlock, ENETUNREACH from
// the network namespace (its loopback is down), ENOMEM and EFBIG from the
// rlimits.
const (
	AttemptTCP    = "connect over TCP"
	AttemptUDP    = "send over UDP"
	AttemptRead   = "read a file outside"
	AttemptWrite  = "write a file"
	AttemptExec   = "fork and exec a program"
	AttemptSignal = "signal another process"
	AttemptMemory = "map 2 GiB of memory"
)

// Attempts are every attempt of a probe.
func Attempts() []string {
	return []string{AttemptTCP, AttemptUDP, AttemptRead, AttemptWrite, AttemptExec, AttemptSignal, AttemptMemory}
}

// ProbeOptions starts this test binary as a runner for cfg which, inside
// its sandbox and before it loads the core and the game, tries every
// attempt on targets and logs the results, which a ProbeLog given as the
// Logger collects. Then it plays the game as any runner.
func ProbeOptions(cfg runner.Config, targets Targets) runner.Options {
	data, err := json.Marshal(targets)
	if err != nil {
		panic(err) // a struct of strings and numbers
	}
	opts := Options(cfg)
	opts.Env = append(opts.Env, probeEnv+"="+string(data))
	return opts
}

// probe is the function ProbeOptions' runner calls in its sandbox.
func probe(data string) func(*slog.Logger) {
	return func(log *slog.Logger) {
		var t Targets
		if err := json.Unmarshal([]byte(data), &t); err != nil {
			log.Error("sandbox probe: bad targets", "err", err)
			return
		}
		for _, a := range []struct {
			name string
			try  func() error
		}{
			{AttemptTCP, func() error { return dial(unix.SOCK_STREAM, t.TCP) }},
			{AttemptUDP, func() error { return dial(unix.SOCK_DGRAM, t.UDP) }},
			{AttemptRead, func() error { _, err := os.ReadFile(t.Outside); return err }},
			{AttemptWrite, func() error {
				return os.WriteFile(filepath.Join(t.WriteDir, "written-by-the-runner"), []byte("x"), 0o644)
			}},
			{AttemptExec, func() error {
				// No descriptors for the program, so that nothing
				// is opened (os/exec's /dev/null) before the fork.
				p, err := os.StartProcess(t.Program, []string{t.Program}, &os.ProcAttr{})
				if err != nil {
					return err
				}
				_, err = p.Wait()
				return err
			}},
			{AttemptSignal, func() error { return unix.Kill(t.Parent, 0) }},
			{AttemptMemory, func() error {
				m, err := unix.Mmap(-1, 0, 2<<30, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
				if err == nil {
					return unix.Munmap(m)
				}
				return err
			}},
		} {
			log.Info("sandbox probe", "attempt", a.name, "result", result(a.try()))
		}
	}
}

// dial connects a socket of type typ to addr, and for UDP sends a byte.
func dial(typ int, addr netip.AddrPort) error {
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	if typ == unix.SOCK_DGRAM {
		return unix.Sendto(fd, []byte("x"), 0, sa)
	}
	return unix.Connect(fd, sa)
}

func result(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// ProbeLog is a log handler that collects a probe's results from the
// runner's log, which the runner's parent logs on its behalf, and drops
// every other record.
type ProbeLog struct {
	mu      sync.Mutex
	results map[string]string
}

// Results are the results collected so far, by attempt.
func (p *ProbeLog) Results() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for k, v := range p.results {
		out[k] = v
	}
	return out
}

func (p *ProbeLog) Enabled(context.Context, slog.Level) bool { return true }
func (p *ProbeLog) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *ProbeLog) WithGroup(string) slog.Handler            { return p }

func (p *ProbeLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "sandbox probe" {
		return nil
	}
	var attempt, res string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "attempt":
			attempt = a.Value.String()
		case "result":
			res = a.Value.String()
		}
		return true
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.results == nil {
		p.results = map[string]string{}
	}
	p.results[attempt] = res
	return nil
}

package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/sandbox"
	"github.com/telecart/telecart/internal/waittest"
)

// TestSandbox has a runner try, from inside its sandbox, what a core taken
// over by a crafted ROM or save might: reach the network over TCP and
// UDP, read a file outside what it may read, write a file, fork and exec
// a program, signal another process, take more memory than its bound.
// With every layer each attempt is refused; with no sandbox each one
// works, so the test fails when the sandbox is off; and each layer alone
// refuses what it is for, with its own errno, which shows which layer
// refused what when all are on. The game then plays as usual.
func TestSandbox(t *testing.T) {
	t.Parallel()
	core := fixturetest.Core(t, "nes")
	program, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })

	// What each layer alone refuses, by the errno it refuses with. The
	// layers it needs besides (no_new_privs, without which an
	// unprivileged process can have neither Landlock nor seccomp) have no
	// attempt of their own.
	abi, _ := sandbox.LandlockABI()
	filesystem := map[string]string{runnertest.AttemptRead: "EACCES", runnertest.AttemptWrite: "EACCES", runnertest.AttemptExec: "EACCES"}
	if abi >= 4 {
		filesystem[runnertest.AttemptTCP] = "EACCES"
	}
	if abi >= 6 {
		filesystem[runnertest.AttemptSignal] = "EPERM"
	}
	tests := []struct {
		name   string
		layers sandbox.Layers
		// refused are the attempts refused, and how; every other works.
		refused map[string]string
	}{
		{"no sandbox", 0, nil},
		{"network", sandbox.Network, map[string]string{runnertest.AttemptTCP: "ENETUNREACH", runnertest.AttemptUDP: "ENETUNREACH"}},
		{"filesystem", sandbox.Filesystem | sandbox.NoNewPrivs, filesystem},
		{"rlimits", sandbox.Rlimits, map[string]string{runnertest.AttemptWrite: "EFBIG", runnertest.AttemptMemory: "ENOMEM"}},
		{"seccomp", sandbox.Seccomp | sandbox.NoNewPrivs, map[string]string{
			runnertest.AttemptTCP: "EPERM", runnertest.AttemptUDP: "EPERM", runnertest.AttemptExec: "EPERM", runnertest.AttemptSignal: "EPERM",
		}},
		// Every attempt refused, by the first layer in its way: seccomp
		// refuses the sockets, the process and the signal before the
		// others see them, Landlock the files, the rlimit the memory.
		{"all", sandbox.All, map[string]string{
			runnertest.AttemptTCP: "EPERM", runnertest.AttemptUDP: "EPERM", runnertest.AttemptRead: "EACCES",
			runnertest.AttemptWrite: "EACCES", runnertest.AttemptExec: "EPERM", runnertest.AttemptSignal: "EPERM",
			runnertest.AttemptMemory: "ENOMEM",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if missing, why := unavailable(t); tt.layers&missing != 0 {
				t.Skip(why)
			}
			game := fixturetest.TestROM(t)
			outside := fixturetest.File(t, "secret", []byte("the worker's token"))
			targets := runnertest.Targets{
				TCP:      netip.MustParseAddrPort(tcp.Addr().String()),
				UDP:      netip.MustParseAddrPort(udp.LocalAddr().String()),
				Outside:  outside,
				WriteDir: filepath.Dir(game),
				Program:  program,
				Parent:   os.Getpid(),
			}
			probe := &runnertest.ProbeLog{}
			opts := runnertest.ProbeOptions(runner.Config{Core: core, Game: game, Unsandboxed: sandbox.All &^ tt.layers}, targets)
			opts.Logger = slog.New(probe)
			s, err := start(t, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range s.Ready().Sandbox {
				layer, err := sandbox.ParseLayers(l.Layer)
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.layers&layer != 0; l.On != want {
					t.Errorf("layer %s on: %v, want %v (%s)", l.Layer, l.On, want, l.Detail)
				}
			}
			var got map[string]string
			waittest.Eventually(t, "every attempt's result", func() error {
				got = probe.Results()
				if missing := len(runnertest.Attempts()) - len(got); missing > 0 {
					return fmt.Errorf("%d attempts not reported; got %v", missing, got)
				}
				return nil
			})
			for _, attempt := range runnertest.Attempts() {
				want := "ok"
				if r, ok := tt.refused[attempt]; ok {
					want = r
				}
				if got[attempt] != want {
					t.Errorf("%s: %s, want %s", attempt, got[attempt], want)
				}
			}
			t.Logf("%s: %v", tt.layers, summary(got))
			if tt.layers == sandbox.All && len(tt.refused) != len(runnertest.Attempts()) {
				t.Errorf("the whole sandbox lets through %v", slices.Collect(maps.Keys(tt.refused)))
			}
			// The probe did not spoil the game.
			for range 30 {
				s.nextVideo(t)
			}
			if _, err := s.SaveState(context.Background()); err != nil {
				t.Errorf("save state after the probe: %v", err)
			}
		})
	}
}

func summary(results map[string]string) string {
	var parts []string
	for _, a := range runnertest.Attempts() {
		parts = append(parts, a+": "+results[a])
	}
	return strings.Join(parts, ", ")
}

// unavailable are the layers this machine cannot give, and why: the
// kernel's lack of Landlock, or user namespaces refused to this process.
// Every other layer must be on wherever the tests run.
func unavailable(t *testing.T) (sandbox.Layers, string) {
	t.Helper()
	var missing sandbox.Layers
	var why []string
	if _, err := sandbox.LandlockABI(); err != nil {
		missing |= sandbox.Filesystem
		why = append(why, fmt.Sprintf("this kernel has no Landlock: %v", err))
	}
	program, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(program)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	sandbox.Isolate(cmd.SysProcAttr)
	if err := cmd.Run(); err != nil {
		missing |= sandbox.Network
		why = append(why, fmt.Sprintf("no user namespaces here: %v", err))
	}
	return missing, strings.Join(why, "; ")
}

// TestCoresInSandbox plays every system's Debian core in a runner in the
// whole sandbox: it loads, draws frames, saves, loads and resets, and
// plays on. Every layer is on, but those the machine cannot give.
func TestCoresInSandbox(t *testing.T) {
	t.Parallel()
	for _, system := range cores.Systems() {
		t.Run(system.ID, func(t *testing.T) {
			t.Parallel()
			core := fixturetest.Core(t, system.ID)
			missing, why := unavailable(t)
			s := mustStart(t, runner.Config{Core: core, Game: fixturetest.Game(t, system.ID)})
			for _, l := range s.Ready().Sandbox {
				layer, err := sandbox.ParseLayers(l.Layer)
				if err != nil {
					t.Fatal(err)
				}
				if want := layer&missing == 0; l.On != want {
					t.Errorf("layer %s on: %v, want %v: %s (%s)", l.Layer, l.On, want, l.Detail, why)
				}
			}
			for range 60 {
				s.nextVideo(t)
			}
			ctx := context.Background()
			state, err := s.SaveState(ctx)
			if err != nil {
				t.Fatalf("save state: %v", err)
			}
			if err := s.LoadState(ctx, state); err != nil {
				t.Fatalf("load state: %v", err)
			}
			if err := s.Reset(ctx); err != nil {
				t.Fatalf("reset: %v", err)
			}
			if _, err := s.SRAM(ctx); err != nil {
				t.Fatalf("SRAM: %v", err)
			}
			if _, err := s.Thumbnail(ctx); err != nil {
				t.Fatalf("thumbnail: %v", err)
			}
			for range 60 {
				s.nextVideo(t)
			}
			t.Logf("%s: %dx%d at %.2f fps, a state of %d bytes, in the sandbox: %s", s.Ready().Core, s.Ready().Width, s.Ready().Height, s.Ready().FPS, len(state), missing^sandbox.All)
		})
	}
}

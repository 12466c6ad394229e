package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/waittest"
)

// The container test builds the image of the repository's Containerfile
// and plays a game in Chromium through a coordinator container and a
// worker container. scripts/test runs it by itself, after the other
// browser tests: a cold build takes minutes.

// envContainerRequire turns the container test's skip, where podman
// cannot run containers, into a failure (scripts/test sets it).
const envContainerRequire = "TELECART_CONTAINER_REQUIRE"

// containerImage is the tag the test builds; the layer cache of the
// previous build makes the next one cheap.
const containerImage = "localhost/telecart:e2e"

// podmanGlobal returns the flags every podman command here takes. Debian
// 12's podman defaults to crun, which refuses cgroups in hybrid mode; runc
// runs everywhere, and scripts/setup installs it. Functions rather than
// package variables, as no test may change what another one gets.
func podmanGlobal() []string {
	return []string{"--runtime", "runc", "--cgroup-manager", "cgroupfs"}
}

// podmanLimits returns a container's limits, for podman run and the RUN
// steps of podman build: podman's default of 1048576 open files is over
// the hard limit of some machines (CI's), where runc then fails to start
// anything.
func podmanLimits() []string {
	return []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"}
}

// podmanCommand is podman with its global flags, in the network namespace
// at netns when that is not empty (through nsenter).
func podmanCommand(netns string, args ...string) *exec.Cmd {
	args = append(podmanGlobal(), args...)
	if netns == "" {
		return dying(exec.Command("podman", args...))
	}
	return dying(exec.Command("nsenter", append([]string{"--net=" + netns, "podman"}, args...)...))
}

// dying makes cmd die with the test process: a build cut short by go
// test's timeout must not run on unwatched. Every command here is waited
// for where it is started.
func dying(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// podman runs a podman command here, in the test's namespace, and returns
// its standard output, failing the test when it fails.
func podman(t testing.TB, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := podmanCommand("", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// requirePodman skips the test, or fails it with TELECART_CONTAINER_REQUIRE=1,
// where podman is missing or cannot run a container.
func requirePodman(t testing.TB) {
	t.Helper()
	reason := ""
	if _, err := exec.LookPath("podman"); err != nil {
		reason = "no podman: " + err.Error()
	} else if _, err := exec.LookPath("nsenter"); err != nil {
		reason = "no nsenter: " + err.Error()
	} else if os.Geteuid() != 0 {
		// Rootless podman cannot run containers in the test's network
		// namespace, which root made.
		reason = "podman runs containers in the test's network namespace only as root"
	} else if out, err := podmanCommand("", "info").CombinedOutput(); err != nil {
		reason = fmt.Sprintf("podman does not work here: %v\n%s", err, out)
	}
	if reason == "" {
		return
	}
	if os.Getenv(envContainerRequire) == "1" {
		t.Fatalf("%s=1, but: %s", envContainerRequire, reason)
	}
	t.Skip("skipping: " + reason)
}

// buildImage builds the base images (scripts/container-base) and the
// image of the Containerfile, in the network namespace outside the test's,
// where Debian's mirror and the Go module proxy are.
func buildImage(t testing.TB, outside string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	base := dying(exec.Command("nsenter", "--net="+outside, filepath.Join(root, "scripts/container-base")))
	base.Env = append(os.Environ(), "PODMAN=podman "+strings.Join(podmanGlobal(), " "))
	runBuild(t, "base images", base)
	podmanBuild(t, outside, containerImage, filepath.Join(root, "Containerfile"), root)
}

// podmanBuild builds the image tag of containerfile in the folder context,
// in the network namespace outside. The build shares this machine's Go
// caches (podman build -v): the modules are there already, and packages
// scripts/setup compiled with -trimpath, as the Containerfiles do, are
// not compiled again. The Containerfiles build all the same without them.
func podmanBuild(t testing.TB, outside, tag, containerfile, context string) {
	t.Helper()
	args := append([]string{"build", "--format", "docker", "--network", "host"}, podmanLimits()...)
	for _, c := range []struct{ env, dir string }{{"GOMODCACHE", "/go/pkg/mod"}, {"GOCACHE", "/root/.cache/go-build"}} {
		if out, err := exec.Command("go", "env", c.env).Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
			dir := string(bytes.TrimSpace(out))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			args = append(args, "-v", dir+":"+c.dir)
		}
	}
	if out, err := exec.Command("go", "env", "GOPROXY").Output(); err == nil {
		args = append(args, "--build-arg", "GOPROXY="+string(bytes.TrimSpace(out)))
	}
	args = append(args, "-t", tag, "-f", containerfile, context)
	runBuild(t, "image "+tag, podmanCommand(outside, args...))
}

// runBuild runs a step of a build, failing the test with its output if
// it fails, and logs how long it took.
func runBuild(t testing.TB, what string, cmd *exec.Cmd) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out.String())
	}
	t.Logf("%s: %v", what, time.Since(start).Round(time.Second))
}

// startContainer runs image as a container in the test's network
// namespace (--network host: the namespace podman runs in), with the
// podman run options opts and the arguments args. It is removed
// with its anonymous volumes when the test ends, its log shown if the
// test failed.
func startContainer(t testing.TB, image, name string, env map[string]string, opts []string, args ...string) {
	t.Helper()
	run := append([]string{"run", "--detach", "--name", name, "--network", "host"}, podmanLimits()...)
	for k, v := range env {
		run = append(run, "--env", k+"="+v)
	}
	run = append(append(run, opts...), image)
	podman(t, append(run, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := podmanCommand("", "logs", name).CombinedOutput()
			t.Logf("container %s's log:\n%s", name, out)
		}
		if out, err := podmanCommand("", "rm", "--force", "--volumes", "--time", "0", name).CombinedOutput(); err != nil {
			t.Errorf("removing container %s: %v\n%s", name, err, out)
		}
	})
}

// healthy waits until the container's HEALTHCHECK passes.
func healthy(t *testing.T, name string) {
	t.Helper()
	waittest.Eventually(t, name+" healthy", func() error {
		out, err := podmanCommand("", "healthcheck", "run", name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}

// freePort returns a port nothing listens on now, of network (tcp or udp),
// in the test's own network namespace, where nothing else picks ports.
func freePort(t *testing.T, network string) int {
	t.Helper()
	var addr net.Addr
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = c.LocalAddr()
		c.Close()
	} else {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr()
		l.Close()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	n, _ := strconv.Atoi(port)
	return n
}

// TestContainer builds the image and plays in Chromium through a
// coordinator container and a worker container, configured as operators
// configure them: by TELECART_* variables, with the image's defaults for
// the rest (the coordinator on 0.0.0.0:8000, saves in the /saves volume).
func TestContainer(t *testing.T) {
	skipShort(t)
	requirePodman(t)
	b := browsertest.Start(t) // skips where the namespace cannot be made
	outside, err := browsertest.OutsideNetNS()
	if err != nil {
		t.Fatal(err)
	}
	buildImage(t, outside)

	suffix := strconv.Itoa(os.Getpid())
	coordinator, worker := "telecart-e2e-coordinator-"+suffix, "telecart-e2e-worker-"+suffix
	const base = "http://127.0.0.1:8000"
	startContainer(t, containerImage, coordinator, map[string]string{"TELECART_WORKER_SECRET": clusterSecret, "TELECART_OVERLOAD": "1"}, nil, "coordinator")
	ping := "127.0.0.1:" + strconv.Itoa(freePort(t, "tcp"))
	startContainer(t, containerImage, worker, map[string]string{
		"TELECART_COORDINATOR":  "ws://127.0.0.1:8000/worker",
		"TELECART_WORKER_TOKEN": credential(t, clusterSecret, "container-worker"),
		"TELECART_ZONE":         "a",
		"TELECART_PING_LISTEN":  ping,
		"TELECART_UDP_PORT":     strconv.Itoa(freePort(t, "udp")),
		"TELECART_ICE_LOOPBACK": "true",
	}, []string{"--health-cmd", `["telecart", "probe", "http://` + ping + `/readyz"]`}, "worker")
	// The coordinator's check is the image's own: ready once the worker
	// can take a game. The worker's is its ping address.
	healthy(t, coordinator)
	healthy(t, worker)
	waitWorkers(t, base, 1)

	playTestROM(t, b, base)
	// The game runs in the worker container: its runner is a process of
	// the container, as the image's user.
	top := podman(t, "top", worker, "user", "args")
	runner := false
	for _, line := range strings.Split(top, "\n")[1:] {
		f := strings.Fields(line)
		runner = runner || strings.Contains(line, "telecart runner")
		if len(f) == 0 || f[0] != "telecart" {
			t.Errorf("a process of the worker container not as the image's user: %q", line)
		}
	}
	if !runner {
		t.Errorf("no runner in the worker container while playing:\n%s", top)
	}
	// In every layer of its sandbox, as the image's user.
	logs, err := podmanCommand("", "logs", worker).CombinedOutput()
	if err != nil {
		t.Fatalf("podman logs: %v\n%s", err, logs)
	}
	sandboxed(t, string(logs))
}

// BenchmarkContainerStart measures a container's start: from `podman run`
// of the image (telecart serve, a coordinator and its worker) to its
// /readyz answering 200, which it does once the worker has joined.
//
//	go test -run '^$' -bench ContainerStart -benchtime 5x ./internal/e2e
func BenchmarkContainerStart(b *testing.B) {
	skipShort(b)
	requirePodman(b)
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		b.Skip("no Chromium: the namespace this runs in is the browser tests'")
	}
	outside, err := browsertest.OutsideNetNS()
	if err != nil {
		b.Skip("skipping: " + err.Error())
	}
	buildImage(b, outside)
	name := "telecart-bench-" + strconv.Itoa(os.Getpid())
	b.Cleanup(func() {
		// Gone already unless the benchmark stopped half-way.
		_ = podmanCommand("", "rm", "--force", "--ignore", "--volumes", "--time", "0", name).Run()
	})
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		podman(b, append(append([]string{"run", "--detach", "--name", name, "--network", "host"}, podmanLimits()...), containerImage)...)
		err := waittest.Poll(waittest.Limit, func() error { return ready("http://127.0.0.1:8000") })
		b.StopTimer()
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		podman(b, "rm", "--force", "--volumes", "--time", "0", name)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/ready")
}

// ready says whether the coordinator at base is ready (/readyz): some
// worker can take a new game.
func ready(base string) error {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s", resp.Status)
	}
	return nil
}

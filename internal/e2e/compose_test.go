package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/check"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/waittest"
)

// The compose test brings deploy/compose.yaml up as an operator does, with
// its one command, and plays through it. Debian 12's podman-compose (1.0.3)
// cannot run services with network_mode: host (it adds --net all the
// same), so the compose tool is Debian's docker-compose (1.29), talking to
// podman's Docker-compatible API: what `podman compose` does on a newer
// podman, which hands compose files to such a provider.

// The images of the compose test: its own tags, never the ones an
// operator's `up --build` makes (compose.yaml's defaults).
const (
	composeS3Image   = "localhost/telecart-versitygw:e2e"
	composeTURNImage = "localhost/telecart-coturn:e2e"
)

// composePublicIP is the address the stack announces, as a machine's
// public one: coturn relays to no loopback peer, so 127.0.0.1 would not do.
const composePublicIP = "10.77.40.1"

// composeLink is the link that carries composePublicIP in the test's
// namespace: a veth pair, whose ends are both here (no dummy device
// needed, which some kernels lack).
const composeLink = "tcpub0"

// requireCompose skips the test, or fails it with TELECART_CONTAINER_REQUIRE=1,
// where docker-compose is missing.
func requireCompose(t testing.TB) {
	t.Helper()
	_, err := exec.LookPath("docker-compose")
	if err == nil {
		return
	}
	if os.Getenv(envContainerRequire) == "1" {
		t.Fatalf("%s=1, but no docker-compose: %v", envContainerRequire, err)
	}
	t.Skip("skipping: no docker-compose: " + err.Error())
}

// TestCompose builds the images of deploy/compose.yaml, brings the stack
// up with `docker-compose up` against podman's API, in the test's network
// namespace, and wants from it what a player needs: `telecart check`'s
// every step passing, the connections through coturn over UDP and TCP to
// both workers among them (TURN REST credentials, coturn's peer
// permissions, the workers' one UDP port and announced address), and a
// game played in Chromium.
func TestCompose(t *testing.T) {
	skipShort(t)
	requirePodman(t)
	requireCompose(t)
	b := browsertest.Start(t)
	outside, err := browsertest.OutsideNetNS()
	if err != nil {
		t.Fatal(err)
	}
	deploy, err := filepath.Abs("../../deploy")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	buildImage(t, outside)
	podmanBuild(t, outside, composeS3Image, filepath.Join(deploy, "versitygw/Containerfile"), filepath.Join(deploy, "versitygw"))
	podmanBuild(t, outside, composeTURNImage, filepath.Join(deploy, "coturn/Containerfile"), filepath.Join(deploy, "coturn"))
	t.Logf("images built: %v", time.Since(start).Round(time.Second))

	// After browsertest.Start, which wants nothing but loopback here.
	publicLink(t)
	sock := podmanService(t)
	project := "telecart-e2e-" + strconv.Itoa(os.Getpid())
	// compose.yaml's variables, from the environment rather than a .env
	// in the repository's deploy/ (which they override, if there is one).
	env := []string{
		"DOCKER_HOST=unix://" + sock,
		"IMAGE=" + containerImage,
		"S3_IMAGE=" + composeS3Image,
		"TURN_IMAGE=" + composeTURNImage,
		"PUBLIC_IP=" + composePublicIP,
		"TELECART_WORKER_SECRET=" + clusterSecret,
		"WORKER_A_TOKEN=" + credential(t, clusterSecret, "worker-a"),
		"WORKER_B_TOKEN=" + credential(t, clusterSecret, "worker-b"),
		"S3_ACCESS_KEY=telecart-e2e",
		"S3_SECRET_KEY=telecart-e2e-s3-secret",
		"S3_BUCKET=telecart-saves",
		"TURN_SECRET=" + turnSecret,
		"GAMES_DIR=" + t.TempDir(),
	}
	compose := func(args ...string) *exec.Cmd {
		cmd := dying(exec.Command("docker-compose", append([]string{"-f", filepath.Join(deploy, "compose.yaml"), "-p", project}, args...)...))
		cmd.Env = append(os.Environ(), env...)
		return cmd
	}
	t.Cleanup(func() { composeDown(t, project, compose) })
	up := time.Now()
	if out, err := compose("up", "-d", "--no-build").CombinedOutput(); err != nil {
		t.Fatalf("docker-compose up: %v\n%s", err, out)
	}

	base := "http://" + composePublicIP + ":8000"
	waittest.Eventually(t, "the coordinator ready", func() error { return ready(base) })
	waitWorkers(t, base, 2)
	t.Logf("stack up: %v", time.Since(up).Round(100*time.Millisecond))

	// The check as `telecart check` runs it from another machine: no
	// loopback candidates, so every connection goes to the announced
	// address.
	var results []check.Result
	ok := check.Run(t.Context(), check.Config{Coordinator: base}, func(r check.Result) {
		results = append(results, r)
		if !r.OK {
			t.Errorf("check: step %s %s %s %s failed: %s (%v)", r.Step, r.Worker, r.Mode, r.Server, r.Words, r.Err)
		}
	})
	if !ok {
		t.Errorf("check: not every step passed")
	}
	for _, worker := range []string{"worker-a", "worker-b"} {
		for _, mode := range []check.Mode{check.ModeDirect, check.ModeRelayUDP, check.ModeRelayTCP} {
			found := false
			for _, r := range results {
				found = found || (r.Step == check.StepConnection && r.Worker == worker && r.Mode == mode && r.OK)
			}
			if !found {
				t.Errorf("check: no working %s connection to %s", mode, worker)
			}
		}
	}
	if t.Failed() {
		return
	}

	playTestROM(t, b, base)
	t.Logf("test: %v", time.Since(start).Round(time.Second))
}

// publicLink gives the test's namespace composePublicIP, on a link that
// is gone when the test ends.
func publicLink(t *testing.T) {
	t.Helper()
	link := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: composeLink}, PeerName: composeLink + "p"}
	if err := netlink.LinkAdd(link); err != nil {
		t.Fatalf("a link for %s: %v", composePublicIP, err)
	}
	t.Cleanup(func() {
		// Either end takes the other with it.
		if err := netlink.LinkDel(link); err != nil {
			t.Errorf("removing link %s: %v", composeLink, err)
		}
	})
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(composePublicIP), Mask: net.CIDRMask(24, 32)}}
	if err := netlink.AddrAdd(link, addr); err != nil {
		t.Fatalf("address %s on %s: %v", composePublicIP, composeLink, err)
	}
	for _, name := range []string{composeLink, link.PeerName} {
		l, err := netlink.LinkByName(name)
		if err == nil {
			err = netlink.LinkSetUp(l)
		}
		if err != nil {
			t.Fatalf("link %s up: %v", name, err)
		}
	}
}

// podmanService runs podman's Docker-compatible API on a socket of its own
// in the test's network namespace, where the containers it starts with
// network_mode: host then are, and returns the socket's path. Its
// containers.conf has the flags Debian 12's podman needs (see
// podmanGlobal, podmanLimits): compose passes none of them.
func podmanService(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(`[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "podman.sock")
	cmd := exec.Command("podman", "system", "service", "--time=0", "unix://"+sock)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	defer client.CloseIdleConnections()
	fixturetest.StartServer(t, "podman system service", cmd, func() error {
		resp, err := client.Get("http://podman/_ping")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("_ping: %s", resp.Status)
		}
		return nil
	})
	return sock
}

// composeDown takes the stack of project down, its volumes too, and makes
// sure nothing of it is left: whatever `down` left is removed with podman
// itself, and the test fails.
func composeDown(t *testing.T, project string, compose func(...string) *exec.Cmd) {
	t.Helper()
	label := "label=com.docker.compose.project=" + project
	if t.Failed() {
		// From podman: docker-compose 1.29's logs through podman's API
		// come out empty.
		names, _ := podmanCommand("", "ps", "--all", "--format", "{{.Names}}", "--filter", label).Output()
		for _, name := range strings.Fields(string(names)) {
			out, _ := podmanCommand("", "logs", "--tail", "100", name).CombinedOutput()
			t.Logf("container %s's log:\n%s", name, out)
		}
	}
	if out, err := compose("down", "--volumes", "--timeout", "0").CombinedOutput(); err != nil {
		t.Errorf("docker-compose down: %v\n%s", err, out)
	}
	left, err := podmanCommand("", "ps", "--all", "--quiet", "--filter", label).Output()
	if err != nil {
		t.Errorf("podman ps: %v", err)
	}
	if ids := strings.Fields(string(left)); len(ids) > 0 {
		t.Errorf("docker-compose down left containers %v", ids)
		if out, err := podmanCommand("", append([]string{"rm", "--force", "--volumes", "--time", "0"}, ids...)...).CombinedOutput(); err != nil {
			t.Errorf("podman rm: %v\n%s", err, out)
		}
	}
	volumes, err := podmanCommand("", "volume", "ls", "--quiet", "--filter", label).Output()
	if err != nil {
		t.Errorf("podman volume ls: %v", err)
	}
	if names := strings.Fields(string(volumes)); len(names) > 0 {
		t.Errorf("docker-compose down left volumes %v", names)
		if out, err := podmanCommand("", append([]string{"volume", "rm", "--force"}, names...)...).CombinedOutput(); err != nil {
			t.Errorf("podman volume rm: %v\n%s", err, out)
		}
	}
}

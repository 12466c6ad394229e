package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/sandbox"
	"github.com/telecart/telecart/internal/waittest"
)

// systemdImage is the image of TestSystemdUnits: the container image with
// systemd as its init and the units of deploy/systemd installed.
const systemdImage = "localhost/telecart-systemd:e2e"

// TestSystemdUnits runs the coordinator and a worker as the units of
// deploy/systemd run them, sandbox and all (a user of their own, a
// read-only system, a system call filter...), under systemd as the init
// of a container of the image, and plays in Chromium through them: a unit
// whose hardening kept the worker or its runners from working fails here,
// where systemd-analyze (deploy's tests) only reads the files.
func TestSystemdUnits(t *testing.T) {
	skipShort(t)
	requirePodman(t)
	b := browsertest.Start(t)
	outside, err := browsertest.OutsideNetNS()
	if err != nil {
		t.Fatal(err)
	}
	buildImage(t, outside)

	port, ping, udp := freePort(t, "tcp"), freePort(t, "tcp"), freePort(t, "udp")
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	for _, f := range []string{"telecart-coordinator.service", "telecart-worker.service"} {
		data, err := os.ReadFile(filepath.Join("../../deploy/systemd", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The operator's settings files, for this machine's loopback.
	settings := map[string][]string{
		"coordinator.env": {"TELECART_WORKER_SECRET=" + clusterSecret, "TELECART_LISTEN=127.0.0.1:" + strconv.Itoa(port), "TELECART_OVERLOAD=1"},
		// The credential where worker.env's example has it: in the
		// unit's state folder, read at each dial.
		"worker.env": {"TELECART_WORKER_TOKEN_FILE=/var/lib/telecart-worker/worker.token", "TELECART_COORDINATOR=ws://127.0.0.1:" + strconv.Itoa(port) + "/worker",
			"TELECART_PING_LISTEN=127.0.0.1:" + strconv.Itoa(ping), "TELECART_UDP_PORT=" + strconv.Itoa(udp), "TELECART_ICE_LOOPBACK=true"},
	}
	for f, lines := range settings {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// As the unit's comment says: root's, mode 0644, in the state folder
	// under /var/lib/private, which is root's alone.
	if err := os.WriteFile(filepath.Join(dir, "worker.token"), []byte(credential(t, clusterSecret, "systemd-worker")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	containerfile := `FROM ` + containerImage + `
USER root
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd systemd-sysv \
	&& rm -rf /var/lib/apt/lists/* \
	&& mkdir -p /srv/telecart/games /etc/telecart
COPY *.service /etc/systemd/system/
COPY *.env /etc/telecart/
COPY worker.token /var/lib/private/telecart-worker/
RUN chmod 0700 /var/lib/private /var/lib/private/telecart-worker \
	&& chown root:root /var/lib/private/telecart-worker/worker.token && chmod 0644 /var/lib/private/telecart-worker/worker.token
RUN systemctl enable telecart-coordinator telecart-worker
ENTRYPOINT ["/sbin/init"]
CMD []
`
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(containerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	build := podmanCommand(outside, append(append([]string{"build", "--network", "host"}, podmanLimits()...), "-t", systemdImage, dir)...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("podman build of the systemd image: %v\n%s", err, out)
	}

	// systemd as init wants a container of its own kind, and the units'
	// sandboxes (namespaces of their own) want it privileged.
	name := "telecart-e2e-systemd-" + strconv.Itoa(os.Getpid())
	startContainer(t, systemdImage, name, nil, []string{"--systemd=always", "--privileged"})
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := podmanCommand("", "exec", name, "journalctl", "--no-pager", "-n", "200", "-u", "telecart-coordinator", "-u", "telecart-worker").CombinedOutput()
			t.Logf("the units' journal:\n%s", out)
		}
	})
	waittest.Eventually(t, "the coordinator unit ready, with the worker unit's worker", func() error { return ready(base) })
	playTestROM(t, b, base)

	// The runner runs in the worker unit's sandbox, as its dynamic user.
	out, err := podmanCommand("", "exec", name, "systemctl", "show", "--property=MainPID", "--value", "telecart-worker").Output()
	if err != nil {
		t.Fatal(err)
	}
	workerPID := strings.TrimSpace(string(out))
	top := podman(t, "top", name, "pid", "ppid", "user", "args")
	runner := false
	for _, line := range strings.Split(top, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 4 && f[1] == workerPID && strings.Contains(line, "telecart runner") {
			runner = true
			if f[2] == "root" || f[2] == "0" {
				t.Errorf("the runner runs as root: %q", line)
			}
		}
	}
	if !runner {
		t.Errorf("no runner under the worker unit (pid %s) while playing:\n%s", workerPID, top)
	}
	// And in every layer of its own sandbox: the unit lets the worker
	// give them all.
	journal, err := podmanCommand("", "exec", name, "journalctl", "--no-pager", "-u", "telecart-worker").Output()
	if err != nil {
		t.Fatal(err)
	}
	sandboxed(t, string(journal))
}

// sandboxed checks, in a worker's log, that its runner started its game
// in every layer of the sandbox.
func sandboxed(t *testing.T, log string) {
	t.Helper()
	var started []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "game started") {
			started = append(started, line)
			if strings.Contains(line, "sandbox="+sandbox.All.String()) {
				return
			}
		}
	}
	t.Errorf("no game started in the whole sandbox (%s); the runners said:\n%s", sandbox.All, strings.Join(started, "\n"))
}

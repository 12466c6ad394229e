package fixturetest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/waittest"
)

// natsModule is the nats-server the tests run: the version go.mod
// requires, so that the server and the nats.go client the code uses are
// the pair the project chose, and a build needs nothing the module cache
// lacks.
const natsModule = "github.com/nats-io/nats-server/v2"

// natsClusterName is the cluster every test's nodes form.
const natsClusterName = "telecart-test"

// NATS is a set of real nats-server processes on loopback with JetStream,
// started by NATSCluster for one test: a cluster of n nodes routed to each
// other, or one standalone node. Its methods call t.Fatal, so they belong
// to the test's goroutine.
type NATS struct {
	t     testing.TB
	bin   string
	http  *http.Client
	mu    sync.Mutex // guards each node's proc and exited
	nodes []*natsNode
}

// natsNode is one server: its ports and store outlive its process, so
// that a restarted node comes back as the same member of the cluster.
type natsNode struct {
	name    string
	client  string // host:port of its client listener
	cluster string // host:port of its route listener; "" when standalone
	monitor string // host:port of its HTTP monitoring
	config  string // its configuration file
	out     SyncBuffer

	// The running process; proc is nil while the node is down. exited
	// receives Wait's result once, from the goroutine that reaps it.
	proc   *exec.Cmd
	exited chan error
}

// NATSCluster starts n nats-server processes on 127.0.0.1 (n = 1: one
// standalone server), each with its own client, route and monitoring
// ports and its JetStream store in a fresh folder, and returns once the
// cluster has formed: every node healthy, routed to every other, and a
// JetStream meta leader that sees every node current, so that a stream
// with n replicas can be created at once. Every process is stopped by its
// pid when the test ends, and each node's output goes to the test's log
// if the test failed.
//
// scripts/test builds the server into bin/; when it is missing the test
// builds it there from the module go.mod requires, or skips if it cannot
// (unless TELECART_NATS_REQUIRE=1 makes that a failure). With -short it
// skips.
func NATSCluster(t testing.TB, n int) *NATS {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts nats-server")
	}
	if n < 1 {
		t.Fatalf("fixturetest: a NATS cluster of %d nodes", n)
	}
	c := &NATS{t: t, bin: natsServer(t), http: &http.Client{Timeout: 2 * time.Second}}
	for i := range n {
		c.nodes = append(c.nodes, &natsNode{
			name:    "nats-" + strconv.Itoa(i),
			client:  stablePort(t),
			monitor: stablePort(t),
		})
		if n > 1 {
			c.nodes[i].cluster = stablePort(t)
		}
	}
	for _, node := range c.nodes {
		node.config = c.writeConfig(node)
	}
	// Registered after the folders were made, so it runs before they
	// are removed: a server must not write into a store being deleted.
	t.Cleanup(c.stop)
	for _, node := range c.nodes {
		c.start(node)
	}
	c.waitFormed("the NATS cluster forming")
	return c
}

// URLs are every node's client URL, nats://127.0.0.1:port, in node order,
// down nodes included: a client is given them all, as in production.
func (c *NATS) URLs() []string {
	urls := make([]string, len(c.nodes))
	for i := range c.nodes {
		urls[i] = c.URL(i)
	}
	return urls
}

// URL is node i's client URL.
func (c *NATS) URL(i int) string {
	return "nats://" + c.node(i).client
}

// PID is node i's process id, 0 while it is down: a benchmark reads the
// server's CPU time and memory from /proc by it.
func (c *NATS) PID(i int) int {
	c.t.Helper()
	node := c.node(i)
	c.mu.Lock()
	defer c.mu.Unlock()
	if node.proc == nil {
		return 0
	}
	return node.proc.Process.Pid
}

// Kill kills node i with SIGKILL, as a crash would, and returns once its
// process is reaped. Its store stays for Restart. If it led the JetStream
// meta group or a stream's group, the others elect a new leader after
// 4 to 9 s (nats-server's Raft election timeouts, which no setting
// changes): until then a request for that group goes unanswered, so a
// client must retry, with a timeout per request. WaitReady waits for it.
func (c *NATS) Kill(i int) {
	c.t.Helper()
	node := c.node(i)
	c.mu.Lock()
	proc, exited := node.proc, node.exited
	c.mu.Unlock()
	if proc == nil {
		c.t.Fatalf("fixturetest: Kill(%d): %s is not running", i, node.name)
	}
	if err := proc.Process.Kill(); err != nil {
		c.t.Fatalf("fixturetest: killing %s: %v", node.name, err)
	}
	<-exited
	c.mu.Lock()
	node.proc = nil
	c.mu.Unlock()
	fmt.Fprintf(&node.out, "--- fixturetest: killed %s (SIGKILL) ---\n", node.name)
}

// Restart starts node i again, after Kill, with the same ports, name and
// store, and returns once it has rejoined: routed to every running node,
// healthy (its JetStream caught up with the meta leader and its streams
// current), and seen current by the meta leader.
func (c *NATS) Restart(i int) {
	c.t.Helper()
	node := c.node(i)
	c.mu.Lock()
	running := node.proc != nil
	c.mu.Unlock()
	if running {
		c.t.Fatalf("fixturetest: Restart(%d): %s is running; Kill it first", i, node.name)
	}
	fmt.Fprintf(&node.out, "--- fixturetest: restarting %s ---\n", node.name)
	c.start(node)
	c.waitFormed(node.name + " rejoining the NATS cluster")
}

// WaitReady waits until the running nodes are a usable cluster again, as
// NATSCluster and Restart do: each healthy and routed to the others, and
// a JetStream meta leader that sees them all current. After Kill, that is
// once the others have a meta leader among them.
func (c *NATS) WaitReady() {
	c.t.Helper()
	c.waitFormed("the NATS cluster ready")
}

// MetaLeader is the index of the node that leads the JetStream meta group,
// once the running nodes are ready (WaitReady): a test that kills it
// tests the longest failover. With one node, 0.
func (c *NATS) MetaLeader() int {
	c.t.Helper()
	c.waitFormed("the NATS cluster ready")
	if len(c.nodes) == 1 {
		return 0
	}
	for _, node := range c.running() {
		var jsz natsJsz
		if err := c.get(node, "/jsz", &jsz); err != nil {
			c.t.Fatalf("fixturetest: %v", err)
		}
		if jsz.Meta == nil {
			c.t.Fatalf("fixturetest: %s has no JetStream meta group", node.name)
		}
		for i, n := range c.nodes {
			if n.name == jsz.Meta.Leader {
				return i
			}
		}
		c.t.Fatalf("fixturetest: %s sees %q as the meta leader, no node of the cluster", node.name, jsz.Meta.Leader)
	}
	c.t.Fatal("fixturetest: no NATS node is running")
	return -1
}

// running are the nodes whose process runs.
func (c *NATS) running() []*natsNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	var running []*natsNode
	for _, node := range c.nodes {
		if node.proc != nil {
			running = append(running, node)
		}
	}
	return running
}

// node is node i, failing the test for an index out of range.
func (c *NATS) node(i int) *natsNode {
	c.t.Helper()
	if i < 0 || i >= len(c.nodes) {
		c.t.Fatalf("fixturetest: no NATS node %d in a cluster of %d", i, len(c.nodes))
	}
	return c.nodes[i]
}

// writeConfig writes node's configuration file in a fresh folder beside
// its store, and returns its path.
func (c *NATS) writeConfig(node *natsNode) string {
	dir := c.t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "server_name: %q\nlisten: %q\nhttp: %q\n", node.name, node.client, node.monitor)
	// Room for a signalling message of the largest size with its
	// envelope (cluster.MaxPayload), as the coordinators need.
	b.WriteString("max_payload: 2MB\n")
	// Small limits: a test's streams are small, and JetStream otherwise
	// reserves a share of the machine's memory and disk.
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}\n", filepath.Join(dir, "jetstream"))
	if node.cluster != "" {
		fmt.Fprintf(&b, "cluster {\n  name: %q\n  listen: %q\n  routes: [\n", natsClusterName, node.cluster)
		for _, other := range c.nodes {
			if other != node {
				fmt.Fprintf(&b, "    %q\n", "nats-route://"+other.cluster)
			}
		}
		b.WriteString("  ]\n}\n")
	}
	path := filepath.Join(dir, node.name+".conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return path
}

// start starts node's process; waitFormed waits for it to serve.
func (c *NATS) start(node *natsNode) {
	c.t.Helper()
	cmd := exec.Command(c.bin, "-c", node.config)
	cmd.Stdout, cmd.Stderr = &node.out, &node.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("fixturetest: starting %s: %v", node.name, err)
	}
	exited := make(chan error, 1)
	// Owned by the node: it ends when the process does, which Kill and
	// stop both wait for.
	go func() { exited <- cmd.Wait() }()
	c.mu.Lock()
	node.proc, node.exited = cmd, exited
	c.mu.Unlock()
}

// stop stops every running node by its pid (SIGTERM to all, then SIGKILL
// to any that lingers), and logs every node's output if the test failed.
func (c *NATS) stop() {
	type proc struct {
		cmd    *exec.Cmd
		exited chan error
	}
	var procs []proc
	c.mu.Lock()
	for _, node := range c.nodes {
		if node.proc != nil {
			procs = append(procs, proc{node.proc, node.exited})
			node.proc = nil
		}
	}
	c.mu.Unlock()
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(waittest.Limit)
	for _, p := range procs {
		select {
		case <-p.exited:
		case <-deadline:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	c.http.CloseIdleConnections()
	if c.t.Failed() {
		for _, node := range c.nodes {
			c.t.Logf("%s's output:\n%s", node.name, node.out.String())
		}
	}
}

// waitFormed waits until every running node is healthy and routed to
// every other running one, and the JetStream meta leader sees each of them
// current. It fails the test if a node's process exits meanwhile.
func (c *NATS) waitFormed(what string) {
	c.t.Helper()
	running := c.running()
	var exited *natsNode
	var exitErr error
	waittest.Eventually(c.t, what, func() error {
		for _, node := range running {
			select {
			case exitErr = <-node.exited:
				exited = node // it will never serve
				return nil
			default:
			}
		}
		return c.formed(running)
	})
	if exited != nil {
		c.mu.Lock()
		exited.proc = nil
		c.mu.Unlock()
		c.t.Fatalf("fixturetest: %s exited: %v\n%s", exited.name, exitErr, exited.out.String())
	}
}

// formed says why the running nodes are not yet a usable cluster, or nil.
func (c *NATS) formed(running []*natsNode) error {
	leader := ""
	for _, node := range running {
		// /healthz with no options checks the most: the server takes
		// connections, JetStream is on, and (clustered) it has a meta
		// leader and its streams and consumers are current.
		if err := c.get(node, "/healthz", nil); err != nil {
			return err
		}
		if node.cluster == "" {
			continue
		}
		var routes natsRoutez
		if err := c.get(node, "/routez", &routes); err != nil {
			return err
		}
		routed := map[string]bool{}
		for _, r := range routes.Routes {
			routed[r.RemoteName] = true
		}
		for _, other := range running {
			if other != node && !routed[other.name] {
				return fmt.Errorf("%s: no route to %s yet", node.name, other.name)
			}
		}
		var jsz natsJsz
		if err := c.get(node, "/jsz", &jsz); err != nil {
			return err
		}
		if jsz.Meta == nil || jsz.Meta.Leader == "" {
			return fmt.Errorf("%s: no JetStream meta leader yet", node.name)
		}
		if leader != "" && jsz.Meta.Leader != leader {
			return fmt.Errorf("%s sees %s as the JetStream meta leader, another node %s", node.name, jsz.Meta.Leader, leader)
		}
		leader = jsz.Meta.Leader
	}
	if leader == "" {
		return nil // standalone
	}
	// The leader places a stream's replicas on the peers it knows
	// current: until it sees them all, a stream with n replicas fails.
	for _, node := range running {
		if node.name != leader {
			continue
		}
		var jsz natsJsz
		if err := c.get(node, "/jsz", &jsz); err != nil {
			return err
		}
		if jsz.Meta == nil {
			return fmt.Errorf("%s: no JetStream meta group", node.name)
		}
		current := map[string]bool{}
		for _, p := range jsz.Meta.Replicas {
			current[p.Name] = p.Current && !p.Offline
		}
		for _, other := range running {
			if other != node && !current[other.name] {
				return fmt.Errorf("the JetStream meta leader %s does not see %s current yet", leader, other.name)
			}
		}
		return nil
	}
	return fmt.Errorf("the JetStream meta leader %s is not a running node", leader)
}

// get GETs path from node's monitoring port and decodes the JSON answer
// into v, unless v is nil; an answer other than 200 is an error.
func (c *NATS) get(node *natsNode, path string, v any) error {
	resp, err := c.http.Get("http://" + node.monitor + path)
	if err != nil {
		return fmt.Errorf("%s: %w", node.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: GET %s: %w", node.name, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: GET %s: %s: %s", node.name, path, resp.Status, body)
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: GET %s: %w", node.name, path, err)
	}
	return nil
}

// stablePort returns a 127.0.0.1 address with a port nothing listens on,
// from below the kernel's ephemeral range: a node restarted after Kill
// binds its ports again, and meanwhile a port from the ephemeral range may
// be taken by any outgoing connection on the machine, or by another
// test's freeLoopbackPort.
func stablePort(t testing.TB) string {
	t.Helper()
	const low = 10000
	high := 32768 // Linux's default start of the ephemeral range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if p, err := strconv.Atoi(f[0]); err == nil {
				high = p
			}
		}
	}
	if high-low < 1000 {
		return freeLoopbackPort(t) // an unusual range: take the kernel's pick
	}
	var err error
	for range 100 {
		addr := "127.0.0.1:" + strconv.Itoa(low+rand.IntN(high-low))
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatalf("fixturetest: no free port on loopback below %d: %v", high, err)
	return ""
}

// natsRoutez is what waitFormed reads of the monitoring's /routez.
type natsRoutez struct {
	Routes []struct {
		RemoteName string `json:"remote_name"`
	} `json:"routes"`
}

// natsJsz is what waitFormed reads of the monitoring's /jsz.
type natsJsz struct {
	Meta *struct {
		Leader   string `json:"leader"`
		Replicas []struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
		} `json:"replicas"`
	} `json:"meta_cluster"`
}

// natsServer is the path of bin/nats-server, built there from the module
// go.mod requires when it is missing (scripts/test builds it first). A
// build that cannot be done skips the test, unless TELECART_NATS_REQUIRE=1
// makes it a failure.
func natsServer(t testing.TB) string {
	t.Helper()
	root := repoRoot(t)
	bin := filepath.Join(root, "bin", "nats-server")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := buildNATSServer(root, bin); err != nil {
		msg := fmt.Sprintf("fixturetest: no bin/nats-server, and building it failed (scripts/test builds it: go build -o bin/nats-server %s): %v", natsModule, err)
		if os.Getenv("TELECART_NATS_REQUIRE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// buildNATSServer builds nats-server into bin within the repository's
// module, so at the version its go.mod requires. It builds to a
// temporary name and renames: test processes of other packages may build
// it at the same time, and one may already run it.
func buildNATSServer(root, bin string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("no go command: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(bin), ".nats-server-*")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", tmp.Name(), natsModule)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return fmt.Errorf("installing bin/nats-server: %w", err)
	}
	return nil
}

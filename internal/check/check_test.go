package check_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/check"
	"github.com/telecart/telecart/internal/cli"
	"github.com/telecart/telecart/internal/coordinator"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/turntest"
	"github.com/telecart/telecart/internal/waittest"
	workerpkg "github.com/telecart/telecart/internal/worker"
	"github.com/telecart/telecart/internal/workerauth"
)

// The tests run in a network namespace with only loopback (RunInNetNS),
// so a firewall rule a test adds there blocks nothing of the machine's;
// their workers are `telecart worker` processes, this binary run again.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(browsertest.RunInNetNS(m))
}

// secret is the test coordinators' worker secret.
const secret = "check-test-worker-secret"

// startCoordinator serves a coordinator on loopback, as options change
// its config, and returns its base URL. Its workers are dropped only after
// a minute of silence: a test stops one to see it not answer.
func startCoordinator(t *testing.T, options ...func(*coordinator.Config)) string {
	t.Helper()
	cfg := coordinator.Config{Secrets: []string{secret}, Logger: slog.New(slog.DiscardHandler),
		Overload: 1, WorkerTimeout: 3 * waittest.Limit, RejoinWindow: coordinator.NoRejoinWindow}
	for _, o := range options {
		o(&cfg)
	}
	coord, err := coordinator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(coord.Handler())
	ctx, stop := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()
	t.Cleanup(func() {
		stop()
		srv.Close()
		coord.Close()
	})
	return srv.URL
}

// worker is a `telecart worker` process.
type worker struct {
	id      string
	udpPort int
	cmd     *exec.Cmd
}

// startWorker runs a worker on the coordinator at base, with its ping on
// loopback and every peer on one UDP port, and waits until it has
// registered; it is killed by its PID when the test ends.
func startWorker(t *testing.T, base, id string) *worker {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts worker processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{id: id, udpPort: fixturetest.FreeUDPPort(t)}
	cred, err := workerauth.Credential(secret, signal.WorkerID(id))
	if err != nil {
		t.Fatal(err)
	}
	w.cmd = exec.Command(exe, "worker", "-coordinator", "ws"+strings.TrimPrefix(base, "http")+"/worker",
		"-id", id, "-ice-loopback", "-games", "", "-saves", t.TempDir(), "-ping-listen", "127.0.0.1:0",
		"-udp-port", strconv.Itoa(w.udpPort))
	// No flag: the credential is a secret, and a command line shows in ps.
	w.cmd.Env = append(os.Environ(), "TELECART_WORKER_TOKEN="+cred)
	var log fixturetest.SyncBuffer
	w.cmd.Stdout, w.cmd.Stderr = &log, &log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- w.cmd.Wait() }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("worker %s's log:\n%s", id, log.String())
		}
	})
	waittest.Eventually(t, "worker "+id+" registered", func() error {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("worker %s exited: %v\n%s", id, err, log.String())
		default:
		}
		for _, w := range gobrowsertest.Hello(t, base).Workers {
			if string(w.ID) == id {
				return nil
			}
		}
		return fmt.Errorf("not among the workers")
	})
	return w
}

// run runs the check against base, each step waiting up to timeout.
func run(t *testing.T, base string, timeout time.Duration) (bool, []check.Result) {
	t.Helper()
	var results []check.Result
	ok := check.Run(context.Background(), check.Config{Coordinator: base, Loopback: true, Timeout: timeout}, func(r check.Result) {
		results = append(results, r)
	})
	for _, r := range results {
		t.Logf("%v %s %s %s %s: %s (%v)", r.OK, r.Step, r.Worker, r.Mode, r.Server, r.Words, r.Err)
	}
	return ok, results
}

// expect is one result a check must give.
type expect struct {
	step   check.Step
	worker string
	mode   check.Mode
	server string
	ok     bool
	words  string // the words, when they matter
}

// want fails the test unless results are exactly these, in this order.
func want(t *testing.T, results []check.Result, expects ...expect) {
	t.Helper()
	if len(results) != len(expects) {
		t.Fatalf("%d results, want %d", len(results), len(expects))
	}
	for i, e := range expects {
		r := results[i]
		if r.Step != e.step || r.Worker != e.worker || r.Mode != e.mode || r.Server != e.server || r.OK != e.ok || (e.words != "" && r.Words != e.words) {
			t.Errorf("result %d: %+v\nwant %+v", i, r, e)
		}
	}
}

// TestHealthy: a coordinator and two workers on loopback: every step
// passes, in order, and `telecart check` says ok on every line and exits 0.
func TestHealthy(t *testing.T) {
	t.Parallel()
	base := startCoordinator(t)
	startWorker(t, base, "eu-1")
	startWorker(t, base, "eu-2")
	ok, results := run(t, base, check.DefaultTimeout)
	if !ok {
		t.Error("Run says a step failed")
	}
	want(t, results,
		expect{step: check.StepCoordinator, ok: true, words: "The coordinator answers at " + base + "."},
		expect{step: check.StepWebSocket, ok: true},
		expect{step: check.StepWorkers, ok: true, words: "2 workers registered: eu-1, eu-2."},
		expect{step: check.StepPing, worker: "eu-1", ok: true},
		expect{step: check.StepPing, worker: "eu-2", ok: true},
		expect{step: check.StepCandidates, ok: true},
		expect{step: check.StepConnection, worker: "eu-1", mode: check.ModeDirect, ok: true, words: "A direct connection to worker eu-1 works."},
		expect{step: check.StepConnection, worker: "eu-2", mode: check.ModeDirect, ok: true},
	)

	var stdout, stderr fixturetest.SyncBuffer
	if code := cli.Run(context.Background(), []string{"check", "-coordinator", base}, &stdout, &stderr); code != 0 {
		t.Errorf("telecart check exited %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "ok  ") {
			t.Errorf("telecart check printed %q", l)
		}
	}
	if len(lines) != len(results) {
		t.Errorf("telecart check printed %d lines, want one per step (%d):\n%s", len(lines), len(results), stdout.String())
	}
}

// TestNoCoordinator: nothing answers: the first step fails, naming the
// port, no other runs, and telecart check exits 1.
func TestNoCoordinator(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ok, results := run(t, base, check.DefaultTimeout)
	if ok {
		t.Error("Run says every step passed")
	}
	want(t, results, expect{step: check.StepCoordinator,
		words: "The coordinator does not answer at " + base + ": is it running, and is TCP port " + port + " open?"})

	var stdout, stderr fixturetest.SyncBuffer
	if code := cli.Run(context.Background(), []string{"check", "-coordinator", base}, &stdout, &stderr); code != 1 {
		t.Errorf("telecart check exited %d, want 1", code)
	}
	if got := stdout.String(); !strings.HasPrefix(got, "FAIL  The coordinator does not answer at "+base) {
		t.Errorf("telecart check printed %q", got)
	}
}

// TestNoWorker: a coordinator with no worker says how to start one.
func TestNoWorker(t *testing.T) {
	t.Parallel()
	base := startCoordinator(t)
	_, results := run(t, base, check.DefaultTimeout)
	want(t, results,
		expect{step: check.StepCoordinator, ok: true},
		expect{step: check.StepWebSocket, ok: true},
		expect{step: check.StepWorkers, words: "No worker is registered: start a worker with -coordinator ws" + strings.TrimPrefix(base, "http") + "/worker and its credential from telecart worker-token."},
		expect{step: check.StepCandidates, ok: true},
	)
}

// TestSocketRefused: a check over the coordinator's limits on sockets
// says so in the coordinator's words, and what an operator can change.
func TestSocketRefused(t *testing.T) {
	t.Parallel()
	base := startCoordinator(t, func(c *coordinator.Config) { c.Limits = coordinator.Limits{Sockets: 1} })
	held, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.CloseNow()
	_, results := run(t, base, check.DefaultTimeout)
	want(t, results,
		expect{step: check.StepCoordinator, ok: true},
		expect{step: check.StepWebSocket},
	)
	if w := results[1].Words; !strings.Contains(w, "turned this connection away: Too many") || !strings.Contains(w, "trusted_proxies") {
		t.Errorf("words %q: want the coordinator's sentence and what to change", w)
	}
}

// TestWorkerDown: a worker that stops answering (SIGSTOP: registered, its
// link and its ping port open, nobody home) fails its ping and its
// connection, each naming it; the other worker passes.
func TestWorkerDown(t *testing.T) {
	t.Parallel()
	base := startCoordinator(t)
	startWorker(t, base, "a-up")
	down := startWorker(t, base, "b-down")
	ping := ""
	for _, w := range gobrowsertest.Hello(t, base).Workers {
		if w.ID == "b-down" {
			ping = w.Ping
		}
	}
	if err := down.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Short: a step that fails waits this long, and one that passes on
	// loopback needs a fraction of it, even on a busy machine.
	ok, results := run(t, base, 5*time.Second)
	if ok {
		t.Error("Run says every step passed")
	}
	want(t, results,
		expect{step: check.StepCoordinator, ok: true},
		expect{step: check.StepWebSocket, ok: true},
		expect{step: check.StepWorkers, ok: true},
		expect{step: check.StepPing, worker: "a-up", ok: true},
		expect{step: check.StepPing, worker: "b-down", words: "Worker b-down's ping at " + ping + " does not answer: open TCP " + check.Port(ping) + " or set ping_url."},
		expect{step: check.StepCandidates, ok: true},
		expect{step: check.StepConnection, worker: "a-up", mode: check.ModeDirect, ok: true},
		expect{step: check.StepConnection, worker: "b-down", mode: check.ModeDirect,
			words: "Worker b-down did not answer the test connection: is it running, connected to the coordinator, and not too busy?"},
	)
}

// TestBlockedUDP: a firewall (nftables, in this test's namespace) drops
// the UDP port of one worker: with no TURN server, its direct connection
// fails, with the words that name that port; the other worker's works.
func TestBlockedUDP(t *testing.T) {
	browsertest.RequireNetNS(t)
	base := startCoordinator(t)
	open := startWorker(t, base, "a-open")
	blocked := startWorker(t, base, "b-blocked")
	nft(t, blocked.udpPort)
	ok, results := run(t, base, 5*time.Second)
	if ok {
		t.Error("Run says every step passed")
	}
	_ = open
	port := strconv.Itoa(blocked.udpPort)
	want(t, results,
		expect{step: check.StepCoordinator, ok: true},
		expect{step: check.StepWebSocket, ok: true},
		expect{step: check.StepWorkers, ok: true},
		expect{step: check.StepPing, worker: "a-open", ok: true},
		expect{step: check.StepPing, worker: "b-blocked", ok: true},
		expect{step: check.StepCandidates, ok: true},
		expect{step: check.StepConnection, worker: "a-open", mode: check.ModeDirect, ok: true},
		expect{step: check.StepConnection, worker: "b-blocked", mode: check.ModeDirect,
			words: "A direct connection to worker b-blocked failed: open UDP port " + port + " (udp_port) and set public_ips to its public address."},
	)
}

// nft drops UDP to and from port in this namespace until the test ends.
func nft(t *testing.T, port int) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		browsertest.Skip(t, "skipping: nftables not installed; scripts/setup installs it")
	}
	table := fmt.Sprintf("telecart_check_%d", port)
	rules := fmt.Sprintf(`table inet %s {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport %d drop
		udp sport %d drop
	}
}
`, table, port, port)
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("nft", "delete", "table", "inet", table).CombinedOutput(); err != nil {
			t.Errorf("nft delete: %v\n%s", err, out)
		}
	})
}

// TestTURN: a coordinator that hands out Debian's coturn, over UDP and
// over TCP, with TURN REST credentials: with coturn's secret, a relay
// candidate comes from each URL and the worker is reached through each
// alone; with another secret, each URL fails with words that name it and
// the credentials.
func TestTURN(t *testing.T) {
	const secret = "turn-secret"
	turn := turntest.Start(t, turntest.Config{Secret: secret, Loopback: true})
	udp, tcp := turn.URLs()[0], turn.URLs()[1]
	for _, tt := range []struct {
		name, secret string
		ok           bool
	}{
		{"coturn's secret", secret, true},
		{"another secret", "not-" + secret, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := startCoordinator(t, func(c *coordinator.Config) { c.TURN = coordinator.TURN{URLs: turn.URLs(), Secret: tt.secret} })
			startWorker(t, base, "eu-1")
			timeout := check.DefaultTimeout
			if !tt.ok {
				timeout = 5 * time.Second
			}
			ok, results := run(t, base, timeout)
			if ok != tt.ok {
				t.Errorf("Run says %v, want %v", ok, tt.ok)
			}
			expects := []expect{
				{step: check.StepCoordinator, ok: true},
				{step: check.StepWebSocket, ok: true},
				{step: check.StepWorkers, ok: true},
				{step: check.StepPing, worker: "eu-1", ok: true},
				{step: check.StepCandidates, ok: true},
				{step: check.StepCandidates, server: udp, ok: tt.ok},
				{step: check.StepCandidates, server: tcp, ok: tt.ok},
				{step: check.StepConnection, worker: "eu-1", mode: check.ModeDirect, ok: true},
				{step: check.StepConnection, worker: "eu-1", mode: check.ModeRelayUDP, server: udp, ok: tt.ok},
				{step: check.StepConnection, worker: "eu-1", mode: check.ModeRelayTCP, server: tcp, ok: tt.ok},
			}
			if !tt.ok {
				expects[5].words = check.Words(check.Failure{Kind: check.NoRelay, URL: udp})
				expects[6].words = check.Words(check.Failure{Kind: check.NoRelay, URL: tcp})
				if !strings.Contains(expects[5].words, "refused the credentials") {
					t.Errorf("the words %q do not name the credentials", expects[5].words)
				}
			}
			want(t, results, expects...)
		})
	}
}

// TestChecksBounded: a worker holds a few check connections
// at once (workerpkg.MaxChecks) and refuses another in words; one that quits makes room again.
func TestChecksBounded(t *testing.T) {
	t.Parallel()
	base := startCoordinator(t)
	startWorker(t, base, "eu-1")
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(signal.MaxMessage)
	send := func(ref string, p signal.Payload) {
		t.Helper()
		b, err := signal.Encode(signal.SessionID(ref), p)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	// answer reads until the first offer or error for ref.
	answer := func(ref string) signal.Payload {
		t.Helper()
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for %s's answer: %v", ref, err)
			}
			m, p, err := signal.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			switch p.(type) {
			case signal.SDP, signal.Error:
				if string(m.Session) == ref {
					return p
				}
			}
		}
	}
	for i := range workerpkg.MaxChecks {
		ref := fmt.Sprintf("c%d", i)
		send(ref, signal.Check{Worker: "eu-1"})
		if p := answer(ref); p.Type() != signal.TypeOffer {
			t.Fatalf("check %d answered %#v, want an offer", i, p)
		}
	}
	send("over", signal.Check{Worker: "eu-1"})
	if e, ok := answer("over").(signal.Error); !ok || e.Code != signal.CodeNoWorker || e.Message != "This server is checking other connections; try again in a moment." {
		t.Fatalf("one check over the bound answered %#v", e)
	}
	send("c0", signal.Quit{})
	n := 0
	waittest.Eventually(t, "a place for a check after one quit", func() error {
		ref := fmt.Sprintf("again%d", n)
		n++
		send(ref, signal.Check{Worker: "eu-1"})
		if p := answer(ref); p.Type() != signal.TypeOffer {
			return fmt.Errorf("answered %#v", p)
		}
		return nil
	})
	send("nobody", signal.Check{Worker: "nobody"})
	if e, ok := answer("nobody").(signal.Error); !ok || e.Code != signal.CodeNoWorker {
		t.Fatalf("a check of a worker that is not there answered %#v", e)
	}
}

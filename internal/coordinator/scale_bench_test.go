package coordinator_test

// The coordinator at scale (issue 6): simulated workers that speak the
// real worker protocol and browser signalling sessions, all on loopback,
// against one coordinator built with the exported API.
//
// BenchmarkScale runs the coordinator in a child process: the test binary
// started again, whose TestMain serves coordinator.New(...).Handler() on
// 127.0.0.1 (plus one endpoint of the test's own that reports the Go
// runtime's memory after a collection). Its memory, its CPU time and its
// goroutines are then its own, not mixed with the 550 clients'. Each
// b.N iteration runs the whole scenario against a fresh child, so nothing
// carries over from one iteration to the next. TestScaleSmoke runs the same
// scenario, small, against an in-process coordinator (so the race detector
// sees the coordinator under concurrent load) and against a child.
//
// Several coordinators (issue 15) are children alike, each given the URL
// of its own node of one NATS cluster of real servers
// (fixturetest.NATSCluster) in its environment; the scenario spreads its
// workers, browsers and watchers over them round robin, so that a browser
// on one is sent to a worker another holds. Their figures are summed, and
// the NATS servers' CPU and memory, read from /proc by their PIDs, are
// reported beside them. A lone coordinator runs its own NATS server inside
// its process, as in production, unless it too is given a cluster.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	ossignal "os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/coordinator"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
	"github.com/telecart/telecart/internal/workerauth"
)

const (
	// scaleChildEnv set in the environment makes the test binary a
	// coordinator (see TestMain).
	scaleChildEnv = "TELECART_SCALE_COORDINATOR"
	// scaleNATSEnv gives the child coordinator its NATS servers' URLs,
	// comma-separated; unset, it runs its own server inside its process.
	scaleNATSEnv = "TELECART_SCALE_NATS"
	scaleSecret  = "scale-test-secret"
	scaleMetrics = "scale-test-metrics-token"
	scaleGame    = "nes:telecart-test.nes"
)

// scaleZones are the zones the simulated workers are spread over.
var scaleZones = []string{"eu-west", "us-east", "ap-south"}

// serveChildCoordinator is the child's main: a coordinator on loopback
// until SIGTERM, an interrupt, or its standard input closing (the parent
// is gone). Like `telecart coordinator`, it says where it listens with
// "open http://ADDR" on stdout.
func serveChildCoordinator() int {
	ctx, stop := ossignal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	var nats []string
	if urls := os.Getenv(scaleNATSEnv); urls != "" {
		nats = strings.Split(urls, ",")
	}
	c, err := coordinator.New(coordinator.Config{Secrets: []string{scaleSecret}, MetricsToken: scaleMetrics, Logger: childLogger(), Limits: scaleLimits(), NATS: nats})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	mux := http.NewServeMux()
	mux.Handle("/", c.Handler())
	mux.HandleFunc("GET /debug/scale-memory", serveMemory)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: mux, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	fmt.Printf("scale coordinator is running: open http://%s\n", ln.Addr())
	<-ctx.Done()
	srv.Close()
	<-done
	return 0
}

// childLogger logs the child coordinator's warnings and errors to its
// stderr, which its parent shows when the scenario fails.
func childLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// scaleLimits are the limits of `telecart coordinator` with the defaults
// of the table of settings, its clients behind a proxy on loopback: each
// simulated browser comes from an address of its own (scaleClient), as a
// crowd of players would, so that the limits are the real ones and none
// may refuse a browser of the scenario.
func scaleLimits() coordinator.Limits {
	l := coordinator.DefaultLimits()
	l.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	return l
}

// scaleClient is the address simulated browser i comes from, as its proxy
// on loopback says.
func scaleClient(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff)
}

// goMemory is the child's Go runtime after a full collection.
type goMemory struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Goroutines int    `json:"goroutines"`
}

// serveMemory collects garbage until what is left is live, returns the
// freed memory to the system (so that VmRSS read next is what is live)
// and reports the runtime's figures. One collection is not enough: the
// sync.Pools (net/http's and the WebSocket library's buffers) are only
// emptied by the second, and closed sockets' finalizers run between
// collections and free what their connections held at the next.
func serveMemory(w http.ResponseWriter, _ *http.Request) {
	for range 2 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the finalizers' turn
	}
	debug.FreeOSMemory() // a third full collection, then the freed pages back to the OS
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(goMemory{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, Goroutines: runtime.NumGoroutine()})
}

// scaleTarget is a coordinator to run the scenario against.
type scaleTarget interface {
	URL() string // http://127.0.0.1:PORT
	// Memory collects garbage in the coordinator and reports its memory;
	// ok is false when the coordinator shares the test's process.
	Memory(ctx context.Context) (m coordMemory, ok bool, err error)
	// CPU is the coordinator process's CPU time so far (user + system).
	CPU() (cpu time.Duration, ok bool, err error)
}

// coordMemory is one snapshot of the coordinator's memory.
type coordMemory struct {
	goMemory
	RSS, HWM int64 // VmRSS and VmHWM, bytes
}

// inProcess is a coordinator served by httptest in the test's process.
type inProcess struct{ srv *httptest.Server }

func (p inProcess) URL() string                                     { return p.srv.URL }
func (inProcess) Memory(context.Context) (coordMemory, bool, error) { return coordMemory{}, false, nil }
func (inProcess) CPU() (time.Duration, bool, error)                 { return 0, false, nil }

// childProcess is a coordinator in a child process (see TestMain).
type childProcess struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	url    string
	output sync.WaitGroup // the goroutine draining its stdout
	stderr fixturetest.SyncBuffer
}

// startChild starts the test binary as a coordinator on the NATS servers
// given (none: its own, in its process) and waits for its address.
func startChild(nats ...string) (*childProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), scaleChildEnv+"=1", "GOMAXPROCS="+strconv.Itoa(runtime.GOMAXPROCS(0)), scaleNATSEnv+"="+strings.Join(nats, ","))
	// A child outliving a test killed hard would keep its port.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &childProcess{cmd: cmd}
	cmd.Stderr = &p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.stdin = stdin
	addr := make(chan string, 1)
	p.output.Add(1)
	go func() {
		defer p.output.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() { // until the child's stdout closes: it has exited
			if _, a, ok := strings.Cut(sc.Text(), "open http://"); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case a := <-addr:
		p.url = "http://" + a
		return p, nil
	case <-time.After(waittest.Limit):
		p.Stop()
		return nil, fmt.Errorf("the coordinator child did not say where it listens: %s", p.stderr.String())
	}
}

// Stop ends the child by its PID: SIGTERM, and SIGKILL if it has not
// exited within 5 s; then reaps it.
func (p *childProcess) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		err = fmt.Errorf("the coordinator child ignored SIGTERM: %w", <-exited)
	}
	p.output.Wait()
	return err
}

func (p *childProcess) URL() string { return p.url }

// childOutput is what the child coordinators among coords have logged
// (their warnings and errors), at most the last 8 KiB of each, for a
// failure's message.
func childOutput(coords []scaleTarget) string {
	var b strings.Builder
	for k, tgt := range coords {
		if p, ok := tgt.(*childProcess); ok {
			out := p.stderr.String()
			out = out[max(0, len(out)-8*kib):]
			fmt.Fprintf(&b, "coordinator %d's output:\n%s\n", k, out)
		}
	}
	return b.String()
}

func (p *childProcess) Memory(ctx context.Context) (coordMemory, bool, error) {
	var m coordMemory
	if err := getJSON(ctx, p.url+"/debug/scale-memory", &m.goMemory); err != nil {
		return m, true, err
	}
	var err error
	m.RSS, m.HWM, err = procMemory(p.cmd.Process.Pid)
	return m, true, err
}

// procMemory is a process's VmRSS and VmHWM, in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(status)) {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmRSS:":
				rss = kb << 10
			case "VmHWM:":
				hwm = kb << 10
			}
		}
	}
	return rss, hwm, nil
}

// userHZ is the unit of /proc/PID/stat's times: USER_HZ, 100 on Linux.
const userHZ = 100

func (p *childProcess) CPU() (time.Duration, bool, error) {
	cpu, err := procCPU(p.cmd.Process.Pid)
	return cpu, true, err
}

// ownCPU is this process's CPU time so far (user + system).
func ownCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// procCPU is a process's CPU time so far (user + system).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count the fields
	// from after it. utime and stime are fields 14 and 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat: %q", b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// httpClient keeps no idle connections: none outlives a test.
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// pickSeconds is the coordinator's own histogram of the time it takes to
// choose a worker (from entering pick, lock wait included, to leaving it),
// as /metrics exposes it.
const pickSeconds = "telecart_coordinator_pick_seconds"

// picks is what that histogram holds so far.
type picks struct {
	count int
	sum   time.Duration
	fast  int // within its first bucket, 0.25 ms
}

// readAllPicks sums every coordinator's pick time histogram.
func readAllPicks(ctx context.Context, coords []scaleTarget) (picks, error) {
	var sum picks
	for _, tgt := range coords {
		p, err := readPicks(ctx, tgt)
		if err != nil {
			return sum, err
		}
		sum.count, sum.sum, sum.fast = sum.count+p.count, sum.sum+p.sum, sum.fast+p.fast
	}
	return sum, nil
}

// readPicks reads the pick time histogram from /metrics.
func readPicks(ctx context.Context, tgt scaleTarget) (picks, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tgt.URL()+"/metrics", nil)
	if err != nil {
		return picks{}, err
	}
	req.Header.Set("Authorization", "Bearer "+scaleMetrics)
	resp, err := httpClient.Do(req)
	if err != nil {
		return picks{}, err
	}
	defer resp.Body.Close()
	var p picks
	found := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, pickSeconds) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return p, fmt.Errorf("/metrics: %q: %w", sc.Text(), err)
		}
		switch name {
		case pickSeconds + "_count":
			p.count, found = int(v), true
		case pickSeconds + "_sum":
			p.sum = time.Duration(v * float64(time.Second))
		case pickSeconds + `_bucket{le="0.00025"}`:
			p.fast = int(v)
		}
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	if !found {
		return p, fmt.Errorf("/metrics has no %s", pickSeconds)
	}
	return p, nil
}

// health is the coordinator's /healthz.
type health struct {
	Workers  int `json:"workers"`
	Rooms    int `json:"rooms"`
	Sessions int `json:"sessions"`
}

// waitHealth polls every coordinator's /healthz until ok holds for each,
// for at most waittest.Limit. Each counts every worker and room it knows,
// its own or shared by the others, and only its own sessions.
func waitHealth(ctx context.Context, coords []scaleTarget, what string, ok func(health) bool) error {
	err := waittest.Poll(waittest.Limit, func() error {
		for k, tgt := range coords {
			var h health
			if err := getJSON(ctx, tgt.URL()+"/healthz", &h); err != nil {
				return err
			}
			if !ok(h) {
				return fmt.Errorf("coordinator %d's /healthz says %+v", k, h)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// scaleConfig sizes one scenario.
type scaleConfig struct {
	Workers  int // simulated workers, spread over scaleZones
	Capacity int // rooms each takes
	Browsers int // browser sessions, one room each
	Watchers int // browsers on the list of games all along, shown the live rooms
	Parallel int // starts in flight at once; 1 also checks each choice exactly
	Seed     uint64
	// Arrive has each browser connect, report its latencies and start
	// in one go, within Parallel, as a crowd arriving does, instead of
	// every browser waiting on the list of games until they all start;
	// each quits and closes its page in one go too. The starts then pay
	// for the browsers' arrival: the socket, the hello, and the live
	// rooms list a new browser is sent, every room open so far in it.
	Arrive bool
}

// The scenario's latency model, reproducible from the seed: a browser
// lives in one zone; a worker of its zone is 10-30 ms away, another
// zone's 90-110 ms, plus 1 ms for each worker before it in its zone (the
// first ones are better connected), so the favourites fill up and later
// browsers fall back to their next best. Every fifth browser asks for the
// zone after its own, which must win over latency.

func (c scaleConfig) workerID(j int) signal.WorkerID { return signal.WorkerID(fmt.Sprintf("w%02d", j)) }
func (c scaleConfig) workerZone(j int) string        { return scaleZones[j%len(scaleZones)] }
func (c scaleConfig) homeZone(i int) int             { return (i * 7 / 3) % len(scaleZones) }

func (c scaleConfig) askedZone(i int) string {
	if i%5 != 0 {
		return ""
	}
	return scaleZones[(c.homeZone(i)+1)%len(scaleZones)]
}

func (c scaleConfig) rtts(i int) map[signal.WorkerID]float64 {
	rng := rand.New(rand.NewPCG(c.Seed, uint64(i)))
	rtt := make(map[signal.WorkerID]float64, c.Workers)
	for j := range c.Workers {
		base := 90.0
		if c.workerZone(j) == scaleZones[c.homeZone(i)] {
			base = 10
		}
		rtt[c.workerID(j)] = base + float64(j/len(scaleZones)) + 20*rng.Float64()
	}
	return rtt
}

// choice is the worker the coordinator must pick for browser i, given
// which workers are full: those of the zone asked for if one of them has
// a place, else any; the lowest latency among them.
func (c scaleConfig) choice(i int, rtt map[signal.WorkerID]float64, full func(id signal.WorkerID) bool) signal.WorkerID {
	zone := c.askedZone(i)
	var open, inZone []signal.WorkerID
	for j := range c.Workers {
		id := c.workerID(j)
		if full(id) {
			continue
		}
		open = append(open, id)
		if c.workerZone(j) == zone {
			inZone = append(inZone, id)
		}
	}
	if len(inZone) > 0 {
		open = inZone
	}
	if len(open) == 0 {
		return ""
	}
	return slices.MinFunc(open, func(a, b signal.WorkerID) int { return cmpFloat(rtt[a], rtt[b]) })
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dialParallel bounds the browsers connecting (and quitting) at once.
const dialParallel = 50

// Memory snapshots of the coordinator, in the order runScale takes them.
const (
	memIdle     = iota // nothing connected
	memWorkers         // the workers registered
	memBrowsers        // the browsers connected, hello read
	memLatency         // and their latency reports applied
	memSessions        // every browser in its room, every list settled
	memQuit            // every browser has quit, every room closed
	memGone            // everyone disconnected
	memSnapshots
)

// scaleResult is what one run of the scenario measured.
type scaleResult struct {
	toOffer, toStarted []time.Duration // per session: start sent → offer, → started received
	startPhase         time.Duration   // first start sent → last started received
	fallbacks          int             // sessions not on their first choice: it was full
	// settle is from the last started to the last watcher's live rooms
	// list naming every room.
	settle time.Duration
	// Live rooms messages the watchers received, from the first start
	// until settled: how many, and how many bytes.
	roomsMessages int
	roomsBytes    int64
	// allRoomsBytes is the bytes of live rooms lists every browser
	// received meanwhile, the watchers and those waiting to start.
	allRoomsBytes int64
	// clientsCPU is the test process's CPU time over the start phase:
	// the simulated workers and browsers, when the coordinators are
	// children.
	clientsCPU time.Duration
	// roomsStale counts the lists that named fewer rooms than one the same
	// browser had before, while rooms only opened: they came out of
	// order. listsBehind counts the browsers left showing such a list
	// once the broadcasts had stopped.
	roomsStale, listsBehind int
	// newsPlaying is the most hellos and live rooms lists a browser got
	// while in its room, with no worker coming or going: none but the one
	// broadcast (a hello and a list) already on its way as the room opened.
	newsPlaying int

	// mem is the coordinators' memory at each snapshot, summed; memEach,
	// each one's.
	mem     [memSnapshots]coordMemory
	memEach [memSnapshots][]coordMemory
	memOK   bool
	// workerRefusals counts the starts a worker refused: with several
	// coordinators, two may send starts for the same last place of a
	// worker at once, and the worker, the arbiter, refuses the one too
	// many; its coordinator sends it to the next best worker. refusals
	// counts those the browsers saw (after maxStartTries workers) and
	// made again, as the page's Retry does. refusedBrowsers were refused
	// at least once; mostAttempts is the most starts one browser made.
	refusals, workerRefusals      int
	refusedBrowsers, mostAttempts int
	// The NATS servers' resident memory at each snapshot and their peaks,
	// summed, and their CPU time over the start phase and until settled,
	// when they are processes of the test's (natsOK); a lone
	// coordinator's own server is in its figures instead.
	natsRSS                     [memSnapshots]int64
	natsHWM                     int64
	natsCPUStart, natsCPUSettle time.Duration
	natsOK                      bool
	// picks is the coordinator's own measure of its choices of a worker
	// over the start phase.
	picks picks
	// The coordinator's CPU time over the start phase, and from its end
	// until settled.
	cpuStart, cpuSettle time.Duration
	cpuOK               bool
}

// scenario is one run: its workers, its browsers, and every goroutine it
// started.
type scenario struct {
	cfg      scaleConfig
	coords   []scaleTarget
	ctx      context.Context
	workers  []*simWorker
	browsers []*simBrowser // each plays in a room of its own
	watchers []*simBrowser // on the list of games
	wg       sync.WaitGroup
}

// runScale runs the scenario once against coords, sharing the NATS
// servers of natsPIDs if any (processes of the test's, measured beside
// them): workers register, browsers connect and report their latencies,
// every browser starts a game (Parallel at a time), every room is
// checked, every browser quits, everyone hangs up. Workers, browsers and
// watchers are spread over the coordinators round robin. timing brackets
// the start phase (a benchmark's timer). It stops every goroutine it
// started before it returns.
func runScale(ctx context.Context, coords []scaleTarget, natsPIDs []int, cfg scaleConfig, timing func(on bool)) (res scaleResult, err error) {
	parent := ctx
	ctx, cancel := context.WithCancel(parent)
	s := &scenario{cfg: cfg, coords: coords, ctx: ctx}
	defer func() {
		cancel()
		s.hangUp()
		s.wg.Wait()
	}()
	snapshot := func(k int) error {
		res.mem[k], res.memEach[k] = coordMemory{}, make([]coordMemory, len(coords))
		for c, tgt := range coords {
			m, ok, err := tgt.Memory(parent)
			if err != nil {
				return fmt.Errorf("coordinator %d: %w", c, err)
			}
			res.memOK = ok
			res.memEach[k][c] = m
			res.mem[k].HeapInuse += m.HeapInuse
			res.mem[k].StackInuse += m.StackInuse
			res.mem[k].Goroutines += m.Goroutines
			res.mem[k].RSS += m.RSS
			res.mem[k].HWM += m.HWM
		}
		res.natsRSS[k], res.natsHWM, res.natsOK = 0, 0, len(natsPIDs) > 0
		for _, pid := range natsPIDs {
			rss, hwm, err := procMemory(pid)
			if err != nil {
				return fmt.Errorf("NATS server %d: %w", pid, err)
			}
			res.natsRSS[k] += rss
			res.natsHWM += hwm
		}
		return nil
	}
	var cpuErr error
	cpu := func() (coord, nats time.Duration) {
		for _, tgt := range coords {
			t, ok, err := tgt.CPU()
			res.cpuOK = ok
			cpuErr = cmp.Or(cpuErr, err)
			coord += t
		}
		for _, pid := range natsPIDs {
			t, err := procCPU(pid)
			cpuErr = cmp.Or(cpuErr, err)
			nats += t
		}
		return coord, nats
	}
	if err := snapshot(memIdle); err != nil {
		return res, err
	}

	// The workers register.
	s.workers = make([]*simWorker, cfg.Workers)
	err = each(cfg.Workers, cfg.Workers, func(j int) (err error) {
		s.workers[j], err = s.dialWorker(j)
		return err
	})
	s.workers = slices.DeleteFunc(s.workers, func(w *simWorker) bool { return w == nil })
	if err != nil {
		return res, err
	}
	// Every coordinator knows every worker: those it holds, and those
	// the others share.
	if err := waitHealth(ctx, coords, "workers register", func(h health) bool { return h.Workers == cfg.Workers }); err != nil {
		return res, err
	}
	if err := snapshot(memWorkers); err != nil {
		return res, err
	}

	// The browsers connect and read hello, then report their latencies
	// (arriving browsers, as they start).
	s.browsers = make([]*simBrowser, cfg.Browsers)
	if !cfg.Arrive {
		err = each(cfg.Browsers, dialParallel, func(i int) (err error) {
			s.browsers[i], err = s.dialBrowser(i)
			return err
		})
		if err != nil {
			return res, err
		}
	}
	s.watchers = make([]*simBrowser, cfg.Watchers)
	err = each(cfg.Watchers, dialParallel, func(k int) (err error) {
		s.watchers[k], err = s.dialBrowser(cfg.Browsers + k)
		return err
	})
	s.watchers = slices.DeleteFunc(s.watchers, func(b *simBrowser) bool { return b == nil })
	if err != nil {
		return res, err
	}
	if err := snapshot(memBrowsers); err != nil {
		return res, err
	}
	if !cfg.Arrive {
		if err := each(cfg.Browsers, dialParallel, func(i int) error { return s.browsers[i].reportLatency(ctx) }); err != nil {
			return res, err
		}
	}
	if err := snapshot(memLatency); err != nil {
		return res, err
	}

	// Every browser starts a game.
	picks0, err := readAllPicks(ctx, coords)
	if err != nil {
		return res, err
	}
	roomsBefore, allBefore := roomsReceived(s.watchers), roomsReceived(slices.Concat(s.browsers, s.watchers))
	cpu0, nats0 := cpu()
	clients0, err := ownCPU()
	if err != nil {
		return res, err
	}
	res.toOffer = make([]time.Duration, cfg.Browsers)
	res.toStarted = make([]time.Duration, cfg.Browsers)
	loads := map[signal.WorkerID]int{} // for the exact check: the rooms each worker has
	var exact sync.Mutex
	timing(true)
	begin := time.Now()
	err = each(cfg.Browsers, cfg.Parallel, func(i int) error {
		if cfg.Arrive {
			var err error
			s.browsers[i], err = s.dialBrowser(i)
			if err == nil {
				err = s.browsers[i].reportLatency(ctx)
			}
			if err != nil {
				return err
			}
		}
		b := s.browsers[i]
		if err := b.start(ctx); err != nil {
			return fmt.Errorf("%w (on coordinator %d, first start at %s; %s)", err, i%len(coords), b.startAt.Format("15:04:05.000"), s.startsOf(i))
		}
		res.toOffer[i], res.toStarted[i] = b.offerAt.Sub(b.startAt), b.startedAt.Sub(b.startAt)
		if cfg.Parallel != 1 {
			return nil
		}
		// One start at a time: the coordinator's choice is the model's.
		// With several coordinators, one may not have heard yet of the
		// room another placed last, and send the browser to a worker that
		// is full; the worker refuses, and the browser tries again
		// (start). A coordinator's view of a worker only ever lags behind
		// (it counts no room the worker does not have), so the worker
		// that takes the room is still the best with a place.
		exact.Lock()
		defer exact.Unlock()
		want := cfg.choice(i, b.rtt, func(id signal.WorkerID) bool { return loads[id] >= cfg.Capacity })
		got := s.workerOf(b.room)
		if got != want {
			return fmt.Errorf("browser %d (zone %q asked, rtt %v, loads %v): worker %s, want %s", i, cfg.askedZone(i), b.rtt, loads, got, want)
		}
		loads[got]++
		return nil
	})
	if err != nil {
		return res, err
	}
	end := slices.MaxFunc(s.browsers, func(a, b *simBrowser) int { return a.startedAt.Compare(b.startedAt) }).startedAt
	res.startPhase = end.Sub(begin)
	timing(false)
	cpu1, nats1 := cpu()
	clients1, err := ownCPU()
	if err != nil {
		return res, err
	}
	res.clientsCPU = clients1 - clients0
	for _, b := range s.browsers {
		res.refusals += b.attempts - 1
		if b.attempts > 1 {
			res.refusedBrowsers++
		}
		res.mostAttempts = max(res.mostAttempts, b.attempts)
	}
	for _, w := range s.workers {
		w.mu.Lock()
		res.workerRefusals += w.refused
		w.mu.Unlock()
	}
	// Only a worker may refuse a start in this scenario: there are more
	// places than browsers, and a coordinator that saw every worker full
	// would be wrong. A coordinator sends a start a worker refused to the
	// next best worker itself, and passes the refusal on only after
	// maxStartTries workers. One coordinator alone never sends a start to
	// a full worker: it places rooms under one lock.
	if res.refusals > res.workerRefusals {
		return res, fmt.Errorf("browsers were refused %d starts, the workers only %d", res.refusals, res.workerRefusals)
	}
	if len(coords) == 1 && res.workerRefusals != 0 {
		return res, fmt.Errorf("one coordinator sent %d starts to a full worker", res.workerRefusals)
	}
	picks1, err := readAllPicks(ctx, coords)
	if err != nil {
		return res, err
	}
	res.picks = picks{count: picks1.count - picks0.count, sum: picks1.sum - picks0.sum, fast: picks1.fast - picks0.fast}
	if res.picks.count != cfg.Browsers+res.workerRefusals {
		return res, fmt.Errorf("the coordinators count %d choices of a worker for %d starts and %d more after a worker's refusal", res.picks.count, cfg.Browsers, res.workerRefusals)
	}

	// Every watcher's list shows every room: the broadcasts have settled.
	settled, err := s.waitLiveRooms(cfg.Browsers)
	if err != nil {
		return res, err
	}
	res.settle = settled.Sub(end)
	cpu2, nats2 := cpu()
	res.cpuStart, res.cpuSettle = cpu1-cpu0, cpu2-cpu1
	res.natsCPUStart, res.natsCPUSettle = nats1-nats0, nats2-nats1
	if cpuErr != nil {
		return res, cpuErr
	}
	after := roomsReceived(s.watchers)
	res.roomsMessages, res.roomsBytes = after.messages-roomsBefore.messages, after.bytes-roomsBefore.bytes
	res.allRoomsBytes = roomsReceived(slices.Concat(s.browsers, s.watchers)).bytes - allBefore.bytes
	for _, b := range s.browsers {
		b.mu.Lock()
		res.newsPlaying = max(res.newsPlaying, b.newsPlaying)
		b.mu.Unlock()
	}
	if res.listsBehind, err = s.listsBehind(cfg.Browsers); err != nil {
		return res, err
	}
	res.roomsStale = roomsReceived(s.watchers).stale - roomsBefore.stale
	if err := s.checkRooms(&res); err != nil {
		return res, err
	}
	if err := snapshot(memSessions); err != nil {
		return res, err
	}

	// Everyone quits; every room closes. Arriving browsers leave as they
	// came: each quits and closes its page, rather than going back to
	// the list while every room closes.
	err = each(cfg.Browsers, dialParallel, func(i int) error {
		b := s.browsers[i]
		if !cfg.Arrive {
			return b.quit(ctx)
		}
		if err := b.failure(); err != nil {
			return err
		}
		if err := b.quit(ctx); err != nil {
			return err
		}
		b.left = true
		b.ws.CloseNow()
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := waitHealth(ctx, coords, "every room closes", func(h health) bool { return h.Rooms == 0 && h.Sessions == 0 }); err != nil {
		return res, fmt.Errorf("%w (the workers: %s)", err, s.workersLeft())
	}
	for _, w := range s.workers {
		if err := w.check(); err != nil {
			return res, err
		}
	}
	for _, b := range slices.Concat(s.browsers, s.watchers) {
		if err := b.failure(); err != nil && !b.left {
			return res, err
		}
	}
	if err := s.waitListsEmpty(); err != nil {
		return res, err
	}
	if err := snapshot(memQuit); err != nil {
		return res, err
	}

	// Everyone hangs up: each coordinator is back to its idle goroutines.
	cancel()
	s.hangUp()
	if err := waitHealth(parent, coords, "every worker leaves", func(h health) bool { return h.Workers == 0 }); err != nil {
		return res, err
	}
	if res.memOK {
		err := waittest.Poll(waittest.Limit, func() error {
			if err := snapshot(memGone); err != nil {
				return err
			}
			for c := range coords {
				if gone, idle := res.memEach[memGone][c].Goroutines, res.memEach[memIdle][c].Goroutines; gone > idle {
					return fmt.Errorf("coordinator %d has %d goroutines after everyone left, %d before anyone came", c, gone, idle)
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// hangUp closes every socket, browsers first (so that the coordinator
// does not end their sessions for a lost worker), then workers.
func (s *scenario) hangUp() {
	for _, b := range slices.Concat(s.browsers, s.watchers) {
		if b != nil { // nil: never dialled
			b.ws.CloseNow()
		}
	}
	for _, w := range s.workers {
		w.ws.CloseNow()
	}
}

// each runs f(0..n-1), at most parallel at a time, and returns the first
// error; after an error it starts no more.
func each(n, parallel int, f func(i int) error) error {
	jobs := make(chan int)
	errs := make(chan error, n)
	failed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Go(func() {
			for i := range jobs {
				if err := f(i); err != nil {
					errs <- err
					once.Do(func() { close(failed) })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-failed:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs // the first, or nil
}

// wsURL is the WebSocket URL of path on the coordinator of worker,
// browser or watcher k: they are spread over the coordinators round robin.
func (s *scenario) wsURL(k int, path string) string {
	return "ws" + strings.TrimPrefix(s.coords[k%len(s.coords)].URL(), "http") + path
}

// workersLeft says which workers still have rooms, and what went wrong
// with them, for a failure's message.
func (s *scenario) workersLeft() string {
	var left []string
	for _, w := range s.workers {
		w.mu.Lock()
		if len(w.rooms) > 0 || len(w.problems) > 0 {
			left = append(left, fmt.Sprintf("%s has %d rooms, problems %v", w.id, len(w.rooms), w.problems))
		}
		w.mu.Unlock()
	}
	if len(left) == 0 {
		return "none has a room left"
	}
	return strings.Join(left, "; ")
}

// startsOf says which workers had starts of browser i's, and what they
// did with them.
func (s *scenario) startsOf(i int) string {
	var got []string
	for _, w := range s.workers {
		w.mu.Lock()
		for _, st := range w.starts[fmt.Sprintf("p%d", i)] {
			got = append(got, fmt.Sprintf("worker %s (on coordinator %d) had session %s", w.id, w.j%len(s.coords), st))
		}
		w.mu.Unlock()
	}
	if len(got) == 0 {
		return "no worker had a start of its"
	}
	return strings.Join(got, "; ")
}

// workerOf says which worker runs a room.
func (s *scenario) workerOf(room signal.RoomID) signal.WorkerID {
	for _, w := range s.workers {
		w.mu.Lock()
		_, ok := w.rooms[room]
		w.mu.Unlock()
		if ok {
			return w.id
		}
	}
	return ""
}

// checkRooms checks where the rooms went: each on a worker within its
// capacity, and each on the browser's best choice: every worker it would
// rather have (faster, or in the zone it asked for) is full. Workers only
// fill up during the start phase, so a worker with a place now had one
// when the room was placed.
func (s *scenario) checkRooms(res *scaleResult) error {
	load := map[signal.WorkerID]int{}
	for _, w := range s.workers {
		w.mu.Lock()
		load[w.id] = len(w.rooms)
		w.mu.Unlock()
	}
	full := func(id signal.WorkerID) bool { return load[id] >= s.cfg.Capacity }
	for id, n := range load {
		if n > s.cfg.Capacity {
			return fmt.Errorf("worker %s has %d rooms, capacity %d", id, n, s.cfg.Capacity)
		}
	}
	for i, b := range s.browsers {
		got := s.workerOf(b.room)
		if got == "" {
			return fmt.Errorf("browser %d: room %s is on no worker", i, b.room)
		}
		// What the coordinator should have picked with got still open.
		want := s.cfg.choice(i, b.rtt, func(id signal.WorkerID) bool { return id != got && full(id) })
		if got != want {
			return fmt.Errorf("browser %d (zone %q asked): worker %s (%.1f ms), but %s (%.1f ms) has a place", i, s.cfg.askedZone(i), got, b.rtt[got], want, b.rtt[want])
		}
		if first := s.cfg.choice(i, b.rtt, func(signal.WorkerID) bool { return false }); got != first {
			res.fallbacks++
		}
	}
	return nil
}

type roomsCount struct {
	messages, stale int
	bytes           int64
}

func roomsReceived(browsers []*simBrowser) roomsCount {
	var c roomsCount
	for _, b := range browsers {
		if b == nil {
			continue // an arriving browser, not there yet
		}
		b.mu.Lock()
		c.messages += b.roomsMessages
		c.stale += b.roomsStale
		c.bytes += b.roomsBytes
		b.mu.Unlock()
	}
	return c
}

// waitLiveRooms waits, for at most waittest.Limit, until every watcher
// has had a live rooms list naming n rooms, and returns when the last one
// got it.
func (s *scenario) waitLiveRooms(n int) (time.Time, error) {
	var last time.Time
	err := waittest.Poll(waittest.Limit, func() error {
		last = time.Time{}
		for _, b := range s.watchers {
			b.mu.Lock()
			most, at := b.roomsMost, b.roomsMostAt
			b.mu.Unlock()
			if most < n {
				return fmt.Errorf("browser %d lists at most %d live rooms, want %d", b.i, most, n)
			}
			if at.After(last) {
				last = at
			}
		}
		return nil
	})
	return last, err
}

// waitListsEmpty waits, for at most waittest.Limit, until every watcher's
// newest live rooms list names no room.
func (s *scenario) waitListsEmpty() error {
	return waittest.Poll(waittest.Limit, func() error {
		for _, b := range s.watchers {
			b.mu.Lock()
			n := b.roomsLast
			b.mu.Unlock()
			if n != 0 {
				return fmt.Errorf("browser %d lists %d live rooms after every room closed", b.i, n)
			}
		}
		return nil
	})
}

// listsBehind counts the watchers left showing a live rooms list that
// does not name n rooms once every list sent so far has arrived: lists
// that came out of order and left the page showing an older state. The
// last list has arrived when a later message has: a worker starts
// draining, and every browser is sent a hello, after every list before
// it (a browser's messages go out in order), and then a list of its own.
// What a watcher showed as that hello came is what counts.
func (s *scenario) listsBehind(n int) (int, error) {
	marker := s.workers[0]
	if err := marker.drain(s.ctx); err != nil {
		return 0, err
	}
	behind := 0
	for _, b := range s.watchers {
		select {
		case <-b.drainSeen:
		case <-b.done:
			return 0, fmt.Errorf("browser %d: the connection ended before the hello of a draining worker: %w", b.i, b.err)
		case <-time.After(waittest.Limit):
			return 0, fmt.Errorf("browser %d: no hello of a draining worker within %v", b.i, waittest.Limit)
		case <-s.ctx.Done():
			return 0, s.ctx.Err()
		}
		if b.roomsAtDrain() != n {
			behind++
		}
	}
	return behind, nil
}

// send writes one message on a WebSocket, within 5 s.
func send(ctx context.Context, ws *websocket.Conn, session signal.SessionID, p signal.Payload) error {
	b, err := signal.Encode(session, p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, b)
}

// simWorker speaks the worker's side of the protocol as a real worker
// does at the signalling level: it registers, beats every second, and
// answers a start at once with an offer, the room's state, its listing
// and started (a real worker sends started once its runner has booted);
// when it is full, it refuses the start as a real one does.
type simWorker struct {
	j        int
	id       signal.WorkerID
	zone     string
	capacity int
	games    map[string]signal.GameInfo
	ws       *websocket.Conn

	mu       sync.Mutex
	draining bool
	rooms    map[signal.RoomID]*simRoom
	sessions map[signal.SessionID]signal.RoomID // the room of each session
	most     int                                // rooms at once, at most
	refused  int                                // starts refused, full
	// starts are what it did with each browser's starts, by its nick,
	// for a failure's message.
	starts   map[string][]string
	problems []error // what a real worker would have refused or logged
}

type simRoom struct {
	id      signal.RoomID
	game    signal.GameInfo
	created time.Time
	members map[signal.SessionID]bool
}

func (s *scenario) dialWorker(j int) (*simWorker, error) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	cred, err := workerauth.Credential(scaleSecret, s.cfg.workerID(j))
	if err != nil {
		return nil, err
	}
	ws, _, err := websocket.Dial(ctx, s.wsURL(j, "/worker"), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + cred}},
	})
	if err != nil {
		return nil, fmt.Errorf("worker %d: %w", j, err)
	}
	ws.SetReadLimit(signal.MaxMessage)
	w := &simWorker{
		j: j, id: s.cfg.workerID(j), zone: s.cfg.workerZone(j), capacity: s.cfg.Capacity, ws: ws,
		games: map[string]signal.GameInfo{
			scaleGame: {ID: scaleGame, Title: "Telecart Test ROM", System: "nes"},
		},
		rooms: map[signal.RoomID]*simRoom{}, sessions: map[signal.SessionID]signal.RoomID{}, starts: map[string][]string{},
	}
	extra := fmt.Sprintf("nes:extra-%d.nes", j%5)
	w.games[extra] = signal.GameInfo{ID: extra, Title: fmt.Sprintf("Extra %d", j%5), System: "nes"}
	reg := signal.Register{ID: w.id, Zone: w.zone, Capacity: w.capacity, Ping: "http://" + string(w.id) + ".example/ping"}
	for _, g := range w.games {
		reg.Games = append(reg.Games, g)
	}
	if err := send(s.ctx, ws, "", reg); err != nil {
		return w, fmt.Errorf("worker %s: register: %w", w.id, err)
	}
	cpu := 0.05 + 0.4*rand.New(rand.NewPCG(s.cfg.Seed, 1<<32+uint64(j))).Float64()
	s.wg.Go(func() { w.beat(s.ctx, cpu) })
	s.wg.Go(func() { w.read(s.ctx) })
	return w, nil
}

func (w *simWorker) problem(format string, args ...any) {
	w.mu.Lock()
	w.problems = append(w.problems, fmt.Errorf("worker %s: "+format, append([]any{w.id}, args...)...))
	w.mu.Unlock()
}

func (w *simWorker) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.rooms) != 0 {
		return fmt.Errorf("worker %s still has %d rooms after every quit", w.id, len(w.rooms))
	}
	if w.most > w.capacity {
		return fmt.Errorf("worker %s had %d rooms at once, capacity %d", w.id, w.most, w.capacity)
	}
	return errors.Join(w.problems...)
}

// beat sends a heartbeat every second until ctx ends.
func (w *simWorker) beat(ctx context.Context, cpu float64) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w.mu.Lock()
		hb := signal.Heartbeat{Rooms: len(w.rooms), CPU: cpu, Draining: w.draining}
		w.mu.Unlock()
		if err := send(ctx, w.ws, "", hb); err != nil {
			if ctx.Err() == nil {
				w.problem("heartbeat: %v", err)
			}
			return
		}
	}
}

// drain starts draining, as a worker told to does: it says so at once.
func (w *simWorker) drain(ctx context.Context) error {
	w.mu.Lock()
	w.draining = true
	hb := signal.Heartbeat{Rooms: len(w.rooms), Draining: true}
	w.mu.Unlock()
	if err := send(ctx, w.ws, "", hb); err != nil {
		return fmt.Errorf("worker %s: drain: %w", w.id, err)
	}
	return nil
}

// read handles the coordinator's messages until the socket closes.
func (w *simWorker) read(ctx context.Context) {
	for {
		_, b, err := w.ws.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.problem("link lost: %v", err)
			}
			return
		}
		m, p, err := signal.Decode(b)
		if err != nil {
			w.problem("bad message: %v", err)
			continue
		}
		switch p := p.(type) {
		case signal.Start:
			w.start(ctx, m.Session, p)
		case signal.Quit:
			w.quit(ctx, m.Session)
		case signal.SDP, signal.Candidate, signal.Seat, signal.Nick:
			// The peer connection's business: nothing to signal back here.
		default:
			w.problem("unexpected %s", p.Type())
		}
	}
}

func (w *simWorker) start(ctx context.Context, session signal.SessionID, req signal.Start) {
	game, ok := w.games[req.Game]
	if session == "" || req.Room == "" || !ok {
		w.problem("start without session, room or known game: %q %+v", session, req)
		_ = send(ctx, w.ws, session, signal.Error{Code: signal.CodeUnknownGame, Message: "No such game here."})
		return
	}
	r := &simRoom{id: req.Room, game: game, created: time.Now(), members: map[signal.SessionID]bool{session: true}}
	w.mu.Lock()
	full := len(w.rooms) >= w.capacity
	w.starts[req.Nick] = append(w.starts[req.Nick], fmt.Sprintf("%s at %s (full: %v)", session, time.Now().Format("15:04:05.000"), full))
	if full {
		// The worker is the arbiter of its places: two coordinators may
		// each send it a start for its last one. It answers the one too
		// many as internal/worker's placeFor does (its rooms never empty
		// while the scenario starts them, so none makes way).
		w.refused++
		w.mu.Unlock()
		if err := send(ctx, w.ws, session, signal.Error{Code: signal.CodeNoWorker, Message: workerFull}); err != nil && ctx.Err() == nil {
			w.problem("send refusal: %v", err)
		}
		return
	}
	if _, taken := w.rooms[r.id]; taken {
		w.problem("room %s started twice", r.id)
	}
	w.rooms[r.id] = r
	w.sessions[session] = r.id
	w.most = max(w.most, len(w.rooms))
	w.mu.Unlock()

	state := signal.RoomState{ID: r.id, Rev: 1, Game: game, You: "m1", Members: []signal.Member{{ID: "m1", Nick: req.Nick, Slot: 1}}}
	listing := signal.Listing{ID: r.id, Game: game, Players: 1, Age: time.Since(r.created).Milliseconds()}
	started := signal.Started{Room: r.id, Game: game, Width: 256, Height: 224, Aspect: 8.0 / 7 * 256 / 224, FPS: 60.0988}
	for _, m := range []struct {
		session signal.SessionID
		p       signal.Payload
	}{{session, signal.Offer(fakeOffer(session))}, {session, state}, {"", listing}, {session, started}} {
		if err := send(ctx, w.ws, m.session, m.p); err != nil {
			if ctx.Err() == nil {
				w.problem("send %s: %v", m.p.Type(), err)
			}
			return
		}
	}
}

// workerFull is a real worker's words for a start it has no place for.
const workerFull = "This server is full: every room it can host is in use."

// quit takes a session out of its room; the room closes when it empties.
// (A real worker lingers first; the coordinator frees the place at the
// quit either way.)
func (w *simWorker) quit(ctx context.Context, session signal.SessionID) {
	w.mu.Lock()
	r := w.rooms[w.sessions[session]]
	delete(w.sessions, session)
	if r == nil {
		w.mu.Unlock()
		w.problem("quit of unknown session %s", session)
		return
	}
	delete(r.members, session)
	empty := len(r.members) == 0
	if empty {
		delete(w.rooms, r.id)
	}
	w.mu.Unlock()
	if empty {
		l := signal.Listing{ID: r.id, Game: r.game, Age: time.Since(r.created).Milliseconds(), Closed: true}
		if err := send(ctx, w.ws, "", l); err != nil && ctx.Err() == nil {
			w.problem("send closed listing: %v", err)
		}
	}
}

// fakeOffer is an offer shaped like the worker's (VP8 and Opus tracks,
// the input data channel), about as long, with the session's own ICE
// credentials.
func fakeOffer(session signal.SessionID) string {
	ufrag := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return 'x'
		}
		return r
	}, string(session))
	return strings.ReplaceAll(`v=0
o=- 8915263750246817532 1732190000 IN IP4 0.0.0.0
s=-
t=0 0
a=msid-semantic:WMS*
a=fingerprint:sha-256 4B:1F:0C:9A:22:7D:41:E8:93:5A:0B:6C:77:D2:18:AF:3E:90:C4:51:6D:8B:2A:F0:19:E7:34:C8:5D:A2:7B:06
a=extmap-allow-mixed
a=group:BUNDLE 0 1 2
m=video 9 UDP/TLS/RTP/SAVPF 96 97
c=IN IP4 0.0.0.0
a=setup:actpass
a=mid:0
a=ice-ufrag:UFRAG
a=ice-pwd:UFRAGUFRAGUFRAGUFRAGxx
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtcp-fb:96 transport-cc
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=extmap:1 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=ssrc:2854123601 cname:telecart
a=ssrc:2854123601 msid:telecart video
a=msid:telecart video
a=sendonly
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=setup:actpass
a=mid:1
a=ice-ufrag:UFRAG
a=ice-pwd:UFRAGUFRAGUFRAGUFRAGxx
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtcp-fb:111 transport-cc
a=extmap:1 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=ssrc:3390412217 cname:telecart
a=ssrc:3390412217 msid:telecart audio
a=msid:telecart audio
a=sendonly
m=application 9 UDP/DTLS/SCTP webrtc-datachannel
c=IN IP4 0.0.0.0
a=setup:actpass
a=mid:2
a=sendrecv
a=sctp-port:5000
a=ice-ufrag:UFRAG
a=ice-pwd:UFRAGUFRAGUFRAGUFRAGxx
a=candidate:1398203564 1 udp 2130706431 127.0.0.1 50312 typ host
a=end-of-candidates
`, "UFRAG", ufrag)
}

// simBrowser is one browser tab on /ws: it reads its socket all the
// time, hands the messages of its sessions (and errors) to whoever drives
// it, and keeps the live rooms lists for counting.
type simBrowser struct {
	i    int
	rtt  map[signal.WorkerID]float64
	zone string // asked for in start, if any
	ws   *websocket.Conn
	// window is the reader's buffer for the live rooms lists; heardHello
	// is set once it has read a hello, both the reader's own.
	window     []byte
	heardHello bool

	events chan browserEvent
	hello  chan signal.Hello // the first, once
	done   chan struct{}     // the reader has stopped
	err    error             // why, once done is closed

	// The current session, owned by the driver; attempts counts the
	// starts it took.
	ref                         signal.SessionID
	room                        signal.RoomID
	startAt, offerAt, startedAt time.Time
	attempts                    int
	left                        bool // it has quit and closed its page

	mu            sync.Mutex
	roomsMessages int
	roomsBytes    int64
	roomsLast     int // how many rooms the newest live rooms list named
	// roomsStale counts lists naming fewer rooms than the one before:
	// while rooms only open, a list that shrinks came out of order.
	roomsStale  int
	roomsMost   int       // the most rooms a list named
	roomsMostAt time.Time // when that list came
	// playing is set as started comes, and cleared as the browser quits;
	// newsPlaying counts the hellos and lists that came meanwhile.
	playing     bool
	newsPlaying int
	// hellos counts the hellos read; newHello has a token after each.
	hellos   int
	newHello chan struct{}
	// drainRooms is roomsLast as the first hello naming a draining
	// worker came; heardDrain is set and drainSeen closed then.
	drainRooms int
	heardDrain bool
	drainSeen  chan struct{}
}

type browserEvent struct {
	at      time.Time
	session signal.SessionID
	p       signal.Payload
	hellos  int // the hellos the browser had read before it
}

func (s *scenario) dialBrowser(i int) (*simBrowser, error) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, s.wsURL(i, "/ws"), &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {scaleClient(i)}}})
	if err != nil {
		return nil, fmt.Errorf("browser %d: %w", i, err)
	}
	ws.SetReadLimit(signal.MaxMessage)
	b := &simBrowser{
		i: i, rtt: s.cfg.rtts(i), zone: s.cfg.askedZone(i), ws: ws, window: make([]byte, 8*kib),
		events: make(chan browserEvent, 32), hello: make(chan signal.Hello, 1), done: make(chan struct{}),
		drainSeen: make(chan struct{}), newHello: make(chan struct{}, 1),
	}
	s.wg.Go(func() { b.read(s.ctx) })
	var hello signal.Hello
	select {
	case hello = <-b.hello:
	case <-b.done:
		return b, fmt.Errorf("browser %d: no hello: %w", i, b.err)
	case <-ctx.Done():
		return b, fmt.Errorf("browser %d: no hello: %w", i, ctx.Err())
	}
	if len(hello.Workers) != s.cfg.Workers || !slices.ContainsFunc(hello.Games, func(g signal.GameInfo) bool { return g.ID == scaleGame }) {
		return b, fmt.Errorf("browser %d: hello lists %d workers (want %d) and games %v", i, len(hello.Workers), s.cfg.Workers, hello.Games)
	}
	for _, w := range hello.Workers {
		if w.Ping != "http://"+string(w.ID)+".example/ping" {
			return b, fmt.Errorf("browser %d: hello gives worker %s the ping URL %q", i, w.ID, w.Ping)
		}
	}
	return b, nil
}

// reportLatency sends the browser's latencies to every worker, and waits
// until the coordinator has applied them.
func (b *simBrowser) reportLatency(ctx context.Context) error {
	if err := send(ctx, b.ws, "", signal.Latency{RTT: b.rtt}); err != nil {
		return fmt.Errorf("browser %d: latency: %w", b.i, err)
	}
	// The coordinator reads a browser's messages in order, and answers a
	// seat outside a room with an error that changes nothing: once that
	// answer is back, the latency report has been applied.
	if err := send(ctx, b.ws, "", signal.Seat{Slot: 1}); err != nil {
		return fmt.Errorf("browser %d: seat: %w", b.i, err)
	}
	ev, err := b.next(ctx)
	if err != nil {
		return fmt.Errorf("browser %d: %w", b.i, err)
	}
	if e, ok := ev.p.(signal.Error); !ok || e.Code != signal.CodeBadRequest || ev.session != "" {
		return fmt.Errorf("browser %d: a seat outside a room got %s %+v", b.i, ev.p.Type(), ev.p)
	}
	return nil
}

// liveRoomsPrefix starts every live rooms message as the coordinator
// encodes it (signal.Encode: v, type, then data). The reader only counts
// the rooms of these as they stream in, never holding one whole: they are
// long (every room) and many (every browser on the list, every 200 ms
// while rooms change), and decoding them, or even reading each into a
// buffer of its own, would spend the machine's cores on the clients, not
// the coordinators. A message encoded otherwise is decoded as any other.
var liveRoomsPrefix = []byte(`{"v":1,"type":"rooms",`)

// roomMark is in every listing (players is not omitempty), once.
var roomMark = []byte(`"players":`)

// readMessage reads the next message: a live rooms list counted (n its
// rooms, size its bytes, data nil), or any other whole.
func (b *simBrowser) readMessage(ctx context.Context) (data []byte, n int, size int64, err error) {
	_, r, err := b.ws.Reader(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	head := b.window[:len(liveRoomsPrefix)]
	k, err := io.ReadFull(r, head)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return bytes.Clone(head[:k]), 0, 0, nil // shorter than the prefix
	}
	if err != nil {
		return nil, 0, 0, err
	}
	if !bytes.Equal(head, liveRoomsPrefix) {
		rest, err := io.ReadAll(r)
		return append(bytes.Clone(head), rest...), 0, 0, err
	}
	// The window keeps the last len(roomMark)-1 bytes of one read before
	// the next: too few to hold a mark counted already, enough to find
	// one cut in two.
	size, carried := int64(len(head)), 0
	for {
		m, err := r.Read(b.window[carried:])
		seen := b.window[:carried+m]
		n += bytes.Count(seen, roomMark)
		size += int64(m)
		carried = min(len(roomMark)-1, len(seen))
		copy(b.window, seen[len(seen)-carried:])
		if errors.Is(err, io.EOF) {
			return nil, n, size, nil
		}
		if err != nil {
			return nil, 0, 0, err
		}
	}
}

func (b *simBrowser) read(ctx context.Context) {
	defer close(b.done)
	for {
		data, rooms, size, err := b.readMessage(ctx)
		at := time.Now()
		if err != nil {
			b.err = err
			return
		}
		if data == nil {
			b.gotRooms(at, size, rooms)
			continue
		}
		if b.heardHello && bytes.HasPrefix(data, helloPrefix) {
			// Every browser on the list gets one with every list: only
			// the first is read whole.
			b.gotHello(bytes.Contains(data, drainingMark))
			continue
		}
		m, p, err := signal.Decode(data)
		if err != nil {
			b.err = fmt.Errorf("bad message from the coordinator: %w", err)
			return
		}
		switch p := p.(type) {
		case signal.Hello:
			select {
			case b.hello <- p:
			default: // a later one
			}
			b.heardHello = true
			b.gotHello(slices.ContainsFunc(p.Workers, func(w signal.WorkerInfo) bool { return w.Draining }))
			continue
		case signal.LiveRooms:
			b.gotRooms(at, int64(len(data)), len(p.Rooms))
			continue
		case signal.Started:
			b.mu.Lock()
			b.playing = true
			b.mu.Unlock()
		}
		select {
		case b.events <- browserEvent{at: at, session: m.Session, p: p, hellos: b.helloCount()}:
		case <-ctx.Done():
			b.err = ctx.Err()
			return
		}
	}
}

// helloPrefix starts every hello as the coordinator encodes it;
// drainingMark is in one only if a worker drains.
var (
	helloPrefix  = []byte(`{"v":1,"type":"hello",`)
	drainingMark = []byte(`"draining":true`)
)

func (b *simBrowser) gotHello(draining bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hellos++
	select {
	case b.newHello <- struct{}{}:
	default:
	}
	if b.playing {
		b.newsPlaying++
	}
	if draining && !b.heardDrain {
		b.heardDrain, b.drainRooms = true, b.roomsLast
		close(b.drainSeen)
	}
}

func (b *simBrowser) gotRooms(at time.Time, size int64, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roomsMessages++
	b.roomsBytes += size
	if b.playing {
		b.newsPlaying++
	}
	if n < b.roomsLast {
		b.roomsStale++
	}
	b.roomsLast = n
	if n > b.roomsMost {
		b.roomsMost, b.roomsMostAt = n, at
	}
}

// next is the next message of a session or error, within waittest.Limit:
// at 1,500 sessions on a machine busy with other work, a start has been
// seen to take 5 s to reach its worker.
func (b *simBrowser) next(ctx context.Context) (browserEvent, error) {
	select {
	case ev := <-b.events:
		return ev, nil
	default:
	}
	t := time.NewTimer(waittest.Limit)
	defer t.Stop()
	select {
	case ev := <-b.events:
		return ev, nil
	case <-b.done:
		select {
		case ev := <-b.events:
			return ev, nil
		default:
		}
		return browserEvent{}, fmt.Errorf("connection closed: %w", b.err)
	case <-t.C:
		return browserEvent{}, fmt.Errorf("no message within %v", waittest.Limit)
	case <-ctx.Done():
		return browserEvent{}, ctx.Err()
	}
}

// maxAttempts bounds one browser's starts: the coordinator's limit of
// starts a minute for one client, which would refuse the next.
const maxAttempts = coordinator.DefaultStartsPerMinute

// errNoPlace is a start refused for want of a place ("no_worker").
var errNoPlace = errors.New("no place")

// start starts the game in a new room and waits for the worker's offer,
// the room's state and started, all named by the browser's reference. A
// start refused for want of a place (a worker full, as another
// coordinator took its last place) is made again at once, under a new
// reference, as the page's Retry on its "All servers are busy" screen
// does; startAt is the first's, so that start→offer counts the refusals.
//
// The page shows the refusal, and its player presses Retry: the browser
// makes its next start once the coordinator has sent it news (the hello
// of every browser on the list, within 200 ms, since the refused room
// has gone from the list), not at once: a coordinator that does not yet
// know a worker is full sends it the next start too.
func (b *simBrowser) start(ctx context.Context) error {
	b.startAt, b.attempts = time.Now(), 0
	for {
		b.attempts++
		err := b.startOnce(ctx)
		var refused errRefused
		if !errors.As(err, &refused) || b.attempts == maxAttempts {
			return err
		}
		if err := b.waitHello(ctx, refused.hellos); err != nil {
			return fmt.Errorf("browser %d: after a refusal: %w", b.i, err)
		}
	}
}

// errRefused is a start refused for want of a place, after hellos hellos.
type errRefused struct {
	err    error
	hellos int
}

func (e errRefused) Error() string { return e.err.Error() }
func (e errRefused) Unwrap() error { return e.err }

func (b *simBrowser) helloCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hellos
}

// waitHello waits, within waittest.Limit, for a hello after the first n.
func (b *simBrowser) waitHello(ctx context.Context, n int) error {
	t := time.NewTimer(waittest.Limit)
	defer t.Stop()
	for b.helloCount() <= n {
		select {
		case <-b.newHello:
		case <-b.done:
			return fmt.Errorf("connection closed: %w", b.err)
		case <-t.C:
			return fmt.Errorf("no hello within %v", waittest.Limit)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (b *simBrowser) startOnce(ctx context.Context) error {
	b.ref = signal.SessionID(fmt.Sprintf("tab%d-%d", b.i, b.attempts))
	b.room, b.offerAt, b.startedAt = "", time.Time{}, time.Time{}
	req := signal.Start{Game: scaleGame, Nick: fmt.Sprintf("p%d", b.i), Zone: b.zone}
	if err := send(ctx, b.ws, b.ref, req); err != nil {
		return fmt.Errorf("browser %d: start: %w", b.i, err)
	}
	var stateRoom signal.RoomID
	for b.offerAt.IsZero() || b.startedAt.IsZero() || stateRoom == "" {
		ev, err := b.next(ctx)
		if err != nil {
			return fmt.Errorf("browser %d: waiting for offer, room and started (offer: %v, room state: %v, started: %v): %w", b.i, !b.offerAt.IsZero(), stateRoom != "", !b.startedAt.IsZero(), err)
		}
		if ev.session != b.ref {
			return fmt.Errorf("browser %d: %s for session %q, want %q", b.i, ev.p.Type(), ev.session, b.ref)
		}
		switch p := ev.p.(type) {
		case signal.SDP:
			if p.Type() != signal.TypeOffer || !strings.HasPrefix(p.SDP, "v=0") || !b.offerAt.IsZero() {
				return fmt.Errorf("browser %d: unexpected %s", b.i, p.Type())
			}
			b.offerAt = ev.at
		case signal.RoomState:
			if p.You != "m1" || len(p.Members) != 1 || p.Members[0].Slot != 1 {
				return fmt.Errorf("browser %d: room state %+v", b.i, p)
			}
			stateRoom = p.ID
		case signal.Started:
			if b.offerAt.IsZero() {
				return fmt.Errorf("browser %d: started before the offer", b.i)
			}
			if p.Game.ID != scaleGame || p.Width != 256 || p.Height != 224 || math.Abs(p.Aspect-1.306) > 0.01 || p.FPS < 59 {
				return fmt.Errorf("browser %d: started %+v", b.i, p)
			}
			b.startedAt, b.room = ev.at, p.Room
		case signal.Error:
			// A worker's refusal, passed on once its coordinator has
			// tried other workers; a coordinator's own (every worker
			// full) would be wrong here, and fails the run.
			if p.Code == signal.CodeNoWorker && p.Message == workerFull && b.offerAt.IsZero() && stateRoom == "" {
				return errRefused{fmt.Errorf("browser %d, start %d: %w: %s", b.i, b.attempts, errNoPlace, p.Message), ev.hellos}
			}
			return fmt.Errorf("browser %d: error %s: %s", b.i, p.Code, p.Message)
		default:
			return fmt.Errorf("browser %d: unexpected %s", b.i, p.Type())
		}
	}
	if stateRoom != b.room {
		return fmt.Errorf("browser %d: room state of %s, started %s", b.i, stateRoom, b.room)
	}
	return nil
}

func (b *simBrowser) quit(ctx context.Context) error {
	b.mu.Lock()
	b.playing = false
	b.mu.Unlock()
	if err := send(ctx, b.ws, b.ref, signal.Quit{}); err != nil {
		return fmt.Errorf("browser %d: quit: %w", b.i, err)
	}
	return nil
}

// roomsAtDrain is how many rooms the live rooms list the browser had as
// it heard a worker drain named.
func (b *simBrowser) roomsAtDrain() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.drainRooms
}

// failure is why the reader stopped early, if it did; nil while it runs.
func (b *simBrowser) failure() error {
	select {
	case <-b.done:
		return fmt.Errorf("browser %d: the connection ended early: %w", b.i, b.err)
	default:
	}
	select {
	case ev := <-b.events:
		return fmt.Errorf("browser %d: unexpected %s after quitting", b.i, ev.p.Type())
	default:
	}
	return nil
}

// TestScaleSmoke runs the scale scenario small: every session gets its
// offer and started, rooms stay within each worker's capacity, and each
// goes to the fastest worker with a place (in the zone asked for, when it
// has one). One start at a time against a coordinator in this process
// (each choice checked against a model of the workers' loads), then all
// at once against a coordinator in a child process, and against three
// child coordinators sharing a NATS cluster of three servers (checked at
// the end).
func TestScaleSmoke(t *testing.T) {
	// 6 workers of 2 places for 12 browsers: every place is taken, the
	// last browsers get what is left.
	cfg := scaleConfig{Workers: 6, Capacity: 2, Browsers: 12, Watchers: 3, Parallel: 1, Seed: 6}
	// The browsers read hellos and live rooms lists by their first bytes.
	for _, m := range []struct {
		p      signal.Payload
		prefix []byte
	}{{signal.Hello{}, helloPrefix}, {signal.LiveRooms{Rooms: []signal.Listing{}}, liveRoomsPrefix}} {
		if b, err := signal.Encode("", m.p); err != nil || !bytes.HasPrefix(b, m.prefix) {
			t.Fatalf("%s encodes as %.40s (%v), not after %s", m.p.Type(), b, err, m.prefix)
		}
	}
	t.Run("in-process", func(t *testing.T) {
		before := runtime.NumGoroutine()
		c, err := coordinator.New(coordinator.Config{Secrets: []string{scaleSecret}, MetricsToken: scaleMetrics, Logger: slog.New(slog.DiscardHandler), Limits: scaleLimits()})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(c.Handler())
		res, err := runScale(t.Context(), []scaleTarget{inProcess{srv}}, nil, cfg, func(bool) {})
		c.Close()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkSmoke(t, cfg, res)
		t.Logf("start→offer p50 %v, max %v; %d of %d on a second choice", percentile(res.toOffer, 0.5), percentile(res.toOffer, 1), res.fallbacks, cfg.Browsers)
		checkGoroutines(t, before)
	})
	t.Run("child-process", func(t *testing.T) {
		child, err := startChild()
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := child.Stop(); err != nil {
				t.Error(err)
			}
		}()
		cfg := cfg
		cfg.Parallel = cfg.Browsers
		res, err := runScale(t.Context(), []scaleTarget{child}, nil, cfg, func(bool) {})
		if err != nil {
			t.Fatalf("%v\n%s", err, childOutput([]scaleTarget{child}))
		}
		if !res.memOK || res.mem[memSessions].HeapInuse == 0 || res.mem[memSessions].RSS == 0 || !res.cpuOK || res.cpuStart < 0 {
			t.Errorf("no memory or CPU figures from the child: %+v", res.mem[memSessions])
		}
	})
	t.Run("three-coordinators", func(t *testing.T) {
		// Browsers, workers and watchers round robin over the three: most
		// browsers are sent to a worker another coordinator holds, and
		// all twelve start at once, so that two coordinators may send
		// starts for one last place.
		urls, pids := scaleNATS(t)
		coords, stop, err := startChildren(3, urls)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := stop(); err != nil {
				t.Error(err)
			}
		}()
		cfg := cfg
		cfg.Parallel = cfg.Browsers
		res, err := runScale(t.Context(), coords, pids, cfg, func(bool) {})
		if err != nil {
			t.Fatalf("%v\n%s", err, childOutput(coords))
		}
		checkSmoke(t, cfg, res)
		for k, m := range res.memEach[memSessions] {
			if m.HeapInuse == 0 || m.RSS == 0 {
				t.Errorf("no memory figures from coordinator %d: %+v", k, m)
			}
		}
		if !res.cpuOK || !res.natsOK || res.natsRSS[memSessions] == 0 || res.natsCPUStart < 0 {
			t.Errorf("no CPU figures from the coordinators, or none from the NATS servers: RSS %d", res.natsRSS[memSessions])
		}
		t.Logf("start→offer p50 %v, max %v; %d of %d on a second choice; %d starts refused by a full worker, %d of them passed on to a browser (%d browsers, %d starts at most)",
			percentile(res.toOffer, 0.5), percentile(res.toOffer, 1), res.fallbacks, cfg.Browsers, res.workerRefusals, res.refusals, res.refusedBrowsers, res.mostAttempts)
	})
}

// checkSmoke checks what TestScaleSmoke's runs have in common, beyond
// what runScale checks itself: the live rooms lists came in order and
// settled on the last, a player in its room got no news but what was on
// its way, and some browsers fell back from a full worker.
func checkSmoke(t *testing.T, cfg scaleConfig, res scaleResult) {
	t.Helper()
	// A room placed and then refused by its worker (another coordinator
	// took its last place) may be listed for a moment and then vanish:
	// such a list names fewer rooms than the one before it without
	// coming out of order.
	if res.listsBehind != 0 || (res.roomsStale != 0 && res.refusals == 0) {
		t.Errorf("%d live rooms lists out of order, %d watchers left showing an old one", res.roomsStale, res.listsBehind)
	}
	if res.newsPlaying > 2 {
		t.Errorf("a browser got %d hellos and live rooms lists while in its room, want one broadcast on its way at most", res.newsPlaying)
	}
	if res.fallbacks == 0 {
		t.Errorf("no browser of %d fell back from a full worker: the scenario does not test capacity", cfg.Browsers)
	}
}

// scaleNATS starts a NATS cluster of three real servers for the test,
// stopped when it ends, and returns their URLs and PIDs.
func scaleNATS(tb testing.TB) (urls []string, pids []int) {
	tb.Helper()
	nats := fixturetest.NATSCluster(tb, 3)
	urls = nats.URLs()
	for i := range urls {
		pids = append(pids, nats.PID(i))
	}
	return urls, pids
}

// startChildren starts n child coordinators, coordinator k on NATS node
// k mod len(urls) (as a deployment spreads them), one after the other:
// the first makes the shared bucket. stop stops them all at once (a
// child built with -race takes a second to exit).
func startChildren(n int, urls []string) (coords []scaleTarget, stop func() error, err error) {
	var children []*childProcess
	stop = func() error {
		errs := make([]error, len(children))
		var wg sync.WaitGroup
		for k, c := range children {
			wg.Go(func() { errs[k] = c.Stop() })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	for k := range n {
		c, err := startChild(urls[k%len(urls)])
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("coordinator %d: %w", k, err), stop())
		}
		children = append(children, c)
		coords = append(coords, c)
	}
	return coords, stop, nil
}

// checkGoroutines waits for the goroutines to fall back to what they
// were: the scenario's own, and the net/http server's for the
// coordinator's connections, must all have ended (the coordinator's own
// have, once Close returned).
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	waittest.Eventually(t, "the goroutines end", func() error {
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			return fmt.Errorf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		return nil
	})
}

// BenchmarkScale: 50 simulated workers (capacity 20 each, 3 zones), 500
// browser sessions and 50 browsers on the list of games watching the live
// rooms against one coordinator in a child process, on loopback. Each
// iteration runs the whole scenario against a fresh coordinator; the
// timer covers only the start phase (500 starts, at most "parallel" of
// them in flight), so ns/op is that phase's wall time.
//
// The sessions=1500 variants (issue 15) run three times as much (150
// workers, 1,500 sessions, 150 watchers) against one coordinator with its
// own NATS server inside it (coordinators=1, as a lone coordinator runs),
// one on a NATS cluster of three servers (coordinators=1/nats=3), and
// three sharing that cluster, each on its own server (coordinators=3),
// with the workers, browsers and watchers round robin over them. The
// NATS cluster is the benchmark's, the coordinators each iteration's.
// The arriving variants have each browser connect as it starts and leave
// as it quits (scaleConfig.Arrive), the others the same scenario as at
// 500 sessions.
//
// Metrics: the coordinators' own time to choose a worker (the mean of
// their pick time histograms on /metrics); start→offer (the start sent,
// the coordinator's choice, the relay to the worker, its offer relayed
// back; from the first start when a browser was refused and tried again)
// p50/p95/max and start→started p95, in ms; sessions started per second;
// the coordinators' CPU over the start phase (% of one core, summed over
// them: the machine has two); how long after the last start every
// watcher's live rooms list named every room, and the bytes of live rooms
// lists sent to them meanwhile; the coordinators' Go heap in use (after a
// collection) with everyone connected and in a room, over their idle
// baseline, in all and per session, summed over them; their resident
// memory then (VmRSS after returning freed pages) and at its peak
// (VmHWM); starts refused by a full worker and made again; the clients'
// CPU over the start phase (this process: the simulated workers and
// browsers), and the bytes of live rooms lists every browser received
// until settled (those waiting to start too), to tell a machine whose
// cores go to the clients from a slow coordinator. With a NATS
// cluster, its servers' CPU over the start phase and resident memory
// with everyone in a room, summed, beside the coordinators' (a lone
// coordinator's own server is in its figures).
func BenchmarkScale(b *testing.B) {
	for _, parallel := range []int{1, 50, 500} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			benchScale(b, scaleConfig{Workers: 50, Capacity: 20, Browsers: 500, Watchers: 50, Parallel: parallel, Seed: 6}, 1, false)
		})
	}
	for _, v := range []struct {
		name    string
		coords  int
		cluster bool
	}{{"coordinators=1", 1, false}, {"coordinators=1/nats=3", 1, true}, {"coordinators=3", 3, true}} {
		for _, arrive := range []bool{false, true} {
			for _, parallel := range []int{50, 500} {
				if arrive && parallel != 50 {
					continue // 500 browsers dialling at once measure the dialling
				}
				name := fmt.Sprintf("sessions=1500/%s/parallel=%d", v.name, parallel)
				if arrive {
					name = fmt.Sprintf("sessions=1500/arriving/%s/parallel=%d", v.name, parallel)
				}
				b.Run(name, func(b *testing.B) {
					benchScale(b, scaleConfig{Workers: 150, Capacity: 20, Browsers: 1500, Watchers: 150, Parallel: parallel, Seed: 6, Arrive: arrive}, v.coords, v.cluster)
				})
			}
		}
	}
}

// benchScale runs b.N iterations of the scenario against n fresh child
// coordinators each, sharing a NATS cluster of three servers if cluster
// is set (n must then be 1), and reports the figures.
func benchScale(b *testing.B, cfg scaleConfig, n int, cluster bool) {
	var urls []string
	var pids []int
	if cluster {
		urls, pids = scaleNATS(b)
	}
	var runs []scaleResult
	b.StopTimer()
	for range b.N {
		var coords []scaleTarget
		stop := func() error { return nil }
		var err error
		if cluster {
			coords, stop, err = startChildren(n, urls)
		} else {
			var child *childProcess
			if child, err = startChild(); err == nil {
				coords, stop = []scaleTarget{child}, child.Stop
			}
		}
		if err != nil {
			b.Fatal(err)
		}
		res, err := runScale(b.Context(), coords, pids, cfg, func(on bool) {
			if on {
				b.StartTimer()
			} else {
				b.StopTimer()
			}
		})
		if stopErr := stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			b.Fatalf("%v\n%s", err, childOutput(coords))
		}
		runs = append(runs, res)
		logScale(b, cfg, res)
	}
	reportScale(b, cfg, runs)
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

// logScale writes one run's figures in full.
func logScale(b *testing.B, cfg scaleConfig, r scaleResult) {
	m := r.mem
	heap := func(k int) float64 { return float64(m[k].HeapInuse) / kib }
	stack := func(k int) float64 { return float64(m[k].StackInuse) / kib }
	b.Logf("start→offer p50 %.2f p95 %.2f max %.2f ms; start→started p50 %.2f p95 %.2f max %.2f ms; %d starts in %v (%.0f/s); %d on a second choice",
		ms(percentile(r.toOffer, 0.5)), ms(percentile(r.toOffer, 0.95)), ms(percentile(r.toOffer, 1)),
		ms(percentile(r.toStarted, 0.5)), ms(percentile(r.toStarted, 0.95)), ms(percentile(r.toStarted, 1)),
		cfg.Browsers, r.startPhase.Round(time.Millisecond), float64(cfg.Browsers)/r.startPhase.Seconds(), r.fallbacks)
	b.Logf("the coordinator's own time to choose a worker: %.1f µs on average, %d of %d within 0.25 ms",
		float64(r.picks.sum.Nanoseconds())/1e3/float64(r.picks.count), r.picks.fast, r.picks.count)
	b.Logf("coordinator CPU: %v over the start phase (%.0f%% of a core, %.0f µs a start), %v more until settled; every list settled %v after the last start; live rooms lists to the watchers from the first start until then: %d (%.1f MiB); %d lists out of order, %d watchers left showing an old list; at most %d hellos and lists to a player in its room",
		r.cpuStart, 100*r.cpuStart.Seconds()/r.startPhase.Seconds(), float64(r.cpuStart.Microseconds())/float64(cfg.Browsers),
		r.cpuSettle, r.settle.Round(time.Millisecond), r.roomsMessages, float64(r.roomsBytes)/mib, r.roomsStale, r.listsBehind, r.newsPlaying)
	// Arriving browsers connect as they start: before the starts, only
	// the watchers are there, and the sessions bring their browsers.
	connected := cfg.Browsers + cfg.Watchers
	if cfg.Arrive {
		connected = cfg.Watchers
	}
	b.Logf("heap in use (KiB): idle %.0f; %d workers %+.0f (%.1f each); %d browsers %+.0f (%.1f each); their latency reports %+.0f (%.1f each); %d sessions %+.0f (%.1f each); after every quit %+.0f; after everyone left %+.0f (all over idle)",
		heap(memIdle),
		cfg.Workers, heap(memWorkers)-heap(memIdle), (heap(memWorkers)-heap(memIdle))/float64(cfg.Workers),
		connected, heap(memBrowsers)-heap(memWorkers), (heap(memBrowsers)-heap(memWorkers))/float64(connected),
		heap(memLatency)-heap(memBrowsers), (heap(memLatency)-heap(memBrowsers))/float64(cfg.Browsers),
		cfg.Browsers, heap(memSessions)-heap(memLatency), (heap(memSessions)-heap(memLatency))/float64(cfg.Browsers),
		heap(memQuit)-heap(memIdle), heap(memGone)-heap(memIdle))
	b.Logf("stacks in use (KiB): idle %.0f, loaded %.0f; goroutines: idle %d, workers %d, browsers %d, sessions %d, gone %d; VmRSS (MiB): idle %.1f, loaded %.1f, gone %.1f; VmHWM %.1f MiB",
		stack(memIdle), stack(memSessions),
		m[memIdle].Goroutines, m[memWorkers].Goroutines, m[memBrowsers].Goroutines, m[memSessions].Goroutines, m[memGone].Goroutines,
		float64(m[memIdle].RSS)/mib, float64(m[memSessions].RSS)/mib, float64(m[memGone].RSS)/mib, float64(m[memGone].HWM)/mib)
	if len(r.memEach[memSessions]) > 1 {
		var each []string
		for k := range r.memEach[memSessions] {
			each = append(each, fmt.Sprintf("%d: heap %+.0f KiB, VmRSS %.1f MiB",
				k, (float64(r.memEach[memSessions][k].HeapInuse)-float64(r.memEach[memIdle][k].HeapInuse))/kib, float64(r.memEach[memSessions][k].RSS)/mib))
		}
		b.Logf("each coordinator with every session (heap over its idle): %s", strings.Join(each, "; "))
	}
	b.Logf("%d starts refused by a full worker and sent to another by their coordinator; %d refusals passed on to a browser, which started again (%d browsers; %d starts at most for one)",
		r.workerRefusals, r.refusals, r.refusedBrowsers, r.mostAttempts)
	b.Logf("the clients (this process): CPU %v over the start phase (%.0f%% of a core); live rooms lists to every browser from the first start until settled: %.1f MiB",
		r.clientsCPU, 100*r.clientsCPU.Seconds()/r.startPhase.Seconds(), float64(r.allRoomsBytes)/mib)
	if r.natsOK {
		b.Logf("NATS servers: CPU %v over the start phase (%.0f%% of a core), %v more until settled; VmRSS (MiB) idle %.1f, loaded %.1f, gone %.1f; VmHWM %.1f MiB (all summed)",
			r.natsCPUStart, 100*r.natsCPUStart.Seconds()/r.startPhase.Seconds(), r.natsCPUSettle,
			float64(r.natsRSS[memIdle])/mib, float64(r.natsRSS[memSessions])/mib, float64(r.natsRSS[memGone])/mib, float64(r.natsHWM)/mib)
	}
}

// reportScale reports the runs' figures: latencies over every session of
// every run, the rest averaged over the runs.
func reportScale(b *testing.B, cfg scaleConfig, runs []scaleResult) {
	var offer, started []time.Duration
	var phase time.Duration
	var heap, perSession, rss, hwm, cpu, settle, roomsMiB, behind, refusals, workerRefusals, natsCPU, natsRSS, clientsCPU, allMiB float64
	var pk picks
	for _, r := range runs {
		offer = append(offer, r.toOffer...)
		started = append(started, r.toStarted...)
		phase += r.startPhase
		loaded := float64(r.mem[memSessions].HeapInuse) - float64(r.mem[memIdle].HeapInuse)
		heap += loaded / mib
		perSession += loaded / kib / float64(cfg.Browsers)
		rss += float64(r.mem[memSessions].RSS) / mib
		hwm += float64(r.mem[memGone].HWM) / mib
		cpu += r.cpuStart.Seconds() / r.startPhase.Seconds()
		settle += ms(r.settle)
		roomsMiB += float64(r.roomsBytes) / mib
		behind += float64(r.listsBehind)
		refusals += float64(r.refusals)
		workerRefusals += float64(r.workerRefusals)
		clientsCPU += r.clientsCPU.Seconds() / r.startPhase.Seconds()
		allMiB += float64(r.allRoomsBytes) / mib
		natsCPU += r.natsCPUStart.Seconds() / r.startPhase.Seconds()
		natsRSS += float64(r.natsRSS[memSessions]) / mib
		pk.count += r.picks.count
		pk.sum += r.picks.sum
	}
	n := float64(len(runs))
	b.ReportMetric(float64(pk.sum.Nanoseconds())/1e3/float64(pk.count), "pick-us")
	b.ReportMetric(ms(percentile(offer, 0.5)), "offer-p50-ms")
	b.ReportMetric(ms(percentile(offer, 0.95)), "offer-p95-ms")
	b.ReportMetric(ms(percentile(offer, 1)), "offer-max-ms")
	b.ReportMetric(ms(percentile(started, 0.95)), "started-p95-ms")
	b.ReportMetric(float64(len(offer))/phase.Seconds(), "sessions/s")
	b.ReportMetric(100*cpu/n, "cpu-%")
	b.ReportMetric(settle/n, "lists-settled-ms")
	b.ReportMetric(roomsMiB/n, "lists-MiB")
	b.ReportMetric(behind/n, "lists-behind")
	b.ReportMetric(heap/n, "heap-MiB")
	b.ReportMetric(perSession/n, "heap-KiB/session")
	b.ReportMetric(rss/n, "rss-MiB")
	b.ReportMetric(hwm/n, "peak-rss-MiB")
	b.ReportMetric(refusals/n, "refused")
	b.ReportMetric(workerRefusals/n, "worker-refused")
	b.ReportMetric(100*clientsCPU/n, "clients-cpu-%")
	b.ReportMetric(allMiB/n, "all-lists-MiB")
	if len(runs) > 0 && runs[0].natsOK {
		b.ReportMetric(100*natsCPU/n, "nats-cpu-%")
		b.ReportMetric(natsRSS/n, "nats-rss-MiB")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the nearest-rank q-quantile: 1 is the maximum.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
}

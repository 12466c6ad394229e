// Package check is the connectivity check: it walks the path a player's
// game takes, from the coordinator's HTTP port to a WebRTC connection to
// each worker, acting as the browser does (Pion for its RTCPeerConnection),
// and says of each step that it works, or what to fix: which port to
// open, which setting to set. `telecart check` prints it; the web app's
// /check page runs the same steps in the browser.
//
// The steps: the coordinator answers (GET /healthz); its WebSocket (/ws)
// greets with a hello; workers are registered (the hello's list); each
// worker's ping URL answers; ICE candidates are gathered with each of the
// ICE servers the hello hands out (host, srflx from STUN, relay from
// TURN); and a test connection to each worker (signal.Check) carries an
// echo on a data channel: directly, and through each TURN server alone
// (ICETransportPolicy relay), over UDP and over TCP as they are
// configured.
package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/signal"
)

// Step names a step of the check.
type Step string

// The steps, in order.
const (
	StepCoordinator Step = "coordinator"
	StepWebSocket   Step = "websocket"
	StepWorkers     Step = "workers"
	StepPing        Step = "ping"
	StepCandidates  Step = "candidates"
	StepConnection  Step = "connection"
)

// Mode is how a test connection goes: directly, or through one TURN
// server over UDP or TCP.
type Mode string

// The modes of a test connection.
const (
	ModeDirect   Mode = "direct"
	ModeRelayUDP Mode = "turn-udp"
	ModeRelayTCP Mode = "turn-tcp"
)

// Result is one step's outcome, for one worker or ICE server where the
// step has several.
type Result struct {
	Step Step
	// Worker is the worker the result is about, if any; Mode, for a
	// connection; Server, the ICE server URL for a candidate or a
	// connection through TURN.
	Worker string
	Mode   Mode
	Server string
	OK     bool
	// Words say what works, or what to fix (see Words).
	Words string
	// Err is the failure's detail, for the log: never for players.
	Err error
}

// Config configures a check.
type Config struct {
	// Coordinator is the coordinator's base URL, http://host:port.
	Coordinator string
	// Loopback offers 127.0.0.1 candidates: a check run on the machine of
	// a worker that offers them (ice_loopback), and tests.
	Loopback bool
	// Timeout bounds each step that waits on the network: a ping, a
	// gathering, a connection (default DefaultTimeout).
	Timeout time.Duration
	// Client makes the HTTP requests (default: a new http.Client).
	Client *http.Client
	Logger *slog.Logger
}

// DefaultTimeout is long enough for a connection through a TURN server
// on another continent from a busy machine.
const DefaultTimeout = 15 * time.Second

// Run runs every step it can and hands each result to report as it
// comes, in order; it returns whether every step passed. A step that
// the ones before it make impossible (no WebSocket, no hello) is not run.
func Run(ctx context.Context, cfg Config, report func(Result)) bool {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ok := true
	out := func(r Result) {
		ok = ok && r.OK
		if r.Err != nil {
			cfg.Logger.Debug("check: failed", "step", r.Step, "worker", r.Worker, "mode", r.Mode, "server", r.Server, "err", r.Err)
		}
		report(r)
	}
	base := strings.TrimSuffix(cfg.Coordinator, "/")

	// 1. The coordinator answers.
	if err := health(ctx, cfg, base); err != nil {
		var status statusError
		var untrusted *tls.CertificateVerificationError
		switch {
		case errors.As(err, &status):
			out(Result{Step: StepCoordinator, Words: Words(Failure{Kind: BadHealth, URL: base, Status: string(status)}), Err: err})
		case errors.As(err, &untrusted):
			out(Result{Step: StepCoordinator, Words: Words(Failure{Kind: Untrusted, URL: base}), Err: err})
		default:
			out(Result{Step: StepCoordinator, Words: Words(Failure{Kind: NoCoordinator, URL: base}), Err: err})
		}
		return false
	}
	out(Result{Step: StepCoordinator, OK: true, Words: fmt.Sprintf("The coordinator answers at %s.", base)})

	// 2. The WebSocket, and its hello.
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	dialCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	ws, _, err := websocket.Dial(dialCtx, wsURL, &websocket.DialOptions{HTTPClient: cfg.Client})
	cancel()
	if err != nil {
		out(Result{Step: StepWebSocket, Words: Words(Failure{Kind: NoWebSocket, URL: wsURL}), Err: err})
		return false
	}
	defer ws.CloseNow()
	ws.SetReadLimit(signal.MaxMessage)
	s := newSocket(ctx, ws)
	defer s.close()
	var hello signal.Hello
	select {
	case hello = <-s.hello:
	case <-time.After(cfg.Timeout):
		out(Result{Step: StepWebSocket, Words: Words(Failure{Kind: NoHello, URL: wsURL}), Err: errors.New("no hello")})
		return false
	case <-s.done:
		f := Failure{Kind: NoHello, URL: wsURL}
		if words := s.refused(); words != "" {
			f = Failure{Kind: SocketRefused, URL: wsURL, Message: words}
		}
		out(Result{Step: StepWebSocket, Words: Words(f), Err: s.err()})
		return false
	}
	out(Result{Step: StepWebSocket, OK: true, Words: fmt.Sprintf("The WebSocket at %s is up.", wsURL)})

	// 3. Workers.
	if len(hello.Workers) == 0 {
		out(Result{Step: StepWorkers, Words: Words(Failure{Kind: NoWorkers, URL: base})})
	} else {
		ids := make([]string, len(hello.Workers))
		for i, w := range hello.Workers {
			ids[i] = string(w.ID)
		}
		noun := "workers"
		if len(ids) == 1 {
			noun = "worker"
		}
		out(Result{Step: StepWorkers, OK: true, Words: fmt.Sprintf("%d %s registered: %s.", len(ids), noun, strings.Join(ids, ", "))})
	}

	// 4. Each worker's ping.
	for _, w := range hello.Workers {
		out(pingWorker(ctx, cfg, base, w))
	}

	// 5. ICE candidates, with each server alone.
	for _, r := range gatherAll(ctx, cfg, hello.ICEServers) {
		out(r)
	}

	// 6. A test connection to each worker, each way there is.
	for _, w := range hello.Workers {
		for _, way := range ways(hello.ICEServers) {
			out(s.connect(ctx, cfg, string(w.ID), way))
		}
	}
	return ok
}

// statusError is an HTTP status other than the one wanted.
type statusError string

func (e statusError) Error() string { return "HTTP " + string(e) }

func health(ctx context.Context, cfg Config, base string) error {
	return get(ctx, cfg, base+"/healthz")
}

// get fetches u and wants a 2xx answer.
func get(ctx context.Context, cfg Config, u string) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp.Status)
	}
	return nil
}

func pingWorker(ctx context.Context, cfg Config, base string, w signal.WorkerInfo) Result {
	r := Result{Step: StepPing, Worker: string(w.ID)}
	if w.Ping == "" {
		r.Words = Words(Failure{Kind: NoPingURL, Worker: string(w.ID)})
		return r
	}
	u := w.Ping
	if strings.HasPrefix(u, "/") {
		u = base + u // the embedded default's worker pings on the coordinator's address
	}
	start := time.Now()
	if err := get(ctx, cfg, u); err != nil {
		r.Words, r.Err = Words(Failure{Kind: NoPing, Worker: string(w.ID), URL: u}), err
		return r
	}
	r.OK = true
	r.Words = fmt.Sprintf("Worker %s's ping at %s answers (%v).", w.ID, u, time.Since(start).Round(100*time.Microsecond))
	return r
}

// server is one ICE server URL with its credentials.
type server struct {
	url                  string
	username, credential string
}

func (s server) ice() webrtc.ICEServer {
	return webrtc.ICEServer{URLs: []string{s.url}, Username: s.username, Credential: s.credential}
}

func (s server) turn() bool {
	return strings.HasPrefix(s.url, "turn:") || strings.HasPrefix(s.url, "turns:")
}

// servers splits the hello's ICE servers into one URL each: a check of
// each alone names the one that fails.
func servers(ice []signal.ICEServer) []server {
	var out []server
	for _, s := range ice {
		for _, u := range s.URLs {
			out = append(out, server{url: u, username: s.Username, credential: s.Credential})
		}
	}
	return out
}

// way is one way to connect to a worker.
type way struct {
	mode Mode
	// relay is the TURN server of a relayed way; stun, the STUN servers a
	// direct way may learn its public address from.
	relay server
	stun  []server
}

// ways are the ways to connect: directly (with the STUN servers), and
// through each TURN URL alone.
func ways(ice []signal.ICEServer) []way {
	direct := way{mode: ModeDirect}
	var relayed []way
	for _, s := range servers(ice) {
		switch {
		case s.turn() && Transport(s.url) == "udp":
			relayed = append(relayed, way{mode: ModeRelayUDP, relay: s})
		case s.turn():
			relayed = append(relayed, way{mode: ModeRelayTCP, relay: s})
		default:
			direct.stun = append(direct.stun, s)
		}
	}
	return append([]way{direct}, relayed...)
}

// api is the WebRTC API of the check's own connections, the browser's side.
func api(cfg Config) *webrtc.API {
	s := webrtc.SettingEngine{}
	s.SetIncludeLoopbackCandidate(cfg.Loopback)
	// Like the worker's: a connection that does not come up fails within
	// the step's time.
	s.SetICETimeouts(cfg.Timeout/3, cfg.Timeout/3, time.Second)
	return webrtc.NewAPI(webrtc.WithSettingEngine(s))
}

// gatherAll gathers candidates with no server (host candidates) and with
// each server alone, at once.
func gatherAll(ctx context.Context, cfg Config, ice []signal.ICEServer) []Result {
	list := append([]server{{}}, servers(ice)...)
	results := make([]Result, len(list))
	var wg sync.WaitGroup
	for i, s := range list {
		wg.Go(func() { results[i] = gatherWith(ctx, cfg, s) })
	}
	wg.Wait()
	return results
}

// gatherWith gathers with one server (none: host candidates only) and
// says whether the candidate that server should give came.
func gatherWith(ctx context.Context, cfg Config, s server) Result {
	r := Result{Step: StepCandidates, Server: s.url}
	want, kind := "host", NoHost
	conf := webrtc.Configuration{}
	if s.url != "" {
		conf.ICEServers = []webrtc.ICEServer{s.ice()}
		want, kind = "srflx", NoSrflx
		if s.turn() {
			want, kind = "relay", NoRelay
		}
	}
	types, err := gather(ctx, cfg, conf)
	if err == nil && !types[want] {
		err = fmt.Errorf("gathered %v, no %s", types, want)
	}
	if err != nil {
		r.Words, r.Err = Words(Failure{Kind: kind, URL: s.url}), err
		return r
	}
	r.OK = true
	if s.url == "" {
		r.Words = "Host candidates gathered: this machine has a network address for WebRTC."
	} else {
		r.Words = fmt.Sprintf("A %s candidate from %s.", want, s.url)
	}
	return r
}

// gather gathers every candidate of a new connection and returns their
// types.
func gather(ctx context.Context, cfg Config, conf webrtc.Configuration) (map[string]bool, error) {
	pc, err := api(cfg).NewPeerConnection(conf)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	types := map[string]bool{}
	var mu sync.Mutex
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			mu.Lock()
			types[c.Typ.String()] = true
			mu.Unlock()
		}
	})
	if _, err := pc.CreateDataChannel("gather", nil); err != nil {
		return nil, err
	}
	complete := webrtc.GatheringCompletePromise(pc)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, err
	}
	select {
	case <-complete:
	case <-time.After(cfg.Timeout):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	return types, nil
}

// candidatePort is the port of a UDP host or srflx candidate line: where
// the worker takes its players' packets.
func candidatePort(candidate string) (port string, ok bool) {
	f := strings.Fields(strings.TrimPrefix(candidate, "candidate:"))
	// foundation component protocol priority address port typ type ...
	if len(f) < 8 || !strings.EqualFold(f[2], "udp") || f[6] != "typ" || (f[7] != "host" && f[7] != "srflx") {
		return "", false
	}
	if net.ParseIP(f[4]) == nil && !strings.HasSuffix(f[4], ".local") {
		return "", false
	}
	return f[5], true
}

package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/config"
	"github.com/telecart/telecart/internal/coordinator"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/peer"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/storage"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/worker"
	"github.com/telecart/telecart/web"
)

// shutdownGrace bounds how long open requests may take once stopping.
const shutdownGrace = 5 * time.Second

// loadConfig is the configuration of the command: the defaults, the
// -config file, the environment and the flags, validated for the command.
func loadConfig(e *env, name string, args []string, cmd config.Command) (config.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	flags := config.NewFlags(fs, cmd)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: telecart %s [flags]\n\nFlags:\n", name)
		flags.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nEnvironment variables override the config file; flags override both.")
	}
	if err := parseFlags(fs, args); err != nil {
		return config.Config{}, err
	}
	cfg, err := flags.Config(os.Getenv)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate(cmd)
}

// runServe is the embedded default: a coordinator and one worker in one
// process, the bundled test ROM plus the configured game folders.
func runServe(ctx context.Context, e *env, args []string) error {
	cfg, err := loadConfig(e, "serve", args, config.Serve)
	if err != nil {
		return err
	}
	if cfg.Token == "" {
		// Its one worker is in the same process, and nothing else
		// should join.
		cfg.Token = signal.NewID[string](signal.SecretBytes)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	url := browseURL(ln.Addr())
	cfg.Overload = 1 // one machine runs everything: a busy one is better than none
	cfg.Coordinator = "ws" + strings.TrimPrefix(url, "http") + "/worker"
	// The coordinator's own /ping, on whatever address the page came from:
	// with -listen 0.0.0.0:8000 a phone on the LAN has one, this process
	// does not know it.
	cfg.PingURL = "/ping"
	w, cleanup, err := newWorker(ctx, e, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer cleanup()
	srv := serveCoordinator(ctx, e, cfg, ln, w.Metrics())
	fmt.Fprintf(e.stdout, "Telecart is running: open %s\n", url)
	return runUntilDone(ctx, w, srv)
}

func runCoordinator(ctx context.Context, e *env, args []string) error {
	cfg, err := loadConfig(e, "coordinator", args, config.Coordinator)
	if err != nil {
		return err
	}
	if cfg.Token == "" {
		return errors.New("set a worker token with -token or TELECART_TOKEN: workers present it to join")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := serveCoordinator(ctx, e, cfg, ln, nil)
	fmt.Fprintf(e.stdout, "Telecart coordinator is running: open %s\n", browseURL(ln.Addr()))
	return runUntilDone(ctx, nil, srv)
}

func runWorker(ctx context.Context, e *env, args []string) error {
	cfg, err := loadConfig(e, "worker", args, config.Worker)
	if err != nil {
		return err
	}
	if cfg.Token == "" {
		return errors.New("set the coordinator's worker token with -token or TELECART_TOKEN")
	}
	var ln net.Listener
	if cfg.PingListen != "" {
		if ln, err = net.Listen("tcp", cfg.PingListen); err != nil {
			return err
		}
		defer ln.Close()
		if cfg.PingURL == "" {
			cfg.PingURL = "http://" + ln.Addr().String() + "/ping"
		}
	}
	w, cleanup, err := newWorker(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	if ln != nil {
		e.log.Info("worker: serving /ping, /metrics, /healthz and /readyz", "listen", ln.Addr(), "ping", cfg.PingURL)
		defer serveHTTP(ctx, ln, w.Handler())()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-e.drain:
			w.Drain()
		case <-ctx.Done():
		}
	}()
	return w.Run(ctx)
}

// serveHTTP serves h on ln until the function it returns is called.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // ErrServerClosed after stop
	}()
	return func() {
		srv.Close()
		<-done
	}
}

// coordinatorServer is a coordinator and the HTTP server serving it.
type coordinatorServer struct {
	coord  *coordinator.Coordinator
	http   *http.Server
	served <-chan error // Serve's error, once it returns
}

// serveCoordinator serves the coordinator on ln, with a worker's metrics
// at /worker/metrics when there is one in the process.
func serveCoordinator(ctx context.Context, e *env, cfg config.Config, ln net.Listener, workerMetrics http.Handler) *coordinatorServer {
	ice := make([]signal.ICEServer, len(cfg.ICEServers))
	for i, s := range cfg.ICEServers {
		ice[i] = signal.ICEServer(s)
	}
	ccfg := coordinator.Config{Token: cfg.Token, ICEServers: ice, Web: web.FS(), Logger: e.log, Overload: cfg.Overload,
		TURN: coordinator.TURN{URLs: cfg.TURNURLs, Secret: cfg.TURNSecret, TTL: time.Duration(cfg.TURNTTL)}}
	if workerMetrics != nil {
		// The one worker is this process's: its rooms went with the last
		// one, and no link to them will be good again.
		ccfg.RejoinWindow = coordinator.NoRejoinWindow
	}
	c := coordinator.New(ccfg)
	h := c.Handler()
	if workerMetrics != nil {
		mux := http.NewServeMux()
		mux.Handle("/", h)
		mux.Handle("GET /worker/metrics", workerMetrics)
		h = mux
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// WebSocket handlers outlive Shutdown; this context ends them.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return &coordinatorServer{coord: c, http: srv, served: done}
}

// browseURL is the address to open in a browser on this machine for a
// server listening on addr: one on every address ("[::]:8000") is on
// 127.0.0.1 too, where "[::]" would take a browser nowhere.
func browseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// newWorker builds a worker and its library, with the bundled test ROM
// written to a folder that cleanup removes.
func newWorker(ctx context.Context, e *env, cfg config.Config) (*worker.Worker, func(), error) {
	store, err := openSaves(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	e.log.Info("saves", "in", store.String())
	dir, err := os.MkdirTemp("", "telecart-worker-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	rom := filepath.Join(dir, "telecart-test.nes")
	if err := os.WriteFile(rom, testrom.ROM(), 0o644); err != nil {
		cleanup()
		return nil, nil, err
	}
	lib, err := library.Scan(e.log, cfg.Games, library.Game{
		GameInfo: signal.GameInfo{ID: "nes:telecart-test.nes", Title: "Telecart Test ROM", System: "nes"},
		Path:     rom,
	})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	ice := make([]webrtc.ICEServer, len(cfg.ICEServers))
	for i, s := range cfg.ICEServers {
		ice[i] = webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential}
	}
	rc := cfg.RunnerConfig()
	rc.SystemDir, rc.SaveDir = dir, dir
	w, err := worker.New(worker.Config{
		ID: signal.WorkerID(cfg.WorkerID), Zone: cfg.Zone, Ping: cfg.PingURL, Capacity: cfg.Capacity, Linger: time.Duration(cfg.RoomLinger),
		Saves: store, Autosave: time.Duration(cfg.Autosave),
		Coordinator: cfg.Coordinator, Token: cfg.Token,
		Library: lib, CoreDirs: cfg.Cores,
		Runner:     runner.Options{Config: rc},
		ICE:        peer.ICEConfig{PublicIPs: cfg.PublicIPs, UDPPort: cfg.UDPPort, Loopback: cfg.ICELoopback},
		ICEServers: ice,
		Logger:     e.log,
	})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return w, cleanup, nil
}

// openSaves opens the storage of players' saves: the S3 bucket when one
// is set, else the directory.
func openSaves(ctx context.Context, cfg config.Config) (*saves.Store, error) {
	if cfg.S3.Endpoint != "" {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s, err := storage.S3(ctx, cfg.S3)
		if err != nil {
			return nil, err
		}
		return saves.New(s), nil
	}
	s, err := storage.Local(cfg.Saves)
	if err != nil {
		return nil, err
	}
	return saves.New(s), nil
}

// runUntilDone runs the worker (if any) and serves until ctx ends or the
// server fails, then stops the worker's rooms before the server, and the
// server before the coordinator: the server takes no new connection, and
// the coordinator's Close ends the WebSockets and waits for its
// goroutines.
func runUntilDone(ctx context.Context, w *worker.Worker, srv *coordinatorServer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workerDone := make(chan error, 1)
	if w != nil {
		go func() { workerDone <- w.Run(ctx) }()
	}
	var err error
	served := false
	select {
	case <-ctx.Done():
	case err = <-srv.served:
		served = true
	}
	cancel()
	if w != nil {
		<-workerDone
	}
	shutdownCtx, stop := context.WithTimeout(context.Background(), shutdownGrace)
	defer stop()
	if serr := srv.http.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = serr
	}
	if cerr := srv.coord.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if !served {
		<-srv.served // ErrServerClosed, now that Shutdown has run
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

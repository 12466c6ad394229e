package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
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
	"github.com/telecart/telecart/internal/tlsconfig"
	"github.com/telecart/telecart/internal/worker"
	"github.com/telecart/telecart/internal/workerauth"
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
	for _, name := range config.UnknownVariables(os.Environ()) {
		if name == "TELECART_TOKEN" {
			// The one token all workers shared, before credentials.
			e.log.Warn("config: TELECART_TOKEN is no setting any more: give the coordinator worker_secret (TELECART_WORKER_SECRET), " +
				"and each worker a credential of its own, made by telecart worker-token (TELECART_WORKER_TOKEN)")
			continue
		}
		e.log.Warn("config: ignoring an environment variable that is no setting (misspelt?)", "variable", name)
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
	if len(cfg.WorkerSecret) == 0 {
		// Its one worker is in the same process, and nothing else
		// should join.
		cfg.WorkerSecret = []string{signal.NewID[string](signal.SecretBytes)}
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = "worker-" + signal.NewID[string](signal.NameBytes)
	}
	cred, err := workerauth.Credential(cfg.WorkerSecret[0], signal.WorkerID(cfg.WorkerID))
	if err != nil {
		return err
	}
	cfg.WorkerToken, cfg.WorkerTokenFile = cred, ""
	ln, tlsL, stopACMEHTTP, err := listen(ctx, e, cfg, cfg.Listen)
	if err != nil {
		return err
	}
	defer stopACMEHTTP()
	url := browseURL(ln.Addr(), tlsL)
	cfg.Overload = 1 // one machine runs everything: a busy one is better than none
	// The worker dials its own listener on loopback; over TLS, trusting
	// exactly the certificate this process serves, whatever its name and
	// CA (and the address dialled) are.
	cfg.Coordinator = "ws://" + dialAddr(ln.Addr()) + "/worker"
	var link *tls.Config
	if tlsL != nil {
		cfg.Coordinator = "wss://" + dialAddr(ln.Addr()) + "/worker"
		link = tlsL.SelfClient()
	}
	// The coordinator's own /ping, on whatever address the page came from:
	// with -listen 0.0.0.0:8000 a phone on the LAN has one, this process
	// does not know it.
	cfg.PingURL = "/ping"
	w, cleanup, err := newWorker(ctx, e, cfg, link)
	if err != nil {
		ln.Close()
		return err
	}
	defer cleanup()
	srv, err := serveCoordinator(ctx, e, cfg, ln, tlsL, w.Metrics())
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(e.stdout, "Telecart is running: open %s\n", url)
	return runUntilDone(ctx, w, srv)
}

// listen opens the command's listener on addr (the coordinator's, or a
// worker's ping listener), with its TLS when it has a certificate, and
// serves ACME's HTTP-01 challenge until stop.
func listen(ctx context.Context, e *env, cfg config.Config, addr string) (ln net.Listener, tlsL *tlsconfig.Listener, stop func(), err error) {
	if tlsL, err = listenerTLS(e, cfg); err != nil {
		return nil, nil, nil, err
	}
	if stop, err = serveACMEHTTP(ctx, e, cfg, tlsL); err != nil {
		return nil, nil, nil, err
	}
	if ln, err = net.Listen("tcp", addr); err != nil {
		stop()
		return nil, nil, nil, err
	}
	warnACMEPort(e, cfg, ln.Addr())
	return ln, tlsL, stop, nil
}

func runCoordinator(ctx context.Context, e *env, args []string) error {
	cfg, err := loadConfig(e, "coordinator", args, config.Coordinator)
	if err != nil {
		return err
	}
	if len(cfg.WorkerSecret) == 0 {
		return errors.New("set the workers' secret, worker_secret (TELECART_WORKER_SECRET or the -config file; " +
			"make one with openssl rand -hex 32): each worker's credential is made with it by telecart worker-token")
	}
	ln, tlsL, stopACMEHTTP, err := listen(ctx, e, cfg, cfg.Listen)
	if err != nil {
		return err
	}
	defer stopACMEHTTP()
	srv, err := serveCoordinator(ctx, e, cfg, ln, tlsL, nil)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(e.stdout, "Telecart coordinator is running: open %s\n", browseURL(ln.Addr(), tlsL))
	return runUntilDone(ctx, nil, srv)
}

func runWorker(ctx context.Context, e *env, args []string) error {
	cfg, err := loadConfig(e, "worker", args, config.Worker)
	if err != nil {
		return err
	}
	if cfg.WorkerToken == "" && cfg.WorkerTokenFile == "" {
		return errors.New("set the worker's credential, worker_token (TELECART_WORKER_TOKEN) or worker_token_file (-token-file): " +
			"make it with `telecart worker-token -id ID` where the coordinator's worker_secret is")
	}
	link, err := tlsconfig.Client(cfg.CoordinatorCA)
	if err != nil {
		return err
	}
	var ln net.Listener
	var pingTLS *tlsconfig.Listener
	if cfg.PingListen != "" {
		var stopACMEHTTP func()
		if ln, pingTLS, stopACMEHTTP, err = listen(ctx, e, cfg, cfg.PingListen); err != nil {
			return err
		}
		defer stopACMEHTTP()
		defer ln.Close()
		if cfg.PingURL == "" {
			cfg.PingURL = "http://" + ln.Addr().String() + "/ping"
			if pingTLS != nil {
				cfg.PingURL = pingTLS.URL(ln.Addr().String()) + "/ping"
			}
		}
	}
	w, cleanup, err := newWorker(ctx, e, cfg, link)
	if err != nil {
		return err
	}
	defer cleanup()
	if ln != nil {
		e.log.Info("worker: serving /ping, /healthz and /readyz", "listen", ln.Addr(), "ping", cfg.PingURL, "metrics", cfg.MetricsToken != "")
		defer serveHTTP(ctx, e, ln, pingTLS, w.Handler())()
	}
	stopMetrics, err := serveMetrics(ctx, e, cfg, w.Metrics())
	if err != nil {
		return err
	}
	defer stopMetrics()
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

// listenerTLS is the TLS of the command's listener (the coordinator's, a
// worker's ping listener), or nil when it serves plain HTTP.
func listenerTLS(e *env, cfg config.Config) (*tlsconfig.Listener, error) {
	return tlsconfig.New(tlsconfig.Server{
		CertFile: cfg.TLSCert,
		KeyFile:  cfg.TLSKey,
		ACME: tlsconfig.ACME{
			Domains: cfg.ACMEDomains, Cache: cfg.ACMECache, Directory: cfg.ACMECA, Email: cfg.ACMEEmail,
			Roots: e.acmeRoots,
		},
	})
}

// serveACMEHTTP serves, on acme_http_listen when it is set, ACME's
// HTTP-01 challenges and a redirect to HTTPS, until the function it
// returns is called.
func serveACMEHTTP(ctx context.Context, e *env, cfg config.Config, tlsL *tlsconfig.Listener) (stop func(), err error) {
	if cfg.ACMEHTTPListen == "" || tlsL == nil || tlsL.HTTPHandler() == nil {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.ACMEHTTPListen)
	if err != nil {
		return nil, err
	}
	e.log.Info("ACME: answering HTTP-01 challenges, and sending browsers to HTTPS", "listen", ln.Addr())
	return serveHTTP(ctx, e, ln, nil, tlsL.HTTPHandler()), nil
}

// warnACMEPort tells the operator of a listener with ACME on a port other
// than 443, and no acme_http_listen on port 80, how the CA's check must
// reach it. Not an error: those ports may be forwarded (a NAT, a
// firewall's redirect, a TCP proxy).
func warnACMEPort(e *env, cfg config.Config, addr net.Addr) {
	if len(cfg.ACMEDomains) == 0 {
		return
	}
	_, port, err := net.SplitHostPort(addr.String())
	_, httpPort, _ := net.SplitHostPort(cfg.ACMEHTTPListen)
	if err == nil && port != "443" && httpPort != "80" {
		e.log.Warn("ACME: the CA checks each name by connecting to its port 443 (TLS-ALPN-01), or to its port 80 (HTTP-01) with acme_http_listen, "+
			"and neither is this process's: forward port 443 of each name to this listener (or port 80 to acme_http_listen), or no certificate will come",
			"listen", addr, "acme_http_listen", cfg.ACMEHTTPListen, "domains", strings.Join(cfg.ACMEDomains, ","))
	}
}

// serveMetrics serves h, the metrics, to anyone on metrics_listen when
// it is set (an address the operator keeps private), until the function
// it returns is called.
func serveMetrics(ctx context.Context, e *env, cfg config.Config, h http.Handler) (stop func(), err error) {
	if cfg.MetricsListen == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("metrics_listen: %w", err)
	}
	e.log.Info("serving /metrics, to anyone who reaches this address", "metrics_listen", ln.Addr())
	return serveHTTP(ctx, e, ln, nil, h), nil
}

// serveHTTP serves h on ln, over TLS when tlsL is not nil, until the
// function it returns is called.
func serveHTTP(ctx context.Context, e *env, ln net.Listener, tlsL *tlsconfig.Listener, h http.Handler) (stop func()) {
	srv := newServer(ctx, e, h, tlsL)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = serve(srv, ln) // ErrServerClosed after stop
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
	// stopMetrics stops the metrics_listen server, if any.
	stopMetrics func()
}

// serveCoordinator serves the coordinator on ln, over TLS when tlsL is
// not nil, with a worker's metrics at /worker/metrics when there is one
// in the process; and its metrics on metrics_listen, when set.
func serveCoordinator(ctx context.Context, e *env, cfg config.Config, ln net.Listener, tlsL *tlsconfig.Listener, workerMetrics http.Handler) (*coordinatorServer, error) {
	ice := make([]signal.ICEServer, len(cfg.ICEServers))
	for i, s := range cfg.ICEServers {
		ice[i] = signal.ICEServer(s)
	}
	ccfg := coordinator.Config{Secrets: cfg.WorkerSecret, MetricsToken: cfg.MetricsToken, WorkerMetrics: workerMetrics,
		ICEServers: ice, Web: web.FS(), Logger: e.log, Overload: cfg.Overload,
		TURN: coordinator.TURN{URLs: cfg.TURNURLs, Secret: cfg.TURNSecret, TTL: time.Duration(cfg.TURNTTL)}, Limits: limits(cfg), NATS: cfg.NATS}
	if workerMetrics != nil {
		// The one worker is this process's: its rooms went with the last
		// one, and no link to them will be good again.
		ccfg.RejoinWindow = coordinator.NoRejoinWindow
	}
	c, err := coordinator.New(ccfg)
	if err != nil {
		return nil, err
	}
	stopMetrics, err := serveMetrics(ctx, e, cfg, c.Metrics())
	if err != nil {
		c.Close()
		return nil, err
	}
	srv := newServer(ctx, e, c.Handler(), tlsL)
	done := make(chan error, 1)
	go func() { done <- serve(srv, ln) }()
	return &coordinatorServer{coord: c, http: srv, served: done, stopMetrics: stopMetrics}, nil
}

// limits are the coordinator's limits of cfg, which Validate has checked.
func limits(cfg config.Config) coordinator.Limits {
	l := cfg.Limits
	proxies, _ := cfg.ProxyPrefixes()
	browsers := l.Browsers
	if browsers == 0 {
		browsers = coordinator.DefaultBrowsers()
	}
	return coordinator.Limits{
		Sockets: l.Sockets, StartsPerMinute: l.Starts, Rooms: l.Rooms, JoinsPerSecond: l.Joins, Unanswered: l.Unanswered,
		PlayerRooms: l.PlayerRooms, PlayerUnanswered: l.PlayerUnanswered, Browsers: browsers, TrustedProxies: proxies,
	}
}

// httpLimits bound what a client can hold of a server: its time to send
// a request's header and the whole request, to take the answer, to keep
// an idle connection, and the size of the header and the body. A
// WebSocket is none of these' business: net/http clears a connection's
// deadlines when a handler takes it over (Hijack, which the WebSocket
// library does), and a game's socket lives as long as the game.
type httpLimits struct {
	ReadHeader, Read, Write, Idle time.Duration
	MaxHeaderBytes                int
	MaxBody                       int64
}

// defaultHTTPLimits suit the web app, the workers' ping, the metrics and
// the operator's drain: no request has a body worth the name (the drain's
// is empty; saves travel over WebRTC), the largest answer is a module of
// the app, and a browser times a ping on a connection it keeps.
func defaultHTTPLimits() httpLimits {
	return httpLimits{
		ReadHeader: 10 * time.Second,
		Read:       30 * time.Second,
		// A module of the app on a slow phone's network, with room to spare.
		Write:          60 * time.Second,
		Idle:           60 * time.Second,
		MaxHeaderBytes: 32 << 10,
		MaxBody:        64 << 10,
	}
}

// newServer is an HTTP server of h, with TLS when tlsL is not nil, and
// e's limits.
func newServer(ctx context.Context, e *env, h http.Handler, tlsL *tlsconfig.Listener) *http.Server {
	limits := defaultHTTPLimits()
	if e.http != nil {
		limits = *e.http
	}
	srv := &http.Server{
		Handler:           bounded(h, limits.MaxBody),
		ReadHeaderTimeout: limits.ReadHeader,
		ReadTimeout:       limits.Read,
		WriteTimeout:      limits.Write,
		IdleTimeout:       limits.Idle,
		MaxHeaderBytes:    limits.MaxHeaderBytes,
		// WebSocket handlers outlive Shutdown; this context ends them.
		BaseContext: func(net.Listener) context.Context { return ctx },
		// Handshakes that fail (scanners, a plain request to the TLS
		// port) are no news to an operator.
		ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	if tlsL != nil {
		srv.TLSConfig = tlsL.Config
	}
	return srv
}

// bounded reads at most limit bytes of any request's body: a handler that
// reads one gets an error past that, and the connection is closed.
func bounded(h http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

// serve serves srv on ln, over TLS when srv has a TLS configuration:
// ServeTLS also offers HTTP/2 (WebSockets stay on HTTP/1.1 connections,
// as Go's HTTP/2 server offers no extended CONNECT), and answers a
// plain HTTP request with 400 "Client sent an HTTP request to an HTTPS
// server".
func serve(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// browseURL is the address to open in a browser on this machine for a
// server listening on addr, with TLS when tlsL is not nil (on a name of
// its certificate).
func browseURL(addr net.Addr, tlsL *tlsconfig.Listener) string {
	if tlsL != nil {
		return tlsL.URL(addr.String())
	}
	return "http://" + dialAddr(addr)
}

// dialAddr is the address to dial on this machine for a server listening
// on addr: one on every address ("[::]:8000") is on 127.0.0.1 too, where
// "[::]" would take a browser nowhere.
func dialAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// newWorker builds a worker and its library, with the bundled test ROM
// written to a folder that cleanup removes; link is its link's TLS.
func newWorker(ctx context.Context, e *env, cfg config.Config, link *tls.Config) (*worker.Worker, func(), error) {
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
	lib, err := library.ScanWith(e.log, library.Options{Dirs: cfg.Games, Thumbnails: cfg.Thumbnails}, library.Game{
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
		MaxSpectators: cfg.MaxSpectators, UploadBudget: int64(cfg.UploadBudget) << 20, RunnerPool: cfg.RunnerPool,
		Saves: store, Autosave: time.Duration(cfg.Autosave),
		Coordinator: cfg.Coordinator, TLS: link,
		Credential: cfg.WorkerToken, CredentialFile: cfg.WorkerTokenFile, MetricsToken: cfg.MetricsToken,
		Library: lib, CoreDirs: cfg.Cores,
		Runner:     runner.Options{Config: rc},
		RunAhead:   cfg.RunAheadPolicy(),
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
	srv.stopMetrics()
	if !served {
		<-srv.served // ErrServerClosed, now that Shutdown has run
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

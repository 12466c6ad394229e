package worker

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/coordinator"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/tlsconfig"
	"github.com/telecart/telecart/internal/tlstest"
	"github.com/telecart/telecart/internal/waittest"
	"github.com/telecart/telecart/internal/workerauth"
)

// startTLSCoordinator serves a coordinator on loopback, over HTTPS with
// a certificate from ca for names when ca is not nil, and returns its
// address (host:port).
func startTLSCoordinator(t *testing.T, ca *tlstest.CA, names ...string) string {
	t.Helper()
	coord, err := coordinator.New(coordinator.Config{Secrets: []string{testSecret}, Logger: slog.New(slog.DiscardHandler), Overload: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(coord.Handler())
	ctx, stop := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused, on purpose
	if ca == nil {
		srv.Start()
	} else {
		cert, key := ca.Leaf(t, names...)
		l, err := tlsconfig.New(tlsconfig.Server{CertFile: cert, KeyFile: key})
		if err != nil {
			t.Fatal(err)
		}
		srv.TLS = l.Config
		srv.StartTLS()
	}
	t.Cleanup(func() {
		stop()
		srv.Close()
		coord.Close()
	})
	return srv.Listener.Addr().String()
}

// TestLinkOverTLS: a worker that trusts the coordinator's CA dials
// wss:// and registers; a browser over wss:// sees its games.
func TestLinkOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "Telecart test CA")
	addr := startTLSCoordinator(t, ca, "127.0.0.1")
	trust, err := tlsconfig.Client(ca.File(t))
	if err != nil {
		t.Fatal(err)
	}
	startLinkWorker(t, "wss://"+addr+"/worker", trust, Config{Credential: credential(t, testSecret, "w")}, slog.New(slog.DiscardHandler))
	b := gobrowsertest.DialTLS(t, "https://"+addr, &tls.Config{RootCAs: ca.Pool()})
	if h := b.WaitGames(); len(h.Games) != 1 || h.Games[0].ID != testGame {
		t.Fatalf("games over wss: %+v", h.Games)
	}
}

// TestLinkRefused: a worker refuses a coordinator it cannot verify, or
// that speaks otherwise than it dials, or is refused its token; it says
// why in words an operator acts on, and keeps dialling.
func TestLinkRefused(t *testing.T) {
	ca := tlstest.NewCA(t, "Telecart test CA")
	trust, err := tlsconfig.Client(ca.File(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		ca    *tlstest.CA // the coordinator's certificate's; nil: plain HTTP
		names []string
		url   func(addr string) string
		trust *tls.Config
		cred  Config // the credential and id; none: the coordinator's credential for "w"
		say   string
	}{
		{"a CA the worker does not know", ca, []string{"127.0.0.1"}, wss, nil, Config{},
			"the coordinator's certificate is not trusted: it is signed by a CA this worker does not know; set coordinator_ca"},
		{"a certificate for another name", ca, []string{"coordinator.example.org"}, wss, trust, Config{},
			"the coordinator's certificate is not for 127.0.0.1: dial the coordinator by a name its certificate holds (coordinator.example.org)"},
		{"ws:// to a TLS port", ca, []string{"127.0.0.1"}, ws, nil, Config{},
			"the coordinator speaks TLS at this address (it refused a plain request): dial wss://"},
		{"wss:// to a plain port", nil, nil, wss, trust, Config{},
			"the coordinator does not speak TLS at this address"},
		{"another secret's credential", ca, []string{"127.0.0.1"}, wss, trust, Config{Credential: credential(t, "another-secret-0123", "w")},
			"the coordinator refused this worker's credential: make one with `telecart worker-token -id ID`"},
		{"another worker's credential", nil, nil, ws, nil, Config{ID: "w", Credential: credential(t, testSecret, "v")},
			"worker_token cannot serve: it is worker v's, and this worker is w"},
		{"no credential", nil, nil, ws, nil, Config{ID: "w"},
			"worker_token cannot serve: " + workerauth.ErrMalformed.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startTLSCoordinator(t, tt.ca, tt.names...)
			var logs fixturetest.SyncBuffer
			cred := tt.cred
			if cred.Credential == "" && cred.ID == "" {
				cred.Credential = credential(t, testSecret, "w")
			}
			startLinkWorker(t, tt.url(addr), tt.trust, cred, slog.New(slog.NewTextHandler(&logs, nil)))
			// Said once, and again at the next try: the worker keeps dialling.
			waittest.Eventually(t, "the worker saying why, twice", func() error {
				if n := strings.Count(logs.String(), tt.say); n < 2 {
					return fmt.Errorf("said %d times in:\n%s", n, logs.String())
				}
				return nil
			})
			if strings.Contains(logs.String(), "connected to coordinator") {
				t.Errorf("connected:\n%s", logs.String())
			}
		})
	}
}

func wss(addr string) string { return "wss://" + addr + "/worker" }
func ws(addr string) string  { return "ws://" + addr + "/worker" }

// startLinkWorker runs a worker with the test ROM that dials url with
// the credential and id of cred, until the test ends.
func startLinkWorker(t *testing.T, url string, trust *tls.Config, cred Config, log *slog.Logger) {
	t.Helper()
	lib, err := library.New(library.Game{
		GameInfo: signal.GameInfo{ID: testGame, Title: "Telecart Test ROM", System: "nes"},
		Path:     fixturetest.TestROM(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{ID: cred.ID, Capacity: 1, Coordinator: url, TLS: trust, Credential: cred.Credential, CredentialFile: cred.CredentialFile, Library: lib, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

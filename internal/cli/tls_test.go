package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/tlstest"
	"github.com/telecart/telecart/internal/waittest"
)

// running is a telecart command a test runs, and what it printed.
type running struct {
	stdout, stderr fixturetest.SyncBuffer
}

// startCommand runs telecart with args, in e's world when e is not nil
// (its outputs replaced), until the test ends; it must then exit 0.
func startCommand(t *testing.T, e *env, args ...string) *running {
	t.Helper()
	c := &running{}
	if e == nil {
		e = &env{}
	}
	e.stdout, e.stderr = &c.stdout, &c.stderr
	e.log = slog.New(slog.NewTextHandler(&c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- e.run(ctx, args) }()
	t.Cleanup(func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("%v: exit %d\n%s", args, c, e.stderr)
		}
	})
	return c
}

// wait waits for re in what the command printed, and returns its first
// submatch.
func (c *running) wait(t *testing.T, what string, re *regexp.Regexp) string {
	t.Helper()
	var m []string
	waittest.Eventually(t, what, func() error {
		if m = re.FindStringSubmatch(c.stdout.String() + c.stderr.String()); m == nil {
			return fmt.Errorf("not in:\n%s\n%s", c.stdout.String(), c.stderr.String())
		}
		return nil
	})
	return m[1]
}

var openHTTPS = regexp.MustCompile(`open (https://[^\s]+)`)

// get fetches url with client, and returns the status and body.
func get(client *http.Client, url string) (int, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestTLS runs a coordinator and a worker with certificates from files:
// the coordinator serves HTTPS and answers a plain request with a clear
// 400; a worker that does not trust its CA refuses it and says so; one
// given the CA in coordinator_ca dials wss:// and registers, and serves
// its ping over HTTPS; browsers play over wss://.
func TestTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "Telecart test CA")
	cert, key := ca.Loopback(t)
	coord := startCommand(t, nil, "coordinator", "-listen", "127.0.0.1:0", "-config", secretConfig(t), "-tls-cert", cert, "-tls-key", key)
	base := coord.wait(t, "the https address to open, printed", openHTTPS)
	if !regexp.MustCompile(`^https://127\.0\.0\.1:\d+$`).MatchString(base) {
		t.Fatalf("open %s, want https://127.0.0.1:PORT", base)
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	defer trusting.CloseIdleConnections()

	// A page's plain http:// to the TLS port: Go's answer, said plainly.
	code, body, err := get(http.DefaultClient, "http"+strings.TrimPrefix(base, "https")+"/healthz")
	if err != nil || code != http.StatusBadRequest || !strings.Contains(body, "Client sent an HTTP request to an HTTPS server") {
		t.Errorf("http:// to the TLS port: %d %q %v; want 400 saying so", code, body, err)
	}

	worker := func(extra ...string) *running {
		args := []string{"worker", "-coordinator", "wss" + strings.TrimPrefix(base, "https") + "/worker", "-token-file", credentialFile(t, "w"),
			"-games", "", "-saves", t.TempDir(), "-ping-listen", "127.0.0.1:0", "-tls-cert", cert, "-tls-key", key}
		return startCommand(t, nil, append(args, extra...)...)
	}
	// Without coordinator_ca the test's CA is nobody's: refused, and said
	// why, at each try.
	refusing := worker()
	refusing.wait(t, "the worker refusing the coordinator's certificate, twice", regexp.MustCompile(
		`(?s)(the coordinator's certificate is not trusted.*set coordinator_ca).*the coordinator's certificate is not trusted`))

	w := worker("-coordinator-ca", ca.File(t))
	pingURL := w.wait(t, "the worker's ping URL", regexp.MustCompile(`worker: serving /ping.* ping=(\S+)`))
	w.wait(t, "the worker connected", regexp.MustCompile(`(worker: connected to coordinator)`))
	b := gobrowsertest.DialTLS(t, base, &tls.Config{RootCAs: ca.Pool()})
	hello := b.WaitGames()
	if len(hello.Games) == 0 || len(hello.Workers) != 1 || hello.Workers[0].Ping != pingURL {
		t.Fatalf("hello over wss: %+v; want the worker's games and its ping %s", hello, pingURL)
	}
	// The worker's ping listener over HTTPS, and only over HTTPS.
	if !strings.HasPrefix(pingURL, "https://127.0.0.1:") {
		t.Errorf("ping URL %s, want https://127.0.0.1:PORT/ping", pingURL)
	}
	if code, _, err := get(trusting, pingURL); code != http.StatusNoContent {
		t.Errorf("GET %s: %d %v, want 204", pingURL, code, err)
	}
	if code, _, _ := get(http.DefaultClient, "http"+strings.TrimPrefix(pingURL, "https")); code != http.StatusBadRequest {
		t.Errorf("plain GET of the ping listener: %d, want 400", code)
	}

	// telecart check over HTTPS and wss: with the private CA, the
	// coordinator, its WebSocket, the worker and its ping pass (the
	// connection steps are the check package's to test); without it,
	// the first step names the certificate.
	var out, errOut strings.Builder
	e := &env{stdout: &out, stderr: &errOut, log: slog.New(slog.DiscardHandler)}
	e.run(context.Background(), []string{"check", "-coordinator", base, "-coordinator-ca", ca.File(t)})
	for _, want := range []string{"ok    The coordinator answers at " + base, "ok    The WebSocket", "ok    Worker"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("telecart check with the CA printed:\n%s\nwant a line %q", out.String(), want)
		}
	}
	t.Logf("check:\n%s", out.String())
	out.Reset()
	if code := e.run(context.Background(), []string{"check", "-coordinator", base}); code == 0 || !strings.Contains(out.String(), "FAIL  The coordinator's certificate at "+base+" is not trusted here") {
		t.Errorf("telecart check without the CA: exit %d, printed:\n%s\nwant a failure naming the certificate", code, out.String())
	}
}

// TestServeTLS runs the embedded default over HTTPS: its worker dials its
// own listener over wss:// and trusts the certificate it serves, also one
// from a CA nobody trusts and for a name other than the address dialled;
// the address printed is on a name of the certificate.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "Telecart test CA")
	for _, tc := range []struct {
		names []string
		open  *regexp.Regexp
	}{
		{[]string{"127.0.0.1", "localhost"}, regexp.MustCompile(`^https://127\.0\.0\.1:(\d+)$`)},
		{[]string{"play.example.org"}, regexp.MustCompile(`^https://play\.example\.org:(\d+)$`)},
	} {
		t.Run(tc.names[0], func(t *testing.T) {
			cert, key := ca.Leaf(t, tc.names...)
			serve := startCommand(t, nil, "serve", "-listen", "127.0.0.1:0", "-games", "", "-saves", t.TempDir(), "-tls-cert", cert, "-tls-key", key)
			open := serve.wait(t, "the https address to open, printed", openHTTPS)
			m := tc.open.FindStringSubmatch(open)
			if m == nil {
				t.Fatalf("open %s, want %v", open, tc.open)
			}
			// The name printed, on this listener.
			client := &http.Client{Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: ca.Pool()},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+m[1])
				},
			}}
			defer client.CloseIdleConnections()
			waittest.Eventually(t, "the embedded worker, registered over wss://", func() error {
				code, body, err := get(client, open+"/healthz")
				if err != nil || code != http.StatusOK || !strings.Contains(body, `"workers":1`) {
					return fmt.Errorf("%d %s %v\n%s", code, body, err, serve.stderr.String())
				}
				return nil
			})
		})
	}
}

// TestACME gets the certificate of the coordinator, alone and in the
// embedded default, from pebble, Let's Encrypt's test CA, on loopback,
// validated for real: pebble resolves the name with a DNS answerer of
// the test's, which says 127.0.0.1, and connects to the coordinator's
// port for the TLS-ALPN-01 challenge, which the coordinator answers on
// its own listener. The embedded default's worker dials its listener
// over wss:// with that certificate. With acme_http_listen, where the
// TLS-ALPN-01 check finds no listener, the CA checks over HTTP (HTTP-01)
// instead, and the HTTP listener sends browsers to HTTPS.
func TestACME(t *testing.T) {
	t.Parallel()
	const name = "play.telecart.test"
	for _, tc := range []struct {
		name    string
		args    []string
		workers string
		http    bool // HTTP-01 on -acme-http-listen; TLS-ALPN-01 finds nobody
	}{
		{"coordinator", []string{"coordinator"}, `"workers":0`, false},
		{"serve", []string{"serve", "-games", "", "-saves", ""}, `"workers":1`, false},
		{"HTTP-01", []string{"coordinator"}, `"workers":0`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := freePort(t)
			_, port, _ := net.SplitHostPort(addr)
			tlsPort, httpPort := port, port
			args := slices.Clone(tc.args)
			if tc.http {
				httpAddr := freePort(t)
				_, httpPort, _ = net.SplitHostPort(httpAddr)
				_, tlsPort, _ = net.SplitHostPort(freePort(t)) // nothing listens there
				args = append(args, "-acme-http-listen", httpAddr)
			}
			pebble := fixturetest.StartPebble(t, atoi(t, tlsPort), atoi(t, httpPort))
			cache := t.TempDir()
			args = append(args, "-listen", addr,
				"-acme-domain", name, "-acme-ca", pebble.Directory, "-acme-cache", cache, "-acme-email", "ops@telecart.test")
			if i := slices.Index(args, "-saves"); i >= 0 {
				args[i+1] = t.TempDir()
			}
			if args[0] == "coordinator" {
				args = append(args, "-config", secretConfig(t))
			}
			coord := startCommand(t, &env{acmeRoots: pebble.CA.Pool()}, args...)
			if open := coord.wait(t, "the https address to open, printed", openHTTPS); open != "https://"+name+":"+port {
				t.Errorf("open %s, want https://%s:%s", open, name, port)
			}
			coord.wait(t, "the warning that port 443 must reach the listener", regexp.MustCompile(`(ACME: the CA checks each name by connecting to its port 443)`))

			roots := pebble.Roots(t)
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: roots},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				},
			}}
			defer client.CloseIdleConnections()
			// The first handshake asks for the certificate; one that
			// outlasts the server's handshake timeout is tried again.
			var resp *http.Response
			waittest.Eventually(t, "https://"+name+"/healthz with a certificate from pebble, "+tc.workers, func() error {
				r, err := client.Get("https://" + name + ":" + port + "/healthz")
				if err != nil {
					return fmt.Errorf("%w; the command said:\n%s", err, coord.stderr.String())
				}
				body, err := io.ReadAll(r.Body)
				r.Body.Close()
				if r.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.workers) {
					return fmt.Errorf("%s %s %v; the command said:\n%s", r.Status, body, err, coord.stderr.String())
				}
				resp = r
				return nil
			})
			leaf := resp.TLS.PeerCertificates[0]
			chain := resp.TLS.VerifiedChains[0]
			if err := leaf.VerifyHostname(name); err != nil || !strings.Contains(leaf.Issuer.CommonName, "Pebble") ||
				!roots.Equal(poolOf(chain[len(chain)-1])) {
				t.Errorf("certificate for %v from %q, chained to %q (%v): want one for %s from pebble, chained to its root",
					leaf.DNSNames, leaf.Issuer.CommonName, chain[len(chain)-1].Subject.CommonName, err, name)
			}
			// Kept for the next start, which asks the CA for nothing.
			if entries, err := os.ReadDir(cache); err != nil || len(entries) < 2 {
				t.Errorf("the ACME cache holds %v (%v), want the account key and the certificate", entries, err)
			}
			if !tc.http {
				return
			}
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			r, err := noFollow.Get("http://127.0.0.1:" + httpPort + "/r/ROOM")
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if loc := r.Header.Get("Location"); r.StatusCode != http.StatusFound || loc != "https://127.0.0.1/r/ROOM" {
				t.Errorf("http:// on acme_http_listen: %s to %q, want 302 to https://127.0.0.1/r/ROOM", r.Status, loc)
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func poolOf(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

// freePort is a 127.0.0.1 address with a port nothing listened on a
// moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

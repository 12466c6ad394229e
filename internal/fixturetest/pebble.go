package fixturetest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/telecart/telecart/internal/tlstest"
	"github.com/telecart/telecart/internal/waittest"
)

// Pebble is Let's Encrypt's test ACME server, started by a test on
// loopback.
type Pebble struct {
	// Directory is its ACME directory URL.
	Directory string
	// CA signed its own HTTPS certificate: an ACME client trusts
	// CA.Pool() to reach it.
	CA   *tlstest.CA
	mgmt string
}

// StartPebble starts pebble (scripts/test builds it into bin/) on
// loopback, validating for real: every name resolves to 127.0.0.1 (a DNS
// answerer of the test's own, given to pebble with -dnsserver), and its
// TLS-ALPN-01 and HTTP-01 checks connect to tlsPort and httpPort there. It is
// stopped, by its pid, when the test ends. Without bin/pebble the test
// skips, unless TELECART_PEBBLE_REQUIRE=1 makes that a failure; with
// -short it skips.
func StartPebble(t testing.TB, tlsPort, httpPort int) *Pebble {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts pebble, an ACME server")
	}
	bin := program(t, "pebble", "github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3", "TELECART_PEBBLE_REQUIRE")
	p := &Pebble{CA: tlstest.NewCA(t, "pebble's HTTPS, test CA")}
	cert, key := p.CA.Loopback(t)
	listen := freeLoopbackPort(t)
	p.mgmt = freeLoopbackPort(t)
	p.Directory = "https://" + listen + "/dir"
	config, err := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": p.mgmt,
		"certificate":             cert,
		"privateKey":              key,
		"httpPort":                httpPort,
		"tlsPort":                 tlsPort,
		"ocspResponderURL":        "",
		// No waits between polls of an order or an authorization
		// beyond a second.
		"retryAfter":   map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm": "ecdsa",
		"profiles":     map[string]any{"default": map[string]any{"description": "the test's", "validityPeriod": 7776000}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	configFile := filepath.Join(t.TempDir(), "pebble.json")
	if err := os.WriteFile(configFile, config, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", configFile, "-dnsserver", loopbackDNS(t))
	// No random sleep before a validation, no nonce refused on purpose:
	// the test waits for events, and these only slow them down. No
	// authorization reused at random: each order is validated.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	client := p.client()
	defer client.CloseIdleConnections()
	StartServer(t, "pebble", cmd, func() error {
		resp, err := client.Get(p.Directory)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", p.Directory, resp.Status)
		}
		return nil
	})
	return p
}

// client is an HTTP client that trusts pebble's HTTPS.
func (p *Pebble) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.CA.Pool()}}}
}

// Roots is a pool of the root that signs the certificates pebble issues
// (made afresh each time pebble starts), from its management endpoint.
func (p *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	client := p.client()
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pebble's root: %v %s\n%s", err, resp.Status, body)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(body) {
		t.Fatalf("pebble's root: no PEM certificate in\n%s", body)
	}
	return pool
}

// loopbackDNS answers DNS queries over TCP (pebble asks over TCP only)
// on loopback until the test ends: every name has the address 127.0.0.1
// and no other. It returns its address.
func loopbackDNS(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at the test's end
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(waittest.Limit))
				serveDNS(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		conns.Wait()
	})
	return ln.Addr().String()
}

// serveDNS answers the queries on one TCP connection, each a 2-byte
// length and a message, until it closes.
func serveDNS(c net.Conn) {
	for {
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, query); err != nil {
			return
		}
		answer, err := answerLoopback(query)
		if err != nil {
			return
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(answer))), answer...)); err != nil {
			return
		}
	}
}

// answerLoopback answers a DNS query: 127.0.0.1 for a question of type A,
// nothing (but no error) for any other.
func answerLoopback(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	questions, err := p.AllQuestions()
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	for _, q := range questions {
		if err := b.Question(q); err != nil {
			return nil, err
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, q := range questions {
		if q.Type == dnsmessage.TypeA {
			rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
			if err := b.AResource(rh, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

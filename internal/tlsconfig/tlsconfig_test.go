package tlsconfig

import (
	"crypto/tls"
	"path/filepath"
	"slices"
	"testing"

	"github.com/telecart/telecart/internal/tlstest"
)

func TestNew(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "Telecart test CA")
	cert, key := ca.Leaf(t, "play.example.org", "192.0.2.7")
	none, err := New(Server{})
	if none != nil || err != nil {
		t.Errorf("nothing asked for: %v, %v; want no TLS", none, err)
	}
	l, err := New(Server{CertFile: cert, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"play.example.org", "192.0.2.7"}; !slices.Equal(l.Names, want) {
		t.Errorf("names %v, want %v", l.Names, want)
	}
	acme, err := New(Server{ACME: ACME{Domains: []string{"play.example.org"}, Cache: filepath.Join(t.TempDir(), "acme")}})
	if err != nil || !slices.Contains(acme.Config.NextProtos, "acme-tls/1") || acme.Config.GetCertificate == nil {
		t.Errorf("ACME: %+v, %v; want a configuration that answers TLS-ALPN-01", acme, err)
	}
	for _, tc := range []struct {
		name string
		s    Server
	}{
		{"a certificate without its key", Server{CertFile: cert}},
		{"a key without its certificate", Server{KeyFile: key}},
		{"a missing file", Server{CertFile: cert, KeyFile: filepath.Join(t.TempDir(), "key.pem")}},
		{"a key of another certificate", Server{CertFile: cert, KeyFile: func() string { _, k := ca.Loopback(t); return k }()}},
		{"files and ACME", Server{CertFile: cert, KeyFile: key, ACME: ACME{Domains: []string{"play.example.org"}, Cache: t.TempDir()}}},
		{"ACME without a cache", Server{ACME: ACME{Domains: []string{"play.example.org"}}}},
	} {
		if l, err := New(tc.s); err == nil {
			t.Errorf("%s: %+v, want an error", tc.name, l)
		}
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		names []string
		addr  string
		want  string
	}{
		{[]string{"127.0.0.1", "localhost"}, "127.0.0.1:8443", "https://127.0.0.1:8443"},
		{[]string{"127.0.0.1", "localhost"}, "0.0.0.0:8443", "https://127.0.0.1:8443"},
		{[]string{"play.example.org"}, "0.0.0.0:443", "https://play.example.org"},
		{[]string{"play.example.org"}, "[::]:8443", "https://play.example.org:8443"},
		{[]string{"*.example.org", "example.org"}, "192.0.2.7:443", "https://example.org"},
		{[]string{"::1"}, "[::1]:443", "https://[::1]"},
		{[]string{"*.example.org"}, "192.0.2.7:8443", "https://192.0.2.7:8443"},
	} {
		l := &Listener{Names: tc.names}
		if got := l.URL(tc.addr); got != tc.want {
			t.Errorf("names %v, listening on %s: %s, want %s", tc.names, tc.addr, got, tc.want)
		}
	}
}

// TestSelfClient: the client of a listener's own process trusts the
// certificate it serves, and no other, even one of the same CA and
// names.
func TestSelfClient(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "Telecart test CA")
	listener := func() *Listener {
		cert, key := ca.Leaf(t, "play.example.org")
		l, err := New(Server{CertFile: cert, KeyFile: key})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	served, other := listener(), listener()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", served.Config)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake() // fails for the client that refuses it
			c.Close()
		}
	}()
	defer func() {
		ln.Close()
		<-done
	}()
	for _, tc := range []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"its own", served.SelfClient(), true},
		{"another listener's", other.SelfClient(), false},
	} {
		c, err := tls.Dial("tcp", ln.Addr().String(), tc.client)
		if (err == nil) != tc.ok {
			t.Errorf("%s: dial: %v, want success %v", tc.name, err, tc.ok)
		}
		if c != nil {
			c.Close()
		}
	}
}

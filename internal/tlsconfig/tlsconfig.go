// Package tlsconfig makes the TLS configurations of Telecart's listeners
// (the coordinator's, a worker's ping listener) and of a worker's link to
// its coordinator: a server's certificate from PEM files or from an ACME
// certificate authority (Let's Encrypt by default, through
// golang.org/x/crypto/acme/autocert), and the roots a client trusts.
//
// ACME here answers the TLS-ALPN-01 challenge on the listener itself (the
// CA connects to port 443 of each name, which must reach the listener),
// and the HTTP-01 challenge on a plain HTTP listener when one serves
// HTTPHandler (the CA connects to port 80).
package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// Server says where a listener's certificate comes from: PEM files, or
// ACME; neither, and the listener speaks plain HTTP.
type Server struct {
	CertFile, KeyFile string
	ACME              ACME
}

// ACME gets certificates for Domains from an ACME certificate authority.
type ACME struct {
	// Domains are the public names to get certificates for; none, no ACME.
	Domains []string
	// Cache is the folder where the account key and the certificates are
	// kept across restarts (a CA limits how often it issues).
	Cache string
	// Directory is the CA's directory URL; empty, Let's Encrypt's.
	Directory string
	// Email is told to the CA for notices about the certificates; optional.
	Email string
	// Roots, when not nil, are the CAs trusted for the ACME server's own
	// HTTPS instead of the system's: a test's pebble, or a private CA's.
	Roots *x509.CertPool
}

// Listener is the TLS of one listener.
type Listener struct {
	// Config is what the listener serves with (http.Server.TLSConfig).
	Config *tls.Config
	// Names are the names its certificate is for: the files' host names
	// and IP addresses, or the ACME domains.
	Names []string

	acme *autocert.Manager // nil without ACME

	mu sync.Mutex
	// served is the leaf certificate last served for each server name,
	// for SelfClient.
	served map[string][]byte
}

// New is the TLS of a listener configured by s, or nil when s asks for
// none. With files, it reads them now, so that a wrong path is an error
// at start.
func New(s Server) (*Listener, error) {
	switch {
	case s.CertFile != "" && len(s.ACME.Domains) > 0:
		return nil, errors.New("tlsconfig: certificate files and ACME domains are exclusive")
	case s.CertFile != "" || s.KeyFile != "":
		return fromFiles(s.CertFile, s.KeyFile)
	case len(s.ACME.Domains) > 0:
		return fromACME(s.ACME)
	}
	return nil, nil
}

func fromFiles(certFile, keyFile string) (*Listener, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsconfig: the certificate %s and key %s: %w", certFile, keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsconfig: %s: %w", certFile, err)
		}
	}
	l := &Listener{
		Config: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Names:  slices.Clone(leaf.DNSNames),
	}
	for _, ip := range leaf.IPAddresses {
		l.Names = append(l.Names, ip.String())
	}
	if len(l.Names) == 0 {
		// Browsers and Go ignore the common name: no name would ever match.
		return nil, fmt.Errorf("tlsconfig: %s names no host (no subject alternative name)", certFile)
	}
	return l, nil
}

func fromACME(a ACME) (*Listener, error) {
	if a.Cache == "" {
		return nil, errors.New("tlsconfig: ACME needs a cache folder")
	}
	if err := os.MkdirAll(a.Cache, 0o700); err != nil {
		return nil, fmt.Errorf("tlsconfig: the ACME cache: %w", err)
	}
	client := &acme.Client{DirectoryURL: a.Directory, UserAgent: "telecart"}
	if client.DirectoryURL == "" {
		client.DirectoryURL = autocert.DefaultACMEDirectory
	}
	if a.Roots != nil {
		client.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{RootCAs: a.Roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 10 * time.Second,
		}}
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(a.Cache),
		HostPolicy: autocert.HostWhitelist(a.Domains...),
		Email:      a.Email,
		Client:     client,
	}
	l := &Listener{Config: m.TLSConfig(), Names: slices.Clone(a.Domains), acme: m}
	l.Config.MinVersion = tls.VersionTLS12
	get := l.Config.GetCertificate
	l.Config.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert, err := get(hello)
		// A TLS-ALPN-01 challenge's certificate is the CA's to see, not a
		// certificate of the name.
		challenge := len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
		if err == nil && !challenge && len(cert.Certificate) > 0 {
			l.mu.Lock()
			if l.served == nil {
				l.served = map[string][]byte{}
			}
			l.served[hello.ServerName] = cert.Certificate[0]
			l.mu.Unlock()
		}
		return cert, err
	}
	return l, nil
}

// HTTPHandler is the handler of a plain HTTP listener beside an ACME
// listener: it answers the CA's HTTP-01 challenges (the CA connects to
// port 80 of each name), which the CA then may choose besides TLS-ALPN-01,
// and sends every other request to https://. Nil without ACME.
func (l *Listener) HTTPHandler() http.Handler {
	if l.acme == nil {
		return nil
	}
	h := l.acme.HTTPHandler(nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// autocert holds the Host to the domains, port and all; a CA
		// names none (it connects to port 80), but one on another port
		// (a test's pebble) does.
		if host, _, err := net.SplitHostPort(r.Host); err == nil {
			r = r.WithContext(r.Context()) // a copy: a handler leaves its request as it is
			r.Host = host
		}
		h.ServeHTTP(w, r)
	})
}

// SelfClient is a client configuration for dialling this listener from
// its own process (the embedded default's worker dials its own
// coordinator): it trusts exactly the certificate the listener serves,
// whoever signed it and whatever address is dialled, and nothing else.
func (l *Listener) SelfClient() *tls.Config {
	return &tls.Config{
		ServerName: l.name(),
		MinVersion: tls.VersionTLS12,
		// Not skipped: VerifyConnection compares the peer's certificate
		// with the one this process serves, which is stricter than any
		// chain of trust.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tlsconfig: no certificate")
			}
			if !bytes.Equal(cs.PeerCertificates[0].Raw, l.leaf(cs.ServerName)) {
				return errors.New("tlsconfig: the certificate is not the one this process serves")
			}
			return nil
		},
	}
}

// leaf is the leaf certificate the listener serves for a server name.
func (l *Listener) leaf(name string) []byte {
	if len(l.Config.Certificates) > 0 {
		return l.Config.Certificates[0].Certificate[0]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.served[name]
}

// Client is a client configuration that trusts the system's roots and
// the CA certificates in the PEM file caFile, when not empty: a
// coordinator's certificate from a private CA.
func Client(caFile string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caFile != "" {
		data, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("tlsconfig: coordinator CA: %w", err)
		}
		if !roots.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("tlsconfig: coordinator CA %s: no PEM certificate in it", caFile)
		}
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// URL is the https URL of a listener on addr ("host:port", as listening)
// that a browser on this machine can open without a warning: on the
// listening host when the certificate is for it (127.0.0.1 for a listener
// on every address), else on the certificate's first name; the port is
// left out when it is 443.
func (l *Listener) URL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "https://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	if n := l.name(); n != "" && !slices.Contains(l.Names, host) {
		host = n
	}
	return "https://" + strings.TrimSuffix(net.JoinHostPort(host, port), ":443")
}

// name is the certificate's first name that is not a wildcard.
func (l *Listener) name() string {
	for _, n := range l.Names {
		if !strings.HasPrefix(n, "*.") {
			return n
		}
	}
	return ""
}

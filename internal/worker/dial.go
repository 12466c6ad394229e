package worker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
)

// dialError is a failed dial of the coordinator, with its answer when
// there was one.
type dialError struct {
	url  string
	resp *http.Response // nil when no HTTP answer came
	err  error
}

func (e *dialError) Error() string { return fmt.Sprintf("dial %s: %v", e.url, e.err) }
func (e *dialError) Unwrap() error { return e.err }

// explainDial says, in an operator's words, what is wrong with the
// coordinator's TLS or with the worker's settings for it when err comes
// from that, and "" when err is of another kind (a coordinator down or
// restarting is no one's mistake). The worker dials again either way: a
// certificate being replaced, or a coordinator restarted with the wrong
// one, is put right on the coordinator's side, and the worker's running
// games must not end meanwhile.
func explainDial(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		dial     *dialError
		cred     *credentialError
		closed   websocket.CloseError
	)
	switch {
	case errors.As(err, &unknown):
		return "the coordinator's certificate is not trusted: it is signed by a CA this worker does not know; " +
			"set coordinator_ca to that CA's certificate file (PEM)"
	case errors.As(err, &hostname):
		return fmt.Sprintf("the coordinator's certificate is not for %s: dial the coordinator by a name its certificate holds (%s)",
			hostname.Host, strings.Join(certNames(hostname.Certificate), ", "))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the coordinator's certificate has expired or is not valid yet: renew it, or check the clocks of both machines"
	case errors.As(err, &invalid):
		return "the coordinator's certificate cannot serve for TLS: " + invalid.Error()
	case errors.As(err, &record) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http says the latter in place of the former, unwrapped.
		return "the coordinator does not speak TLS at this address: dial ws://, or give the coordinator a certificate"
	case errors.As(err, &dial) && dial.resp != nil && dial.resp.StatusCode == http.StatusBadRequest && scheme(dial.url) == "ws":
		// Go's HTTPS server answers a plain request with 400.
		return "the coordinator speaks TLS at this address (it refused a plain request): dial wss://"
	case errors.As(err, &dial) && dial.resp != nil && dial.resp.StatusCode == http.StatusUnauthorized:
		return "the coordinator refused this worker's credential: make one with `telecart worker-token -id ID` " +
			"where the coordinator's worker_secret is, and give it to the worker (worker_token or worker_token_file)"
	case errors.As(err, &cred):
		return cred.Error()
	case errors.As(err, &closed) && closed.Code == websocket.StatusPolicyViolation:
		return "the coordinator ended the link: " + closed.Reason
	}
	return ""
}

// credentialError is a credential the worker cannot dial with.
type credentialError struct {
	file string // "" for worker_token
	err  error
}

func (e *credentialError) Error() string {
	where := "worker_token"
	if e.file != "" {
		where = "the credential in " + e.file
	}
	return fmt.Sprintf("%s cannot serve: %v; make this worker's with `telecart worker-token -id ID`", where, e.err)
}

func (e *credentialError) Unwrap() error { return e.err }

func scheme(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Scheme
}

func certNames(c *x509.Certificate) []string {
	if c == nil {
		return nil
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

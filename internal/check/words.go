package check

import (
	"fmt"
	"net/url"
	"strings"
)

// Kind is what failed, as the check knows it.
type Kind int

// What can fail, step by step.
const (
	NoCoordinator Kind = iota + 1 // /healthz did not answer
	BadHealth                     // /healthz answered, not with 200
	Untrusted                     // the coordinator's certificate is not trusted
	NoWebSocket                   // /ws did not open
	NoHello                       // /ws opened, but no hello came
	SocketRefused                 // /ws opened, and the coordinator turned it away (its limits)
	NoWorkers                     // the hello lists no worker
	NoPingURL                     // a worker announces no ping URL
	NoPing                        // a worker's ping did not answer
	NoHost                        // no host candidate
	NoSrflx                       // a STUN server gave no srflx candidate
	NoRelay                       // a TURN server gave no relay candidate
	CheckRefused                  // the worker (or the coordinator) refused the check
	NoOffer                       // the worker never offered
	Direct                        // the direct connection failed
	RelayUDP                      // the connection through TURN over UDP failed
	RelayTCP                      // the connection through TURN over TCP (or TLS) failed
)

// Failure is one failed step, with what its words name.
type Failure struct {
	Kind Kind
	// URL is the address that failed: the coordinator's, a ping URL, an
	// ICE server's.
	URL string
	// Worker is the worker's id, for the steps about one.
	Worker string
	// Ports are the UDP ports the worker offered, for a direct connection
	// that failed: one, when udp_port is set.
	Ports []string
	// Message is the server's own refusal, for CheckRefused and
	// SocketRefused.
	Message string
	// Status is the HTTP status, for BadHealth.
	Status string
}

// Words say what to fix for a failure: which port to open, which setting
// to set. The one place where a failed step becomes a sentence.
func Words(f Failure) string {
	switch f.Kind {
	case NoCoordinator:
		return fmt.Sprintf("The coordinator does not answer at %s: is it running, and is TCP port %s open?", f.URL, Port(f.URL))
	case Untrusted:
		return fmt.Sprintf("The coordinator's certificate at %s is not trusted here: give a certificate from a public CA (acme_domains), or pass this check the private CA's file with -coordinator-ca.", f.URL)
	case BadHealth:
		return fmt.Sprintf("The coordinator at %s answered /healthz with %s: is a proxy in front of it sending the request elsewhere?", f.URL, f.Status)
	case NoWebSocket:
		return fmt.Sprintf("The WebSocket at %s does not open: a proxy in front of the coordinator must pass WebSocket upgrades (the Upgrade and Connection headers) through to it.", f.URL)
	case NoHello:
		return fmt.Sprintf("The WebSocket at %s opened, but the coordinator said nothing: a proxy in front of it may hold WebSocket messages back.", f.URL)
	case SocketRefused:
		return fmt.Sprintf("The coordinator at %s turned this connection away: %s It limits what one address may open (the limits settings); behind a reverse proxy, set trusted_proxies, or every player counts as the proxy.", f.URL, f.Message)
	case NoWorkers:
		return fmt.Sprintf("No worker is registered: start a worker with -coordinator %s and its credential from telecart worker-token.", workerURL(f.URL))
	case NoPingURL:
		return fmt.Sprintf("Worker %s announces no ping URL, so browsers cannot time it: set its ping_listen (and ping_url).", f.Worker)
	case NoPing:
		return fmt.Sprintf("Worker %s's ping at %s does not answer: open TCP %s or set ping_url.", f.Worker, f.URL, Port(f.URL))
	case NoHost:
		return "No host candidate: WebRTC found no network address on this machine; is its network up?"
	case NoSrflx:
		return fmt.Sprintf("No srflx candidate: the STUN server at %s did not answer: is it running, and is UDP port %s open to it?", f.URL, Port(f.URL))
	case NoRelay:
		return fmt.Sprintf("No relay candidate: the TURN server at %s did not answer or refused the credentials (check turn_secret, or the username and credential in ice_servers; %s port %s must be open to it).",
			f.URL, protocol(f.URL), Port(f.URL))
	case CheckRefused:
		return fmt.Sprintf("Worker %s refused the test connection: %s", f.Worker, f.Message)
	case NoOffer:
		return fmt.Sprintf("Worker %s did not answer the test connection: is it running, connected to the coordinator, and not too busy?", f.Worker)
	case Direct:
		switch len(f.Ports) {
		case 0:
			return fmt.Sprintf("A direct connection to worker %s failed: it offered no address to connect to; set public_ips to its public address.", f.Worker)
		case 1:
			return fmt.Sprintf("A direct connection to worker %s failed: open UDP port %s (udp_port) and set public_ips to its public address.", f.Worker, f.Ports[0])
		}
		return fmt.Sprintf("A direct connection to worker %s failed: it uses a UDP port per player (%s); set udp_port to carry them all on one, open that UDP port, and set public_ips to its public address.",
			f.Worker, strings.Join(f.Ports, ", "))
	case RelayUDP, RelayTCP:
		transport := "UDP"
		if f.Kind == RelayTCP {
			transport = "TCP"
		}
		return fmt.Sprintf("A connection to worker %s through the TURN server at %s over %s failed: the TURN server must accept the credentials and reach the worker's UDP port%s.",
			f.Worker, f.URL, transport, portsNamed(f.Ports))
	}
	return fmt.Sprintf("Something failed that the check has no words for (%d).", f.Kind)
}

// protocol is the IP protocol that reaches a STUN or TURN URL.
func protocol(raw string) string {
	if Transport(raw) == "udp" {
		return "UDP"
	}
	return "TCP"
}

// portsNamed is " 8443" for one port, "" for none or many.
func portsNamed(ports []string) string {
	if len(ports) == 1 {
		return " " + ports[0]
	}
	return ""
}

// workerURL is the worker endpoint of the coordinator at base.
func workerURL(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "ws://HOST:8000/worker"
	}
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + u.Host + "/worker"
}

// Port is the port an http(s), stun(s) or turn(s) URL reaches, its
// scheme's default when it names none.
func Port(raw string) string {
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return ""
	}
	switch scheme {
	case "http", "https":
		u, err := url.Parse(raw)
		if err != nil {
			return ""
		}
		if p := u.Port(); p != "" {
			return p
		}
		if scheme == "https" {
			return "443"
		}
		return "80"
	}
	hostport, _, _ := strings.Cut(rest, "?")
	if i := strings.LastIndex(hostport, ":"); i >= 0 && !strings.HasSuffix(hostport, "]") {
		return hostport[i+1:]
	}
	if strings.HasSuffix(scheme, "s") {
		return "5349"
	}
	return "3478"
}

// Transport is how a STUN or TURN URL is reached: "udp", "tcp" (a
// ?transport=tcp URL) or "tls" (turns:, stuns:).
func Transport(raw string) string {
	scheme, rest, _ := strings.Cut(raw, ":")
	if scheme == "turns" || scheme == "stuns" {
		return "tls"
	}
	if _, query, ok := strings.Cut(rest, "?"); ok && strings.Contains(query, "transport=tcp") {
		return "tcp"
	}
	return "udp"
}

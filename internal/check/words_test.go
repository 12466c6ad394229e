package check

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/telecart/telecart/internal/signal"
)

func TestWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    Failure
		want string
	}{
		{Failure{Kind: NoCoordinator, URL: "http://play.example.org:8000"},
			"The coordinator does not answer at http://play.example.org:8000: is it running, and is TCP port 8000 open?"},
		{Failure{Kind: NoCoordinator, URL: "https://play.example.org"},
			"The coordinator does not answer at https://play.example.org: is it running, and is TCP port 443 open?"},
		{Failure{Kind: Untrusted, URL: "https://play.example.org"},
			"The coordinator's certificate at https://play.example.org is not trusted here: give a certificate from a public CA (acme_domains), or pass this check the private CA's file with -coordinator-ca."},
		{Failure{Kind: BadHealth, URL: "http://h:8000", Status: "502 Bad Gateway"},
			"The coordinator at http://h:8000 answered /healthz with 502 Bad Gateway: is a proxy in front of it sending the request elsewhere?"},
		{Failure{Kind: NoWebSocket, URL: "ws://h:8000/ws"},
			"The WebSocket at ws://h:8000/ws does not open: a proxy in front of the coordinator must pass WebSocket upgrades (the Upgrade and Connection headers) through to it."},
		{Failure{Kind: SocketRefused, URL: "ws://h:8000/ws", Message: "Too many Telecart pages are open from your network."},
			"The coordinator at ws://h:8000/ws turned this connection away: Too many Telecart pages are open from your network. It limits what one address may open (the limits settings); behind a reverse proxy, set trusted_proxies, or every player counts as the proxy."},
		{Failure{Kind: NoWorkers, URL: "http://h:8000"},
			"No worker is registered: start a worker with -coordinator ws://h:8000/worker and its credential from telecart worker-token."},
		{Failure{Kind: NoWorkers, URL: "https://h"},
			"No worker is registered: start a worker with -coordinator wss://h/worker and its credential from telecart worker-token."},
		{Failure{Kind: NoPingURL, Worker: "eu-1"},
			"Worker eu-1 announces no ping URL, so browsers cannot time it: set its ping_listen (and ping_url)."},
		{Failure{Kind: NoPing, Worker: "eu-1", URL: "https://w1.example.org:8001/ping"},
			"Worker eu-1's ping at https://w1.example.org:8001/ping does not answer: open TCP 8001 or set ping_url."},
		{Failure{Kind: NoSrflx, URL: "stun:stun.example.org"},
			"No srflx candidate: the STUN server at stun:stun.example.org did not answer: is it running, and is UDP port 3478 open to it?"},
		{Failure{Kind: NoRelay, URL: "turn:turn.example.org:3478"},
			"No relay candidate: the TURN server at turn:turn.example.org:3478 did not answer or refused the credentials (check turn_secret, or the username and credential in ice_servers; UDP port 3478 must be open to it)."},
		{Failure{Kind: NoRelay, URL: "turn:turn.example.org?transport=tcp"},
			"No relay candidate: the TURN server at turn:turn.example.org?transport=tcp did not answer or refused the credentials (check turn_secret, or the username and credential in ice_servers; TCP port 3478 must be open to it)."},
		{Failure{Kind: NoRelay, URL: "turns:turn.example.org"},
			"No relay candidate: the TURN server at turns:turn.example.org did not answer or refused the credentials (check turn_secret, or the username and credential in ice_servers; TCP port 5349 must be open to it)."},
		{Failure{Kind: CheckRefused, Worker: "eu-1", Message: "This server is checking other connections; try again in a moment."},
			"Worker eu-1 refused the test connection: This server is checking other connections; try again in a moment."},
		{Failure{Kind: NoOffer, Worker: "eu-1"},
			"Worker eu-1 did not answer the test connection: is it running, connected to the coordinator, and not too busy?"},
		{Failure{Kind: Direct, Worker: "eu-1", Ports: []string{"8443"}},
			"A direct connection to worker eu-1 failed: open UDP port 8443 (udp_port) and set public_ips to its public address."},
		{Failure{Kind: Direct, Worker: "eu-1", Ports: []string{"50001", "50002"}},
			"A direct connection to worker eu-1 failed: it uses a UDP port per player (50001, 50002); set udp_port to carry them all on one, open that UDP port, and set public_ips to its public address."},
		{Failure{Kind: Direct, Worker: "eu-1"},
			"A direct connection to worker eu-1 failed: it offered no address to connect to; set public_ips to its public address."},
		{Failure{Kind: RelayUDP, Worker: "eu-1", URL: "turn:t:3478", Ports: []string{"8443"}},
			"A connection to worker eu-1 through the TURN server at turn:t:3478 over UDP failed: the TURN server must accept the credentials and reach the worker's UDP port 8443."},
		{Failure{Kind: RelayTCP, Worker: "eu-1", URL: "turn:t:3478?transport=tcp"},
			"A connection to worker eu-1 through the TURN server at turn:t:3478?transport=tcp over TCP failed: the TURN server must accept the credentials and reach the worker's UDP port."},
	}
	for _, tt := range tests {
		if got := Words(tt.f); got != tt.want {
			t.Errorf("Words(%+v)\n got %q\nwant %q", tt.f, got, tt.want)
		}
	}
}

// TestWays: a direct way with the STUN servers, and one relayed way per
// TURN URL, by its transport.
func TestWays(t *testing.T) {
	t.Parallel()
	got := ways([]signal.ICEServer{
		{URLs: []string{"stun:s1"}},
		{URLs: []string{"turn:t:3478", "turn:t:3478?transport=tcp", "turns:t:5349"}, Username: "u", Credential: "c"},
	})
	var modes []string
	for _, w := range got {
		modes = append(modes, string(w.mode)+" "+w.relay.url)
	}
	want := []string{"direct ", "turn-udp turn:t:3478", "turn-tcp turn:t:3478?transport=tcp", "turn-tcp turns:t:5349"}
	if !slices.Equal(modes, want) {
		t.Errorf("ways %q, want %q", modes, want)
	}
	if len(got[0].stun) != 1 || got[0].stun[0].url != "stun:s1" || got[1].relay.username != "u" || got[1].relay.credential != "c" {
		t.Errorf("ways %+v", got)
	}
}

func TestCandidatePort(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		candidate, port string
		ok              bool
	}{
		{"candidate:1 1 udp 2130706431 10.0.0.5 8443 typ host", "8443", true},
		{"candidate:2 1 udp 1694498815 203.0.113.7 8443 typ srflx raddr 10.0.0.5 rport 8443", "8443", true},
		{"candidate:3 1 udp 16777215 198.51.100.1 61000 typ relay raddr 0.0.0.0 rport 0", "", false},
		{"candidate:4 1 tcp 1 10.0.0.5 9 typ host tcptype active", "", false},
		{"garbage", "", false},
	} {
		if port, ok := candidatePort(tt.candidate); port != tt.port || ok != tt.ok {
			t.Errorf("candidatePort(%q) = %q, %v; want %q, %v", tt.candidate, port, ok, tt.port, tt.ok)
		}
	}
}

// TestWordsMatchThePage holds the /check page's words (web/js/model/check.js)
// to these: a player and an operator read the same advice.
func TestWordsMatchThePage(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node (scripts/setup installs it): the page's words are not compared")
	}
	pageKind := map[Kind]string{
		NoCoordinator: "no-coordinator", BadHealth: "bad-health", NoWebSocket: "no-websocket", NoHello: "no-hello", SocketRefused: "socket-refused",
		NoWorkers: "no-workers", NoPingURL: "no-ping-url", NoPing: "no-ping", NoHost: "no-host", NoSrflx: "no-srflx",
		NoRelay: "no-relay", CheckRefused: "refused", NoOffer: "no-offer", Direct: "direct",
		RelayUDP: "turn-udp", RelayTCP: "turn-tcp",
	}
	type pageFailure struct {
		Kind    string   `json:"kind"`
		URL     string   `json:"url"`
		Worker  string   `json:"worker"`
		Ports   []string `json:"ports"`
		Message string   `json:"message"`
		Status  string   `json:"status"`
	}
	// Each kind with what its words name: ICE servers' URLs for the ICE
	// steps, the coordinator's or a ping's for the rest.
	iceURLs := []string{"turn:t.example.org:3478?transport=tcp", "turn:t.example.org", "stun:s.example.org:3479", "turns:t.example.org"}
	httpURLs := []string{"https://play.example.org", "http://h:8000", "http://[::1]:8000/ping"}
	var failures []Failure
	for kind := range pageKind {
		urls := httpURLs
		if kind == NoSrflx || kind == NoRelay || kind == RelayUDP || kind == RelayTCP {
			urls = iceURLs
		}
		for i, u := range urls {
			f := Failure{Kind: kind, URL: u, Worker: "eu-1", Status: "502 Bad Gateway", Message: "Busy."}
			f.Ports = [][]string{nil, {"8443"}, {"50000", "50001"}, {}}[i%4]
			failures = append(failures, f)
		}
	}
	var page []pageFailure
	for _, f := range failures {
		page = append(page, pageFailure{Kind: pageKind[f.Kind], URL: f.URL, Worker: f.Worker, Ports: f.Ports, Message: f.Message, Status: f.Status})
	}
	input, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	module, err := filepath.Abs("../../web/js/model/check.js")
	if err != nil {
		t.Fatal(err)
	}
	script := `import(process.argv[1]).then((m) => {
		const failures = JSON.parse(require('fs').readFileSync(0, 'utf8'));
		process.stdout.write(JSON.stringify(failures.map(m.words)));
	});`
	cmd := exec.Command(node, "-e", script, module)
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	if len(got) != len(failures) {
		t.Fatalf("the page gave %d sentences for %d failures", len(got), len(failures))
	}
	for i, f := range failures {
		if want := Words(f); got[i] != want {
			t.Errorf("%s (%+v):\n the page says %q\n telecart check %q", page[i].Kind, f, got[i], want)
		}
	}
}

package peer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/turnrest"
	"github.com/telecart/telecart/internal/turntest"
	"github.com/telecart/telecart/internal/waittest"
)

// behindNAT makes a client whose only candidates are server-reflexive
// ones, as a browser behind a NAT announces once STUN told it its public
// address (here 127.0.0.1, the only one a test may reach).
func behindNAT(s *webrtc.SettingEngine) {
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if err := s.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
		External:        []string{"127.0.0.1"},
		AsCandidateType: webrtc.ICECandidateTypeSrflx,
		Mode:            webrtc.ICEAddressRewriteReplace,
	}); err != nil {
		panic(err) // a fixed, valid rule
	}
}

// onlyType passes on the client's candidates of one type: the host ones
// a client behind a NAT also gathers are unreachable from outside it.
func onlyType(typ webrtc.ICECandidateType) func(*webrtc.ICECandidate) bool {
	return func(c *webrtc.ICECandidate) bool { return c.Typ == typ }
}

// selectedPair waits for the worker's side of a connection to select its
// candidate pair.
func selectedPair(t testing.TB, p *Peer) *webrtc.ICECandidatePair {
	t.Helper()
	ice := p.pc.SCTP().Transport().ICETransport()
	var pair *webrtc.ICECandidatePair
	waittest.Eventually(t, "a selected candidate pair", func() error {
		var err error
		if pair, err = ice.GetSelectedCandidatePair(); err == nil && pair == nil {
			err = errors.New("none yet")
		}
		return err
	})
	return pair
}

// TestMuxNominatesReflexivePair is the public set-up: every peer on one
// UDP port with a public address announced, and a browser behind a NAT.
// The worker, which controls ICE, nominates the pair of its public host
// candidate and a reflexive one of the browser's (a pair Pion kept
// waiting 0.5-1 s before nominating it), and the connection comes up.
func TestMuxNominatesReflexivePair(t *testing.T) {
	port := fixturetest.FreeUDPPort(t)
	api, closeICEPort, err := NewAPI(runner.CodecVP8, ICEConfig{PublicIPs: []string{"127.0.0.1"}, UDPPort: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeICEPort() })
	c := gobrowsertest.NewClientWith(t, gobrowsertest.ClientOptions{Settings: behindNAT})
	p := connectFiltered(t, api, newTestStream(t), c, onlyType(webrtc.ICECandidateTypeSrflx))
	select {
	case <-c.Input:
	case <-time.After(waittest.Limit):
		t.Fatal("the connection did not come up")
	}
	pair := selectedPair(t, p)
	if pair.Local.Typ != webrtc.ICECandidateTypeHost || pair.Local.Address != "127.0.0.1" || int(pair.Local.Port) != port {
		t.Errorf("worker's candidate %s, want the public host candidate 127.0.0.1:%d", pair.Local, port)
	}
	// The browser's checks may come from its server-reflexive candidate
	// or, learnt from them, a peer-reflexive one: either kind was kept
	// waiting.
	if typ := pair.Remote.Typ; typ != webrtc.ICECandidateTypeSrflx && typ != webrtc.ICECandidateTypePrflx {
		t.Errorf("browser's candidate %s, want a reflexive one", pair.Remote)
	}
}

// BenchmarkConnect is the time from the worker's offer to the first video
// frame in the client, on loopback, the game already running: the
// signalling a coordinator relays, ICE, DTLS, SCTP and the keyframe a new
// viewer asks for. With a port per peer; with one UDP port and a public
// address, the client announcing host, server-reflexive or (through
// Debian's coturn) relayed candidates.
//
//	go test -run '^$' -bench Connect -benchtime 20x ./internal/peer
func BenchmarkConnect(b *testing.B) {
	relayed := func(b *testing.B) gobrowsertest.ClientOptions {
		const secret = "telecart-bench-turn-secret"
		srv := turntest.Start(b, turntest.Config{Secret: secret, Loopback: true})
		cred := turnrest.New(secret, "bench", time.Now().Add(time.Hour))
		return gobrowsertest.ClientOptions{Config: webrtc.Configuration{
			ICEServers:         []webrtc.ICEServer{{URLs: srv.URLs()[:1], Username: cred.Username, Credential: cred.Credential}},
			ICETransportPolicy: webrtc.ICETransportPolicyRelay,
		}}
	}
	mux := func(b *testing.B) ICEConfig {
		return ICEConfig{PublicIPs: []string{"127.0.0.1"}, UDPPort: fixturetest.FreeUDPPort(b)}
	}
	setups := []struct {
		name   string
		ice    func(b *testing.B) ICEConfig
		client func(b *testing.B) gobrowsertest.ClientOptions
		pass   func(*webrtc.ICECandidate) bool
	}{
		{"port-per-peer", func(*testing.B) ICEConfig { return ICEConfig{Loopback: true} }, nil, nil},
		{"mux+public-ip", mux, nil, nil},
		{"mux+public-ip+srflx-browser", mux,
			func(*testing.B) gobrowsertest.ClientOptions { return gobrowsertest.ClientOptions{Settings: behindNAT} },
			onlyType(webrtc.ICECandidateTypeSrflx)},
		// The browser held to its TURN relay (coturn on loopback), as
		// behind a firewall that lets no UDP through but to the relay.
		{"mux+public-ip+relayed-browser", mux, relayed, nil},
	}
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			api, closeICEPort, err := NewAPI(runner.CodecVP8, s.ice(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = closeICEPort() })
			var client gobrowsertest.ClientOptions
			if s.client != nil {
				client = s.client(b)
			}
			stream := newTestStream(b)
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				c := gobrowsertest.NewClientWith(b, client)
				p := connectFiltered(b, api, stream, c, s.pass)
				select {
				case <-c.Frames:
				case <-time.After(waittest.Limit):
					b.Fatal("no frame")
				}
				total += c.FirstFrame().Sub(start)
				_ = p.Close()
				_ = c.PC.Close()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/connect")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// connectFiltered is connect passing on only the client's candidates
// pass accepts (all, when nil).
func connectFiltered(t testing.TB, api *webrtc.API, s *testStream, c *gobrowsertest.Client, pass func(*webrtc.ICECandidate) bool) *Peer {
	t.Helper()
	fromWorker := make(chan webrtc.ICECandidateInit, 16)
	params := s.params(api)
	params.OnCandidate = func(ci webrtc.ICECandidateInit) { fromWorker <- ci }
	peer, offer, err := New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	fromClient := make(chan webrtc.ICECandidateInit, 16)
	c.PC.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil && (pass == nil || pass(ci)) {
			fromClient <- ci.ToJSON()
		}
	})
	if err := c.PC.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := c.PC.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PC.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	if err := peer.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for {
			select {
			case ci := <-fromWorker:
				_ = c.PC.AddICECandidate(ci)
			case ci := <-fromClient:
				_ = peer.AddCandidate(ci)
			case <-ctx.Done():
				return
			}
		}
	}()
	return peer
}

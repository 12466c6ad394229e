package check

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/signal"
)

// socket is the check's WebSocket to the coordinator: its reader hands
// the hello over and each check's messages to that check, by reference.
type socket struct {
	ws    *websocket.Conn
	ctx   context.Context
	hello chan signal.Hello
	done  chan struct{} // closed when the reader has returned

	mu      sync.Mutex
	readErr error
	refusal string // the coordinator's words, when it turned the socket away
	checks  map[signal.SessionID]chan signal.Payload
}

func newSocket(ctx context.Context, ws *websocket.Conn) *socket {
	s := &socket{ws: ws, ctx: ctx, hello: make(chan signal.Hello, 1), done: make(chan struct{}), checks: map[signal.SessionID]chan signal.Payload{}}
	go s.read()
	return s
}

// read runs until the socket closes (close).
func (s *socket) read() {
	defer close(s.done)
	first := true
	for {
		_, data, err := s.ws.Read(s.ctx)
		if err != nil {
			s.mu.Lock()
			s.readErr = err
			// A socket over the coordinator's limits is closed with Try
			// Again Later and its words.
			var closed websocket.CloseError
			if errors.As(err, &closed) && closed.Code == websocket.StatusTryAgainLater && s.refusal == "" {
				s.refusal = closed.Reason
			}
			s.mu.Unlock()
			return
		}
		m, p, err := signal.Decode(data)
		if err != nil {
			continue
		}
		if e, ok := p.(signal.Error); ok && first {
			// Before any hello: the socket is turned away, and told why.
			s.mu.Lock()
			s.refusal = e.Message
			s.mu.Unlock()
			continue
		}
		if h, ok := p.(signal.Hello); ok {
			if first {
				s.hello <- h
			}
			first = false
			continue
		}
		s.mu.Lock()
		ch := s.checks[m.Session]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- p:
			default: // a check that reads nothing more
			}
		}
	}
}

// refused is the coordinator's words, when it turned the socket away.
func (s *socket) refused() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusal
}

func (s *socket) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readErr
}

// close ends the reader and waits for it.
func (s *socket) close() {
	s.ws.CloseNow()
	<-s.done
}

func (s *socket) send(ref signal.SessionID, p signal.Payload) error {
	b, err := signal.Encode(ref, p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	return s.ws.Write(ctx, websocket.MessageText, b)
}

// connect makes a test connection to a worker one way, and sees a message
// come back on its echo channel.
func (s *socket) connect(ctx context.Context, cfg Config, worker string, w way) Result {
	r := Result{Step: StepConnection, Worker: worker, Mode: w.mode, Server: w.relay.url}
	ports, err := s.echo(ctx, cfg, worker, w)
	if err == nil {
		r.OK = true
		switch w.mode {
		case ModeDirect:
			r.Words = fmt.Sprintf("A direct connection to worker %s works.", worker)
		default:
			r.Words = fmt.Sprintf("A connection to worker %s through %s works.", worker, w.relay.url)
		}
		return r
	}
	r.Err = err
	var refused refusal
	switch {
	case errors.As(err, &refused):
		r.Words = Words(Failure{Kind: CheckRefused, Worker: worker, Message: string(refused)})
	case errors.Is(err, errNoOffer):
		r.Words = Words(Failure{Kind: NoOffer, Worker: worker})
	case w.mode == ModeDirect:
		r.Words = Words(Failure{Kind: Direct, Worker: worker, Ports: ports})
	case w.mode == ModeRelayUDP:
		r.Words = Words(Failure{Kind: RelayUDP, Worker: worker, URL: w.relay.url, Ports: ports})
	default:
		r.Words = Words(Failure{Kind: RelayTCP, Worker: worker, URL: w.relay.url, Ports: ports})
	}
	return r
}

// refusal is the words of a worker's or the coordinator's refusal.
type refusal string

func (r refusal) Error() string { return "refused: " + string(r) }

var errNoOffer = errors.New("check: the worker did not offer")

// echo runs one test connection: asks for it, answers the worker's offer,
// and waits until a message sent on its channel comes back. It returns
// the UDP ports the worker offered, for the words.
func (s *socket) echo(ctx context.Context, cfg Config, worker string, w way) (ports []string, err error) {
	ref := signal.SessionID("check-" + random())
	in := make(chan signal.Payload, 64)
	s.mu.Lock()
	s.checks[ref] = in
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.checks, ref)
		s.mu.Unlock()
		_ = s.send(ref, signal.Quit{})
	}()

	conf := webrtc.Configuration{}
	if w.mode == ModeDirect {
		for _, st := range w.stun {
			conf.ICEServers = append(conf.ICEServers, st.ice())
		}
	} else {
		conf.ICEServers = []webrtc.ICEServer{w.relay.ice()}
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api(cfg).NewPeerConnection(conf)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	failed := make(chan struct{})
	var failOnce sync.Once
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			failOnce.Do(func() { close(failed) })
		}
	})
	token := random()
	echoed := make(chan struct{})
	var echoOnce sync.Once
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnOpen(func() { _ = dc.SendText(token) })
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			if string(m.Data) == token {
				echoOnce.Do(func() { close(echoed) })
			}
		})
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		j := c.ToJSON()
		_ = s.send(ref, signal.Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment})
	})
	if err := s.send(ref, signal.Check{Worker: signal.WorkerID(worker)}); err != nil {
		return nil, err
	}

	deadline := time.NewTimer(cfg.Timeout)
	defer deadline.Stop()
	answered := false
	var early []webrtc.ICECandidateInit
	for {
		select {
		case <-ctx.Done():
			return ports, ctx.Err()
		case <-deadline.C:
			if !answered {
				return ports, errNoOffer
			}
			return ports, fmt.Errorf("no echo within %v", cfg.Timeout)
		case <-failed:
			return ports, errors.New("the connection failed")
		case <-echoed:
			return ports, nil
		case p := <-in:
			switch p := p.(type) {
			case signal.Error:
				return ports, refusal(p.Message)
			case signal.Ended:
				if answered {
					// The worker's end of the connection failed, or its
					// time ran out: the connection did not come up.
					return ports, fmt.Errorf("the worker ended the test connection: %s", p.Reason)
				}
				return ports, refusal(p.Reason)
			case signal.SDP:
				if p.Type() != signal.TypeOffer || answered {
					continue
				}
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: p.SDP}); err != nil {
					return ports, err
				}
				answer, err := pc.CreateAnswer(nil)
				if err != nil {
					return ports, err
				}
				if err := pc.SetLocalDescription(answer); err != nil {
					return ports, err
				}
				if err := s.send(ref, signal.Answer(answer.SDP)); err != nil {
					return ports, err
				}
				answered = true
				for _, c := range early {
					_ = pc.AddICECandidate(c)
				}
				early = nil
			case signal.Candidate:
				if port, ok := candidatePort(p.Candidate); ok && !slices.Contains(ports, port) {
					ports = append(ports, port)
				}
				c := webrtc.ICECandidateInit{Candidate: p.Candidate, SDPMid: p.SDPMid, SDPMLineIndex: p.SDPMLineIndex, UsernameFragment: p.UsernameFragment}
				if !answered {
					early = append(early, c)
					continue
				}
				_ = pc.AddICECandidate(c)
			}
		}
	}
}

// random is a fresh random token.
func random() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

package gobrowsertest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// Browser is one tab of the web app: the /ws socket, one session at a
// time, and the session's Client. One goroutine reads the socket: it keeps
// the newest room state and live rooms list, applies candidates once the
// answer is set, as the page does, and passes every other message on.
type Browser struct {
	t testing.TB
	*Client
	// http dials the socket; nil, http.DefaultClient.
	http *http.Client
	// The socket, its reader's messages, and the reader's end; replaced
	// by Reconnect, used by the test's goroutine only.
	ws         *websocket.Conn
	inbox      chan received
	readerDone chan struct{}

	mu       sync.Mutex
	sessions int                    // sessions begun, for fresh refs
	ref      signal.SessionID       // the current session's
	answered *webrtc.PeerConnection // the current session's, once answered
	early    []signal.Candidate     // the current session's, before that
	room     signal.RoomState
	live     signal.LiveRooms
}

type received struct {
	m signal.Message
	p signal.Payload
}

// Dial opens a tab on the coordinator at base (http://host:port); it is
// closed when the test ends.
func Dial(t testing.TB, base string) *Browser {
	t.Helper()
	return DialTLS(t, base, nil)
}

// DialTLS is Dial for a coordinator at https://host:port, whose
// certificate tlsConfig verifies (a test's own CA); nil, Dial.
func DialTLS(t testing.TB, base string, tlsConfig *tls.Config) *Browser {
	t.Helper()
	b := &Browser{t: t}
	if tlsConfig != nil {
		b.http = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
		t.Cleanup(b.http.CloseIdleConnections)
	}
	b.connect(base)
	t.Cleanup(b.disconnect)
	return b
}

// DialFrom is Dial from another loopback address (127.0.0.2, say): a
// client the coordinator tells apart from the test's others, as it does
// people on other networks.
func DialFrom(t testing.TB, base string, from net.IP) *Browser {
	t.Helper()
	b := &Browser{t: t, http: FromAddress(from)}
	t.Cleanup(b.http.CloseIdleConnections)
	b.connect(base)
	t.Cleanup(b.disconnect)
	return b
}

// FromAddress is an HTTP client whose connections come from the local
// address from.
func FromAddress(from net.IP) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: from}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// Hello is what a page opening now on the coordinator at base is told,
// read by a tab opened and closed for it.
func Hello(t testing.TB, base string) signal.Hello {
	t.Helper()
	b := Dial(t, base)
	defer b.disconnect()
	return Await[signal.Hello](b)
}

// connect opens the tab's socket and starts its reader.
func (b *Browser) connect(base string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{HTTPClient: b.http})
	if err != nil {
		b.t.Fatal(err)
	}
	ws.SetReadLimit(signal.MaxMessage)
	inbox, done := make(chan received, 256), make(chan struct{})
	b.ws, b.inbox, b.readerDone = ws, inbox, done
	go func() {
		defer close(done)
		b.readLoop(ws, inbox)
	}()
}

// disconnect closes the socket and waits for its reader.
func (b *Browser) disconnect() {
	b.ws.CloseNow()
	<-b.readerDone
}

// Reconnect opens a new socket in place of the tab's lost one, as the page
// does after its coordinator went away; the session and its peer
// connection stay as they are.
func (b *Browser) Reconnect(base string) {
	b.t.Helper()
	b.disconnect()
	b.connect(base)
}

func (b *Browser) readLoop(ws *websocket.Conn, inbox chan<- received) {
	defer close(inbox)
	for {
		_, data, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		m, p, err := signal.Decode(data)
		if err != nil {
			b.t.Errorf("gobrowsertest: decode %s: %v", data, err)
			continue
		}
		b.mu.Lock()
		current := m.Session != "" && m.Session == b.ref
		var pc *webrtc.PeerConnection
		switch p := p.(type) {
		case signal.RoomState:
			if current && (p.ID != b.room.ID || p.Rev > b.room.Rev) {
				b.room = p
			}
		case signal.LiveRooms:
			b.live = p
		case signal.Candidate:
			if current && b.answered == nil {
				b.early = append(b.early, p)
			}
			pc = b.answered
		}
		b.mu.Unlock()
		switch p := p.(type) {
		case signal.RoomState, signal.LiveRooms:
			continue // kept, for WaitRoom and WaitLive
		case signal.Candidate:
			if current && pc != nil {
				addCandidate(pc, p)
			}
			continue // kept until the answer, or an earlier session's
		}
		inbox <- received{m, p}
	}
}

// Ref is the current session's reference.
func (b *Browser) Ref() signal.SessionID {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ref
}

// Send sends a message for the current session.
func (b *Browser) Send(p signal.Payload) {
	b.t.Helper()
	data, err := signal.Encode(b.Ref(), p)
	if err != nil {
		b.t.Fatal(err)
	}
	b.SendRaw(data)
}

// SendRaw sends bytes as they are.
func (b *Browser) SendRaw(data []byte) {
	b.t.Helper()
	if err := b.ws.Write(context.Background(), websocket.MessageText, data); err != nil {
		b.t.Fatal(err)
	}
}

// Close closes the tab's socket, as closing the tab does.
func (b *Browser) Close() { b.ws.Close(websocket.StatusGoingAway, "") }

// ReadMessage returns the next message other than room states, live
// rooms and candidates.
func (b *Browser) ReadMessage() (signal.Message, signal.Payload) {
	b.t.Helper()
	select {
	case r, ok := <-b.inbox:
		if !ok {
			b.t.Fatal("gobrowsertest: the coordinator closed the socket")
		}
		return r.m, r.p
	case <-time.After(waittest.Limit):
		b.t.Fatalf("gobrowsertest: no message for %v", waittest.Limit)
	}
	return signal.Message{}, nil
}

// Read is ReadMessage's payload.
func (b *Browser) Read() signal.Payload {
	b.t.Helper()
	_, p := b.ReadMessage()
	return p
}

// ReadError reads until an error for the current session comes, skipping
// hellos and what is left of earlier sessions.
func (b *Browser) ReadError() signal.Error {
	b.t.Helper()
	for range 100 {
		m, p := b.ReadMessage()
		if e, ok := p.(signal.Error); ok && (m.Session == b.Ref() || m.Session == "") {
			return e
		}
	}
	b.t.Fatal("gobrowsertest: no error in 100 messages")
	return signal.Error{}
}

// Await reads until a message of type T comes, skipping up to 20 others
// (room news, hellos, what is left of earlier sessions).
func Await[T signal.Payload](b *Browser) T {
	b.t.Helper()
	for range 20 {
		if p, ok := b.Read().(T); ok {
			return p
		}
	}
	var none T
	b.t.Fatalf("gobrowsertest: no %T in 20 messages", none)
	return none
}

// WaitGames reads hellos until one lists a game: a worker registers a
// moment after the coordinator starts.
func (b *Browser) WaitGames() signal.Hello {
	b.t.Helper()
	for range 10 {
		if h, ok := b.Read().(signal.Hello); ok && len(h.Games) > 0 {
			return h
		}
	}
	b.t.Fatal("gobrowsertest: no hello with games")
	return signal.Hello{}
}

// Play starts a game in a new room and negotiates its stream.
func (b *Browser) Play(start signal.Start) signal.Started {
	b.t.Helper()
	return b.enter(start)
}

// Join enters a running room and negotiates its stream.
func (b *Browser) Join(join signal.Join) signal.Started {
	b.t.Helper()
	return b.enter(join)
}

// Begin sends a start or join as a new session, without negotiating:
// for requests expected to fail.
func (b *Browser) Begin(p signal.Payload) {
	b.t.Helper()
	b.mu.Lock()
	b.sessions++
	b.ref = signal.SessionID(fmt.Sprintf("tab-%d", b.sessions))
	b.answered, b.early = nil, nil // the old peer's candidates are over
	b.room = signal.RoomState{}
	b.mu.Unlock()
	b.Send(p)
}

// enter negotiates like the web app: the offer may come before "started"
// (the worker negotiates while the game boots), and candidates before
// either.
func (b *Browser) enter(p signal.Payload) signal.Started {
	b.t.Helper()
	b.Client = NewClient(b.t)
	b.Begin(p)
	ref, ws := b.Ref(), b.ws // the candidates of this connection go out on this socket
	b.PC.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			ci := c.ToJSON()
			data, _ := signal.Encode(ref, signal.Candidate{Candidate: ci.Candidate, SDPMid: ci.SDPMid, SDPMLineIndex: ci.SDPMLineIndex})
			_ = ws.Write(context.Background(), websocket.MessageText, data)
		}
	})
	var started *signal.Started
	answered := false
	for started == nil || !answered {
		m, p := b.ReadMessage()
		if _, ok := p.(signal.Hello); ok {
			continue // the library again, sent whenever a worker comes or goes
		}
		if m.Session != ref {
			continue // left over from an earlier session
		}
		switch p := p.(type) {
		case signal.Started:
			started = &p
		case signal.SDP:
			b.answer(p)
			answered = true
			b.mu.Lock()
			b.answered = b.PC // from now on the reader adds candidates itself
			early := b.early
			b.early = nil
			b.mu.Unlock()
			for _, c := range early {
				addCandidate(b.PC, c)
			}
		default:
			b.t.Fatalf("gobrowsertest: unexpected %s %+v while starting", p.Type(), p)
		}
	}
	return *started
}

func (b *Browser) answer(offer signal.SDP) {
	b.t.Helper()
	if err := b.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		b.t.Fatal(err)
	}
	answer, err := b.PC.CreateAnswer(nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.PC.SetLocalDescription(answer); err != nil {
		b.t.Fatal(err)
	}
	b.Send(signal.Answer(answer.SDP))
}

func addCandidate(pc *webrtc.PeerConnection, c signal.Candidate) {
	_ = pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
}

// Room is the newest state of the current session's room.
func (b *Browser) Room() signal.RoomState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.room
}

// WaitRoom waits for the room's state to satisfy ok.
func (b *Browser) WaitRoom(what string, ok func(signal.RoomState) bool) signal.RoomState {
	b.t.Helper()
	return waitFor(b, what, b.Room, ok)
}

// Live is the newest live rooms list.
func (b *Browser) Live() signal.LiveRooms {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.live
}

// WaitLive waits for the live rooms list to satisfy ok.
func (b *Browser) WaitLive(what string, ok func(signal.LiveRooms) bool) signal.LiveRooms {
	b.t.Helper()
	return waitFor(b, what, b.Live, ok)
}

func waitFor[T any](b *Browser, what string, get func() T, ok func(T) bool) T {
	b.t.Helper()
	var v T
	waittest.Eventually(b.t, "gobrowsertest: "+what, func() error {
		if v = get(); !ok(v) {
			return fmt.Errorf("last %+v", v)
		}
		return nil
	})
	return v
}

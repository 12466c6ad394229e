package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// Player ids of the tests' pages.
const (
	playerP signal.PlayerID = "player-p-0123456789"
	playerQ signal.PlayerID = "player-q-0123456789"
)

// limitsRoom is the room the limits' tests' worker runs from the start.
const limitsRoom signal.RoomID = "ROOM1234"

var limitsGame = signal.GameInfo{ID: "g", Title: "G", System: "nes"}

// testClock is the clock the limits' rates fill up by: it stands still
// unless the test moves it, so that a busy machine's slowness refills
// nothing.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limitsEnv is a coordinator with limits behind a trusted proxy
// (loopback), whose browsers come from the addresses the test names in
// X-Forwarded-For, and a worker that runs limitsRoom and takes whatever
// it is sent without answering.
type limitsEnv struct {
	t      *testing.T
	c      *Coordinator
	srv    *httptest.Server
	worker *websocket.Conn
	clock  *testClock
	// ws are the browsers' sockets, by the names the test gives them.
	ws map[string]*websocket.Conn
	// closeRoomLater is a room a test's worker closes later on.
	closeRoomLater signal.RoomID
}

func newLimitsEnv(t *testing.T, l Limits) *limitsEnv {
	t.Helper()
	l.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	clock := &testClock{t: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	c, srv := serve(t, Config{Secrets: []string{testSecret}, Limits: l, Now: clock.now, RejoinWindow: NoRejoinWindow, WorkerTimeout: time.Hour})
	e := &limitsEnv{t: t, c: c, srv: srv, clock: clock, ws: map[string]*websocket.Conn{}}
	e.worker = dial(t, srv, "/worker", workerAuth(t, "w"))
	send(t, e.worker, signal.Register{ID: "w", Capacity: 100, Games: []signal.GameInfo{limitsGame},
		Rooms: []signal.Listing{{ID: limitsRoom, Game: limitsGame, Players: 1}}})
	waittest.Eventually(t, "the worker registers its room", func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.rooms[limitsRoom] == nil {
			return errors.New("no room yet")
		}
		return nil
	})
	return e
}

// dial opens a browser's socket from addr and waits for its hello: nil;
// or for the coordinator's refusal, whose close must come with the
// same words and Try Again Later.
func (e *limitsEnv) dial(addr string) (*websocket.Conn, *signal.Error) {
	e.t.Helper()
	ws := dial(e.t, e.srv, "/ws", http.Header{"X-Forwarded-For": {addr}})
	var refusal *signal.Error
	readUntil(e.t, ws, "the hello, or a refusal", func(p signal.Payload) bool {
		if err, ok := p.(signal.Error); ok {
			refusal = &err
		}
		_, hello := p.(signal.Hello)
		return hello || refusal != nil
	})
	if refusal == nil {
		return ws, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	_, _, err := ws.Read(ctx)
	var closed websocket.CloseError
	if !errors.As(err, &closed) || closed.Code != websocket.StatusTryAgainLater || closed.Reason != refusal.Message {
		e.t.Errorf("a refused socket was closed with %v, want Try Again Later and %q", err, refusal.Message)
	}
	return nil, refusal
}

// open is dial for a socket that must be accepted, kept as name.
func (e *limitsEnv) open(name, addr string) *websocket.Conn {
	e.t.Helper()
	ws, refusal := e.dial(addr)
	if refusal != nil {
		e.t.Fatalf("%s's socket from %s was refused: %+v", name, addr, *refusal)
	}
	e.ws[name] = ws
	return ws
}

// ask sends p from the browser name, and returns the coordinator's
// refusal, or what the worker got of it. Either way it is known once a
// message sent after p is answered: the coordinator takes a browser's
// messages in order, and answers a heartbeat, which browsers do not
// send, at once.
func (e *limitsEnv) ask(name string, p signal.Payload) (got signal.Payload, refusal *signal.Error) {
	e.t.Helper()
	ws := e.ws[name]
	sendAs(e.t, ws, "ref", p)
	send(e.t, ws, signal.Heartbeat{})
	_, barrier := e.c.words(errNotForBrowsers)
	readUntil(e.t, ws, fmt.Sprintf("the answer to %s's %s", name, p.Type()), func(q signal.Payload) bool {
		err, ok := q.(signal.Error)
		switch {
		case !ok:
			return false
		case err.Message == barrier:
			return true
		case refusal == nil:
			refusal = &err
		}
		return false
	})
	if refusal != nil {
		return nil, refusal
	}
	readUntil(e.t, e.worker, fmt.Sprintf("%s's %s at the worker", name, p.Type()), func(q signal.Payload) bool {
		got = q
		return q.Type() == p.Type()
	})
	return got, nil
}

// must is ask for a request within the limits: the worker gets it.
func (e *limitsEnv) must(name string, p signal.Payload) signal.Payload {
	e.t.Helper()
	got, refusal := e.ask(name, p)
	if refusal != nil {
		e.t.Fatalf("%s's %s within the limits was refused: %+v", name, p.Type(), *refusal)
	}
	return got
}

// start starts a room for name, and returns its id.
func (e *limitsEnv) start(name string, player signal.PlayerID) signal.RoomID {
	e.t.Helper()
	return e.must(name, signal.Start{Game: limitsGame.ID, Player: player}).(signal.Start).Room
}

// closeRoom has the worker say a room has closed.
func (e *limitsEnv) closeRoom(id signal.RoomID) {
	e.t.Helper()
	send(e.t, e.worker, signal.Listing{ID: id, Game: limitsGame, Closed: true})
}

// refused counts the refusals by one limit, as /metrics says.
func (e *limitsEnv) refused(limit limitError) string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.c.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	prefix := fmt.Sprintf("telecart_coordinator_refused_total{limit=%q} ", string(limit))
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if n, ok := strings.CutPrefix(line, prefix); ok {
			return n
		}
	}
	e.t.Fatalf("/metrics has no %s", prefix)
	return ""
}

// TestLimits: for each limit, a client (or a player) goes up to it, each
// request going through, then one over, which is refused with the
// limit's words and counted; another client is not held back by it, and
// once the client lets go of something (or time passes) it goes through
// again. Without the limit, the request over it goes through: the
// refusal is the limit's.
func TestLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		limit  limitError
		// fill takes client a (address 192.0.2.1) up to the limit.
		fill func(e *limitsEnv)
		// over is one request more, from a or a's player.
		over func(e *limitsEnv) *signal.Error
		// after checks, with the limit, that others go on and that
		// what a lets go of can be taken again.
		after func(e *limitsEnv)
	}{{
		name: "sockets per client", limits: Limits{Sockets: 2}, limit: errTooManySockets,
		fill: func(e *limitsEnv) {
			e.open("a1", "192.0.2.1")
			e.open("a2", "192.0.2.1")
		},
		over: func(e *limitsEnv) *signal.Error { _, r := e.dial("192.0.2.1"); return r },
		after: func(e *limitsEnv) {
			e.open("b", "192.0.2.2")
			e.ws["a1"].Close(websocket.StatusNormalClosure, "")
			waittest.Eventually(e.t, "a socket of a's once a1 closed", func() error {
				if _, r := e.dial("192.0.2.1"); r != nil {
					return errors.New(r.Message)
				}
				return nil
			})
		},
	}, {
		name: "sockets in all", limits: Limits{Browsers: 2}, limit: errTooManyBrowsers,
		fill: func(e *limitsEnv) {
			e.open("a", "192.0.2.1")
			e.open("b", "192.0.2.2")
		},
		over: func(e *limitsEnv) *signal.Error { _, r := e.dial("192.0.2.3"); return r },
		after: func(e *limitsEnv) {
			e.ws["b"].Close(websocket.StatusNormalClosure, "")
			waittest.Eventually(e.t, "a socket once b's closed", func() error {
				if _, r := e.dial("192.0.2.3"); r != nil {
					return errors.New(r.Message)
				}
				return nil
			})
		},
	}, {
		name: "rooms started per minute", limits: Limits{StartsPerMinute: 2}, limit: errTooManyStarts,
		fill: func(e *limitsEnv) {
			e.open("a", "192.0.2.1")
			e.start("a", "")
			e.must("a", signal.Quit{})
			e.start("a", "")
			e.must("a", signal.Quit{})
		},
		over: func(e *limitsEnv) *signal.Error {
			_, r := e.ask("a", signal.Start{Game: limitsGame.ID})
			return r
		},
		after: func(e *limitsEnv) {
			e.open("b", "192.0.2.2")
			e.start("b", "")
			e.clock.advance(30 * time.Second) // one start's worth at 2 a minute
			e.start("a", "")
		},
	}, {
		name: "rooms held", limits: Limits{Rooms: 2}, limit: errTooManyRooms,
		fill: func(e *limitsEnv) {
			e.open("a", "192.0.2.1")
			first := e.start("a", "")
			e.must("a", signal.Quit{}) // the room lives on, empty
			e.start("a", "")
			e.must("a", signal.Quit{})
			e.closeRoomLater = first
		},
		over: func(e *limitsEnv) *signal.Error {
			_, r := e.ask("a", signal.Start{Game: limitsGame.ID})
			return r
		},
		after: func(e *limitsEnv) {
			e.open("b", "192.0.2.2")
			e.start("b", "")
			e.closeRoom(e.closeRoomLater)
			waittest.Eventually(e.t, "a's start once one of its rooms closed", func() error {
				if _, r := e.ask("a", signal.Start{Game: limitsGame.ID}); r != nil {
					return errors.New(r.Message)
				}
				return nil
			})
		},
	}, {
		name: "joins per second", limits: Limits{JoinsPerSecond: 1}, limit: errTooManyJoins,
		fill: func(e *limitsEnv) {
			e.open("a", "192.0.2.1")
			for range joinBurst {
				e.must("a", signal.Join{Room: limitsRoom})
				e.must("a", signal.Quit{})
			}
		},
		over: func(e *limitsEnv) *signal.Error {
			_, r := e.ask("a", signal.Join{Room: limitsRoom})
			return r
		},
		after: func(e *limitsEnv) {
			e.open("b", "192.0.2.2")
			e.must("b", signal.Join{Room: limitsRoom})
			e.clock.advance(time.Second)
			e.must("a", signal.Join{Room: limitsRoom})
		},
	}, {
		name: "unanswered sessions", limits: Limits{Unanswered: 2}, limit: errTooManyUnanswered,
		fill: func(e *limitsEnv) {
			for _, name := range []string{"a1", "a2", "a3"} {
				e.open(name, "192.0.2.1")
			}
			e.must("a1", signal.Join{Room: limitsRoom})
			e.must("a2", signal.Start{Game: limitsGame.ID})
		},
		over: func(e *limitsEnv) *signal.Error {
			_, r := e.ask("a3", signal.Join{Room: limitsRoom})
			return r
		},
		after: func(e *limitsEnv) {
			e.open("b", "192.0.2.2")
			e.must("b", signal.Join{Room: limitsRoom})
			e.must("a1", signal.Answer("v=0\r\n"))
			e.must("a3", signal.Join{Room: limitsRoom})
		},
	}, {
		name: "rooms held by a player", limits: Limits{PlayerRooms: 1}, limit: errTooManyPlayerRooms,
		fill: func(e *limitsEnv) {
			e.open("a", "192.0.2.1")
			e.closeRoomLater = e.start("a", playerP)
		},
		over: func(e *limitsEnv) *signal.Error {
			e.open("b", "192.0.2.2") // the same player elsewhere
			_, r := e.ask("b", signal.Start{Game: limitsGame.ID, Player: playerP})
			return r
		},
		after: func(e *limitsEnv) {
			e.start("b", playerQ)
			e.open("c", "192.0.2.3")
			e.closeRoom(e.closeRoomLater)
			waittest.Eventually(e.t, "the player's start once its room closed", func() error {
				if _, r := e.ask("c", signal.Start{Game: limitsGame.ID, Player: playerP}); r != nil {
					return errors.New(r.Message)
				}
				return nil
			})
		},
	}, {
		name: "unanswered sessions of a player", limits: Limits{PlayerUnanswered: 1}, limit: errTooManyPlayerUnanswered,
		fill: func(e *limitsEnv) {
			e.open("a", "192.0.2.1")
			e.must("a", signal.Join{Room: limitsRoom, Player: playerP})
		},
		over: func(e *limitsEnv) *signal.Error {
			e.open("b", "192.0.2.2")
			_, r := e.ask("b", signal.Join{Room: limitsRoom, Player: playerP})
			return r
		},
		after: func(e *limitsEnv) {
			e.must("b", signal.Join{Room: limitsRoom, Player: playerQ})
			e.open("c", "192.0.2.3")
			e.must("a", signal.Answer("v=0\r\n"))
			e.must("c", signal.Join{Room: limitsRoom, Player: playerP})
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLimitsEnv(t, tt.limits)
			tt.fill(e)
			refusal := tt.over(e)
			if refusal == nil {
				t.Fatalf("one over the limit went through")
			}
			code, sentence := e.c.words(tt.limit)
			if refusal.Code != code || refusal.Message != sentence {
				t.Errorf("refused with %q %q, want %q %q", refusal.Code, refusal.Message, code, sentence)
			}
			if n := e.refused(tt.limit); n != "1" {
				t.Errorf("refusals by %s counted %s, want 1", tt.limit, n)
			}
			tt.after(e)
		})
		t.Run(tt.name+", without it", func(t *testing.T) {
			e := newLimitsEnv(t, Limits{})
			tt.fill(e)
			if refusal := tt.over(e); refusal != nil {
				t.Errorf("with no limit, refused: %+v", *refusal)
			}
			if n := e.refused(tt.limit); n != "0" {
				t.Errorf("refusals by %s counted %s with no limit", tt.limit, n)
			}
		})
	}
}

// TestLimitsReleased: whatever a client held is given back as it goes:
// its socket and its unanswered session when the socket closes, a room
// when the worker closes it or refuses to open it; and the coordinator
// then holds nothing for the client or its player.
func TestLimitsReleased(t *testing.T) {
	e := newLimitsEnv(t, Limits{Sockets: 1, Rooms: 1, Unanswered: 1, PlayerRooms: 1, PlayerUnanswered: 1, Browsers: 1})
	e.open("a", "192.0.2.1")
	room := e.start("a", playerP)
	e.ws["a"].Close(websocket.StatusNormalClosure, "")
	readUntil(t, e.worker, "the quit of a's session, its socket closed", func(p signal.Payload) bool { return p.Type() == signal.TypeQuit })

	// The room lives on without anyone: it still counts, the socket and
	// the unanswered session no more.
	var a *websocket.Conn
	waittest.Eventually(t, "a socket of a's once the first closed", func() error {
		ws, r := e.dial("192.0.2.1")
		if r != nil {
			return errors.New(r.Message)
		}
		a = ws
		return nil
	})
	e.ws["a"] = a
	if _, r := e.ask("a", signal.Start{Game: limitsGame.ID, Player: playerP}); r == nil || r.Message != sentenceOf(e, errTooManyRooms) {
		t.Fatalf("a second room while the first lives: refused with %+v, want the rooms limit", r)
	}
	e.must("a", signal.Join{Room: limitsRoom, Player: playerP}) // its unanswered session is gone
	e.must("a", signal.Quit{})

	// The worker closes the room: a may start another, which the worker
	// refuses to open; that one is gone too.
	e.closeRoom(room)
	var start signal.Start
	waittest.Eventually(t, "a's start once its room closed", func() error {
		got, r := e.ask("a", signal.Start{Game: limitsGame.ID, Player: playerP})
		if r != nil {
			return errors.New(r.Message)
		}
		start = got.(signal.Start)
		return nil
	})
	session := e.sessionOf(start.Room)
	sendAs(t, e.worker, session, signal.Error{Code: signal.CodeNoWorker, Message: "This server is full."})
	readUntil(t, e.ws["a"], "the worker's refusal", func(p signal.Payload) bool {
		err, ok := p.(signal.Error)
		return ok && err.Code == signal.CodeNoWorker
	})
	e.start("a", playerP)
	e.must("a", signal.Quit{})

	// Everyone gone, every room closed: nothing is held for anyone.
	e.c.mu.Lock()
	rooms := make([]signal.RoomID, 0, len(e.c.rooms))
	for id := range e.c.rooms {
		rooms = append(rooms, id)
	}
	e.c.mu.Unlock()
	for _, id := range rooms {
		e.closeRoom(id)
	}
	e.ws["a"].Close(websocket.StatusNormalClosure, "")
	waittest.Eventually(t, "the limits holding nothing", func() error {
		e.c.mu.Lock()
		defer e.c.mu.Unlock()
		l := e.c.limits
		if len(l.clients) != 0 || len(l.players) != 0 || l.browsers != 0 || l.refusing != 0 {
			return fmt.Errorf("%d clients, %d players, %d sockets, %d being refused", len(l.clients), len(l.players), l.browsers, l.refusing)
		}
		return nil
	})
}

// sentenceOf is what a browser is told of err.
func sentenceOf(e *limitsEnv, err error) string {
	_, s := e.c.words(err)
	return s
}

// sessionOf is the coordinator's id of the session that started a room.
func (e *limitsEnv) sessionOf(room signal.RoomID) signal.SessionID {
	e.t.Helper()
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	r := e.c.rooms[room]
	if r == nil || r.opening == "" {
		e.t.Fatalf("room %s is not opening", room)
	}
	return r.opening
}

// TestClientOf: the client a request counts as is its peer, unless the
// peer is a trusted proxy: then the right-most address of
// X-Forwarded-For that is not a trusted proxy, since what lies left of
// it the client may have written. An IPv6 client is its /64.
func TestClientOf(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
		warned  bool
	}{
		{name: "IPv4", peer: "198.51.100.7:4000", want: "198.51.100.7/32"},
		{name: "IPv6 by its /64", peer: "[2001:db8:1:2:3:4:5:6]:4000", want: "2001:db8:1:2::/64"},
		{name: "IPv6 with a zone", peer: "[fe80::1%eth0]:4000", want: "fe80::/64"},
		{name: "IPv4 in IPv6", peer: "[::ffff:198.51.100.7]:4000", want: "198.51.100.7/32"},
		{name: "X-Forwarded-For from an untrusted peer", peer: "198.51.100.7:4000", xff: []string{"203.0.113.9"}, want: "198.51.100.7/32", warned: true},
		{name: "X-Forwarded-For with no proxy trusted", trusted: nil, peer: "10.0.0.1:4000", xff: []string{"203.0.113.9"}, want: "10.0.0.1/32", warned: true},
		{name: "a trusted proxy", trusted: proxies, peer: "10.0.0.1:4000", xff: []string{"203.0.113.9"}, want: "203.0.113.9/32"},
		{name: "a trusted proxy without X-Forwarded-For", trusted: proxies, peer: "10.0.0.1:4000", want: "10.0.0.1/32"},
		{name: "what the client wrote is ignored", trusted: proxies, peer: "10.0.0.1:4000", xff: []string{"1.2.3.4, 203.0.113.9"}, want: "203.0.113.9/32"},
		{name: "a chain of proxies", trusted: proxies, peer: "10.0.0.1:4000", xff: []string{"1.2.3.4, 203.0.113.9, 10.2.0.1, fd00::5"}, want: "203.0.113.9/32"},
		{name: "a chain over several headers", trusted: proxies, peer: "10.0.0.1:4000", xff: []string{"1.2.3.4", "203.0.113.9,10.2.0.1"}, want: "203.0.113.9/32"},
		{name: "an IPv6 client through a proxy", trusted: proxies, peer: "[fd00::1]:4000", xff: []string{"2001:db8:1:2:3:4:5:6"}, want: "2001:db8:1:2::/64"},
		{name: "proxies all the way", trusted: proxies, peer: "10.0.0.1:4000", xff: []string{"10.3.0.1, 10.2.0.1"}, want: "10.3.0.1/32"},
		{name: "not an address", trusted: proxies, peer: "10.0.0.1:4000", xff: []string{"203.0.113.9, unknown, 10.2.0.1"}, want: "10.2.0.1/32"},
		{name: "a client behind no proxy", trusted: proxies, peer: "203.0.113.9:4000", xff: []string{"1.2.3.4"}, want: "203.0.113.9/32", warned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			l := &limiter{Limits: Limits{TrustedProxies: tt.trusted}, log: slog.New(slog.NewTextHandler(&log, nil))}
			r := httptest.NewRequest("GET", "/ws", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for range 2 {
				if got := l.clientOf(r); got.String() != tt.want {
					t.Errorf("client %s, want %s", got, tt.want)
				}
			}
			if warnings := strings.Count(log.String(), "level=WARN"); warnings != map[bool]int{false: 0, true: 1}[tt.warned] {
				t.Errorf("%d warnings of an untrusted proxy, want one if %v:\n%s", warnings, tt.warned, log.String())
			}
		})
	}
}

// TestResumeLimits: a resume of a room the coordinator knows is not
// counted as a join (after a restart, every player behind one address
// resumes at once); one of a room it does not know is a guess, and
// counts. In the rejoin window, a browser waits for one room at a time:
// its guesses cannot pile up.
func TestResumeLimits(t *testing.T) {
	e := newLimitsEnv(t, Limits{JoinsPerSecond: 1})
	e.open("a", "192.0.2.1")
	for range joinBurst + 2 {
		e.must("a", signal.Resume{Room: limitsRoom, Token: "secret-of-the-session-00"})
		e.must("a", signal.Quit{})
	}
	for i := range joinBurst {
		if _, r := e.ask("a", signal.Resume{Room: signal.RoomID(fmt.Sprintf("GONE%04d", i)), Token: "secret-of-the-session-00"}); r == nil || r.Code != signal.CodeRoomEnded {
			t.Fatalf("a resume of an unknown room within the limit: %+v, want room_ended", r)
		}
	}
	if _, r := e.ask("a", signal.Resume{Room: "GONE9999", Token: "secret-of-the-session-00"}); r == nil || r.Message != sentenceOf(e, errTooManyJoins) {
		t.Fatalf("a resume of an unknown room over the limit: %+v, want the joins limit", r)
	}

	c, srv := serve(t, Config{Secrets: []string{testSecret}, RejoinWindow: time.Hour, Limits: Limits{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	b := dial(t, srv, "/ws", nil)
	for i := range 100 {
		sendAs(t, b, "ref", signal.Resume{Room: signal.RoomID(fmt.Sprintf("WAIT%04d", i)), Token: "secret-of-the-session-00"})
	}
	send(t, b, signal.Heartbeat{}) // answered once the resumes before it were taken
	_, barrier := c.words(errNotForBrowsers)
	readUntil(t, b, "the answer to a heartbeat", func(p signal.Payload) bool { err, ok := p.(signal.Error); return ok && err.Message == barrier })
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.awaiting) != 1 || len(c.awaiting["WAIT0099"]) != 1 {
		t.Errorf("one browser waits for %d rooms, want the last it asked for", len(c.awaiting))
	}
}

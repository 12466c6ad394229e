package coordinator

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/turnrest"
	"github.com/telecart/telecart/internal/waittest"
)

const turnSecret = "north-wind"

// firstHello reads a browser's first message, raw and decoded.
func firstHello(t *testing.T, ws *websocket.Conn) ([]byte, signal.Hello) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := signal.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := p.(signal.Hello)
	if !ok {
		t.Fatalf("first message %T, want a hello", p)
	}
	return b, h
}

// turnOf checks a hello's ICE servers: the configured STUN server, then
// the TURN servers with credentials by the TURN REST scheme, made with
// the secret; it returns the username's expiry and id.
func turnOf(t *testing.T, raw []byte, h signal.Hello) (expiry int64, id string) {
	t.Helper()
	if strings.Contains(string(raw), turnSecret) {
		t.Fatalf("the hello holds the TURN secret: %s", raw)
	}
	if len(h.ICEServers) != 2 || h.ICEServers[0].URLs[0] != "stun:stun.example.org" || h.ICEServers[0].Username != "" {
		t.Fatalf("ICE servers %+v, want the STUN server, then the TURN servers", h.ICEServers)
	}
	turn := h.ICEServers[1]
	if strings.Join(turn.URLs, " ") != "turn:turn.example.org:3478?transport=udp turn:turn.example.org:3478?transport=tcp" {
		t.Errorf("TURN URLs %q", turn.URLs)
	}
	ts, id, ok := strings.Cut(turn.Username, ":")
	expiry, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || len(id) < 8 {
		t.Fatalf("username %q, want <unix expiry>:<id>", turn.Username)
	}
	if want := turnrest.New(turnSecret, id, time.Unix(expiry, 0)); turn.Credential != want.Credential {
		t.Errorf("credential %q of %q, want %q: base64(HMAC-SHA1(secret, username))", turn.Credential, turn.Username, want.Credential)
	}
	return expiry, id
}

// Every browser gets TURN credentials of its own in its hello, which
// expire TTL from now, never the secret; and fresh ones every TTL/2.
func TestTURNCredentials(t *testing.T) {
	var now atomic.Int64 // unix ms
	start := time.Unix(1700000000, 0)
	now.Store(start.UnixMilli())
	const ttl = 2 * time.Second
	_, srv := serve(t, Config{
		ICEServers: []signal.ICEServer{{URLs: []string{"stun:stun.example.org"}}},
		TURN: TURN{URLs: []string{"turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"},
			Secret: turnSecret, TTL: ttl},
		Now: func() time.Time { return time.UnixMilli(now.Load()) },
	})
	a := dial(t, srv, "/ws", nil)
	raw, h := firstHello(t, a)
	expiry, idA := turnOf(t, raw, h)
	if want := start.Add(ttl).Unix(); expiry != want {
		t.Errorf("expiry %d, want %d: TTL from now", expiry, want)
	}
	b := dial(t, srv, "/ws", nil)
	raw, h = firstHello(t, b)
	if _, idB := turnOf(t, raw, h); idB == idA {
		t.Errorf("two browsers have the id %q", idA)
	}

	// An hour on, the renewal due every TTL/2 brings credentials that
	// expire TTL from then, to the same id.
	later := start.Add(time.Hour)
	now.Store(later.UnixMilli())
	readUntil(t, a, "a hello with renewed TURN credentials", func(p signal.Payload) bool {
		h, ok := p.(signal.Hello)
		if !ok {
			return false
		}
		raw, err := signal.Encode("", h)
		if err != nil {
			t.Fatal(err)
		}
		expiry, id := turnOf(t, raw, h)
		if id != idA {
			t.Errorf("renewed for %q, want %q", id, idA)
		}
		return expiry == later.Add(ttl).Unix()
	})
}

// Without TURN servers the hello has the configured ICE servers, the
// same for everyone.
func TestICEServersWithoutTURN(t *testing.T) {
	ice := []signal.ICEServer{{URLs: []string{"turn:static.example.org"}, Username: "u", Credential: "c"}}
	_, srv := serve(t, Config{ICEServers: ice})
	for range 2 {
		if _, h := firstHello(t, dial(t, srv, "/ws", nil)); len(h.ICEServers) != 1 || h.ICEServers[0].Username != "u" || h.ICEServers[0].Credential != "c" {
			t.Errorf("ICE servers %+v, want %+v", h.ICEServers, ice)
		}
	}
}

package turntest

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/telecart/telecart/internal/turnrest"
	"github.com/telecart/telecart/internal/waittest"
)

// client speaks just enough TURN over UDP (RFC 5766) to ask coturn what
// it makes of a credential: Allocate, Refresh and CreatePermission with
// the long-term credential mechanism.
type client struct {
	t     *testing.T
	conn  *net.UDPConn
	to    *net.UDPAddr
	creds turnrest.Credentials
	// realm and nonce are the server's, from its first 401.
	realm, nonce stun.Setter
}

func dial(t *testing.T, s *Server, creds turnrest.Credentials) *client {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, to: to, creds: creds}
}

// do sends a request and returns the error code of the answer, 0 for a
// success. A 401 or 438 (stale nonce) without credentials tried yet takes
// the server's realm and nonce and asks again, once.
func (c *client) do(method stun.Method, attrs ...stun.Setter) int {
	c.t.Helper()
	for try := 0; ; try++ {
		setters := append([]stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}, attrs...)
		if c.nonce != nil {
			setters = append(setters, stun.NewUsername(c.creds.Username), c.realm, c.nonce,
				stun.NewLongTermIntegrity(c.creds.Username, c.realm.(stun.Realm).String(), c.creds.Credential))
		}
		setters = append(setters, stun.Fingerprint)
		req := stun.MustBuild(setters...)
		res := c.roundTrip(req)
		if res.Type.Class == stun.ClassSuccessResponse {
			return 0
		}
		var code stun.ErrorCodeAttribute
		if err := code.GetFrom(res); err != nil {
			c.t.Fatalf("%s: an error without a code: %v", method, err)
		}
		fresh := code.Code == stun.CodeStaleNonce || (code.Code == stun.CodeUnauthorized && c.nonce == nil)
		if !fresh || try > 0 {
			return int(code.Code)
		}
		var realm stun.Realm
		var nonce stun.Nonce
		if err := errors.Join(realm.GetFrom(res), nonce.GetFrom(res)); err != nil {
			c.t.Fatalf("%s: %d without a realm and a nonce: %v", method, code.Code, err)
		}
		c.realm, c.nonce = realm, nonce
	}
}

// roundTrip sends req until its answer comes (UDP may lose either), for
// Limit at most.
func (c *client) roundTrip(req *stun.Message) *stun.Message {
	c.t.Helper()
	var res *stun.Message
	waittest.Eventually(c.t, fmt.Sprintf("coturn answering %s", req.Type), func() error {
		if _, err := c.conn.WriteToUDP(req.Raw, c.to); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		if err := c.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			return err
		}
		for {
			n, _, err := c.conn.ReadFromUDP(buf)
			if err != nil {
				return err
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if err := m.Decode(); err != nil || m.TransactionID != req.TransactionID {
				continue // a late answer to an earlier try
			}
			res = m
			return nil
		}
	})
	return res
}

var (
	udp        = stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
	lifetime   = stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0x02, 0x58}} // 600 s
	noLifetime = stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}       // deletes the allocation
)

func permission(port int) stun.Setter {
	return addrAs{stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: port}, stun.AttrXORPeerAddress}
}

type addrAs struct {
	a stun.XORMappedAddress
	t stun.AttrType
}

func (a addrAs) AddTo(m *stun.Message) error { return a.a.AddToAs(m, a.t) }

// Coturn takes the credentials turnrest makes with its secret, and
// refuses with 401 those made with another secret, and expired ones.
func TestCoturnChecksCredentials(t *testing.T) {
	s := Start(t, Config{Secret: "north-wind", Port: 34781, Loopback: true})
	valid := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name  string
		creds turnrest.Credentials
		want  int
	}{
		{"its secret", turnrest.New("north-wind", "alice", valid), 0},
		{"its secret, no id", turnrest.New("north-wind", "", valid), 0},
		{"another secret", turnrest.New("south-wind", "alice", valid), int(stun.CodeUnauthorized)},
		{"expired", turnrest.New("north-wind", "alice", time.Now().Add(-time.Minute)), int(stun.CodeUnauthorized)},
	} {
		if got := dial(t, s, tc.creds).do(stun.MethodAllocate, udp); got != tc.want {
			t.Errorf("%s: Allocate answered %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A credential is checked when the allocation is made, not after: coturn
// keeps the key of an allocation, and refreshes it and adds permissions
// to it after its credential expired. So a game outlives the credential
// it started with (the TTL only bounds how long a credential can start
// new allocations), while a new allocation with it is refused.
func TestCoturnKeepsAllocationPastExpiry(t *testing.T) {
	s := Start(t, Config{Secret: "north-wind", Port: 34782, Loopback: true})
	expiry := time.Now().Add(3 * time.Second)
	creds := turnrest.New("north-wind", "alice", expiry)
	c := dial(t, s, creds)
	if got := c.do(stun.MethodAllocate, udp); got != 0 {
		t.Fatalf("Allocate answered %d, want a success", got)
	}
	if got := c.do(stun.MethodCreatePermission, permission(9)); got != 0 {
		t.Fatalf("CreatePermission answered %d, want a success", got)
	}
	// The event is coturn's clock past the username's second, which it
	// reads from a clock of its own that ticks once a second, a tick or
	// more behind on a busy machine: so the event is coturn refusing a new
	// allocation with the credential. One it still makes is deleted at
	// once (a Refresh to lifetime 0), giving its relay port back.
	waittest.Eventually(t, "coturn refusing a new Allocate with the expired credential", func() error {
		if now := time.Now(); now.Unix() <= expiry.Unix() {
			return fmt.Errorf("%v left", expiry.Sub(now))
		}
		fresh := dial(t, s, creds)
		switch got := fresh.do(stun.MethodAllocate, udp); got {
		case int(stun.CodeUnauthorized):
			return nil
		case 0:
			fresh.do(stun.MethodRefresh, noLifetime)
			return errors.New("coturn still took it: its clock is behind")
		default:
			t.Fatalf("a new Allocate with the expired credential answered %d, want 401", got)
			return nil
		}
	})
	if got := c.do(stun.MethodRefresh, lifetime); got != 0 {
		t.Errorf("Refresh after the expiry answered %d, want a success", got)
	}
	if got := c.do(stun.MethodCreatePermission, permission(10)); got != 0 {
		t.Errorf("CreatePermission after the expiry answered %d, want a success", got)
	}
}

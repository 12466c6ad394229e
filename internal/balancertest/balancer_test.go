package balancertest_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/telecart/telecart/internal/balancertest"
	"github.com/telecart/telecart/internal/waittest"
)

// echoServer is a backend: it greets each connection with its name on a
// line, then echoes what it reads. Stopped, with its connections, when the
// test ends, or by Stop, as a killed backend would.
type echoServer struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

func startEcho(t *testing.T, name string) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{name: name, ln: ln, open: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				if _, err := fmt.Fprintln(c, name); err == nil {
					_, _ = io.Copy(c, c)
				}
			}()
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

func (s *echoServer) Addr() string { return s.ln.Addr().String() }

// Stop closes the listener and every connection, and waits for the
// server's goroutines.
func (s *echoServer) Stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// refusingAddr is a loopback address nothing listens on: a dead backend.
func refusingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// conn is a client's connection through the balancer.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A read that would hang fails the test instead.
	if err := c.SetDeadline(time.Now().Add(waittest.Limit)); err != nil {
		t.Fatal(err)
	}
	return &conn{Conn: c, r: bufio.NewReader(c)}
}

// greeting is the name of the backend that answered.
func (c *conn) greeting(t *testing.T) string {
	t.Helper()
	line, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("no greeting: %v", err)
	}
	return strings.TrimSuffix(line, "\n")
}

// echo sends a line and checks that it comes back.
func (c *conn) echo(t *testing.T, msg string) {
	t.Helper()
	if _, err := fmt.Fprintln(c, msg); err != nil {
		t.Fatal(err)
	}
	line, err := c.r.ReadString('\n')
	if err != nil || line != msg+"\n" {
		t.Fatalf("echo of %q: %q, %v", msg, line, err)
	}
}

// closed checks that the other side closed the connection: reading ends,
// not by the deadline.
func (c *conn) closed(t *testing.T) {
	t.Helper()
	if _, err := io.ReadAll(c.r); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection was not closed within %v", waittest.Limit)
	}
}

func TestRoundRobin(t *testing.T) {
	for _, tc := range []struct {
		name     string
		backends string // "-" is a backend that refuses
		want     string // the backends that answer, in order
		counts   []int
	}{
		{"three up", "abc", "abcabc", []int{2, 2, 2}},
		{"one down", "a-c", "acacac", []int{3, 0, 3}},
		{"first down", "-bc", "bcbcbc", []int{0, 3, 3}},
		{"two down", "a--", "aaa", []int{3, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var addrs []string
			for _, name := range tc.backends {
				if name == '-' {
					addrs = append(addrs, refusingAddr(t))
				} else {
					addrs = append(addrs, startEcho(t, string(name)).Addr())
				}
			}
			b := balancertest.Start(t, addrs...)
			var got strings.Builder
			for range tc.want {
				c := dial(t, b.Addr())
				got.WriteString(c.greeting(t))
				c.echo(t, "ping")
				c.Close()
			}
			if got.String() != tc.want {
				t.Errorf("backends in turn: %s, want %s", got.String(), tc.want)
			}
			for i, want := range tc.counts {
				if n := b.Conns(i); n != want {
					t.Errorf("Conns(%d) = %d, want %d", i, n, want)
				}
			}
		})
	}
}

// Connections made at once still go round: each takes its turn when it
// is accepted, before its backend is dialled.
func TestRoundRobinConcurrent(t *testing.T) {
	addrs := []string{startEcho(t, "a").Addr(), startEcho(t, "b").Addr(), startEcho(t, "c").Addr()}
	b := balancertest.Start(t, addrs...)
	var conns []*conn
	for range 30 {
		conns = append(conns, dial(t, b.Addr()))
	}
	for _, c := range conns {
		c.greeting(t)
	}
	for i := range addrs {
		if n := b.Conns(i); n != 10 {
			t.Errorf("Conns(%d) = %d, want 10", i, n)
		}
	}
}

func TestEveryBackendDown(t *testing.T) {
	b := balancertest.Start(t, refusingAddr(t), refusingAddr(t))
	dial(t, b.Addr()).closed(t)
	none := balancertest.Start(t)
	dial(t, none.Addr()).closed(t)
}

// A backend restarted on another address is set again, and takes its
// share of new connections; those in flight stay where they are.
func TestSetBackends(t *testing.T) {
	a, b1 := startEcho(t, "a"), startEcho(t, "b")
	lb := balancertest.Start(t, a.Addr(), b1.Addr())
	toA, toB := dial(t, lb.Addr()), dial(t, lb.Addr())
	if toA.greeting(t) != "a" || toB.greeting(t) != "b" {
		t.Fatal("not round robin")
	}
	b1.Stop()
	toB.closed(t) // its backend died: the client sees its connection close
	c := dial(t, lb.Addr())
	if name := c.greeting(t); name != "a" {
		t.Fatalf("with b down, %s answered", name)
	}

	b2 := startEcho(t, "B")
	lb.SetBackends(a.Addr(), b2.Addr())
	var got strings.Builder
	for range 4 {
		got.WriteString(dial(t, lb.Addr()).greeting(t))
	}
	if got.String() != "aBaB" {
		t.Errorf("after SetBackends: %s, want aBaB", got.String())
	}
	if lb.Conns(0) != 4 || lb.Conns(1) != 2 {
		t.Errorf("Conns = %d, %d, want 4, 2", lb.Conns(0), lb.Conns(1))
	}
	toA.echo(t, "still here")
}

// Closing either side closes the other.
func TestClosePropagates(t *testing.T) {
	// The backend tells the test when its side of the connection ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ended := make(chan error, 1)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			ended <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		ended <- err
	}()
	b := balancertest.Start(t, ln.Addr().String())
	c := dial(t, b.Addr())
	if _, err := c.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("the backend's side: %v, want EOF", err)
		}
	case <-time.After(waittest.Limit):
		t.Fatal("the client closed, the backend's side stayed open")
	}
	// The other way round: a backend that closes (TestSetBackends: one
	// that dies).
	echo := startEcho(t, "e")
	b.SetBackends(echo.Addr())
	c = dial(t, b.Addr())
	c.greeting(t)
	echo.Stop()
	c.closed(t)
}

// A WebSocket, held open as a worker's link to its coordinator is, keeps
// working while other connections come and go and the backends change.
func TestWebSocketSurvives(t *testing.T) {
	ws := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			for {
				typ, msg, err := c.Read(r.Context())
				if err != nil {
					return
				}
				if err := c.Write(r.Context(), typ, append([]byte(name+":"), msg...)); err != nil {
					return
				}
			}
		}))
		t.Cleanup(s.Close)
		return s
	}
	one, two := ws("one"), ws("two")
	b := balancertest.Start(t, one.Listener.Addr().String(), two.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(t.Context(), waittest.Limit)
	defer cancel()
	link, _, err := websocket.Dial(ctx, "ws://"+b.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer link.CloseNow()
	exchange := func(c *websocket.Conn, msg, want string) {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != want {
			t.Fatalf("%q: %q, %v; want %q", msg, got, err, want)
		}
	}
	exchange(link, "hello", "one:hello")
	for i := range 10 {
		other, _, err := websocket.Dial(ctx, "ws://"+b.Addr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := "two:x"
		if i%2 == 1 {
			want = "one:x"
		}
		exchange(other, "x", want)
		other.Close(websocket.StatusNormalClosure, "")
		exchange(link, fmt.Sprint(i), fmt.Sprintf("one:%d", i))
	}
	b.SetBackends(two.Listener.Addr().String())
	exchange(link, "after", "one:after")
	if err := link.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("closing the link: %v", err)
	}
}

// When the test ends, the balancer's cleanup closes connections in flight
// and leaves no goroutine behind.
func TestCleanup(t *testing.T) {
	// The backend outlives the balancer: only the balancer's cleanup
	// may close the connections. Its goroutine waiting for connections
	// is not the balancer's; those serving them end with them.
	echo := startEcho(t, "a")
	before := goleak.IgnoreCurrent()
	var inFlight, waiting net.Conn
	t.Run("balancer", func(t *testing.T) {
		b := balancertest.Start(t, echo.Addr(), refusingAddr(t))
		var err error
		// Dialled here, closed by the outer test: they outlive the
		// balancer.
		if inFlight, err = net.Dial("tcp", b.Addr()); err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(inFlight).ReadString('\n'); err != nil {
			t.Fatalf("no greeting: %v", err)
		}
		// And one the balancer may not have accepted or given a
		// backend yet.
		if waiting, err = net.Dial("tcp", b.Addr()); err != nil {
			t.Fatal(err)
		}
	})
	if inFlight == nil || waiting == nil {
		return
	}
	defer inFlight.Close()
	defer waiting.Close()
	for _, c := range []net.Conn{inFlight, waiting} {
		if err := c.SetReadDeadline(time.Now().Add(waittest.Limit)); err != nil {
			t.Fatal(err)
		}
		// Whatever the backend sent before (the waiting one's
		// greeting, maybe), then the end.
		if _, err := io.ReadAll(c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a connection in flight stayed open after the cleanup")
		}
	}
	// goleak looks again for a while: the cleanup waits for every
	// goroutine, but the runtime's record of one may trail its end.
	if err := goleak.Find(before); err != nil {
		t.Error(err)
	}
}

// Package balancertest is a TCP load balancer on loopback for tests. It
// stands in front of several coordinators as a cloud load balancer does:
// browsers and workers dial one address, each new connection goes to the
// next backend in turn, and a backend that is down (killed, restarting) is
// passed over, so a test sees what a deployment behind a load balancer
// sees when a coordinator dies.
package balancertest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// dialTimeout bounds one dial of a backend. On loopback a dead backend
// refuses at once; the bound is for a machine so busy that a live one is
// slow to accept.
const dialTimeout = 5 * time.Second

// Balancer accepts TCP connections on a loopback port and relays each to
// one backend, round robin. Start makes one; the test's cleanup closes it.
type Balancer struct {
	t      testing.TB
	ln     net.Listener
	ctx    context.Context // ends at Close: aborts dials in progress
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection's goroutines

	mu       sync.Mutex
	backends []string
	gen      int            // how many times SetBackends changed them
	next     int            // the backend the next connection tries first
	given    map[string]int // connections given, by backend address
	open     map[net.Conn]struct{}
	closed   bool
}

// Start starts a balancer on 127.0.0.1 in front of backends (host:port
// each), and closes it when the test ends: its listener, and every
// connection in flight, on both sides.
func Start(t testing.TB, backends ...string) *Balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("balancertest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Balancer{
		t:        t,
		ln:       ln,
		ctx:      ctx,
		cancel:   cancel,
		backends: append([]string(nil), backends...),
		given:    map[string]int{},
		open:     map[net.Conn]struct{}{},
	}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(b.Close)
	return b
}

// Addr is the balancer's host:port, the one address clients dial.
func (b *Balancer) Addr() string {
	return b.ln.Addr().String()
}

// SetBackends replaces the backends new connections go to, as an operator
// does for a backend restarted on another address. Connections in flight
// stay with the backend they have.
func (b *Balancer) SetBackends(backends ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append([]string(nil), backends...)
	b.gen++
	b.next = 0
}

// Conns is how many connections the balancer has given to backend i of
// the current backends (counted by its address, so a backend set again
// at the same address keeps its count). It fails the test for an index
// out of range, so it belongs to the test's goroutine.
func (b *Balancer) Conns(i int) int {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if i < 0 || i >= len(b.backends) {
		b.t.Fatalf("balancertest: no backend %d of %d", i, len(b.backends))
	}
	return b.given[b.backends[i]]
}

// Close stops accepting, closes every connection in flight on both sides,
// and returns once every goroutine of the balancer has ended. The test's
// cleanup calls it; calling it again does nothing.
func (b *Balancer) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	for c := range b.open {
		c.Close()
	}
	b.mu.Unlock()
	b.cancel()
	b.ln.Close()
	b.wg.Wait()
}

// accept is the goroutine that takes connections until Close.
func (b *Balancer) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) { // closed by Close
				b.t.Errorf("balancertest: accepting: %v", err)
			}
			return
		}
		if !b.track(c) {
			return
		}
		b.wg.Add(1)
		go b.relay(c)
	}
}

// track adds c to the connections Close closes; once closed it closes c
// instead, and says so.
func (b *Balancer) track(c net.Conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		c.Close()
		return false
	}
	b.open[c] = struct{}{}
	return true
}

// untrack closes c and forgets it.
func (b *Balancer) untrack(c net.Conn) {
	c.Close()
	b.mu.Lock()
	delete(b.open, c)
	b.mu.Unlock()
}

// relay connects client to a backend and copies bytes both ways until
// either side closes or fails, then closes both: HTTP and WebSocket never
// half-close, and a client must see its backend's death as its own
// connection closing.
func (b *Balancer) relay(client net.Conn) {
	defer b.wg.Done()
	defer b.untrack(client)
	backend, err := b.dial()
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			// Closing the client says it to the client.
			b.t.Logf("balancertest: closing a connection from %s: %v", client.RemoteAddr(), err)
		}
		return
	}
	defer b.untrack(backend)
	if !b.track(backend) {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Either direction ending ends both: closing both
		// connections stops the other copy too.
		client.Close()
		backend.Close()
		done <- struct{}{}
	}
	go pipe(backend, client)
	go pipe(client, backend)
	<-done
	<-done
}

// errNoBackend is what dial returns when every backend refused.
var errNoBackend = errors.New("every backend refused the connection")

// dial connects to the next backend in turn, trying the others in turn
// when it refuses, and counts the connection against the one that took
// it. The turn passes at once to the backend after the first one tried,
// so that connections dialled at the same time start at different
// backends, and, after a refusal, to the backend after the one that took
// it, so that connections spread evenly over the backends that are up.
func (b *Balancer) dial() (net.Conn, error) {
	b.mu.Lock()
	backends, gen, start := b.backends, b.gen, b.next
	if len(backends) > 0 {
		b.next = (start + 1) % len(backends)
	}
	turn := b.next
	b.mu.Unlock()
	var d net.Dialer
	for k := range backends {
		i := (start + k) % len(backends)
		ctx, cancel := context.WithTimeout(b.ctx, dialTimeout)
		c, err := d.DialContext(ctx, "tcp", backends[i])
		cancel()
		if err != nil {
			if b.ctx.Err() != nil {
				return nil, err // closing
			}
			continue
		}
		b.mu.Lock()
		b.given[backends[i]]++
		// Unless another connection took the turn meanwhile, or the
		// backends changed.
		if k > 0 && b.next == turn && b.gen == gen {
			b.next = (i + 1) % len(backends)
		}
		b.mu.Unlock()
		return c, nil
	}
	return nil, errNoBackend
}

package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/telecart/telecart/internal/browsertest"
)

// A delay link joins this test's network namespace to the namespace of
// another process, as a cable to a far-away machine would: a
// point-to-point IPv4 link of two TUN devices, one on each side, whose
// packets this process carries across, holding those that leave the other
// side for a fixed delay. It is `tc qdisc add … netem delay` done in user
// space, for kernels built without netem (this project's CI runs on one),
// and it delays everything alike: TCP, the WebRTC media over UDP, and the
// browser's timing of the worker's ping.

// link is a delay link: here is its end in this namespace, there the
// other's.
type link struct {
	here, there net.IP
	cut         atomic.Bool
	// What the link does to packets besides delaying them, each way:
	// toHere for those the far side sends, toThere for this side's.
	toHere, toThere atomic.Pointer[impairment]
	dropped         atomic.Int64
}

// impairment is what a bad network does to the packets one way: it loses
// some, alone or in bursts, varies their delay, and carries no more than a
// narrow uplink would. The zero impairment is a perfect cable.
type impairment struct {
	// Loss is the share of packets lost, from 0 to 1.
	Loss float64
	// Burst is the mean number of packets lost in a row (Gilbert's
	// two-state model); 0 or 1 loses each packet independently.
	Burst float64
	// Jitter varies each packet's delay by up to this much either way,
	// never reordering them: a packet leaves no earlier than the one
	// before it, as on a real path through one queue.
	Jitter time.Duration
	// Rate, in bits a second, is the link's capacity (0: unlimited).
	// Packets queue behind each other, and those that would wait more
	// than maxQueue are dropped, as a full router queue drops them.
	Rate int
}

// maxQueue is how long a packet may wait for a narrow link: a router's
// queue of about a quarter of a second.
const maxQueue = 250 * time.Millisecond

// Impair sets what the link does from now on to the packets the far side
// sends (toHere) and to those this side sends (toThere).
func (l *link) Impair(toHere, toThere impairment) {
	l.toHere.Store(&toHere)
	l.toThere.Store(&toThere)
}

// Dropped is how many packets the link's impairments have lost so far,
// both ways.
func (l *link) Dropped() int64 { return l.dropped.Load() }

// lossState is one direction's Gilbert model: whether the last packet was
// lost, so that a loss can begin a burst.
type lossState struct {
	rng     *rand.Rand
	inBurst bool
}

// lose tells whether the next packet is lost under imp. In a burst, each
// further packet is lost with probability 1 − 1/Burst; outside one, a
// burst starts with the probability that makes the overall share Loss.
func (s *lossState) lose(imp *impairment) bool {
	if imp == nil || imp.Loss <= 0 {
		s.inBurst = false
		return false
	}
	if imp.Loss >= 1 {
		// A dark link. Below, a burst of 1 would let every other packet
		// through: start is 1, but a loss never continues.
		s.inBurst = true
		return true
	}
	burst := max(imp.Burst, 1)
	stay := 1 - 1/burst
	// The share of packets lost is start/(start+1−stay): solve for start.
	start := min(imp.Loss*(1-stay)/(1-imp.Loss), 1)
	if s.inBurst {
		s.inBurst = s.rng.Float64() < stay
	} else {
		s.inBurst = s.rng.Float64() < start
	}
	return s.inBurst
}

// schedule is one direction's timing: when its link is free again, and
// when its last packet leaves, so that jitter never reorders.
type schedule struct {
	rng               *rand.Rand
	busyUntil, latest time.Time
}

// due is when a packet of size bytes that came at now leaves the link, and
// false if the link's queue is too long to take it.
func (s *schedule) due(now time.Time, size int, delay time.Duration, imp *impairment) (time.Time, bool) {
	sent := now
	if imp != nil && imp.Rate > 0 {
		start := now
		if s.busyUntil.After(start) {
			start = s.busyUntil
		}
		if start.Sub(now) > maxQueue {
			return time.Time{}, false
		}
		s.busyUntil = start.Add(time.Duration(size) * 8 * time.Second / time.Duration(imp.Rate))
		sent = s.busyUntil
	}
	d := delay
	if imp != nil && imp.Jitter > 0 {
		d += time.Duration(s.rng.Int64N(int64(2*imp.Jitter)+1)) - imp.Jitter
	}
	at := sent.Add(max(d, 0))
	if at.Before(s.latest) {
		at = s.latest
	}
	s.latest = at
	return at, true
}

// Cut drops every packet from now on, both ways: a cable pulled, a
// machine gone silent without closing anything.
func (l *link) Cut() { l.cut.Store(true) }

// delayLink links this namespace to process pid's, with delay on every
// packet pid's side sends: 10.77.n.1 here, 10.77.n.2 there. n tells a
// test's links apart, from 1 to 254. The link goes when the test ends; it
// skips the test where the kernel lacks TUN devices (browsertest.Skip).
func delayLink(t testing.TB, n, pid int, delay time.Duration) *link {
	t.Helper()
	there, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer there.Close()
	return linkNamespaces(t, n, netns.None(), there, delay)
}

// linkNamespaces links namespace near (netns.None(): this one) to far as
// delayLink does: 10.77.n.1 in near, 10.77.n.2 in far, delay on every
// packet far's side sends.
func linkNamespaces(t testing.TB, n int, nearNS, farNS netns.NsHandle, delay time.Duration) *link {
	t.Helper()
	l := &link{here: net.IPv4(10, 77, byte(n), 1).To4(), there: net.IPv4(10, 77, byte(n), 2).To4()}
	near, err := openTUN(fmt.Sprintf("tcnear%d", n))
	var far *os.File
	if err == nil {
		if far, err = openTUN(fmt.Sprintf("tcfar%d", n)); err != nil {
			near.Close()
		}
	}
	if err != nil {
		browsertest.Skip(t, "skipping: no TUN device for a delay link: "+err.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		// Closing a TUN device's file removes the device: the namespaces
		// are as they were, with nothing but loopback here.
		cancel()
		near.Close()
		far.Close()
		wg.Wait()
	})
	if err := joinUp(near, far, nearNS, farNS, l.here, l.there); err != nil {
		t.Fatalf("delay link %d: %v", n, err)
	}
	wg.Go(func() { l.carry(ctx, far, near, 0, &l.toThere) })
	wg.Go(func() { l.carry(ctx, near, far, delay, &l.toHere) })
	return l
}

// openTUN makes a TUN device (IP packets, no header) that lasts as long as
// the file it returns is open.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, err)
	}
	// Non-blocking, the file's reads wait in Go's poller, and Close ends
	// them.
	return os.NewFile(uintptr(fd), name), nil
}

// joinUp moves the far device into namespace farNS (and the near one
// into nearNS, unless that is netns.None(): this namespace), gives each
// end its address, with the other end as its peer, and brings both up,
// with the loopback of each namespace it moved a device into.
func joinUp(near, far *os.File, nearNS, farNS netns.NsHandle, here, there net.IP) error {
	type end struct {
		h         *netlink.Handle
		dev       string
		own, peer net.IP
	}
	var ends []end
	for _, e := range []struct {
		ns        netns.NsHandle
		dev       *os.File
		own, peer net.IP
	}{{nearNS, near, here, there}, {farNS, far, there, here}} {
		if !e.ns.IsOpen() {
			ends = append(ends, end{&netlink.Handle{}, e.dev.Name(), e.own, e.peer})
			continue
		}
		dev, err := netlink.LinkByName(e.dev.Name())
		if err != nil {
			return err
		}
		if err := netlink.LinkSetNsFd(dev, int(e.ns)); err != nil {
			return fmt.Errorf("moving %s into namespace %v: %w", e.dev.Name(), e.ns, err)
		}
		h, err := netlink.NewHandleAt(e.ns)
		if err != nil {
			return err
		}
		defer h.Close()
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := h.LinkSetUp(lo); err != nil {
			return err
		}
		ends = append(ends, end{h, e.dev.Name(), e.own, e.peer})
	}
	for _, end := range ends {
		link, err := end.h.LinkByName(end.dev)
		if err != nil {
			return err
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: end.own, Mask: net.CIDRMask(32, 32)}, Peer: &net.IPNet{IP: end.peer, Mask: net.CIDRMask(32, 32)}}
		if err := end.h.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("addressing %s: %w", end.dev, err)
		}
		if err := end.h.LinkSetUp(link); err != nil {
			return fmt.Errorf("bringing %s up: %w", end.dev, err)
		}
	}
	return nil
}

// carry copies packets from src to dst, each delay after it came, until
// ctx ends or either file closes, impaired as imp says; once the link is
// cut, it drops them.
func (l *link) carry(ctx context.Context, dst, src *os.File, delay time.Duration, imp *atomic.Pointer[impairment]) {
	type packet struct {
		due  time.Time
		data []byte
	}
	// At a few megabits a second, a second of packets in flight; a packet
	// past that is dropped, as a full router queue drops it.
	queue := make(chan packet, 1024)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		timer := time.NewTimer(0)
		defer timer.Stop()
		for p := range queue {
			timer.Reset(time.Until(p.due))
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
			if l.cut.Load() {
				continue
			}
			if _, err := dst.Write(p.data); err != nil && !errors.Is(err, unix.EIO) {
				return // closed; EIO is a device not up yet, or gone down
			}
		}
	})
	defer close(queue)
	// Seeded for each link, so that a failing run's losses can be told
	// from another's; the pattern need not repeat exactly.
	loss := lossState{rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))}
	sched := schedule{rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))}
	buf := make([]byte, 1<<16)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		current := imp.Load()
		if loss.lose(current) {
			l.dropped.Add(1)
			continue
		}
		due, ok := sched.due(time.Now(), n, delay, current)
		if !ok {
			l.dropped.Add(1)
			continue
		}
		select {
		case queue <- packet{due: due, data: append([]byte(nil), buf[:n]...)}:
		default:
			l.dropped.Add(1)
		}
	}
}

package e2e

import (
	"context"
	"errors"
	"fmt"
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
}

// Cut drops every packet from now on, both ways: a cable pulled, a
// machine gone silent without closing anything.
func (l *link) Cut() { l.cut.Store(true) }

// delayLink links this namespace to process pid's, with delay on every
// packet pid's side sends: 10.77.n.1 here, 10.77.n.2 there. n tells a
// test's links apart, from 1 to 254. The link goes when the test ends; it
// skips the test where the kernel lacks TUN devices (browsertest.Skip).
func delayLink(t *testing.T, n, pid int, delay time.Duration) *link {
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
	if err := joinUp(near, far, pid, l.here, l.there); err != nil {
		t.Fatalf("delay link %d: %v", n, err)
	}
	wg.Go(func() { l.carry(ctx, far, near, 0) })
	wg.Go(func() { l.carry(ctx, near, far, delay) })
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

// joinUp moves the far device into process pid's namespace and gives each
// end its address, with the other end as its peer, and brings both up,
// with pid's loopback.
func joinUp(near, far *os.File, pid int, here, there net.IP) error {
	farLink, err := netlink.LinkByName(far.Name())
	if err != nil {
		return err
	}
	if err := netlink.LinkSetNsPid(farLink, pid); err != nil {
		return fmt.Errorf("moving %s into process %d's namespace: %w", far.Name(), pid, err)
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return err
	}
	defer ns.Close()
	them, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer them.Close()
	for _, end := range []struct {
		h         *netlink.Handle
		dev       string
		own, peer net.IP
	}{
		{&netlink.Handle{}, near.Name(), here, there},
		{them, far.Name(), there, here},
	} {
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
	lo, err := them.LinkByName("lo")
	if err != nil {
		return err
	}
	return them.LinkSetUp(lo)
}

// carry copies packets from src to dst, each delay after it came, until
// ctx ends or either file closes; once the link is cut, it drops them.
func (l *link) carry(ctx context.Context, dst, src *os.File, delay time.Duration) {
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
	buf := make([]byte, 1<<16)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		select {
		case queue <- packet{due: time.Now().Add(delay), data: append([]byte(nil), buf[:n]...)}:
		default:
		}
	}
}

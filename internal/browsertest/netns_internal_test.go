package browsertest

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestNamespaceIsLoopbackOnly(t *testing.T) {
	skip, err := netnsState()
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	if err := checkLoopbackOnly(); err != nil {
		t.Fatal(err)
	}
	// Connecting a UDP socket only looks up a route and sends nothing, so
	// this proves there is no way out without a packet leaving anywhere.
	// 192.0.2.1 is TEST-NET-1, reserved for documentation.
	conn, err := net.Dial("udp4", "192.0.2.1:9")
	if err == nil {
		conn.Close()
		t.Fatal("a non-loopback address is routable inside the namespace")
	}
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("dialing a non-loopback address: %v; want ENETUNREACH", err)
	}
	// Loopback itself works.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening on loopback: %v", err)
	}
	defer l.Close()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatalf("dialing loopback: %v", err)
	}
	c.Close()
}

func TestKeyTable(t *testing.T) {
	keys := keyTable()
	if _, err := lookupKey(keys, "KeyQ"); err != nil {
		t.Error(err)
	}
	if _, err := lookupKey(keys, "q"); err == nil {
		t.Error(`lookupKey("q") succeeded; keys are named by code, such as KeyQ`)
	}
	a := keys["KeyA"]
	for _, c := range []struct {
		mods      int64
		key, text string
	}{
		{0, "a", "a"},
		{modShift, "A", "A"},
		{modCtrl, "a", ""},
		{modShift | modCtrl, "A", ""},
	} {
		if key, text := a.forModifiers(c.mods); key != c.key || text != c.text {
			t.Errorf("KeyA with modifiers %d: key %q text %q; want %q %q", c.mods, key, text, c.key, c.text)
		}
	}
}

// TestOutsideNetNS: the way out that a test's build step takes is the
// namespace the tests were started in, never the isolated one, and a
// parent in any other namespace is refused.
func TestOutsideNetNS(t *testing.T) {
	skip, err := netnsState()
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	path, err := OutsideNetNS()
	if err != nil {
		t.Fatal(err)
	}
	outside, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	own, err := os.Readlink(nsLink)
	if err != nil {
		t.Fatal(err)
	}
	if outside == own || outside != os.Getenv(envParentNetNS) {
		t.Errorf("OutsideNetNS %s is in %s; this process is in %s, its parent recorded %s", path, outside, own, os.Getenv(envParentNetNS))
	}
	t.Setenv(envParentNetNS, "net:[1]")
	if path, err := OutsideNetNS(); err == nil {
		t.Errorf("OutsideNetNS = %s with a parent namespace that is not the parent's", path)
	}
}

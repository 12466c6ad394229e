// Package turntest is test support: Debian's coturn (`turnserver`), started
// by a test on loopback with one static user (long-term credentials), and
// stopped by its PID when the test ends.
package turntest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/waittest"
)

// Binary is coturn's server, as Debian's coturn package installs it.
const Binary = "/usr/bin/turnserver"

// Server is a running coturn.
type Server struct {
	// Port is where it takes TURN (and STUN) over UDP and TCP, on 127.0.0.1.
	Port int
	// User and Password are its one user's credentials.
	User, Password string
}

// UDP is its TURN URL over UDP; TCP, over TCP.
func (s *Server) UDP() string { return fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", s.Port) }
func (s *Server) TCP() string { return fmt.Sprintf("turn:127.0.0.1:%d?transport=tcp", s.Port) }

// Start runs coturn on 127.0.0.1 with user:password, relaying on loopback
// (which coturn refuses by default: a test's peers are all there). It
// skips the test when coturn is not installed; scripts/setup installs it.
func Start(t testing.TB, user, password string) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts coturn")
	}
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("skipping: coturn not installed (%v); scripts/setup installs it", err)
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(Binary, "-n", // no configuration file
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--listening-port="+strconv.Itoa(port),
		"--lt-cred-mech", "--user="+user+":"+password, "--realm=telecart.test",
		"--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli",
		"--userdb="+filepath.Join(dir, "turndb"), "--pidfile="+filepath.Join(dir, "turnserver.pid"),
		"--log-file=stdout", "--simple-log")
	var log fixturetest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("turntest: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("coturn's log:\n%s", log.String())
		}
	})
	waittest.Eventually(t, "coturn listening on TCP "+strconv.Itoa(port), func() error {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("turntest: coturn exited: %v\n%s", err, log.String())
		default:
		}
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return c.Close()
	})
	return &Server{Port: port, User: user, Password: password}
}

// freePort is a port free on 127.0.0.1 for both TCP and UDP, for coturn
// to take: a moment's race with another process is possible, and would
// fail the start loudly, never silently.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("turntest: no port free for both TCP and UDP")
	return 0
}

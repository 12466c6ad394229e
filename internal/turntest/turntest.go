// Package turntest is test support: Debian's coturn (turnserver), started
// as a process for one test with TURN REST credentials (use-auth-secret,
// static-auth-secret), and stopped by its PID when the test ends.
package turntest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/waittest"
)

// Config is one coturn's set-up.
type Config struct {
	// Secret is its static-auth-secret; Realm its realm (default
	// "telecart.test").
	Secret, Realm string
	// Listen is the address clients reach it at, UDP and TCP alike
	// (an IP; the port is Port, default 3478).
	Listen string
	Port   int
	// Relay is the address its relayed candidates have (default Listen),
	// and MinPort to MaxPort their ports (default 20000 to 20099: below
	// Linux's ephemeral ports, so a firewall can tell a relayed packet
	// from a browser's own).
	Relay            string
	MinPort, MaxPort int
	// Peers are the addresses it may relay to (--allowed-peer-ip), and
	// Loopback lets it relay to loopback peers, which coturn refuses by
	// default.
	Peers    []string
	Loopback bool
	// Start starts the command (default cmd.Start): a test starts coturn
	// in a network namespace of its own with it.
	Start func(*exec.Cmd) error
}

// Server is a running coturn.
type Server struct {
	cfg Config
	cmd *exec.Cmd
	log *fixturetest.SyncBuffer
}

// RelayPorts are the ports of coturn's relayed candidates, as nftables
// writes a range.
func (s *Server) RelayPorts() string { return fmt.Sprintf("%d-%d", s.cfg.MinPort, s.cfg.MaxPort) }

// Addr is where clients reach it, host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.cfg.Listen, strconv.Itoa(s.cfg.Port)) }

// URLs are its turn: URLs for UDP and TCP, as a browser is given them.
func (s *Server) URLs() []string {
	return []string{"turn:" + s.Addr() + "?transport=udp", "turn:" + s.Addr() + "?transport=tcp"}
}

// PID is the process ID of turnserver.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Log is what coturn has logged so far.
func (s *Server) Log() string { return s.log.String() }

// Start runs coturn and waits until it listens on UDP and TCP. It skips
// the test with -short (the fast tier), and where coturn is not installed
// (scripts/test installs it).
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts coturn")
	}
	path, err := exec.LookPath("turnserver")
	if err != nil {
		skip(t, "skipping: no turnserver (Debian's coturn; scripts/test installs it)")
	}
	if cfg.Realm == "" {
		cfg.Realm = "telecart.test"
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1"
	}
	if cfg.Port == 0 {
		cfg.Port = 3478
	}
	if cfg.Relay == "" {
		cfg.Relay = cfg.Listen
	}
	if cfg.MinPort == 0 {
		cfg.MinPort, cfg.MaxPort = 20000, 20099
	}
	if cfg.Start == nil {
		cfg.Start = (*exec.Cmd).Start
	}
	dir := t.TempDir()
	args := []string{
		"-n", // no configuration file: everything is here
		"--use-auth-secret", "--static-auth-secret=" + cfg.Secret, "--realm=" + cfg.Realm,
		"--listening-ip=" + cfg.Listen, "--listening-port=" + strconv.Itoa(cfg.Port), "--relay-ip=" + cfg.Relay,
		"--min-port=" + strconv.Itoa(cfg.MinPort), "--max-port=" + strconv.Itoa(cfg.MaxPort),
		// TLS and DTLS would want certificates; the CLI a port of its own.
		"--no-tls", "--no-dtls", "--no-cli",
		"--log-file=stdout", "--simple-log", "-v",
		// Its own files, never the machine's.
		"--pidfile=" + filepath.Join(dir, "turnserver.pid"), "--userdb=" + filepath.Join(dir, "turndb"),
	}
	for _, p := range cfg.Peers {
		args = append(args, "--allowed-peer-ip="+p)
	}
	if cfg.Loopback {
		args = append(args, "--allow-loopback-peers")
	}
	s := &Server{cfg: cfg, cmd: exec.Command(path, args...), log: new(fixturetest.SyncBuffer)}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := cfg.Start(s.cmd); err != nil {
		t.Fatalf("starting turnserver: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("turnserver's log (%s):\n%s", strings.Join(args, " "), s.log.String())
		}
	})
	var dead error
	waittest.Eventually(t, "turnserver listening on "+s.Addr(), func() error {
		select {
		case dead = <-exited:
			exited <- dead // for the cleanup
			return nil
		default:
		}
		log := s.log.String()
		for _, want := range []string{"UDP listener opened on: " + s.Addr(), "TCP listener opened on : " + s.Addr()} {
			if !strings.Contains(log, want) {
				return fmt.Errorf("no %q in its log so far", want)
			}
		}
		return nil
	})
	if dead != nil {
		t.Fatalf("turnserver exited as it started: %v", dead)
	}
	return s
}

// skip skips, or fails when the browser tests are required (CI), since
// those are what need coturn.
func skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("TELECART_BROWSERTEST_REQUIRE") == "1" {
		t.Fatalf("%s (and TELECART_BROWSERTEST_REQUIRE=1)", reason)
	}
	t.Skip(reason)
}

package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/telecart/telecart/internal/config"
	"github.com/telecart/telecart/internal/tlsconfig"
	"github.com/telecart/telecart/internal/worker"
)

const (
	// drainPoll is how often drain asks the worker how many games it has
	// left: a game lasts minutes, and a second is all it costs the worker.
	drainPoll = time.Second
	// drainAsk bounds one question to the worker, which answers at once
	// unless something is wrong with it: then drain asks again.
	drainAsk = 5 * time.Second
)

// runDrain drains the worker of this machine or container and waits for
// its games to end: a Kubernetes preStop hook (deploy/kubernetes), after
// which the kubelet's SIGTERM, the worker's second signal, finds no game
// left to stop. It reads the worker's /healthz before it signals: a
// worker that drains already (a drain run twice, or asked of its
// coordinator) gets no signal, as a second SIGTERM stops a worker at
// once. Two drains started at the same moment may both find the worker
// not draining yet: run one at a time.
func runDrain(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("drain", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	pid := fs.Int("pid", 1, "the worker's process `id`, sent SIGTERM (1: in a container the worker is the first process)")
	health := fs.String("url", "", "the worker's health `URL` (default: /healthz on its ping_listen, on this machine, from the environment or -config as the worker reads it)")
	timeout := fs.Duration("timeout", 0, "give up after this long, games left or not (0: wait as long as they last; Kubernetes bounds a preStop hook by the pod's grace period)")
	flags := config.NewFlags(fs, 0) // -config only
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: telecart drain [flags]\n\n"+
			"Drains the worker of this machine or container: sends it SIGTERM (unless it drains\n"+
			"already), so that it takes no new game, and waits until its games have ended or it\n"+
			"has exited. Exit 0 then; 1 when the worker cannot be reached or signalled (it is\n"+
			"left as it was) or -timeout passes. A Kubernetes preStop hook: the kubelet's SIGTERM\n"+
			"that follows finds no game to stop.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *pid <= 0 {
		fmt.Fprintf(fs.Output(), "-pid %d: want the worker's process id\n", *pid)
		return errUsage
	}
	if *health != "" {
		if u, err := url.Parse(*health); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(fs.Output(), "-url %q: want http://host:port/healthz\n", *health)
			return errUsage
		}
	}
	cfg, err := flags.Config(os.Getenv)
	if err != nil {
		return err
	}
	target, client, err := drainTarget(cfg, *health)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	return drain(ctx, e, *pid, target, client)
}

// drain signals process pid, the worker whose health is at target,
// unless it drains already, and waits until it has no room left or has
// exited.
func drain(ctx context.Context, e *env, pid int, target string, client *http.Client) error {
	if err := isWorker(pid); err != nil {
		return err
	}
	first, err := askHealth(ctx, client, target)
	if err != nil {
		return fmt.Errorf("cannot reach the worker at %s, so it was not signalled: %w", target, err)
	}
	if first.Draining {
		fmt.Fprintf(e.stdout, "the worker drains already: no signal sent (a second SIGTERM would end its games)\n")
	} else {
		p, err := os.FindProcess(pid)
		if err == nil {
			err = p.Signal(syscall.SIGTERM)
		}
		if err != nil {
			return fmt.Errorf("cannot signal the worker, process %d: %w", pid, err)
		}
		fmt.Fprintf(e.stdout, "sent SIGTERM to process %d: the worker takes no new game\n", pid)
	}
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	last := worker.Health{Rooms: -1}
	for {
		// Asked again right after the signal: a game may have started
		// since the first answer, before the worker had it.
		h, err := askHealth(ctx, client, target)
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			// Its listener is gone: the worker has exited, its last game
			// over, between two questions.
			fmt.Fprintln(e.stdout, "drained: the worker has exited")
			return nil
		case ctx.Err() != nil:
			// Given up: said below.
		case err != nil:
			// The worker may be too busy to answer in time: asked again.
			fmt.Fprintf(e.stdout, "the worker does not answer: %v\n", err)
		case h.Rooms == 0:
			fmt.Fprintln(e.stdout, "drained: no game left")
			return nil
		case h.Rooms != last.Rooms || h.Sessions != last.Sessions:
			fmt.Fprintf(e.stdout, "draining: %s left, %s\n", plural(h.Rooms, "game"), plural(h.Sessions, "player"))
			last = h
		}
		select {
		case <-ctx.Done():
			left := "games"
			if last.Rooms >= 0 {
				left = plural(last.Rooms, "game")
			}
			return fmt.Errorf("gave up with %s left, which play on while the worker drains: %w", left, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// isWorker refuses a process that is no telecart worker, when this
// system says what a process runs (Linux's /proc): -pid 1 outside a
// container is the init system. Some argument is "worker", not the
// first: a wrapper such as tini may come before telecart.
func isWorker(pid int) error {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat("/proc/self/cmdline"); serr == nil {
			return fmt.Errorf("no process %d: give the worker's -pid", pid)
		}
	}
	if err != nil || len(cmdline) == 0 {
		return nil // no /proc, or a process not ours to read: the signal will tell
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if !slices.Contains(args[1:], "worker") {
		return fmt.Errorf("process %d runs %q, not telecart worker: give the worker's -pid", pid, strings.Join(args, " "))
	}
	return nil
}

// askHealth is the worker's answer at target, its /healthz.
func askHealth(ctx context.Context, client *http.Client, target string) (worker.Health, error) {
	ctx, cancel := context.WithTimeout(ctx, drainAsk)
	defer cancel()
	var h worker.Health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return h, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return h, err
	}
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	// An older worker answers "ok": no JSON, and no way to know whether
	// it drains, so no signal.
	if err := json.Unmarshal(body, &h); err != nil {
		return h, fmt.Errorf("not a worker's health (a telecart older than drain?): %q", bytes.TrimSpace(body))
	}
	return h, nil
}

// drainTarget is the worker's health URL (override when not empty, else
// /healthz on its ping_listen, dialled on this machine) and the client to
// ask it with.
//
// Over HTTPS the client trusts what can answer for the worker and
// nothing else: with tls_cert, exactly that certificate, the one the
// worker serves (whatever its CA, and whatever address is dialled); with
// ACME, on loopback, any certificate, as only the worker can hold the
// port it listens on and the question carries no secret (its answer at
// worst sends no signal, or stops waiting early); elsewhere, the system's
// roots for the first ACME domain.
func drainTarget(cfg config.Config, override string) (string, *http.Client, error) {
	target := override
	if target == "" {
		if cfg.PingListen == "" {
			return "", nil, errors.New("the worker's ping_listen, where it answers /healthz, is not set here: " +
				"set TELECART_PING_LISTEN or -config as the worker has them, or give -url")
		}
		host, port, err := net.SplitHostPort(cfg.PingListen)
		if err != nil {
			return "", nil, fmt.Errorf("ping_listen %q: %w", cfg.PingListen, err)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		scheme := "http"
		if cfg.TLSCert != "" || len(cfg.ACMEDomains) > 0 {
			scheme = "https"
		}
		target = scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The worker is on this machine: never through a proxy.
	tr.Proxy = nil
	switch {
	case u.Scheme != "https":
	case cfg.TLSCert != "":
		leaf, err := firstCertificate(cfg.TLSCert)
		if err != nil {
			return "", nil, err
		}
		tr.TLSClientConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// Not skipped: VerifyConnection compares the certificate with
			// the worker's own, which is stricter than any chain of trust.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
					return fmt.Errorf("the certificate served is not the one in tls_cert %s (renewed since the worker started?)", cfg.TLSCert)
				}
				return nil
			},
		}
	case loopbackHost(u.Hostname()):
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	default:
		c, err := tlsconfig.Client("")
		if err != nil {
			return "", nil, err
		}
		if net.ParseIP(u.Hostname()) != nil && len(cfg.ACMEDomains) > 0 {
			c.ServerName = cfg.ACMEDomains[0]
		}
		tr.TLSClientConfig = c
	}
	return target, &http.Client{Transport: tr}, nil
}

// firstCertificate is the DER of the first certificate in a PEM file: the
// leaf, in a tls_cert.
func firstCertificate(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls_cert: %w", err)
	}
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return nil, fmt.Errorf("tls_cert %s: no PEM certificate in it", file)
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes, nil
		}
	}
}

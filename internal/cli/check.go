package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/telecart/telecart/internal/check"
	"github.com/telecart/telecart/internal/tlsconfig"
)

// errCheckFailed is a check with a failed step: the steps said why.
var errCheckFailed = errors.New("a step failed")

func runCheck(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	coord := fs.String("coordinator", "http://127.0.0.1:8000", "the coordinator's `URL`, as a browser opens it")
	timeout := fs.Duration("timeout", check.DefaultTimeout, "how long each step may wait for the network")
	ca := fs.String("coordinator-ca", "", "PEM `file` of the CA that signed the coordinator's (and the ping listeners') certificates, besides the system's")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: telecart check [flags]\n\nWalks the path a player's game takes, as a browser does, and prints one line\nper step: ok, or FAIL with what to fix. The same check runs in a browser at\n/check.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	u, err := url.Parse(*coord)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(e.stderr, "-coordinator %q: want http://host:port\n", *coord)
		return errUsage
	}
	tlsConfig, err := tlsconfig.Client(*ca)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, Proxy: http.ProxyFromEnvironment}}
	defer client.CloseIdleConnections()
	cfg := check.Config{Coordinator: *coord, Timeout: *timeout, Client: client, Logger: e.log, Loopback: loopbackHost(u.Hostname())}
	ok := check.Run(ctx, cfg, func(r check.Result) {
		status := "ok  "
		if !r.OK {
			status = "FAIL"
		}
		fmt.Fprintf(e.stdout, "%s  %s\n", status, r.Words)
	})
	if !ok {
		return errCheckFailed
	}
	return nil
}

// loopbackHost says whether a host is this machine, where a worker's
// loopback candidates (ice_loopback) are the way to it.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

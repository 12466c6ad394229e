package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/config"
	"github.com/telecart/telecart/internal/tlstest"
	"github.com/telecart/telecart/internal/worker"
)

// TestDrainRefuses: drain says what is wrong with its command line, and
// signals nothing it cannot tell is a worker it reaches. (It drains a
// worker process in internal/e2e, TestDrainCommand.)
func TestDrainRefuses(t *testing.T) {
	t.Setenv("TELECART_PING_LISTEN", "") // whatever the environment running the tests says
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"drain", "-pid", "0"}, 2, "-pid 0: want the worker's process id"},
		{[]string{"drain", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"drain", "-url", "127.0.0.1:8001/healthz"}, 2, "want http://host:port/healthz"},
		{[]string{"drain", "-url", "ftp://127.0.0.1:8001/healthz"}, 2, "want http://host:port/healthz"},
		{[]string{"drain"}, 1, "the worker's ping_listen, where it answers /healthz, is not set here"},
		{[]string{"drain", "-config", writeConfig(t, map[string]any{"ping_listen": "8001"})}, 1, `ping_listen "8001"`},
		// This test's own process is no worker.
		{[]string{"drain", "-pid", self, "-url", "http://127.0.0.1:1/healthz"}, 1, "process " + self + " runs"},
		{[]string{"drain", "-pid", "999999999", "-url", "http://127.0.0.1:1/healthz"}, 1, "no process 999999999"},
		{[]string{"drain", "-h"}, 0, "Usage: telecart drain"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.say) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", tt.args, code, stderr.String(), tt.code, tt.say)
		}
	}
}

// TestDrainTarget: drain asks the worker on this machine where its
// settings say it listens, over HTTPS when it has a certificate.
func TestDrainTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg      config.Config
		override string
		want     string
		name     string // the TLS server name asked for, if any
	}{
		{cfg: config.Config{PingListen: "0.0.0.0:8001"}, want: "http://127.0.0.1:8001/healthz"},
		{cfg: config.Config{PingListen: "[::]:8001"}, want: "http://127.0.0.1:8001/healthz"},
		{cfg: config.Config{PingListen: ":8001"}, want: "http://127.0.0.1:8001/healthz"},
		{cfg: config.Config{PingListen: "10.0.0.5:8001"}, want: "http://10.0.0.5:8001/healthz"},
		{cfg: config.Config{PingListen: "[::1]:8001"}, want: "http://[::1]:8001/healthz"},
		{cfg: config.Config{PingListen: "0.0.0.0:443", ACMEDomains: []string{"eu1.example.org"}}, want: "https://127.0.0.1:443/healthz"},
		{cfg: config.Config{PingListen: "10.0.0.5:443", ACMEDomains: []string{"eu1.example.org"}}, want: "https://10.0.0.5:443/healthz", name: "eu1.example.org"},
		{cfg: config.Config{PingListen: "0.0.0.0:8001"}, override: "http://127.0.0.1:9000/healthz", want: "http://127.0.0.1:9000/healthz"},
	}
	for _, tt := range tests {
		got, client, err := drainTarget(tt.cfg, tt.override)
		if err != nil || got != tt.want {
			t.Errorf("%+v, -url %q: %s, %v; want %s", tt.cfg, tt.override, got, err, tt.want)
			continue
		}
		tr := client.Transport.(*http.Transport)
		if tr.Proxy != nil {
			t.Errorf("%+v: through a proxy, if the environment names one", tt.cfg)
		}
		if tt.name != "" && (tr.TLSClientConfig == nil || tr.TLSClientConfig.ServerName != tt.name || tr.TLSClientConfig.InsecureSkipVerify) {
			t.Errorf("%+v: TLS %+v; want %s's certificate verified", tt.cfg, tr.TLSClientConfig, tt.name)
		}
	}
}

// TestDrainTLS asks a worker whose ping listener has a certificate from
// files: drain trusts exactly that certificate (not another of the same
// CA and names); with ACME on loopback, any, as only the worker holds its
// port there.
func TestDrainTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "Telecart test CA")
	cert, key := ca.Loopback(t)
	other, _ := ca.Loopback(t)
	// A worker with no coordinator to reach: it answers all the same.
	w := startCommand(t, nil, "worker", "-coordinator", "ws://127.0.0.1:1/worker", "-token-file", credentialFile(t, "w"),
		"-games", "", "-saves", t.TempDir(), "-ping-listen", "127.0.0.1:0", "-tls-cert", cert, "-tls-key", key)
	listen := w.wait(t, "the worker's ping listener", regexp.MustCompile(`worker: serving /ping.* listen=(\S+)`))

	for _, tc := range []struct {
		what string
		cfg  config.Config
		fail string
	}{
		{"tls_cert", config.Config{PingListen: listen, TLSCert: cert}, ""},
		{"another tls_cert", config.Config{PingListen: listen, TLSCert: other}, "not the one in tls_cert"},
		{"ACME on loopback", config.Config{PingListen: listen, ACMEDomains: []string{"eu1.example.org"}}, ""},
	} {
		target, client, err := drainTarget(tc.cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		h, err := askHealth(context.Background(), client, target)
		client.CloseIdleConnections()
		switch {
		case tc.fail == "" && (err != nil || h != worker.Health{}):
			t.Errorf("%s: %+v, %v; want an idle worker, not connected", tc.what, h, err)
		case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
			t.Errorf("%s: %+v, %v; want an error saying %q", tc.what, h, err, tc.fail)
		}
	}
}

// Package config is Telecart's configuration: defaults, an optional JSON
// file, TELECART_* environment variables, then command-line flags, each
// overriding the one before, and validation of the result.
//
// One table of settings (settings.go) names each setting's file key, flag,
// environment variable, default, help and commands; the defaults, the
// environment, the flags and the help are all made from it, and a test
// holds README.md's table of settings to it.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/sandbox"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/storage"
	"github.com/telecart/telecart/internal/workerauth"
)

// ErrInvalid is in every error about a setting's value, wherever it came
// from.
var ErrInvalid = errors.New("config: invalid")

// Config is every setting of the coordinator and the worker.
type Config struct {
	// Listen is the coordinator's HTTP address.
	Listen string `json:"listen"`
	// WorkerSecret are the coordinator's secrets: a worker's credential
	// is made with the first (see package workerauth) and accepted when
	// made with any, so that a rotation lists the new and the old. The
	// admin endpoint takes any as its bearer token. The embedded default
	// makes a random one when empty.
	WorkerSecret []string `json:"worker_secret"`
	// WorkerToken is a worker's credential, ID.MAC; WorkerTokenFile, a
	// file holding it instead, read anew at every dial.
	WorkerToken     string `json:"worker_token"`
	WorkerTokenFile string `json:"worker_token_file"`
	// MetricsListen is an address serving /metrics to anyone who reaches
	// it (a private one); MetricsToken, a bearer token that opens
	// /metrics on the public listener. With neither, no metrics.
	MetricsListen string `json:"metrics_listen"`
	MetricsToken  string `json:"metrics_token"`
	// Overload is the machine load (0 to 1) from which a worker takes no
	// new room; 1 or more, never.
	Overload float64 `json:"overload"`
	// NATS are the URLs of the NATS cluster coordinators share their
	// state and messages over; empty, a server inside the coordinator's
	// process, with no port.
	NATS []string `json:"nats"`
	// Coordinator is the worker's link: ws://host:port/worker.
	Coordinator string `json:"coordinator"`
	// WorkerID names the worker (random when empty); Zone groups workers
	// by place; Capacity is how many rooms a worker hosts, 0 as many as
	// its machine holds (worker.MachineCapacity).
	WorkerID string `json:"worker_id"`
	Zone     string `json:"zone"`
	// PingListen is where a worker answers browsers timing their round
	// trip to it; PingURL is the address browsers are given (default:
	// http://PingListen/ping). The embedded default needs neither: its
	// worker shares the coordinator's address.
	PingListen string `json:"ping_listen"`
	PingURL    string `json:"ping_url"`
	Capacity   int    `json:"capacity"`
	// TLSCert and TLSKey are PEM files of the certificate (with its chain)
	// and key of the coordinator's listener, or of a worker's ping
	// listener; ACMEDomains, instead, are the public names to get its
	// certificate for from the ACME CA at ACMECA (Let's Encrypt by
	// default), which checks them by connecting to port 443 of each name
	// (TLS-ALPN-01), kept in ACMECache. ACMEEmail is optional.
	TLSCert     string   `json:"tls_cert"`
	TLSKey      string   `json:"tls_key"`
	ACMEDomains []string `json:"acme_domains"`
	ACMECache   string   `json:"acme_cache"`
	ACMECA      string   `json:"acme_ca"`
	ACMEEmail   string   `json:"acme_email"`
	// ACMEHTTPListen, with ACME, is a plain HTTP address that answers the
	// CA's HTTP-01 challenge (on port 80 of each name) and sends browsers
	// to HTTPS.
	ACMEHTTPListen string `json:"acme_http_listen"`
	// CoordinatorCA is a PEM file of CA certificates a worker trusts for
	// a wss:// coordinator's certificate, besides the system's.
	CoordinatorCA string `json:"coordinator_ca"`
	// RoomLinger is how long a room lives on after its last peer left.
	RoomLinger Duration `json:"room_linger"`
	// MaxSpectators is how many may watch a room besides its players.
	MaxSpectators int `json:"max_spectators"`
	// RunnerPool is how many runners a worker keeps started ahead of need
	// (runner.Pool), up to its capacity.
	RunnerPool int `json:"runner_pool"`
	// Saves is the directory of players' saves, unless S3 names a bucket
	// (every worker must reach the same storage for saves to follow
	// players). Autosave is how often a room saves for its player.
	Saves    string           `json:"saves"`
	S3       storage.S3Config `json:"s3"`
	Autosave Duration         `json:"autosave"`
	// UploadBudget is how many MiB of save files a worker takes in at
	// once, counted as each upload announces its size.
	UploadBudget int `json:"upload_budget"`
	// Games are the folders scanned for ROMs; Cores where libretro cores are.
	Games []string `json:"games"`
	// Thumbnails is a libretro thumbnail set for the games' pictures;
	// empty, each games folder's own thumbnails folder.
	Thumbnails string   `json:"thumbnails"`
	Cores      []string `json:"cores"`
	// Video and audio encoding.
	Codec      string   `json:"codec"`
	VideoKbps  int      `json:"video_kbps"`
	AudioKbps  int      `json:"audio_kbps"`
	AudioFrame Duration `json:"audio_frame"`
	// FramePhase places each game's frames in their periods: display,
	// input or fixed (runner.FramePhase).
	FramePhase  string            `json:"frame_phase"`
	CoreOptions map[string]string `json:"core_options"`
	// RunAhead turns run-ahead on; RunAheadFrames sets a game's frames
	// by system id or game file name, over the system's default
	// (runner.RunAheadPolicy).
	RunAhead       bool           `json:"runahead"`
	RunAheadFrames map[string]int `json:"runahead_frames"`
	// Sandbox confines each game's runner (package sandbox); off only to
	// debug a core.
	Sandbox bool `json:"sandbox"`
	// PublicIPs are the worker's addresses behind a 1:1 NAT; UDPPort, when
	// set, carries all peers on one UDP port; ICELoopback offers 127.0.0.1.
	PublicIPs   []string `json:"public_ips"`
	UDPPort     int      `json:"udp_port"`
	ICELoopback bool     `json:"ice_loopback"`
	// ICEServers are STUN/TURN servers, handed to browsers and used by workers.
	ICEServers []ICEServer `json:"ice_servers"`
	// TURNURLs are TURN servers that share TURNSecret with the
	// coordinator, which hands each browser credentials of its own for
	// them (TURN REST), valid for TURNTTL.
	TURNURLs   []string `json:"turn_urls"`
	TURNSecret string   `json:"turn_secret"`
	TURNTTL    Duration `json:"turn_ttl"`
	// TrustedProxies are the proxies in front of the coordinator (CIDRs
	// or addresses), whose X-Forwarded-For names the client.
	TrustedProxies []string `json:"trusted_proxies"`
	// Limits bound what one client may ask of the coordinator.
	Limits Limits `json:"limits"`
}

// Limits bound what one client (an address, an IPv6 /64) or one player
// id may ask of the coordinator; 0 is no limit (see coordinator.Limits).
type Limits struct {
	Sockets          int `json:"sockets"`
	Starts           int `json:"starts"` // per minute
	Rooms            int `json:"rooms"`
	Joins            int `json:"joins"` // per second
	Unanswered       int `json:"unanswered"`
	PlayerRooms      int `json:"player_rooms"`
	PlayerUnanswered int `json:"player_unanswered"`
	// Browsers bounds every client's sockets together; 0 is a quarter
	// of the process's open-file limit (coordinator.DefaultBrowsers).
	Browsers int `json:"browsers"`
}

// ICEServer is a STUN or TURN server.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Default is the configuration with nothing set: the defaults of the table
// of settings.
func Default() Config {
	var c Config
	for _, s := range settings() {
		if s.def == "" {
			continue
		}
		if err := s.value(&c).Set(s.def); err != nil {
			panic(fmt.Sprintf("config: the default of %s, %q: %v", s.key, s.def, err)) // a mistake in the table
		}
	}
	return c
}

// LoadFile reads a JSON config file over c. Unknown keys are errors: a
// misspelt setting must not be silently ignored.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	return nil
}

// ApplyEnv overrides c with the environment variables of the table of
// settings, read with getenv. An empty variable counts as unset, as
// container set-ups often pass every variable, set or not.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var errs []error
	for _, s := range settings() {
		if s.env == "" {
			continue
		}
		if v := getenv(s.env); v != "" {
			if err := s.value(c).Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%w: %s=%q: %w", ErrInvalid, s.env, v, err))
			}
		}
	}
	return errors.Join(errs...)
}

// LogLevelVariable sets the level of the log (debug, info, warn, error):
// not a setting, since logging starts before the settings are read.
const LogLevelVariable = "TELECART_LOG_LEVEL"

// UnknownVariables are the TELECART_* variables of environ ("KEY=value"
// pairs, as os.Environ gives them) that name no setting: most likely
// misspelt ones, which would otherwise be silently ignored.
func UnknownVariables(environ []string) []string {
	known := map[string]bool{LogLevelVariable: true}
	for _, s := range settings() {
		known[s.env] = true
	}
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TELECART_") && !known[name] {
			unknown = append(unknown, name)
		}
	}
	return unknown
}

// Validate reports every problem with the settings that the commands in
// cmd use: serve is checked as a coordinator and as a worker.
func (c Config) Validate(cmd Command) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if cmd&(Serve|Coordinator) != 0 {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			bad("listen %q: %w", c.Listen, err)
		}
		if !(c.Overload > 0) {
			bad("overload %v: want a machine load above 0 (1 or more: never)", c.Overload)
		}
		for _, u := range c.TURNURLs {
			if err := checkTURNURL(u); err != nil {
				bad("turn_urls %q: %w", u, err)
			}
		}
		switch {
		case len(c.TURNURLs) > 0 && c.TURNSecret == "":
			bad("turn_urls without turn_secret: want the TURN server's static-auth-secret")
		case len(c.TURNURLs) == 0 && c.TURNSecret != "":
			bad("turn_secret without turn_urls: want the TURN servers it is for")
		}
		// The coordinator renews browsers' credentials every half TTL;
		// under a minute would leave too little time to open a relay with
		// one. Over a week, a leaked one would last too long.
		if c.TURNTTL < Duration(time.Minute) || c.TURNTTL > Duration(7*24*time.Hour) {
			bad("turn_ttl %v: want 1m to 168h", c.TURNTTL)
		}
		if _, err := c.ProxyPrefixes(); err != nil {
			bad("%w", err)
		}
		l := c.Limits
		for name, v := range map[string]int{
			"limits.sockets": l.Sockets, "limits.starts": l.Starts, "limits.rooms": l.Rooms, "limits.joins": l.Joins,
			"limits.unanswered": l.Unanswered, "limits.player_rooms": l.PlayerRooms,
			"limits.player_unanswered": l.PlayerUnanswered, "limits.browsers": l.Browsers,
		} {
			if v < 0 {
				bad("%s %d: want 0 (no limit) or more", name, v)
			}
		}
	}
	c.validateTLS(cmd, bad)
	c.validateSecrets(cmd, bad)
	if cmd&(Serve|Worker) != 0 {
		if u, err := url.Parse(c.Coordinator); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			bad("coordinator %q: want ws://host:port/worker or wss://...", c.Coordinator)
		}
		if c.Capacity < 0 || c.Capacity > 1000 {
			bad("capacity %d: want 0 (from the machine) to 1000", c.Capacity)
		}
		if c.RoomLinger < Duration(time.Second) || c.RoomLinger > Duration(24*time.Hour) {
			bad("room_linger %v: want 1s to 24h", c.RoomLinger)
		}
		if c.Autosave < Duration(10*time.Second) || c.Autosave > Duration(24*time.Hour) {
			bad("autosave %v: want 10s to 24h", c.Autosave)
		}
		if c.MaxSpectators < 1 || c.MaxSpectators > 10000 {
			bad("max_spectators %d: want 1 to 10000", c.MaxSpectators)
		}
		// A capacity of 0 is no bound to check the pool against.
		if c.RunnerPool < 0 || (c.Capacity > 0 && c.RunnerPool > c.Capacity) {
			bad("runner_pool %d: want 0 to the capacity, %d", c.RunnerPool, c.Capacity)
		}
		// Under the largest save file, some files could never come in.
		if least := saves.MaxFile >> 20; c.UploadBudget < least || c.UploadBudget > 1<<20 {
			bad("upload_budget %d: want %d to %d MiB", c.UploadBudget, least, 1<<20)
		}
		if c.S3.Endpoint == "" && c.Saves == "" {
			bad("saves: want a directory, or an S3 bucket")
		}
		if c.S3.Endpoint != "" && (c.S3.Bucket == "" || c.S3.AccessKey == "" || c.S3.SecretKey == "") {
			bad("s3: an endpoint wants a bucket, an access key and a secret key")
		}
		if c.PingListen != "" {
			host, _, err := net.SplitHostPort(c.PingListen)
			if err != nil {
				bad("ping_listen %q: %w", c.PingListen, err)
			} else if ip := net.ParseIP(host); c.PingURL == "" && len(c.ACMEDomains) == 0 && (host == "" || ip != nil && ip.IsUnspecified()) {
				// http://0.0.0.0:7000/ping would take every browser
				// to a machine of its own, not to this worker. With
				// ACME, the URL is on the first domain.
				bad("ping_listen %q listens on every address: set ping_url to the one browsers reach this worker at", c.PingListen)
			}
		}
		if u, err := url.Parse(c.PingURL); c.PingURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			bad("ping_url %q: want http(s)://host/ping", c.PingURL)
		}
		if c.UDPPort < 0 || c.UDPPort > 65535 {
			bad("udp_port %d: want 0 to 65535 (0: a port per peer)", c.UDPPort)
		}
		for _, ip := range c.PublicIPs {
			if net.ParseIP(ip) == nil {
				bad("public IP %q is not an IP address", ip)
			}
		}
		if err := c.RunnerConfig().ValidateEncoding(); err != nil {
			bad("%w", err)
		}
		if err := c.RunAheadPolicy().Validate(); err != nil {
			bad("runahead_frames: %w", err)
		}
	}
	return errors.Join(errs...)
}

// validateTLS checks the settings of a listener's certificate, and of the
// coordinator's that a worker trusts.
func (c Config) validateTLS(cmd Command, bad func(format string, args ...any)) {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls_cert and tls_key come together: the certificate and its key")
	}
	if c.TLSCert != "" && len(c.ACMEDomains) > 0 {
		bad("tls_cert and acme_domains are exclusive: the certificate comes from files or from ACME")
	}
	for _, d := range c.ACMEDomains {
		// autocert asks for names of two labels or more, and a CA gives
		// none for an address.
		if d == "" || net.ParseIP(d) != nil || strings.ContainsAny(d, ":/ *") || !strings.Contains(strings.Trim(d, "."), ".") {
			bad("acme_domains %q: want a public host name (play.example.org), without scheme or port", d)
		}
	}
	if len(c.ACMEDomains) > 0 {
		if c.ACMECache == "" {
			bad("acme_cache: want a folder for the ACME account and certificates")
		}
		if u, err := url.Parse(c.ACMECA); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("acme_ca %q: want the ACME directory's URL, https://...", c.ACMECA)
		}
		if c.ACMEEmail != "" && !strings.Contains(c.ACMEEmail, "@") {
			bad("acme_email %q: want an email address", c.ACMEEmail)
		}
	}
	if c.ACMEHTTPListen != "" {
		if _, _, err := net.SplitHostPort(c.ACMEHTTPListen); err != nil {
			bad("acme_http_listen %q: %w", c.ACMEHTTPListen, err)
		}
		if len(c.ACMEDomains) == 0 {
			bad("acme_http_listen answers ACME's HTTP-01 challenge: set acme_domains")
		}
	}
	if cmd&Worker == 0 {
		return
	}
	if (c.TLSCert != "" || len(c.ACMEDomains) > 0) && c.PingListen == "" {
		bad("a worker's certificate is for its ping listener: set ping_listen")
	}
	if u, err := url.Parse(c.Coordinator); c.CoordinatorCA != "" && err == nil && u.Scheme != "wss" {
		bad("coordinator_ca is for a coordinator with TLS: dial wss://%s%s", u.Host, u.Path)
	}
}

// ProxyPrefixes are trusted_proxies as prefixes: an address is a prefix
// of its own.
func (c Config) ProxyPrefixes() ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted_proxies %q: want an address or a CIDR (10.0.0.0/8, fd00::/8)", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96) // clients' addresses are unmapped too
		}
		prefixes = append(prefixes, p.Masked())
	}
	return prefixes, nil
}

// validateSecrets checks the coordinator's secrets, a worker's
// credential and the metrics' access.
func (c Config) validateSecrets(cmd Command, bad func(format string, args ...any)) {
	if cmd&(Serve|Coordinator) != 0 {
		for _, s := range c.WorkerSecret {
			if err := workerauth.CheckSecret(s); err != nil {
				bad("worker_secret: %w", err)
			}
		}
	}
	if cmd&(Serve|Worker) != 0 && c.WorkerID != "" {
		if err := workerauth.CheckID(signal.WorkerID(c.WorkerID)); err != nil {
			bad("worker_id: %w", err)
		}
	}
	if cmd&Worker != 0 {
		if c.WorkerToken != "" && c.WorkerTokenFile != "" {
			bad("worker_token and worker_token_file are exclusive: the credential, or the file that holds it")
		}
		if c.WorkerToken != "" {
			switch id, err := workerauth.ID(c.WorkerToken); {
			case err != nil:
				bad("worker_token: %w", err)
			case c.WorkerID != "" && string(id) != c.WorkerID:
				bad("worker_token is worker %q's credential, and worker_id is %q: leave worker_id out, or make the credential for it", id, c.WorkerID)
			}
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < workerauth.MinSecret {
		bad("metrics_token: want %d bytes or more, random (openssl rand -hex 32)", workerauth.MinSecret)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("metrics_listen %q: %w", c.MetricsListen, err)
		}
	}
}

// checkTURNURL checks one of turn_urls: turn: or turns:, a host, and at
// most a transport of udp or tcp (RFC 7065).
func checkTURNURL(s string) error {
	rest, ok := strings.CutPrefix(s, "turn:")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "turns:"); !ok {
			return errors.New("want turn:host:port or turns:host:port")
		}
	}
	hostPort, query, _ := strings.Cut(rest, "?")
	if hostPort == "" || strings.ContainsAny(hostPort, "/@ ") {
		return errors.New("want a host, and a port: turn:host:port")
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if t := q.Get("transport"); err != nil || len(q) != 1 || (t != "udp" && t != "tcp") {
			return errors.New("want ?transport=udp or ?transport=tcp, or nothing")
		}
	}
	return nil
}

// RunAheadPolicy chooses each game's run-ahead.
func (c Config) RunAheadPolicy() runner.RunAheadPolicy {
	return runner.RunAheadPolicy{On: c.RunAhead, Frames: c.RunAheadFrames}
}

// RunnerConfig is the base of every room's runner config: all but the
// core, the game and its run-ahead.
func (c Config) RunnerConfig() runner.Config {
	rc := runner.Config{
		Options: c.CoreOptions,
		Video:   runner.VideoConfig{Codec: runner.Codec(c.Codec), BitrateKbps: c.VideoKbps},
		Audio:   runner.AudioConfig{BitrateKbps: c.AudioKbps, FrameDuration: time.Duration(c.AudioFrame)},

		FramePhase: runner.FramePhase(c.FramePhase),
	}
	if !c.Sandbox {
		rc.Unsandboxed = sandbox.All
	}
	return rc
}

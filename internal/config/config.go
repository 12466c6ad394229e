// Package config is Telecart's configuration: defaults, an optional JSON
// file, TELECART_* environment variables, then command-line flags, each
// overriding the one before, and validation of the result.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/storage"
)

var ErrInvalid = errors.New("config: invalid")

// Config is every setting of the coordinator and the worker.
type Config struct {
	// Listen is the coordinator's HTTP address.
	Listen string `json:"listen"`
	// Token authenticates workers to the coordinator. The embedded default
	// makes a random one when empty.
	Token string `json:"token"`
	// Overload is the machine load (0 to 1) from which a worker takes no
	// new room; 1 or more, never.
	Overload float64 `json:"overload"`
	// Coordinator is the worker's link: ws://host:port/worker.
	Coordinator string `json:"coordinator"`
	// WorkerID names the worker (random when empty); Zone groups workers
	// by place; Capacity is how many rooms a worker hosts.
	WorkerID string `json:"worker_id"`
	Zone     string `json:"zone"`
	// PingListen is where a worker answers browsers timing their round
	// trip to it; PingURL is the address browsers are given (default:
	// http://PingListen/ping). The embedded default needs neither: its
	// worker shares the coordinator's address.
	PingListen string `json:"ping_listen"`
	PingURL    string `json:"ping_url"`
	Capacity   int    `json:"capacity"`
	// RoomLinger is how long a room lives on after its last peer left.
	RoomLinger Duration `json:"room_linger"`
	// Saves is the directory of players' saves, unless S3 names a bucket
	// (every worker must reach the same storage for saves to follow
	// players). Autosave is how often a room saves for its player.
	Saves    string           `json:"saves"`
	S3       storage.S3Config `json:"s3"`
	Autosave Duration         `json:"autosave"`
	// Games are the folders scanned for ROMs; Cores where libretro cores are.
	Games []string `json:"games"`
	Cores []string `json:"cores"`
	// Video and audio encoding.
	Codec       string            `json:"codec"`
	VideoKbps   int               `json:"video_kbps"`
	AudioKbps   int               `json:"audio_kbps"`
	AudioFrame  Duration          `json:"audio_frame"`
	CoreOptions map[string]string `json:"core_options"`
	// PublicIPs are the worker's addresses behind a 1:1 NAT; UDPPort, when
	// set, carries all peers on one UDP port; ICELoopback offers 127.0.0.1.
	PublicIPs   []string `json:"public_ips"`
	UDPPort     int      `json:"udp_port"`
	ICELoopback bool     `json:"ice_loopback"`
	// ICEServers are STUN/TURN servers, handed to browsers and used by workers.
	ICEServers []ICEServer `json:"ice_servers"`
}

// Duration is a time.Duration written as in Go, "10ms", in the file.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// String and Set make a Duration a flag.Value.
func (d Duration) String() string { return time.Duration(d).String() }
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"10ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ICEServer is a STUN or TURN server.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Default is the configuration with nothing set.
func Default() Config {
	return Config{
		Listen:      "127.0.0.1:8000",
		Coordinator: "ws://127.0.0.1:8000/worker",
		Capacity:    4,
		Overload:    0.9,
		RoomLinger:  Duration(30 * time.Second),
		Saves:       filepath.Join(filepath.Dir(library.DefaultDir()), "saves"),
		Autosave:    Duration(5 * time.Minute),
		Games:       []string{library.DefaultDir()},
		Cores:       cores.DefaultDirs(),
		Codec:       string(runner.DefaultCodec),
		VideoKbps:   runner.DefaultVideoKbps,
		AudioKbps:   runner.DefaultAudioKbps,
		AudioFrame:  Duration(runner.DefaultAudioFrameDuration),
	}
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

// Env lists the environment variables and what they set, for the help.
func Env() [][2]string {
	return [][2]string{
		{"TELECART_LISTEN", "listen"},
		{"TELECART_TOKEN", "token"},
		{"TELECART_COORDINATOR", "coordinator"},
		{"TELECART_WORKER_ID", "worker_id"},
		{"TELECART_ZONE", "zone"},
		{"TELECART_PING_LISTEN", "ping_listen"},
		{"TELECART_PING_URL", "ping_url"},
		{"TELECART_CAPACITY", "capacity"},
		{"TELECART_ROOM_LINGER", "room_linger"},
		{"TELECART_SAVES", "saves"},
		{"TELECART_AUTOSAVE", "autosave"},
		{"TELECART_S3_ENDPOINT", "s3.endpoint"},
		{"TELECART_S3_BUCKET", "s3.bucket"},
		{"TELECART_S3_ACCESS_KEY", "s3.access_key"},
		{"TELECART_S3_SECRET_KEY", "s3.secret_key"},
		{"TELECART_GAMES", "games (separated by :)"},
		{"TELECART_CORES", "cores (separated by :)"},
		{"TELECART_CODEC", "codec"},
		{"TELECART_PUBLIC_IPS", "public_ips (separated by ,)"},
		{"TELECART_UDP_PORT", "udp_port"},
		{"TELECART_STUN", "ice_servers: STUN/TURN URLs separated by , (no credentials)"},
	}
}

// ApplyEnv overrides c with the TELECART_* variables that are set.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	list := func(name, sep string, dst *[]string) {
		if v := getenv(name); v != "" {
			*dst = strings.Split(v, sep)
		}
	}
	num := func(name string, dst *int) error {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%w: %s=%q is not a number", ErrInvalid, name, v)
			}
			*dst = n
		}
		return nil
	}
	str("TELECART_LISTEN", &c.Listen)
	str("TELECART_TOKEN", &c.Token)
	str("TELECART_COORDINATOR", &c.Coordinator)
	str("TELECART_WORKER_ID", &c.WorkerID)
	str("TELECART_ZONE", &c.Zone)
	str("TELECART_PING_LISTEN", &c.PingListen)
	str("TELECART_PING_URL", &c.PingURL)
	str("TELECART_CODEC", &c.Codec)
	str("TELECART_SAVES", &c.Saves)
	str("TELECART_S3_ENDPOINT", &c.S3.Endpoint)
	str("TELECART_S3_BUCKET", &c.S3.Bucket)
	str("TELECART_S3_ACCESS_KEY", &c.S3.AccessKey)
	str("TELECART_S3_SECRET_KEY", &c.S3.SecretKey)
	list("TELECART_GAMES", ":", &c.Games)
	list("TELECART_CORES", ":", &c.Cores)
	list("TELECART_PUBLIC_IPS", ",", &c.PublicIPs)
	if v := getenv("TELECART_STUN"); v != "" {
		c.ICEServers = []ICEServer{{URLs: strings.Split(v, ",")}}
	}
	duration := func(name string, dst *Duration) error {
		if v := getenv(name); v != "" {
			if err := dst.Set(v); err != nil {
				return fmt.Errorf("%w: %s=%q is not a duration such as 30s", ErrInvalid, name, v)
			}
		}
		return nil
	}
	return errors.Join(
		num("TELECART_CAPACITY", &c.Capacity), num("TELECART_UDP_PORT", &c.UDPPort),
		duration("TELECART_ROOM_LINGER", &c.RoomLinger), duration("TELECART_AUTOSAVE", &c.Autosave),
	)
}

// listFlag is a flag.Value for a separated list.
type listFlag struct {
	dst *[]string
	sep string
}

func (l listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, l.sep)
}

func (l listFlag) Set(v string) error {
	*l.dst = nil
	if v != "" {
		*l.dst = strings.Split(v, l.sep)
	}
	return nil
}

// Flags binds the settings of the given roles ("coordinator", "worker")
// to fs, with c's current values as defaults.
func (c *Config) Flags(fs *flag.FlagSet, roles ...string) {
	has := func(role string) bool {
		for _, r := range roles {
			if r == role {
				return true
			}
		}
		return false
	}
	fs.StringVar(&c.Token, "token", c.Token, "secret that workers present to the coordinator (TELECART_TOKEN)")
	if has("coordinator") {
		fs.StringVar(&c.Listen, "listen", c.Listen, "HTTP address of the coordinator (TELECART_LISTEN)")
		if !has("worker") { // the embedded default is one machine: never overloaded
			fs.Float64Var(&c.Overload, "overload", c.Overload, "machine load, 0 to 1, from which a worker takes no new game; 1: never")
		}
	}
	if has("worker") {
		if !has("coordinator") {
			fs.StringVar(&c.Coordinator, "coordinator", c.Coordinator, "the coordinator's worker endpoint (TELECART_COORDINATOR)")
		}
		fs.StringVar(&c.WorkerID, "id", c.WorkerID, "worker id, random when empty (TELECART_WORKER_ID)")
		fs.StringVar(&c.Zone, "zone", c.Zone, "zone of the worker (TELECART_ZONE)")
		if !has("coordinator") {
			fs.StringVar(&c.PingListen, "ping-listen", c.PingListen, "address where browsers time their round trip to the worker (TELECART_PING_LISTEN)")
			fs.StringVar(&c.PingURL, "ping-url", c.PingURL, "the ping URL browsers are given; default http://<ping-listen>/ping (TELECART_PING_URL)")
		}
		fs.IntVar(&c.Capacity, "capacity", c.Capacity, "rooms the worker hosts at once (TELECART_CAPACITY)")
		fs.Var(&c.RoomLinger, "room-linger", "how long a room lives on after its last player left (TELECART_ROOM_LINGER)")
		fs.StringVar(&c.Saves, "saves", c.Saves, "directory of players' saves, when no S3 bucket is set (TELECART_SAVES)")
		fs.Var(&c.Autosave, "autosave", "how often a room saves for its player, besides when it ends (TELECART_AUTOSAVE)")
		fs.StringVar(&c.S3.Endpoint, "s3-endpoint", c.S3.Endpoint, "S3-compatible storage for saves, host:port; replaces -saves (TELECART_S3_ENDPOINT)")
		fs.StringVar(&c.S3.Bucket, "s3-bucket", c.S3.Bucket, "the bucket of saves (TELECART_S3_BUCKET)")
		fs.StringVar(&c.S3.AccessKey, "s3-access-key", c.S3.AccessKey, "S3 access key (TELECART_S3_ACCESS_KEY)")
		fs.StringVar(&c.S3.SecretKey, "s3-secret-key", c.S3.SecretKey, "S3 secret key (TELECART_S3_SECRET_KEY)")
		fs.StringVar(&c.S3.Region, "s3-region", c.S3.Region, "S3 region, when the server wants one")
		fs.BoolVar(&c.S3.Insecure, "s3-insecure", c.S3.Insecure, "speak plain HTTP to S3 (a server on the same machine or network)")
		fs.Var(listFlag{&c.Games, ":"}, "games", "folders with ROMs, separated by : (TELECART_GAMES)")
		fs.Var(listFlag{&c.Cores, ":"}, "cores", "folders with libretro cores, separated by : (TELECART_CORES)")
		fs.StringVar(&c.Codec, "codec", c.Codec, "video codec: vp8 or h264 (TELECART_CODEC)")
		fs.IntVar(&c.VideoKbps, "video-kbps", c.VideoKbps, "video bitrate, kbit/s")
		fs.Var(listFlag{&c.PublicIPs, ","}, "public-ip", "public IPs of the worker behind 1:1 NAT, separated by , (TELECART_PUBLIC_IPS)")
		fs.IntVar(&c.UDPPort, "udp-port", c.UDPPort, "one UDP port for every peer; 0: a port per peer (TELECART_UDP_PORT)")
		fs.BoolVar(&c.ICELoopback, "ice-loopback", c.ICELoopback, "offer 127.0.0.1 to browsers (same machine, tests)")
	}
}

// Validate reports every problem with the settings of the given roles.
func (c Config) Validate(roles ...string) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...)))
	}
	for _, role := range roles {
		switch role {
		case "coordinator":
			if _, _, err := net.SplitHostPort(c.Listen); err != nil {
				bad("listen %q: %v", c.Listen, err)
			}
			if !(c.Overload > 0) {
				bad("overload %v: want a machine load above 0 (1 or more: never)", c.Overload)
			}
		case "worker":
			if u, err := url.Parse(c.Coordinator); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
				bad("coordinator %q: want ws://host:port/worker or wss://...", c.Coordinator)
			}
			if c.Capacity < 1 || c.Capacity > 1000 {
				bad("capacity %d: want 1 to 1000", c.Capacity)
			}
			if c.RoomLinger < Duration(time.Second) || c.RoomLinger > Duration(24*time.Hour) {
				bad("room_linger %v: want 1s to 24h", c.RoomLinger)
			}
			if c.Autosave < Duration(10*time.Second) || c.Autosave > Duration(24*time.Hour) {
				bad("autosave %v: want 10s to 24h", c.Autosave)
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
					bad("ping_listen %q: %v", c.PingListen, err)
				} else if ip := net.ParseIP(host); c.PingURL == "" && (host == "" || ip != nil && ip.IsUnspecified()) {
					// http://0.0.0.0:7000/ping would take every browser
					// to a machine of its own, not to this worker.
					bad("ping_listen %q listens on every address: set ping_url to the one browsers reach this worker at", c.PingListen)
				}
			}
			if u, err := url.Parse(c.PingURL); c.PingURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
				bad("ping_url %q: want http(s)://host/ping", c.PingURL)
			}
			if c.UDPPort < 0 || c.UDPPort > 65535 {
				bad("udp_port %d", c.UDPPort)
			}
			for _, ip := range c.PublicIPs {
				if net.ParseIP(ip) == nil {
					bad("public IP %q is not an IP address", ip)
				}
			}
			if err := c.RunnerConfig().ValidateEncoding(); err != nil {
				errs = append(errs, fmt.Errorf("%w: %w", ErrInvalid, err))
			}
		}
	}
	return errors.Join(errs...)
}

// RunnerConfig is the base of every room's runner config: all but the
// core and the game.
func (c Config) RunnerConfig() runner.Config {
	return runner.Config{
		Options: c.CoreOptions,
		Video:   runner.VideoConfig{Codec: runner.Codec(c.Codec), BitrateKbps: c.VideoKbps},
		Audio:   runner.AudioConfig{BitrateKbps: c.AudioKbps, FrameDuration: time.Duration(c.AudioFrame)},
	}
}

package config

import (
	"flag"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/acme/autocert"

	"github.com/telecart/telecart/internal/coordinator"
	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/runner"
)

// Command is a set of the telecart commands that run with a Config.
type Command uint8

const (
	// Serve is the embedded default: a coordinator and one worker in one
	// process.
	Serve Command = 1 << iota
	Coordinator
	Worker

	allCommands = Serve | Coordinator | Worker
)

// setting is one row of the table of settings. The defaults, the
// environment, the flags and their help all come from this table, so that
// a setting is named in one place; README.md's table is checked against it.
type setting struct {
	// key is the setting's name in the JSON file; a dot steps into an
	// object ("s3.bucket" is {"s3": {"bucket": ...}}).
	key string
	// flag and env are the setting's flag (without the dash) and its
	// environment variable; empty when it has none.
	flag, env string
	// def is the default, as a flag or the environment would give it;
	// empty leaves the zero value.
	def  string
	help string
	// cmds are the commands the setting is for: they take its flag, and
	// their help shows it. Yet every command reads every key of the file
	// and every variable of the environment, as one file may serve a
	// coordinator and its workers.
	cmds Command
	// value is the setting's field in c, which the environment and the
	// flags set from text.
	value func(c *Config) flag.Value
}

// settings is the table of settings, in the order of the help and the
// README. A function, not a variable, so that nothing can change it.
func settings() []setting {
	return []setting{
		{key: "listen", flag: "listen", env: "TELECART_LISTEN", def: "127.0.0.1:8000", cmds: Serve | Coordinator,
			help:  "HTTP `address` of the coordinator",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.Listen) }},
		// Not a flag of serve: one machine runs everything there, and a
		// busy worker is better than none.
		{key: "overload", flag: "overload", env: "TELECART_OVERLOAD", def: "0.9", cmds: Coordinator,
			help:  "machine `load`, 0 to 1, from which a worker takes no new game; 1: never",
			value: func(c *Config) flag.Value { return (*floatValue)(&c.Overload) }},
		{key: "nats", flag: "nats", env: "TELECART_NATS", cmds: Coordinator,
			help:  "`URLs` of the NATS servers (JetStream on), separated by ,, that the coordinators share their state and messages over; none: a server inside the process, with no port",
			value: func(c *Config) flag.Value { return listValue{&c.NATS, ","} }},
		// Secrets have no flag: a command line shows in ps to everyone on
		// the machine.
		{key: "worker_secret", env: "TELECART_WORKER_SECRET", cmds: Serve | Coordinator,
			help: "the coordinator's secrets, separated by ,: a worker's credential (telecart worker-token) is made with the first, " +
				"and is accepted when made with any (a rotation lists the new and the old); also the admin endpoint's bearer token",
			value: func(c *Config) flag.Value { return listValue{&c.WorkerSecret, ","} }},
		{key: "worker_token", env: "TELECART_WORKER_TOKEN", cmds: Worker,
			help:  "the worker's credential, ID.MAC, made by telecart worker-token -id ID where the coordinator's worker_secret is",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.WorkerToken) }},
		{key: "worker_token_file", flag: "token-file", env: "TELECART_WORKER_TOKEN_FILE", cmds: Worker,
			help:  "`file` holding the worker's credential instead, read anew at every dial: a new one is taken without a restart",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.WorkerTokenFile) }},
		{key: "metrics_listen", flag: "metrics-listen", env: "TELECART_METRICS_LISTEN", cmds: allCommands,
			help:  "HTTP `address` serving /metrics with no authentication (keep it private); without it or metrics_token, no metrics are served",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.MetricsListen) }},
		{key: "metrics_token", env: "TELECART_METRICS_TOKEN", cmds: allCommands,
			help:  "bearer token that opens /metrics on the public listener (the coordinator's, a worker's ping_listen)",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.MetricsToken) }},
		// coordinator, ping_listen and ping_url are not flags of serve:
		// its worker is in the coordinator's process and pings on its
		// address.
		{key: "coordinator", flag: "coordinator", env: "TELECART_COORDINATOR", def: "ws://127.0.0.1:8000/worker", cmds: Worker,
			help:  "the coordinator's worker endpoint, ws://host:port/worker, or wss:// when it has TLS",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.Coordinator) }},
		{key: "worker_id", flag: "id", env: "TELECART_WORKER_ID", cmds: Serve | Worker,
			help:  "worker id, random when empty",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.WorkerID) }},
		{key: "zone", flag: "zone", env: "TELECART_ZONE", cmds: Serve | Worker,
			help:  "zone of the worker",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.Zone) }},
		{key: "ping_listen", flag: "ping-listen", env: "TELECART_PING_LISTEN", cmds: Worker,
			help:  "`address` where browsers time their round trip to the worker",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.PingListen) }},
		{key: "ping_url", flag: "ping-url", env: "TELECART_PING_URL", cmds: Worker,
			help:  "the ping `URL` browsers are given; default http://<ping-listen>/ping, https:// with TLS",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.PingURL) }},
		// A worker's certificate is its ping listener's.
		{key: "tls_cert", flag: "tls-cert", env: "TELECART_TLS_CERT", cmds: allCommands,
			help:  "PEM `file` of the TLS certificate and its chain: the coordinator, or a worker's ping listener, serves HTTPS",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.TLSCert) }},
		{key: "tls_key", flag: "tls-key", env: "TELECART_TLS_KEY", cmds: allCommands,
			help:  "PEM `file` of the TLS certificate's private key",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.TLSKey) }},
		{key: "acme_domains", flag: "acme-domain", env: "TELECART_ACME_DOMAINS", cmds: allCommands,
			help: "public host `names`, separated by ,: serve HTTPS with certificates from ACME (Let's Encrypt) instead of files; " +
				"the CA connects to port 443 of each name (TLS-ALPN-01), which must reach this listener",
			value: func(c *Config) flag.Value { return listValue{&c.ACMEDomains, ","} }},
		{key: "acme_cache", flag: "acme-cache", env: "TELECART_ACME_CACHE", def: filepath.Join(filepath.Dir(library.DefaultDir()), "acme"), cmds: allCommands,
			help:  "`folder` keeping the ACME account and certificates across restarts",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.ACMECache) }},
		{key: "acme_ca", flag: "acme-ca", env: "TELECART_ACME_CA", def: autocert.DefaultACMEDirectory, cmds: allCommands,
			help:  "the ACME CA's directory `URL`: Let's Encrypt's, its staging's, a private CA's",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.ACMECA) }},
		{key: "acme_email", flag: "acme-email", env: "TELECART_ACME_EMAIL", cmds: allCommands,
			help:  "`email` address the ACME CA may write to about the certificates; optional",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.ACMEEmail) }},
		{key: "acme_http_listen", flag: "acme-http-listen", env: "TELECART_ACME_HTTP_LISTEN", cmds: allCommands,
			help: "plain HTTP `address` (:80) that answers ACME's HTTP-01 challenge and sends browsers to HTTPS; " +
				"the CA connects to port 80 of each name, which must reach it",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.ACMEHTTPListen) }},
		{key: "coordinator_ca", flag: "coordinator-ca", env: "TELECART_COORDINATOR_CA", cmds: Worker,
			help:  "PEM `file` of CA certificates to trust for a wss:// coordinator's certificate, besides the system's",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.CoordinatorCA) }},
		{key: "capacity", flag: "capacity", env: "TELECART_CAPACITY", def: "0", cmds: Serve | Worker,
			help:  "rooms the worker hosts at once; 0: 12 a core, as many as the memory holds at 48 MiB each after 512 MiB",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Capacity) }},
		{key: "room_linger", flag: "room-linger", env: "TELECART_ROOM_LINGER", def: "30s", cmds: Serve | Worker,
			help:  "how long a room lives on after its last player left",
			value: func(c *Config) flag.Value { return &c.RoomLinger }},
		{key: "max_spectators", flag: "max-spectators", env: "TELECART_MAX_SPECTATORS", def: "50", cmds: Serve | Worker,
			help:  "people who may watch a room besides its players; a join over it is refused",
			value: func(c *Config) flag.Value { return (*intValue)(&c.MaxSpectators) }},
		{key: "runner_pool", flag: "runner-pool", env: "TELECART_RUNNER_POOL", def: "1", cmds: Serve | Worker,
			help:  "game processes a worker keeps started ahead of need, so a new game skips their start; 0 to 'capacity'",
			value: func(c *Config) flag.Value { return (*intValue)(&c.RunnerPool) }},
		{key: "saves", flag: "saves", env: "TELECART_SAVES", def: filepath.Join(filepath.Dir(library.DefaultDir()), "saves"), cmds: Serve | Worker,
			help:  "`directory` of players' saves, when no S3 bucket is set",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.Saves) }},
		{key: "s3.endpoint", flag: "s3-endpoint", env: "TELECART_S3_ENDPOINT", cmds: Serve | Worker,
			help:  "S3-compatible storage for saves, `host:port`; replaces -saves",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.S3.Endpoint) }},
		{key: "s3.bucket", flag: "s3-bucket", env: "TELECART_S3_BUCKET", cmds: Serve | Worker,
			help:  "the `bucket` of saves",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.S3.Bucket) }},
		{key: "s3.access_key", flag: "s3-access-key", env: "TELECART_S3_ACCESS_KEY", cmds: Serve | Worker,
			help:  "S3 access `key`",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.S3.AccessKey) }},
		{key: "s3.secret_key", flag: "s3-secret-key", env: "TELECART_S3_SECRET_KEY", cmds: Serve | Worker,
			help:  "S3 secret `key`",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.S3.SecretKey) }},
		{key: "s3.region", flag: "s3-region", env: "TELECART_S3_REGION", cmds: Serve | Worker,
			help:  "S3 `region`, when the server wants one",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.S3.Region) }},
		{key: "s3.insecure", flag: "s3-insecure", env: "TELECART_S3_INSECURE", cmds: Serve | Worker,
			help:  "speak plain HTTP to S3 (a server on the same machine or network)",
			value: func(c *Config) flag.Value { return (*boolValue)(&c.S3.Insecure) }},
		{key: "autosave", flag: "autosave", env: "TELECART_AUTOSAVE", def: "5m", cmds: Serve | Worker,
			help:  "how often a room saves for its player, besides when it ends",
			value: func(c *Config) flag.Value { return &c.Autosave }},
		{key: "upload_budget", flag: "upload-budget", env: "TELECART_UPLOAD_BUDGET", def: "64", cmds: Serve | Worker,
			help:  "`MiB` of save files a worker takes in at once, as each upload announces its size; one over it is refused until others end",
			value: func(c *Config) flag.Value { return (*intValue)(&c.UploadBudget) }},
		{key: "games", flag: "games", env: "TELECART_GAMES", def: library.DefaultDir(), cmds: Serve | Worker,
			help:  "`folders` with ROMs, separated by :",
			value: func(c *Config) flag.Value { return listValue{&c.Games, ":"} }},
		{key: "thumbnails", flag: "thumbnails", env: "TELECART_THUMBNAILS", cmds: Serve | Worker,
			help:  "a libretro thumbnail set's `folder` (one folder per system, each with Named_Boxarts, Named_Titles, Named_Snaps) for the games' pictures; empty: a thumbnails folder at the top of each games folder, if there is one",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.Thumbnails) }},
		{key: "cores", flag: "cores", env: "TELECART_CORES", def: strings.Join(cores.DefaultDirs(), ":"), cmds: Serve | Worker,
			help:  "`folders` with libretro cores, separated by :",
			value: func(c *Config) flag.Value { return listValue{&c.Cores, ":"} }},
		{key: "codec", flag: "codec", env: "TELECART_CODEC", def: string(runner.DefaultCodec), cmds: Serve | Worker,
			help:  "video `codec`: vp8 or h264",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.Codec) }},
		{key: "video_kbps", flag: "video-kbps", env: "TELECART_VIDEO_KBPS", def: strconv.Itoa(runner.DefaultVideoKbps), cmds: Serve | Worker,
			help:  "video bitrate in kbit/s",
			value: func(c *Config) flag.Value { return (*intValue)(&c.VideoKbps) }},
		{key: "audio_kbps", env: "TELECART_AUDIO_KBPS", def: strconv.Itoa(runner.DefaultAudioKbps), cmds: Serve | Worker,
			help:  "audio bitrate in kbit/s",
			value: func(c *Config) flag.Value { return (*intValue)(&c.AudioKbps) }},
		{key: "audio_frame", env: "TELECART_AUDIO_FRAME", def: runner.DefaultAudioFrameDuration.String(), cmds: Serve | Worker,
			help:  "audio frame duration: 10ms or 20ms",
			value: func(c *Config) flag.Value { return &c.AudioFrame }},
		{key: "frame_phase", flag: "frame-phase", env: "TELECART_FRAME_PHASE", def: string(runner.DefaultFramePhase), cmds: Serve | Worker,
			help:  "where in each period a game's frame runs: display (follow the player's display), input (at once on an input change; the browser may skip frames) or fixed",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.FramePhase) }},
		{key: "core_options", env: "TELECART_CORE_OPTIONS", cmds: Serve | Worker,
			help:  "core option overrides, key=value pairs separated by ,",
			value: func(c *Config) flag.Value { return (*optionsValue)(&c.CoreOptions) }},
		{key: "runahead", flag: "runahead", env: "TELECART_RUNAHEAD", def: "true", cmds: Serve | Worker,
			help:  "run-ahead: show each game's picture as many frames ahead as its lag frames (runahead_frames), replaying them at each change of input",
			value: func(c *Config) flag.Value { return (*boolValue)(&c.RunAhead) }},
		// No flag: set per game, once, in the file or the environment.
		{key: "runahead_frames", env: "TELECART_RUNAHEAD_FRAMES", cmds: Serve | Worker,
			help:  "run-ahead frames, 0 to 3, by system id or game file name (which wins): name=frames pairs separated by ,; default: nes 1, others 0 (telecart lag measures a game's)",
			value: func(c *Config) flag.Value { return (*framesValue)(&c.RunAheadFrames) }},
		{key: "sandbox", flag: "sandbox", env: "TELECART_SANDBOX", def: "true", cmds: Serve | Worker,
			help:  "confine each game's runner: its own network namespace, Landlock, rlimits, no_new_privs and seccomp (false only to debug a core)",
			value: func(c *Config) flag.Value { return (*boolValue)(&c.Sandbox) }},
		{key: "public_ips", flag: "public-ip", env: "TELECART_PUBLIC_IPS", cmds: Serve | Worker,
			help:  "public `IPs` of the worker behind 1:1 NAT, separated by ,",
			value: func(c *Config) flag.Value { return listValue{&c.PublicIPs, ","} }},
		{key: "udp_port", flag: "udp-port", env: "TELECART_UDP_PORT", cmds: Serve | Worker,
			help:  "one UDP `port` for every peer; 0: a port per peer",
			value: func(c *Config) flag.Value { return (*intValue)(&c.UDPPort) }},
		// The variable's name is older than the key's; TURN servers
		// with credentials need the file.
		{key: "ice_servers", env: "TELECART_STUN", cmds: allCommands,
			help:  "STUN/TURN server URLs for browsers and workers, separated by , (no credentials)",
			value: func(c *Config) flag.Value { return stunValue{&c.ICEServers} }},
		// TURN is the coordinator's: it hands each browser credentials of
		// its own. Workers need none: they have an address browsers (or
		// their relay) reach, and the secret stays on fewer machines.
		{key: "turn_urls", flag: "turn-url", env: "TELECART_TURN_URLS", cmds: Serve | Coordinator,
			help:  "TURN server `URLs` (turn: or turns:, separated by ,) for which browsers get short-lived credentials made with turn_secret",
			value: func(c *Config) flag.Value { return listValue{&c.TURNURLs, ","} }},
		// No flag: a command line shows in ps to everyone on the machine.
		{key: "turn_secret", env: "TELECART_TURN_SECRET", cmds: Serve | Coordinator,
			help:  "the TURN server's static-auth-secret (coturn's use-auth-secret), which makes browsers' credentials",
			value: func(c *Config) flag.Value { return (*stringValue)(&c.TURNSecret) }},
		{key: "turn_ttl", flag: "turn-ttl", env: "TELECART_TURN_TTL", def: "1h", cmds: Serve | Coordinator,
			help:  "how long a browser's TURN credentials can open a relay (a game outlives them)",
			value: func(c *Config) flag.Value { return &c.TURNTTL }},
		// Proxies and limits are the coordinator's: it is where strangers
		// come in. No flags: they are set once, in the file or the
		// environment. Each default leaves a household or a LAN party
		// behind one address alone, and stops one stranger from taking
		// what everyone needs (why each: coordinator.DefaultSockets and
		// the rest; README.md, Limits).
		{key: "trusted_proxies", env: "TELECART_TRUSTED_PROXIES", cmds: Serve | Coordinator,
			help:  "addresses or CIDRs of the reverse proxies in front of the coordinator, separated by ,: a request from one comes from the right-most address of X-Forwarded-For that is not one",
			value: func(c *Config) flag.Value { return listValue{&c.TrustedProxies, ","} }},
		{key: "limits.sockets", env: "TELECART_LIMITS_SOCKETS", def: strconv.Itoa(coordinator.DefaultSockets), cmds: Serve | Coordinator,
			help:  "pages (WebSockets) one client address may have open at once, an IPv6 one by its /64; 0: no limit. The default lets a LAN party of thirty share an address",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Limits.Sockets) }},
		{key: "limits.starts", env: "TELECART_LIMITS_STARTS", def: strconv.Itoa(coordinator.DefaultStartsPerMinute), cmds: Serve | Coordinator,
			help:  "new rooms one client address may start per minute, as many at once; 0: no limit",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Limits.Starts) }},
		{key: "limits.rooms", env: "TELECART_LIMITS_ROOMS", def: strconv.Itoa(coordinator.DefaultRooms), cmds: Serve | Coordinator,
			help:  "rooms one client address started that are still live, empty ones until their linger time ends; 0: no limit",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Limits.Rooms) }},
		{key: "limits.joins", env: "TELECART_LIMITS_JOINS", def: strconv.Itoa(coordinator.DefaultJoinsPerSecond), cmds: Serve | Coordinator,
			help:  "joins one client address may try per second, four seconds' worth at once, resumes of rooms the coordinator does not know included: a room id guessed counts; 0: no limit",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Limits.Joins) }},
		{key: "limits.unanswered", env: "TELECART_LIMITS_UNANSWERED", def: strconv.Itoa(coordinator.DefaultUnanswered), cmds: Serve | Coordinator,
			help:  "sessions of one client address whose browser has not yet answered the worker's offer, each a peer connection held; 0: no limit",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Limits.Unanswered) }},
		{key: "limits.player_rooms", env: "TELECART_LIMITS_PLAYER_ROOMS", def: strconv.Itoa(coordinator.DefaultPlayerRooms), cmds: Serve | Coordinator,
			help:  "rooms one player id started that are still live; 0: no limit",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Limits.PlayerRooms) }},
		{key: "limits.player_unanswered", env: "TELECART_LIMITS_PLAYER_UNANSWERED", def: strconv.Itoa(coordinator.DefaultPlayerUnanswered), cmds: Serve | Coordinator,
			help:  "sessions of one player id whose browser has not yet answered the worker's offer; 0: no limit",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Limits.PlayerUnanswered) }},
		{key: "limits.browsers", env: "TELECART_LIMITS_BROWSERS", cmds: Serve | Coordinator,
			help:  "pages (WebSockets) of every client together; 0: a quarter of the process's open-file limit, at most 10000, leaving the rest to games",
			value: func(c *Config) flag.Value { return (*intValue)(&c.Limits.Browsers) }},
		{key: "ice_loopback", flag: "ice-loopback", env: "TELECART_ICE_LOOPBACK", cmds: Serve | Worker,
			help:  "offer 127.0.0.1 to browsers (same machine, tests)",
			value: func(c *Config) flag.Value { return (*boolValue)(&c.ICELoopback) }},
	}
}

package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/sandbox"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/workerauth"
)

var commands = map[string]Command{"serve": Serve, "coordinator": Coordinator, "worker": Worker}

// load runs a command's configuration as internal/cli does: flags parsed,
// then the layers. env stands for the process environment.
func load(t *testing.T, cmd Command, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := NewFlags(fs, cmd)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return flags.Config(func(k string) string { return env[k] })
}

// writeFile writes content to a new file and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "telecart.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultIsValid(t *testing.T) {
	for name, cmd := range commands {
		if err := Default().Validate(cmd); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Each layer overrides the one before: file, then environment, then flags,
// whatever the order of the flags, -config among them.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, `{"listen": "127.0.0.1:9000", "capacity": 2, "zone": "file", "codec": "h264", "room_linger": "1m"}`)
	env := map[string]string{"TELECART_ZONE": "env", "TELECART_CAPACITY": "3", "TELECART_GAMES": "/a:/b", "TELECART_ROOM_LINGER": "2m"}
	c, err := load(t, Serve, env, "-capacity", "5", "--config="+file, "-room-linger", "5s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]any{
		"listen from the file":     {c.Listen, "127.0.0.1:9000"},
		"codec from the file":      {c.Codec, "h264"},
		"zone from the env":        {c.Zone, "env"},
		"capacity from the flag":   {c.Capacity, 5},
		"linger from the flag":     {c.RoomLinger, Duration(5 * time.Second)},
		"games from the env":       {len(c.Games), 2},
		"bitrate from the default": {c.VideoKbps, Default().VideoKbps},
	}
	for name, got := range want {
		if got[0] != got[1] {
			t.Errorf("%s: %v, want %v", name, got[0], got[1])
		}
	}
	if err := c.Validate(Serve); err != nil {
		t.Fatal(err)
	}
}

// samples are three values of a kind of setting, for the file, the
// environment and a flag: each unlike the one before and the defaults.
func samples(v flag.Value) [3]string {
	switch v := v.(type) {
	case *stringValue:
		return [3]string{"file", "env", "flag"}
	case *intValue:
		return [3]string{"2", "3", "5"}
	case *floatValue:
		return [3]string{"0.25", "0.5", "0.75"}
	case *boolValue:
		return [3]string{"true", "false", "true"}
	case *Duration:
		return [3]string{"1m", "2m", "3m"}
	case listValue:
		return [3]string{"/file", "/env1" + v.sep + "/env2", "/flag"}
	case stunValue:
		return [3]string{"stun:file", "stun:env1,stun:env2", "stun:flag"}
	case *optionsValue:
		return [3]string{"a=file", "a=env,b=2", "a=flag"}
	case *framesValue:
		return [3]string{"nes=2", "nes=0,gba=1", "x.nes=3"}
	}
	panic("no samples for a " + reflect.TypeOf(v).String())
}

// fileFor is a config file that sets only the setting s, to text.
func fileFor(t *testing.T, s setting, text string) string {
	t.Helper()
	var scratch Config
	if err := s.value(&scratch).Set(text); err != nil {
		t.Fatal(err)
	}
	var doc any = s.value(&scratch).(flag.Getter).Get()
	parts := strings.Split(s.key, ".")
	for i := len(parts) - 1; i >= 0; i-- {
		doc = map[string]any{parts[i]: doc}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, string(data))
}

// Every setting of the table is set by the file, by its environment
// variable and by its flag, for every command it belongs to, each over
// the one before, and sets nothing else.
func TestEverySettingInEveryLayer(t *testing.T) {
	for _, s := range settings() {
		var scratch Config
		sample := samples(s.value(&scratch))
		for name, cmd := range commands {
			if s.cmds&cmd == 0 {
				continue
			}
			t.Run(s.key+"/"+name, func(t *testing.T) {
				want := func(text string) Config {
					c := Default()
					if text != "" {
						if err := s.value(&c).Set(text); err != nil {
							t.Fatal(err)
						}
					}
					return c
				}
				file := fileFor(t, s, sample[0])
				env := map[string]string{s.env: sample[1]}
				flagArg := "-" + s.flag + "=" + sample[2]
				type layers struct {
					name string
					env  map[string]string
					args []string
					want Config
				}
				cases := []layers{
					{"default", nil, nil, want("")},
					{"file", nil, []string{"-config", file}, want(sample[0])},
				}
				if s.env != "" {
					cases = append(cases,
						layers{"env", env, nil, want(sample[1])},
						layers{"env over file", env, []string{"-config", file}, want(sample[1])})
				}
				if s.flag != "" {
					cases = append(cases,
						layers{"flag", nil, []string{flagArg}, want(sample[2])},
						layers{"flag over file", nil, []string{flagArg, "-config", file}, want(sample[2])},
						layers{"flag over env and file", env, []string{"-config", file, flagArg}, want(sample[2])})
				}
				for _, tc := range cases {
					got, err := load(t, cmd, tc.env, tc.args...)
					if err != nil {
						t.Fatalf("%s: %v", tc.name, err)
					}
					if !reflect.DeepEqual(got, tc.want) {
						t.Errorf("%s: %s is %v, want %v (or another setting changed)",
							tc.name, s.key, s.value(&got), s.value(&tc.want))
					}
				}
			})
		}
	}
}

// The commands keep the flags they had before the table of settings.
func TestCommandFlags(t *testing.T) {
	// Secrets have no flag: a command line shows in ps.
	worker := []string{"config", "id", "zone", "capacity", "room-linger", "max-spectators", "runner-pool", "saves", "autosave", "upload-budget",
		"s3-endpoint", "s3-bucket", "s3-access-key", "s3-secret-key", "s3-region", "s3-insecure",
		"games", "thumbnails", "cores", "codec", "video-kbps", "frame-phase", "runahead", "sandbox", "public-ip", "udp-port", "ice-loopback"}
	tls := []string{"tls-cert", "tls-key", "acme-domain", "acme-cache", "acme-ca", "acme-email", "acme-http-listen", "metrics-listen"}
	want := map[string][]string{
		"coordinator": append([]string{"config", "listen", "overload", "nats", "turn-url", "turn-ttl"}, tls...),
		"serve":       slices.Concat([]string{"listen", "turn-url", "turn-ttl"}, worker, tls),
		"worker":      slices.Concat([]string{"coordinator", "ping-listen", "ping-url", "coordinator-ca", "token-file"}, worker, tls),
	}
	for name, cmd := range commands {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		NewFlags(fs, cmd)
		var got []string
		fs.VisitAll(func(f *flag.Flag) { got = append(got, f.Name) })
		slices.Sort(got)
		slices.Sort(want[name])
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s: flags %v, want %v", name, got, want[name])
		}
	}
}

// The table names each setting once, every field of Config has its row,
// and variables are named TELECART_ and the key.
func TestTable(t *testing.T) {
	seen := map[string]string{}
	for _, s := range settings() {
		for _, name := range []string{"key " + s.key, "flag " + s.flag, "env " + s.env} {
			if strings.HasSuffix(name, " ") {
				continue
			}
			if other, ok := seen[name]; ok {
				t.Errorf("%s: %s is %s's too", s.key, name, other)
			}
			seen[name] = s.key
		}
		if s.env == "" {
			t.Errorf("%s: no environment variable", s.key)
		}
		if want := "TELECART_" + strings.ToUpper(strings.ReplaceAll(s.key, ".", "_")); s.env != want && s.key != "ice_servers" {
			t.Errorf("%s: variable %s, want %s", s.key, s.env, want)
		}
		if s.help == "" || s.cmds == 0 {
			t.Errorf("%s: no help or no command", s.key)
		}
	}
	var keys func(typ reflect.Type, prefix string)
	keys = func(typ reflect.Type, prefix string) {
		for f := range typ.Fields() {
			key := prefix + strings.Split(f.Tag.Get("json"), ",")[0]
			if f.Type.Kind() == reflect.Struct {
				keys(f.Type, key+".")
				continue
			}
			if _, ok := seen["key "+key]; !ok {
				t.Errorf("Config's %s is not in the table of settings", key)
			}
		}
	}
	keys(reflect.TypeFor[Config](), "")
}

// README.md's table of settings names each setting's key, flag and
// variable in one row, and no other.
func TestREADME(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	type row struct{ keys, flags, env []string }
	var rows []row
	quoted := func(cell string) []string {
		var words []string
		for i, w := range strings.Split(cell, "`") {
			if i%2 == 1 {
				words = append(words, w)
			}
		}
		return words
	}
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		// A row's keys lead its first cell: "`worker_id`, `zone`: ...".
		lead := cells[1]
		if i := strings.Index(lead, "`:"); i >= 0 {
			lead = lead[:i+1]
		}
		var r row
		for _, k := range quoted(lead) {
			if !strings.ContainsAny(k, `" `) {
				r.keys = append(r.keys, k)
			}
		}
		r.flags, r.env = quoted(cells[2]), quoted(cells[3])
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		t.Fatal("no table of settings in README.md's Configuration section")
	}
	keys, flags, envs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range settings() {
		keys[s.key], flags["-"+s.flag], envs[s.env] = true, true, true
		i := slices.IndexFunc(rows, func(r row) bool { return slices.Contains(r.keys, s.key) })
		if i < 0 {
			t.Errorf("README.md: no row for %s", s.key)
			continue
		}
		if s.flag != "" && !slices.Contains(rows[i].flags, "-"+s.flag) {
			t.Errorf("README.md: the row of %s does not name -%s", s.key, s.flag)
		}
		if s.env != "" && !slices.Contains(rows[i].env, s.env) {
			t.Errorf("README.md: the row of %s does not name %s", s.key, s.env)
		}
	}
	for _, r := range rows {
		for _, k := range r.keys {
			if !keys[k] {
				t.Errorf("README.md names a setting %s that is not in the table", k)
			}
		}
		for _, f := range r.flags {
			if strings.HasPrefix(f, "-") && !flags[f] {
				t.Errorf("README.md names a flag %s that is not in the table", f)
			}
		}
		for _, e := range r.env {
			if strings.HasPrefix(e, "TELECART_") && !envs[e] {
				t.Errorf("README.md names a variable %s that is not in the table", e)
			}
		}
	}
}

// The help of each command shows its flags and variables, and not another
// command's.
func TestHelp(t *testing.T) {
	for name, cmd := range commands {
		var out bytes.Buffer
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(&out)
		NewFlags(fs, cmd).PrintDefaults()
		help := out.String()
		if !strings.Contains(help, "  -config file\n") {
			t.Errorf("%s: no -config in\n%s", name, help)
		}
		for _, s := range settings() {
			shown := strings.Contains(help, "  -"+s.flag+" ") || strings.Contains(help, "  -"+s.flag+"\n")
			if s.flag == "" {
				shown = strings.Contains(help, "  "+s.env+"\n")
			}
			if got := shown && strings.Contains(help, s.env); got != (s.cmds&cmd != 0) {
				t.Errorf("%s: shows %s: %v, want %v, in\n%s", name, s.key, got, !got, help)
			}
		}
	}
	// A bool takes no value, a duration says so, a default is shown.
	var out bytes.Buffer
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(&out)
	NewFlags(fs, Worker).PrintDefaults()
	for _, want := range []string{
		"  -ice-loopback\n",
		"  -room-linger duration\n    \thow long a room lives on after its last player left (TELECART_ROOM_LINGER) (default 30s)\n",
		"  -capacity int\n",
		`(TELECART_CODEC) (default "vp8")`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}

func TestBoolFlagWithoutValue(t *testing.T) {
	c, err := load(t, Worker, nil, "-ice-loopback", "-s3-insecure")
	if err != nil {
		t.Fatal(err)
	}
	if !c.ICELoopback || !c.S3.Insecure {
		t.Errorf("ice_loopback %v, s3.insecure %v; want both true", c.ICELoopback, c.S3.Insecure)
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"listen without port", func(c *Config) { c.Listen = "localhost" }},
		{"coordinator not a websocket", func(c *Config) { c.Coordinator = "http://x/worker" }},
		{"negative capacity", func(c *Config) { c.Capacity = -1 }},
		{"bad codec", func(c *Config) { c.Codec = "mpeg2" }},
		{"bad frame phase", func(c *Config) { c.FramePhase = "vsync" }},
		{"bad public IP", func(c *Config) { c.PublicIPs = []string{"my.host"} }},
		{"bad UDP port", func(c *Config) { c.UDPPort = 70000 }},
		{"no linger", func(c *Config) { c.RoomLinger = 0 }},
		{"max_spectators 0", func(c *Config) { c.MaxSpectators = 0 }},
		{"runner_pool below 0", func(c *Config) { c.RunnerPool = -1 }},
		{"runner_pool over the capacity", func(c *Config) { c.Capacity, c.RunnerPool = 2, 3 }},
		{"an upload budget under one file", func(c *Config) { c.UploadBudget = 31 }},
		{"ping on every address, no ping URL", func(c *Config) { c.PingListen = "0.0.0.0:7000" }},
		{"ping on every address (no host), no ping URL", func(c *Config) { c.PingListen = ":7000" }},
		{"ping URL not http", func(c *Config) { c.PingListen, c.PingURL = "127.0.0.1:7000", "ftp://w/ping" }},
		{"certificate without key", func(c *Config) { c.TLSCert = "cert.pem" }},
		{"key without certificate", func(c *Config) { c.TLSKey = "key.pem" }},
		{"files and ACME", func(c *Config) {
			c.TLSCert, c.TLSKey, c.ACMEDomains = "cert.pem", "key.pem", []string{"play.example.org"}
		}},
		{"ACME for an address", func(c *Config) { c.ACMEDomains = []string{"192.0.2.7"} }},
		{"ACME for a name with a port", func(c *Config) { c.ACMEDomains = []string{"play.example.org:443"} }},
		{"ACME for a URL", func(c *Config) { c.ACMEDomains = []string{"https://play.example.org"} }},
		{"ACME for a name of one label", func(c *Config) { c.ACMEDomains = []string{"localhost"} }},
		{"ACME without a cache", func(c *Config) { c.ACMEDomains, c.ACMECache = []string{"play.example.org"}, "" }},
		{"ACME CA not a URL", func(c *Config) { c.ACMEDomains, c.ACMECA = []string{"play.example.org"}, "letsencrypt" }},
		{"ACME email not an address", func(c *Config) { c.ACMEDomains, c.ACMEEmail = []string{"play.example.org"}, "me" }},
		{"ACME HTTP without a port", func(c *Config) { c.ACMEDomains, c.ACMEHTTPListen = []string{"play.example.org"}, "0.0.0.0" }},
		{"ACME HTTP without ACME", func(c *Config) { c.ACMEHTTPListen = ":80" }},
		{"TURN URL without its secret", func(c *Config) { c.TURNURLs = []string{"turn:turn.example.org:3478"} }},
		{"TURN secret without URLs", func(c *Config) { c.TURNSecret = "s" }},
		{"TURN URL a STUN one", func(c *Config) { c.TURNURLs, c.TURNSecret = []string{"stun:turn.example.org:3478"}, "s" }},
		{"TURN URL an http one", func(c *Config) { c.TURNURLs, c.TURNSecret = []string{"https://turn.example.org/"}, "s" }},
		{"TURN URL without a host", func(c *Config) { c.TURNURLs, c.TURNSecret = []string{"turn:"}, "s" }},
		{"TURN URL with another transport", func(c *Config) { c.TURNURLs, c.TURNSecret = []string{"turn:t.example.org:3478?transport=sctp"}, "s" }},
		{"TURN TTL zero", func(c *Config) { c.TURNTTL = 0 }},
		{"TURN TTL negative", func(c *Config) { c.TURNTTL = Duration(-time.Hour) }},
		{"TURN TTL a month", func(c *Config) { c.TURNTTL = Duration(30 * 24 * time.Hour) }},
		{"a limit below 0", func(c *Config) { c.Limits.Joins = -1 }},
		{"sockets in all below 0", func(c *Config) { c.Limits.Browsers = -1 }},
		{"a trusted proxy not an address", func(c *Config) { c.TrustedProxies = []string{"proxy.example.org"} }},
		{"a trusted proxy's CIDR amiss", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }},
		{"a short worker secret", func(c *Config) { c.WorkerSecret = []string{"change-me"} }},
		{"a short old worker secret", func(c *Config) { c.WorkerSecret = []string{"a-long-enough-secret-0123", "old"} }},
		{"a worker id a header cannot carry", func(c *Config) { c.WorkerID = "eu 1" }},
		{"a short metrics token", func(c *Config) { c.MetricsToken = "metrics" }},
		{"metrics_listen without a port", func(c *Config) { c.MetricsListen = "127.0.0.1" }},
		{"run-ahead of 4 frames", func(c *Config) { c.RunAheadFrames = map[string]int{"nes": 4} }},
		{"run-ahead below 0", func(c *Config) { c.RunAheadFrames = map[string]int{"x.nes": -1} }},
		{"run-ahead for no name", func(c *Config) { c.RunAheadFrames = map[string]int{"": 1} }},
	}
	for _, tt := range tests {
		c := Default()
		tt.change(&c)
		if err := c.Validate(Serve); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
	// A worker's certificate is its ping listener's; a CA for its
	// coordinator's certificate wants TLS on the link.
	for _, tt := range []struct {
		name   string
		change func(*Config)
		say    string
	}{
		{"TLS without a ping listener", func(c *Config) { c.TLSCert, c.TLSKey = "cert.pem", "key.pem" }, "set ping_listen"},
		{"ACME without a ping listener", func(c *Config) { c.ACMEDomains = []string{"w1.example.org"} }, "set ping_listen"},
		{"a coordinator CA for ws://", func(c *Config) { c.CoordinatorCA = "ca.pem" }, "dial wss://127.0.0.1:8000/worker"},
		{"a credential and its file", func(c *Config) { c.WorkerToken, c.WorkerTokenFile = credential(t, "eu-1"), "worker.token" }, "exclusive"},
		{"a credential that is none", func(c *Config) { c.WorkerToken = "change-me" }, "not a worker credential"},
		{"another worker's credential", func(c *Config) { c.WorkerID, c.WorkerToken = "eu-2", credential(t, "eu-1") },
			`worker_token is worker "eu-1"'s credential, and worker_id is "eu-2"`},
	} {
		c := Default()
		tt.change(&c)
		if err := c.Validate(Worker); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.say) {
			t.Errorf("worker, %s: %v, want ErrInvalid saying %q", tt.name, err, tt.say)
		}
	}
	for _, tt := range []struct {
		name   string
		cmd    Command
		change func(*Config)
	}{
		{"coordinator with files", Coordinator, func(c *Config) { c.TLSCert, c.TLSKey = "cert.pem", "key.pem" }},
		{"serve with ACME", Serve, func(c *Config) { c.ACMEDomains = []string{"play.example.org", "www.example.org"} }},
		{"coordinator with ACME over HTTP", Coordinator, func(c *Config) { c.ACMEDomains, c.ACMEHTTPListen = []string{"play.example.org"}, ":80" }},
		{"worker with ACME on its ping listener", Worker, func(c *Config) {
			c.ACMEDomains, c.PingListen, c.ACMEEmail = []string{"w1.example.org"}, "0.0.0.0:443", "ops@example.org"
			c.PingURL = "https://w1.example.org/ping"
		}},
		{"worker with a CA for wss://", Worker, func(c *Config) { c.CoordinatorCA, c.Coordinator = "ca.pem", "wss://c.example.org/worker" }},
		{"coordinator with no limits, behind proxies", Coordinator, func(c *Config) {
			c.Limits = Limits{}
			c.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8", " fd00::/8", "::ffff:192.0.2.0/120"}
		}},
		{"coordinator during a rotation", Coordinator, func(c *Config) {
			c.WorkerSecret = []string{"the-new-secret-0123456789", "the-old-secret-0123456789"}
		}},
		{"worker with its credential and id", Worker, func(c *Config) { c.WorkerID, c.WorkerToken = "eu-1", credential(t, "eu-1") }},
		{"worker with its credential's file", Worker, func(c *Config) { c.WorkerTokenFile = "/etc/telecart/worker.token" }},
		{"metrics on a private address, and a token", Serve, func(c *Config) {
			c.MetricsListen, c.MetricsToken = "10.0.0.7:9100", "a-long-metrics-token-0123"
		}},
	} {
		c := Default()
		tt.change(&c)
		if err := c.Validate(tt.cmd); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}

	// A coordinator does not care for a worker's settings, nor a worker
	// for a coordinator's.
	c := Default()
	c.Capacity, c.Overload = -1, 0
	if err := c.Validate(Coordinator); err == nil || strings.Contains(err.Error(), "capacity") {
		t.Errorf("coordinator: %v, want only the overload", err)
	}
	if err := c.Validate(Worker); err == nil || strings.Contains(err.Error(), "overload") {
		t.Errorf("worker: %v, want only the capacity", err)
	}
}

// credential is worker id's credential, of some secret: a worker's
// settings cannot tell which.
func credential(t *testing.T, id signal.WorkerID) string {
	t.Helper()
	cred, err := workerauth.Credential("config-test-secret-0123", id)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestFileErrors(t *testing.T) {
	for name, content := range map[string]string{
		"misspelt":  `{"capacty": 2}`,
		"broken":    `{"capacity": `,
		"wrongtype": `{"capacity": "two"}`,
	} {
		if _, err := load(t, Serve, nil, "-config", writeFile(t, content)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := load(t, Serve, nil, "-config", filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A variable that does not parse is an error that names it; so is a flag.
func TestEnvAndFlagErrors(t *testing.T) {
	for _, tc := range []struct{ env, value string }{
		{"TELECART_CAPACITY", "many"},
		{"TELECART_OVERLOAD", "high"},
		{"TELECART_ROOM_LINGER", "2 minutes"},
		{"TELECART_ICE_LOOPBACK", "yes please"},
		{"TELECART_CORE_OPTIONS", "overscan"},
		{"TELECART_RUNAHEAD_FRAMES", "nes"},
		{"TELECART_RUNAHEAD_FRAMES", "nes=one"},
	} {
		_, err := load(t, Serve, map[string]string{tc.env: tc.value})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.env+"=") {
			t.Errorf("%s=%s: %v, want ErrInvalid naming the variable", tc.env, tc.value, err)
		}
	}
	_, err := load(t, Serve, nil, "-capacity", "many")
	if err == nil || !strings.Contains(err.Error(), "-capacity") || !strings.Contains(err.Error(), "want a whole number") {
		t.Errorf("-capacity many: %v", err)
	}
}

// trusted_proxies as prefixes: an address is one of its own, a CIDR is
// masked, and IPv4 in IPv6 is IPv4, as clients' addresses are.
func TestProxyPrefixes(t *testing.T) {
	c := Config{TrustedProxies: []string{"127.0.0.1", "10.1.2.3/8", "fd00::1", "::ffff:192.0.2.0/120"}}
	got, err := c.ProxyPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1/32", "10.0.0.0/8", "fd00::1/128", "192.0.2.0/24"}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%q: %v, want %s", c.TrustedProxies[i], got[i], want[i])
		}
	}
}

// TURN's settings, as the README's example writes them, are valid, for
// the coordinator: a worker does not care for them.
func TestTURNValid(t *testing.T) {
	c, err := load(t, Coordinator, map[string]string{"TELECART_TURN_SECRET": "s3cret"},
		"-turn-url", "turn:turn.example.org:3478?transport=udp,turn:turn.example.org:3478?transport=tcp,turns:turn.example.org:5349", "-turn-ttl", "2h")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(Coordinator); err != nil {
		t.Fatal(err)
	}
	if len(c.TURNURLs) != 3 || c.TURNSecret != "s3cret" || c.TURNTTL != Duration(2*time.Hour) {
		t.Errorf("turn_urls %q, turn_secret %q, turn_ttl %v", c.TURNURLs, c.TURNSecret, c.TURNTTL)
	}
	c.TURNSecret = ""
	if err := c.Validate(Worker); err != nil {
		t.Errorf("a worker minds the TURN settings: %v", err)
	}
}

// The sample in the repository must stay loadable and valid.
func TestExampleFile(t *testing.T) {
	c := Default()
	if err := c.LoadFile("../../telecart.example.json"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(Serve); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownVariables(t *testing.T) {
	environ := []string{
		"TELECART_LISTEN=0.0.0.0:8000",
		"TELECART_LISTN=0.0.0.0:8000", // misspelt
		"TELECART_STUN=stun:stun.example.org",
		"TELECART_WORKER_SECRET",
		"HOME=/root",
		"TELECARTS=1",
	}
	got := UnknownVariables(environ)
	if want := []string{"TELECART_LISTN"}; !slices.Equal(got, want) {
		t.Errorf("UnknownVariables = %q, want %q", got, want)
	}
}

// The container image and the compose file configure Telecart by its
// variables alone: each TELECART_* they set is a setting's (or the log
// level's), so a renamed setting cannot leave them setting nothing.
func TestDeployVariables(t *testing.T) {
	variable := regexp.MustCompile(`TELECART_[A-Z0-9_]+`)
	for _, file := range []string{"../../Containerfile", "../../deploy/compose.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		found := variable.FindAllString(string(data), -1)
		if len(found) == 0 {
			t.Errorf("%s sets no TELECART_* variable", file)
		}
		if unknown := UnknownVariables(found); len(unknown) > 0 {
			t.Errorf("%s sets %q, which are no setting's variables", file, unknown)
		}
	}
}

// The sandbox is on unless turned off, and off means every layer.
func TestSandboxSetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want sandbox.Layers
	}{
		{"default", nil, nil, 0},
		{"variable", map[string]string{"TELECART_SANDBOX": "false"}, nil, sandbox.All},
		{"flag", nil, []string{"-sandbox=false"}, sandbox.All},
		{"flag over variable", map[string]string{"TELECART_SANDBOX": "false"}, []string{"-sandbox"}, 0},
	} {
		c, err := load(t, Worker, tc.env, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.RunnerConfig().Unsandboxed; got != tc.want {
			t.Errorf("%s: layers left out %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRunAheadSetting checks each game's run-ahead: the system's default,
// a system's and a game's own from runahead_frames, the game's winning,
// and none at all with runahead off.
func TestRunAheadSetting(t *testing.T) {
	nes, gba := cores.Systems()[0], cores.Systems()[3]
	if nes.ID != "nes" || gba.ID != "gba" {
		t.Fatalf("systems %s and %s", nes.ID, gba.ID)
	}
	frames := map[string]string{"TELECART_RUNAHEAD_FRAMES": "gba=1,Alwa.nes=2,nes=0"}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		system cores.System
		game   string
		want   int
	}{
		{"NES by default", nil, nil, nes, "/games/x.nes", 1},
		{"GBA by default", nil, nil, gba, "/games/x.gba", 0},
		{"a system's own", frames, nil, gba, "/games/x.gba", 1},
		{"a system's own, to 0", frames, nil, nes, "/games/x.nes", 0},
		{"a game's own over its system's", frames, nil, nes, "/games/Alwa.nes", 2},
		{"off", frames, []string{"-runahead=false"}, nes, "/games/Alwa.nes", 0},
	} {
		c, err := load(t, Worker, tc.env, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.RunAheadPolicy().For(tc.system, tc.game); got != tc.want {
			t.Errorf("%s: %d frames, want %d", tc.name, got, tc.want)
		}
	}
	c := Default()
	c.RunAheadFrames = map[string]int{"nes": 5}
	if err := c.Validate(Worker); err == nil || !strings.Contains(err.Error(), "runahead_frames") || !strings.Contains(err.Error(), "want 0 to 3") {
		t.Errorf("nes=5: %v, want an error naming runahead_frames and the range", err)
	}
}

// runahead_frames as text: what Set takes, String gives back the same.
func FuzzFramesValue(f *testing.F) {
	for _, s := range []string{"", "nes=1", "nes=1,gba=0", "Alwa's Awakening (Demo).nes=2", "nes", "nes=", "=1", "nes=1,,gba=2", "nes=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v framesValue
		if err := v.Set(s); err != nil {
			return
		}
		var again framesValue
		if err := again.Set(v.String()); err != nil {
			t.Fatalf("%q: its String %q is refused: %v", s, v.String(), err)
		}
		if !reflect.DeepEqual(map[string]int(v), map[string]int(again)) {
			t.Errorf("%q: %v, then %v", s, v, again)
		}
	})
}

package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	if err := Default().Validate("coordinator", "worker"); err != nil {
		t.Fatal(err)
	}
}

// Each layer overrides the one before: file, then environment, then flags.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "telecart.json")
	if err := os.WriteFile(file, []byte(`{"listen": "127.0.0.1:9000", "capacity": 2, "zone": "file", "codec": "h264", "room_linger": "1m"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Default()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TELECART_ZONE": "env", "TELECART_CAPACITY": "3", "TELECART_GAMES": "/a:/b", "TELECART_ROOM_LINGER": "2m"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.Flags(fs, "coordinator", "worker")
	if err := fs.Parse([]string{"-capacity", "5", "-room-linger", "5s"}); err != nil {
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
	if err := c.Validate("coordinator", "worker"); err != nil {
		t.Fatal(err)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"listen without port", func(c *Config) { c.Listen = "localhost" }},
		{"coordinator not a websocket", func(c *Config) { c.Coordinator = "http://x/worker" }},
		{"zero capacity", func(c *Config) { c.Capacity = 0 }},
		{"bad codec", func(c *Config) { c.Codec = "mpeg2" }},
		{"bad public IP", func(c *Config) { c.PublicIPs = []string{"my.host"} }},
		{"bad UDP port", func(c *Config) { c.UDPPort = 70000 }},
		{"no linger", func(c *Config) { c.RoomLinger = 0 }},
		{"ping on every address, no ping URL", func(c *Config) { c.PingListen = "0.0.0.0:7000" }},
		{"ping on every address (no host), no ping URL", func(c *Config) { c.PingListen = ":7000" }},
		{"ping URL not http", func(c *Config) { c.PingListen, c.PingURL = "127.0.0.1:7000", "ftp://w/ping" }},
	}
	for _, tt := range tests {
		c := Default()
		tt.change(&c)
		if err := c.Validate("coordinator", "worker"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"misspelt.json":  `{"capacty": 2}`,
		"broken.json":    `{"capacity": `,
		"wrongtype.json": `{"capacity": "two"}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		c := Default()
		if err := c.LoadFile(path); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	c := Default()
	if err := c.LoadFile(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := c.ApplyEnv(func(k string) string {
		if k == "TELECART_CAPACITY" {
			return "many"
		}
		return ""
	}); !errors.Is(err, ErrInvalid) {
		t.Errorf("TELECART_CAPACITY=many: %v, want ErrInvalid", err)
	}
}

// The sample in the repository must stay loadable and valid.
func TestExampleFile(t *testing.T) {
	t.Parallel()
	c := Default()
	if err := c.LoadFile("../../telecart.example.json"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate("coordinator", "worker"); err != nil {
		t.Fatal(err)
	}
}

package deploy_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/config"
)

// units are the systemd units, with the command each one runs and its
// example settings file.
var units = []struct {
	file, env string
	cmd       config.Command
}{
	{"systemd/telecart-coordinator.service", "systemd/coordinator.env", config.Coordinator},
	{"systemd/telecart-worker.service", "systemd/worker.env", config.Worker},
}

// TestUnitSettings starts each unit's command, in the eyes of the settings,
// with the unit's Environment= lines and its example settings file: every
// variable must be a setting, and together they must be valid.
func TestUnitSettings(t *testing.T) {
	for _, u := range units {
		t.Run(filepath.Base(u.file), func(t *testing.T) {
			environ := append(unitEnvironment(t, u.file), envFile(t, u.env)...)
			if unknown := config.UnknownVariables(environ); len(unknown) > 0 {
				t.Errorf("variables that are no setting: %q", unknown)
			}
			vars := map[string]string{}
			for _, kv := range environ {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
			cfg := config.Default()
			if err := cfg.ApplyEnv(func(k string) string { return vars[k] }); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(u.cmd); err != nil {
				t.Errorf("the unit's settings are not valid: %v", err)
			}
		})
	}
}

// TestUnitsVerifyAndHarden has systemd check each unit as it would load it,
// and rate its sandbox: an exposure above 2.0 on systemd's scale of 0
// (locked down) to 10 means a hardening option was lost.
func TestUnitsVerifyAndHarden(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze (Debian's systemd package): scripts/setup installs it")
	}
	// verify wants the program to exist: any executable will do.
	exe, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		t.Run(filepath.Base(u.file), func(t *testing.T) {
			data, err := os.ReadFile(u.file)
			if err != nil {
				t.Fatal(err)
			}
			unit := filepath.Join(t.TempDir(), filepath.Base(u.file))
			text := strings.ReplaceAll(string(data), "/usr/local/bin/telecart", exe)
			if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(analyze, "verify", unit)
			cmd.Dir = t.TempDir()
			if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
			cmd = exec.Command(analyze, "security", "--offline=true", "--threshold=20", "--no-pager", unit)
			cmd.Dir = t.TempDir()
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				t.Errorf("the unit's exposure is above 2.0:\n%s", out)
			} else if err != nil {
				t.Fatalf("systemd-analyze security: %v\n%s", err, out)
			}
		})
	}
}

// unitEnvironment is the unit's Environment= settings, as KEY=value.
func unitEnvironment(t *testing.T, path string) []string {
	t.Helper()
	var environ []string
	for _, line := range lines(t, path) {
		if v, ok := strings.CutPrefix(line, "Environment="); ok {
			environ = append(environ, v)
		}
	}
	if len(environ) == 0 {
		t.Fatalf("%s sets no Environment=", path)
	}
	return environ
}

// envFile is an EnvironmentFile's settings, as KEY=value: comments and
// blank lines left out, as systemd does.
func envFile(t *testing.T, path string) []string {
	t.Helper()
	var environ []string
	for _, line := range lines(t, path) {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "=") {
			t.Fatalf("%s: %q is not KEY=value", path, line)
		}
		environ = append(environ, line)
	}
	return environ
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, strings.TrimSpace(s.Text()))
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

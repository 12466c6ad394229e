package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// play starts runners as "<this executable> runner", so the test binary
// must answer that like telecart does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "runner" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestPlayPrintsLiveStatistics(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"play", "-duration", "2500ms"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "playing telecart-test.nes with Nestopia: 256x224") {
		t.Errorf("no start line:\n%s", out)
	}
	stats := regexp.MustCompile(`(?m)^\s*(\d+\.\d) fps .* encode \d+\.\d\d/\d+\.\d\d .* cpu\s+\d+\.\d%$`).FindAllStringSubmatch(out, -1)
	if len(stats) < 2 {
		t.Fatalf("want a statistics line a second, got:\n%s", out)
	}
	if fps, _ := strconv.ParseFloat(stats[len(stats)-1][1], 64); fps < 55 || fps > 65 {
		t.Errorf("last line says %.1f fps", fps)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"play", "-nosuchflag"}, 2, "flag provided but not defined"},
		{[]string{"play", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"play", "-game", "notes.txt"}, 1, "no system plays this file type"},
		{[]string{"play", "-codec", "mpeg2"}, 1, `video codec "mpeg2"`},
		{[]string{"help"}, 0, ""},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.say) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", tt.args, code, stderr.String(), tt.code, tt.say)
		}
	}
}

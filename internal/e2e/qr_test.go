package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
)

// zbarimg is the path of zbar's scanner, or a skip: unless
// TELECART_ZBAR_REQUIRE=1 (scripts/test sets it, and installs zbar-tools)
// makes its absence a failure.
func zbarimg(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("zbarimg")
	if err == nil {
		return path
	}
	const msg = "no zbarimg on the PATH (Debian's zbar-tools; scripts/test installs it)"
	if os.Getenv("TELECART_ZBAR_REQUIRE") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// scanned is what zbar's scanner reads in a screenshot of the page, and
// false when it finds no code there.
func scanned(t *testing.T, scanner string, p *browsertest.Page) (string, bool) {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "page.png")
	if err := p.Screenshot(shot); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), scanner, "--raw", "-q", shot).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 4 {
		return "", false
	}
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSuffix(string(out), "\n"), true
}

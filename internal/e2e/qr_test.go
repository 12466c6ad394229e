package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
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

// showQR draws text's QR code with the page's own view (js/view/qr.js)
// over the app's page, on a dark background and scaled to a width that is
// no whole number of pixels a module, as a TV's page may, and returns
// its accessible name and role.
const showQR = `(async (text, width) => {
	const { qrElement } = await import('/js/view/qr.js');
	document.getElementById('qr-test')?.remove();
	document.body.style.background = '#111';
	const svg = qrElement(text, { label: 'Scan to play with your phone' });
	svg.id = 'qr-test';
	svg.setAttribute('width', String(width));
	svg.setAttribute('height', String(width));
	svg.style.position = 'fixed';
	svg.style.left = '40px';
	svg.style.top = '40px';
	svg.style.zIndex = '100000';
	document.body.append(svg);
	await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
	return { label: svg.getAttribute('aria-label'), role: svg.getAttribute('role'), paths: svg.querySelectorAll('path').length };
})`

// TestQRCodeScans has zbar's scanner read the QR codes the page draws
// (the controller link among them) from a screenshot of Chromium showing
// them under the app's Content-Security-Policy: the view, its colours,
// its quiet zone and the browser's scaling, as a phone's camera would
// meet them on a TV.
func TestQRCodeScans(t *testing.T) {
	scanner := zbarimg(t)
	base := serve(t)
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	cases := []struct {
		text  string
		width int
	}{
		{base + "/r/Xk3vQ9pL/pad", 333},
		{"Télécart — ゲーム 🎮 " + base + "/r/ÉTÉ/pad", 400},
		{base + "/r/" + strings.Repeat("a1B2c3D4e5", 17) + "/pad", 560},
	}
	for i, c := range cases {
		arg, err := json.Marshal(c.text)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Label string `json:"label"`
			Role  string `json:"role"`
			Paths int    `json:"paths"`
		}
		if err := p.Eval(fmt.Sprintf("%s(%s, %d)", showQR, arg, c.width), &got); err != nil {
			t.Fatalf("%v\nconsole:\n%s", err, strings.Join(p.Console(), "\n"))
		}
		if got.Label != "Scan to play with your phone" || got.Role != "img" || got.Paths != 1 {
			t.Errorf("the svg: %+v, want role img, its label and one path", got)
		}
		shot := filepath.Join(t.TempDir(), fmt.Sprintf("qr%d.png", i))
		if err := p.Screenshot(shot); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), scanner, "--raw", "-q", shot).Output()
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 4 {
			t.Errorf("case %d: zbarimg found no code in the screenshot (%d bytes of text, %d px)", i, len(c.text), c.width)
			continue
		}
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		if read := strings.TrimSuffix(string(out), "\n"); read != c.text {
			t.Errorf("zbarimg read %q, want %q", read, c.text)
		}
	}
}

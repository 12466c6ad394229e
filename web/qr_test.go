package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// qrCase is one code the page's encoder (js/model/qr.js) makes in the
// test: its text, and the mask and least version asked for (0 for the
// encoder's own choice).
type qrCase struct {
	Text       string `json:"text"`
	Mask       int    `json:"mask"`
	MinVersion int    `json:"minVersion"`
}

// qrCode is what the encoder made of a qrCase.
type qrCode struct {
	Version int      `json:"version"`
	Mask    int      `json:"mask"`
	Modules [][]bool `json:"modules"`
}

// encodeScript runs js/model/qr.js on the cases read from stdin, and
// prints the codes as JSON. An option of 0 is left to the encoder.
const encodeScript = `
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const { qrMatrix } = await import(pathToFileURL(process.cwd() + '/js/model/qr.js'));
const cases = JSON.parse(readFileSync(0, 'utf8'));
const codes = cases.map((c) => {
  const options = {};
  if (c.mask > 0) options.mask = c.mask - 1;
  if (c.minVersion > 0) options.minVersion = c.minVersion;
  return qrMatrix(c.text, options);
});
process.stdout.write(JSON.stringify(codes));
`

// tool is the path of a program the test needs, or a skip: unless
// TELECART_ZBAR_REQUIRE=1 (scripts/test sets it, and installs zbar-tools)
// makes its absence a failure.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("no %s on the PATH (Debian's %s; scripts/test installs it)", name, pkg)
	if os.Getenv("TELECART_ZBAR_REQUIRE") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// encode runs the page's encoder in Node on the cases.
func encode(t *testing.T, cases []qrCase) []qrCode {
	t.Helper()
	node := tool(t, "node", "nodejs")
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "--input-type=module", "-e", encodeScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var codes []qrCode
	if err := json.Unmarshal(out, &codes); err != nil {
		t.Fatalf("node's output: %v", err)
	}
	if len(codes) != len(cases) {
		t.Fatalf("node made %d codes of %d cases", len(codes), len(cases))
	}
	return codes
}

// drawPNG writes modules as a PNG, scale pixels to a module, with a
// quiet zone of four modules: as a screen shows it.
func drawPNG(path string, modules [][]bool, scale int) error {
	const quiet = 4
	side := (len(modules) + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range modules {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray((x+quiet)*scale+dx, (y+quiet)*scale+dy, color.Gray{})
				}
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

// scan is what zbarimg reads in the picture at path.
func scan(t *testing.T, zbarimg, path string) (string, error) {
	cmd := exec.CommandContext(t.Context(), zbarimg, "--raw", "-q", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 4 {
			return "", errors.New("zbarimg found no code")
		}
		return "", fmt.Errorf("zbarimg: %w\n%s", err, stderr.String())
	}
	// zbarimg ends each code it prints with a newline.
	return strings.TrimSuffix(string(out), "\n"), nil
}

// TestQRScans has a real scanner, zbar's, read back the codes the page's
// encoder makes: every mask, versions with and without version
// information, the controller link, UTF-8 beyond ASCII, the longest
// link the page is likely to show.
func TestQRScans(t *testing.T) {
	zbarimg := tool(t, "zbarimg", "zbar-tools")
	link := "https://telecart.example.com/r/Xk3vQ9pL/pad"
	cases := []qrCase{
		{Text: "A"},
		{Text: link},
		{Text: "https://play.telecart.example.org:8443/r/AbCdEfGh12345678/pad?seat=2"},
		{Text: "Télécart — ゲーム 🎮 /r/ÉTÉ/pad"},
		{Text: "https://telecart.example.com/r/" + strings.Repeat("a1B2c3D4e5", 17) + "/pad"},
		{Text: link, MinVersion: 7},
		{Text: link, MinVersion: 15},
	}
	for mask := range 8 {
		cases = append(cases, qrCase{Text: link, Mask: mask + 1})
	}
	codes := encode(t, cases)
	dir := t.TempDir()
	for i, c := range cases {
		code := codes[i]
		name := fmt.Sprintf("%d: version %d mask %d, %d bytes", i, code.Version, code.Mask, len(c.Text))
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("%d.png", i))
			if err := drawPNG(path, code.Modules, 4); err != nil {
				t.Fatal(err)
			}
			got, err := scan(t, zbarimg, path)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Text {
				t.Errorf("zbarimg read %q, want %q", got, c.Text)
			}
		})
	}
}

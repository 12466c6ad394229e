package e2e

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// The tests of this file look at the games' pictures in the list: art
// beside a ROM, and a frame captured from a game the first time it is
// played.

// pictureShown waits until the list's row of game id shows its picture,
// loaded (naturalWidth > 0), within limits times waittest.Limit, and returns the picture's natural
// width.
func pictureShown(t *testing.T, p *browsertest.Page, id string, limits time.Duration) int {
	t.Helper()
	sel, _ := json.Marshal(`li.game[data-game=` + strconv.Quote(id) + `] img.game-picture`)
	js := `(() => { const img = document.querySelector(` + string(sel) + `); return img !== null && img.complete && img.naturalWidth > 0; })()`
	if err := p.WaitFor(js, limits*waittest.Limit); err != nil {
		fail(t, p, "no picture of %s in the list: %v", id, err)
	}
	var width int
	if err := p.Eval(`document.querySelector(`+string(sel)+`).naturalWidth`, &width); err != nil {
		t.Fatal(err)
	}
	return width
}

// TestArtBeside lists a game whose art lies beside its ROM: its row shows
// the picture, served by the coordinator from the worker; a game without
// shows its tile.
func TestArtBeside(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"Art Test (World).nes": testrom.ROM(), "Art Test (World).png": b.Bytes(), "No Art.nes": testrom.ROM()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := serve(t, "-games", dir)
	p := browsertest.Start(t).NewPage(t, base+"/")
	if w := pictureShown(t, p, "nes:Art Test (World).nes", 1); w != 64 {
		t.Errorf("the picture is %d pixels wide, want the art's 64", w)
	}
	var none bool
	if err := p.Eval(`document.querySelector('li.game[data-game="nes:No Art.nes"] .game-art') !== null && document.querySelector('li.game[data-game="nes:No Art.nes"] img') === null`, &none); err != nil || !none {
		t.Errorf("the game without art has a picture, or no tile: %v", err)
	}
	if v := p.TakeCSPViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
}

// TestCapturedPictureInList plays a game without art once; a new page's
// list then shows a picture of it, captured a few seconds into the game:
// the test ROM's fill, its mark and player 2's boxes.
func TestCapturedPictureInList(t *testing.T) {
	base := serve(t)
	b := browsertest.Start(t)
	player := b.NewPage(t, base+"/")
	var pictures int
	if err := player.Eval(`document.querySelectorAll('img.game-picture').length`, &pictures); err != nil || pictures != 0 {
		t.Fatalf("pictures before any game was played: %d, %v", pictures, err)
	}
	startGame(t, player, "nes:telecart-test.nes")
	waitColour(t, player, testrom.FillColor())
	// The picture is taken 5 s into the game.
	later := b.NewPage(t, base+"/")
	if w := pictureShown(t, later, "nes:telecart-test.nes", 3); w != 256 {
		t.Errorf("the captured picture is %d pixels wide, want the NES's 256", w)
	}
	screenshot(t, later, "screenshot-list-pictures.png")
}

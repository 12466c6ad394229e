package cli

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/storage"
)

// tinyPNG is a picture of 2 by 2 pixels.
func tinyPNG(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGames lists a games folder as a worker would offer it, and every
// file it leaves out, with why, and where each game's picture comes from.
func TestGames(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"Super_Game.nes":   "rom",
		"gba/Quest.gba":    "rom",
		"notes.txt":        "text",
		"Empty.nes":        "",
		".hidden/Ours.nes": "rom",
		"Super_Game.png":   tinyPNG(t),
		"thumbnails/Nintendo - Game Boy Advance/Named_Titles/Quest.png": tinyPNG(t),
		"Lone.nes":   "rom",
		"Played.nes": "rom",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A worker captured a picture of Played.nes into the saves' storage.
	savesDir := t.TempDir()
	store, err := storage.Local(savesDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := saves.New(store).PutPicture(context.Background(), "nes:Played.nes", []byte(tinyPNG(t))); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"games", "-games", dir, "-saves", savesDir}, &stdout, &stderr); code != 0 {
		t.Fatalf("games: exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"4 games in " + dir + ":",
		"nes     Super Game  " + filepath.Join(dir, "Super_Game.nes"),
		"gba     Quest       " + filepath.Join(dir, "gba/Quest.gba"),
		"beside: Super_Game.png",
		"thumbnails: " + filepath.Join(dir, "thumbnails/Nintendo - Game Boy Advance/Named_Titles/Quest.png"),
		"none (captured when first played)",
		filepath.Join(dir, "Played.nes") + "      captured",
		"3 files left out:",
		filepath.Join(dir, ".hidden") + ": hidden: its name starts with a dot",
		filepath.Join(dir, "Empty.nes") + ": the file is empty",
		filepath.Join(dir, "notes.txt") + ": no system plays this file type",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

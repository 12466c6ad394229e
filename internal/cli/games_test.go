package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGames lists a games folder as a worker would offer it, and every
// file it leaves out, with why.
func TestGames(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"Super_Game.nes":   "rom",
		"gba/Quest.gba":    "rom",
		"notes.txt":        "text",
		"Empty.nes":        "",
		".hidden/Ours.nes": "rom",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"games", "-games", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("games: exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"2 games in " + dir + ":",
		"nes     Super Game  " + filepath.Join(dir, "Super_Game.nes"),
		"gba     Quest       " + filepath.Join(dir, "gba/Quest.gba"),
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

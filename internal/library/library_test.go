package library

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/telecart/telecart/internal/signal"
)

func TestScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"Super_Game.nes":              "rom",
		"gba/Quest.gba":               "rom",
		"gba/nested/deeper/Puzzle.gb": "rom",
		"notes.txt":                   "text",
		".hidden/Secret.nes":          "rom",
		"other/Super_Game.nes":        "a second file of the same name",
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	builtin := Game{GameInfo: signal.GameInfo{ID: "nes:telecart-test.nes", Title: "Telecart Test ROM", System: "nes"}, Path: "/x/telecart-test.nes"}
	l, err := Scan(slog.New(slog.DiscardHandler), []string{dir, filepath.Join(dir, "missing")}, builtin)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range l.Games() {
		got = append(got, g.ID+" "+g.Title)
	}
	want := []string{"gb:Puzzle.gb Puzzle", "gba:Quest.gba Quest", "nes:Super_Game.nes Super Game", "nes:telecart-test.nes Telecart Test ROM"}
	if len(got) != len(want) {
		t.Fatalf("games %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("games %q, want %q", got, want)
		}
	}
	g, ok := l.Lookup("gba:Quest.gba")
	if !ok || g.Path != filepath.Join(dir, "gba/Quest.gba") {
		t.Fatalf("Lookup = %+v, %v", g, ok)
	}
	for _, id := range []string{"../etc/passwd", "gba:../Quest.gba", "Quest.gba", ""} {
		if _, ok := l.Lookup(id); ok {
			t.Errorf("Lookup(%q) found a game", id)
		}
	}
}

func TestScanErrors(t *testing.T) {
	t.Parallel()
	if _, err := New(Game{GameInfo: signal.GameInfo{ID: "a"}}, Game{GameInfo: signal.GameInfo{ID: "a"}}); err == nil {
		t.Error("New accepted two games with one id")
	}
	dir := t.TempDir()
	for i := range MaxGames + 1 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("game%d.nes", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Scan(slog.New(slog.DiscardHandler), []string{dir}); !errors.Is(err, ErrTooMany) {
		t.Fatalf("scan of %d games: %v, want ErrTooMany", MaxGames+1, err)
	}
}

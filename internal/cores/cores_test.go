package cores

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestForFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want string
		err  error
	}{
		{"games/Alwa.nes", "nes", nil},
		{"UPPER.NES", "nes", nil},
		{"a.sfc", "snes", nil},
		{"b.smc", "snes", nil},
		{"c.gb", "gb", nil},
		{"c.gbc", "gb", nil},
		{"d.gba", "gba", nil},
		{"e.pce", "pce", nil},
		{"notes.txt", "", ErrNoSystem},
		{"noextension", "", ErrNoSystem},
	}
	for _, tt := range tests {
		s, err := ForFile(tt.file)
		if !errors.Is(err, tt.err) || s.ID != tt.want {
			t.Errorf("ForFile(%q) = %q, %v; want %q, %v", tt.file, s.ID, err, tt.want, tt.err)
		}
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	empty, withCore := t.TempDir(), t.TempDir()
	nes, _ := ForFile("x.nes")
	if err := os.WriteFile(filepath.Join(withCore, nes.Core), []byte("elf"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := nes.Find([]string{empty, withCore})
	if err != nil || got != filepath.Join(withCore, nes.Core) {
		t.Fatalf("Find = %q, %v", got, err)
	}
	if _, err := nes.Find([]string{empty}); !errors.Is(err, ErrNoCore) {
		t.Fatalf("Find in an empty dir: %v, want ErrNoCore", err)
	}
}

package room

import (
	"errors"
	"fmt"
	"testing"

	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/signal"
)

// TestBootRefusal: a game whose file is to blame says what is wrong with
// it, in words naming its console, with a code that offers no retry; any
// other failure to start may be retried.
func TestBootRefusal(t *testing.T) {
	gba := signal.GameInfo{ID: "gba:junk.gba", Title: "Junk", System: "gba"}
	fault := func(cause error) error {
		return fmt.Errorf("%w: %w", runner.ErrFailed, fmt.Errorf("%w: details", cause))
	}
	tests := []struct {
		name     string
		err      error
		code     string
		sentence string
	}{
		{"empty", fault(libretro.ErrEmptyGame), signal.CodeBadGame, "This file is empty: it holds no game."},
		{"too large", fault(libretro.ErrGameTooLarge), signal.CodeBadGame, "This file is larger than 64 MiB, more than any game it could be."},
		{"refused", fault(libretro.ErrGameRejected), signal.CodeBadGame, "This file is not a Game Boy Advance game, or it is damaged."},
		{"zipped, too large", fmt.Errorf("%w: big.zip", library.ErrTooLarge), signal.CodeBadGame, "This file is larger than 64 MiB, more than any game it could be."},
		{"zipped, damaged", fmt.Errorf("%w: bad.zip: zip: not a valid zip file", library.ErrUnpack), signal.CodeBadGame, "This game's archive could not be unpacked: it is damaged."},
		{"crashed", runner.ErrCrashed, signal.CodeGameFailed, "The game could not start."},
		{"anything else", errors.New("boom"), signal.CodeGameFailed, "The game could not start."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bootRefusal(tt.err, gba)
			if got.Code != tt.code || got.Message != tt.sentence {
				t.Errorf("%s %q, want %s %q", got.Code, got.Message, tt.code, tt.sentence)
			}
			if got.Game == nil || got.Game.ID != gba.ID {
				t.Errorf("game %v, want %s", got.Game, gba.ID)
			}
		})
	}
}

package room

import (
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/signal"
)

// TestPadsReachTheGame: a pad state goes to the game, at once, from a
// member who holds a controller, and never from one who watches. The
// room numbers every input it sends its runner, so what it sent is known
// the moment input returns.
func TestPadsReachTheGame(t *testing.T) {
	r, err := New(t.Context(), Params{
		ID:     "pads",
		Runner: runnertest.Options(runner.Config{Core: fixturetest.Core(t, "nes"), Game: fixturetest.TestROM(t)}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.start(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.stopGame() })
	for _, tt := range []struct {
		member signal.MemberID
		slot   int
		sent   uint32
	}{
		{"watcher", 0, 0},
		{"player", 1, 1},
		{"player2", 2, 1},
	} {
		if err := join(r, tt.member, tt.slot); err != nil {
			t.Fatal(err)
		}
		before := r.seq.Load()
		if err := r.input(tt.member, pad.State{Buttons: 1 << libretro.ButtonA}); err != nil {
			t.Fatal(err)
		}
		if sent := r.seq.Load() - before; sent != tt.sent {
			t.Errorf("%s in slot %d pressed A: %d inputs sent to the game, want %d", tt.member, tt.slot, sent, tt.sent)
		}
	}
}

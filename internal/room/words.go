package room

import (
	"errors"
	"fmt"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/peer"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// errUpload marks an uploaded file's refusal, which reads differently
// from a load's: the file is the player's, not a save in their slots.
var errUpload = errors.New("room: upload refused")

// errUploadWatching refuses a spectator's upload: a file is a stranger's
// bytes for the worker to keep, and only players may send them.
var errUploadWatching = errors.New("room: spectators cannot upload save files")

// refusal is the one place a room's errors become words a player reads:
// known errors get their sentence and code, and anything else a general
// sentence; the error's own text never reaches a browser (the caller logs
// it).
func refusal(err error) signal.Refused {
	upload := errors.Is(err, errUpload)
	switch {
	case errors.Is(err, errNoSaves), errors.Is(err, peer.ErrNoFiles):
		return signal.Refused{Code: signal.CodeSaveFailed, Message: "This server keeps no saves."}
	case errors.Is(err, errNoPlayer):
		return signal.Refused{Code: signal.CodeNoPlayer, Message: "Your saves need a player id; reload the page."}
	case errors.Is(err, errUploadWatching):
		return signal.Refused{Code: signal.CodeNotPlaying, Message: "Only players can upload a save file: take a controller first."}
	case errors.Is(err, errStarting):
		return signal.Refused{Code: signal.CodeSaveFailed, Message: "The game is still starting; try again in a moment."}
	case errors.Is(err, saves.ErrNoSave):
		return signal.Refused{Code: signal.CodeNoSave, Message: "Nothing is saved in that slot."}
	case errors.Is(err, saves.ErrTooLarge):
		return signal.Refused{Code: signal.CodeBadSave, Message: fmt.Sprintf("That file is too large to be a save: at most %d MiB.", saves.MaxFile>>20)}
	case errors.Is(err, saves.ErrWrongGame) && upload:
		return signal.Refused{Code: signal.CodeBadSave, Message: "That save is of another game or emulator version, and cannot be used here."}
	case errors.Is(err, saves.ErrWrongGame):
		return signal.Refused{Code: signal.CodeBadSave, Message: "That save is of another game or emulator version, and cannot be loaded here."}
	case errors.Is(err, saves.ErrBadSave) && upload:
		return signal.Refused{Code: signal.CodeBadSave, Message: "That file is not a Telecart save, or it is damaged or incomplete."}
	case errors.Is(err, saves.ErrBadSave):
		return signal.Refused{Code: signal.CodeBadSave, Message: "That save is damaged and cannot be loaded."}
	case errors.As(err, new(*runner.RefusedError)) && errors.Is(err, errLoading):
		// The core's own reason ("libretro: core refused the state") is
		// for the log: the player learns that this save will not do, not
		// to try it again.
		return signal.Refused{Code: signal.CodeBadSave, Message: "The game refused that save: it cannot be loaded here."}
	}
	return signal.Refused{Code: signal.CodeSaveFailed, Message: "The game could not be saved or loaded; try again in a moment."}
}

// words is refusal's sentence alone, for the save files channel.
func words(err error) string { return refusal(err).Message }

// JoinRefusal is what a browser is told when Admit refused it: the room
// is full, or has ended.
func JoinRefusal(err error) signal.Error {
	var full *fullError
	switch {
	case errors.As(err, &full) && full.watching >= full.max:
		return signal.Error{Code: signal.CodeRoomFull, Message: fmt.Sprintf("This room is full: %s watching already.", people(full.watching))}
	case errors.As(err, &full):
		return signal.Error{Code: signal.CodeRoomFull, Message: fmt.Sprintf("This room is full: %s in it already.", people(full.members))}
	}
	return signal.Error{Code: signal.CodeRoomEnded, Message: "This room has ended."}
}

// bootRefusal is what a browser is told when a room's game could not
// start (err, its boot's error): what is wrong with the game's file when
// that is the reason, where starting again cannot help, else that it
// could not start.
func bootRefusal(err error, game signal.GameInfo) signal.Error {
	switch {
	case errors.Is(err, libretro.ErrEmptyGame):
		return signal.Error{Code: signal.CodeBadGame, Message: "This file is empty: it holds no game.", Game: &game}
	case errors.Is(err, library.ErrUnpack):
		return signal.Error{Code: signal.CodeBadGame, Message: "This game's archive could not be unpacked: it is damaged.", Game: &game}
	case errors.Is(err, libretro.ErrGameTooLarge), errors.Is(err, library.ErrTooLarge):
		return signal.Error{Code: signal.CodeBadGame, Message: fmt.Sprintf("This file is larger than %d MiB, more than any game it could be.", libretro.MaxGameSize>>20), Game: &game}
	case errors.Is(err, libretro.ErrGameRejected):
		system := "a game for this console"
		for _, s := range cores.Systems() {
			if s.ID == game.System {
				system = "a " + s.Name + " game"
			}
		}
		return signal.Error{Code: signal.CodeBadGame, Message: fmt.Sprintf("This file is not %s, or it is damaged.", system), Game: &game}
	}
	return signal.Error{Code: signal.CodeGameFailed, Message: "The game could not start.", Game: &game}
}

// people counts people: "1 person is", "50 people are".
func people(n int) string {
	if n == 1 {
		return "1 person is"
	}
	return fmt.Sprintf("%d people are", n)
}

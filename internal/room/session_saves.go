package room

import (
	"context"
	"fmt"

	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// A session's saves: its player's, of the room's game. Every storage call
// takes the session's context, so a session that ends stops waiting on
// storage, bounded besides by saveTimeout.

// sendSaves sends the player their saves of the room's game; saved names
// the slot just saved, 0 for none.
func (s *Session) sendSaves(ctx context.Context, saved int) {
	if s.player == "" || s.room.p.Saves == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	list, err := s.room.savesList(ctx, s.player)
	if err != nil {
		s.log.Warn("room: listing saves", "err", err)
		msg := "Your saves could not be listed; try again in a moment."
		if saved != 0 {
			msg = fmt.Sprintf("Saved to slot %d, but your saves could not be listed.", saved)
		}
		s.send(signal.Refused{Code: signal.CodeSaveFailed, Message: msg})
		return
	}
	list.Saved = saved
	s.send(list)
}

func (s *Session) saveGame(ctx context.Context, slot int) {
	if s.player == "" {
		s.send(signal.Refused{Code: signal.CodeNoPlayer, Message: "Saving needs a player id; reload the page."})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	if err := s.room.save(ctx, s.player, slot); err != nil {
		s.log.Warn("room: save", "slot", slot, "err", err)
		s.send(refusal(err))
		return
	}
	s.log.Info("room: saved", "slot", slot)
	s.sendSaves(ctx, slot)
}

// loadGame loads one of the player's saves for the whole room, and tells
// everyone in it: the game jumps for all of them.
func (s *Session) loadGame(ctx context.Context, slot int) {
	switch {
	case s.player == "":
		s.send(signal.Refused{Code: signal.CodeNoPlayer, Message: "Loading needs a player id; reload the page."})
		return
	case !s.room.holdsSlot(s.member):
		s.send(signal.Refused{Code: signal.CodeNotPlaying, Message: "Only players can load a save: take a controller first."})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	sv, err := s.room.load(ctx, s.player, slot)
	if err != nil {
		s.log.Warn("room: load", "slot", slot, "err", err)
		s.send(refusal(err))
		return
	}
	s.log.Info("room: loaded", "slot", slot)
	s.room.broadcast(signal.Loaded{Save: saveInfo(sv), By: s.member})
}

// resetGame restarts the room's game for everyone, as its console's reset
// button does; like a load, it needs a controller.
func (s *Session) resetGame(ctx context.Context) {
	if !s.room.holdsSlot(s.member) {
		s.send(signal.Refused{Code: signal.CodeNotPlaying, Message: "Only players can restart the game: take a controller first."})
		return
	}
	p := s.room.running()
	if p == nil {
		s.send(refusal(errStarting))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	if err := p.Reset(ctx); err != nil {
		s.log.Warn("room: reset", "err", err)
		s.send(signal.Refused{Code: signal.CodeInternal, Message: "The game could not be restarted; try again in a moment."})
		return
	}
	s.log.Info("room: reset")
	s.room.broadcast(signal.WasReset{By: s.member})
}

// Export is the player's save in a slot of the room's game, as a file
// (for the "saves" data channel): the session is its peer's FileStore.
func (s *Session) Export(ctx context.Context, slot int) ([]byte, error) {
	g, err := s.filesGame()
	if err != nil {
		return nil, err
	}
	return s.room.p.Saves.Export(ctx, s.player, g, slot)
}

// MayImport says whether the player may upload a save file now, before a
// byte of it is kept: where saves are kept, once the game runs, and only
// while holding a controller.
func (s *Session) MayImport(int) error {
	if _, err := s.filesGame(); err != nil {
		return err
	}
	if !s.room.holdsSlot(s.member) {
		return errUploadWatching
	}
	return nil
}

// Import puts a save file into one of the player's slots of the room's
// game, and sends the player their saves.
func (s *Session) Import(ctx context.Context, slot int, file []byte) error {
	g, err := s.filesGame()
	if err != nil {
		return err
	}
	if _, err := s.room.p.Saves.Import(ctx, s.player, g, slot, file); err != nil {
		return fmt.Errorf("%w: %w", errUpload, err)
	}
	s.sendSaves(ctx, 0)
	return nil
}

// filesGame is the room's game for the player's save files: known once the
// game runs, for a player with an id, where saves are kept.
func (s *Session) filesGame() (saves.Game, error) {
	switch {
	case s.room.p.Saves == nil:
		return saves.Game{}, errNoSaves
	case s.player == "":
		return saves.Game{}, errNoPlayer
	}
	select {
	case <-s.room.booted:
		if s.room.bootErr != nil {
			return saves.Game{}, s.room.bootErr
		}
		return s.room.savesGame(), nil
	default:
		return saves.Game{}, errStarting
	}
}

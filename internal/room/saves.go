package room

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"time"

	"github.com/telecart/telecart/internal/picture"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// saveTimeout bounds one save or load, storage included.
const saveTimeout = 10 * time.Second

// savesGame is the room's game as saves know it: the game and the core
// that runs it. Valid once the game runs.
func (r *Room) savesGame() saves.Game {
	g := r.ready()
	return saves.Game{ID: r.game.ID, Core: g.Core + " " + g.CoreVersion}
}

// save stores the game as it is now in a player's slot.
func (r *Room) save(ctx context.Context, player signal.PlayerID, slot int) error {
	store := r.p.Saves
	if store == nil {
		return errNoSaves
	}
	state, err := r.saveState(ctx)
	if err != nil {
		return err
	}
	sram, err := r.SRAM(ctx)
	if err != nil {
		return err
	}
	sv := saves.Save{Game: r.savesGame(), Slot: slot, Time: time.Now(), State: state, SRAM: sram}
	if pic, err := r.picture(ctx); err == nil {
		sv.Thumbnail = thumbnail(pic)
	} else {
		r.log.Warn("room: no picture for the save", "err", err) // the save matters more
	}
	if err := store.Put(ctx, player, sv); err != nil {
		return err
	}
	// The battery save is the owner's: theirs to find when they start the
	// game again, whoever saved.
	if player == r.owner && len(sram) > 0 {
		return store.PutSRAM(ctx, player, r.game.ID, sram)
	}
	return nil
}

var (
	errNoSaves  = errors.New("room: this server keeps no saves")
	errNoPlayer = errors.New("room: no player id")
	errStarting = errors.New("room: the game is still starting")
	errLoading  = errors.New("room: load")
)

// load puts a player's save into the room's game.
func (r *Room) load(ctx context.Context, player signal.PlayerID, slot int) (saves.Save, error) {
	store := r.p.Saves
	if store == nil {
		return saves.Save{}, errNoSaves
	}
	sv, err := store.Get(ctx, player, r.savesGame(), slot)
	if err != nil {
		return saves.Save{}, err
	}
	if err := r.loadState(ctx, sv.State); err != nil {
		return saves.Save{}, fmt.Errorf("%w: %w", errLoading, err)
	}
	return sv, nil
}

// autosave saves for the room's owner into the autosave slot, when there
// is an owner and a running game. The last one is made as the room ends,
// its context over: it must outlive that, bounded by saveTimeout.
func (r *Room) autosave() {
	if r.owner == "" || r.p.Saves == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), saveTimeout)
	defer cancel()
	if err := r.save(ctx, r.owner, saves.AutoSlot); err != nil {
		r.log.Warn("room: autosave", "err", err)
		return
	}
	r.log.Info("room: autosaved")
}

// ownerSRAM is the battery save the game starts with: the owner's, from
// when they last played it.
func (r *Room) ownerSRAM() []byte {
	if r.owner == "" || r.p.Saves == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, saveTimeout)
	defer cancel()
	sram, err := r.p.Saves.SRAM(ctx, r.owner, r.game.ID)
	if err != nil {
		// The game starts without it rather than not at all; the
		// player's battery save stays in storage, untouched.
		r.log.Error("room: reading the battery save", "err", err)
		return nil
	}
	return sram
}

// savesList is a player's saves of the room's game, for the page.
func (r *Room) savesList(ctx context.Context, player signal.PlayerID) (signal.Saves, error) {
	list, err := r.p.Saves.List(ctx, player, r.game.ID)
	if err != nil {
		return signal.Saves{}, err
	}
	out := signal.Saves{Saves: make([]signal.SaveInfo, 0, len(list))}
	for _, sv := range list {
		out.Saves = append(out.Saves, saveInfo(sv))
	}
	return out, nil
}

func saveInfo(sv saves.Save) signal.SaveInfo {
	info := signal.SaveInfo{Slot: sv.Slot, Time: sv.Time.UnixMilli()}
	if len(sv.Thumbnail) > 0 {
		info.Thumbnail = "data:image/png;base64," + base64.StdEncoding.EncodeToString(sv.Thumbnail)
	}
	return info
}

// thumbnailWidth is the widest a save's picture is kept: small enough
// that a list of saves is a small message, big enough to recognise.
const thumbnailWidth = 160

// takePicture is the game's picture for the list, or nil when it has
// none to give yet: the runner did not answer in time, or the screen is
// all one colour (a boot, a fade).
func (r *Room) takePicture() *image.RGBA {
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	pic, err := r.picture(ctx)
	if err != nil {
		r.log.Debug("room: no picture of the game", "err", err)
		return nil
	}
	if picture.Uniform(pic) {
		return nil
	}
	return pic
}

// thumbnail makes a save's picture: at most thumbnailWidth wide, as PNG.
func thumbnail(pic *image.RGBA) []byte {
	return picture.EncodePNG(picture.Shrink(pic, thumbnailWidth))
}

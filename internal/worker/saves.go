package worker

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"time"

	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// DefaultAutosave is how often a room saves for the player who started it.
const DefaultAutosave = 5 * time.Minute

// saveTimeout bounds one save or load, storage included.
const saveTimeout = 10 * time.Second

// savesGame is the room's game as saves know it: the game and the core
// that runs it. Valid once the game runs.
func (h *hosted) savesGame() saves.Game {
	g := h.room.Game()
	return saves.Game{ID: h.game.ID, Core: g.Core + " " + g.CoreVersion}
}

// save stores the game as it is now in a player's slot.
func (h *hosted) save(ctx context.Context, player signal.PlayerID, slot int) error {
	store := h.w.cfg.Saves
	if store == nil {
		return errNoSaves
	}
	state, err := h.room.SaveState(ctx)
	if err != nil {
		return err
	}
	sram, err := h.room.SRAM(ctx)
	if err != nil {
		return err
	}
	sv := saves.Save{Game: h.savesGame(), Slot: slot, Time: time.Now(), State: state, SRAM: sram}
	if pic, err := h.room.Picture(ctx); err == nil {
		sv.Thumbnail = thumbnail(pic)
	} else {
		h.log.Warn("worker: no picture for the save", "err", err) // the save matters more
	}
	if err := store.Put(ctx, player, sv); err != nil {
		return err
	}
	// The battery save is the owner's: theirs to find when they start the
	// game again, whoever saved.
	if player == h.owner && len(sram) > 0 {
		return store.PutSRAM(ctx, player, h.game.ID, sram)
	}
	return nil
}

var (
	errNoSaves  = errors.New("worker: this server keeps no saves")
	errNoPlayer = errors.New("worker: no player id")
	errStarting = errors.New("worker: the game is still starting")
)

// load puts a player's save into the room's game.
func (h *hosted) load(ctx context.Context, player signal.PlayerID, slot int) (saves.Save, error) {
	store := h.w.cfg.Saves
	if store == nil {
		return saves.Save{}, errNoSaves
	}
	sv, err := store.Get(ctx, player, h.savesGame(), slot)
	if err != nil {
		return saves.Save{}, err
	}
	return sv, h.room.LoadState(ctx, sv.State)
}

// autosave saves for the room's owner into the autosave slot, when there
// is an owner and a running game.
func (h *hosted) autosave() {
	if h.owner == "" || h.w.cfg.Saves == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	if err := h.save(ctx, h.owner, saves.AutoSlot); err != nil {
		h.log.Warn("worker: autosave", "err", err)
		return
	}
	h.log.Info("worker: autosaved")
}

// ownerSRAM is the battery save the game starts with: the owner's, from
// when they last played it.
func (h *hosted) ownerSRAM() []byte {
	if h.owner == "" || h.w.cfg.Saves == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(h.ctx, saveTimeout)
	defer cancel()
	sram, err := h.w.cfg.Saves.SRAM(ctx, h.owner, h.game.ID)
	if err != nil {
		// The game starts without it rather than not at all; the
		// player's battery save stays in storage, untouched.
		h.log.Error("worker: reading the battery save", "err", err)
		return nil
	}
	return sram
}

// savesList is a player's saves of the room's game, for the page.
func (h *hosted) savesList(ctx context.Context, player signal.PlayerID) (signal.Saves, error) {
	list, err := h.w.cfg.Saves.List(ctx, player, h.game.ID)
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

// refusal says why a save or a load failed, in words for the player.
func refusal(err error) signal.Refused {
	switch {
	case errors.Is(err, errNoSaves):
		return signal.Refused{Code: signal.CodeSaveFailed, Message: "This server keeps no saves."}
	case errors.Is(err, errNoPlayer):
		return signal.Refused{Code: signal.CodeNoPlayer, Message: "Your saves need a player id; reload the page."}
	case errors.Is(err, errStarting):
		return signal.Refused{Code: signal.CodeSaveFailed, Message: "The game is still starting; try again in a moment."}
	case errors.Is(err, saves.ErrNoSave):
		return signal.Refused{Code: signal.CodeNoSave, Message: "Nothing is saved in that slot."}
	case errors.Is(err, saves.ErrWrongGame):
		return signal.Refused{Code: signal.CodeBadSave, Message: "That save is of another game or emulator version, and cannot be loaded here."}
	case errors.Is(err, saves.ErrBadSave):
		return signal.Refused{Code: signal.CodeBadSave, Message: "That save is damaged and cannot be loaded."}
	}
	return signal.Refused{Code: signal.CodeSaveFailed, Message: fmt.Sprintf("The game could not be saved or loaded (%v).", err)}
}

// thumbnailWidth is the widest a save's picture is kept: small enough
// that a list of saves is a small message, big enough to recognise.
const thumbnailWidth = 160

// thumbnail makes a save's picture: halved (each pixel the mean of four)
// until it is at most thumbnailWidth wide, as PNG.
func thumbnail(pic *image.RGBA) []byte {
	for pic.Rect.Dx() > thumbnailWidth && pic.Rect.Dy() >= 2 {
		pic = halve(pic)
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, pic); err != nil {
		return nil // an in-memory RGBA always encodes
	}
	return buf.Bytes()
}

func halve(src *image.RGBA) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			for c := range 4 {
				sum := 0
				for _, p := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
					sum += int(src.Pix[(2*y+p[1])*src.Stride+(2*x+p[0])*4+c])
				}
				dst.Pix[y*dst.Stride+x*4+c] = uint8(sum / 4)
			}
		}
	}
	return dst
}

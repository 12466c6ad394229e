package signal

import (
	"errors"
	"fmt"
	"strings"
)

// The messages of a player's saves, between browser and worker.

// A player id is made by the browser and kept in its storage: random,
// URL-safe, 16 to 64 characters. It names whose saves are whose.
const (
	minPlayer = 16
	maxPlayer = 64
)

// CheckPlayer refuses a player id of the wrong length or characters.
func CheckPlayer(id PlayerID, required bool) error {
	if id == "" && !required {
		return nil
	}
	if len(id) < minPlayer || len(id) > maxPlayer {
		return fmt.Errorf("%w: player id of %d characters, want %d to %d", errField, len(id), minPlayer, maxPlayer)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%w: player id has %q", errField, r)
		}
	}
	return nil
}

// SaveSlots is how many slots a player has for each game, besides the
// autosave (slot 0).
const SaveSlots = 4

func checkSaveSlot(slot int, auto bool) error {
	low := 1
	if auto {
		low = 0
	}
	if slot < low || slot > SaveSlots {
		return fmt.Errorf("%w: save slot %d, want %d to %d", errField, slot, low, SaveSlots)
	}
	return nil
}

// Save saves the game into one of the player's slots, 1 to SaveSlots.
type Save struct {
	Slot int `json:"slot"`
}

func (Save) Type() Type        { return TypeSave }
func (s Save) validate() error { return checkSaveSlot(s.Slot, false) }

// Load loads one of the player's saves into the room: slot 0 is the
// autosave.
type Load struct {
	Slot int `json:"slot"`
}

func (Load) Type() Type        { return TypeLoad }
func (l Load) validate() error { return checkSaveSlot(l.Slot, true) }

// Reset restarts the room's game, as its console's reset button does: it
// needs a controller, as a load does.
type Reset struct{}

func (Reset) Type() Type      { return TypeReset }
func (Reset) validate() error { return nil }

// WasReset tells the room that a member restarted its game.
type WasReset struct {
	By MemberID `json:"by"`
}

func (WasReset) Type() Type        { return TypeWasReset }
func (r WasReset) validate() error { return checkID("by", r.By, true) }

// SaveInfo describes one save.
type SaveInfo struct {
	Slot int `json:"slot"` // 0 the autosave, else 1 to SaveSlots
	// Time is when it was made, in Unix milliseconds.
	Time int64 `json:"time"`
	// Thumbnail is the picture at that moment, as a data: URL (PNG).
	Thumbnail string `json:"thumbnail,omitempty"`
}

// maxThumbnail bounds one thumbnail's data URL.
const maxThumbnail = 256 << 10

func (s SaveInfo) validate() error {
	if len(s.Thumbnail) > maxThumbnail || (s.Thumbnail != "" && !strings.HasPrefix(s.Thumbnail, "data:image/png;base64,")) {
		return fmt.Errorf("%w: thumbnail is not a PNG data URL of at most %d bytes", errField, maxThumbnail)
	}
	if s.Time < 0 {
		return fmt.Errorf("%w: save time %d", errField, s.Time)
	}
	return checkSaveSlot(s.Slot, true)
}

// Saves lists the player's saves of the room's game, newest first: sent
// when the game starts for them and after each change. Saved is the slot
// a save went to, when the list answers one.
type Saves struct {
	Saves []SaveInfo `json:"saves"`
	Saved int        `json:"saved,omitempty"`
}

func (Saves) Type() Type { return TypeSaves }
func (s Saves) validate() error {
	if len(s.Saves) > SaveSlots+1 {
		return fmt.Errorf("%w: %d saves", errField, len(s.Saves))
	}
	errs := []error{checkSaveSlot(s.Saved, true)}
	for _, i := range s.Saves {
		errs = append(errs, i.validate())
	}
	return errors.Join(errs...)
}

// Loaded tells a room that a save was loaded into it, and by whom.
type Loaded struct {
	Save SaveInfo `json:"save"`
	By   MemberID `json:"by"`
}

func (Loaded) Type() Type { return TypeLoaded }
func (l Loaded) validate() error {
	return errors.Join(l.Save.validate(), checkID("by", l.By, true))
}

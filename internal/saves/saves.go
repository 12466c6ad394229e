// Package saves keeps each player's saves of each game in storage every
// worker shares: save states in slots, each with the picture and the time
// it was made, the room's autosave, and the game's battery save (SRAM).
//
// A save names the game and the core that made it, and is refused when
// loaded into another: a state of one game or emulator is garbage to the
// next, and a core handed garbage may crash or, worse, play on broken.
package saves

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/storage"
)

var (
	ErrNoSave    = errors.New("saves: nothing saved there")
	ErrWrongGame = errors.New("saves: the save is of another game or core")
	ErrBadSave   = errors.New("saves: damaged save")
	ErrBadSlot   = errors.New("saves: no such slot")
	ErrTooLarge  = errors.New("saves: file too large")
)

// Slots are 0, the autosave, and 1 to signal.SaveSlots.
const AutoSlot = 0

// Game is what a save belongs to: a game of the library, played by a core.
type Game struct {
	ID   string // a library.Game ID
	Core string // the core's name and version, "Nestopia 1.52"
}

// Save is one saved moment of a game.
type Save struct {
	Game  Game
	Slot  int
	Time  time.Time
	State []byte
	// SRAM is the battery save at that moment, if the game has one.
	SRAM []byte
	// Thumbnail is the picture at that moment, PNG.
	Thumbnail []byte
}

// Store keeps saves in a storage.Store.
type Store struct {
	s *storage.Store
}

// New keeps saves in s.
func New(s *storage.Store) *Store { return &Store{s: s} }

// String says where the saves are.
func (st *Store) String() string { return st.s.String() }

// dir is the folder of one player's saves of one game. Game ids may hold
// any characters; their hash names the folder.
func dir(player signal.PlayerID, game string) (string, error) {
	if err := signal.CheckPlayer(player, true); err != nil {
		return "", fmt.Errorf("saves: %w", err)
	}
	sum := sha256.Sum256([]byte(game))
	return "players/" + string(player) + "/" + hex.EncodeToString(sum[:16]) + "/", nil
}

func slotKey(player signal.PlayerID, game string, slot int) (string, error) {
	if slot < AutoSlot || slot > signal.SaveSlots {
		return "", fmt.Errorf("%w: %d", ErrBadSlot, slot)
	}
	d, err := dir(player, game)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%sslot-%d", d, slot), nil
}

// Put stores a save in its slot, replacing the one there.
func (st *Store) Put(ctx context.Context, player signal.PlayerID, sv Save) error {
	key, err := slotKey(player, sv.Game.ID, sv.Slot)
	if err != nil {
		return err
	}
	return st.s.Put(ctx, key, encode(sv))
}

// Get returns a save of this game made by this core, or ErrNoSave,
// ErrWrongGame, ErrBadSave.
func (st *Store) Get(ctx context.Context, player signal.PlayerID, g Game, slot int) (Save, error) {
	key, err := slotKey(player, g.ID, slot)
	if err != nil {
		return Save{}, err
	}
	b, err := st.s.Get(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Save{}, fmt.Errorf("%w: slot %d", ErrNoSave, slot)
	case errors.Is(err, storage.ErrCorrupt):
		return Save{}, fmt.Errorf("%w: %w", ErrBadSave, err)
	case err != nil:
		return Save{}, err
	}
	sv, err := decode(b)
	if err != nil {
		return Save{}, err
	}
	if sv.Game != g || sv.Slot != slot {
		return Save{}, fmt.Errorf("%w: slot %d holds a save of %q by %q, this is %q by %q", ErrWrongGame, slot, sv.Game.ID, sv.Game.Core, g.ID, g.Core)
	}
	return sv, nil
}

// List returns the player's saves of a game, newest first, without their
// states. A damaged one is left out, not an error: the others still load.
func (st *Store) List(ctx context.Context, player signal.PlayerID, game string) ([]Save, error) {
	d, err := dir(player, game)
	if err != nil {
		return nil, err
	}
	keys, err := st.s.List(ctx, d+"slot-")
	if err != nil {
		return nil, err
	}
	var list []Save
	for _, key := range keys {
		b, err := st.s.Get(ctx, key)
		if err != nil {
			continue
		}
		sv, err := decode(b)
		if err != nil || sv.Game.ID != game || key != fmt.Sprintf("%sslot-%d", d, sv.Slot) {
			continue
		}
		sv.State, sv.SRAM = nil, nil
		list = append(list, sv)
	}
	slices.SortFunc(list, func(a, b Save) int { return b.Time.Compare(a.Time) })
	return list, nil
}

// SRAM returns the player's battery save of a game, nil when there is none.
func (st *Store) SRAM(ctx context.Context, player signal.PlayerID, game string) ([]byte, error) {
	d, err := dir(player, game)
	if err != nil {
		return nil, err
	}
	b, err := st.s.Get(ctx, d+"sram")
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// PutSRAM stores the player's battery save of a game.
func (st *Store) PutSRAM(ctx context.Context, player signal.PlayerID, game string, sram []byte) error {
	d, err := dir(player, game)
	if err != nil {
		return err
	}
	return st.s.Put(ctx, d+"sram", sram)
}

// A save file is what a player downloads and uploads: fileMagic, the
// SHA-256 of the rest, and the save as stored. The sum tells a damaged or
// cut-short file from a good one before anything reads it.
const fileMagic = "TELECART SAVE 1\n"

// MaxFile bounds a save file: what storage takes, and its own header.
const MaxFile = storage.MaxSize

// File is sv as a file to download.
func File(sv Save) []byte {
	b := encode(sv)
	sum := sha256.Sum256(b)
	return slices.Concat([]byte(fileMagic), sum[:], b)
}

// ParseFile reads a save file: ErrTooLarge past MaxFile, ErrBadSave for
// what is not one, or is damaged or incomplete.
func ParseFile(b []byte) (Save, error) {
	if len(b) > MaxFile {
		return Save{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(b), MaxFile)
	}
	rest, ok := bytes.CutPrefix(b, []byte(fileMagic))
	if !ok {
		return Save{}, fmt.Errorf("%w: not a Telecart save file", ErrBadSave)
	}
	if len(rest) < sha256.Size || sha256.Sum256(rest[sha256.Size:]) != [sha256.Size]byte(rest[:sha256.Size]) {
		return Save{}, fmt.Errorf("%w: the file is damaged or incomplete", ErrBadSave)
	}
	return decode(rest[sha256.Size:])
}

// Export returns the player's save in a slot as a file.
func (st *Store) Export(ctx context.Context, player signal.PlayerID, g Game, slot int) ([]byte, error) {
	sv, err := st.Get(ctx, player, g, slot)
	if err != nil {
		return nil, err
	}
	return File(sv), nil
}

// Import stores a save file in one of the player's slots of game g (not
// the autosave's): the file must be a save of g made by the same core.
func (st *Store) Import(ctx context.Context, player signal.PlayerID, g Game, slot int, file []byte) (Save, error) {
	if slot == AutoSlot {
		return Save{}, fmt.Errorf("%w: the autosave's slot is the room's", ErrBadSlot)
	}
	sv, err := ParseFile(file)
	if err != nil {
		return Save{}, err
	}
	if sv.Game != g {
		return Save{}, fmt.Errorf("%w: the file holds a save of %q by %q, this is %q by %q", ErrWrongGame, sv.Game.ID, sv.Game.Core, g.ID, g.Core)
	}
	sv.Slot = slot
	if err := st.Put(ctx, player, sv); err != nil {
		return Save{}, err
	}
	return sv, nil
}

// A save is a JSON header (its length first, u32 big-endian) and then the
// state, SRAM and thumbnail bytes, whose lengths the header gives.
type header struct {
	V         int    `json:"v"`
	Game      string `json:"game"`
	Core      string `json:"core"`
	Slot      int    `json:"slot"`
	Time      int64  `json:"time"` // Unix milliseconds
	State     int    `json:"state"`
	SRAM      int    `json:"sram"`
	Thumbnail int    `json:"thumbnail"`
}

const maxHeader = 4 << 10

func encode(sv Save) []byte {
	h, _ := json.Marshal(header{
		V: 1, Game: sv.Game.ID, Core: sv.Game.Core, Slot: sv.Slot, Time: sv.Time.UnixMilli(),
		State: len(sv.State), SRAM: len(sv.SRAM), Thumbnail: len(sv.Thumbnail),
	}) // never fails: plain fields
	b := binary.BigEndian.AppendUint32(nil, uint32(len(h)))
	b = append(b, h...)
	b = append(b, sv.State...)
	b = append(b, sv.SRAM...)
	return append(b, sv.Thumbnail...)
}

func decode(b []byte) (Save, error) {
	if len(b) < 4 {
		return Save{}, fmt.Errorf("%w: %d bytes", ErrBadSave, len(b))
	}
	n := int(binary.BigEndian.Uint32(b))
	if n > maxHeader || n > len(b)-4 {
		return Save{}, fmt.Errorf("%w: header of %d bytes in %d", ErrBadSave, n, len(b))
	}
	var h header
	dec := json.NewDecoder(bytes.NewReader(b[4 : 4+n]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return Save{}, fmt.Errorf("%w: header: %w", ErrBadSave, err)
	}
	rest := b[4+n:]
	within := func(v int) bool { return v >= 0 && v <= len(rest) } // and so no sum overflows
	if h.V != 1 || h.State == 0 || !within(h.State) || !within(h.SRAM) || !within(h.Thumbnail) || h.State+h.SRAM+h.Thumbnail != len(rest) {
		return Save{}, fmt.Errorf("%w: version %d, %d+%d+%d bytes of data in %d", ErrBadSave, h.V, h.State, h.SRAM, h.Thumbnail, len(rest))
	}
	return Save{
		Game:      Game{ID: h.Game, Core: h.Core},
		Slot:      h.Slot,
		Time:      time.UnixMilli(h.Time),
		State:     rest[:h.State],
		SRAM:      nilIfEmpty(rest[h.State : h.State+h.SRAM]),
		Thumbnail: nilIfEmpty(rest[h.State+h.SRAM:]),
	}, nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

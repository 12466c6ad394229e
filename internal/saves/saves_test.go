package saves

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/storage"
)

const (
	ann = "ann-0123456789abcdef"
	bob = "bob-0123456789abcdef"
)

var (
	ctx    = context.Background()
	alwa   = Game{ID: "nes:Alwa.nes", Core: "Nestopia 1.52"}
	anguna = Game{ID: "gba:Anguna.gba", Core: "mGBA 0.10.1"}
)

// backends are the kinds of store every test runs against.
var backends = []string{"local", "s3"}

// store opens a fresh store of a kind, in the subtest of that kind: the S3
// one skips where there is no S3 server (and with -short), the local one
// runs all the same.
func store(t *testing.T, kind string) *storage.Store {
	t.Helper()
	var s *storage.Store
	var err error
	switch kind {
	case "local":
		s, err = storage.Local(t.TempDir())
	case "s3":
		s, err = storage.S3(ctx, storage.S3Config{
			Endpoint: fixturetest.S3(t), Bucket: "saves-test",
			AccessKey: fixturetest.S3AccessKey, SecretKey: fixturetest.S3SecretKey, Insecure: true,
		})
	default:
		t.Fatalf("no backend %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func save(g Game, slot int, at time.Time, state string) Save {
	return Save{Game: g, Slot: slot, Time: at, State: []byte(state), SRAM: []byte("sram of " + state), Thumbnail: []byte("png of " + state)}
}

// TestSaves runs through what a player does with saves, on both backends.
func TestSaves(t *testing.T) {
	t.Parallel()
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			st := New(store(t, kind))
			t0 := time.UnixMilli(1_800_000_000_000)
			for _, sv := range []Save{
				save(alwa, 1, t0, "one"),
				save(alwa, 0, t0.Add(time.Minute), "auto"),
				save(alwa, 3, t0.Add(2*time.Minute), "three"),
				save(alwa, 1, t0.Add(3*time.Minute), "one again"), // replaces slot 1
				save(anguna, 1, t0, "another game"),
			} {
				if err := st.Put(ctx, ann, sv); err != nil {
					t.Fatal(err)
				}
			}
			got, err := st.Get(ctx, ann, alwa, 1)
			if err != nil || string(got.State) != "one again" || string(got.SRAM) != "sram of one again" || !got.Time.Equal(t0.Add(3*time.Minute)) {
				t.Fatalf("slot 1: %+v, %v", got, err)
			}
			list, err := st.List(ctx, ann, alwa.ID)
			if err != nil {
				t.Fatal(err)
			}
			var slots []int
			for _, sv := range list {
				slots = append(slots, sv.Slot)
				if sv.State != nil || len(sv.Thumbnail) == 0 {
					t.Errorf("listed slot %d with %d bytes of state and %d of thumbnail", sv.Slot, len(sv.State), len(sv.Thumbnail))
				}
			}
			if want := []int{1, 3, 0}; !slices.Equal(slots, want) {
				t.Errorf("list: slots %v, want newest first %v", slots, want)
			}
			// Saves are each player's own.
			if _, err := st.Get(ctx, bob, alwa, 1); !errors.Is(err, ErrNoSave) {
				t.Errorf("bob's slot 1: %v, want ErrNoSave", err)
			}
			if list, err := st.List(ctx, bob, alwa.ID); err != nil || len(list) != 0 {
				t.Errorf("bob's list: %v, %v", list, err)
			}
			// SRAM.
			if sram, err := st.SRAM(ctx, ann, alwa.ID); err != nil || sram != nil {
				t.Errorf("SRAM before any: %q, %v", sram, err)
			}
			if err := st.PutSRAM(ctx, ann, alwa.ID, []byte("battery")); err != nil {
				t.Fatal(err)
			}
			if sram, err := st.SRAM(ctx, ann, alwa.ID); err != nil || string(sram) != "battery" {
				t.Errorf("SRAM: %q, %v", sram, err)
			}
		})
	}
}

// TestBadSaves checks each way a save can be wrong gives a clear error and
// harms nothing else.
func TestBadSaves(t *testing.T) {
	t.Parallel()
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			s := store(t, kind)
			st := New(s)
			good := save(alwa, 2, time.UnixMilli(1), "good")
			if err := st.Put(ctx, ann, good); err != nil {
				t.Fatal(err)
			}
			key := func(g Game, slot int) string {
				k, err := slotKey(ann, g.ID, slot)
				if err != nil {
					t.Fatal(err)
				}
				return k
			}
			// A save of another game, copied into this game's slot.
			if err := s.Put(ctx, key(alwa, 3), encode(save(anguna, 3, time.UnixMilli(1), "anguna"))); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, ann, alwa, 3); !errors.Is(err, ErrWrongGame) {
				t.Errorf("another game's save: %v, want ErrWrongGame", err)
			}
			// The same game by another core (another version of it, too).
			if _, err := st.Get(ctx, ann, Game{ID: alwa.ID, Core: "Nestopia 1.53"}, 2); !errors.Is(err, ErrWrongGame) {
				t.Errorf("another core: %v, want ErrWrongGame", err)
			}
			// A save in the wrong slot's place.
			if err := s.Put(ctx, key(alwa, 4), encode(save(alwa, 1, time.UnixMilli(1), "moved"))); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, ann, alwa, 4); !errors.Is(err, ErrWrongGame) {
				t.Errorf("a save moved to another slot: %v, want ErrWrongGame", err)
			}
			// Damaged: truncated, garbage, a lying header.
			whole := encode(good)
			for i, b := range [][]byte{whole[:len(whole)-1], []byte("not a save"), {}, append(slices.Clone(whole), 'x')} {
				if err := s.Put(ctx, key(alwa, 1), b); err != nil {
					t.Fatal(err)
				}
				if _, err := st.Get(ctx, ann, alwa, 1); !errors.Is(err, ErrBadSave) {
					t.Errorf("damaged save %d: %v, want ErrBadSave", i, err)
				}
			}
			// Listing leaves the damaged, the foreign and the moved out, and still lists the good.
			list, err := st.List(ctx, ann, alwa.ID)
			if err != nil || len(list) != 1 || list[0].Slot != 2 {
				t.Errorf("list with bad saves: %+v, %v", list, err)
			}
			// Player ids and slots that could reach elsewhere are refused.
			for _, player := range []signal.PlayerID{"", "short", "../../../../etc/passwd-xxxx", "ann/0123456789abcdef", signal.PlayerID(strings.Repeat("p", 65))} {
				if err := st.Put(ctx, player, good); err == nil {
					t.Errorf("Put for player %q succeeded", player)
				}
				if _, err := st.List(ctx, player, alwa.ID); err == nil {
					t.Errorf("List for player %q succeeded", player)
				}
			}
			for _, slot := range []int{-1, 5} {
				if _, err := st.Get(ctx, ann, alwa, slot); !errors.Is(err, ErrBadSlot) {
					t.Errorf("slot %d: %v, want ErrBadSlot", slot, err)
				}
			}
			if got, err := st.Get(ctx, ann, alwa, 2); err != nil || !bytes.Equal(got.State, good.State) {
				t.Errorf("the good save after all that: %+v, %v", got, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(save(alwa, 1, time.UnixMilli(5), "state")))
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		sv, err := decode(b)
		if err != nil {
			return
		}
		if again, err := decode(encode(sv)); err != nil || !bytes.Equal(again.State, sv.State) {
			t.Fatalf("a decoded save does not survive encoding: %v", err)
		}
	})
}

// TestFiles: a save goes out as a file and comes back into another slot
// as it was; every way a file can be wrong is refused with a clear error,
// and harms no save already there.
func TestFiles(t *testing.T) {
	t.Parallel()
	s, err := storage.Local(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := New(s)
	made := time.UnixMilli(1700000000000)
	if err := st.Put(ctx, ann, save(alwa, 1, made, "one")); err != nil {
		t.Fatal(err)
	}
	file, err := st.Export(ctx, ann, alwa, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Onto another device: bob's, slot 3.
	if _, err := st.Import(ctx, bob, alwa, 3, file); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, bob, alwa, 3)
	if err != nil || string(got.State) != "one" || string(got.Thumbnail) != "png of one" || !got.Time.Equal(made) {
		t.Fatalf("the imported save: %+v, %v", got, err)
	}
	if _, err := st.Export(ctx, ann, alwa, 2); !errors.Is(err, ErrNoSave) {
		t.Errorf("exporting an empty slot: %v, want ErrNoSave", err)
	}

	flipped := slices.Clone(file)
	flipped[len(flipped)-3] ^= 1
	for _, tc := range []struct {
		name string
		slot int
		game Game
		file []byte
		want error
	}{
		{"cut short", 2, alwa, file[:len(file)-1], ErrBadSave},
		{"one bit changed", 2, alwa, flipped, ErrBadSave},
		{"the header alone", 2, alwa, file[:len(fileMagic)], ErrBadSave},
		{"not a save file", 2, alwa, []byte("PK\x03\x04 a zip"), ErrBadSave},
		{"empty", 2, alwa, nil, ErrBadSave},
		{"a stored save, not a file", 2, alwa, encode(save(alwa, 1, made, "raw")), ErrBadSave},
		{"another game's", 2, anguna, file, ErrWrongGame},
		{"another core's", 2, Game{ID: alwa.ID, Core: "Nestopia 1.53"}, file, ErrWrongGame},
		{"too large", 2, alwa, make([]byte, MaxFile+1), ErrTooLarge},
		{"into the autosave", AutoSlot, alwa, file, ErrBadSlot},
		{"into no slot", 5, alwa, file, ErrBadSlot},
	} {
		if _, err := st.Import(ctx, bob, tc.game, tc.slot, tc.file); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if list, err := st.List(ctx, bob, alwa.ID); err != nil || len(list) != 1 || list[0].Slot != 3 {
		t.Errorf("bob's saves after the refused files: %+v, %v", list, err)
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add(File(save(alwa, 1, time.UnixMilli(5), "state")))
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		sv, err := ParseFile(b)
		if err != nil {
			return
		}
		if again, err := ParseFile(File(sv)); err != nil || !bytes.Equal(again.State, sv.State) {
			t.Fatalf("a parsed file does not survive writing: %v", err)
		}
	})
}

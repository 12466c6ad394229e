package worker

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/color"
	"image/png"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/storage"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

const (
	ann = "ann-0123456789abcdef"
	bob = "bob-0123456789abcdef"
)

// withSaves gives the cluster's worker a store of saves in a directory.
func withSaves(t *testing.T) (func(*Config), *saves.Store) {
	t.Helper()
	s, err := storage.Local(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := saves.New(s)
	return func(c *Config) { c.Saves = st }, st
}

// TestSaveAndLoad saves into a slot, with the picture as its thumbnail,
// loads it back for the room, and checks who may do what.
func TestSaveAndLoad(t *testing.T) {
	opt, _ := withSaves(t)
	c := newCluster(t, 2, opt)
	a := c.browse(t)
	a.WaitGames()
	started := a.Play(signal.Start{Game: testGame, Player: ann})
	if list := gobrowsertest.Await[signal.Saves](a); len(list.Saves) != 0 {
		t.Fatalf("saves of a new player: %+v", list)
	}
	dec := gobrowsertest.Decoder(t)
	a.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
	// The mark on, as saved; off after the save.
	mark := testrom.MarkBox().Min.Add(testrom.MarkBox().Size().Div(2))
	<-a.Input
	flipMark := func(on bool) {
		a.Press(t, 1<<libretro.ButtonSelect)
		a.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.Select)) // held for a frame at least
		a.Press(t, 0)
		a.WaitColour(t, dec, mark, testrom.MarkColor(on))
	}
	flipMark(true)

	a.Send(signal.Save{Slot: 2})
	list := gobrowsertest.Await[signal.Saves](a)
	if list.Saved != 2 || len(list.Saves) != 1 || list.Saves[0].Slot != 2 || time.Since(time.UnixMilli(list.Saves[0].Time)) > time.Minute {
		t.Fatalf("after saving to slot 2: %+v", list)
	}
	pic, err := png.Decode(base64.NewDecoder(base64.StdEncoding, strings.NewReader(strings.TrimPrefix(list.Saves[0].Thumbnail, "data:image/png;base64,"))))
	if err != nil {
		t.Fatalf("thumbnail: %v", err)
	}
	if b := pic.Bounds(); b.Dx() != 128 || b.Dy() != 112 {
		t.Errorf("thumbnail of %v, want the picture halved, 128x112", b.Size())
	}
	fill := testrom.FillPoint()
	if got := color.RGBAModel.Convert(pic.At(fill.X/2, fill.Y/2)).(color.RGBA); !gobrowsertest.Near(got, testrom.FillColor()) {
		t.Errorf("thumbnail shows %v, want the idle fill %v", got, testrom.FillColor())
	}
	if got := color.RGBAModel.Convert(pic.At(mark.X/2, mark.Y/2)).(color.RGBA); !gobrowsertest.Near(got, testrom.MarkColor(true)) {
		t.Errorf("thumbnail shows the mark %v, want on %v", got, testrom.MarkColor(true))
	}
	flipMark(false)

	// A spectator with saves of their own may save, not load.
	b := c.browse(t)
	b.WaitGames()
	b.Join(signal.Join{Room: started.Room, Player: bob})
	gobrowsertest.Await[signal.Saves](b)
	b.Send(signal.Save{Slot: 1})
	if list := gobrowsertest.Await[signal.Saves](b); list.Saved != 1 || len(list.Saves) != 1 {
		t.Fatalf("the spectator's save: %+v", list)
	}
	b.Send(signal.Load{Slot: 1})
	if r := gobrowsertest.Await[signal.Refused](b); r.Code != signal.CodeNotPlaying {
		t.Errorf("a spectator's load: %+v, want %s", r, signal.CodeNotPlaying)
	}

	// The player loads: the mark is on again, as saved, and everyone in
	// the room hears of it.
	a.Send(signal.Load{Slot: 2})
	a.WaitColour(t, dec, mark, testrom.MarkColor(true))
	for _, who := range []*gobrowsertest.Browser{a, b} {
		if loaded := gobrowsertest.Await[signal.Loaded](who); loaded.Save.Slot != 2 || loaded.By != a.Room().You {
			t.Errorf("loaded: %+v, want slot 2 by %s", loaded, a.Room().You)
		}
	}
	a.Send(signal.Load{Slot: 3})
	if r := gobrowsertest.Await[signal.Refused](a); r.Code != signal.CodeNoSave {
		t.Errorf("loading an empty slot: %+v, want %s", r, signal.CodeNoSave)
	}

	// Without a player id there are no saves to speak of.
	nobody := c.browse(t)
	nobody.WaitGames()
	nobody.Join(signal.Join{Room: started.Room})
	nobody.Send(signal.Save{Slot: 1})
	if r := gobrowsertest.Await[signal.Refused](nobody); r.Code != signal.CodeNoPlayer {
		t.Errorf("saving without a player id: %+v, want %s", r, signal.CodeNoPlayer)
	}
}

// TestAutosaveWhenRoomEnds leaves a room: once it ends, its autosave is
// there for its player, and the next game lists it.
func TestAutosaveWhenRoomEnds(t *testing.T) {
	opt, st := withSaves(t)
	c := newCluster(t, 1, opt)
	a := c.browse(t)
	a.WaitGames()
	a.Play(signal.Start{Game: testGame, Player: ann})
	a.WaitColour(t, gobrowsertest.Decoder(t), testrom.FillPoint(), testrom.FillColor())
	a.Send(signal.Quit{})
	waitRooms(t, c.worker, 0) // after the linger time
	waittest.Eventually(t, "the autosave, written as the room goes", func() error {
		list, err := st.List(t.Context(), ann, testGame)
		if err != nil || len(list) != 1 || list[0].Slot != saves.AutoSlot {
			return fmt.Errorf("saves %+v, %v", list, err)
		}
		return nil
	})
	a.Play(signal.Start{Game: testGame, Player: ann})
	if got := gobrowsertest.Await[signal.Saves](a); len(got.Saves) != 1 || got.Saves[0].Slot != 0 {
		t.Fatalf("the next game's saves: %+v, want the autosave", got)
	}
	a.Send(signal.Load{Slot: 0})
	if l := gobrowsertest.Await[signal.Loaded](a); l.Save.Slot != 0 {
		t.Fatalf("loaded %+v, want the autosave", l)
	}
}

// TestBatterySave gives a player's game its battery save: the room starts
// with the SRAM stored for its starter, and stores it again as it ends.
func TestBatterySave(t *testing.T) {
	rom := fixturetest.SharedROM(t, "gba/anguna.gba")
	const game = "gba:anguna.gba"
	opt, st := withSaves(t)
	c := newCluster(t, 1, opt, func(cfg *Config) {
		lib, err := library.New(library.Game{GameInfo: signal.GameInfo{ID: game, Title: "Anguna", System: "gba"}, Path: rom})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Library, cfg.CoreDirs = lib, []string{filepath.Dir(fixturetest.Core(t, "gba"))}
	})
	sramOf := func(id signal.RoomID) []byte {
		t.Helper()
		sram, err := c.worker.Room(id).SRAM(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return sram
	}
	a := c.browse(t)
	a.WaitGames()
	// The game's own SRAM, to learn its size; then one of the player's.
	fresh := sramOf(a.Play(signal.Start{Game: game}).Room)
	if len(fresh) == 0 {
		t.Skip("the game has no battery save")
	}
	a.Send(signal.Quit{})
	mine := bytes.Repeat([]byte("telecart"), len(fresh)/8+1)[:len(fresh)]
	if err := st.PutSRAM(t.Context(), ann, game, mine); err != nil {
		t.Fatal(err)
	}
	if got := sramOf(a.Play(signal.Start{Game: game, Player: ann}).Room); !bytes.Equal(got, mine) {
		t.Fatalf("the game started with %d bytes of SRAM, not the player's", len(got))
	}
	// Ended, the room stores it again (here unchanged: the game never ran
	// far enough to write it), with the autosave.
	if err := st.PutSRAM(t.Context(), ann, game, nil); err != nil {
		t.Fatal(err)
	}
	a.Send(signal.Quit{})
	waitRooms(t, c.worker, 0)
	waittest.Eventually(t, "the battery save stored as the room ended", func() error {
		if got, err := st.SRAM(t.Context(), ann, game); err != nil || !bytes.Equal(got, mine) {
			return fmt.Errorf("%d bytes stored, %v", len(got), err)
		}
		return nil
	})
}

// TestContinueOnAnotherWorker saves on one worker, stops it, and carries
// on from the save on another: with S3, no worker is special.
func TestContinueOnAnotherWorker(t *testing.T) {
	s3, err := storage.S3(t.Context(), storage.S3Config{
		Endpoint: fixturetest.S3(t), Bucket: "saves", AccessKey: fixturetest.S3AccessKey, SecretKey: fixturetest.S3SecretKey, Insecure: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	shared := func(cfg *Config) { cfg.Saves = saves.New(s3) }
	c := newCluster(t, 1, shared, func(cfg *Config) { cfg.ID = "a" })
	p := c.browse(t)
	p.WaitGames()
	p.Play(signal.Start{Game: testGame, Player: ann})
	gobrowsertest.Await[signal.Saves](p)
	p.Send(signal.Save{Slot: 3})
	if list := gobrowsertest.Await[signal.Saves](p); list.Saved != 3 {
		t.Fatalf("save on a: %+v", list)
	}

	// Worker a goes away; b comes.
	c.stopWorker()
	gobrowsertest.Await[signal.Ended](p)
	b, _ := c.addWorker(t, 1, shared, func(cfg *Config) { cfg.ID = "b" })
	p.WaitGames()
	p.Play(signal.Start{Game: testGame, Player: ann})
	if b.roomCount() != 1 {
		t.Fatal("the game did not start on worker b")
	}
	list := gobrowsertest.Await[signal.Saves](p)
	if len(list.Saves) == 0 || !slices.ContainsFunc(list.Saves, func(s signal.SaveInfo) bool { return s.Slot == 3 }) {
		t.Fatalf("saves on b: %+v, want slot 3 from a", list)
	}
	p.Send(signal.Load{Slot: 3})
	if l := gobrowsertest.Await[signal.Loaded](p); l.Save.Slot != 3 {
		t.Fatalf("loaded %+v on b, want slot 3", l)
	}
}

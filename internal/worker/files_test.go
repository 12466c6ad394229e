package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// fileReply is the worker's control message on the "saves" channel, as
// the page reads it.
type fileReply struct {
	Op      string `json:"op"`
	Slot    int    `json:"slot"`
	Size    int    `json:"size"`
	Message string `json:"message"`
}

// The page's pacing: 16 KiB messages, no more than 1 MiB waiting.
const (
	fileChunk   = 16 << 10
	maxBuffered = 1 << 20
)

// TestSaveFilesOverWebRTC moves a save file of megabytes each way over a
// real peer connection's "saves" channel: more than the worker lets wait
// in the channel at once, so the download goes at the browser's pace.
func TestSaveFilesOverWebRTC(t *testing.T) {
	opt, st := withSaves(t)
	c := newCluster(t, 1, opt)
	a := c.browse(t)
	a.WaitGames()
	a.Play(signal.Start{Game: testGame, Player: ann})
	gobrowsertest.Await[signal.Saves](a) // the game runs
	a.Send(signal.Save{Slot: 1})
	gobrowsertest.Await[signal.Saves](a)
	ctx := context.Background()
	list, err := st.List(ctx, ann, testGame)
	if err != nil || len(list) != 1 {
		t.Fatalf("saves after saving: %+v, %v", list, err)
	}
	// A save as large as a big console's, of this game and core.
	big := saves.Save{Game: list[0].Game, Slot: 2, Time: time.UnixMilli(1700000000000), State: make([]byte, 6<<20)}
	if _, err := rand.Read(big.State); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, ann, big); err != nil {
		t.Fatal(err)
	}
	want, err := st.Export(ctx, ann, big.Game, 2)
	if err != nil {
		t.Fatal(err)
	}

	dc := <-a.Saves
	replies := make(chan fileReply, 8)
	var mu sync.Mutex
	var got []byte
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if !m.IsString {
			mu.Lock()
			got = append(got, m.Data...)
			mu.Unlock()
			return
		}
		var r fileReply
		if err := json.Unmarshal(m.Data, &r); err == nil {
			replies <- r
		}
	})
	await := func(op string) fileReply {
		t.Helper()
		select {
		case r := <-replies:
			if r.Op != op {
				t.Fatalf("got %+v, want %s", r, op)
			}
			return r
		case <-time.After(waittest.Limit):
			t.Fatalf("no %s", op)
		}
		return fileReply{}
	}

	if err := dc.SendText(`{"op":"download","slot":2}`); err != nil {
		t.Fatal(err)
	}
	if r := await("file"); r.Size != len(want) {
		t.Fatalf("announced %d bytes, want %d", r.Size, len(want))
	}
	waittest.Eventually(t, "the whole download", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < len(want) {
			return fmt.Errorf("%d of %d bytes", len(got), len(want))
		}
		return nil
	})
	mu.Lock()
	same := bytes.Equal(got, want)
	mu.Unlock()
	if !same {
		t.Fatal("the downloaded file is not the save's")
	}

	// And back, into slot 3, paced as the page paces it.
	if err := dc.SendText(fmt.Sprintf(`{"op":"upload","slot":3,"size":%d}`, len(want))); err != nil {
		t.Fatal(err)
	}
	for at := 0; at < len(want); at += fileChunk {
		waittest.Eventually(t, "room in the channel", func() error {
			if n := dc.BufferedAmount(); n > maxBuffered {
				return fmt.Errorf("%d bytes waiting", n)
			}
			return nil
		})
		if err := dc.Send(want[at:min(at+fileChunk, len(want))]); err != nil {
			t.Fatal(err)
		}
	}
	await("uploaded")
	up, err := st.Get(ctx, ann, big.Game, 3)
	if err != nil || !bytes.Equal(up.State, big.State) {
		t.Fatalf("slot 3 after the upload: %v, %d bytes of state", err, len(up.State))
	}
}

// savesLine is the test's side of a session's "saves" channel: the
// worker's control messages, in order.
type savesLine struct {
	dc      *webrtc.DataChannel
	replies chan fileReply
}

func openSaves(t *testing.T, b *gobrowsertest.Browser) *savesLine {
	t.Helper()
	var dc *webrtc.DataChannel
	select {
	case dc = <-b.Saves:
	case <-time.After(waittest.Limit):
		t.Fatal("no saves channel")
	}
	l := &savesLine{dc: dc, replies: make(chan fileReply, 8)}
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		var r fileReply
		if m.IsString && json.Unmarshal(m.Data, &r) == nil {
			l.replies <- r
		}
	})
	return l
}

// send sends a control message and bytes, as the page does.
func (l *savesLine) send(t *testing.T, control string, parts ...[]byte) {
	t.Helper()
	if err := l.dc.SendText(control); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		for at := 0; at < len(p); at += fileChunk {
			waittest.Eventually(t, "room in the channel", func() error {
				if n := l.dc.BufferedAmount(); n > maxBuffered {
					return fmt.Errorf("%d bytes waiting", n)
				}
				return nil
			})
			if err := l.dc.Send(p[at:min(at+fileChunk, len(p))]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// await is the worker's next control message.
func (l *savesLine) await(t *testing.T) fileReply {
	t.Helper()
	select {
	case r := <-l.replies:
		return r
	case <-time.After(waittest.Limit):
		t.Fatal("the worker said nothing on the saves channel")
	}
	return fileReply{}
}

// TestUploadLimits: only a player holding a controller may upload, and
// a spectator's file is refused before a byte of it is kept; a player's
// upload waits on disk while it arrives, and goes, with its share of the
// worker's budget, when the player's connection does.
func TestUploadLimits(t *testing.T) {
	opt, _ := withSaves(t)
	dir := t.TempDir()
	c := newCluster(t, 1, opt, func(cfg *Config) { cfg.UploadDir = dir })
	a := c.browse(t)
	a.WaitGames()
	started := a.Play(signal.Start{Game: testGame, Player: ann})
	gobrowsertest.Await[signal.Saves](a) // the game runs
	b := c.browse(t)
	b.WaitGames()
	b.Join(signal.Join{Room: started.Room, Player: bob})
	gobrowsertest.Await[signal.Saves](b)

	// The spectator's upload: refused at once, its bytes thrown away.
	spectator := openSaves(t, b)
	spectator.send(t, `{"op":"upload","slot":1,"size":100000}`, bytes.Repeat([]byte{1}, 100000))
	if r := spectator.await(t); r.Op != "error" || r.Message != "Only players can upload a save file: take a controller first." {
		t.Errorf("the spectator's upload: %+v", r)
	}
	if names := fixturetest.Files(t, dir); len(names) != 0 || c.worker.uploads.InFlight() != 0 {
		t.Errorf("after the spectator's upload: files %v, %d bytes in flight", names, c.worker.uploads.InFlight())
	}
	// Nothing else came of it: the next request is answered as usual.
	spectator.send(t, `{"op":"download","slot":1}`)
	if r := spectator.await(t); r.Op != "error" || r.Message != "Nothing is saved in that slot." {
		t.Errorf("the spectator's download of an empty slot: %+v", r)
	}

	// The player's upload, a part of it sent: on disk, in the budget.
	player := openSaves(t, a)
	const size, part = 1 << 20, 256 << 10
	player.send(t, fmt.Sprintf(`{"op":"upload","slot":2,"size":%d}`, size), make([]byte, part))
	waittest.Eventually(t, "the part on disk", func() error {
		names := fixturetest.Files(t, dir)
		if len(names) != 1 {
			return fmt.Errorf("files %v", names)
		}
		info, err := os.Stat(filepath.Join(dir, names[0]))
		if err != nil || info.Size() != part {
			return fmt.Errorf("%v, %v", info, err)
		}
		return nil
	})
	if n := c.worker.uploads.InFlight(); n != size {
		t.Errorf("%d bytes in flight, want the %d announced", n, size)
	}
	// The player's browser goes: the file goes, the budget is whole.
	a.PC.Close()
	waittest.Eventually(t, "the upload gone with its peer", func() error {
		if names := fixturetest.Files(t, dir); len(names) != 0 {
			return fmt.Errorf("files %v", names)
		}
		if n := c.worker.uploads.InFlight(); n != 0 {
			return fmt.Errorf("%d bytes in flight", n)
		}
		return nil
	})
}

// TestRefusedState uploads a save file that is whole, with the right sum,
// of this game and core, but whose state the core refuses, and loads it:
// the player reads a sentence, and only the log has the core's words.
func TestRefusedState(t *testing.T) {
	opt, st := withSaves(t)
	book := &fixturetest.SyncBuffer{}
	c := newCluster(t, 1, opt, func(cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(book, nil)) })
	a := c.browse(t)
	a.WaitGames()
	a.Play(signal.Start{Game: testGame, Player: ann})
	gobrowsertest.Await[signal.Saves](a)
	a.Send(signal.Save{Slot: 1})
	gobrowsertest.Await[signal.Saves](a)
	list, err := st.List(t.Context(), ann, testGame)
	if err != nil || len(list) != 1 {
		t.Fatalf("saves: %+v, %v", list, err)
	}
	junk := saves.Save{Game: list[0].Game, Slot: 2, Time: time.UnixMilli(1700000000000), State: bytes.Repeat([]byte("not a state "), 100)}
	file := saves.File(junk)

	line := openSaves(t, a)
	line.send(t, fmt.Sprintf(`{"op":"upload","slot":2,"size":%d}`, len(file)), file)
	if r := line.await(t); r.Op != "uploaded" {
		t.Fatalf("the upload: %+v", r)
	}
	gobrowsertest.Await[signal.Saves](a)
	a.Send(signal.Load{Slot: 2})
	r := gobrowsertest.Await[signal.Refused](a)
	if r.Code != signal.CodeBadSave || r.Message != "The game refused that save: it cannot be loaded here." {
		t.Errorf("loading a state the core refuses: %+v", r)
	}
	waittest.Eventually(t, "the core's words in the log", func() error {
		if !strings.Contains(book.String(), "core refused the state") {
			return errors.New("not logged")
		}
		return nil
	})
	// The game plays on: saving still works.
	a.Send(signal.Save{Slot: 3})
	if got := gobrowsertest.Await[signal.Saves](a); got.Saved != 3 {
		t.Errorf("saving after the refused load: %+v", got)
	}
}

package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// fileLine is a data channel that keeps what is sent on it.
type fileLine struct {
	replies []fileReply
	bytes   [][]byte
}

func (l *fileLine) SendText(s string) error {
	var r fileReply
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return err
	}
	l.replies = append(l.replies, r)
	return nil
}

func (l *fileLine) Send(b []byte) error {
	l.bytes = append(l.bytes, bytes.Clone(b))
	return nil
}

func (l *fileLine) BufferedAmount() uint64 { return 0 }

// shelf is a player's saves: slot 1 holds a file, and an upload of
// "foreign" is another game's.
type shelf struct {
	file     []byte
	uploaded map[int]string
}

func (s *shelf) exportSave(_ context.Context, slot int) ([]byte, error) {
	if slot != 1 {
		return nil, fmt.Errorf("%w: slot %d", saves.ErrNoSave, slot)
	}
	return s.file, nil
}

func (s *shelf) importSave(_ context.Context, slot int, file []byte) error {
	if string(file) == "foreign" {
		return saves.ErrWrongGame
	}
	s.uploaded[slot] = string(file)
	return nil
}

// TestSaveFiles runs the "saves" data channel's exchanges, each from a
// fresh channel: what the browser sends, what it gets back, what lands in
// the player's slots.
func TestSaveFiles(t *testing.T) {
	file := bytes.Repeat([]byte("0123456789abcdef"), 2500) // 40000 bytes: three messages
	text := func(s string) webrtc.DataChannelMessage {
		return webrtc.DataChannelMessage{IsString: true, Data: []byte(s)}
	}
	data := func(s string) webrtc.DataChannelMessage { return webrtc.DataChannelMessage{Data: []byte(s)} }
	for _, tc := range []struct {
		name     string
		send     []webrtc.DataChannelMessage
		replies  string // the ops and messages, in order
		uploaded map[int]string
	}{
		{"download", []webrtc.DataChannelMessage{text(`{"op":"download","slot":1}`)}, "file", nil},
		{"download an empty slot", []webrtc.DataChannelMessage{text(`{"op":"download","slot":2}`)}, "error: Nothing is saved in that slot.", nil},
		{"upload", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":3,"size":5}`), data("ab"), data("cde")}, "uploaded", map[int]string{3: "abcde"}},
		{"upload another game's", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":3,"size":7}`), data("foreign")},
			"error: That save is of another game or emulator version, and cannot be used here.", nil},
		{"upload too large, then one that fits", []webrtc.DataChannelMessage{
			text(fmt.Sprintf(`{"op":"upload","slot":2,"size":%d}`, saves.MaxFile+1)), data("ignored"), data("too"),
			text(`{"op":"upload","slot":2,"size":2}`), data("ok"),
		}, "error: That file is too large to be a save: at most 32 MiB. | uploaded", map[int]string{2: "ok"}},
		{"upload longer than announced", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":2}`), data("abc")},
			"error: The file was longer than announced.", nil},
		{"upload cut short by another request", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":4}`), data("ab"), text(`{"op":"download","slot":2}`)},
			"error: A file was still on its way; send it again. | error: Nothing is saved in that slot.", nil},
		{"bytes nobody announced", []webrtc.DataChannelMessage{data("stray")}, "error: The server got part of a file it was not told of.", nil},
		{"upload into the autosave", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":0,"size":2}`), data("ab")},
			"error: The server did not understand that request. | error: The server got part of a file it was not told of.", nil},
		{"not JSON", []webrtc.DataChannelMessage{text(`download 1`)}, "error: The server did not understand that request.", nil},
		{"an empty upload", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":0}`)}, "error: The server did not understand that request.", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := &fileLine{}
			store := &shelf{file: file, uploaded: map[int]string{}}
			f := &saveFiles{ch: line, store: store, low: make(chan struct{}, 1), log: slog.New(slog.DiscardHandler)}
			for _, m := range tc.send {
				f.onMessage(m)
			}
			var got []string
			for _, r := range line.replies {
				if r.Op == "error" {
					got = append(got, "error: "+r.Message)
				} else {
					got = append(got, r.Op)
				}
			}
			if s := strings.Join(got, " | "); s != tc.replies {
				t.Errorf("replies %q, want %q", s, tc.replies)
			}
			if fmt.Sprint(store.uploaded) != fmt.Sprint(orEmpty(tc.uploaded)) {
				t.Errorf("uploaded %v, want %v", store.uploaded, tc.uploaded)
			}
			if tc.replies != "file" {
				if len(line.bytes) != 0 {
					t.Errorf("%d binary messages sent", len(line.bytes))
				}
				return
			}
			if r := line.replies[0]; r.Slot != 1 || r.Size != len(file) {
				t.Errorf("announced %+v, want slot 1 of %d bytes", r, len(file))
			}
			for _, b := range line.bytes {
				if len(b) > fileChunk {
					t.Errorf("a message of %d bytes, want at most %d", len(b), fileChunk)
				}
			}
			if got := bytes.Join(line.bytes, nil); !bytes.Equal(got, file) {
				t.Errorf("downloaded %d bytes, not the file's %d", len(got), len(file))
			}
		})
	}
}

func orEmpty(m map[int]string) map[int]string {
	if m == nil {
		return map[int]string{}
	}
	return m
}

// FuzzFileRequest: any control message is refused or read as a request
// within bounds, never a panic.
func FuzzFileRequest(f *testing.F) {
	f.Add([]byte(`{"op":"download","slot":1}`))
	f.Add([]byte(`{"op":"upload","slot":4,"size":100}`))
	f.Add([]byte(`{"op":"upload","slot":0,"size":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseFileRequest(b)
		if err != nil {
			return
		}
		if r.Slot < 0 || r.Slot > signal.SaveSlots || (r.Op == "upload" && (r.Slot == 0 || r.Size <= 0)) || (r.Op != "upload" && r.Op != "download") {
			t.Fatalf("accepted %+v from %q", r, b)
		}
	})
}

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
		case <-time.After(30 * time.Second):
			t.Fatalf("no %s in 30 s", op)
		}
		return fileReply{}
	}

	if err := dc.SendText(`{"op":"download","slot":2}`); err != nil {
		t.Fatal(err)
	}
	if r := await("file"); r.Size != len(want) {
		t.Fatalf("announced %d bytes, want %d", r.Size, len(want))
	}
	for i := 0; ; i++ {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) {
			break
		}
		if i == 600 {
			t.Fatalf("%d of %d bytes after 30 s", n, len(want))
		}
		time.Sleep(50 * time.Millisecond)
	}
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
		for i := 0; dc.BufferedAmount() > maxBuffered; i++ {
			if i == 600 {
				t.Fatal("the worker took nothing for 30 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
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

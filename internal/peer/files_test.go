package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// fileLine is a data channel that keeps what is sent on it. A stall
// timer sends on it too.
type fileLine struct {
	mu      sync.Mutex
	replies []fileReply
	bytes   [][]byte
}

func (l *fileLine) SendText(s string) error {
	var r fileReply
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.replies = append(l.replies, r)
	return nil
}

func (l *fileLine) Send(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bytes = append(l.bytes, bytes.Clone(b))
	return nil
}

// said is the replies so far: ops, and refusals with their words.
func (l *fileLine) said() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var got []string
	for _, r := range l.replies {
		if r.Op == "error" {
			got = append(got, "error: "+r.Message)
		} else {
			got = append(got, r.Op)
		}
	}
	return strings.Join(got, " | ")
}

func (l *fileLine) BufferedAmount() uint64 { return 0 }

// shelf is a player's saves: slot 1 holds a file, and an upload of
// "foreign" is another game's. A watching player may not upload.
type shelf struct {
	file     []byte
	watching bool
	uploaded map[int]string
}

var (
	errEmpty    = errors.New("empty slot")
	errForeign  = errors.New("another game's")
	errWatching = errors.New("watching")
)

func (s *shelf) MayImport(int) error {
	if s.watching {
		return errWatching
	}
	return nil
}

func (s *shelf) Export(_ context.Context, slot int) ([]byte, error) {
	if slot != 1 {
		return nil, errEmpty
	}
	return s.file, nil
}

func (s *shelf) Import(_ context.Context, slot int, file []byte) error {
	if string(file) == "foreign" {
		return errForeign
	}
	s.uploaded[slot] = string(file)
	return nil
}

// TestSaveFiles runs the "saves" data channel's exchanges, each from a
// fresh channel: what the browser sends, what it gets back, what lands in
// the player's slots.
func TestSaveFiles(t *testing.T) {
	file := bytes.Repeat([]byte("0123456789abcdef"), 2500) // 40000 bytes: three messages
	for _, tc := range []struct {
		name     string
		watching bool
		send     []webrtc.DataChannelMessage
		replies  string // the ops and messages, in order
		uploaded map[int]string
	}{
		{"download", false, []webrtc.DataChannelMessage{text(`{"op":"download","slot":1}`)}, "file", nil},
		{"download an empty slot", false, []webrtc.DataChannelMessage{text(`{"op":"download","slot":2}`)}, "error: words for empty slot", nil},
		{"upload", false, []webrtc.DataChannelMessage{text(`{"op":"upload","slot":3,"size":5}`), data("ab"), data("cde")}, "uploaded", map[int]string{3: "abcde"}},
		{"upload another game's", false, []webrtc.DataChannelMessage{text(`{"op":"upload","slot":3,"size":7}`), data("foreign")},
			"error: words for another game's", nil},
		{"upload too large, then one that fits", false, []webrtc.DataChannelMessage{
			text(fmt.Sprintf(`{"op":"upload","slot":2,"size":%d}`, saves.MaxFile+1)), data("ignored"), data("too"),
			text(`{"op":"upload","slot":2,"size":2}`), data("ok"),
		}, "error: That file is too large to be a save: at most 32 MiB. | uploaded", map[int]string{2: "ok"}},
		{"a spectator's upload, its bytes thrown away", true, []webrtc.DataChannelMessage{
			text(`{"op":"upload","slot":2,"size":5}`), data("ab"), data("cde"),
		}, "error: words for watching", nil},
		{"a spectator's download", true, []webrtc.DataChannelMessage{text(`{"op":"download","slot":1}`)}, "file", nil},
		{"upload longer than announced", false, []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":2}`), data("abc")},
			"error: The file was longer than announced.", nil},
		{"upload cut short by another request", false, []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":4}`), data("ab"), text(`{"op":"download","slot":2}`)},
			"error: A file was still on its way; send it again. | error: words for empty slot", nil},
		{"bytes nobody announced", false, []webrtc.DataChannelMessage{data("stray")}, "error: The server got part of a file it was not told of.", nil},
		{"upload into the autosave", false, []webrtc.DataChannelMessage{text(`{"op":"upload","slot":0,"size":2}`), data("ab")},
			"error: The server did not understand that request. | error: The server got part of a file it was not told of.", nil},
		{"not JSON", false, []webrtc.DataChannelMessage{text(`download 1`)}, "error: The server did not understand that request.", nil},
		{"an empty upload", false, []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":0}`)}, "error: The server did not understand that request.", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := &fileLine{}
			store := &shelf{file: file, watching: tc.watching, uploaded: map[int]string{}}
			words := func(err error) string { return "words for " + err.Error() }
			uploads := &Uploads{Dir: t.TempDir()}
			f := newSaveFiles(t.Context(), line, store, words, uploads, slog.New(slog.DiscardHandler))
			for _, m := range tc.send {
				f.onMessage(m)
			}
			if s := line.said(); s != tc.replies {
				t.Errorf("replies %q, want %q", s, tc.replies)
			}
			if fmt.Sprint(store.uploaded) != fmt.Sprint(orEmpty(tc.uploaded)) {
				t.Errorf("uploaded %v, want %v", store.uploaded, tc.uploaded)
			}
			// Every transfer is over: nothing of it is left.
			if n := uploads.InFlight(); n != 0 {
				t.Errorf("%d bytes of the budget still held", n)
			}
			if names := fixturetest.Files(t, uploads.Dir); len(names) != 0 {
				t.Errorf("files left behind: %v", names)
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

func text(s string) webrtc.DataChannelMessage {
	return webrtc.DataChannelMessage{IsString: true, Data: []byte(s)}
}

func data(s string) webrtc.DataChannelMessage { return webrtc.DataChannelMessage{Data: []byte(s)} }

// TestUploadsHoldNoFile starts eight uploads of the largest file there
// is, sends each a few megabytes, and stops: the bytes wait on disk, not
// in the worker's memory, and go when the peers do.
func TestUploadsHoldNoFile(t *testing.T) {
	const peers, sent = 8, 4 << 20
	uploads := &Uploads{Dir: t.TempDir(), Budget: peers * saves.MaxFile}
	chunk := webrtc.DataChannelMessage{Data: bytes.Repeat([]byte{0xA5}, fileChunk)}
	announce := text(fmt.Sprintf(`{"op":"upload","slot":1,"size":%d}`, saves.MaxFile))
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var ends []context.CancelFunc
	var lines []*fileLine
	before := heap()
	for range peers {
		ctx, end := context.WithCancel(t.Context())
		line := &fileLine{}
		f := newSaveFiles(ctx, line, &shelf{uploaded: map[int]string{}}, func(err error) string { return err.Error() }, uploads, slog.New(slog.DiscardHandler))
		f.onMessage(announce)
		for range sent / fileChunk {
			f.onMessage(chunk)
		}
		ends, lines = append(ends, end), append(lines, line)
	}
	grew := int64(heap()) - int64(before)
	t.Logf("heap grew %d KiB with %d uploads of %d MiB each under way", grew>>10, peers, sent>>20)
	if grew > 16<<20 {
		t.Errorf("the heap grew %d MiB with %d MiB on their way, want under 16 MiB", grew>>20, peers*sent>>20)
	}
	for _, line := range lines {
		if s := line.said(); s != "" {
			t.Errorf("replies %q to an upload under way, want none", s)
		}
	}
	if names := fixturetest.Files(t, uploads.Dir); len(names) != peers {
		t.Errorf("%d files on their way, want %d: %v", len(names), peers, names)
	}
	if n := uploads.InFlight(); n != peers*saves.MaxFile {
		t.Errorf("%d bytes in flight, want %d announced", n, peers*saves.MaxFile)
	}
	// The peers close: their files go, and the budget is whole again.
	for _, end := range ends {
		end()
	}
	waittest.Eventually(t, "the files gone with their peers", func() error {
		if names := fixturetest.Files(t, uploads.Dir); len(names) != 0 {
			return fmt.Errorf("files left: %v", names)
		}
		if n := uploads.InFlight(); n != 0 {
			return fmt.Errorf("%d bytes in flight", n)
		}
		return nil
	})
}

// TestUploadBudget: the worker takes in at most its budget's worth of
// announced bytes at once; an upload over it is refused before a byte is
// kept, and the budget is whole again whenever an upload ends.
func TestUploadBudget(t *testing.T) {
	peer := func(t *testing.T, u *Uploads) (*saveFiles, *fileLine, *shelf) {
		line, store := &fileLine{}, &shelf{uploaded: map[int]string{}}
		return newSaveFiles(t.Context(), line, store, func(err error) string { return err.Error() }, u, slog.New(slog.DiscardHandler)), line, store
	}
	t.Run("by default two of the largest files", func(t *testing.T) {
		u := &Uploads{Dir: t.TempDir()}
		for _, want := range []string{"", "", "error: " + wordsBusy} {
			f, line, _ := peer(t, u)
			f.onMessage(text(fmt.Sprintf(`{"op":"upload","slot":1,"size":%d}`, saves.MaxFile)))
			if s := line.said(); s != want {
				t.Errorf("replies %q, want %q", s, want)
			}
		}
		if n := u.InFlight(); n != DefaultUploadBudget {
			t.Errorf("%d bytes in flight, want the default budget, %d", n, DefaultUploadBudget)
		}
	})
	t.Run("refused over it, and taken once it is free", func(t *testing.T) {
		dir := t.TempDir()
		u := &Uploads{Dir: dir, Budget: 10}
		a, aLine, aStore := peer(t, u)
		b, bLine, bStore := peer(t, u)
		a.onMessage(text(`{"op":"upload","slot":1,"size":6}`))
		a.onMessage(data("abc"))
		b.onMessage(text(`{"op":"upload","slot":2,"size":6}`))
		b.onMessage(data("uvwxyz")) // thrown away
		if s := bLine.said(); s != "error: "+wordsBusy {
			t.Errorf("over the budget: replies %q, want %q", s, "error: "+wordsBusy)
		}
		if n := len(fixturetest.Files(t, dir)); n != 1 {
			t.Errorf("%d files on their way, want a's alone", n)
		}
		a.onMessage(data("def"))
		b.onMessage(text(`{"op":"upload","slot":2,"size":6}`))
		b.onMessage(data("uvwxyz"))
		if s, want := aLine.said(), "uploaded"; s != want {
			t.Errorf("a: replies %q, want %q", s, want)
		}
		if s, want := bLine.said(), "error: "+wordsBusy+" | uploaded"; s != want {
			t.Errorf("b: replies %q, want %q", s, want)
		}
		if aStore.uploaded[1] != "abcdef" || bStore.uploaded[2] != "uvwxyz" {
			t.Errorf("uploaded %v and %v", aStore.uploaded, bStore.uploaded)
		}
		if n := u.InFlight(); n != 0 {
			t.Errorf("%d bytes of the budget held after the uploads", n)
		}
	})
	t.Run("no uploads without one", func(t *testing.T) {
		f, line, _ := peer(t, nil)
		f.onMessage(text(`{"op":"upload","slot":1,"size":2}`))
		f.onMessage(data("ab"))
		if s, want := line.said(), "error: "+ErrNoFiles.Error(); s != want {
			t.Errorf("replies %q, want %q", s, want)
		}
	})
}

// TestUploadStall: an upload no byte of which comes for the stall time is
// dropped, its file removed and its bytes given back; the rest, should it
// come after all, is thrown away.
func TestUploadStall(t *testing.T) {
	u := &Uploads{Dir: t.TempDir(), Stall: 20 * time.Millisecond}
	line, store := &fileLine{}, &shelf{uploaded: map[int]string{}}
	f := newSaveFiles(t.Context(), line, store, func(err error) string { return err.Error() }, u, slog.New(slog.DiscardHandler))
	f.onMessage(text(`{"op":"upload","slot":1,"size":6}`))
	f.onMessage(data("abc"))
	waittest.Eventually(t, "the stalled upload dropped", func() error {
		if s := line.said(); s != "error: "+wordsStalled {
			return fmt.Errorf("replies %q", s)
		}
		return nil
	})
	if names := fixturetest.Files(t, u.Dir); len(names) != 0 {
		t.Errorf("files left: %v", names)
	}
	if n := u.InFlight(); n != 0 {
		t.Errorf("%d bytes in flight", n)
	}
	f.onMessage(data("def"))
	if s := line.said(); s != "error: "+wordsStalled || len(store.uploaded) != 0 {
		t.Errorf("after the rest came late: replies %q, uploaded %v", s, store.uploaded)
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

package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

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

var (
	errEmpty   = errors.New("empty slot")
	errForeign = errors.New("another game's")
)

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
		{"download an empty slot", []webrtc.DataChannelMessage{text(`{"op":"download","slot":2}`)}, "error: words for empty slot", nil},
		{"upload", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":3,"size":5}`), data("ab"), data("cde")}, "uploaded", map[int]string{3: "abcde"}},
		{"upload another game's", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":3,"size":7}`), data("foreign")},
			"error: words for another game's", nil},
		{"upload too large, then one that fits", []webrtc.DataChannelMessage{
			text(fmt.Sprintf(`{"op":"upload","slot":2,"size":%d}`, saves.MaxFile+1)), data("ignored"), data("too"),
			text(`{"op":"upload","slot":2,"size":2}`), data("ok"),
		}, "error: That file is too large to be a save: at most 32 MiB. | uploaded", map[int]string{2: "ok"}},
		{"upload longer than announced", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":2}`), data("abc")},
			"error: The file was longer than announced.", nil},
		{"upload cut short by another request", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":4}`), data("ab"), text(`{"op":"download","slot":2}`)},
			"error: A file was still on its way; send it again. | error: words for empty slot", nil},
		{"bytes nobody announced", []webrtc.DataChannelMessage{data("stray")}, "error: The server got part of a file it was not told of.", nil},
		{"upload into the autosave", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":0,"size":2}`), data("ab")},
			"error: The server did not understand that request. | error: The server got part of a file it was not told of.", nil},
		{"not JSON", []webrtc.DataChannelMessage{text(`download 1`)}, "error: The server did not understand that request.", nil},
		{"an empty upload", []webrtc.DataChannelMessage{text(`{"op":"upload","slot":1,"size":0}`)}, "error: The server did not understand that request.", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := &fileLine{}
			store := &shelf{file: file, uploaded: map[int]string{}}
			words := func(err error) string { return "words for " + err.Error() }
			f := &saveFiles{ctx: t.Context(), ch: line, store: store, words: words, low: make(chan struct{}, 1), log: slog.New(slog.DiscardHandler)}
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

package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/signal"
)

// Save files travel over a peer's "saves" data channel (ordered,
// reliable), not the signalling: a file can be megabytes, and the
// coordinator has no business relaying them. Control messages are JSON
// text, the file's bytes binary messages; one transfer at a time:
//
//	browser → worker  {"op":"download","slot":N}
//	worker → browser  {"op":"file","slot":N,"size":S}, then S bytes
//	browser → worker  {"op":"upload","slot":N,"size":S}, then S bytes
//	worker → browser  {"op":"uploaded","slot":N}
//	worker → browser  {"op":"error","message":"…"}, for a refusal
//
// An upload is a stranger's bytes: it is refused before a byte of it is
// kept unless the store lets the player upload (FileStore.MayImport) and
// the worker's budget has room for its announced size (Uploads); its bytes
// then go to a temporary file as they come, never all into memory, and
// the file goes when the upload ends, however it ends.

// fileChunk is the most bytes of a file in one message: every browser
// takes it whole.
const fileChunk = 16 << 10

// Sending waits while more than maxBuffered bytes wait in the channel,
// until fewer than lowBuffered do: a file of megabytes is not all queued
// at once, and a stalled browser fails the download after stallTimeout.
const (
	maxBuffered  = 1 << 20
	lowBuffered  = 256 << 10
	stallTimeout = 15 * time.Second
)

// What a player reads of an upload that went wrong on the way.
const (
	wordsBusy     = "The server is busy receiving other saves; try again in a moment."
	wordsStalled  = "The file stopped arriving; send it again."
	wordsCutShort = "A file was still on its way; send it again."
	wordsTooLong  = "The file was longer than announced."
	wordsStray    = "The server got part of a file it was not told of."
	wordsNoRoom   = "The server could not take the file; try again in a moment."
	wordsUnclear  = "The server did not understand that request."
)

// fileRequest is a browser's control message.
type fileRequest struct {
	Op   string `json:"op"`
	Slot int    `json:"slot"`
	Size int    `json:"size"`
}

// fileReply is the worker's.
type fileReply struct {
	Op      string `json:"op"`
	Slot    int    `json:"slot"`
	Size    int    `json:"size,omitempty"`
	Message string `json:"message,omitempty"`
}

// parseFileRequest reads a control message, refusing anything else.
func parseFileRequest(data []byte) (fileRequest, error) {
	var r fileRequest
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("bad request: %w", err)
	}
	switch {
	case r.Op == "download" && r.Slot >= saves.AutoSlot && r.Slot <= signal.SaveSlots:
	case r.Op == "upload" && r.Slot > saves.AutoSlot && r.Slot <= signal.SaveSlots && r.Size > 0:
	default:
		return r, fmt.Errorf("bad request: %q, slot %d, size %d", r.Op, r.Slot, r.Size)
	}
	return r, nil
}

// fileChannel is what a transfer needs of its data channel.
type fileChannel interface {
	SendText(string) error
	Send([]byte) error
	BufferedAmount() uint64
}

// FileStore is where a peer's files come from and go to: its player's
// saves of the room's game. Its errors reach the player through
// Params.Words.
type FileStore interface {
	Export(ctx context.Context, slot int) ([]byte, error)
	// MayImport says whether an upload into slot may begin, before a
	// byte of it is kept: an error refuses it.
	MayImport(slot int) error
	// Import stores a file whose bytes all came, as announced.
	Import(ctx context.Context, slot int, file []byte) error
}

// ErrNoFiles refuses the requests of a peer with no FileStore.
var ErrNoFiles = errors.New("peer: no save files here")

// noFiles is the store of a peer with none: every request is refused.
type noFiles struct{}

func (noFiles) Export(context.Context, int) ([]byte, error) { return nil, ErrNoFiles }
func (noFiles) MayImport(int) error                         { return ErrNoFiles }
func (noFiles) Import(context.Context, int, []byte) error   { return ErrNoFiles }

// transferTimeout bounds one file's storage I/O.
const transferTimeout = 10 * time.Second

// saveFiles serves one peer's save files. onMessage runs on the data
// channel's reader, one message at a time: one transfer at a time, in the
// order the browser asked. The upload under way is also reached by its
// stall timer and by the peer's end, hence the lock.
type saveFiles struct {
	ctx     context.Context // the peer's: transfers end with it
	ch      fileChannel
	store   FileStore
	words   func(error) string
	uploads *Uploads      // the worker's; nil takes no upload
	low     chan struct{} // the channel's buffered amount fell low
	log     *slog.Logger

	mu sync.Mutex
	up *upload // the upload under way, or nil
	// discard is how many bytes of a refused or dropped upload may still
	// come: they are counted off, never kept.
	discard int
	closed  bool // the peer is over: no upload begins any more
}

// upload is one file on its way in. Whoever takes it out of saveFiles.up
// ends it, with close.
type upload struct {
	slot      int
	size, got int
	file      *os.File
	last      time.Time   // when its last bytes came
	stall     *time.Timer // nil until armed
	uploads   *Uploads
}

// close removes the file and gives its bytes back to the budget.
func (u *upload) close() error {
	if u.stall != nil {
		u.stall.Stop()
	}
	err := errors.Join(u.file.Close(), os.Remove(u.file.Name()))
	u.uploads.release(int64(u.size))
	return err
}

// newSaveFiles serves files on ch from store (nil: none), until ctx ends.
func newSaveFiles(ctx context.Context, ch fileChannel, store FileStore, words func(error) string, uploads *Uploads, log *slog.Logger) *saveFiles {
	if store == nil {
		store = noFiles{}
	}
	if words == nil {
		words = func(error) string { return "Save files are not available here." }
	}
	f := &saveFiles{ctx: ctx, ch: ch, store: store, words: words, uploads: uploads, low: make(chan struct{}, 1), log: log}
	context.AfterFunc(ctx, f.close)
	return f
}

// serveFiles serves files on dc, from store if not nil, until ctx ends.
func serveFiles(ctx context.Context, dc *webrtc.DataChannel, store FileStore, words func(error) string, uploads *Uploads, log *slog.Logger) {
	f := newSaveFiles(ctx, dc, store, words, uploads, log)
	dc.SetBufferedAmountLowThreshold(lowBuffered)
	dc.OnBufferedAmountLow(func() {
		select {
		case f.low <- struct{}{}:
		default:
		}
	})
	dc.OnMessage(f.onMessage)
}

func (f *saveFiles) onMessage(msg webrtc.DataChannelMessage) {
	if !msg.IsString {
		f.onBytes(msg.Data)
		return
	}
	f.mu.Lock()
	u := f.up
	f.up = nil
	f.discard = 0 // the browser has given up on the refused one
	f.mu.Unlock()
	if u != nil {
		f.end(u, "cut short by another request")
		f.refuse(wordsCutShort)
	}
	r, err := parseFileRequest(msg.Data)
	if err != nil {
		f.log.Debug("peer: save files", "err", err)
		f.refuse(wordsUnclear)
		return
	}
	switch r.Op {
	case "download":
		f.download(r.Slot)
	case "upload":
		f.begin(r.Slot, r.Size)
	}
}

// begin starts an upload, or refuses it before a byte of it is kept: its
// bytes, if they come, are then counted off.
func (f *saveFiles) begin(slot, size int) {
	refuse := func(words string) {
		f.mu.Lock()
		f.discard = size
		f.mu.Unlock()
		f.refuse(words)
	}
	if size > saves.MaxFile {
		refuse(fmt.Sprintf("That file is too large to be a save: at most %d MiB.", saves.MaxFile>>20))
		return
	}
	if err := f.store.MayImport(slot); err != nil {
		f.log.Info("peer: upload refused", "slot", slot, "err", err)
		refuse(f.words(err))
		return
	}
	if f.uploads == nil {
		f.log.Info("peer: upload refused", "slot", slot, "err", ErrNoFiles)
		refuse(f.words(ErrNoFiles))
		return
	}
	if !f.uploads.reserve(int64(size)) {
		f.log.Warn("peer: upload refused: the worker's upload budget is spent", "slot", slot, "bytes", size, "in_flight", f.uploads.InFlight())
		refuse(wordsBusy)
		return
	}
	file, err := os.CreateTemp(f.uploads.dir(), "telecart-upload-*")
	if err != nil {
		f.uploads.release(int64(size))
		f.log.Error("peer: upload refused: no temporary file", "err", err)
		refuse(wordsNoRoom)
		return
	}
	u := &upload{slot: slot, size: size, file: file, last: time.Now(), uploads: f.uploads}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		f.end(u, "the peer is over")
		return
	}
	f.up = u
	stall := f.uploads.stall()
	u.stall = time.AfterFunc(stall, func() { f.stalled(u, stall) })
	f.mu.Unlock()
}

// onBytes takes a piece of the upload under way.
func (f *saveFiles) onBytes(data []byte) {
	f.mu.Lock()
	u := f.up
	switch {
	case f.closed:
		f.mu.Unlock()
		return
	case f.discard > 0:
		f.discard = max(0, f.discard-len(data))
		f.mu.Unlock()
		return
	case u == nil:
		f.mu.Unlock()
		f.refuse(wordsStray)
		return
	case u.got+len(data) > u.size:
		f.up = nil
		f.mu.Unlock()
		f.end(u, "longer than announced")
		f.refuse(wordsTooLong)
		return
	}
	if _, err := u.file.Write(data); err != nil {
		f.up = nil
		f.discard = u.size - u.got - len(data)
		f.mu.Unlock()
		f.log.Error("peer: upload dropped: writing its temporary file", "err", err)
		f.end(u, "")
		f.refuse(wordsNoRoom)
		return
	}
	u.got += len(data)
	u.last = time.Now()
	if u.got < u.size {
		f.mu.Unlock()
		return
	}
	f.up = nil
	f.mu.Unlock()
	f.finish(u)
}

// finish reads the whole file back and hands it to the store, which checks
// it; then the upload ends. Its bytes are in the budget until then.
func (f *saveFiles) finish(u *upload) {
	defer f.end(u, "")
	file := make([]byte, u.size)
	if _, err := u.file.ReadAt(file, 0); err != nil { // io.EOF too: the file is shorter than what was written
		f.log.Error("peer: upload dropped: reading its temporary file", "err", err)
		f.refuse(wordsNoRoom)
		return
	}
	ctx, cancel := context.WithTimeout(f.ctx, transferTimeout)
	defer cancel()
	if err := f.store.Import(ctx, u.slot, file); err != nil {
		f.log.Info("peer: upload refused", "slot", u.slot, "err", err)
		f.refuse(f.words(err))
		return
	}
	f.log.Info("peer: uploaded", "slot", u.slot, "bytes", u.size)
	f.reply(fileReply{Op: "uploaded", Slot: u.slot})
}

// stalled drops an upload no byte of which came for the stall time. The
// timer is armed once, and again for what is left whenever bytes came
// meanwhile.
func (f *saveFiles) stalled(u *upload, stall time.Duration) {
	f.mu.Lock()
	if f.up != u {
		f.mu.Unlock()
		return
	}
	if since := time.Since(u.last); since < stall {
		u.stall.Reset(stall - since)
		f.mu.Unlock()
		return
	}
	f.up = nil
	f.discard = u.size - u.got // should the rest come after all
	f.mu.Unlock()
	f.end(u, fmt.Sprintf("no byte for %v", stall))
	f.refuse(wordsStalled)
}

// close ends the upload under way as the peer goes, and takes no more.
func (f *saveFiles) close() {
	f.mu.Lock()
	f.closed = true
	u := f.up
	f.up = nil
	f.mu.Unlock()
	if u != nil {
		f.end(u, "the peer is over")
	}
}

// end closes an upload taken out of f.up, saying why when it failed.
func (f *saveFiles) end(u *upload, why string) {
	if why != "" {
		f.log.Info("peer: upload dropped", "slot", u.slot, "got", u.got, "of", u.size, "why", why)
	}
	if err := u.close(); err != nil {
		f.log.Error("peer: removing an upload's temporary file", "err", err)
	}
}

// download sends the save in a slot, paced by the channel.
func (f *saveFiles) download(slot int) {
	ctx, cancel := context.WithTimeout(f.ctx, transferTimeout)
	file, err := f.store.Export(ctx, slot)
	cancel()
	if err != nil {
		f.log.Info("peer: download refused", "slot", slot, "err", err)
		f.refuse(f.words(err))
		return
	}
	if !f.reply(fileReply{Op: "file", Slot: slot, Size: len(file)}) {
		return
	}
	for len(file) > 0 {
		if err := f.drain(); err != nil {
			f.log.Info("peer: download stopped", "slot", slot, "err", err)
			return
		}
		n := min(len(file), fileChunk)
		if err := f.ch.Send(file[:n]); err != nil {
			f.log.Debug("peer: download stopped", "slot", slot, "err", err)
			return
		}
		file = file[n:]
	}
	f.log.Info("peer: downloaded", "slot", slot)
}

// drain waits while the channel holds more than maxBuffered bytes. The
// low signal may have come before the wait began: it looks again often.
func (f *saveFiles) drain() error {
	stalled := time.After(stallTimeout)
	for f.ch.BufferedAmount() > maxBuffered {
		select {
		case <-f.low:
		case <-time.After(50 * time.Millisecond):
		case <-stalled:
			return errors.New("the browser took nothing for 15 s")
		case <-f.ctx.Done():
			return f.ctx.Err()
		}
	}
	return nil
}

func (f *saveFiles) refuse(message string) { f.reply(fileReply{Op: "error", Message: message}) }

func (f *saveFiles) reply(r fileReply) bool {
	b, _ := json.Marshal(r) // never fails: plain fields
	if err := f.ch.SendText(string(b)); err != nil {
		f.log.Debug("peer: save files", "err", err)
		return false
	}
	return true
}

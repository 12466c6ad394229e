package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
	Import(ctx context.Context, slot int, file []byte) error
}

// ErrNoFiles refuses the requests of a peer with no FileStore.
var ErrNoFiles = errors.New("peer: no save files here")

// noFiles is the store of a peer with none: every request is refused.
type noFiles struct{}

func (noFiles) Export(context.Context, int) ([]byte, error) { return nil, ErrNoFiles }
func (noFiles) Import(context.Context, int, []byte) error   { return ErrNoFiles }

// transferTimeout bounds one file's storage I/O.
const transferTimeout = 10 * time.Second

// saveFiles serves one peer's save files. onMessage runs on the data
// channel's reader, one message at a time, so an upload needs no lock.
type saveFiles struct {
	ctx   context.Context // the peer's: transfers end with it
	ch    fileChannel
	store FileStore
	words func(error) string
	low   chan struct{} // the channel's buffered amount fell low
	log   *slog.Logger

	// The upload under way: its slot, its declared size, what came of it.
	// A refused one's bytes are counted off into discard as they come.
	slot, size, discard int
	file                []byte
}

// serveFiles serves files on dc, from store if not nil, until ctx ends.
func serveFiles(ctx context.Context, dc *webrtc.DataChannel, store FileStore, words func(error) string, log *slog.Logger) {
	if store == nil {
		store = noFiles{}
	}
	if words == nil {
		words = func(error) string { return "Save files are not available here." }
	}
	f := &saveFiles{ctx: ctx, ch: dc, store: store, words: words, low: make(chan struct{}, 1), log: log}
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
	if f.file != nil {
		f.refuse("A file was still on its way; send it again.")
		f.file = nil
	}
	f.discard = 0 // the browser has given up on the refused one
	r, err := parseFileRequest(msg.Data)
	if err != nil {
		f.log.Debug("peer: save files", "err", err)
		f.refuse("The server did not understand that request.")
		return
	}
	switch r.Op {
	case "download":
		f.download(r.Slot)
	case "upload":
		if r.Size > saves.MaxFile {
			f.refuse(fmt.Sprintf("That file is too large to be a save: at most %d MiB.", saves.MaxFile>>20))
			f.discard = r.Size
			return
		}
		f.slot, f.size, f.file = r.Slot, r.Size, make([]byte, 0, min(r.Size, fileChunk*64))
	}
}

// onBytes takes a piece of the upload under way.
func (f *saveFiles) onBytes(data []byte) {
	switch {
	case f.discard > 0:
		f.discard = max(0, f.discard-len(data))
		return
	case f.file == nil:
		f.refuse("The server got part of a file it was not told of.")
		return
	case len(f.file)+len(data) > f.size:
		f.refuse("The file was longer than announced.")
		f.file = nil
		return
	}
	f.file = append(f.file, data...)
	if len(f.file) < f.size {
		return
	}
	file, slot := f.file, f.slot
	f.file = nil
	ctx, cancel := context.WithTimeout(f.ctx, transferTimeout)
	defer cancel()
	if err := f.store.Import(ctx, slot, file); err != nil {
		f.log.Info("peer: upload refused", "slot", slot, "err", err)
		f.refuse(f.words(err))
		return
	}
	f.log.Info("peer: uploaded", "slot", slot, "bytes", len(file))
	f.reply(fileReply{Op: "uploaded", Slot: slot})
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

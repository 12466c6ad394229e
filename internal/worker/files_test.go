package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

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

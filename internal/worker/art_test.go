package worker

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/picture"
	"github.com/telecart/telecart/internal/signal"
)

// TestCapturedPicture plays a game without art: a few seconds in, the
// worker keeps a picture of it in the shared storage, the browsers' list
// learns it has one, and the coordinator serves it from the other worker
// once the one that took it has gone. The test ROM's picture at rest is
// its fill with the boxes of player 2's buttons and its mark: not one
// colour, so a picture.
func TestCapturedPicture(t *testing.T) {
	const id = testGame
	opt, st := withSaves(t)
	c := newCluster(t, 1, opt)
	second, stopSecond := c.addWorker(t, 1, opt)
	watcher := c.browse(t)
	if h := watcher.WaitGames(); h.Games[0].Art != "" {
		t.Fatalf("a game without art has a picture before it was played: %+v", h.Games[0])
	}
	player := c.browse(t)
	player.WaitGames()
	player.Play(signal.Start{Game: id})

	var art string
	for art == "" {
		if h, ok := watcher.Read().(signal.Hello); ok && len(h.Games) == 1 {
			art = h.Games[0].Art
		}
	}
	stored, err := st.Pictures(t.Context(), []string{id})
	if err != nil || stored[id] != art {
		t.Fatalf("pictures in storage %v, %v; want %s at %s", stored, err, id, art)
	}
	b, err := st.Picture(t.Context(), id, art)
	if err != nil {
		t.Fatal(err)
	}
	pic, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the stored picture is no PNG: %v", err)
	}
	rgba, ok := pic.(*image.RGBA)
	if !ok || picture.Uniform(rgba) || rgba.Rect.Dx() > library.ArtWidth || rgba.Rect.Dx() < 100 {
		t.Errorf("the picture is %T of %v, uniform or not the game's: want a frame of many colours at most %d wide", pic, pic.Bounds(), library.ArtWidth)
	}

	// The worker that took it goes: the other, told of it, sends it from
	// the storage they share.
	if second.roomCount() > 0 {
		stopSecond()
	} else {
		c.stopWorker()
	}
	resp, err := http.Get(c.srv.URL + "/art/" + url.PathEscape(id) + "?v=" + art)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	served, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(served, b) {
		t.Errorf("GET /art: %d %s, %d bytes (%v); want the stored picture", resp.StatusCode, resp.Header.Get("Content-Type"), len(served), err)
	}

	// A worker that starts later finds the picture in the storage, and
	// registers the game with it.
	c.stopWorker()
	stopSecond()
	c.addWorker(t, 1, opt)
	for {
		if h, ok := watcher.Read().(signal.Hello); ok && len(h.Games) == 1 {
			if h.Games[0].Art != art {
				continue
			}
			break
		}
	}
}

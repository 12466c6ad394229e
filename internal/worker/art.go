package worker

import (
	"context"
	"errors"
	"image"
	"time"

	"github.com/telecart/telecart/internal/library"
	"github.com/telecart/telecart/internal/picture"
	"github.com/telecart/telecart/internal/signal"
)

// Games' pictures: the library's art files, and frames captured from the
// games that have none (kept with the saves, where every worker finds
// them). The coordinator asks for them (ArtRequest) as browsers fetch
// them, and hears of a new capture (ArtChanged).

// artTimeout bounds the storage's part in one picture.
const artTimeout = 10 * time.Second

// findCaptured learns which games without art have a captured picture
// already, with one listing of the storage; a storage that cannot be
// read costs the pictures, not the worker.
func (w *Worker) findCaptured(ctx context.Context) {
	if w.cfg.Saves == nil {
		return
	}
	var ids []string
	for _, g := range w.cfg.Library.Games() {
		if g.Art.Path == "" {
			ids = append(ids, g.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, artTimeout)
	defer cancel()
	found, err := w.cfg.Saves.Pictures(ctx, ids)
	if err != nil {
		w.log.Warn("worker: cannot list the games' captured pictures; the games without art show none until played", "err", err)
		return
	}
	w.mu.Lock()
	for id, v := range found {
		w.captured[id] = v
	}
	w.mu.Unlock()
	w.log.Info("worker: captured pictures", "games", len(found))
}

// infos is the library as the register carries it: each game with the
// version of its picture, its art file's or its captured frame's. w.mu is
// held.
func (w *Worker) infos() []signal.GameInfo {
	infos := w.cfg.Library.Infos()
	for i := range infos {
		if infos[i].Art == "" {
			infos[i].Art = w.captured[infos[i].ID]
		}
	}
	return infos
}

// answerArt answers the coordinator's ArtRequest id off the message loop:
// reading and shrinking a picture takes a while.
func (w *Worker) answerArt(ctx context.Context, id signal.SessionID, req signal.ArtRequest) {
	w.pictures.Add(1)
	go func() {
		defer w.pictures.Done()
		ctx, cancel := context.WithTimeout(ctx, artTimeout)
		defer cancel()
		answer := w.art(ctx, req.Game)
		if err := w.Send(id, answer); err != nil {
			w.log.Debug("worker: the answer to a picture's request was lost", "game", req.Game, "err", err)
		}
	}()
}

// art is a game's picture, or an Art without one.
func (w *Worker) art(ctx context.Context, id string) signal.Art {
	none := signal.Art{Game: id}
	g, ok := w.cfg.Library.Lookup(id)
	if !ok {
		return none
	}
	if g.Art.Path != "" {
		data, typ, err := library.ReadArt(g)
		if err != nil || len(data) > signal.MaxArt {
			w.log.Warn("worker: a game's picture cannot be sent", "game", id, "path", g.Art.Path, "bytes", len(data), "err", err)
			return none
		}
		return signal.Art{Game: id, Version: g.Art.Version, ContentType: typ, Data: data}
	}
	w.mu.Lock()
	version := w.captured[id]
	w.mu.Unlock()
	if version == "" || w.cfg.Saves == nil {
		return none
	}
	data, err := w.cfg.Saves.Picture(ctx, id, version)
	if err != nil || len(data) > signal.MaxArt {
		w.log.Warn("worker: a game's captured picture cannot be sent", "game", id, "err", err)
		return none
	}
	return signal.Art{Game: id, Version: version, ContentType: picture.PNG, Data: data}
}

// learnPicture notes a picture another worker captured of a game this
// one has without art: it is in the storage they share.
func (w *Worker) learnPicture(p signal.ArtChanged) {
	g, ok := w.cfg.Library.Lookup(p.Game)
	if !ok || g.Art.Path != "" || w.cfg.Saves == nil {
		return
	}
	w.mu.Lock()
	w.captured[p.Game] = p.Art
	w.mu.Unlock()
}

// onPicture is a room's OnPicture for a game without a picture: nil when
// it has one, or none can be kept.
func (w *Worker) onPicture(ctx context.Context, g library.Game) func(*image.RGBA) {
	w.mu.Lock()
	captured := w.captured[g.ID] != ""
	w.mu.Unlock()
	if g.Art.Path != "" || captured || w.cfg.Saves == nil {
		return nil
	}
	return func(pic *image.RGBA) { w.keepPicture(ctx, g.ID, pic) }
}

// keepPicture stores a game's captured picture and tells the coordinator,
// off the room's loop.
func (w *Worker) keepPicture(ctx context.Context, id string, pic *image.RGBA) {
	w.pictures.Add(1)
	go func() {
		defer w.pictures.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), artTimeout)
		defer cancel()
		png := picture.EncodePNG(picture.Shrink(pic, library.ArtWidth))
		version, err := w.cfg.Saves.PutPicture(ctx, id, png)
		if err != nil {
			w.log.Warn("worker: cannot keep the game's picture", "game", id, "err", err)
			return
		}
		w.mu.Lock()
		first := w.captured[id] == ""
		if first {
			w.captured[id] = version
		}
		w.mu.Unlock()
		if !first {
			return
		}
		w.log.Info("worker: captured the game's picture", "game", id, "version", version, "bytes", len(png))
		if err := w.Send("", signal.ArtChanged{Game: id, Art: version}); err != nil && !errors.Is(err, errNoLink) {
			// The next registration carries it.
			w.log.Debug("worker: the news of a picture was lost", "game", id, "err", err)
		}
	}()
}

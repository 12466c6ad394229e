package coordinator

import (
	"container/list"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/telecart/telecart/internal/signal"
)

// Games' pictures. The page shows each game's picture from /art/ID?v=V,
// where V is the version its hello names (GameInfo.Art). The coordinator
// has no pictures of its own and reaches no storage: it asks a worker
// that has the game over its link (ArtRequest, answered with Art), and
// keeps the answers in a small cache. Browsers keep them for good, as a
// changed picture has a new version, and so a new address.

const (
	// artPerWorker bounds the picture requests one worker answers at once:
	// a page of a thousand games must not keep a worker reading files.
	// artQueue more wait their turn (a page shows a dozen pictures at
	// once, and asks for them all together); beyond those the browser
	// hears 503, and its list shows the tile.
	artPerWorker = 4
	artQueue     = 32
	// artTimeout bounds a worker's answer.
	artTimeout = 10 * time.Second
	// DefaultArtCache is how many bytes of pictures the coordinator keeps.
	DefaultArtCache = 8 << 20
)

// serveArt is GET /art/{id}: the game's picture, from the cache or from a
// worker that has it.
func (c *Coordinator) serveArt(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	want := r.URL.Query().Get("v")
	c.mu.Lock()
	var w *workerConn
	version := ""
	for _, wc := range c.workers {
		g, ok := wc.games[id]
		if !ok || g.Art == "" {
			continue
		}
		if w == nil || g.Art == want && version != want {
			w, version = wc, g.Art
		}
	}
	c.mu.Unlock()
	if w == nil {
		c.artServed.WithLabelValues("none").Inc()
		http.Error(rw, "no picture of this game", http.StatusNotFound)
		return
	}
	key := id + "\x00" + version
	if a, ok := c.art.get(key); ok {
		c.artServed.WithLabelValues("cache").Inc()
		writeArt(rw, a, want)
		return
	}
	select {
	case w.artAdmitted <- struct{}{}:
		defer func() { <-w.artAdmitted }()
	default:
		c.artServed.WithLabelValues("busy").Inc()
		rw.Header().Set("Retry-After", "1")
		http.Error(rw, "the server is busy with other pictures", http.StatusServiceUnavailable)
		return
	}
	select {
	case w.artSlots <- struct{}{}:
		defer func() { <-w.artSlots }()
	case <-r.Context().Done():
		return
	}
	if a, ok := c.art.get(key); ok { // asked for by another while this one waited
		c.artServed.WithLabelValues("cache").Inc()
		writeArt(rw, a, want)
		return
	}
	a, err := c.askArt(r, w, id)
	switch {
	case err != nil:
		c.artServed.WithLabelValues("failed").Inc()
		http.Error(rw, "the game's server did not send its picture", http.StatusBadGateway)
		return
	case len(a.Data) == 0:
		c.artServed.WithLabelValues("none").Inc()
		http.Error(rw, "no picture of this game", http.StatusNotFound)
		return
	}
	c.artServed.WithLabelValues("worker").Inc()
	if a.Version == version {
		c.art.put(key, a)
	}
	writeArt(rw, a, want)
}

// askArt asks worker w for a game's picture, under a session id of the
// request's own, and waits for its answer.
func (c *Coordinator) askArt(r *http.Request, w *workerConn, id string) (signal.Art, error) {
	session := "art-" + signal.NewID[signal.SessionID](signal.NameBytes)
	answer := make(chan signal.Art, 1)
	sub, err := c.listen(session)
	if err != nil {
		return signal.Art{}, err
	}
	defer sub.Unsubscribe()
	c.mu.Lock()
	c.artWaits[session] = answer
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.artWaits, session)
		c.mu.Unlock()
	}()
	if err := w.send(session, signal.ArtRequest{Game: id}); err != nil {
		return signal.Art{}, err
	}
	timer := time.NewTimer(artTimeout)
	defer timer.Stop()
	select {
	case a := <-answer:
		if a.Game != id {
			return signal.Art{Game: id}, nil // no answer to this request
		}
		return a, nil
	case <-timer.C:
		c.log.Warn("coordinator: a worker did not send a game's picture in time", "worker", w.id, "game", id)
		return signal.Art{}, errArtTimeout
	case <-r.Context().Done():
		return signal.Art{}, r.Context().Err()
	}
}

// onArt hands a worker's picture to the request waiting for it; one no
// request waits for any more is dropped. Only the worker asked knows the
// request's session id, on whose subject the answer comes.
func (c *Coordinator) onArt(session signal.SessionID, a signal.Art) {
	c.mu.Lock()
	answer, ok := c.artWaits[session]
	delete(c.artWaits, session)
	c.mu.Unlock()
	if ok {
		answer <- a // buffered for the one answer taken: the wait is gone
	}
}

// onArtChanged notes a game's new picture on its worker, and on every
// other worker that has the game without a picture of its own: the
// picture is in the storage they share, so any of them can send it, and
// the game keeps its picture when the worker that took it goes. The next
// hello says so.
func (c *Coordinator) onArtChanged(from *workerConn, p signal.ArtChanged) {
	var tell, held []*workerConn
	c.mu.Lock()
	for _, w := range c.workers {
		g, ok := w.games[p.Game]
		if !ok || (w != from && g.Art != "") {
			continue
		}
		g.Art = p.Art
		w.games[p.Game] = g
		if w.holder == c.id {
			held = append(held, w)
		}
		if w != from {
			tell = append(tell, w)
		}
	}
	c.mu.Unlock()
	for _, w := range held {
		c.shareGames(w, false)
	}
	for _, w := range tell {
		if err := w.send("", p); err != nil {
			c.log.Debug("coordinator: a worker did not hear of a game's picture", "worker", w.id, "err", err)
		}
	}
	if len(held) > 0 || len(tell) > 0 {
		c.workersChanged()
	}
}

// writeArt answers with a picture; browsers keep it for good when it is
// the version they asked for.
func writeArt(rw http.ResponseWriter, a signal.Art, want string) {
	h := rw.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	h.Set("X-Content-Type-Options", "nosniff")
	if want == a.Version {
		h.Set("Cache-Control", "public, max-age=86400, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	_, _ = rw.Write(a.Data) // a browser gone is nothing to tell
}

type artError string

func (e artError) Error() string { return string(e) }

const errArtTimeout = artError("coordinator: the worker did not send the picture in time")

// artCache keeps the pictures last asked for, up to a number of bytes,
// the least recently asked for going first.
type artCache struct {
	mu    sync.Mutex
	limit int
	size  int
	order *list.List // of *artEntry, the most recent first
	byKey map[string]*list.Element
}

type artEntry struct {
	key string
	art signal.Art
}

func newArtCache(limit int) *artCache {
	return &artCache{limit: limit, order: list.New(), byKey: map[string]*list.Element{}}
}

func (a *artCache) get(key string) (signal.Art, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.byKey[key]
	if !ok {
		return signal.Art{}, false
	}
	a.order.MoveToFront(e)
	return e.Value.(*artEntry).art, true
}

func (a *artCache) put(key string, art signal.Art) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.byKey[key]; ok || len(art.Data) > a.limit {
		return
	}
	a.byKey[key] = a.order.PushFront(&artEntry{key: key, art: art})
	a.size += len(art.Data)
	for a.size > a.limit {
		last := a.order.Back()
		old := last.Value.(*artEntry)
		a.order.Remove(last)
		delete(a.byKey, old.key)
		a.size -= len(old.art.Data)
	}
}

// bytes is how much the cache holds.
func (a *artCache) bytes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.size
}

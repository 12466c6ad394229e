package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/telecart/telecart/internal/cluster"
	"github.com/telecart/telecart/internal/signal"
)

// What the coordinators share is in one key-value bucket, so that one
// watch sees every change in the order it was made:
//
//	w.ID  a worker: as it registers, and when it starts draining or its
//	      load moves
//	g.ID  its games: as it registers, and when a picture changes
//	r.ID  a room: at each of its worker's listings
//
// Each key is written by the coordinator that holds the worker's link, its
// holder; every coordinator keeps a copy of all of them, which its own
// writes change at once and the others' as its watch brings them. A room
// is deleted when it ends, and a worker with its games when its link
// closes; a worker whose holder went silent is dropped by each coordinator
// after WorkerTimeout and WorkerGrace, unless it dialled another meanwhile.
const sharedBucket = "telecart"

// workerRecord is a worker as its holder describes it.
type workerRecord struct {
	Holder   string  `json:"holder"`
	Zone     string  `json:"zone,omitempty"`
	Ping     string  `json:"ping,omitempty"`
	Capacity int     `json:"capacity"`
	Draining bool    `json:"draining,omitempty"`
	CPU      float64 `json:"cpu"`
}

type gamesRecord struct {
	Holder string            `json:"holder"`
	Games  []signal.GameInfo `json:"games"`
}

// roomRecord is a room as its worker's holder last heard of it. Ended is
// the reason its players are told when it ended without its worker
// telling them (it was gone when the worker registered again).
type roomRecord struct {
	Holder  string          `json:"holder"`
	Worker  signal.WorkerID `json:"worker"`
	Listing signal.Listing  `json:"listing"`
	Ended   string          `json:"ended,omitempty"`
}

func workerKey(id signal.WorkerID) string { return "w." + cluster.Token(id) }
func gamesKey(id signal.WorkerID) string  { return "g." + cluster.Token(id) }
func roomKey(id signal.RoomID) string     { return "r." + cluster.Token(id) }

// openShared opens the bucket and starts the watch that keeps this
// coordinator's copy, returning once it holds what the bucket held.
func (c *Coordinator) openShared(ctx context.Context) error {
	kv, err := c.cluster.Bucket(ctx, sharedBucket, 0)
	if err != nil {
		return err
	}
	watch, err := c.watchShared(ctx, kv)
	if err != nil {
		return err
	}
	c.shared = kv
	alive, err := c.bus.Subscribe(aliveSubject, func(m *nats.Msg) { c.heardAlive(string(m.Data)) })
	if err != nil {
		_ = watch.Stop()
		return fmt.Errorf("coordinator: hear the others: %w", err)
	}
	caughtUp := make(chan struct{})
	done := caughtUp
	c.running.Add(4)
	go func() {
		defer c.running.Done()
		c.writeShared()
	}()
	go func() {
		defer c.running.Done()
		defer alive.Unsubscribe()
		c.tellAlive()
	}()
	go func() {
		defer c.running.Done()
		defer func() { _ = watch.Stop() }()
		for {
			select {
			case e, ok := <-watch.Updates():
				if !ok {
					// The watch's subscription ended under it: a
					// new one brings every key again.
					c.log.Warn("coordinator: the watch of the shared state ended; watching again")
					again, err := c.watchShared(c.ctx, kv)
					if err != nil {
						return // closing
					}
					watch = again
					continue
				}
				if e == nil { // the end of what the bucket held
					if caughtUp != nil {
						close(caughtUp)
						caughtUp = nil
					}
					continue
				}
				c.applyShared(e)
			case <-c.ctx.Done():
				return
			}
		}
	}()
	go func() {
		defer c.running.Done()
		c.sweep()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("coordinator: read the shared state: %w", ctx.Err())
	}
}

// watchShared watches every key of the bucket, trying again until ctx
// ends: the watch's consumer is made with JetStream's own deadline (5 s),
// which a stream whose leader died outlasts.
func (c *Coordinator) watchShared(ctx context.Context, kv jetstream.KeyValue) (jetstream.KeyWatcher, error) {
	for {
		watch, err := kv.WatchAll(c.ctx)
		if err == nil {
			return watch, nil
		}
		c.log.Warn("coordinator: watch the shared state; trying again", "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("coordinator: watch the shared state: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// share queues a record of the worker's holder's to be written; unshare,
// the keys to be deleted; take, a record written as the worker's new
// holder. A queue of this coordinator's, written by one goroutine in
// order, keeps a worker's link from waiting on JetStream, which stops
// answering for a few seconds when a NATS server that led the bucket
// dies.
//
// A holder writes a key it wrote before only if no one wrote it since
// (the key's revision is still its own): once its worker has dialled
// another coordinator, which took its keys over, a late listing or the
// end of its old link here must not undo what the new holder wrote.
func (c *Coordinator) share(key string, v any) { c.queueRecord(key, v, false) }

func (c *Coordinator) take(key string, v any) { c.queueRecord(key, v, true) }

func (c *Coordinator) unshare(keys ...string) {
	for _, key := range keys {
		c.queueShared(&sharedWrite{key: key})
	}
}

func (c *Coordinator) queueRecord(key string, v any, takeOver bool) {
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error("coordinator: encode shared state", "key", key, "err", err)
		return
	}
	c.queueShared(&sharedWrite{key: key, value: b, takeOver: takeOver})
}

// sharedWrite is a queued write of a key: a value, or a deletion when
// nil. takeOver writes whoever wrote the key last.
type sharedWrite struct {
	key      string
	value    []byte
	takeOver bool
}

// queueShared queues a write. A value for a key whose newest queued write
// is a value not yet written replaces it there; a deletion is queued
// after it, so that others see the last value before it goes (a room's
// reason for ending).
func (c *Coordinator) queueShared(w *sharedWrite) {
	c.sharing.Lock()
	defer c.sharing.Unlock()
	if old := c.pendingValue[w.key]; old != nil && w.value != nil {
		old.value, old.takeOver = w.value, old.takeOver || w.takeOver
	} else {
		c.shareQueue = append(c.shareQueue, w)
		if w.value != nil {
			c.pendingValue[w.key] = w
		} else {
			delete(c.pendingValue, w.key)
		}
	}
	select {
	case c.shareDue <- struct{}{}:
	default:
	}
}

// writeShared writes the queue until Close, retrying a write that failed
// (JetStream electing a new leader) until it is written or overtaken by a
// newer one. written holds the revision of each key this coordinator
// wrote last, while it still owns it.
func (c *Coordinator) writeShared() {
	written := map[string]uint64{}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.shareDue:
		}
		for {
			c.sharing.Lock()
			if len(c.shareQueue) == 0 {
				c.sharing.Unlock()
				break
			}
			w := c.shareQueue[0]
			c.shareQueue = c.shareQueue[1:]
			if c.pendingValue[w.key] == w {
				delete(c.pendingValue, w.key)
			}
			c.sharing.Unlock()
			for c.ctx.Err() == nil {
				rev, err := c.writeKey(w, written[w.key])
				if err == nil {
					if w.value == nil {
						delete(written, w.key)
					} else {
						written[w.key] = rev
					}
					break
				}
				if isWrongRevision(err) {
					// Written by another holder since: no longer ours.
					delete(written, w.key)
					break
				}
				if api := (*jetstream.APIError)(nil); errors.As(err, &api) {
					// An answer, not a silence: the server will refuse
					// it again (a value too large, say).
					c.log.Error("coordinator: the shared state refused a write", "key", w.key, "bytes", len(w.value), "err", err)
					break
				}
				c.log.Warn("coordinator: write shared state; trying again", "key", w.key, "err", err)
				c.sharing.Lock()
				overtaken := w.value != nil && c.pendingValue[w.key] != nil
				c.sharing.Unlock()
				if overtaken {
					break
				}
			}
		}
	}
}

// writeKey writes one queued write: over whatever is there when it takes
// the key over or never wrote it, else only over its own revision last.
func (c *Coordinator) writeKey(w *sharedWrite, last uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	switch {
	case w.value == nil && last == 0:
		return 0, c.shared.Delete(ctx, w.key)
	case w.value == nil:
		return 0, c.shared.Delete(ctx, w.key, jetstream.LastRevision(last))
	case w.takeOver || last == 0:
		return c.shared.Put(ctx, w.key, w.value)
	default:
		return c.shared.Update(ctx, w.key, w.value, last)
	}
}

// isWrongRevision says whether a conditional write failed for a newer
// revision of the key (10071 alone, or 10164 on replicated streams).
func isWrongRevision(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// shareWorker writes w's record, as its holder, taking it over as the
// worker registers; shareGames, its games.
func (c *Coordinator) shareWorker(w *workerConn, takeOver bool) {
	c.mu.Lock()
	rec := workerRecord{Holder: c.id, Zone: w.zone, Ping: w.ping, Capacity: w.capacity, Draining: w.draining, CPU: w.cpu}
	c.mu.Unlock()
	c.queueRecord(workerKey(w.id), rec, takeOver)
}

func (c *Coordinator) shareGames(w *workerConn, takeOver bool) {
	c.mu.Lock()
	rec := gamesRecord{Holder: c.id, Games: slices.Collect(maps.Values(w.games))}
	c.mu.Unlock()
	c.queueRecord(gamesKey(w.id), rec, takeOver)
}

// applyShared applies another coordinator's change to this one's copy.
func (c *Coordinator) applyShared(e jetstream.KeyValueEntry) {
	kind, token, _ := strings.Cut(e.Key(), ".")
	deleted := e.Operation() != jetstream.KeyValuePut
	switch kind {
	case "w":
		id, err := cluster.FromToken[signal.WorkerID](token)
		if err != nil {
			return
		}
		if deleted {
			c.dropRemote(id)
			return
		}
		var rec workerRecord
		if json.Unmarshal(e.Value(), &rec) != nil || rec.Holder == c.id {
			return
		}
		c.applyWorker(id, rec, e.Revision())
	case "g":
		id, err := cluster.FromToken[signal.WorkerID](token)
		var rec gamesRecord
		if err != nil || deleted || json.Unmarshal(e.Value(), &rec) != nil || rec.Holder == c.id {
			return
		}
		c.mu.Lock()
		w := c.workers[id]
		if w != nil && w.holder == rec.Holder {
			w.games = gameMap(rec.Games)
		}
		c.mu.Unlock()
		if w != nil {
			c.workersChanged()
		}
	case "r":
		id, err := cluster.FromToken[signal.RoomID](token)
		if err != nil {
			return
		}
		if deleted {
			c.mu.Lock()
			if r := c.rooms[id]; r != nil && r.worker.holder != c.id {
				c.removeRoom(id)
			}
			c.mu.Unlock()
			return
		}
		var rec roomRecord
		if json.Unmarshal(e.Value(), &rec) != nil || rec.Holder == c.id {
			return
		}
		c.applyRoom(rec)
	}
}

func gameMap(games []signal.GameInfo) map[string]signal.GameInfo {
	m := make(map[string]signal.GameInfo, len(games))
	for _, g := range games {
		m[g.ID] = g
	}
	return m
}

// applyWorker applies another coordinator's record of a worker: one new
// here, one heard of anew, or one that has dialled another coordinator
// than the one that held it (this one, maybe), whose rooms carry on.
func (c *Coordinator) applyWorker(id signal.WorkerID, rec workerRecord, rev uint64) {
	c.mu.Lock()
	old := c.known(id)
	if old != nil && old.holder == rec.Holder {
		changed := old.draining != rec.Draining
		changed = changed || old.zone != rec.Zone || old.ping != rec.Ping || old.capacity != rec.Capacity
		old.zone, old.ping, old.capacity, old.draining, old.cpu, old.rev = rec.Zone, rec.Ping, rec.Capacity, rec.Draining, rec.CPU, rev
		if c.lost[id] == old {
			c.stopGrace(id)
			c.workers[id] = old
			changed = true
		}
		c.mu.Unlock()
		if changed {
			c.workersChanged()
		}
		return
	}
	w := c.newWorkerConn(id, rec.Holder)
	w.zone, w.capacity, w.ping, w.draining, w.cpu, w.rev = rec.Zone, rec.Capacity, rec.Ping, rec.Draining, rec.CPU, rev
	if _, ok := c.alive[rec.Holder]; !ok {
		c.alive[rec.Holder] = time.Now() // it has WorkerTimeout to show it is alive
	}
	c.stopGrace(id)
	c.workers[id] = w
	if old != nil {
		for rid, r := range old.rooms {
			r.worker = w
			w.rooms[rid] = r
		}
		clear(old.rooms)
	}
	c.mu.Unlock()
	if old != nil && old.holder == c.id && old.sub != nil {
		// Its link here is dead, or about to be: the worker is another
		// coordinator's now.
		old.letGo("held by another coordinator")
	}
	if e, err := c.shared.Get(c.ctx, gamesKey(id)); err == nil {
		var games gamesRecord
		if json.Unmarshal(e.Value(), &games) == nil {
			c.mu.Lock()
			w.games = gameMap(games.Games)
			c.mu.Unlock()
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		c.log.Warn("coordinator: read a worker's games", "worker", id, "err", err)
	}
	c.workersChanged()
}

// dropRemote drops a worker another coordinator held, whose link closed:
// its rooms ended with it, and this coordinator's players in them are
// told.
func (c *Coordinator) dropRemote(id signal.WorkerID) {
	c.mu.Lock()
	w := c.known(id)
	c.stopGrace(id)
	c.mu.Unlock()
	if w == nil || w.holder == c.id {
		return
	}
	c.dropWorker(w, true)
	c.workersChanged()
}

// applyRoom applies another coordinator's news of a room of its worker's.
func (c *Coordinator) applyRoom(rec roomRecord) {
	c.mu.Lock()
	w := c.known(rec.Worker)
	if w == nil || w.holder != rec.Holder {
		c.mu.Unlock()
		return
	}
	l := rec.Listing
	r := c.rooms[l.ID]
	if l.Closed {
		var tell []signal.SessionID
		if r != nil && r.worker == w {
			if rec.Ended != "" {
				tell = slices.Collect(maps.Keys(r.sessions))
			}
			c.removeRoom(l.ID)
		}
		c.mu.Unlock()
		for _, id := range tell {
			c.toBrowser(id, signal.Ended{Reason: rec.Ended})
		}
		return
	}
	c.mu.Unlock()
	c.onListing(w, l)
}

// forgetShared deletes the keys of a worker whose holder went silent and
// that did not dial another coordinator within its grace: both are gone,
// and a coordinator started later must not offer it. The worker's key
// goes only if no coordinator wrote it since (the worker dialled one
// after all), and its games and rooms with it. Every coordinator tries;
// the first succeeds.
func (c *Coordinator) forgetShared(w *workerConn, rooms []signal.RoomID) {
	c.mu.Lock()
	rev := w.rev
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	if err := c.shared.Delete(ctx, workerKey(w.id), jetstream.LastRevision(rev)); err != nil {
		return // written since, or deleted by another coordinator
	}
	c.unshare(gamesKey(w.id))
	for _, id := range rooms {
		c.unshare(roomKey(id))
	}
}

// aliveSubject carries each coordinator's id every aliveInterval: the
// workers it holds are as alive as it is. Core NATS, not JetStream: it
// goes on while a NATS server that led the bucket is replaced.
const aliveSubject = "telecart.alive"

// heardAlive notes that coordinator holder is alive, and gives back the
// workers it holds that were kept in their grace for its silence.
func (c *Coordinator) heardAlive(holder string) {
	c.mu.Lock()
	c.alive[holder] = time.Now()
	back := false
	for id, w := range c.lost {
		if w.holder == holder && holder != c.id {
			c.stopGrace(id)
			c.workers[id] = w
			back = true
		}
	}
	c.mu.Unlock()
	if back {
		c.workersChanged()
	}
}

func (c *Coordinator) tellAlive() {
	tick := time.NewTicker(c.cfg.WorkerTimeout / 5)
	defer tick.Stop()
	for {
		if err := c.bus.Publish(aliveSubject, []byte(c.id)); err != nil && c.ctx.Err() == nil {
			c.log.Warn("coordinator: tell the others it is alive", "err", err)
		}
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweep moves the workers whose holder has gone silent to their grace,
// each WorkerTimeout/4, until Close: such a holder is gone, and its
// workers dial another coordinator within the grace if they can.
func (c *Coordinator) sweep() {
	tick := time.NewTicker(c.cfg.WorkerTimeout / 4)
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
		}
		var silent []*workerConn
		c.mu.Lock()
		for _, w := range c.workers {
			if w.holder != c.id && time.Since(c.alive[w.holder]) > c.cfg.WorkerTimeout {
				silent = append(silent, w)
			}
		}
		c.mu.Unlock()
		for _, w := range silent {
			c.log.Info("coordinator: a worker's coordinator went silent; keeping its rooms for it to dial back", "worker", w.id, "holder", w.holder)
			c.keepWorker(w)
		}
		if len(silent) > 0 {
			c.workersChanged()
		}
	}
}

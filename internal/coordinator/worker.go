package coordinator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"

	"github.com/telecart/telecart/internal/cluster"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/workerauth"
)

// workerConn is one registered worker. Its fields other than link, bus
// and sub are guarded by Coordinator.mu.
type workerConn struct {
	// link is the worker's WebSocket, on the coordinator that holds it;
	// sub, that coordinator's subscription to the worker's subject, by
	// which the others reach the link.
	link conn
	sub  *nats.Subscription
	// bus reaches the worker from this coordinator, wherever its link is;
	// holder is the id of the coordinator that holds the link.
	bus      *nats.Conn
	holder   string
	id       signal.WorkerID
	zone     string
	capacity int
	ping     string
	draining bool
	cpu      float64 // the machine's load at the last heartbeat, 0 to 1
	// sharedCPU is the load last shared with the other coordinators; rev,
	// the revision of its record another coordinator's copy has.
	sharedCPU float64
	rev       uint64
	games     map[string]signal.GameInfo
	rooms     map[signal.RoomID]*roomEntry
	// artSlots holds a place for each picture request on its way to it,
	// artAdmitted for those and the ones waiting for a slot (art.go).
	artSlots, artAdmitted chan struct{}
	// grace ends the wait for a worker whose link went silent to dial
	// back (keepWorker); nil while its link is up.
	grace *time.Timer
}

// send sends the worker a message, through whichever coordinator holds
// its link. Its messages reach it in the order they were sent.
func (w *workerConn) send(session signal.SessionID, p signal.Payload) error {
	b, err := signal.Encode(session, p)
	if err != nil {
		return err
	}
	return w.bus.Publish(cluster.WorkerSubject(w.id), b)
}

// deliver sends the worker a message like send, and waits until the
// coordinator holding its link has written it there: a new session's
// first message, whose browser is told when it cannot go.
func (w *workerConn) deliver(ctx context.Context, session signal.SessionID, p signal.Payload) error {
	b, err := signal.Encode(session, p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	for {
		_, err := w.bus.RequestWithContext(ctx, cluster.WorkerSubject(w.id), b)
		if !errors.Is(err, nats.ErrNoResponders) {
			if err != nil {
				return fmt.Errorf("coordinator: worker %s: %w", w.id, err)
			}
			return nil
		}
		// No coordinator holds its link: the one that did has just gone,
		// and the worker is dialling another, within a second or two.
		select {
		case <-ctx.Done():
			return fmt.Errorf("coordinator: worker %s: %w", w.id, err)
		case <-time.After(noResponderRetry):
		}
	}
}

// noResponderRetry is how often a message is sent again to a worker whose
// link no coordinator holds, until writeTimeout.
const noResponderRetry = 50 * time.Millisecond

// holdLink makes this coordinator the one that reaches w for every other:
// what is sent to w's subject is written to its link. A write that fails
// is not answered: its link is closing, and the worker may already be
// held anew, here or by another coordinator, whose answer counts.
func (c *Coordinator) holdLink(w *workerConn) error {
	sub, err := c.bus.Subscribe(cluster.WorkerSubject(w.id), func(m *nats.Msg) {
		if w.link.write(m.Data) == nil && m.Reply != "" {
			_ = m.Respond(nil)
		}
	})
	if err != nil {
		return fmt.Errorf("coordinator: hold worker %s's link: %w", w.id, err)
	}
	w.sub = sub
	return nil
}

// newWorkerConn is worker id as coordinator holder holds it, with
// nothing known of it yet.
func (c *Coordinator) newWorkerConn(id signal.WorkerID, holder string) *workerConn {
	return &workerConn{
		bus: c.bus, holder: holder, id: id,
		games: map[string]signal.GameInfo{}, rooms: map[signal.RoomID]*roomEntry{},
		artSlots: make(chan struct{}, artPerWorker), artAdmitted: make(chan struct{}, artPerWorker+artQueue),
	}
}

// known is worker id as this coordinator knows it, registered or kept in
// its grace; nil when neither. c.mu is held.
func (c *Coordinator) known(id signal.WorkerID) *workerConn {
	if w := c.workers[id]; w != nil {
		return w
	}
	return c.lost[id]
}

// letGo ends this coordinator's hold on a worker's link, another having
// taken it over: its subscription goes first, so that the new holder
// answers for the worker from then on.
func (w *workerConn) letGo(reason string) {
	_ = w.sub.Unsubscribe()
	w.link.ws.Close(websocket.StatusPolicyViolation, reason)
}

// load is how many of its places are taken: its rooms with someone in them.
func (w *workerConn) load() int {
	n := 0
	for _, r := range w.rooms {
		if r.occupied() {
			n++
		}
	}
	return n
}

// serveWorker is a worker's link. The worker presents its credential
// (package workerauth) as a bearer token: one none of the coordinator's
// secrets made is refused before the WebSocket opens, and a register
// under another id than the credential names ends the link. A second
// link with the same id replaces the first: that is the worker dialling
// again, and only the holder of that id's credential can.
func (c *Coordinator) serveWorker(rw http.ResponseWriter, r *http.Request) {
	credID, err := workerauth.Verify(c.cfg.Secrets, bearer(r))
	if err != nil {
		c.log.Warn("coordinator: refused a worker: its credential is wrong or missing; make one with telecart worker-token -id ID from this coordinator's worker_secret",
			"remote", r.RemoteAddr, "err", err)
		refuse(rw, "wrong or missing worker credential")
		return
	}
	if !c.hold() {
		http.Error(rw, closedText, http.StatusServiceUnavailable)
		return
	}
	defer c.running.Done()
	ws, err := websocket.Accept(rw, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(signal.MaxMessage)
	ctx, stop := c.connContext(r)
	defer stop()

	readCtx, cancel := context.WithTimeout(ctx, registerTimeout)
	_, data, err := ws.Read(readCtx)
	cancel()
	if err != nil {
		return
	}
	_, p, err := signal.Decode(data)
	reg, ok := p.(signal.Register)
	if err != nil || !ok {
		c.log.Warn("coordinator: worker did not register", "remote", r.RemoteAddr, "err", err)
		ws.Close(websocket.StatusPolicyViolation, "register first")
		return
	}
	if reg.ID != credID {
		// It would take over that worker's rooms, and their players.
		c.log.Warn("coordinator: refused a worker registering under another id than its credential names",
			"credential", credID, "register", reg.ID, "remote", r.RemoteAddr)
		ws.Close(websocket.StatusPolicyViolation, closeReason("this credential is for worker "+string(credID)+", not "+string(reg.ID)))
		return
	}
	w := c.newWorkerConn(reg.ID, c.id)
	w.link, w.zone, w.capacity, w.ping, w.games = conn{ws: ws, ctx: ctx}, reg.Zone, reg.Capacity, reg.Ping, gameMap(reg.Games)
	if err := c.holdLink(w); err != nil {
		c.log.Error("coordinator: worker refused", "worker", w.id, "err", err)
		ws.Close(websocket.StatusTryAgainLater, "the coordinator cannot reach its cluster")
		return
	}
	defer w.sub.Unsubscribe()
	c.mu.Lock()
	old := c.known(w.id)
	c.stopGrace(w.id)
	c.workers[w.id] = w
	var gone []signal.SessionID
	var goneRooms []signal.RoomID
	if old != nil {
		// The worker dialled again before its old link was seen to drop,
		// or within the grace of one that went silent: its rooms, and the
		// browsers in them, carry on over the new one. Those its
		// registration leaves out ended while their news could not come;
		// but one it has not listed yet may still be opening, its start
		// crossing the new registration.
		listed := make(map[signal.RoomID]bool, len(reg.Rooms))
		for _, l := range reg.Rooms {
			listed[l.ID] = !l.Closed
		}
		for id, r := range old.rooms {
			r.worker = w
			w.rooms[id] = r
			if !listed[id] && r.opening == "" {
				gone = slices.AppendSeq(gone, maps.Keys(r.sessions))
				goneRooms = append(goneRooms, id)
				c.removeRoom(id)
			}
		}
		clear(old.rooms)
	}
	c.mu.Unlock()
	if old != nil && old.holder == c.id {
		old.letGo("replaced by a new connection")
	}
	c.shareGames(w, true)
	c.shareWorker(w, true)
	_, reason := c.words(errRoomEnded)
	for _, id := range gone {
		c.toBrowser(id, signal.Ended{Reason: reason})
	}
	for _, id := range goneRooms {
		c.share(roomKey(id), roomRecord{Holder: c.id, Worker: w.id, Listing: signal.Listing{ID: id, Closed: true}, Ended: reason})
		c.unshare(roomKey(id))
	}
	for _, l := range reg.Rooms {
		c.onListing(w, l)
		c.take(roomKey(l.ID), roomRecord{Holder: c.id, Worker: w.id, Listing: l})
	}
	log := c.log.With("worker", w.id)
	log.Info("coordinator: worker joined", "zone", w.zone, "capacity", w.capacity, "games", len(w.games), "remote", r.RemoteAddr)
	c.workersChanged()
	silent := false
	defer func() {
		switch {
		case ctx.Err() != nil:
			// A link cut by this coordinator's shutdown (Close, or its
			// server's) is no news for the worker's players: their games
			// play on, and they resume them with the next coordinator,
			// where the worker registers them again.
			c.dropWorker(w, false)
		case silent:
			c.keepWorker(w)
		default:
			c.dropWorker(w, true)
		}
		c.dropChecks(nil, w)
		log.Info("coordinator: worker left", "silent", silent)
		c.workersChanged()
	}()

	for {
		readCtx, cancel := context.WithTimeout(ctx, c.cfg.WorkerTimeout)
		_, data, err := ws.Read(readCtx)
		silent = errors.Is(readCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		if err != nil {
			return
		}
		m, p, err := signal.Decode(data)
		if err != nil {
			log.Warn("coordinator: bad message from worker", "err", err)
			continue
		}
		switch p := p.(type) {
		case signal.Heartbeat:
			c.mu.Lock()
			changed := w.draining != p.Draining
			share := changed || math.Abs(p.CPU-w.sharedCPU) >= sharedCPUStep
			w.draining, w.cpu = p.Draining, p.CPU
			if share {
				w.sharedCPU = p.CPU
			}
			c.mu.Unlock()
			if share {
				c.shareWorker(w, false)
			}
			if changed {
				log.Info("coordinator: worker draining", "rooms", p.Rooms)
				c.workersChanged()
			}
		case signal.Listing:
			c.listed(w, p)
		case signal.ArtChanged:
			c.onArtChanged(w, p)
		case signal.Art, signal.Started, signal.SDP, signal.Candidate, signal.RoomState, signal.Refused, signal.Saves, signal.Loaded, signal.WasReset, signal.Ended, signal.Error:
			// For whichever coordinator holds the session's browser
			// (or asked for the picture).
			if m.Session == "" {
				log.Warn("coordinator: a session's message from worker without its session", "type", p.Type())
				continue
			}
			if err := c.bus.Publish(cluster.SessionSubject(m.Session), data); err != nil {
				log.Warn("coordinator: relay to a session", "type", p.Type(), "err", err)
			}
		default:
			log.Warn("coordinator: unexpected message from worker", "type", p.Type())
		}
	}
}

// sharedCPUStep is the change in a worker's load worth telling the other
// coordinators: they choose by it, and a heartbeat's every wobble is no
// news.
const sharedCPUStep = 0.05

// listed applies a listing from a worker whose link this coordinator
// holds, and shares it.
func (c *Coordinator) listed(w *workerConn, l signal.Listing) {
	c.onListing(w, l)
	c.share(roomKey(l.ID), roomRecord{Holder: c.id, Worker: w.id, Listing: l})
	if l.Closed {
		c.unshare(roomKey(l.ID))
	}
}

// keepWorker takes a worker whose link went silent off the list of
// workers, but keeps its rooms for Config.WorkerGrace, for it to dial
// back: silence says nothing of its games, whose pictures and input go
// straight between the worker and the browsers. A narrow uplink that the
// worker's own video fills can hold its heartbeats back past
// WorkerTimeout (TCP's retransmissions back off under loss), and the
// worker dials again within a second of seeing its link closed. Its
// players are told their game ended only if it does not come back.
func (c *Coordinator) keepWorker(w *workerConn) {
	c.mu.Lock()
	if c.workers[w.id] != w || (len(w.rooms) == 0 && w.holder == c.id) {
		c.mu.Unlock()
		c.dropWorker(w, true) // replaced already, or nothing to keep
		return
	}
	delete(c.workers, w.id)
	c.stopGrace(w.id)
	c.lost[w.id] = w
	w.grace = c.afterFunc(c.cfg.WorkerGrace, func() {
		c.mu.Lock()
		late := c.lost[w.id] == w
		if late {
			delete(c.lost, w.id)
			w.grace = nil
		}
		var rooms []signal.RoomID
		if late {
			rooms = slices.Collect(maps.Keys(w.rooms))
		}
		c.mu.Unlock()
		if late {
			c.dropWorker(w, true)
			if w.holder != c.id {
				c.forgetShared(w, rooms)
			}
		}
	})
	c.mu.Unlock()
}

// stopGrace ends the wait for worker id to dial back, if there is one;
// c.mu is held.
func (c *Coordinator) stopGrace(id signal.WorkerID) {
	w := c.lost[id]
	if w == nil {
		return
	}
	delete(c.lost, id)
	if w.grace != nil && w.grace.Stop() {
		c.running.Done() // its function will not run
	}
	w.grace = nil
}

// dropWorker removes a worker and its rooms, and tells the browsers it was
// serving if tell is set. It may run twice for one worker (replaced, then
// its reader ends): the second time there is nothing left to do.
func (c *Coordinator) dropWorker(w *workerConn, tell bool) {
	c.mu.Lock()
	if c.workers[w.id] == w {
		delete(c.workers, w.id)
	}
	var orphans []signal.SessionID
	rooms := slices.Collect(maps.Keys(w.rooms))
	for id, r := range w.rooms {
		if tell {
			orphans = slices.AppendSeq(orphans, maps.Keys(r.sessions))
		}
		c.removeRoom(id)
	}
	replaced := c.known(w.id) != nil
	c.mu.Unlock()
	if tell && w.holder == c.id && !replaced {
		// Gone for every coordinator: each tells its own players. Its
		// rooms' keys go after its own, which ends them everywhere.
		c.unshare(workerKey(w.id), gamesKey(w.id))
		for _, id := range rooms {
			c.unshare(roomKey(id))
		}
	}
	if len(orphans) == 0 {
		return
	}
	_, reason := c.words(errWorkerLost)
	for _, id := range orphans {
		c.toBrowser(id, signal.Ended{Reason: reason})
	}
}

// serveDrain is the operator's call to drain a worker: POST
// /admin/workers/{id}/drain with one of the coordinator's secrets (not a
// worker's credential: a worker drains itself). The worker takes no new
// rooms from then on and stops once its rooms have ended. It reads no
// body.
func (c *Coordinator) serveDrain(rw http.ResponseWriter, r *http.Request) {
	if !c.secretOK(r) {
		c.log.Warn("coordinator: refused an admin call with a wrong or missing secret", "remote", r.RemoteAddr)
		refuse(rw, "wrong or missing secret: the admin endpoint takes worker_secret")
		return
	}
	id := signal.WorkerID(r.PathValue("id"))
	c.mu.Lock()
	w := c.workers[id]
	c.mu.Unlock()
	if w == nil {
		http.Error(rw, "no worker "+string(id), http.StatusNotFound)
		return
	}
	if err := w.deliver(r.Context(), "", signal.Drain{}); err != nil {
		http.Error(rw, "the worker did not take the call: "+err.Error(), http.StatusBadGateway)
		return
	}
	c.log.Info("coordinator: worker asked to drain", "worker", id, "remote", r.RemoteAddr)
	rw.WriteHeader(http.StatusAccepted)
}

// closeReason fits a WebSocket close reason into the 123 bytes a close
// frame has room for.
func closeReason(s string) string {
	const limit = 123
	if len(s) <= limit {
		return s
	}
	s = s[:limit-3]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}

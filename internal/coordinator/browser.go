package coordinator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"

	"github.com/telecart/telecart/internal/cluster"
	"github.com/telecart/telecart/internal/signal"
)

// outboxSize is how many messages a browser may fall behind by before it
// is cut off: a tab that reads nothing must not hold up anyone else.
const outboxSize = 256

var errSlowBrowser = errors.New("coordinator: the browser is too far behind; cut off")

// browserConn is one browser tab: in at most one room at a time. What it
// is sent goes through its outbox, which one goroutine writes to the
// socket in order: whoever sends (a worker's relay, a broadcast) never
// waits for a slow browser.
type browserConn struct {
	conn
	outbox  chan []byte
	session signal.SessionID // guarded by Coordinator.mu
	ref     signal.SessionID // the browser's name for it; guarded by Coordinator.mu
	room    *roomEntry       // guarded by Coordinator.mu
	// sub brings the session's messages from its worker (listen); guarded
	// by Coordinator.mu.
	sub *nats.Subscription
	// latency is the browser's newest report, in ms by worker id; guarded
	// by Coordinator.mu.
	latency map[signal.WorkerID]float64
	// checks are its check connections, the coordinator's ids by the
	// browser's references; guarded by Coordinator.mu.
	checks map[signal.SessionID]signal.SessionID
	// turnID names the browser's connection in its TURN usernames, and so
	// in the TURN server's log.
	turnID string
	// client is whose limits its requests count against (limits.go);
	// unanswered, its session's count until the browser answers the
	// worker's offer, guarded by Coordinator.mu.
	client     *client
	unanswered *hold
	// awaiting is the room it waits for in the rejoin window, if any
	// (Coordinator.awaiting); guarded by Coordinator.mu.
	awaiting signal.RoomID
}

func (c *Coordinator) serveBrowser(w http.ResponseWriter, r *http.Request) {
	if !c.hold() {
		http.Error(w, closedText, http.StatusServiceUnavailable)
		return
	}
	defer c.running.Done()
	key := c.limits.clientOf(r)
	c.mu.Lock()
	cl, err := c.limits.admitSocket(key)
	c.mu.Unlock()
	if err != nil {
		c.refuseSocket(w, r, err)
		return
	}
	// The socket counts until its handler returns, whatever else it held
	// released before (dropBrowser).
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.limits.releaseSocket(cl)
	}()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	defer ws.CloseNow()
	ws.SetReadLimit(signal.MaxMessage)
	ctx, stop := c.connContext(r)
	b := &browserConn{conn: conn{ws: ws, ctx: ctx}, outbox: make(chan []byte, outboxSize), turnID: rand.Text()[:12], client: cl}
	log := c.log.With("browser", r.RemoteAddr, "client", key)
	if len(c.cfg.TURN.URLs) > 0 {
		log.Debug("coordinator: browser connected", "turn_id", b.turnID)
	}
	// The writer and the pinger are this handler's: it stops them and
	// waits for them before it returns.
	var helpers sync.WaitGroup
	helpers.Go(func() { b.writeOut(ctx) })
	defer func() {
		stop()
		helpers.Wait()
	}()

	c.mu.Lock()
	c.browsers[b] = true
	c.mu.Unlock()
	// A browser whose socket closes leaves its room; one cut off by this
	// coordinator shutting down (Close, or its server's) stays in it, to
	// resume its session with the next coordinator while its game plays
	// on.
	defer func() { c.dropBrowser(b, ctx.Err() == nil) }()

	hello, err := c.hello()
	if err == nil {
		var data []byte
		if data, err = hello.With(c.iceServers(b)); err == nil {
			err = b.write(data)
		}
	}
	if err != nil {
		return
	}
	if err := b.send("", c.liveRooms()); err != nil {
		return
	}
	helpers.Go(func() { keepAlive(ctx, ws) })
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		m, p, err := signal.Decode(data)
		if err != nil {
			log.Debug("coordinator: bad message from browser", "err", err)
			if c.refuse(b, "", fmt.Errorf("%w: %w", errBadMessage, err)) != nil {
				return
			}
			continue
		}
		c.fromBrowser(b, m.Session, p)
	}
}

// writeOut writes the outbox to the socket until ctx ends or a write
// fails, which closes the socket and so ends the reader too.
func (b *browserConn) writeOut(ctx context.Context) {
	for {
		select {
		case data := <-b.outbox:
			if err := b.conn.write(data); err != nil {
				b.ws.CloseNow()
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// send queues a message for the browser.
func (b *browserConn) send(session signal.SessionID, p signal.Payload) error {
	data, err := signal.Encode(session, p)
	if err != nil {
		return err
	}
	return b.write(data)
}

// write queues an encoded message; a browser whose outbox is full is cut
// off rather than waited for.
func (b *browserConn) write(data []byte) error {
	select {
	case b.outbox <- data:
		return nil
	default:
		b.ws.CloseNow()
		return errSlowBrowser
	}
}

func (c *Coordinator) fromBrowser(b *browserConn, ref signal.SessionID, p signal.Payload) {
	c.mu.Lock()
	session, current := b.session, b.ref
	var w *workerConn
	if b.room != nil {
		w = b.room.worker
	}
	c.mu.Unlock()
	if id, cw := c.checkOf(b, ref); cw != nil {
		c.fromBrowserToCheck(id, cw, p)
		return
	}
	switch p.(type) {
	case signal.Start, signal.Join, signal.Resume, signal.Check: // a new session's reference
	case signal.Latency: // not about a session
	default:
		if ref != "" && ref != current {
			return // late, for a session the page has left
		}
	}
	switch p := p.(type) {
	case signal.Start, signal.Join, signal.Resume:
		if session != "" {
			_ = c.refuse(b, ref, errInRoom)
			return
		}
		switch p := p.(type) {
		case signal.Start:
			c.start(b, ref, p)
		case signal.Join:
			if c.allowJoin(b, ref) {
				c.enter(b, ref, p.Room, p)
			}
		case signal.Resume:
			c.enter(b, ref, p.Room, p) // counted as a join only if its room is unknown
		}
	case signal.Check:
		c.startCheck(b, ref, p)
	case signal.Latency:
		c.mu.Lock()
		b.latency = p.RTT
		c.mu.Unlock()
	case signal.Quit:
		if session != "" {
			c.endSession(session)
			_ = w.send(session, p)
		}
	case signal.SDP, signal.Candidate, signal.Seat, signal.Nick, signal.Save, signal.Load, signal.Reset:
		if session == "" {
			_ = c.refuse(b, "", errNotInRoom)
			return
		}
		if p.Type() == signal.TypeAnswer {
			c.answered(b, session)
		}
		_ = w.send(session, p)
	default:
		_ = c.refuse(b, "", fmt.Errorf("%w: %s", errNotForBrowsers, p.Type()))
	}
}

// allowJoin takes one of b's client's joins, and reports whether it had
// one; a browser over the limit is told so.
func (c *Coordinator) allowJoin(b *browserConn, ref signal.SessionID) bool {
	c.mu.Lock()
	err := c.limits.allowJoin(b.client)
	c.mu.Unlock()
	if err != nil {
		_ = c.refuse(b, ref, err)
		return false
	}
	return true
}

// answered gives back the count of b's session's, once its browser has
// answered the worker's offer.
func (c *Coordinator) answered(b *browserConn, session signal.SessionID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.session == session {
		c.limits.release(b.unanswered)
		b.unanswered = nil
	}
}

func (c *Coordinator) start(b *browserConn, ref signal.SessionID, req signal.Start, refused ...signal.WorkerID) {
	w, id, roomID, err := c.pick(b, ref, req, refused)
	if err != nil {
		e := c.errorFor(err)
		c.refused.WithLabelValues(e.Code).Inc()
		_ = b.send(ref, e)
		return
	}
	req.Room = roomID
	c.roomsStarted.Inc()
	c.log.Info("coordinator: new room", "room", roomID, "session", id, "game", req.Game, "worker", w.id)
	if !c.forward(b, ref, w, id, req) {
		c.mu.Lock()
		c.removeRoom(roomID) // never opened
		c.mu.Unlock()
	}
}

// enter sends a join or a resume to the worker that runs the room.
func (c *Coordinator) enter(b *browserConn, ref signal.SessionID, room signal.RoomID, req signal.Payload) {
	c.mu.Lock()
	r := c.rooms[room]
	if r == nil {
		game := c.ended.game(room)
		if wait := c.cfg.RejoinWindow - time.Since(c.started); wait > 0 && game == nil {
			// Just (re)started: the room's worker may still be dialling
			// back. The browser hears once it has, or the window is over.
			if c.windowTimer == nil {
				c.windowTimer = c.afterFunc(wait, c.endRejoinWindow)
			}
			c.await(b, room, awaitingEnter{b, ref, req})
			c.mu.Unlock()
			return
		}
		// A resume's secret opens nothing but its own session, and one of
		// a known room is not counted: after a restart, every player
		// behind one address resumes at once. One that finds no room
		// is a guess at a room id like a join, and counts like one.
		err := unknownRoom(req, game)
		if _, resume := req.(signal.Resume); resume {
			if lerr := c.limits.allowJoin(b.client); lerr != nil {
				err, game = lerr, nil
			}
		}
		c.mu.Unlock()
		e := c.errorFor(err)
		e.Game = game
		_ = b.send(ref, e)
		return
	}
	join, unanswered := req.(signal.Join) // a resume's peer is connected already
	if unanswered {
		if err := c.limits.allowSession(b.client, join.Player); err != nil {
			c.mu.Unlock()
			_ = c.refuse(b, ref, err)
			return
		}
	}
	id, err := c.addSession(b, ref, r, join.Player, unanswered)
	w := r.worker
	c.mu.Unlock()
	if err != nil {
		_ = c.refuse(b, ref, err)
		return
	}
	c.forward(b, ref, w, id, req)
}

// awaitingEnter is a join or resume of a room no worker has registered
// yet.
type awaitingEnter struct {
	b   *browserConn
	ref signal.SessionID
	req signal.Payload
}

// await holds a browser's join or resume of a room no worker has
// registered yet, in place of any other it was holding: a page asks for
// one room at a time, and a stranger's guesses must not pile up. c.mu is
// held.
func (c *Coordinator) await(b *browserConn, room signal.RoomID, a awaitingEnter) {
	if old := b.awaiting; old != "" {
		c.awaiting[old] = slices.DeleteFunc(c.awaiting[old], func(a awaitingEnter) bool { return a.b == b })
		if len(c.awaiting[old]) == 0 {
			delete(c.awaiting, old)
		}
	}
	b.awaiting = room
	c.awaiting[room] = append(c.awaiting[room], a)
}

// enterAwaiting lets the browsers waiting for a room in, now that a worker
// has registered it.
func (c *Coordinator) enterAwaiting(room signal.RoomID) {
	for _, a := range c.takeAwaiting(room) {
		c.enter(a.b, a.ref, room, a.req)
	}
}

// endRejoinWindow tells the browsers still waiting for a room, now that
// the rejoin window is over, that it has ended.
func (c *Coordinator) endRejoinWindow() {
	c.mu.Lock()
	rooms := slices.Collect(maps.Keys(c.awaiting))
	c.mu.Unlock()
	for _, room := range rooms {
		for _, a := range c.takeAwaiting(room) {
			_ = c.refuse(a.b, a.ref, unknownRoom(a.req, nil))
		}
	}
}

// unknownRoom is why a join or resume found no room: a resume's room was
// there, and has ended; so has a room that ended here (its game known);
// any other room id is none the server knows.
func unknownRoom(req signal.Payload, game *signal.GameInfo) error {
	if _, resume := req.(signal.Resume); resume || game != nil {
		return errRoomEnded
	}
	return errNoRoom
}

// takeAwaiting takes the browsers waiting for a room that are still here
// and have not gone into another room meanwhile.
func (c *Coordinator) takeAwaiting(room signal.RoomID) []awaitingEnter {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.awaiting[room] {
		if a.b.awaiting == room {
			a.b.awaiting = ""
		}
	}
	waiting := slices.DeleteFunc(c.awaiting[room], func(a awaitingEnter) bool { return !c.browsers[a.b] || a.b.session != "" })
	delete(c.awaiting, room)
	return waiting
}

// forward sends a new session's first message to its worker, and reports
// whether it went.
func (c *Coordinator) forward(b *browserConn, ref signal.SessionID, w *workerConn, id signal.SessionID, p signal.Payload) bool {
	if err := w.deliver(b.ctx, id, p); err != nil {
		c.log.Warn("coordinator: the worker did not take a new session", "worker", w.id, "session", id, "err", err)
		c.endSession(id)
		_ = c.refuse(b, ref, fmt.Errorf("%w: %w", errWorkerUnreachable, err))
		return false
	}
	return true
}

// endSession forgets a session on both sides of the coordinator.
func (c *Coordinator) endSession(id signal.SessionID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.sessions[id]
	if b == nil {
		return
	}
	delete(c.sessions, id)
	if b.sub != nil {
		_ = b.sub.Unsubscribe()
	}
	if b.room != nil {
		delete(b.room.sessions, id)
		b.room.left++
		c.roomsChanged()
	}
	c.limits.release(b.unanswered)
	b.session, b.ref, b.room, b.unanswered, b.sub = "", "", nil, nil, nil
}

func (c *Coordinator) dropBrowser(b *browserConn, leave bool) {
	c.mu.Lock()
	session := b.session
	var w *workerConn
	if b.room != nil {
		w = b.room.worker
	}
	delete(c.browsers, b)
	c.mu.Unlock()
	c.dropChecks(b, nil)
	if session != "" {
		c.endSession(session)
		if leave {
			_ = w.send(session, signal.Quit{}) // the tab is gone: it leaves its room
		}
	}
}

// listen takes the worker's messages for session id, which the
// coordinator that holds the worker's link relays on the session's
// subject: a browser's session, a check or a picture request. A
// subscription's messages come one at a time, in order.
func (c *Coordinator) listen(id signal.SessionID) (*nats.Subscription, error) {
	sub, err := c.bus.Subscribe(cluster.SessionSubject(id), func(m *nats.Msg) {
		_, p, err := signal.Decode(m.Data)
		if err != nil {
			c.log.Warn("coordinator: bad message for a session", "err", err)
			return
		}
		if a, ok := p.(signal.Art); ok {
			c.onArt(id, a)
			return
		}
		c.toBrowser(id, p)
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: listen for a session: %w", err)
	}
	return sub, nil
}

// toBrowser relays a worker's message for a session, named by the
// browser's own reference.
func (c *Coordinator) toBrowser(id signal.SessionID, p signal.Payload) {
	if c.toCheck(id, p) {
		return
	}
	c.mu.Lock()
	b := c.sessions[id]
	var ref signal.SessionID
	var again *pendingStart
	if b != nil {
		ref = b.ref
		e, isError := p.(signal.Error)
		if isError && e.Code == signal.CodeRoomEnded && e.Game == nil && b.room != nil {
			// The worker has forgotten the room; this coordinator knows
			// its game, for the page to offer it afresh.
			e.Game = &b.room.listing.Game
			p = e
		}
		if r := b.room; isError && r != nil && r.opening == id {
			// The worker refused to open the room (full, draining, no
			// such game): no listing will say it closed, and its
			// starter's count of it must go with it. One that was full
			// or draining (another coordinator filled it first) is left
			// out, and the start goes to the next best worker.
			if s := r.start; e.Code == signal.CodeNoWorker && s != nil && s.req.Worker == "" && len(s.refused)+1 < maxStartTries {
				again = s
				again.refused = append(slices.Clip(again.refused), r.worker.id)
			}
			c.removeRoom(r.listing.ID)
		}
	}
	c.mu.Unlock()
	if b == nil {
		return
	}
	if again != nil {
		c.endSession(id)
		c.log.Info("coordinator: a worker refused a new room; choosing another", "refused", again.refused[len(again.refused)-1], "game", again.req.Game)
		again.req.Room = ""
		c.start(b, again.ref, again.req, again.refused...)
		return
	}
	switch p.(type) {
	case signal.Error, signal.Ended:
		c.endSession(id)
	}
	_ = b.send(ref, p)
}

// refuseSocket refuses a browser's socket over a limit: accepted, told
// why in an error, and closed with the same words as its reason (Try
// Again Later), for the page to show them and dial again later. When
// many are being refused at once, a plain HTTP error does, which costs
// nothing after its answer.
func (c *Coordinator) refuseSocket(w http.ResponseWriter, r *http.Request, err error) {
	code, sentence := c.words(err)
	c.mu.Lock()
	inWords := c.limits.beginRefusal()
	c.mu.Unlock()
	if !inWords {
		status := http.StatusTooManyRequests
		if errors.Is(err, errTooManyBrowsers) {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Connection", "close")
		http.Error(w, sentence, status)
		return
	}
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.limits.endRefusal()
	}()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	data, err := signal.Encode("", signal.Error{Code: code, Message: sentence})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), writeTimeout)
	defer cancel()
	if ws.Write(ctx, websocket.MessageText, data) == nil {
		ws.Close(websocket.StatusTryAgainLater, sentence)
	}
}

// keepAlive pings the browser until ctx ends; a ping without a pong
// closes the connection, which ends the reader.
func keepAlive(ctx context.Context, ws *websocket.Conn) {
	tick := time.NewTicker(pingInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := ws.Ping(pctx)
			cancel()
			if err != nil {
				ws.CloseNow()
				return
			}
		}
	}
}

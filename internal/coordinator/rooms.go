package coordinator

import (
	"sort"
	"time"

	"github.com/telecart/telecart/internal/signal"
)

// roomEntry is a room as the coordinator knows it: where it runs, who is
// in it as far as the coordinator has routed them, and the worker's
// newest description of it. Guarded by Coordinator.mu.
type roomEntry struct {
	worker   *workerConn
	listing  signal.Listing
	since    time.Time // when it opened, by this coordinator's clock
	sessions map[signal.SessionID]bool
	// hold is the count of it its starter holds (limits.go), nil for a
	// room this coordinator did not start.
	hold *hold
	// opening is the session that started it until the worker first
	// lists it: if the worker refuses that session, the room never
	// opened, and no listing will say it closed. start is that session's
	// request, meanwhile.
	opening signal.SessionID
	start   *pendingStart
	// left counts this coordinator's sessions that left the room since
	// its worker's last listing.
	left int
}

// occupied says whether anyone is in the room: a session this
// coordinator routed there, or a member its worker lists (who may have
// come through another coordinator), less those of this coordinator's
// sessions that have left since that listing: a place is free again the
// moment its player quits, not a listing later. An empty room still runs
// for a while, for whoever comes back, but its worker gives its place to
// a new room: it does not count against the worker's capacity.
func (r *roomEntry) occupied() bool {
	return len(r.sessions) > 0 || r.listing.Players+r.listing.Spectators-r.left > 0
}

// addRoom registers a room on a worker; c.mu is held.
func (c *Coordinator) addRoom(w *workerConn, l signal.Listing, since time.Time) *roomEntry {
	r := &roomEntry{worker: w, listing: l, since: since, sessions: map[signal.SessionID]bool{}}
	c.rooms[l.ID] = r
	w.rooms[l.ID] = r
	c.roomsChanged()
	return r
}

// removeRoom forgets a room that has ended, remembering its game for
// anyone who opens its link later; c.mu is held.
func (c *Coordinator) removeRoom(id signal.RoomID) {
	r := c.rooms[id]
	if r == nil {
		return
	}
	delete(c.rooms, id)
	delete(r.worker.rooms, id)
	c.limits.release(r.hold)
	r.hold = nil
	c.ended.add(id, r.listing.Game)
	c.roomsChanged()
}

// onListing applies a worker's news about one of its rooms.
func (c *Coordinator) onListing(w *workerConn, l signal.Listing) {
	c.mu.Lock()
	r := c.rooms[l.ID]
	switch {
	case r != nil && r.worker != w:
		// another worker's room of that name: not this one's to change
	case l.Closed:
		c.removeRoom(l.ID)
	case r == nil:
		// A room this coordinator did not open: the worker had it before
		// this coordinator (re)started, and browsers may be waiting for it.
		c.addRoom(w, l, time.Now().Add(-time.Duration(l.Age)*time.Millisecond))
		c.mu.Unlock()
		c.enterAwaiting(l.ID)
		return
	default:
		r.listing, r.left = l, 0
		r.opening, r.start = "", nil
		c.roomsChanged()
	}
	c.mu.Unlock()
}

// roomsBroadcastDelay gathers the changes of a busy moment (everyone
// joining a room at once, workers coming up) into one message to every
// browser.
const roomsBroadcastDelay = 200 * time.Millisecond

// roomsChanged schedules a live rooms broadcast; c.mu is held.
func (c *Coordinator) roomsChanged() {
	if c.roomsDue {
		return
	}
	if t := c.afterFunc(roomsBroadcastDelay, c.broadcastRooms); t != nil {
		c.roomsDue, c.roomsTimer = true, t
	}
}

// broadcastRooms sends the browsers on the list of games the live rooms
// and the hello, whose workers' room counts changed with them. A browser
// in a room shows its game, not the list: sending it every room's every
// change would make the coordinator's work grow with players times rooms.
// It gets the hello only when a worker came, went or changed (it measures
// a new one, for its next game) or its TURN credentials are renewed, and
// both as it leaves its room, since that changes the rooms too.
func (c *Coordinator) broadcastRooms() {
	c.broadcasting.Lock()
	defer c.broadcasting.Unlock()
	type target struct {
		b       *browserConn
		listing bool
	}
	c.mu.Lock()
	helloDue := c.helloDue
	c.roomsDue, c.helloDue = false, false
	targets := make([]target, 0, len(c.browsers))
	anyListing := false
	for b := range c.browsers {
		if listing := b.room == nil; listing || helloDue {
			targets = append(targets, target{b, listing})
			anyListing = anyListing || listing
		}
	}
	c.mu.Unlock()
	if len(targets) == 0 {
		return // everyone plays, and no worker changed: news for nobody
	}
	// Encoded once for every browser: with many rooms the lists are long,
	// and with many games the hello; only its ICE servers are each one's.
	hello, err := c.hello()
	if err != nil {
		c.log.Error("coordinator: encode hello", "err", err)
		return
	}
	// Without TURN, the ICE servers are everyone's too: one message for all.
	var shared []byte
	if len(c.cfg.TURN.URLs) == 0 {
		if shared, err = hello.With(c.cfg.ICEServers); err != nil {
			c.log.Error("coordinator: encode hello", "err", err)
			return
		}
	}
	var live []byte
	if anyListing {
		if live, err = signal.Encode("", c.liveRooms()); err != nil {
			c.log.Error("coordinator: encode live rooms", "err", err)
			return
		}
	}
	for _, t := range targets {
		// A browser that is gone is cleaned up by its reader.
		h := shared
		if h == nil {
			if h, err = hello.With(c.iceServers(t.b)); err != nil {
				c.log.Error("coordinator: encode hello", "err", err)
				return
			}
		}
		if t.b.write(h) == nil && t.listing {
			_ = t.b.write(live)
		}
	}
}

// liveRooms lists the public rooms someone is in, the newest first.
func (c *Coordinator) liveRooms() signal.LiveRooms {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	live := signal.LiveRooms{Rooms: []signal.Listing{}}
	for _, r := range c.rooms {
		if r.listing.Private || !r.occupied() {
			continue
		}
		l := r.listing
		l.Age = now.Sub(r.since).Milliseconds()
		live.Rooms = append(live.Rooms, l)
	}
	sort.Slice(live.Rooms, func(i, j int) bool {
		a, b := live.Rooms[i], live.Rooms[j]
		return a.Age < b.Age || (a.Age == b.Age && a.ID < b.ID)
	})
	return live
}

// maxEnded bounds how many ended rooms are remembered.
const maxEnded = 10000

// endedRooms remembers the games of the last rooms that ended, oldest
// forgotten first: a link to an ended room can then offer its game.
type endedRooms struct {
	games map[signal.RoomID]signal.GameInfo
	order []signal.RoomID
}

func (e *endedRooms) add(id signal.RoomID, g signal.GameInfo) {
	if e.games == nil {
		e.games = map[signal.RoomID]signal.GameInfo{}
	}
	if _, ok := e.games[id]; ok {
		return
	}
	if len(e.order) >= maxEnded {
		delete(e.games, e.order[0])
		e.order = e.order[1:]
	}
	e.games[id] = g
	e.order = append(e.order, id)
}

func (e *endedRooms) game(id signal.RoomID) *signal.GameInfo {
	g, ok := e.games[id]
	if !ok {
		return nil
	}
	return &g
}

package coordinator

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"

	"github.com/telecart/telecart/internal/signal"
)

// Limits bound what one client may ask of the coordinator, so that a few
// strangers cannot take what everyone else needs: sockets, worker places,
// file descriptors, or the time to guess room ids. A client is an address
// (an IPv6 one by its /64, which one host owns); some limits also count
// by the player id a page sends, which is the page's word only, but
// stops one page from holding many seats. A zero limit is no limit (the
// zero Limits, none at all); DefaultLimits are the defaults.
type Limits struct {
	// Sockets bounds the /ws sockets a client has open at once.
	Sockets int
	// StartsPerMinute bounds the new rooms a client starts, per minute;
	// as many may go at once.
	StartsPerMinute int
	// Rooms bounds the rooms a client started that are still live: a
	// room nobody is in counts until it ends, after its linger time, as
	// its runner runs until then.
	Rooms int
	// JoinsPerSecond bounds a client's joins, which name a room that may
	// not exist: guesses; and its resumes of rooms the coordinator does
	// not know (a resume of a known room is not counted: after a
	// restart, every player behind one address resumes at once). A burst
	// of four seconds' worth may go at once.
	JoinsPerSecond int
	// Unanswered bounds a client's sessions whose browser has not yet
	// answered the worker's offer: each holds a peer connection on a
	// worker (a few file descriptors and goroutines) until it answers or
	// the worker gives up on it.
	Unanswered int
	// PlayerRooms and PlayerUnanswered are Rooms and Unanswered for one
	// player id, whatever its address.
	PlayerRooms, PlayerUnanswered int
	// Browsers bounds the /ws sockets of every client together, so that a
	// flood from many addresses cannot take the file descriptors games
	// need (see DefaultBrowsers).
	Browsers int
	// TrustedProxies are the proxies (reverse proxies, load balancers) in
	// front of the coordinator: a request from one of them comes from the
	// right-most address of its X-Forwarded-For that is not one of them.
	TrustedProxies []netip.Prefix
}

// The defaults of the limits (the table of settings', internal/config).
// Each leaves alone a household, or a LAN party of thirty, behind one
// address, and still stops one stranger from taking what others need.
const (
	// DefaultSockets: a page is one socket, and thirty people behind one
	// address each have one, or two; 5,000 from one client cost 222 MB,
	// 32 cost under 2 MB.
	DefaultSockets = 32
	// DefaultStartsPerMinute: ten new games a minute, all at once if
	// need be, is more than people start; a stranger starting rooms to
	// keep runners busy gets ten a minute, each ending after its linger.
	DefaultStartsPerMinute = 10
	// DefaultRooms: eight games at once from one address (a party, each
	// room with up to four players and any number watching), counting
	// the ones just left, which live on for their linger time. Fewer
	// than it takes to fill more than two workers of capacity 4.
	DefaultRooms = 8
	// DefaultJoinsPerSecond: five a second, twenty at once, is more than
	// people click; a guesser of room ids gets five a second, not
	// eleven thousand.
	DefaultJoinsPerSecond = 5
	// DefaultUnanswered: a browser answers an offer within a moment, so
	// even a party joining one room together has few unanswered at
	// once; a stranger's sixteen hold about 80 descriptors on a worker,
	// not thousands.
	DefaultUnanswered = 16
	// DefaultPlayerRooms and DefaultPlayerUnanswered: one player plays
	// one game at a time; four leaves room for games just left, and for
	// a few tabs.
	DefaultPlayerRooms      = 4
	DefaultPlayerUnanswered = 4
)

// DefaultLimits are the limits with their defaults, Browsers that of this
// process, and no trusted proxy.
func DefaultLimits() Limits {
	return Limits{
		Sockets: DefaultSockets, StartsPerMinute: DefaultStartsPerMinute, Rooms: DefaultRooms, JoinsPerSecond: DefaultJoinsPerSecond,
		Unanswered: DefaultUnanswered, PlayerRooms: DefaultPlayerRooms, PlayerUnanswered: DefaultPlayerUnanswered, Browsers: DefaultBrowsers(),
	}
}

// maxDefaultBrowsers caps DefaultBrowsers: memory runs out before file
// descriptors do on a machine that allows a million of them (an idle
// socket costs the coordinator about 44 KiB; BENCHMARKS.md).
const maxDefaultBrowsers = 10_000

// DefaultBrowsers is Limits.Browsers for this process: a quarter of its
// open-file limit, which leaves three quarters to everything else (the
// workers' links, and in the embedded default the games, whose every
// peer takes about five), and 10,000 at most.
func DefaultBrowsers() int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == unix.RLIM_INFINITY {
		return maxDefaultBrowsers
	}
	return int(min(lim.Cur/4, maxDefaultBrowsers))
}

// joinBurst is how many seconds' worth of joins may go at once: a page
// joining a room, reloading, and a household opening one link together.
const joinBurst = 4

// maxRefusing bounds the sockets being refused in words at once (an error
// sent, then a close that waits for the browser's): each holds a file
// descriptor for a moment, and a flood must not make them many. Beyond
// it, a refusal is a plain HTTP 429 or 503.
const maxRefusing = 64

// minSweep is the number of clients from which the limiter looks for
// clients to forget as it meets new ones.
const minSweep = 1024

// limiter counts what each client, each player id and everyone together
// hold, and refuses what goes over a limit. It is the one place counts
// are taken and released: a socket by its handler, a room by its
// roomEntry (removeRoom), an unanswered session by its browserConn (its
// answer, or endSession). Guarded by Coordinator.mu, like the rooms and
// sessions whose lives the counts follow.
type limiter struct {
	Limits
	now     func() time.Time
	log     *slog.Logger
	refused *prometheus.CounterVec // by limit

	clients map[netip.Prefix]*client
	players map[signal.PlayerID]*playerCounts
	// browsers are the sockets admitted, refusing the ones being refused.
	browsers, refusing int
	// sweepAt is the number of clients at which the next new one makes
	// the limiter forget the idle ones.
	sweepAt int
	// warned is set once an untrusted peer sent X-Forwarded-For: an
	// operator's proxy, perhaps, that trusted_proxies does not name.
	// Atomic: clientOf runs before the lock.
	warned atomic.Bool
}

// client is one client address's counts and rate limits. It is kept while
// it holds anything, and after that until its rate limits have filled up
// again: a client must not get fresh ones by reconnecting.
type client struct {
	key                        netip.Prefix
	sockets, rooms, unanswered int
	starts, joins              *rate.Limiter // nil when unlimited
}

// playerCounts is what one player id holds; forgotten when nothing.
type playerCounts struct{ rooms, unanswered int }

// hold is one count a client, and its player id when it sent one, hold
// until its owner releases it, once: a room it started, or a session
// whose answer has not come.
type hold struct {
	cl     *client
	player signal.PlayerID
	room   bool // a room, else an unanswered session
}

func newLimiter(l Limits, now func() time.Time, log *slog.Logger, refused *prometheus.CounterVec) *limiter {
	for _, e := range allLimits {
		refused.WithLabelValues(string(e)) // listed at 0, for dashboards
	}
	return &limiter{
		Limits: l, now: now, log: log, refused: refused,
		clients: map[netip.Prefix]*client{}, players: map[signal.PlayerID]*playerCounts{},
		sweepAt: minSweep,
	}
}

// refuse counts a refusal by a limit and returns it.
func (l *limiter) refuse(e limitError) error {
	l.refused.WithLabelValues(string(e)).Inc()
	return e
}

// admitSocket counts a new socket of the client key, or refuses it.
func (l *limiter) admitSocket(key netip.Prefix) (*client, error) {
	cl := l.clients[key]
	switch {
	case l.Browsers > 0 && l.browsers >= l.Browsers:
		return nil, l.refuse(errTooManyBrowsers)
	case cl != nil && l.Sockets > 0 && cl.sockets >= l.Sockets:
		return nil, l.refuse(errTooManySockets)
	}
	if cl == nil {
		if len(l.clients) >= l.sweepAt {
			l.sweep()
			l.sweepAt = max(minSweep, 2*len(l.clients))
		}
		cl = &client{key: key}
		if l.StartsPerMinute > 0 {
			cl.starts = rate.NewLimiter(rate.Every(time.Minute/time.Duration(l.StartsPerMinute)), l.StartsPerMinute)
		}
		if l.JoinsPerSecond > 0 {
			cl.joins = rate.NewLimiter(rate.Limit(l.JoinsPerSecond), joinBurst*l.JoinsPerSecond)
		}
		l.clients[key] = cl
	}
	cl.sockets++
	l.browsers++
	return cl, nil
}

// releaseSocket uncounts a socket admitSocket counted.
func (l *limiter) releaseSocket(cl *client) {
	cl.sockets--
	l.browsers--
	l.forget(cl)
}

// beginRefusal says whether a socket may be refused in words (accepted, told
// why, closed), and counts it until endRefusal.
func (l *limiter) beginRefusal() bool {
	if l.refusing >= maxRefusing {
		return false
	}
	l.refusing++
	return true
}

func (l *limiter) endRefusal() { l.refusing-- }

// allowJoin takes one of the client's joins, or refuses: a join names a
// room that may not exist, so the attempt counts, not the entry.
func (l *limiter) allowJoin(cl *client) error {
	if cl.joins != nil && !cl.joins.AllowN(l.now(), 1) {
		return l.refuse(errTooManyJoins)
	}
	return nil
}

// allowSession refuses a new session of the client's, and of the player's
// when it sent an id, that would go over their unanswered sessions.
func (l *limiter) allowSession(cl *client, player signal.PlayerID) error {
	if l.Unanswered > 0 && cl.unanswered >= l.Unanswered {
		return l.refuse(errTooManyUnanswered)
	}
	if p := l.players[player]; p != nil && l.PlayerUnanswered > 0 && p.unanswered >= l.PlayerUnanswered {
		return l.refuse(errTooManyPlayerUnanswered)
	}
	return nil
}

// allowStart refuses a new room the client, or the player, may not start
// now; else it takes one of the client's starts, unless it is a start
// sent again to another worker because the one chosen was full (again),
// which the player asked for once.
func (l *limiter) allowStart(cl *client, player signal.PlayerID, again bool) error {
	if l.Rooms > 0 && cl.rooms >= l.Rooms {
		return l.refuse(errTooManyRooms)
	}
	if p := l.players[player]; p != nil && l.PlayerRooms > 0 && p.rooms >= l.PlayerRooms {
		return l.refuse(errTooManyPlayerRooms)
	}
	if err := l.allowSession(cl, player); err != nil {
		return err
	}
	if !again && cl.starts != nil && !cl.starts.AllowN(l.now(), 1) {
		return l.refuse(errTooManyStarts)
	}
	return nil
}

// take counts a room (room) or an unanswered session for the client and
// the player; its owner gives it back with release.
func (l *limiter) take(cl *client, player signal.PlayerID, room bool) *hold {
	h := &hold{cl: cl, player: player, room: room}
	var p *playerCounts
	if player != "" {
		if p = l.players[player]; p == nil {
			p = &playerCounts{}
			l.players[player] = p
		}
	}
	if room {
		cl.rooms++
		if p != nil {
			p.rooms++
		}
	} else {
		cl.unanswered++
		if p != nil {
			p.unanswered++
		}
	}
	return h
}

// release gives back what take counted; nil is nothing. The owner drops
// its hold with it, so that nothing is released twice.
func (l *limiter) release(h *hold) {
	if h == nil {
		return
	}
	p := l.players[h.player]
	if h.room {
		h.cl.rooms--
		if p != nil {
			p.rooms--
		}
	} else {
		h.cl.unanswered--
		if p != nil {
			p.unanswered--
		}
	}
	if p != nil && *p == (playerCounts{}) {
		delete(l.players, h.player)
	}
	l.forget(h.cl)
}

// forget drops a client that holds nothing and whose rate limits are full
// again: it would start afresh as it is.
func (l *limiter) forget(cl *client) {
	if cl.sockets == 0 && cl.rooms == 0 && cl.unanswered == 0 && l.rested(cl) {
		delete(l.clients, cl.key)
	}
}

// rested says whether a client's rate limits have filled up again.
func (l *limiter) rested(cl *client) bool {
	now := l.now()
	for _, r := range []*rate.Limiter{cl.starts, cl.joins} {
		if r != nil && r.TokensAt(now) < float64(r.Burst()) {
			return false
		}
	}
	return true
}

// sweep forgets every client that holds nothing and has rested: those
// whose rate limits were still filling up when they let go of the last
// thing they held.
func (l *limiter) sweep() {
	for _, cl := range l.clients {
		l.forget(cl)
	}
}

// clientOf is the client a request comes from, as the limits count it: the
// address of its peer, or, when the peer is a trusted proxy, the
// right-most address of X-Forwarded-For that is not one (the proxies
// append, so whatever lies left of it the client wrote itself). An IPv6
// client is its /64. A request from an untrusted peer that carries
// X-Forwarded-For is logged once: it may come through a proxy of the
// operator's that trusted_proxies does not name, and then every client
// behind it counts as one.
func (l *limiter) clientOf(r *http.Request) netip.Prefix {
	peer := remoteAddr(r.RemoteAddr)
	if !l.trusted(peer) {
		if len(r.Header.Values("X-Forwarded-For")) > 0 && !l.warned.Swap(true) {
			l.log.Warn("coordinator: a browser's request came with X-Forwarded-For from an address trusted_proxies does not name; "+
				"if it is a proxy of yours, every client behind it counts as one for the limits: name it in trusted_proxies", "peer", peer)
		}
		return clientKey(peer)
	}
	addr := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := strings.Split(hops[i], ",")
		for j := len(list) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(list[j]))
			if err != nil {
				// Not an address a proxy of ours wrote: the hop before
				// it is the nearest to the client that can be told.
				return clientKey(addr)
			}
			addr = a.Unmap()
			if !l.trusted(addr) {
				return clientKey(addr)
			}
		}
	}
	return clientKey(addr) // proxies all the way: the farthest one
}

// trusted says whether a is one of the trusted proxies.
func (l *limiter) trusted(a netip.Addr) bool {
	for _, p := range l.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr is the address of http.Request.RemoteAddr; the zero Addr
// when it has none (a Unix socket).
func remoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// clientKey is the client an address counts as: itself, or for IPv6 its
// /64, which a host gets whole (SLAAC, privacy addresses).
func clientKey(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

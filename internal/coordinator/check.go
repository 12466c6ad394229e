package coordinator

import (
	"github.com/nats-io/nats.go"

	"github.com/telecart/telecart/internal/signal"
)

// maxChecks bounds the check connections one browser has open at once;
// each worker bounds its own too (worker.MaxChecks).
const maxChecks = 8

// checkEntry is one check connection (signal.Check) the coordinator
// relays: a browser's, under its reference, to one worker. Guarded by
// Coordinator.mu, like the sessions.
type checkEntry struct {
	b      *browserConn
	ref    signal.SessionID
	worker *workerConn
	// sub brings the worker's answers (listen).
	sub *nats.Subscription
}

// startCheck relays a browser's check to the worker it names, under a
// session id of the coordinator's: a check is no room session, and a
// browser may run one while it plays.
func (c *Coordinator) startCheck(b *browserConn, ref signal.SessionID, req signal.Check) {
	if ref == "" {
		_ = c.refuse(b, ref, errBadMessage)
		return
	}
	c.mu.Lock()
	w := c.workers[req.Worker]
	_, dup := b.checks[ref]
	var err error
	switch {
	case w == nil:
		err = errNoSuchWorker
	case dup || ref == b.ref:
		err = errBadMessage
	case len(b.checks) >= maxChecks:
		err = errTooManyChecks
	}
	if err != nil {
		c.mu.Unlock()
		_ = c.refuse(b, ref, err)
		return
	}
	id := signal.NewID[signal.SessionID](signal.SecretBytes)
	sub, err := c.listen(id)
	if err != nil {
		c.mu.Unlock()
		_ = c.refuse(b, ref, err)
		return
	}
	c.checks[id] = &checkEntry{b: b, ref: ref, worker: w, sub: sub}
	if b.checks == nil {
		b.checks = map[signal.SessionID]signal.SessionID{}
	}
	b.checks[ref] = id
	c.mu.Unlock()
	if err := w.deliver(b.ctx, id, req); err != nil {
		c.endCheck(id)
		_ = c.refuse(b, ref, errWorkerUnreachable)
	}
}

// checkOf is the check a browser's message is about, by its reference;
// nil when it is about none.
func (c *Coordinator) checkOf(b *browserConn, ref signal.SessionID) (signal.SessionID, *workerConn) {
	if ref == "" {
		return "", nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := b.checks[ref]
	if !ok {
		return "", nil
	}
	return id, c.checks[id].worker
}

// fromBrowserToCheck relays a browser's answer, candidate or quit to the
// check's worker; quit also ends it here.
func (c *Coordinator) fromBrowserToCheck(id signal.SessionID, w *workerConn, p signal.Payload) {
	switch p.(type) {
	case signal.Quit:
		c.endCheck(id)
	case signal.SDP, signal.Candidate:
	default:
		return
	}
	_ = w.send(id, p)
}

// toCheck relays a worker's message for a check to its browser, and
// reports whether id is one.
func (c *Coordinator) toCheck(id signal.SessionID, p signal.Payload) bool {
	c.mu.Lock()
	e := c.checks[id]
	c.mu.Unlock()
	if e == nil {
		return false
	}
	switch p.(type) {
	case signal.SDP, signal.Candidate:
	case signal.Error, signal.Ended:
		c.endCheck(id)
	default:
		return true // a check carries nothing else
	}
	_ = e.b.send(e.ref, p)
	return true
}

// endCheck forgets a check.
func (c *Coordinator) endCheck(id signal.SessionID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetCheck(id)
}

// forgetCheck forgets a check; c.mu is held.
func (c *Coordinator) forgetCheck(id signal.SessionID) {
	e := c.checks[id]
	if e == nil {
		return
	}
	delete(c.checks, id)
	delete(e.b.checks, e.ref)
	_ = e.sub.Unsubscribe()
}

// dropChecks ends a browser's checks, telling their workers, or a
// worker's, telling their browsers; c.mu is not held.
func (c *Coordinator) dropChecks(b *browserConn, w *workerConn) {
	c.mu.Lock()
	var gone []*checkEntry
	var ids []signal.SessionID
	for id, e := range c.checks {
		if e.b == b || e.worker == w {
			gone, ids = append(gone, e), append(ids, id)
			c.forgetCheck(id)
		}
	}
	c.mu.Unlock()
	if b != nil {
		for i, e := range gone {
			_ = e.worker.send(ids[i], signal.Quit{})
		}
		return
	}
	_, reason := c.words(errWorkerLost)
	for _, e := range gone {
		_ = e.b.send(e.ref, signal.Ended{Reason: reason})
	}
}

package worker

import (
	"context"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/peer"
	"github.com/telecart/telecart/internal/signal"
)

// MaxChecks bounds the check connections a worker holds at once: a check
// is cheap (one data channel, no game), and many at once are no check.
const MaxChecks = 4

// checkConn is one check connection (signal.Check): the worker's, by the
// coordinator's session id, in Worker.checks; its goroutine (runCheck)
// closes it.
type checkConn struct {
	peer *peer.Check
	end  chan struct{} // closed to end it: quit, or the worker stops
	once sync.Once
}

func (c *checkConn) stop() { c.once.Do(func() { close(c.end) }) }

// startCheck answers a check with a test peer connection on the worker's
// own WebRTC settings (its UDP port, public IPs): it counts against no
// room, and lives CheckLifetime at most.
func (w *Worker) startCheck(ctx context.Context, id signal.SessionID) {
	w.mu.Lock()
	_, taken := w.checks[id]
	full := len(w.checks) >= MaxChecks
	w.mu.Unlock()
	switch {
	case taken:
		w.refuse(id, signal.Error{Code: signal.CodeBadRequest, Message: "The check is already running."})
		return
	case full:
		w.refuse(id, signal.Error{Code: signal.CodeNoWorker, Message: "This server is checking other connections; try again in a moment."})
		return
	}
	p, offer, err := peer.NewCheck(peer.CheckParams{
		API: w.api, ICEServers: w.cfg.ICEServers, Logger: w.log.With("check", id),
		OnCandidate: func(c webrtc.ICECandidateInit) {
			_ = w.Send(id, signal.Candidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment})
		},
	})
	if err != nil {
		w.log.Error("worker: check connection", "err", err)
		w.refuse(id, signal.Error{Code: signal.CodeInternal, Message: "The server could not make a test connection."})
		return
	}
	c := &checkConn{peer: p, end: make(chan struct{})}
	w.mu.Lock()
	if _, taken := w.checks[id]; taken || len(w.checks) >= MaxChecks {
		w.mu.Unlock()
		p.Close()
		w.refuse(id, signal.Error{Code: signal.CodeNoWorker, Message: "This server is checking other connections; try again in a moment."})
		return
	}
	w.checks[id] = c
	w.checking.Add(1)
	w.mu.Unlock()
	go w.runCheck(ctx, id, c)
	if err := w.Send(id, signal.Offer(offer.SDP)); err != nil {
		c.stop()
		return
	}
	p.Offered()
}

// runCheck closes a check connection once it is over: quit, failed, its
// lifetime up, or the worker stopping.
func (w *Worker) runCheck(ctx context.Context, id signal.SessionID, c *checkConn) {
	defer w.checking.Done()
	timer := time.NewTimer(signal.CheckLifetime)
	defer timer.Stop()
	quit := false
	select {
	case <-c.end:
		quit = true
	case <-c.peer.Done():
	case <-timer.C:
	case <-ctx.Done():
	}
	c.peer.Close()
	w.mu.Lock()
	if w.checks[id] == c {
		delete(w.checks, id)
	}
	w.mu.Unlock()
	if !quit {
		// The coordinator forgets it, and the browser hears why its
		// check went quiet.
		_ = w.Send(id, signal.Ended{Reason: "The test connection is over."})
	}
}

// checkMessage hands a browser's message to its check connection, and
// reports whether id is one.
func (w *Worker) checkMessage(id signal.SessionID, p signal.Payload) bool {
	w.mu.Lock()
	c := w.checks[id]
	w.mu.Unlock()
	if c == nil {
		return false
	}
	var err error
	switch p := p.(type) {
	case signal.Quit:
		c.stop()
	case signal.SDP:
		if p.Type() == signal.TypeAnswer {
			err = c.peer.SetAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: p.SDP})
		}
	case signal.Candidate:
		err = c.peer.AddCandidate(webrtc.ICECandidateInit{Candidate: p.Candidate, SDPMid: p.SDPMid, SDPMLineIndex: p.SDPMLineIndex, UsernameFragment: p.UsernameFragment})
	}
	if err != nil {
		w.log.Debug("worker: check", "session", id, "err", err)
	}
	return true
}

// endChecks ends every check connection and waits until they are closed.
func (w *Worker) endChecks() {
	w.mu.Lock()
	for _, c := range w.checks {
		c.stop()
	}
	w.mu.Unlock()
	w.checking.Wait()
}

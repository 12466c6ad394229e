package peer

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
)

var errTooManyCandidates = errors.New("peer: too many candidates before the answer")

// answering is the browser's half of a negotiation the worker offered:
// its answer, and the candidates it sends before it, which are held until
// the answer is in (a browser gathers, and may send, candidates as soon
// as it has made its answer). A game's Peer and a Check share it.
type answering struct {
	pc *webrtc.PeerConnection
	// maxEarly bounds the candidates held; 0, no bound.
	maxEarly int

	mu       sync.Mutex
	answered bool
	early    []webrtc.ICECandidateInit
}

// SetAnswer applies the browser's answer and the candidates it sent
// before it.
func (a *answering) SetAnswer(answer webrtc.SessionDescription) error {
	if answer.Type != webrtc.SDPTypeAnswer {
		return fmt.Errorf("peer: got %v, want an answer", answer.Type)
	}
	if err := a.pc.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("peer: set answer: %w", err)
	}
	a.mu.Lock()
	early := a.early
	a.early, a.answered = nil, true
	a.mu.Unlock()
	var errs []error
	for _, c := range early {
		if err := a.pc.AddICECandidate(c); err != nil {
			errs = append(errs, fmt.Errorf("peer: add candidate: %w", err))
		}
	}
	return errors.Join(errs...)
}

// AddCandidate adds one of the browser's ICE candidates, keeping it until
// the answer is in.
func (a *answering) AddCandidate(c webrtc.ICECandidateInit) error {
	a.mu.Lock()
	if !a.answered {
		defer a.mu.Unlock()
		if a.maxEarly > 0 && len(a.early) >= a.maxEarly {
			return errTooManyCandidates
		}
		a.early = append(a.early, c)
		return nil
	}
	a.mu.Unlock()
	if err := a.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("peer: add candidate: %w", err)
	}
	return nil
}

package signal

import (
	"errors"
	"fmt"
)

// The messages between a worker and its coordinator.

// Register announces a worker to the coordinator.
type Register struct {
	ID       WorkerID   `json:"id"`
	Zone     string     `json:"zone,omitempty"`
	Capacity int        `json:"capacity"` // rooms it can host at once
	Games    []GameInfo `json:"games"`
	// Ping is the URL browsers measure their latency to this worker with.
	Ping string `json:"ping,omitempty"`
	// Rooms are the rooms it runs already: a worker that lost its link
	// keeps them, and registers them again when it is back.
	Rooms []Listing `json:"rooms,omitempty"`
}

func (Register) Type() Type { return TypeRegister }
func (r Register) validate() error {
	if r.Capacity < 1 || r.Capacity > 10000 {
		return fmt.Errorf("%w: capacity %d", errField, r.Capacity)
	}
	if len(r.Games) > maxGames {
		return fmt.Errorf("%w: more than %d games", errField, maxGames)
	}
	if len(r.Rooms) > r.Capacity {
		return fmt.Errorf("%w: %d rooms, capacity %d", errField, len(r.Rooms), r.Capacity)
	}
	errs := []error{checkID("id", r.ID, true), checkID("zone", r.Zone, false), checkPing(r.Ping)}
	for _, g := range r.Games {
		errs = append(errs, g.validate())
	}
	for _, l := range r.Rooms {
		errs = append(errs, l.validate())
	}
	return errors.Join(errs...)
}

// Heartbeat reports a worker's load.
type Heartbeat struct {
	Rooms int `json:"rooms"`
	// CPU is how busy the worker's machine was since the last heartbeat,
	// 0 to 1 (all cores at work).
	CPU float64 `json:"cpu"`
	// Draining says it takes no new rooms, and stops once its rooms end.
	Draining bool `json:"draining,omitempty"`
}

func (Heartbeat) Type() Type { return TypeHeartbeat }
func (h Heartbeat) validate() error {
	if h.Rooms < 0 || !(h.CPU >= 0 && h.CPU <= 1) {
		return fmt.Errorf("%w: %d rooms, cpu %v", errField, h.Rooms, h.CPU)
	}
	return nil
}

// Drain asks a worker to take no new rooms and to stop once its rooms
// have ended: an operator's call, relayed by the coordinator.
type Drain struct{}

func (Drain) Type() Type      { return TypeDrain }
func (Drain) validate() error { return nil }

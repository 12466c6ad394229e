package signal

import (
	"errors"
	"fmt"
	"strings"
)

// Browser → coordinator, and coordinator → worker with a session.
const (
	TypeStart Type = "start" // Start: play a game
	TypeQuit  Type = "quit"  // Quit: end the session
)

// Both ways, relayed between browser and worker.
const (
	TypeOffer     Type = "offer"     // SDP: the worker's offer
	TypeAnswer    Type = "answer"    // SDP: the browser's answer
	TypeCandidate Type = "candidate" // Candidate: one ICE candidate
)

// Coordinator or worker → browser.
const (
	TypeHello   Type = "hello"   // Hello: the first message on /ws
	TypeStarted Type = "started" // Started: the game runs; an offer follows
	TypeEnded   Type = "ended"   // Ended: the session is over
	TypeError   Type = "error"   // Error: a request failed
)

// Worker → coordinator.
const (
	TypeRegister  Type = "register"  // Register: the first message on /worker
	TypeHeartbeat Type = "heartbeat" // Heartbeat: load, every few seconds
)

func payloadOf(t Type) Payload {
	switch t {
	case TypeStart:
		return &Start{}
	case TypeQuit:
		return &Quit{}
	case TypeOffer, TypeAnswer:
		return &SDP{kind: t}
	case TypeCandidate:
		return &Candidate{}
	case TypeHello:
		return &Hello{}
	case TypeStarted:
		return &Started{}
	case TypeEnded:
		return &Ended{}
	case TypeError:
		return &Error{}
	case TypeRegister:
		return &Register{}
	case TypeHeartbeat:
		return &Heartbeat{}
	}
	return nil
}

// Limits on fields, so one message cannot carry a flood.
const (
	maxID    = 128
	maxText  = 1024
	maxSDP   = 64 << 10
	maxGames = 10000
)

var errField = errors.New("bad field")

func checkID(name, v string, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("%w: %s missing", errField, name)
	case len(v) > maxID:
		return fmt.Errorf("%w: %s longer than %d bytes", errField, name, maxID)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: %s has control characters", errField, name)
	}
	return nil
}

func checkText(name, v string) error {
	if len(v) > maxText {
		return fmt.Errorf("%w: %s longer than %d bytes", errField, name, maxText)
	}
	return nil
}

// Start asks to play a game.
type Start struct {
	Game string `json:"game"` // a GameInfo.ID
}

func (Start) Type() Type        { return TypeStart }
func (s Start) validate() error { return checkID("game", s.Game, true) }

// Quit ends the session.
type Quit struct{}

func (Quit) Type() Type      { return TypeQuit }
func (Quit) validate() error { return nil }

// SDP is an offer or an answer.
type SDP struct {
	SDP  string `json:"sdp"`
	kind Type
}

// Offer and Answer make the two kinds of SDP payload.
func Offer(sdp string) SDP  { return SDP{SDP: sdp, kind: TypeOffer} }
func Answer(sdp string) SDP { return SDP{SDP: sdp, kind: TypeAnswer} }

func (s SDP) Type() Type { return s.kind }
func (s SDP) validate() error {
	if s.SDP == "" || len(s.SDP) > maxSDP || !strings.HasPrefix(s.SDP, "v=0") {
		return fmt.Errorf("%w: sdp is not a session description of at most %d bytes", errField, maxSDP)
	}
	return nil
}

// Candidate is one ICE candidate, as RTCIceCandidateInit.
type Candidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

func (Candidate) Type() Type        { return TypeCandidate }
func (c Candidate) validate() error { return checkText("candidate", c.Candidate) }

// GameInfo is one game of the library.
type GameInfo struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	System string `json:"system"` // a cores.System ID: nes, snes, gb, gba, pce
}

func (g GameInfo) validate() error {
	return errors.Join(checkID("game id", g.ID, true), checkText("title", g.Title), checkID("system", g.System, true))
}

// ICEServer is a STUN or TURN server for the browser.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Hello greets a browser with what it can play and how to connect.
type Hello struct {
	Games      []GameInfo  `json:"games"`
	ICEServers []ICEServer `json:"iceServers,omitempty"`
}

func (Hello) Type() Type { return TypeHello }
func (h Hello) validate() error {
	if len(h.Games) > maxGames {
		return fmt.Errorf("%w: more than %d games", errField, maxGames)
	}
	var errs []error
	for _, g := range h.Games {
		errs = append(errs, g.validate())
	}
	return errors.Join(errs...)
}

// Started says the game runs, with what the picture looks like.
type Started struct {
	Room   string   `json:"room"`
	Game   GameInfo `json:"game"`
	Width  int      `json:"width"`
	Height int      `json:"height"`
	Aspect float64  `json:"aspect"`
	FPS    float64  `json:"fps"`
}

func (Started) Type() Type { return TypeStarted }
func (s Started) validate() error {
	if s.Width <= 0 || s.Height <= 0 || s.Width > 4096 || s.Height > 4096 || !(s.Aspect > 0 && s.Aspect < 10) || !(s.FPS > 0 && s.FPS < 1000) {
		return fmt.Errorf("%w: picture %dx%d, aspect %v, %v fps", errField, s.Width, s.Height, s.Aspect, s.FPS)
	}
	return errors.Join(checkID("room", s.Room, true), s.Game.validate())
}

// Ended says the session is over, and why.
type Ended struct {
	Reason string `json:"reason"`
}

func (Ended) Type() Type        { return TypeEnded }
func (e Ended) validate() error { return checkText("reason", e.Reason) }

// Error codes a browser can act on.
const (
	CodeBadRequest  = "bad_request"  // the message was invalid
	CodeUnknownGame = "unknown_game" // no such game in the library
	CodeNoWorker    = "no_worker"    // no worker has room for the game
	CodeGameFailed  = "game_failed"  // the game would not start, or crashed
	CodeInternal    = "internal"
)

// Error reports a failed request.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (Error) Type() Type { return TypeError }
func (e Error) validate() error {
	return errors.Join(checkID("code", e.Code, true), checkText("message", e.Message))
}

// Register announces a worker to the coordinator.
type Register struct {
	ID       string     `json:"id"`
	Zone     string     `json:"zone,omitempty"`
	Capacity int        `json:"capacity"` // rooms it can host at once
	Games    []GameInfo `json:"games"`
}

func (Register) Type() Type { return TypeRegister }
func (r Register) validate() error {
	if r.Capacity < 1 || r.Capacity > 10000 {
		return fmt.Errorf("%w: capacity %d", errField, r.Capacity)
	}
	if len(r.Games) > maxGames {
		return fmt.Errorf("%w: more than %d games", errField, maxGames)
	}
	errs := []error{checkID("id", r.ID, true), checkID("zone", r.Zone, false)}
	for _, g := range r.Games {
		errs = append(errs, g.validate())
	}
	return errors.Join(errs...)
}

// Heartbeat reports a worker's load.
type Heartbeat struct {
	Rooms int `json:"rooms"`
}

func (Heartbeat) Type() Type { return TypeHeartbeat }
func (h Heartbeat) validate() error {
	if h.Rooms < 0 {
		return fmt.Errorf("%w: %d rooms", errField, h.Rooms)
	}
	return nil
}

package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Browser → coordinator, and coordinator → worker with a session.
const (
	TypeStart   Type = "start"   // Start: play a game in a new room
	TypeJoin    Type = "join"    // Join: enter a running room
	TypeResume  Type = "resume"  // Resume: carry on a session after the socket was lost
	TypeSeat    Type = "seat"    // Seat: take a player slot, or give it up
	TypeNick    Type = "nick"    // Nick: change the name others see
	TypeLatency Type = "latency" // Latency: what the browser measured to each worker
	TypeSave    Type = "save"    // Save: save the game into one of the player's slots
	TypeLoad    Type = "load"    // Load: load one of the player's saves into the room
	TypeReset   Type = "reset"   // Reset: restart the game, as its console's reset button does
	TypeQuit    Type = "quit"    // Quit: leave the room (or end a check)
	TypeCheck   Type = "check"   // Check: a test peer connection to one worker
)

// Both ways, relayed between browser and worker.
const (
	TypeOffer     Type = "offer"     // SDP: the worker's offer
	TypeAnswer    Type = "answer"    // SDP: the browser's answer
	TypeCandidate Type = "candidate" // Candidate: one ICE candidate
)

// Coordinator or worker → browser.
const (
	TypeHello    Type = "hello"     // Hello: the first message on /ws
	TypeStarted  Type = "started"   // Started: the game runs; an offer follows
	TypeRoom     Type = "room"      // RoomState: who is in the room, after every change
	TypeRefused  Type = "refused"   // Refused: a request was turned down; the session goes on
	TypeSaves    Type = "saves"     // Saves: the player's saves of this game
	TypeLoaded   Type = "loaded"    // Loaded: someone loaded a save into the room
	TypeWasReset Type = "was_reset" // WasReset: someone restarted the room's game
	TypeEnded    Type = "ended"     // Ended: the session is over
	TypeError    Type = "error"     // Error: a request failed; the session is over
)

// Coordinator → browser, without a session.
const (
	TypeRooms Type = "rooms" // LiveRooms: the public rooms, after every change
)

// Worker → coordinator.
const (
	TypeRegister  Type = "register"  // Register: the first message on /worker
	TypeHeartbeat Type = "heartbeat" // Heartbeat: load, every few seconds
	TypeListing   Type = "listing"   // Listing: a room opened, changed or closed
	// Art: a game's picture, answering an ArtRequest under its session.
	TypeArt        Type = "art"
	TypeArtChanged Type = "art_changed" // ArtChanged: a game has a new picture
)

// Coordinator → worker, without a session.
const (
	TypeDrain Type = "drain" // Drain: take no new rooms, stop when the last ends
	// ArtRequest: a game's picture, wanted under a session of its own.
	TypeArtRequest Type = "art_request"
)

func payloadOf(t Type) Payload {
	switch t {
	case TypeStart:
		return &Start{}
	case TypeJoin:
		return &Join{}
	case TypeResume:
		return &Resume{}
	case TypeSeat:
		return &Seat{}
	case TypeNick:
		return &Nick{}
	case TypeLatency:
		return &Latency{}
	case TypeSave:
		return &Save{}
	case TypeLoad:
		return &Load{}
	case TypeSaves:
		return &Saves{}
	case TypeLoaded:
		return &Loaded{}
	case TypeReset:
		return &Reset{}
	case TypeWasReset:
		return &WasReset{}
	case TypeQuit:
		return &Quit{}
	case TypeCheck:
		return &Check{}
	case TypeOffer, TypeAnswer:
		return &SDP{kind: t}
	case TypeCandidate:
		return &Candidate{}
	case TypeHello:
		return &Hello{}
	case TypeStarted:
		return &Started{}
	case TypeRoom:
		return &RoomState{}
	case TypeRefused:
		return &Refused{}
	case TypeRooms:
		return &LiveRooms{}
	case TypeListing:
		return &Listing{}
	case TypeDrain:
		return &Drain{}
	case TypeEnded:
		return &Ended{}
	case TypeError:
		return &Error{}
	case TypeRegister:
		return &Register{}
	case TypeHeartbeat:
		return &Heartbeat{}
	case TypeArtRequest:
		return &ArtRequest{}
	case TypeArt:
		return &Art{}
	case TypeArtChanged:
		return &ArtChanged{}
	}
	return nil
}

// MaxID bounds an id (a game's, a room's, a worker's...), in bytes.
const MaxID = 128

// Limits on fields, so one message cannot carry a flood.
const (
	maxText  = 1024
	maxSDP   = 64 << 10
	maxGames = 10000
)

var errField = errors.New("bad field")

func checkID[ID ~string](name string, v ID, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("%w: %s missing", errField, name)
	case len(v) > MaxID:
		return fmt.Errorf("%w: %s longer than %d bytes", errField, name, MaxID)
	case strings.ContainsFunc(string(v), func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: %s has control characters", errField, name)
	case !utf8.ValidString(string(v)):
		// JSON would carry it changed, and it would name nothing.
		return fmt.Errorf("%w: %s is not UTF-8", errField, name)
	}
	return nil
}

// ValidID says whether id can name something in a message: not empty, at
// most MaxID bytes, UTF-8 with no control characters.
func ValidID(id string) bool { return checkID("id", id, true) == nil }

func checkText(name, v string) error {
	if len(v) > maxText {
		return fmt.Errorf("%w: %s longer than %d bytes", errField, name, maxText)
	}
	return nil
}

// MaxNick bounds a nickname, in bytes.
const MaxNick = 40

func checkNick(v string) error {
	if len(v) > MaxNick {
		return fmt.Errorf("%w: nick longer than %d bytes", errField, MaxNick)
	}
	return checkID("nick", v, false)
}

// Start asks to play a game in a new room, holding its player slot 1.
type Start struct {
	Game string `json:"game"` // a GameInfo.ID
	// Room is the new room's id. The coordinator chooses it: whatever a
	// browser puts here is replaced.
	Room RoomID `json:"room,omitempty"`
	// Private hides the room from the live rooms list; its link still works.
	Private bool `json:"private,omitempty"`
	// Crowd lets several peers hold one player slot together.
	Crowd bool   `json:"crowd,omitempty"`
	Nick  string `json:"nick,omitempty"`
	// Player is who is playing, for their saves: the SRAM of the game is
	// theirs, and the room autosaves for them.
	Player PlayerID `json:"player,omitempty"`
	// Zone asks for a worker of that zone, when one can take the room.
	Zone string `json:"zone,omitempty"`
	// Worker asks for that worker by id (the debug panel's choice).
	Worker WorkerID `json:"worker,omitempty"`
}

func (Start) Type() Type { return TypeStart }
func (s Start) validate() error {
	return errors.Join(checkID("game", s.Game, true), checkID("room", s.Room, false), checkNick(s.Nick), CheckPlayer(s.Player, false),
		checkID("zone", s.Zone, false), checkID("worker", s.Worker, false))
}

// MaxLatency bounds a measured round trip, in milliseconds: a worker
// slower than this to answer is as good as unreachable.
const MaxLatency = 10_000

// Latency reports the round trip the browser measured to each worker's
// ping URL, the best of a few tries, in milliseconds. It replaces the
// browser's earlier report; a worker it does not name is unmeasured.
type Latency struct {
	RTT map[WorkerID]float64 `json:"rtt"`
}

func (Latency) Type() Type { return TypeLatency }
func (l Latency) validate() error {
	if len(l.RTT) > maxWorkers {
		return fmt.Errorf("%w: latencies of %d workers", errField, len(l.RTT))
	}
	var errs []error
	for id, ms := range l.RTT {
		errs = append(errs, checkID("worker", id, true))
		if !(ms >= 0 && ms <= MaxLatency) {
			errs = append(errs, fmt.Errorf("%w: %v ms to %s", errField, ms, id))
		}
	}
	return errors.Join(errs...)
}

// Join enters a running room, watching until a slot is taken with Seat.
type Join struct {
	Room   RoomID   `json:"room"`
	Nick   string   `json:"nick,omitempty"`
	Player PlayerID `json:"player,omitempty"` // for their saves
	// Controller asks for a connection without the picture and the sound:
	// the page is a gamepad for a seat, beside a screen that shows the game.
	Controller bool `json:"controller,omitempty"`
}

func (Join) Type() Type { return TypeJoin }
func (j Join) validate() error {
	return errors.Join(checkID("room", j.Room, true), checkNick(j.Nick), CheckPlayer(j.Player, false))
}

// Resume carries on a session whose socket was lost (the coordinator
// restarted, the network blinked) while its peer connection, and the game
// on it, went on: it names the room and the secret the worker gave the
// session in Started. The answer is the room's state, or an error.
type Resume struct {
	Room  RoomID `json:"room"`
	Token string `json:"token"`
}

func (Resume) Type() Type { return TypeResume }
func (r Resume) validate() error {
	return errors.Join(checkID("room", r.Room, true), checkID("token", r.Token, true))
}

// Slots a room has for players; Slot 0 means watching.
const Slots = 4

// Seat asks for player slot 1-4, or 0 to give a slot up and watch.
type Seat struct {
	Slot int `json:"slot"`
}

func (Seat) Type() Type { return TypeSeat }
func (s Seat) validate() error {
	if s.Slot < 0 || s.Slot > Slots {
		return fmt.Errorf("%w: slot %d, want 0 to %d", errField, s.Slot, Slots)
	}
	return nil
}

// Nick changes the name the room shows for this peer; empty shows none.
type Nick struct {
	Nick string `json:"nick"`
}

func (Nick) Type() Type        { return TypeNick }
func (n Nick) validate() error { return checkNick(n.Nick) }

// Check asks for a test peer connection to one worker, the last step of
// the connectivity check (/check, telecart check): the worker offers a
// connection that carries one data channel, "check", which echoes what it
// is sent, and nothing else: no room, no game. Its offer, answer and
// candidates travel like a game's, under the check's own session, which
// Quit ends (the worker also ends it by itself after CheckLifetime).
type Check struct {
	Worker WorkerID `json:"worker"`
}

// CheckLifetime bounds a check connection's life on the worker.
const CheckLifetime = 30 * time.Second

func (Check) Type() Type        { return TypeCheck }
func (c Check) validate() error { return checkID("worker", c.Worker, true) }

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
	ID    string `json:"id"`
	Title string `json:"title"`
	// Detail tells copies of one game apart: the dump tags of its file's
	// name ("USA · Rev 1").
	Detail string `json:"detail,omitempty"`
	System string `json:"system"` // a cores.System ID: nes, snes, gb, gba, pce
	// Art, when the game has a picture, is its version: the page fetches
	// /art/ID?v=ART, which browsers may cache for good, since a changed
	// picture has a new version.
	Art string `json:"art,omitempty"`
}

func (g GameInfo) validate() error {
	return errors.Join(checkID("game id", g.ID, true), checkText("title", g.Title), checkText("detail", g.Detail), checkID("system", g.System, true), checkVersion(g.Art))
}

// checkVersion accepts a picture's version: up to 32 lowercase hex digits.
func checkVersion(v string) error {
	if len(v) > 32 || strings.ContainsFunc(v, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') }) {
		return fmt.Errorf("%w: art version %.40q is not up to 32 hex digits", errField, v)
	}
	return nil
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
	// Workers are the candidates to measure: the browser fetches each
	// one's ping URL a few times and reports the best in Latency.
	Workers []WorkerInfo `json:"workers,omitempty"`
}

// maxWorkers bounds the workers in one message.
const maxWorkers = 1000

// WorkerInfo is a worker as a browser sees it.
type WorkerInfo struct {
	ID   WorkerID `json:"id"`
	Zone string   `json:"zone,omitempty"`
	// Ping answers GET with 204 and CORS headers that allow any page.
	Ping string `json:"ping,omitempty"`
	// Rooms and Capacity say how full it is; Draining, that it takes no
	// new rooms.
	Rooms    int  `json:"rooms"`
	Capacity int  `json:"capacity"`
	Draining bool `json:"draining,omitempty"`
}

func (w WorkerInfo) validate() error {
	errs := []error{checkID("worker", w.ID, true), checkID("zone", w.Zone, false), checkPing(w.Ping)}
	if w.Rooms < 0 || w.Capacity < 0 {
		errs = append(errs, fmt.Errorf("%w: %d rooms of %d", errField, w.Rooms, w.Capacity))
	}
	return errors.Join(errs...)
}

// checkPing accepts an absolute http or https URL, a path on the page's
// own server (the embedded default's worker has no address of its own),
// or nothing.
func checkPing(u string) error {
	if u == "" {
		return nil
	}
	path := strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//")
	if len(u) > maxText || !(path || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) || strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) {
		return fmt.Errorf("%w: ping URL %q is not an http(s) URL or a path", errField, u)
	}
	return nil
}

func (Hello) Type() Type { return TypeHello }
func (h Hello) validate() error {
	if len(h.Games) > maxGames || len(h.Workers) > maxWorkers {
		return fmt.Errorf("%w: more than %d games or %d workers", errField, maxGames, maxWorkers)
	}
	var errs []error
	for _, w := range h.Workers {
		errs = append(errs, w.validate())
	}
	for _, g := range h.Games {
		errs = append(errs, g.validate())
	}
	return errors.Join(errs...)
}

// Started says the game runs, with what the picture looks like.
type Started struct {
	Room RoomID `json:"room"`
	// Resume is the session's secret, to carry it on with Resume after a
	// lost socket.
	Resume string   `json:"resume,omitempty"`
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

// Member is one peer in a room.
type Member struct {
	ID   MemberID `json:"id"`
	Nick string   `json:"nick,omitempty"`
	Slot int      `json:"slot"` // 1-4, or 0 watching
	// Controller: a page that is a gamepad only, with no picture (Join.Controller).
	Controller bool `json:"controller,omitempty"`
}

// RoomState is who is in a room, sent to each of its peers whenever it
// changes. Rev increases with every change, so a late copy is recognisable.
type RoomState struct {
	ID      RoomID   `json:"id"`
	Rev     uint64   `json:"rev"`
	Game    GameInfo `json:"game"`
	Private bool     `json:"private,omitempty"`
	Crowd   bool     `json:"crowd,omitempty"`
	// You is the receiving peer's own Member.ID.
	You     MemberID `json:"you"`
	Members []Member `json:"members"`
}

// maxMembers bounds a room's member list in one message.
const maxMembers = 1000

func (RoomState) Type() Type { return TypeRoom }
func (r RoomState) validate() error {
	if len(r.Members) > maxMembers {
		return fmt.Errorf("%w: more than %d members", errField, maxMembers)
	}
	errs := []error{checkID("room", r.ID, true), checkID("you", r.You, true), r.Game.validate()}
	for _, m := range r.Members {
		errs = append(errs, checkID("member id", m.ID, true), checkNick(m.Nick))
		if m.Slot < 0 || m.Slot > Slots {
			errs = append(errs, fmt.Errorf("%w: slot %d", errField, m.Slot))
		}
	}
	return errors.Join(errs...)
}

// Refusal codes: the request was turned down, the session goes on.
const (
	CodeSlotTaken  = "slot_taken"  // another player holds that slot
	CodeNoPlayer   = "no_player"   // saves need a player id, and the page sent none
	CodeNotPlaying = "not_playing" // loading needs a controller: spectators cannot
	CodeNoSave     = "no_save"     // nothing saved in that slot
	CodeBadSave    = "bad_save"    // the save is damaged, or of another game or core
	CodeSaveFailed = "save_failed" // the game or the storage failed
)

// Refused turns down one request of a session that goes on.
type Refused struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (Refused) Type() Type { return TypeRefused }
func (r Refused) validate() error {
	return errors.Join(checkID("code", r.Code, true), checkText("message", r.Message))
}

// Listing describes a room for the live rooms list: a worker sends one
// whenever a room opens or changes, and one with Closed when it ends.
type Listing struct {
	ID      RoomID   `json:"id"`
	Game    GameInfo `json:"game"`
	Private bool     `json:"private,omitempty"`
	Crowd   bool     `json:"crowd,omitempty"`
	// Players hold a slot; Spectators watch.
	Players    int `json:"players"`
	Spectators int `json:"spectators"`
	// Age is how long the room has been running, in milliseconds, when the
	// message was sent: a duration, so the two ends' clocks need not agree.
	Age    int64 `json:"age"`
	Closed bool  `json:"closed,omitempty"`
}

func (Listing) Type() Type { return TypeListing }
func (l Listing) validate() error {
	if l.Players < 0 || l.Spectators < 0 || l.Age < 0 {
		return fmt.Errorf("%w: %d players, %d spectators, age %d", errField, l.Players, l.Spectators, l.Age)
	}
	return errors.Join(checkID("room", l.ID, true), l.Game.validate())
}

// maxRooms bounds the rooms in one message.
const maxRooms = 10000

// LiveRooms lists the public rooms anyone can join, with at least one
// peer in them.
type LiveRooms struct {
	Rooms []Listing `json:"rooms"`
}

func (LiveRooms) Type() Type { return TypeRooms }
func (l LiveRooms) validate() error {
	if len(l.Rooms) > maxRooms {
		return fmt.Errorf("%w: more than %d rooms", errField, maxRooms)
	}
	var errs []error
	for _, r := range l.Rooms {
		errs = append(errs, r.validate())
	}
	return errors.Join(errs...)
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
	CodeBadGame     = "bad_game"     // the game's file cannot be played: starting it again cannot help
	CodeRoomEnded   = "room_ended"   // the room to join or resume is over
	CodeNoRoom      = "no_room"      // no room has this id, that the server knows of: a mistyped link, or one long over
	CodeRoomFull    = "room_full"    // the room to join has as many people as it takes
	CodeNoSession   = "no_session"   // the session to resume is over: join again
	// CodeTooMany: the client asked for more than its limits allow
	// (sockets, rooms, joins...); the sentence says what to wait for.
	CodeTooMany  = "too_many"
	CodeInternal = "internal"
)

// Error reports a failed request, which ends the session.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Game is the game the request was about, when known: a page whose
	// room has ended can offer to start it afresh.
	Game *GameInfo `json:"game,omitempty"`
}

func (Error) Type() Type { return TypeError }
func (e Error) validate() error {
	errs := []error{checkID("code", e.Code, true), checkText("message", e.Message)}
	if e.Game != nil {
		errs = append(errs, e.Game.validate())
	}
	return errors.Join(errs...)
}

// HelloTemplate is a hello encoded once for many browsers, each of which
// gets ICE servers of its own (its own TURN credentials): the games and
// workers, the long part, are encoded once.
type HelloTemplate struct {
	// head ends just inside the payload's object, tail is the rest of
	// the envelope; a browser's ICE servers go between.
	head, tail []byte
}

// NewHelloTemplate encodes h, whose ICE servers With gives per browser.
func NewHelloTemplate(h Hello) (HelloTemplate, error) {
	h.ICEServers = nil
	m, err := New("", h)
	if err != nil {
		return HelloTemplate{}, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return HelloTemplate{}, fmt.Errorf("signal: encode hello: %w", err)
	}
	// The payload is the envelope's last field, written as it is: the
	// envelope ends with it and a "}".
	at := len(b) - 1 - len(m.Data)
	if at < 0 || !bytes.Equal(b[at:len(b)-1], m.Data) || len(m.Data) < 2 || m.Data[1] != '"' {
		return HelloTemplate{}, fmt.Errorf("signal: encode hello: the payload is not where it belongs in %.100s", b)
	}
	return HelloTemplate{head: b[:at+1], tail: b[at+1:]}, nil
}

// With is the encoded hello with these ICE servers. The template's bytes
// are shared, never changed.
func (t HelloTemplate) With(ice []ICEServer) ([]byte, error) {
	if len(ice) == 0 {
		return slices.Concat(t.head, t.tail), nil
	}
	servers, err := json.Marshal(ice)
	if err != nil {
		return nil, fmt.Errorf("signal: encode ICE servers: %w", err)
	}
	return slices.Concat(t.head, []byte(`"iceServers":`), servers, []byte(","), t.tail), nil
}

// Package signal is the JSON protocol on Telecart's two WebSockets: the
// browser's (/ws) and the worker's (/worker), both ending at the
// coordinator, which relays the WebRTC negotiation between them.
//
// Every message is an envelope {"v": 1, "type": "...", "session": "...",
// "data": {...}}. The version lets a browser with an old page get a clear
// error instead of silence. Between coordinator and worker, session routes
// a worker's messages to the right browser. A browser names each game it
// starts with a session reference of its own choosing in "start"; the
// coordinator puts that reference on everything it relays back for that
// game, so the page can tell a just-quit game's messages from the new
// one's. Decode validates everything: a
// message that is oversized, malformed, of an unknown type or with a
// payload that does not fit its type is an error, never a panic.
package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Version is the protocol version this code speaks.
const Version = 1

// MaxMessage bounds one message. An SDP offer with a few candidates is
// about 4 KiB; a worker's game library is the largest message.
const MaxMessage = 1 << 20

var (
	ErrTooLarge   = errors.New("signal: message too large")
	ErrMalformed  = errors.New("signal: malformed message")
	ErrVersion    = errors.New("signal: unsupported protocol version")
	ErrUnknown    = errors.New("signal: unknown message type")
	ErrBadPayload = errors.New("signal: invalid payload")
)

// Type names a message.
type Type string

// The ids the protocol carries, typed so that one is never passed for
// another. Each is checked like every id: at most 128 bytes, no control
// characters.
type (
	// SessionID names one browser's session in one room between
	// coordinator and worker; a browser names its own with a reference of
	// its choosing.
	SessionID string
	// RoomID names a room, as in its link /r/ROOM.
	RoomID string
	// WorkerID names a worker to the coordinator.
	WorkerID string
	// PlayerID names whose saves are whose: made by the browser on its
	// first visit (the player code), see CheckPlayer.
	PlayerID string
	// MemberID names one member of a room, to the room's members.
	MemberID string
)

// Message is a decoded envelope.
type Message struct {
	V       int             `json:"v"`
	Type    Type            `json:"type"`
	Session SessionID       `json:"session,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Payload is the data of one message type.
type Payload interface {
	Type() Type
	validate() error
}

// New wraps a payload in an envelope.
func New(session SessionID, p Payload) (Message, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return Message{}, fmt.Errorf("signal: encode %s: %w", p.Type(), err)
	}
	return Message{V: Version, Type: p.Type(), Session: session, Data: data}, nil
}

// Encode marshals a payload in an envelope.
func Encode(session SessionID, p Payload) ([]byte, error) {
	m, err := New(session, p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// Decode parses and checks an envelope and returns it with its payload.
func Decode(b []byte) (Message, Payload, error) {
	if len(b) > MaxMessage {
		return Message{}, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(b), MaxMessage)
	}
	var m Message
	if err := strict(b, &m); err != nil {
		return Message{}, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := checkID("session", m.Session, false); err != nil {
		return m, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if m.V != Version {
		return m, nil, fmt.Errorf("%w: %d, this server speaks %d", ErrVersion, m.V, Version)
	}
	p := payloadOf(m.Type)
	if p == nil {
		return m, nil, fmt.Errorf("%w: %q", ErrUnknown, m.Type)
	}
	data := m.Data
	if len(data) == 0 {
		data = []byte("{}")
	}
	if err := strict(data, p); err != nil {
		return m, nil, fmt.Errorf("%w: %s: %w", ErrBadPayload, m.Type, err)
	}
	// p is a pointer; hand out the value so payloads compare and copy.
	p = reflect.ValueOf(p).Elem().Interface().(Payload)
	if err := p.validate(); err != nil {
		return m, nil, fmt.Errorf("%w: %s: %w", ErrBadPayload, m.Type, err)
	}
	return m, p, nil
}

// strict decodes JSON refusing unknown fields and trailing data.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the message")
	}
	return nil
}

// Package pad is the controller state a browser sends on its "input" data
// channel: the whole pad of one player in one small binary message.
//
// The channel is unordered and without retransmission: a lost state is
// replaced by the next one (sent on every change, and again every 100 ms
// while anything is held), never resent late. Seq orders them.
//
//	u8  version (1)
//	u32 seq      increases with every state the browser sends
//	u16 buttons  bit n: RETRO_DEVICE_ID_JOYPAD n (B, Y, Select, Start, Up, Down, Left, Right, A, X, L, R, L2, R2, L3, R3)
//	i16 × 4      analog: left x, left y, right x, right y
//
// All big-endian (a JavaScript DataView's default).
package pad

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	version = 1
	// Size is the length of one message.
	Size = 1 + 4 + 2 + 4*2
)

var ErrMalformed = errors.New("pad: bad input message")

// State is one decoded input message.
type State struct {
	Seq     uint32
	Buttons uint16
	Analog  [4]int16
}

// Parse decodes one message.
func Parse(b []byte) (State, error) {
	if len(b) != Size {
		return State{}, fmt.Errorf("%w: %d bytes, want %d", ErrMalformed, len(b), Size)
	}
	if b[0] != version {
		return State{}, fmt.Errorf("%w: version %d, want %d", ErrMalformed, b[0], version)
	}
	s := State{Seq: binary.BigEndian.Uint32(b[1:]), Buttons: binary.BigEndian.Uint16(b[5:])}
	for i := range s.Analog {
		s.Analog[i] = int16(binary.BigEndian.Uint16(b[7+2*i:]))
	}
	return s, nil
}

// Marshal encodes the state as the browser does.
func (s State) Marshal() []byte {
	b := make([]byte, 0, Size)
	b = append(b, version)
	b = binary.BigEndian.AppendUint32(b, s.Seq)
	b = binary.BigEndian.AppendUint16(b, s.Buttons)
	for _, a := range s.Analog {
		b = binary.BigEndian.AppendUint16(b, uint16(a))
	}
	return b
}

package worker

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The browser sends its player's whole pad state on the "input" data
// channel, unordered and without retransmission: a lost state is replaced
// by the next one (sent on every change, and again every 100 ms while
// anything is held), never resent late.
//
//	u8  version (1)
//	u32 seq      increases with every state the browser sends
//	u16 buttons  bit n: RETRO_DEVICE_ID_JOYPAD n (B, Y, Select, Start, Up, Down, Left, Right, A, X, L, R, L2, R2, L3, R3)
//	i16 × 4      analog: left x, left y, right x, right y
//
// All big-endian (a JavaScript DataView's default).
const (
	inputVersion = 1
	inputSize    = 1 + 4 + 2 + 4*2
)

var errInput = errors.New("worker: bad input message")

// padState is one decoded input message.
type padState struct {
	seq     uint32
	buttons uint16
	analog  [4]int16
}

func parseInput(b []byte) (padState, error) {
	if len(b) != inputSize {
		return padState{}, fmt.Errorf("%w: %d bytes, want %d", errInput, len(b), inputSize)
	}
	if b[0] != inputVersion {
		return padState{}, fmt.Errorf("%w: version %d, want %d", errInput, b[0], inputVersion)
	}
	s := padState{seq: binary.BigEndian.Uint32(b[1:]), buttons: binary.BigEndian.Uint16(b[5:])}
	for i := range s.analog {
		s.analog[i] = int16(binary.BigEndian.Uint16(b[7+2*i:]))
	}
	return s, nil
}

func (s padState) marshal() []byte {
	b := []byte{inputVersion}
	b = binary.BigEndian.AppendUint32(b, s.seq)
	b = binary.BigEndian.AppendUint16(b, s.buttons)
	for _, a := range s.analog {
		b = binary.BigEndian.AppendUint16(b, uint16(a))
	}
	return b
}

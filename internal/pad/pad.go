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
//
// The same channel carries the page's display report (Report), every
// couple of seconds, told apart by its first byte:
//
//	u8  kind (2)
//	u32 slack    µs a received frame waits before it is displayed (a low
//	             percentile of the last frames)
//	u16 frames   how many frames that slack was measured on
//
// A lost report is replaced by the next one.
package pad

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

const (
	version = 1
	// Size is the length of one message.
	Size = 1 + 4 + 2 + 4*2
)

// KindReport is a Report's first byte; a pad state's is its version, 1.
const KindReport = 2

// ReportSize is the length of a Report.
const ReportSize = 1 + 4 + 2

// MaxSlack bounds a report's slack: a frame shown a second after it
// arrived is not a phase any loop can fix.
const MaxSlack = time.Second

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

// Report is what the page measured of the frames it displays: how long
// they wait between their arrival and their display.
type Report struct {
	Slack  time.Duration // a multiple of a microsecond, below MaxSlack
	Frames uint16
}

// ParseReport decodes one display report.
func ParseReport(b []byte) (Report, error) {
	if len(b) != ReportSize || b[0] != KindReport {
		return Report{}, fmt.Errorf("%w: %d bytes, not a report", ErrMalformed, len(b))
	}
	r := Report{Slack: time.Duration(binary.BigEndian.Uint32(b[1:])) * time.Microsecond, Frames: binary.BigEndian.Uint16(b[5:])}
	if r.Slack >= MaxSlack {
		return Report{}, fmt.Errorf("%w: slack of %v", ErrMalformed, r.Slack)
	}
	return r, nil
}

// Marshal encodes the report as the page does.
func (r Report) Marshal() []byte {
	b := make([]byte, 0, ReportSize)
	b = append(b, KindReport)
	b = binary.BigEndian.AppendUint32(b, uint32(r.Slack/time.Microsecond))
	return binary.BigEndian.AppendUint16(b, r.Frames)
}

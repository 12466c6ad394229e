// Package pad is the controller state a browser sends on its "input" data
// channel: the whole pad of one player in one small binary message.
//
// The channel is unordered and without retransmission: a late copy of an
// old state is worse than none, since the pad has moved on by then. So
// loss is repaired by redundancy instead: every message carries the
// player's last few states (version 2), the page sends each change at
// once and copies of it 8, 24 and 56 ms later, and the newest state again
// every 100 ms whether anything is held or not. A state is lost only if
// every message carrying it is (at 10 % random loss, 1 in 10,000 for four
// copies), and then the next change or repeat still brings the pad right.
// Seq orders the states; the receiver applies each new one once, oldest
// first, and drops those it has applied.
//
// Version 2, all big-endian (a JavaScript DataView's default):
//
//	u8  version (2)
//	u8  count    1 to 4 states follow, newest first
//	count × {
//	  u32 seq      increases by one with every new state the browser sends
//	  u16 buttons  bit n: RETRO_DEVICE_ID_JOYPAD n (B, Y, Select, Start, Up, Down, Left, Right, A, X, L, R, L2, R2, L3, R3)
//	  i16 × 4      analog: left x, left y, right x, right y
//	}
//
// Version 1, still accepted, is one state without the count: u8 version
// (1), then the 14 bytes of one state.
//
// The same channel carries the page's display report (Report), every
// couple of seconds, told apart by its first byte:
//
//	u8  kind (0x80)
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
	version1 = 1
	version2 = 2
	// stateSize is one state's bytes: seq, buttons and four axes.
	stateSize = 4 + 2 + 4*2
	// Size is the length of a version 1 message.
	Size = 1 + stateSize
	// MaxStates is how many states a version 2 message may carry.
	MaxStates = 4
	// MaxSize is the length of the largest version 2 message.
	MaxSize = 2 + MaxStates*stateSize
)

// KindReport is a Report's first byte; a pad state's is its version,
// 1 or 2. The high bit keeps it apart from any version to come.
const KindReport = 0x80

// ReportSize is the length of a Report.
const ReportSize = 1 + 4 + 2

// KindEcho is the first byte of an Echo, the one message the worker sends
// on the input channel.
const KindEcho = 0x81

// EchoSize is the length of an Echo.
const EchoSize = 1 + 4 + 4 + 4

// Echo tells a page that the first picture answering one of its pad
// states has gone out: which state (its Seq on that page), how long the
// worker held it, from its arrival to the picture written to the video
// track, and which picture that was: its RTP timestamp, by which the page
// finds it among the frames it shows, and splits its input-to-picture time
// into the way there, the worker, the way back and its own display (the
// stats overlay).
type Echo struct {
	Seq    uint32
	Worker time.Duration // a multiple of a microsecond, below an hour
	RTP    uint32
}

// Marshal encodes the echo: u8 KindEcho, u32 Seq, u32 microseconds, u32 RTP.
func (e Echo) Marshal() []byte {
	b := make([]byte, 0, EchoSize)
	b = append(b, KindEcho)
	b = binary.BigEndian.AppendUint32(b, e.Seq)
	b = binary.BigEndian.AppendUint32(b, uint32(min(e.Worker, time.Hour)/time.Microsecond))
	return binary.BigEndian.AppendUint32(b, e.RTP)
}

// ParseEcho decodes an echo, as the page does.
func ParseEcho(b []byte) (Echo, error) {
	if len(b) != EchoSize || b[0] != KindEcho {
		return Echo{}, fmt.Errorf("%w: %d bytes, not an echo", ErrMalformed, len(b))
	}
	return Echo{
		Seq:    binary.BigEndian.Uint32(b[1:]),
		Worker: time.Duration(binary.BigEndian.Uint32(b[5:])) * time.Microsecond,
		RTP:    binary.BigEndian.Uint32(b[9:]),
	}, nil
}

// MaxSlack bounds a report's slack: a frame shown a second after it
// arrived is not a phase any loop can fix.
const MaxSlack = time.Second

// ErrMalformed is the error of every message Parse refuses.
var ErrMalformed = errors.New("pad: bad input message")

// State is one pad state.
type State struct {
	Seq     uint32
	Buttons uint16
	Analog  [4]int16
}

// Newer says whether sequence number a comes after b. Sequence numbers
// wrap: newer means ahead by less than half the range.
func Newer(a, b uint32) bool { return int32(a-b) > 0 }

// Parse decodes one message into its states, newest first: one for
// version 1, one to four for version 2.
func Parse(b []byte) ([]State, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	switch b[0] {
	case version1:
		if len(b) != Size {
			return nil, fmt.Errorf("%w: version 1 of %d bytes, want %d", ErrMalformed, len(b), Size)
		}
		return []State{parseState(b[1:])}, nil
	case version2:
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: version 2 without its count", ErrMalformed)
		}
		n := int(b[1])
		if n < 1 || n > MaxStates {
			return nil, fmt.Errorf("%w: %d states, want 1 to %d", ErrMalformed, n, MaxStates)
		}
		if want := 2 + n*stateSize; len(b) != want {
			return nil, fmt.Errorf("%w: version 2 with %d states of %d bytes, want %d", ErrMalformed, n, len(b), want)
		}
		states := make([]State, n)
		for i := range states {
			states[i] = parseState(b[2+i*stateSize:])
			if i > 0 && !Newer(states[i-1].Seq, states[i].Seq) {
				return nil, fmt.Errorf("%w: state %d (seq %d) is not older than the one before it (seq %d)",
					ErrMalformed, i, states[i].Seq, states[i-1].Seq)
			}
		}
		return states, nil
	}
	return nil, fmt.Errorf("%w: version %d, want 1 or 2", ErrMalformed, b[0])
}

func parseState(b []byte) State {
	s := State{Seq: binary.BigEndian.Uint32(b), Buttons: binary.BigEndian.Uint16(b[4:])}
	for i := range s.Analog {
		s.Analog[i] = int16(binary.BigEndian.Uint16(b[6+2*i:]))
	}
	return s
}

func (s State) append(b []byte) []byte {
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

// Marshal encodes the state as a version 1 message.
func (s State) Marshal() []byte {
	return s.append(append(make([]byte, 0, Size), version1))
}

// Marshal encodes states, newest first, as a version 2 message, as the
// browser does. It refuses what Parse would.
func Marshal(states ...State) ([]byte, error) {
	if len(states) < 1 || len(states) > MaxStates {
		return nil, fmt.Errorf("%w: %d states, want 1 to %d", ErrMalformed, len(states), MaxStates)
	}
	b := append(make([]byte, 0, 2+len(states)*stateSize), version2, byte(len(states)))
	for i, s := range states {
		if i > 0 && !Newer(states[i-1].Seq, s.Seq) {
			return nil, fmt.Errorf("%w: state %d (seq %d) is not older than the one before it (seq %d)",
				ErrMalformed, i, s.Seq, states[i-1].Seq)
		}
		b = s.append(b)
	}
	return b, nil
}

// Sequencer picks, from the messages of one channel, the states not yet
// applied. The zero Sequencer has applied nothing. It is not safe for
// concurrent use.
type Sequencer struct {
	last uint32
	seen bool
}

// Fresh returns the states of one message (newest first, as Parse gives
// them) that are newer than every state returned before, oldest first:
// the order to apply them in. A state lost in every earlier message comes
// out here before the newer ones that followed it, so a press and its
// release both reach the game even when the press's own messages were
// lost. The rest, copies of states already applied or states older than
// those (a reordered message), are dropped.
func (q *Sequencer) Fresh(states []State) []State {
	var fresh []State
	for i := len(states) - 1; i >= 0; i-- {
		s := states[i]
		if q.seen && !Newer(s.Seq, q.last) {
			continue
		}
		fresh = append(fresh, s)
		q.last, q.seen = s.Seq, true
	}
	return fresh
}

// Package wire is the framed binary protocol between a worker and the runner
// processes it starts, one per game.
//
// Every message is a frame: a 4-byte big-endian length n, then n bytes made
// of a 1-byte type and the payload. Media and input, sent 60 times a second
// or more, have fixed binary layouts; rare control messages carry JSON. The
// two directions of the connection are independent, so input from the worker
// never waits behind video from the runner.
package wire

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"time"
)

// MaxFrame bounds one message: far above any encoded picture or save state
// of the systems we run, low enough that a corrupt length cannot exhaust
// memory.
const MaxFrame = 16 << 20

var (
	ErrTooLarge    = errors.New("wire: message too large")
	ErrUnknownType = errors.New("wire: unknown message type")
	ErrMalformed   = errors.New("wire: malformed message")
)

// Type identifies a message.
type Type uint8

// Runner to worker.
const (
	TypeReady    Type = 1 // JSON Ready: the game is loaded and running
	TypeVideo    Type = 2 // binary Video
	TypeAudio    Type = 3 // binary Audio
	TypeReply    Type = 4 // binary Reply to a Request
	TypeGeometry Type = 5 // JSON Geometry: the picture changed size
	TypeStats    Type = 6 // JSON Stats, once a second
	TypeFatal    Type = 7 // JSON Fatal: the runner is about to exit with an error
	TypePrepared Type = 8 // empty: confined as Prepare asked, waiting for Start
)

// Worker to runner.
const (
	TypeStart      Type = 16 // JSON config, the first message; see runner.Config
	TypeInput      Type = 17 // binary Input
	TypeRequest    Type = 18 // binary Request, answered by a Reply
	TypeKeyframe   Type = 19 // empty: encode the next picture as a keyframe
	TypeSetBitrate Type = 20 // binary SetBitrate
	TypeStop       Type = 21 // empty: save nothing, release everything, exit 0
	TypePhase      Type = 22 // binary Phase: move the frame loop's phase
	TypePrepare    Type = 23 // JSON sandbox spec, before Start; see runner.Pool
)

// Message is any message of this protocol.
type Message interface {
	Type() Type
	appendPayload(b []byte) ([]byte, error)
}

// Ready tells the worker the game runs and what it looks and sounds like.
type Ready struct {
	Core        string  `json:"core"`
	CoreVersion string  `json:"core_version"`
	Width       int     `json:"width"`
	Height      int     `json:"height"`
	Aspect      float64 `json:"aspect"`
	FPS         float64 `json:"fps"`
	SampleRate  float64 `json:"sample_rate"` // the core's, before resampling to 48 kHz
	Codec       string  `json:"codec"`
	// RunAhead is the run-ahead in force, in frames: 0 when off, or
	// when the core cannot save states.
	RunAhead int `json:"run_ahead,omitempty"`
	// Sandbox is the state of each layer of the runner's sandbox.
	Sandbox []SandboxLayer `json:"sandbox,omitempty"`
}

// SandboxLayer says whether one layer of the runner's sandbox holds, and
// what it allows, or why it does not hold.
type SandboxLayer struct {
	Layer  string `json:"layer"`
	On     bool   `json:"on"`
	Detail string `json:"detail,omitempty"`
}

// Geometry announces a new picture size; the next Video is a keyframe.
type Geometry struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Aspect float64 `json:"aspect"`
}

// Stats summarises the last interval of the frame loop.
type Stats struct {
	Interval   time.Duration `json:"interval"`
	Frames     int           `json:"frames"`
	FPS        float64       `json:"fps"`
	Late       int           `json:"late"`            // frames that started after their deadline
	Early      int           `json:"early,omitempty"` // frames run at once on an input change
	Emulate    Timing        `json:"emulate"`
	Convert    Timing        `json:"convert"`
	Encode     Timing        `json:"encode"`
	Audio      Timing        `json:"audio"`
	VideoBytes int           `json:"video_bytes"`
	AudioBytes int           `json:"audio_bytes"`
	CPU        float64       `json:"cpu"` // share of one core used by the runner process
	// Run-ahead's work: the saves of the real state (one a frame while
	// the input holds), and the replays at changes of input, with the
	// frames they ran besides the shown one. Emulate includes both.
	Save           Timing `json:"save"`
	Replays        int    `json:"replays,omitempty"`
	ReplayedFrames int    `json:"replayed_frames,omitempty"`
	Replay         Timing `json:"replay"`
	// VideoKbps is the encoder's target bitrate at the end of the
	// interval: what the room's congestion control last set.
	VideoKbps int `json:"video_kbps"`
}

// Timing is the mean and maximum duration of one stage per frame.
type Timing struct {
	Mean time.Duration `json:"mean"`
	Max  time.Duration `json:"max"`
}

// Fatal carries the reason the runner is exiting: Error for the log, and
// Reason, when the game's file is to blame, for the player.
type Fatal struct {
	Error  string `json:"error"`
	Reason string `json:"reason,omitempty"`
}

// Fatal.Reason: what is wrong with a game's file. Starting it again
// cannot help.
const (
	ReasonEmptyGame    = "empty_game"     // the file is empty
	ReasonGameTooLarge = "game_too_large" // larger than libretro.MaxGameSize
	ReasonNotAGame     = "not_a_game"     // the system's core refused it
)

// Start is the first message to a runner: its configuration as JSON.
type Start struct {
	Config json.RawMessage
}

// Prepare may come before Start, to a runner started before its game is
// known (a pool's): it confines itself now to what any of its games could
// need, the sandbox spec as JSON, so that Start has only the game left to
// load.
type Prepare struct {
	Sandbox json.RawMessage
}

// Prepared tells the worker a runner has done what Prepare asked: it
// waits for its Start with nothing left to do but load the game.
type Prepared struct{}

// Video is one encoded picture.
type Video struct {
	Frame    uint64        // number of the emulated frame, from 0
	Captured time.Time     // when the core finished the frame
	Duration time.Duration // how long the picture stays on screen
	// Input is the Seq of the newest Input applied before this frame was
	// emulated, of any slot: it ties a picture to the input that made it.
	Input    uint32
	Keyframe bool
	Data     []byte
}

// Audio is one encoded Opus packet.
type Audio struct {
	Captured time.Time
	Duration time.Duration
	Data     []byte
}

// Input is the whole controller state of one player slot.
type Input struct {
	Slot uint8
	// Seq increases with every Input the worker sends, across all slots;
	// a state older than the slot's current one is dropped.
	Seq     uint32
	Buttons uint16 // bit n: libretro RETRO_DEVICE_ID_JOYPAD n
	Analog  [4]int16
}

// Op is what a Request asks for.
type Op uint8

const (
	OpSaveState Op = 1 // reply: the state
	OpLoadState Op = 2 // data: a state
	OpReset     Op = 3
	OpReadSRAM  Op = 4 // reply: battery save, empty when the game has none
	OpWriteSRAM Op = 5 // data: battery save
	OpThumbnail Op = 6 // reply: the current picture, see AppendPicture
)

func (o Op) String() string {
	switch o {
	case OpSaveState:
		return "save state"
	case OpLoadState:
		return "load state"
	case OpReset:
		return "reset"
	case OpReadSRAM:
		return "read SRAM"
	case OpWriteSRAM:
		return "write SRAM"
	case OpThumbnail:
		return "thumbnail"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Request asks the runner to act on the game between two frames.
type Request struct {
	ID   uint32
	Op   Op
	Data []byte
}

// Reply answers the Request with the same ID. A non-empty Error means it failed.
type Reply struct {
	ID    uint32
	Error string
	Data  []byte
}

// Keyframe asks for the next picture as a keyframe.
type Keyframe struct{}

// SetBitrate changes the video bitrate while running.
type SetBitrate struct {
	Kbps uint32
}

// Stop asks the runner to exit.
type Stop struct{}

// MaxPhaseOffset bounds Phase.Offset: a shift is less than one frame of
// the slowest core we run, and anything longer is a corrupt message.
const MaxPhaseOffset = time.Second

// Phase asks the runner to produce its frames Offset later than it does
// now, modulo one frame period: the player's display would show them no
// later, and the inputs they answer would be fresher. The runner moves
// there gradually (package runner's pacer).
type Phase struct {
	Offset time.Duration // 0 <= Offset < MaxPhaseOffset
}

func (Ready) Type() Type      { return TypeReady }
func (Geometry) Type() Type   { return TypeGeometry }
func (Stats) Type() Type      { return TypeStats }
func (Fatal) Type() Type      { return TypeFatal }
func (Start) Type() Type      { return TypeStart }
func (Video) Type() Type      { return TypeVideo }
func (Audio) Type() Type      { return TypeAudio }
func (Input) Type() Type      { return TypeInput }
func (Request) Type() Type    { return TypeRequest }
func (Reply) Type() Type      { return TypeReply }
func (Keyframe) Type() Type   { return TypeKeyframe }
func (SetBitrate) Type() Type { return TypeSetBitrate }
func (Stop) Type() Type       { return TypeStop }
func (Phase) Type() Type      { return TypePhase }
func (Prepare) Type() Type    { return TypePrepare }
func (Prepared) Type() Type   { return TypePrepared }

func appendJSON(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("wire: encode %T: %w", v, err)
	}
	return append(b, data...), nil
}

func (m Ready) appendPayload(b []byte) ([]byte, error)    { return appendJSON(b, m) }
func (m Geometry) appendPayload(b []byte) ([]byte, error) { return appendJSON(b, m) }
func (m Stats) appendPayload(b []byte) ([]byte, error)    { return appendJSON(b, m) }
func (m Fatal) appendPayload(b []byte) ([]byte, error)    { return appendJSON(b, m) }
func (m Start) appendPayload(b []byte) ([]byte, error)    { return append(b, m.Config...), nil }
func (m Prepare) appendPayload(b []byte) ([]byte, error)  { return append(b, m.Sandbox...), nil }
func (Keyframe) appendPayload(b []byte) ([]byte, error)   { return b, nil }
func (Stop) appendPayload(b []byte) ([]byte, error)       { return b, nil }
func (Prepared) appendPayload(b []byte) ([]byte, error)   { return b, nil }

func (m SetBitrate) appendPayload(b []byte) ([]byte, error) {
	return binary.BigEndian.AppendUint32(b, m.Kbps), nil
}

func (m Phase) appendPayload(b []byte) ([]byte, error) {
	if m.Offset < 0 || m.Offset >= MaxPhaseOffset {
		return b, fmt.Errorf("wire: phase offset %v out of [0, %v)", m.Offset, MaxPhaseOffset)
	}
	return binary.BigEndian.AppendUint64(b, uint64(m.Offset)), nil
}

func (m Video) appendPayload(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, m.Frame)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Captured.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, uint32(m.Duration))
	b = binary.BigEndian.AppendUint32(b, m.Input)
	flags := byte(0)
	if m.Keyframe {
		flags |= 1
	}
	b = append(b, flags)
	return append(b, m.Data...), nil
}

func (m Audio) appendPayload(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, uint64(m.Captured.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, uint32(m.Duration))
	return append(b, m.Data...), nil
}

func (m Input) appendPayload(b []byte) ([]byte, error) {
	b = append(b, m.Slot)
	b = binary.BigEndian.AppendUint32(b, m.Seq)
	b = binary.BigEndian.AppendUint16(b, m.Buttons)
	for _, a := range m.Analog {
		b = binary.BigEndian.AppendUint16(b, uint16(a))
	}
	return b, nil
}

func (m Request) appendPayload(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint32(b, m.ID)
	b = append(b, byte(m.Op))
	return append(b, m.Data...), nil
}

func (m Reply) appendPayload(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint32(b, m.ID)
	b = binary.BigEndian.AppendUint16(b, uint16(min(len(m.Error), math.MaxUint16)))
	b = append(b, m.Error[:min(len(m.Error), math.MaxUint16)]...)
	return append(b, m.Data...), nil
}

const (
	videoHeader   = 8 + 8 + 4 + 4 + 1
	audioHeader   = 8 + 4
	inputSize     = 1 + 4 + 2 + 4*2
	requestHeader = 4 + 1
	replyHeader   = 4 + 2
	phaseSize     = 8
)

// Decode parses one message's payload. Byte slices in the result are
// copies, so payload may be reused.
func Decode(t Type, payload []byte) (Message, error) {
	be := binary.BigEndian
	short := func(n int) error {
		if len(payload) < n {
			return fmt.Errorf("%w: type %d: %d bytes, need %d", ErrMalformed, t, len(payload), n)
		}
		return nil
	}
	rest := func(n int) []byte { return append([]byte(nil), payload[n:]...) }
	switch t {
	case TypeReady:
		return decodeJSON[Ready](t, payload)
	case TypeGeometry:
		return decodeJSON[Geometry](t, payload)
	case TypeStats:
		return decodeJSON[Stats](t, payload)
	case TypeFatal:
		return decodeJSON[Fatal](t, payload)
	case TypeStart:
		if !json.Valid(payload) {
			return nil, fmt.Errorf("%w: start: invalid JSON", ErrMalformed)
		}
		return Start{Config: rest(0)}, nil
	case TypePrepare:
		if !json.Valid(payload) {
			return nil, fmt.Errorf("%w: prepare: invalid JSON", ErrMalformed)
		}
		return Prepare{Sandbox: rest(0)}, nil
	case TypeKeyframe:
		return Keyframe{}, nil
	case TypeStop:
		return Stop{}, nil
	case TypePrepared:
		return Prepared{}, nil
	case TypeSetBitrate:
		if err := short(4); err != nil {
			return nil, err
		}
		return SetBitrate{Kbps: be.Uint32(payload)}, nil
	case TypePhase:
		if len(payload) != phaseSize {
			return nil, fmt.Errorf("%w: phase: %d bytes, want %d", ErrMalformed, len(payload), phaseSize)
		}
		off := time.Duration(be.Uint64(payload))
		if off < 0 || off >= MaxPhaseOffset {
			return nil, fmt.Errorf("%w: phase offset %v out of [0, %v)", ErrMalformed, off, MaxPhaseOffset)
		}
		return Phase{Offset: off}, nil
	case TypeVideo:
		if err := short(videoHeader); err != nil {
			return nil, err
		}
		return Video{
			Frame:    be.Uint64(payload),
			Captured: time.Unix(0, int64(be.Uint64(payload[8:]))),
			Duration: time.Duration(be.Uint32(payload[16:])),
			Input:    be.Uint32(payload[20:]),
			Keyframe: payload[24]&1 != 0,
			Data:     rest(videoHeader),
		}, nil
	case TypeAudio:
		if err := short(audioHeader); err != nil {
			return nil, err
		}
		return Audio{
			Captured: time.Unix(0, int64(be.Uint64(payload))),
			Duration: time.Duration(be.Uint32(payload[8:])),
			Data:     rest(audioHeader),
		}, nil
	case TypeInput:
		if len(payload) != inputSize {
			return nil, fmt.Errorf("%w: input: %d bytes, want %d", ErrMalformed, len(payload), inputSize)
		}
		in := Input{Slot: payload[0], Seq: be.Uint32(payload[1:]), Buttons: be.Uint16(payload[5:])}
		for i := range in.Analog {
			in.Analog[i] = int16(be.Uint16(payload[7+2*i:]))
		}
		return in, nil
	case TypeRequest:
		if err := short(requestHeader); err != nil {
			return nil, err
		}
		return Request{ID: be.Uint32(payload), Op: Op(payload[4]), Data: rest(requestHeader)}, nil
	case TypeReply:
		if err := short(replyHeader); err != nil {
			return nil, err
		}
		n := int(be.Uint16(payload[4:]))
		if err := short(replyHeader + n); err != nil {
			return nil, err
		}
		return Reply{
			ID:    be.Uint32(payload),
			Error: string(payload[replyHeader : replyHeader+n]),
			Data:  rest(replyHeader + n),
		}, nil
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownType, t)
}

func decodeJSON[T Message](t Type, payload []byte) (Message, error) {
	var m T
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("%w: type %d: %w", ErrMalformed, t, err)
	}
	return m, nil
}

// Writer frames messages onto a stream. It is not safe for concurrent use;
// each side of a connection has exactly one writing goroutine.
type Writer struct {
	w   *bufio.Writer
	buf []byte
}

// NewWriter returns a Writer on w. Messages are buffered until Flush.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10)}
}

// Write queues one message.
func (w *Writer) Write(m Message) error {
	buf, err := m.appendPayload(append(w.buf[:0], 0, 0, 0, 0, byte(m.Type())))
	if err != nil {
		return err
	}
	w.buf = buf
	n := len(w.buf) - 4
	if n > MaxFrame {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	binary.BigEndian.PutUint32(w.buf, uint32(n))
	_, err = w.w.Write(w.buf)
	return err
}

// Flush sends the queued messages.
func (w *Writer) Flush() error { return w.w.Flush() }

// Send writes one message and flushes it.
func (w *Writer) Send(m Message) error {
	if err := w.Write(m); err != nil {
		return err
	}
	return w.Flush()
}

// Reader reads framed messages from a stream.
type Reader struct {
	r   *bufio.Reader
	buf []byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Read returns the next message. It returns io.EOF at a clean end of
// stream, io.ErrUnexpectedEOF inside a frame, and a wrapped ErrTooLarge,
// ErrMalformed or ErrUnknownType for a frame it cannot parse: the stream
// is then out of step and must be dropped.
func (r *Reader) Read() (Message, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	buf := r.buf[:n]
	if _, err := io.ReadFull(r.r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return Decode(Type(buf[0]), buf[1:])
}

// A picture in a Reply: u16 width, u16 height, then RGBA rows.

// AppendPicture appends a width by height picture that fill writes as
// RGBA into the slice it is given.
func AppendPicture(b []byte, width, height int, fill func(rgba []byte) error) ([]byte, error) {
	if width <= 0 || height <= 0 || width > 0xffff || height > 0xffff {
		return nil, fmt.Errorf("wire: picture of %dx%d", width, height)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(width))
	b = binary.BigEndian.AppendUint16(b, uint16(height))
	n := len(b)
	b = append(b, make([]byte, 4*width*height)...)
	return b, fill(b[n:])
}

// ParsePicture reads what AppendPicture wrote.
func ParsePicture(b []byte) (*image.RGBA, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: picture of %d bytes", ErrMalformed, len(b))
	}
	w, h := int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))
	if w == 0 || h == 0 || len(b)-4 != 4*w*h {
		return nil, fmt.Errorf("%w: picture of %dx%d in %d bytes", ErrMalformed, w, h, len(b))
	}
	return &image.RGBA{Pix: b[4:], Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}, nil
}

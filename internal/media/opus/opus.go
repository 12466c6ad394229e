// Package opus encodes and decodes 48 kHz Opus audio with libopus.
//
// The encoder uses Opus's restricted low-delay mode, which drops the speech
// (SILK) layer to get the lowest algorithmic delay, 2.5 ms plus the frame.
// Game audio is mostly music and effects, for which the remaining CELT
// layer is the better codec anyway.
package opus

/*
#cgo pkg-config: opus
#include <opus.h>

// opus_encoder_ctl is variadic, which cgo cannot call.
static int tc_set_bitrate(OpusEncoder *e, opus_int32 bps) {
	return opus_encoder_ctl(e, OPUS_SET_BITRATE(bps));
}

static int tc_set_complexity(OpusEncoder *e, int complexity) {
	return opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(complexity));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// SampleRate is the only sample rate the encoder and decoder use, in Hz.
// It is the rate WebRTC uses for Opus.
const SampleRate = 48000

var (
	// ErrInvalidConfig is returned for settings outside what Opus
	// supports.
	ErrInvalidConfig = errors.New("opus: invalid configuration")
	// ErrFrameSize is returned by Encode when the samples are not
	// exactly one frame.
	ErrFrameSize = errors.New("opus: wrong number of samples for one frame")
	// ErrInvalidPacket is returned by Decode for an empty or corrupt
	// packet.
	ErrInvalidPacket = errors.New("opus: invalid packet")
	// ErrClosed is returned when an Encoder or Decoder is used after
	// Close.
	ErrClosed = errors.New("opus: use of closed codec")
)

const (
	// complexity trades CPU for quality, 0 to 10. At 5 a 10 ms stereo
	// frame takes tens of microseconds, and the gain above it is small
	// for game sound.
	complexity = 5

	// maxPacket is the buffer libopus recommends for one packet.
	maxPacket = 4000

	// maxFrameSamples is the longest Opus packet, 120 ms, per channel.
	maxFrameSamples = SampleRate * 120 / 1000
)

// EncoderConfig describes the stream an Encoder produces.
type EncoderConfig struct {
	// Channels is 1 or 2. Stereo samples are interleaved, left first.
	Channels int
	// BitrateKbps is the target bitrate, 6 to 510 kilobits per second.
	BitrateKbps int
	// FrameDuration is 2.5, 5, 10 or 20 ms. Shorter frames cut delay
	// but cost bitrate in packet overhead and coding efficiency; 10 ms
	// is a good balance for games.
	FrameDuration time.Duration
}

func (c EncoderConfig) validate() error {
	if c.Channels != 1 && c.Channels != 2 {
		return fmt.Errorf("%w: %d channels", ErrInvalidConfig, c.Channels)
	}
	if err := validBitrate(c.BitrateKbps); err != nil {
		return err
	}
	switch c.FrameDuration {
	case 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond:
		return nil
	}
	return fmt.Errorf("%w: frame duration %v", ErrInvalidConfig, c.FrameDuration)
}

func validBitrate(kbps int) error {
	if kbps < 6 || kbps > 510 {
		return fmt.Errorf("%w: bitrate %d kbps", ErrInvalidConfig, kbps)
	}
	return nil
}

// Encoder compresses PCM frames to Opus packets. Its methods may be
// called from several goroutines, but frames are encoded one at a time.
type Encoder struct {
	mu       sync.Mutex
	enc      *C.OpusEncoder // allocated by libopus, freed by Close; nil once closed
	channels int
	samples  int    // per channel per frame
	buf      []byte // backing store for the packet Encode returns
}

// NewEncoder returns an Opus encoder. The caller must Close it to release
// the C memory it holds.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var rc C.int
	enc := C.opus_encoder_create(SampleRate, C.int(cfg.Channels), C.OPUS_APPLICATION_RESTRICTED_LOWDELAY, &rc)
	if rc != C.OPUS_OK || enc == nil {
		return nil, opusError("create encoder", rc)
	}
	e := &Encoder{
		enc:      enc,
		channels: cfg.Channels,
		samples:  int(time.Duration(SampleRate) * cfg.FrameDuration / time.Second),
		buf:      make([]byte, maxPacket),
	}
	if rc := C.tc_set_bitrate(enc, C.opus_int32(cfg.BitrateKbps*1000)); rc != C.OPUS_OK {
		e.Close()
		return nil, opusError("set bitrate", rc)
	}
	if rc := C.tc_set_complexity(enc, complexity); rc != C.OPUS_OK {
		e.Close()
		return nil, opusError("set complexity", rc)
	}
	return e, nil
}

// FrameSamples returns the number of samples per channel in one frame,
// 480 for 10 ms.
func (e *Encoder) FrameSamples() int { return e.samples }

// Encode compresses one frame of interleaved samples, which must hold
// exactly FrameSamples samples per channel. The returned packet is owned
// by the Encoder and valid until the next call to Encode.
func (e *Encoder) Encode(pcm []int16) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return nil, ErrClosed
	}
	if len(pcm) != e.samples*e.channels {
		return nil, fmt.Errorf("%w: got %d, want %d (%d channels of %d)", ErrFrameSize, len(pcm), e.samples*e.channels, e.channels, e.samples)
	}
	n := C.opus_encode(e.enc, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(e.samples),
		(*C.uchar)(unsafe.Pointer(&e.buf[0])), C.opus_int32(len(e.buf)))
	if n < 0 {
		return nil, opusError("encode", n)
	}
	return e.buf[:n], nil
}

// SetBitrate changes the target bitrate from the next frame on.
func (e *Encoder) SetBitrate(kbps int) error {
	if err := validBitrate(kbps); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return ErrClosed
	}
	if rc := C.tc_set_bitrate(e.enc, C.opus_int32(kbps*1000)); rc != C.OPUS_OK {
		return opusError("set bitrate", rc)
	}
	return nil
}

// Close releases the encoder. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc != nil {
		C.opus_encoder_destroy(e.enc)
		e.enc, e.buf = nil, nil
	}
	return nil
}

// Decoder decompresses Opus packets. It exists for tests and tools;
// viewers decode in their browsers. Its methods may be called from several
// goroutines.
type Decoder struct {
	mu       sync.Mutex
	dec      *C.OpusDecoder // allocated by libopus, freed by Close; nil once closed
	channels int
}

// NewDecoder returns a 48 kHz decoder producing channels (1 or 2)
// interleaved channels, whatever the packets carry. The caller must Close
// it to release the C memory it holds.
func NewDecoder(channels int) (*Decoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("%w: %d channels", ErrInvalidConfig, channels)
	}
	var rc C.int
	dec := C.opus_decoder_create(SampleRate, C.int(channels), &rc)
	if rc != C.OPUS_OK || dec == nil {
		return nil, opusError("create decoder", rc)
	}
	return &Decoder{dec: dec, channels: channels}, nil
}

// Decode decompresses one packet and returns its interleaved samples,
// which the caller owns. Packets must be given in order.
func (d *Decoder) Decode(packet []byte) ([]int16, error) {
	if len(packet) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalidPacket)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec == nil {
		return nil, ErrClosed
	}
	data := (*C.uchar)(unsafe.Pointer(&packet[0]))
	// Size the output from the packet's table of contents rather than
	// allocating the 120 ms maximum for every packet.
	n := C.opus_decoder_get_nb_samples(d.dec, data, C.opus_int32(len(packet)))
	if n < 0 {
		return nil, opusError("decode", n)
	}
	if n == 0 || n > maxFrameSamples {
		return nil, fmt.Errorf("%w: %d samples", ErrInvalidPacket, int(n))
	}
	pcm := make([]int16, int(n)*d.channels)
	got := C.opus_decode(d.dec, data, C.opus_int32(len(packet)), (*C.opus_int16)(unsafe.Pointer(&pcm[0])), n, 0)
	if got < 0 {
		return nil, opusError("decode", got)
	}
	return pcm[:int(got)*d.channels], nil
}

// Close releases the decoder. It is safe to call more than once.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec != nil {
		C.opus_decoder_destroy(d.dec)
		d.dec = nil
	}
	return nil
}

// opusError describes a libopus error code. Corrupt packets match
// ErrInvalidPacket.
func opusError(op string, rc C.int) error {
	msg := C.GoString(C.opus_strerror(rc))
	if rc == C.OPUS_INVALID_PACKET {
		return fmt.Errorf("opus: %s: %w (%s)", op, ErrInvalidPacket, msg)
	}
	return fmt.Errorf("opus: %s: %s", op, msg)
}

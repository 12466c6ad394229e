// Package resample converts audio between sample rates with the speexdsp
// resampler.
//
// Emulated consoles produce sound at their own, often fractional, rates:
// the SNES at about 32040.5 Hz, the GBA at 32768 Hz, the NES at 44100 or
// 48000 Hz depending on the core. Opus wants 48 kHz. The ratio is kept to
// two decimal places of the input rate, so a fractional rate does not drift
// against the output over a long session.
package resample

/*
#cgo pkg-config: speexdsp
#include <speex/speex_resampler.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unsafe"
)

// ErrInvalidConfig is returned by New for unsupported channel counts,
// rates or qualities.
var ErrInvalidConfig = errors.New("resample: invalid configuration")

const (
	maxChannels = 8
	maxRate     = 384000
)

// Resampler converts interleaved 16-bit audio from one rate to another. Its
// methods may be called from several goroutines, but calls to Process are
// one at a time and must come in stream order.
type Resampler struct {
	mu       sync.Mutex
	st       *C.SpeexResamplerState // nil for pass-through or once closed
	closed   bool
	channels int
	num, den int     // input:output ratio, reduced
	pending  []int16 // samples of an incomplete frame, kept for the next call
	joined   []int16 // scratch for pending samples followed by new input
}

// New returns a resampler from inRate to outRate Hz for channels
// interleaved channels. Quality is speexdsp's, 0 (fastest) to 10 (best);
// 3 to 5 suit game audio.
//
// When the rates are equal the resampler passes samples through untouched
// and adds no delay. The caller must Close the resampler to release the C
// memory it holds.
func New(channels int, inRate float64, outRate int, quality int) (*Resampler, error) {
	switch {
	case channels < 1 || channels > maxChannels:
		return nil, fmt.Errorf("%w: %d channels", ErrInvalidConfig, channels)
	case !(inRate >= 1 && inRate <= maxRate): // also rejects NaN
		return nil, fmt.Errorf("%w: input rate %v Hz", ErrInvalidConfig, inRate)
	case outRate < 1 || outRate > maxRate:
		return nil, fmt.Errorf("%w: output rate %d Hz", ErrInvalidConfig, outRate)
	case quality < 0 || quality > 10:
		return nil, fmt.Errorf("%w: quality %d", ErrInvalidConfig, quality)
	}
	// In hundredths of a hertz, so that 32040.5 Hz stays exact.
	in, out := int(math.Round(inRate*100)), outRate*100
	g := gcd(in, out)
	r := &Resampler{channels: channels, num: in / g, den: out / g}
	if r.num == r.den {
		return r, nil
	}
	var rc C.int
	r.st = C.speex_resampler_init_frac(C.spx_uint32_t(channels), C.spx_uint32_t(r.num), C.spx_uint32_t(r.den),
		C.spx_uint32_t(math.Round(inRate)), C.spx_uint32_t(outRate), C.int(quality), &rc)
	if r.st == nil || rc != C.RESAMPLER_ERR_SUCCESS {
		return nil, fmt.Errorf("resample: %s", C.GoString(C.speex_resampler_strerror(rc)))
	}
	return r, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Process resamples the interleaved samples in and appends the result to
// dst, returning the extended slice. All of in is consumed; if it ends in
// the middle of a frame, the partial frame is kept and completed by the
// next call. The output lags the input by half the filter's length: at
// quality 5, 40 input samples, about a millisecond.
//
// After Close, Process returns dst unchanged.
func (r *Resampler) Process(dst, in []int16) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return dst
	}
	if r.st == nil { // equal rates
		return append(dst, in...)
	}
	if len(r.pending) > 0 {
		r.joined = append(append(r.joined[:0], r.pending...), in...)
		in = r.joined
	}
	ch := r.channels
	whole := len(in) / ch * ch
	r.pending = append(r.pending[:0], in[whole:]...)
	in = in[:whole]

	for len(in) > 0 {
		inFrames := len(in) / ch
		// Room for the expected output plus a little, since speexdsp
		// may emit a frame more than the ratio suggests.
		want := inFrames*r.den/r.num + 16
		dst = slices.Grow(dst, want*ch)
		room := dst[len(dst):cap(dst)]
		inLen, outLen := C.spx_uint32_t(inFrames), C.spx_uint32_t(len(room)/ch)
		C.speex_resampler_process_interleaved_int(r.st,
			(*C.spx_int16_t)(unsafe.Pointer(&in[0])), &inLen,
			(*C.spx_int16_t)(unsafe.Pointer(&room[0])), &outLen)
		dst = dst[:len(dst)+int(outLen)*ch]
		in = in[int(inLen)*ch:]
		// The output room always fits what the input can produce,
		// so speexdsp consuming nothing would loop forever.
		if inLen == 0 && outLen == 0 {
			break
		}
	}
	return dst
}

// Close releases the resampler. It is safe to call more than once.
func (r *Resampler) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st != nil {
		C.speex_resampler_destroy(r.st)
		r.st = nil
	}
	r.closed = true
	r.pending, r.joined = nil, nil
	return nil
}

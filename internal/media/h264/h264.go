// Package h264 encodes constrained baseline H.264 video with x264.
//
// The encoder is set up for interactive streaming: one thread, no B-frames
// and no look-ahead, so each call to Encode returns the frame for the
// picture it was given; constant bitrate with a small VBV buffer; and IDR
// frames only at the start and when the caller asks for one. Every IDR
// frame carries its own SPS and PPS, so a viewer can start decoding at any
// keyframe. The output is Annex B: NAL units, each after a start code.
package h264

/*
#cgo pkg-config: x264
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <x264.h>

// x264_encoder_open is a macro naming the build-specific symbol.
static x264_t *tc_open(x264_param_t *param) {
	return x264_encoder_open(param);
}

static void tc_discard_log(void *priv, int level, const char *fmt, va_list args) {}

// tc_quiet_log makes x264 discard its log messages, which it would
// otherwise print to stderr.
static void tc_quiet_log(x264_param_t *param) {
	param->pf_log = tc_discard_log;
}

// tc_encode describes the caller's planes in an x264_picture_t on the
// stack and encodes them. x264 copies the picture before returning, so no
// pointer to the planes outlives the call. On success *payload points at
// the frame's NAL units, which x264 lays out back to back.
static int tc_encode(x264_t *h, uint8_t *y, int stride_y, uint8_t *u, uint8_t *v, int stride_uv,
		int64_t pts, int idr, uint8_t **payload, int *keyframe, double *psnr) {
	x264_picture_t in, out;
	x264_nal_t *nal;
	int n;
	x264_picture_init(&in);
	in.img.i_csp = X264_CSP_I420;
	in.img.i_plane = 3;
	in.img.plane[0] = y;
	in.img.plane[1] = u;
	in.img.plane[2] = v;
	in.img.i_stride[0] = stride_y;
	in.img.i_stride[1] = stride_uv;
	in.img.i_stride[2] = stride_uv;
	in.i_pts = pts;
	in.i_type = idr ? X264_TYPE_IDR : X264_TYPE_AUTO;
	int size = x264_encoder_encode(h, &nal, &n, &in, &out);
	if (size > 0) {
		*payload = nal[0].p_payload;
		*keyframe = out.b_keyframe;
		*psnr = out.prop.f_psnr[0];
	}
	return size;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/telecart/telecart/internal/media/internal/videoconfig"
	"github.com/telecart/telecart/internal/media/yuv"
)

var (
	// ErrInvalidConfig is returned by NewEncoder and SetBitrate for
	// settings outside the supported range.
	ErrInvalidConfig = errors.New("h264: invalid configuration")
	// ErrSizeMismatch is returned by Encode for a picture whose size
	// differs from the one the encoder was configured with.
	ErrSizeMismatch = errors.New("h264: picture size does not match encoder")
	// ErrClosed is returned when an Encoder is used after Close.
	ErrClosed = errors.New("h264: use of closed encoder")
)

const (
	maxBitrateKbps = videoconfig.MaxBitrateKbps

	// defaultPreset is the x264 speed preset. On a scrolling NES scene
	// superfast took 0.35 ms a frame against ultrafast's 0.21 ms, both
	// far inside a 16.7 ms frame, and at 600 kbps scored 24.2 dB SSIM
	// against 22.6 dB. PSNR is about equal because superfast's adaptive
	// quantization moves bits to where the eye notices, which PSNR does
	// not reward. See BenchmarkEncode.
	defaultPreset = "superfast"

	// vbvMillis is the VBV buffer in milliseconds of the target bitrate.
	// The buffer bounds how far a frame may exceed its share: at 100 ms
	// a keyframe can be about six average frames, and every frame goes
	// out within 100 ms at the target rate.
	vbvMillis = 100
)

// ProfileLevelID returns the SDP profile-level-id of the stream: constrained
// baseline, level 3.1, which every WebRTC browser decodes.
func ProfileLevelID() string { return "42e01f" }

// EncoderConfig describes the stream an Encoder produces.
type EncoderConfig struct {
	// Width and Height are the picture size in pixels. H.264 4:2:0
	// cannot describe an odd size, so an odd width or height is coded
	// one larger, the extra column or row repeating the last one.
	Width, Height int
	// FrameRate is the number of frames per second, which need not be
	// whole (the NES runs at 60.0988), from 1 to 1000.
	FrameRate float64
	// BitrateKbps is the target bitrate in kilobits per second.
	BitrateKbps int
}

func (c EncoderConfig) validate() error {
	if err := videoconfig.Check(c.Width, c.Height, c.FrameRate, c.BitrateKbps); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Packet is one compressed frame.
type Packet struct {
	// Data is the frame as Annex B NAL units. It is owned by the Encoder
	// and valid until the next call to Encode.
	Data []byte
	// Keyframe reports whether the frame is an IDR frame, which starts
	// with SPS and PPS.
	Keyframe bool
}

// Encoder compresses pictures to H.264. Its methods may be called from
// several goroutines, but frames are encoded one at a time.
type Encoder struct {
	mu     sync.Mutex
	h      *C.x264_t       // nil once closed
	param  *C.x264_param_t // C memory, scratch for SetBitrate; freed by Close
	width  int
	height int
	pad    *yuv.I420 // even-sized copy of odd-sized pictures, or nil
	pts    int64
	buf    []byte  // backing store for Packet.Data
	psnr   float64 // luma PSNR of the last frame, if measured
}

// NewEncoder returns an H.264 encoder with realtime settings. The caller
// must Close it to release the C memory it holds.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	return newEncoder(cfg, defaultPreset, false)
}

// newEncoder lets benchmarks compare presets and measure quality, which
// costs time, so x264 computes PSNR only when asked.
func newEncoder(cfg EncoderConfig, preset string, measurePSNR bool) (*Encoder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := (*C.x264_param_t)(C.calloc(1, C.sizeof_x264_param_t))
	if p == nil {
		return nil, errors.New("h264: out of memory")
	}
	cPreset, cTune := C.CString(preset), C.CString("zerolatency")
	defer C.free(unsafe.Pointer(cPreset))
	defer C.free(unsafe.Pointer(cTune))
	if C.x264_param_default_preset(p, cPreset, cTune) < 0 {
		C.free(unsafe.Pointer(p))
		return nil, fmt.Errorf("%w: preset %q", ErrInvalidConfig, preset)
	}

	p.i_log_level = C.X264_LOG_NONE
	p.i_csp = C.X264_CSP_I420
	// 4:2:0 needs even sizes; Encode pads odd ones.
	p.i_width = C.int(cfg.Width + cfg.Width%2)
	p.i_height = C.int(cfg.Height + cfg.Height%2)
	// zerolatency picks sliced threads. One thread leaves the other
	// core to the emulator: on a 2-core machine extra encoder threads
	// made the slowest frames many times slower than the average.
	p.i_threads = 1
	p.i_lookahead_threads = 1
	p.b_sliced_threads = 0
	p.i_sync_lookahead = 0
	p.rc.i_lookahead = 0
	p.i_bframe = 0
	p.i_frame_reference = 1
	// Keyframes come when a viewer asks for one. Scene-cut detection
	// would insert unasked-for I-frames, each a burst of bits.
	p.i_keyint_max = C.X264_KEYINT_MAX_INFINITE
	p.i_scenecut_threshold = 0
	p.b_intra_refresh = 0
	p.b_repeat_headers = 1
	p.b_annexb = 1
	p.b_aud = 0
	p.i_level_idc = 31
	// The rate in thousandths of a frame per second, unreduced: both
	// encoders take any fraction.
	num, den := int(math.Round(cfg.FrameRate*1000)), 1000
	p.b_vfr_input = 0
	p.i_fps_num = C.uint32_t(num)
	p.i_fps_den = C.uint32_t(den)
	p.i_timebase_num = C.uint32_t(den)
	p.i_timebase_den = C.uint32_t(num)
	// Say that the matrix is BT.601, which package yuv converts with,
	// so that no decoder guesses BT.709 from the lack of a colour
	// description. Primaries and transfer stay unspecified.
	p.vui.i_colmatrix = 6 // smpte170m
	p.vui.b_fullrange = 0
	// ABR with the VBV maximum at the target is x264's CBR without
	// filler data.
	p.rc.i_rc_method = C.X264_RC_ABR
	setBitrate(p, cfg.BitrateKbps)
	if measurePSNR {
		// x264 computes PSNR only to log it, and skips it when the
		// log level is below info.
		p.analyse.b_psnr = 1
		p.i_log_level = C.X264_LOG_INFO
		C.tc_quiet_log(p)
	}

	profile := C.CString("baseline")
	defer C.free(unsafe.Pointer(profile))
	if C.x264_param_apply_profile(p, profile) < 0 {
		C.free(unsafe.Pointer(p))
		return nil, errors.New("h264: cannot apply baseline profile")
	}
	h := C.tc_open(p)
	if h == nil {
		C.free(unsafe.Pointer(p))
		return nil, fmt.Errorf("h264: x264 rejected the configuration %+v", cfg)
	}
	e := &Encoder{h: h, param: p, width: cfg.Width, height: cfg.Height}
	if cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		var err error
		if e.pad, err = yuv.NewI420(int(p.i_width), int(p.i_height)); err != nil {
			e.Close()
			return nil, fmt.Errorf("h264: %w", err)
		}
	}
	return e, nil
}

func setBitrate(p *C.x264_param_t, kbps int) {
	p.rc.i_bitrate = C.int(kbps)
	p.rc.i_vbv_max_bitrate = C.int(kbps)
	p.rc.i_vbv_buffer_size = C.int(max(1, kbps*vbvMillis/1000))
}

// Encode compresses img, which must have the configured size, and returns
// the frame. If forceKeyframe is set, the frame is an IDR frame. Data is
// empty if the encoder produced no frame.
func (e *Encoder) Encode(img *yuv.I420, forceKeyframe bool) (Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h == nil {
		return Packet{}, ErrClosed
	}
	if err := img.Validate(); err != nil {
		return Packet{}, fmt.Errorf("h264: encode: %w", err)
	}
	if img.Width != e.width || img.Height != e.height {
		return Packet{}, fmt.Errorf("%w: got %dx%d, want %dx%d", ErrSizeMismatch, img.Width, img.Height, e.width, e.height)
	}
	y, strideY := img.Y, img.StrideY
	if e.pad != nil {
		padLuma(e.pad, img)
		y, strideY = e.pad.Y, e.pad.StrideY
	}
	// An odd-sized picture's chroma planes already have the padded
	// size's dimensions, (w+1)/2 by (h+1)/2, so they are used as they are.
	var (
		payload *C.uint8_t
		key     C.int
		psnr    C.double
		idr     C.int
	)
	if forceKeyframe {
		idr = 1
	}
	size := C.tc_encode(e.h,
		(*C.uint8_t)(unsafe.Pointer(&y[0])), C.int(strideY),
		(*C.uint8_t)(unsafe.Pointer(&img.U[0])), (*C.uint8_t)(unsafe.Pointer(&img.V[0])), C.int(img.StrideUV),
		C.int64_t(e.pts), idr, &payload, &key, &psnr)
	if size < 0 {
		return Packet{}, fmt.Errorf("h264: x264_encoder_encode failed (%d)", int(size))
	}
	e.pts++
	// x264 reuses its output buffer on the next call and frees it on
	// Close, so the frame is copied to a buffer Go owns.
	e.buf = append(e.buf[:0], unsafe.Slice((*byte)(unsafe.Pointer(payload)), int(size))...)
	e.psnr = float64(psnr)
	return Packet{Data: e.buf, Keyframe: size > 0 && key != 0}, nil
}

// padLuma copies the luma of src into the even-sized dst, repeating the
// last column and row into the extra ones.
func padLuma(dst, src *yuv.I420) {
	for y := range dst.Height {
		sy := min(y, src.Height-1)
		row := dst.Y[y*dst.StrideY : y*dst.StrideY+dst.Width]
		n := copy(row, src.Y[sy*src.StrideY:sy*src.StrideY+src.Width])
		for x := n; x < len(row); x++ {
			row[x] = row[n-1]
		}
	}
}

// SetBitrate changes the target bitrate and VBV buffer from the next frame
// on, without a keyframe.
func (e *Encoder) SetBitrate(kbps int) error {
	if err := videoconfig.CheckBitrate(kbps); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h == nil {
		return ErrClosed
	}
	C.x264_encoder_parameters(e.h, e.param)
	setBitrate(e.param, kbps)
	if rc := C.x264_encoder_reconfig(e.h, e.param); rc < 0 {
		return fmt.Errorf("h264: x264_encoder_reconfig failed (%d)", int(rc))
	}
	return nil
}

// Close releases the encoder. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h == nil {
		return nil
	}
	C.x264_encoder_close(e.h)
	C.free(unsafe.Pointer(e.param))
	e.h, e.param, e.buf, e.pad = nil, nil, nil, nil
	return nil
}

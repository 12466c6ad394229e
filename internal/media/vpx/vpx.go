// Package vpx encodes and decodes VP8 video with libvpx.
//
// The encoder is set up for interactive streaming: one thread, no frames
// held back for look-ahead, constant bitrate with a small buffer, and
// keyframes only at the start and when the caller asks for one (a new
// viewer joined, or a viewer lost packets and sent a PLI). Each call to
// Encode returns the compressed frame for the picture it was given.
package vpx

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

// vpx_codec_enc_init, vpx_codec_dec_init and vpx_codec_control are macros
// and vpx_codec_control_ is variadic; cgo can call neither.
static vpx_codec_err_t tc_enc_init(vpx_codec_ctx_t *ctx, const vpx_codec_enc_cfg_t *cfg) {
	return vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), cfg, 0);
}

static vpx_codec_err_t tc_control(vpx_codec_ctx_t *ctx, int id, int value) {
	return vpx_codec_control_(ctx, id, value);
}

static vpx_codec_err_t tc_dec_init(vpx_codec_ctx_t *ctx) {
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), &cfg, 0);
}

// tc_encode describes the caller's planes in a vpx_image_t on the stack.
// libvpx copies the picture into its own look-ahead buffer before
// returning, so no pointer to the planes outlives the call.
static vpx_codec_err_t tc_encode(vpx_codec_ctx_t *ctx, unsigned int w, unsigned int h,
		unsigned char *y, int stride_y, unsigned char *u, unsigned char *v, int stride_uv,
		vpx_codec_pts_t pts, vpx_enc_frame_flags_t flags) {
	vpx_image_t img;
	if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, w, h, 1, y))
		return VPX_CODEC_INVALID_PARAM;
	img.planes[VPX_PLANE_U] = u;
	img.planes[VPX_PLANE_V] = v;
	img.stride[VPX_PLANE_Y] = stride_y;
	img.stride[VPX_PLANE_U] = stride_uv;
	img.stride[VPX_PLANE_V] = stride_uv;
	return vpx_codec_encode(ctx, &img, pts, 1, flags, VPX_DL_REALTIME);
}

// A picture the caller knows equals the last one must not change the
// golden or altref frame, nor the entropy the next frames start from, so
// that the frame it makes can be sent again in place of encoding the same
// picture (see Encoder.Encode).
#define TC_STILL_FLAGS (VP8_EFLAG_NO_UPD_GF | VP8_EFLAG_NO_UPD_ARF | VP8_EFLAG_NO_UPD_ENTROPY)

// tc_ref is a copy of the encoder's last reference frame. libvpx's copy
// writes rows and columns up to a multiple of 16 and extends the picture
// into a border of (stride - width) / 2 around it, so the planes sit
// inside a margin of their own.
typedef struct {
	unsigned char *buf;
	size_t size;
	vpx_image_t img;
} tc_ref;

enum { tc_ref_border = 48 }; // 32, libvpx's border, and up to 15 of alignment

static int tc_ref_init(tc_ref *r, unsigned int w, unsigned int h) {
	const unsigned int b = tc_ref_border, cw = (w + 1) / 2, ch = (h + 1) / 2;
	const size_t ys = w + 2 * b, yh = h + 2 * b, uvs = cw + b, uvh = ch + b;
	r->size = ys * yh + 2 * uvs * uvh;
	r->buf = calloc(1, r->size);
	if (r->buf == NULL)
		return 0;
	memset(&r->img, 0, sizeof r->img);
	r->img.fmt = VPX_IMG_FMT_I420;
	r->img.w = r->img.d_w = w;
	r->img.h = r->img.d_h = h;
	r->img.x_chroma_shift = r->img.y_chroma_shift = 1;
	r->img.bps = 12;
	r->img.stride[VPX_PLANE_Y] = ys;
	r->img.stride[VPX_PLANE_U] = r->img.stride[VPX_PLANE_V] = uvs;
	r->img.planes[VPX_PLANE_Y] = r->buf + b * ys + b;
	r->img.planes[VPX_PLANE_U] = r->buf + ys * yh + (b / 2) * uvs + b / 2;
	r->img.planes[VPX_PLANE_V] = r->buf + ys * yh + uvs * uvh + (b / 2) * uvs + b / 2;
	return 1;
}

static vpx_codec_err_t tc_copy_last(vpx_codec_ctx_t *ctx, tc_ref *r) {
	vpx_ref_frame_t ref;
	ref.frame_type = VP8_LAST_FRAME;
	ref.img = r->img;
	return vpx_codec_control_(ctx, VP8_COPY_REFERENCE, &ref);
}

static int tc_ref_equal(const tc_ref *a, const tc_ref *b) {
	return a->size == b->size && memcmp(a->buf, b->buf, a->size) == 0;
}

// tc_next_frame returns the next compressed frame packet, skipping any
// other kind, or 0 when there are none left.
static int tc_next_frame(vpx_codec_ctx_t *ctx, vpx_codec_iter_t *iter,
		const void **buf, size_t *size, int *keyframe) {
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(ctx, iter)) != NULL) {
		if (pkt->kind == VPX_CODEC_CX_FRAME_PKT) {
			*buf = pkt->data.frame.buf;
			*size = pkt->data.frame.sz;
			*keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
			return 1;
		}
	}
	return 0;
}
*/
import "C"

import (
	"bytes"
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
	ErrInvalidConfig = errors.New("vpx: invalid configuration")
	// ErrSizeMismatch is returned by Encode for a picture whose size
	// differs from the one the encoder was configured with.
	ErrSizeMismatch = errors.New("vpx: picture size does not match encoder")
	// ErrClosed is returned when an Encoder or Decoder is used after
	// Close.
	ErrClosed = errors.New("vpx: use of closed codec")
	// ErrNoFrame is returned by Decode when the data decoded without
	// error but held no picture to show.
	ErrNoFrame = errors.New("vpx: no frame decoded")
)

const (
	maxBitrateKbps = videoconfig.MaxBitrateKbps

	// keyframeInterval is the longest run of frames without a keyframe.
	// Keyframes are sent when a viewer needs one, so this only has to
	// be too large to matter: at 60 fps it is about 200 days.
	keyframeInterval = 1 << 30

	// staticThreshold is the encoder's static threshold (see NewEncoder);
	// freezeThreshold, the one that ends a still picture's refinement
	// after refineFrames repeats (see Encode).
	staticThreshold = 1
	freezeThreshold = 1 << 20
	refineFrames    = 30
)

// EncoderConfig describes the stream an Encoder produces.
type EncoderConfig struct {
	// Width and Height are the picture size in pixels; odd sizes are
	// allowed.
	Width, Height int
	// FrameRate is the number of frames per second, which need not be
	// whole (the NES runs at 60.0988), from 1 to 1000.
	FrameRate float64
	// BitrateKbps is the target bitrate in kilobits per second.
	BitrateKbps int
	// CPUUsed trades quality for speed, as libvpx's VP8E_SET_CPUUSED.
	// Zero means 16.
	//
	// A positive value lets libvpx pick its speed from how long recent
	// frames took, aiming to spend at most (16-CPUUsed)/16 of a frame
	// interval on a frame. 16 leaves no time to spare, so it always runs
	// at the fastest speed; 10 allows 6 ms at 60 fps, so on a fast
	// machine it settles at speed 4, the slowest, and encodes exactly as
	// -4 does. A negative value fixes the speed at -CPUUsed regardless
	// of timing.
	CPUUsed int
	// EncodeStills runs the encoder for every picture, even one equal to
	// the last; by default a repeated picture is sent as a still frame
	// (see Encode). For comparisons.
	EncodeStills bool
}

func (c EncoderConfig) validate() error {
	if err := videoconfig.Check(c.Width, c.Height, c.FrameRate, c.BitrateKbps); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if c.CPUUsed < -16 || c.CPUUsed > 16 {
		return fmt.Errorf("%w: cpu-used %d", ErrInvalidConfig, c.CPUUsed)
	}
	return nil
}

// Packet is one compressed frame.
type Packet struct {
	// Data is the VP8 frame, ready for an RTP packetizer. It is owned by
	// the Encoder and valid until the next call to Encode.
	Data []byte
	// Keyframe reports whether the frame can be decoded on its own.
	Keyframe bool
}

// Encoder compresses pictures to VP8. Its methods may be called from
// several goroutines, but frames are encoded one at a time.
type Encoder struct {
	mu     sync.Mutex
	ctx    *C.vpx_codec_ctx_t // C memory, freed by Close; nil once closed
	cfg    *C.vpx_codec_enc_cfg_t
	width  int
	height int
	pts    C.vpx_codec_pts_t
	buf    []byte // backing store for Packet.Data

	// The still frame (see Encode). last holds the planes of the last
	// picture, one after another; still, once found, the frame that
	// repeats it; before and after, the encoder's last reference frame
	// around an encode of a repeated picture (C memory, made on first
	// use).
	encodeStills  bool
	last          []byte
	still         []byte
	before, after *C.tc_ref
	repeats       int
	refined       int // repeats the encoder ran for since the picture changed
}

// NewEncoder returns a VP8 encoder with realtime settings. The caller must
// Close it to release the C memory it holds.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if cfg.CPUUsed == 0 {
		cfg.CPUUsed = 16
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	c := (*C.vpx_codec_enc_cfg_t)(C.calloc(1, C.sizeof_vpx_codec_enc_cfg_t))
	if c == nil {
		return nil, errors.New("vpx: out of memory")
	}
	if rc := C.vpx_codec_enc_config_default(C.vpx_codec_vp8_cx(), c, 0); rc != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(c))
		return nil, fmt.Errorf("vpx: default config: %s", C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	c.g_w = C.uint(cfg.Width)
	c.g_h = C.uint(cfg.Height)
	// A timebase of one tick per frame lets pts count frames. Keeping
	// three decimals of the rate tells rate control the true frame
	// duration for cores such as the SNES (60.0988 fps).
	num, den := int(math.Round(cfg.FrameRate*1000)), 1000
	c.g_timebase.num = C.int(den)
	c.g_timebase.den = C.int(num)
	// More than one thread made the 99th percentile encode time jump
	// from under 1 ms to 9-24 ms on a 2-core machine: the threads fight
	// with the emulator for cores, and a late frame is worse than a
	// slower one.
	c.g_threads = 1
	c.g_lag_in_frames = 0 // never hold frames back
	c.g_pass = C.VPX_RC_ONE_PASS
	// Frames do not carry entropy probabilities over to later frames,
	// so a lost frame does not corrupt the decoding of later ones that
	// do not reference it.
	c.g_error_resilient = C.VPX_ERROR_RESILIENT_DEFAULT
	c.rc_end_usage = C.VPX_CBR
	c.rc_target_bitrate = C.uint(cfg.BitrateKbps)
	c.rc_min_quantizer = 2
	c.rc_max_quantizer = 56
	// Dropping frames to meet the rate would show as stutter; a higher
	// quantizer for a while is less visible in a game.
	c.rc_dropframe_thresh = 0
	c.rc_resize_allowed = 0
	// CBR undershoot lets still scenes spend less than the target;
	// little overshoot keeps frame sizes, and so network queueing, even.
	c.rc_undershoot_pct = 100
	c.rc_overshoot_pct = 15
	// The decoder buffer model, in milliseconds. A small buffer forces
	// rate control to keep every frame close to its share of the
	// bitrate, so that no frame takes much longer than a frame interval
	// to send.
	c.rc_buf_initial_sz = 100
	c.rc_buf_optimal_sz = 120
	c.rc_buf_sz = 200
	c.kf_mode = C.VPX_KF_AUTO
	c.kf_min_dist = 0
	c.kf_max_dist = keyframeInterval

	ctx := (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t))
	if ctx == nil {
		C.free(unsafe.Pointer(c))
		return nil, errors.New("vpx: out of memory")
	}
	if rc := C.tc_enc_init(ctx, c); rc != C.VPX_CODEC_OK {
		err := codecError("init encoder", ctx, rc)
		C.free(unsafe.Pointer(ctx))
		C.free(unsafe.Pointer(c))
		return nil, err
	}
	e := &Encoder{ctx: ctx, cfg: c, width: cfg.Width, height: cfg.Height, encodeStills: cfg.EncodeStills}
	controls := []struct {
		name  string
		id    C.int
		value int
	}{
		{"cpu-used", C.VP8E_SET_CPUUSED, cfg.CPUUsed},
		// Skip macroblocks that barely changed; retro games redraw
		// identical pixels most of the frame.
		{"static threshold", C.VP8E_SET_STATIC_THRESHOLD, staticThreshold},
		// Denoising costs time and blurs pixel art, which has no noise.
		{"noise sensitivity", C.VP8E_SET_NOISE_SENSITIVITY, 0},
		{"token partitions", C.VP8E_SET_TOKEN_PARTITIONS, C.VP8_ONE_TOKENPARTITION},
		// Cap a keyframe at three average frames, so that one asked
		// for by a new viewer does not stall everyone else's stream.
		{"max intra bitrate", C.VP8E_SET_MAX_INTRA_BITRATE_PCT, 300},
	}
	for _, ctl := range controls {
		if rc := C.tc_control(ctx, ctl.id, C.int(ctl.value)); rc != C.VPX_CODEC_OK {
			err := codecError("set "+ctl.name, ctx, rc)
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// Encode compresses img, which must have the configured size, and returns
// the frame. If forceKeyframe is set, the frame is a keyframe. Data is
// empty if the encoder produced no frame.
//
// A picture equal to the last one (a game's menu, a pause, a core that
// duped its frame) is the common case in retro games, and encoding it
// again costs most of a full encode. So a repeated picture is encoded
// without touching the golden and altref frames or the entropy, and once
// such a frame leaves the encoder's last frame exactly as it was (the
// encoder has refined the picture as far as it goes, or after
// refineFrames repeats, when every macroblock is skipped), that frame is
// kept: every further repeat of the picture is sent as those same bytes,
// without running the encoder. Decoding them again is decoding a frame that
// changes nothing, whatever came before, so the decoder and the encoder
// still hold the same reference frames when the picture changes.
func (e *Encoder) Encode(img *yuv.I420, forceKeyframe bool) (Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return Packet{}, ErrClosed
	}
	if err := img.Validate(); err != nil {
		return Packet{}, fmt.Errorf("vpx: encode: %w", err)
	}
	if img.Width != e.width || img.Height != e.height {
		return Packet{}, fmt.Errorf("%w: got %dx%d, want %dx%d", ErrSizeMismatch, img.Width, img.Height, e.width, e.height)
	}
	repeat := !forceKeyframe && !e.encodeStills && e.samePicture(img)
	if repeat && e.still != nil {
		e.pts++
		e.repeats++
		return Packet{Data: e.still}, nil
	}
	if !repeat {
		e.keepPicture(img)
		e.still = nil
	}
	y, u, v := (*C.uchar)(unsafe.Pointer(&img.Y[0])), (*C.uchar)(unsafe.Pointer(&img.U[0])), (*C.uchar)(unsafe.Pointer(&img.V[0]))
	var rc C.vpx_codec_err_t
	if repeat {
		e.refined++
		if err := e.copyLast(&e.before); err != nil {
			return Packet{}, err
		}
		freeze := e.refined > refineFrames
		if freeze {
			// Every macroblock whose prediction is this close is
			// skipped: the frame changes nothing.
			if rc := C.tc_control(e.ctx, C.VP8E_SET_STATIC_THRESHOLD, freezeThreshold); rc != C.VPX_CODEC_OK {
				return Packet{}, codecError("set static threshold", e.ctx, rc)
			}
		}
		rc = C.tc_encode(e.ctx, C.uint(img.Width), C.uint(img.Height), y, C.int(img.StrideY), u, v, C.int(img.StrideUV), e.pts, C.TC_STILL_FLAGS)
		if freeze {
			if rc := C.tc_control(e.ctx, C.VP8E_SET_STATIC_THRESHOLD, staticThreshold); rc != C.VPX_CODEC_OK {
				return Packet{}, codecError("set static threshold", e.ctx, rc)
			}
		}
	} else {
		e.refined = 0
		var flags C.vpx_enc_frame_flags_t
		if forceKeyframe {
			flags = C.VPX_EFLAG_FORCE_KF
		}
		rc = C.tc_encode(e.ctx, C.uint(img.Width), C.uint(img.Height), y, C.int(img.StrideY), u, v, C.int(img.StrideUV), e.pts, flags)
	}
	if rc != C.VPX_CODEC_OK {
		return Packet{}, codecError("encode", e.ctx, rc)
	}
	e.pts++

	// libvpx owns the packet memory only until the next encode call, and
	// Close frees it, so the frame is copied to a buffer Go owns.
	var (
		pkt  Packet
		iter C.vpx_codec_iter_t
		buf  unsafe.Pointer
		size C.size_t
		key  C.int
	)
	e.buf = e.buf[:0]
	for C.tc_next_frame(e.ctx, &iter, &buf, &size, &key) != 0 {
		e.buf = append(e.buf, unsafe.Slice((*byte)(buf), int(size))...)
		pkt.Keyframe = pkt.Keyframe || key != 0
	}
	pkt.Data = e.buf
	if repeat && !pkt.Keyframe && len(pkt.Data) > 0 {
		if err := e.copyLast(&e.after); err != nil {
			return Packet{}, err
		}
		if C.tc_ref_equal(e.before, e.after) != 0 {
			e.still = append([]byte(nil), pkt.Data...)
		}
	}
	return pkt, nil
}

// Repeats is how many frames were sent as a still frame, without running
// the encoder.
func (e *Encoder) Repeats() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.repeats
}

// samePicture reports whether img's visible pixels equal the last
// picture's.
func (e *Encoder) samePicture(img *yuv.I420) bool {
	if len(e.last) == 0 {
		return false
	}
	rest := e.last
	for _, p := range planes(img) {
		for row := range p.rows {
			line := p.data[row*p.stride : row*p.stride+p.width]
			if !bytes.Equal(line, rest[:p.width]) {
				return false
			}
			rest = rest[p.width:]
		}
	}
	return true
}

// keepPicture copies img's visible pixels to e.last.
func (e *Encoder) keepPicture(img *yuv.I420) {
	e.last = e.last[:0]
	for _, p := range planes(img) {
		for row := range p.rows {
			e.last = append(e.last, p.data[row*p.stride:row*p.stride+p.width]...)
		}
	}
}

type plane struct {
	data                []byte
	stride, width, rows int
}

func planes(img *yuv.I420) [3]plane {
	cw, ch := (img.Width+1)/2, (img.Height+1)/2
	return [3]plane{
		{img.Y, img.StrideY, img.Width, img.Height},
		{img.U, img.StrideUV, cw, ch},
		{img.V, img.StrideUV, cw, ch},
	}
}

// copyLast copies the encoder's last reference frame into *ref, made on
// first use.
func (e *Encoder) copyLast(ref **C.tc_ref) error {
	if *ref == nil {
		r := (*C.tc_ref)(C.calloc(1, C.sizeof_tc_ref))
		if r == nil || C.tc_ref_init(r, C.uint(e.width), C.uint(e.height)) == 0 {
			C.free(unsafe.Pointer(r))
			return errors.New("vpx: out of memory")
		}
		*ref = r
	}
	if rc := C.tc_copy_last(e.ctx, *ref); rc != C.VPX_CODEC_OK {
		return codecError("copy the last frame", e.ctx, rc)
	}
	return nil
}

// SetBitrate changes the target bitrate from the next frame on, without a
// keyframe.
func (e *Encoder) SetBitrate(kbps int) error {
	if err := videoconfig.CheckBitrate(kbps); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return ErrClosed
	}
	old := e.cfg.rc_target_bitrate
	e.cfg.rc_target_bitrate = C.uint(kbps)
	if rc := C.vpx_codec_enc_config_set(e.ctx, e.cfg); rc != C.VPX_CODEC_OK {
		e.cfg.rc_target_bitrate = old
		return codecError("set bitrate", e.ctx, rc)
	}
	return nil
}

// Close releases the encoder. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return nil
	}
	var err error
	if rc := C.vpx_codec_destroy(e.ctx); rc != C.VPX_CODEC_OK {
		err = fmt.Errorf("vpx: destroy encoder: %s", C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	C.free(unsafe.Pointer(e.ctx))
	C.free(unsafe.Pointer(e.cfg))
	for _, r := range []*C.tc_ref{e.before, e.after} {
		if r != nil {
			C.free(unsafe.Pointer(r.buf))
			C.free(unsafe.Pointer(r))
		}
	}
	e.ctx, e.cfg, e.buf, e.before, e.after, e.last, e.still = nil, nil, nil, nil, nil, nil, nil
	return err
}

// Decoder decompresses VP8 frames. It exists for tests, thumbnails and
// tools; viewers decode in their browsers. Its methods may be called from
// several goroutines.
type Decoder struct {
	mu  sync.Mutex
	ctx *C.vpx_codec_ctx_t // C memory, freed by Close; nil once closed
}

// NewDecoder returns a single-threaded VP8 decoder. The caller must Close
// it to release the C memory it holds.
func NewDecoder() (*Decoder, error) {
	ctx := (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t))
	if ctx == nil {
		return nil, errors.New("vpx: out of memory")
	}
	if rc := C.tc_dec_init(ctx); rc != C.VPX_CODEC_OK {
		err := codecError("init decoder", ctx, rc)
		C.free(unsafe.Pointer(ctx))
		return nil, err
	}
	return &Decoder{ctx: ctx}, nil
}

// Decode decompresses one VP8 frame and returns the picture, which the
// caller owns. Frames must be given in order, starting with a keyframe.
func (d *Decoder) Decode(data []byte) (*yuv.I420, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("vpx: decode: %w", ErrNoFrame)
	}
	if err := checkKeyframeSize(data); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return nil, ErrClosed
	}
	rc := C.vpx_codec_decode(d.ctx, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.uint(len(data)), nil, 0)
	if rc != C.VPX_CODEC_OK {
		return nil, codecError("decode", d.ctx, rc)
	}
	var (
		iter C.vpx_codec_iter_t
		out  *yuv.I420
	)
	for {
		img := C.vpx_codec_get_frame(d.ctx, &iter)
		if img == nil {
			break
		}
		var err error
		if out, err = copyImage(img); err != nil {
			return nil, err
		}
	}
	if out == nil {
		return nil, ErrNoFrame
	}
	return out, nil
}

// checkKeyframeSize rejects keyframes that declare a picture larger than
// yuv.MaxDimension, which libvpx would otherwise try to allocate.
func checkKeyframeSize(data []byte) error {
	// A keyframe starts with a 3-byte frame tag whose low bit is 0, the
	// start code 9d 01 2a, and 14-bit little-endian width and height.
	if len(data) < 10 || data[0]&1 != 0 || data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a {
		return nil
	}
	w := int(data[6]) | int(data[7]&0x3f)<<8
	h := int(data[8]) | int(data[9]&0x3f)<<8
	if w > yuv.MaxDimension || h > yuv.MaxDimension {
		return fmt.Errorf("vpx: decode: keyframe size %dx%d: %w", w, h, yuv.ErrInvalidSize)
	}
	return nil
}

// copyImage copies a decoded picture out of libvpx's frame buffers, which
// the next Decode overwrites.
func copyImage(img *C.vpx_image_t) (*yuv.I420, error) {
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("vpx: decoded unexpected image format %d", int(img.fmt))
	}
	out, err := yuv.NewI420(int(img.d_w), int(img.d_h))
	if err != nil {
		return nil, fmt.Errorf("vpx: decode: %w", err)
	}
	cw, ch := (out.Width+1)/2, (out.Height+1)/2
	copyPlane(out.Y, out.StrideY, img.planes[C.VPX_PLANE_Y], int(img.stride[C.VPX_PLANE_Y]), out.Width, out.Height)
	copyPlane(out.U, out.StrideUV, img.planes[C.VPX_PLANE_U], int(img.stride[C.VPX_PLANE_U]), cw, ch)
	copyPlane(out.V, out.StrideUV, img.planes[C.VPX_PLANE_V], int(img.stride[C.VPX_PLANE_V]), cw, ch)
	return out, nil
}

func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, width, rows int) {
	plane := unsafe.Slice((*byte)(unsafe.Pointer(src)), srcStride*(rows-1)+width)
	for y := range rows {
		copy(dst[y*dstStride:y*dstStride+width], plane[y*srcStride:])
	}
}

// Close releases the decoder. It is safe to call more than once.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return nil
	}
	var err error
	if rc := C.vpx_codec_destroy(d.ctx); rc != C.VPX_CODEC_OK {
		err = fmt.Errorf("vpx: destroy decoder: %s", C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	C.free(unsafe.Pointer(d.ctx))
	d.ctx = nil
	return err
}

// codecError describes a failed libvpx call, with the codec's detail
// message when it has one.
func codecError(op string, ctx *C.vpx_codec_ctx_t, rc C.vpx_codec_err_t) error {
	msg := C.GoString(C.vpx_codec_err_to_string(rc))
	if detail := C.vpx_codec_error_detail(ctx); detail != nil {
		return fmt.Errorf("vpx: %s: %s: %s", op, msg, C.GoString(detail))
	}
	return fmt.Errorf("vpx: %s: %s", op, msg)
}

package h264

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/media/internal/mediatest"
	"github.com/telecart/telecart/internal/media/yuv"
)

// NAL unit types from H.264 Table 7-1.
const (
	nalSlice = 1
	nalIDR   = 5
	nalSPS   = 7
	nalPPS   = 8
)

func newTestEncoder(t testing.TB, cfg EncoderConfig, psnr bool) *Encoder {
	t.Helper()
	e, err := newEncoder(cfg, defaultPreset, psnr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// splitAnnexB returns the NAL units of an Annex B stream, failing if it
// does not start with a start code.
func splitAnnexB(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var nals [][]byte
	rest, ok := cutStartCode(data)
	if !ok {
		t.Fatalf("stream does not start with a start code: % x", data[:min(8, len(data))])
	}
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte{0, 0, 1})
		if i < 0 {
			nals = append(nals, rest)
			break
		}
		// A four-byte start code leaves a zero at the end of the
		// previous unit, which is not part of it.
		nals = append(nals, bytes.TrimRight(rest[:i], "\x00"))
		rest = rest[i+3:]
	}
	return nals
}

func cutStartCode(data []byte) ([]byte, bool) {
	if rest, ok := bytes.CutPrefix(data, []byte{0, 0, 0, 1}); ok {
		return rest, true
	}
	return bytes.CutPrefix(data, []byte{0, 0, 1})
}

func nalTypes(t *testing.T, data []byte) []int {
	t.Helper()
	var types []int
	for _, nal := range splitAnnexB(t, data) {
		types = append(types, int(nal[0]&0x1f))
	}
	return types
}

func TestKeyframes(t *testing.T) {
	t.Parallel()
	frames, err := mediatest.GameFrames(256, 240, 60)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEncoder(t, EncoderConfig{Width: 256, Height: 240, FrameRate: 60.0988, BitrateKbps: 1500}, true)
	forced := map[int]bool{25: true, 26: true, 50: true}
	for i, img := range frames {
		pkt, err := e.Encode(img, forced[i])
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		types := nalTypes(t, pkt.Data)
		wantKey := i == 0 || forced[i]
		if pkt.Keyframe != wantKey {
			t.Errorf("frame %d: Keyframe = %v, want %v (NAL types %v)", i, pkt.Keyframe, wantKey, types)
		}
		// x264 may also emit SEI (6), for instance its version string
		// in the first frame; only the types that matter are checked.
		var vcl []int
		var sps, pps bool
		for _, typ := range types {
			switch typ {
			case nalSPS:
				sps = true
			case nalPPS:
				pps = true
			case nalSlice, nalIDR:
				vcl = append(vcl, typ)
			}
		}
		if wantKey {
			if !sps || !pps || len(vcl) == 0 || slices.ContainsFunc(vcl, func(typ int) bool { return typ != nalIDR }) {
				t.Errorf("frame %d: NAL types %v, want SPS, PPS and IDR slices", i, types)
			}
			if idx := slices.Index(types, nalSPS); idx > slices.Index(types, nalIDR) {
				t.Errorf("frame %d: SPS after IDR slice in %v", i, types)
			}
		} else if sps || pps || len(vcl) == 0 || slices.ContainsFunc(vcl, func(typ int) bool { return typ != nalSlice }) {
			t.Errorf("frame %d: NAL types %v, want non-IDR slices only", i, types)
		}
		// x264 measures PSNR on its reconstruction, which is what a
		// conforming decoder produces.
		if e.psnr < 30 {
			t.Errorf("frame %d: PSNR %.1f dB, want >= 30", i, e.psnr)
		}
	}
}

func TestSPS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w, h         int
		codedW, codH int
	}{
		{256, 240, 256, 240},
		{240, 160, 240, 160},
		{160, 144, 160, 144},
		{255, 239, 256, 240},
		{33, 17, 34, 18},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(t *testing.T) {
			e := newTestEncoder(t, EncoderConfig{Width: tc.w, Height: tc.h, FrameRate: 60, BitrateKbps: 1000}, false)
			img, _ := yuv.NewI420(tc.w, tc.h)
			pkt, err := e.Encode(img, false)
			if err != nil {
				t.Fatal(err)
			}
			var sps []byte
			for _, nal := range splitAnnexB(t, pkt.Data) {
				if nal[0]&0x1f == nalSPS {
					sps = nal
				}
			}
			if sps == nil {
				t.Fatal("no SPS in first frame")
			}
			info, err := parseSPS(sps)
			if err != nil {
				t.Fatal(err)
			}
			if info.profile != 66 {
				t.Errorf("profile_idc = %d, want 66 (baseline)", info.profile)
			}
			if info.constraints&0x40 == 0 {
				t.Errorf("constraint flags %08b: constraint_set1 not set, so not constrained baseline", info.constraints)
			}
			if info.level != 31 {
				t.Errorf("level_idc = %d, want 31", info.level)
			}
			if info.width != tc.codedW || info.height != tc.codH {
				t.Errorf("SPS size %dx%d, want %dx%d", info.width, info.height, tc.codedW, tc.codH)
			}
			if info.matrix != 6 || info.fullRange {
				t.Errorf("VUI matrix %d full range %v, want 6 (BT.601) and limited range", info.matrix, info.fullRange)
			}
			// The SDP profile-level-id must describe this stream:
			// 42 = baseline, e0 has constraint_set1, 1f = level 3.1.
			if ProfileLevelID() != "42e01f" {
				t.Errorf("ProfileLevelID() = %q", ProfileLevelID())
			}
		})
	}
}

type spsInfo struct {
	profile, constraints, level int
	width, height               int
	matrix                      int // matrix_coefficients
	fullRange                   bool
}

// parseSPS reads the fields of a baseline-profile sequence parameter set
// (H.264 7.3.2.1.1) and of its VUI up to the colour description.
func parseSPS(nal []byte) (spsInfo, error) {
	// Drop emulation prevention bytes: 00 00 03 stands for 00 00.
	var rbsp []byte
	for i := 1; i < len(nal); i++ {
		if i >= 3 && nal[i] == 3 && nal[i-1] == 0 && nal[i-2] == 0 {
			continue
		}
		rbsp = append(rbsp, nal[i])
	}
	if len(rbsp) < 4 {
		return spsInfo{}, errors.New("short SPS")
	}
	info := spsInfo{profile: int(rbsp[0]), constraints: int(rbsp[1]), level: int(rbsp[2])}
	r := &bitReader{data: rbsp[3:]}
	r.ue() // seq_parameter_set_id
	if info.profile != 66 {
		return info, fmt.Errorf("profile %d: only baseline is parsed", info.profile)
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		return info, errors.New("pic_order_cnt_type 1 not parsed")
	}
	r.ue() // max_num_ref_frames
	r.u(1) // gaps_in_frame_num_value_allowed_flag
	wMbs := r.ue() + 1
	hMaps := r.ue() + 1
	frameMbsOnly := r.u(1)
	if frameMbsOnly == 0 {
		r.u(1) // mb_adaptive_frame_field_flag
	}
	r.u(1) // direct_8x8_inference_flag
	var left, right, top, bottom int
	if r.u(1) == 1 { // frame_cropping_flag
		left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
	}
	info.matrix = 2  // unspecified
	if r.u(1) == 1 { // vui_parameters_present_flag (E.1.1)
		if r.u(1) == 1 { // aspect_ratio_info_present_flag
			if r.u(8) == 255 { // Extended_SAR
				r.u(32)
			}
		}
		if r.u(1) == 1 { // overscan_info_present_flag
			r.u(1)
		}
		if r.u(1) == 1 { // video_signal_type_present_flag
			r.u(3) // video_format
			info.fullRange = r.u(1) == 1
			if r.u(1) == 1 { // colour_description_present_flag
				r.u(8) // colour_primaries
				r.u(8) // transfer_characteristics
				info.matrix = r.u(8)
			}
		}
	}
	if r.err != nil {
		return info, r.err
	}
	// For 4:2:0, crop offsets count pairs of samples (and pairs of
	// field rows for field coding).
	info.width = wMbs*16 - 2*(left+right)
	info.height = (2-frameMbsOnly)*hMaps*16 - 2*(2-frameMbsOnly)*(top+bottom)
	return info, nil
}

type bitReader struct {
	data []byte
	pos  int
	err  error
}

func (r *bitReader) u(n int) int {
	v := 0
	for range n {
		if r.pos >= 8*len(r.data) {
			r.err = errors.New("SPS truncated")
			return 0
		}
		v = v<<1 | int(r.data[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// ue reads an Exp-Golomb code.
func (r *bitReader) ue() int {
	zeros := 0
	for r.u(1) == 0 && r.err == nil {
		zeros++
		if zeros > 31 {
			r.err = errors.New("bad Exp-Golomb code")
			return 0
		}
	}
	return 1<<zeros - 1 + r.u(zeros)
}

// sizer adapts Encoder to mediatest.Encoder.
type sizer struct{ *Encoder }

func (e sizer) EncodeSize(img *yuv.I420) (int, bool, error) {
	p, err := e.Encode(img, false)
	return len(p.Data), p.Keyframe, err
}

func TestSetBitrate(t *testing.T) {
	t.Parallel()
	e := newTestEncoder(t, EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 3000}, false)
	mediatest.CheckSetBitrate(t, sizer{e}, ErrInvalidConfig, maxBitrateKbps)
}

func TestEncoderConfigErrors(t *testing.T) {
	t.Parallel()
	valid := EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 1000}
	tests := []struct {
		name   string
		modify func(*EncoderConfig)
	}{
		{"zero width", func(c *EncoderConfig) { c.Width = 0 }},
		{"negative height", func(c *EncoderConfig) { c.Height = -2 }},
		{"huge height", func(c *EncoderConfig) { c.Height = 5000 }},
		{"zero frame rate", func(c *EncoderConfig) { c.FrameRate = 0 }},
		{"tiny frame rate", func(c *EncoderConfig) { c.FrameRate = 0.0001 }},
		{"negative frame rate", func(c *EncoderConfig) { c.FrameRate = -60 }},
		{"zero bitrate", func(c *EncoderConfig) { c.BitrateKbps = 0 }},
		{"huge bitrate", func(c *EncoderConfig) { c.BitrateKbps = 1 << 30 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.modify(&cfg)
			if e, err := NewEncoder(cfg); !errors.Is(err, ErrInvalidConfig) {
				if e != nil {
					e.Close()
				}
				t.Errorf("NewEncoder(%+v) = %v, want ErrInvalidConfig", cfg, err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	e, err := NewEncoder(EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []struct{ w, h int }{{240, 160}, {255, 240}, {256, 241}} {
		img, _ := yuv.NewI420(size.w, size.h)
		if _, err := e.Encode(img, false); !errors.Is(err, ErrSizeMismatch) {
			t.Errorf("Encode(%dx%d) = %v, want ErrSizeMismatch", size.w, size.h, err)
		}
	}
	mediatest.CheckEncodeErrors(t, sizer{e}, ErrClosed)
}

// TestPadOddSize checks that the padding column and row repeat the edge.
func TestPadOddSize(t *testing.T) {
	t.Parallel()
	src, _ := yuv.NewI420(3, 3)
	copy(src.Y, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	dst, _ := yuv.NewI420(4, 4)
	padLuma(dst, src)
	want := []byte{1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 7, 8, 9, 9}
	if !bytes.Equal(dst.Y, want) {
		t.Errorf("padded luma %v, want %v", dst.Y, want)
	}
}

// BenchmarkEncode measures one frame of a scrolling game scene, the
// encoder's steady state, for the presets worth considering. p99-ms is the
// 99th percentile of single frames. PSNR-dB is x264's own measure of its
// reconstruction at 1 Mbps, taken in a second run so that it does not
// slow the timed one.
func BenchmarkEncode(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"NES-256x240", 256, 240}, {"GBA-240x160", 240, 160}} {
		for _, preset := range []string{"ultrafast", "superfast", "veryfast"} {
			b.Run(fmt.Sprintf("%s/%s", sz.name, preset), func(b *testing.B) {
				benchmarkEncode(b, sz.w, sz.h, preset)
			})
		}
	}
}

func benchmarkEncode(b *testing.B, w, h int, preset string) {
	frames, err := mediatest.GameFrames(w, h, 120)
	if err != nil {
		b.Fatal(err)
	}
	cfg := EncoderConfig{Width: w, Height: h, FrameRate: 60, BitrateKbps: 1000}
	e, err := newEncoder(cfg, preset, false)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var (
		times []float64
		bytes int
		n     int
	)
	for b.Loop() {
		start := time.Now()
		pkt, err := e.Encode(frames[n%len(frames)], false)
		times = append(times, float64(time.Since(start))/float64(time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(pkt.Data)
		n++
	}
	slices.Sort(times)
	b.ReportMetric(mediatest.Percentile(times, 99), "p99-ms")
	b.ReportMetric(float64(bytes)/float64(n), "bytes/frame")

	q, err := newEncoder(cfg, preset, true)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	const measured = 600
	var psnr float64
	for i := range measured {
		if _, err := q.Encode(frames[i%len(frames)], false); err != nil {
			b.Fatal(err)
		}
		psnr += q.psnr
	}
	b.ReportMetric(psnr/measured, "PSNR-dB")
}

// TestCloseWhileEncoding checks that Close from another goroutine is safe:
// each Encode either finishes or reports ErrClosed.
func TestCloseWhileEncoding(t *testing.T) {
	t.Parallel()
	frames, err := mediatest.GameFrames(64, 48, 8)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEncoder(EncoderConfig{Width: 64, Height: 48, FrameRate: 60, BitrateKbps: 300})
	if err != nil {
		t.Fatal(err)
	}
	// Close comes once both goroutines have been through Encode, so that
	// it meets them encoding, not yet to start.
	encoding, done := make(chan struct{}, 2), make(chan error, 2)
	for g := range 2 {
		go func() {
			for i := 0; ; i++ {
				_, err := e.Encode(frames[(i+g)%len(frames)], i%7 == 0)
				if i == 0 {
					encoding <- struct{}{}
				}
				if err != nil {
					done <- err
					return
				}
			}
		}()
	}
	<-encoding
	<-encoding
	e.Close()
	for range 2 {
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("Encode = %v, want ErrClosed", err)
		}
	}
}

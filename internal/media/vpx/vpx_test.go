package vpx

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/media/internal/mediatest"
	"github.com/telecart/telecart/internal/media/yuv"
)

func newEncoder(t testing.TB, cfg EncoderConfig) *Encoder {
	t.Helper()
	e, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newDecoder(t testing.TB) *Decoder {
	t.Helper()
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	for _, size := range []struct{ w, h int }{{256, 240}, {240, 160}, {255, 239}, {33, 17}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			frames, err := mediatest.GameFrames(size.w, size.h, 30)
			if err != nil {
				t.Fatal(err)
			}
			e := newEncoder(t, EncoderConfig{Width: size.w, Height: size.h, FrameRate: 60, BitrateKbps: 1500})
			d := newDecoder(t)
			const forced = 20
			for i, img := range frames {
				pkt, err := e.Encode(img, i == forced)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if len(pkt.Data) == 0 {
					t.Fatalf("frame %d: no data", i)
				}
				if wantKey := i == 0 || i == forced; pkt.Keyframe != wantKey {
					t.Errorf("frame %d: keyframe = %v, want %v", i, pkt.Keyframe, wantKey)
				}
				out, err := d.Decode(pkt.Data)
				if err != nil {
					t.Fatalf("frame %d: decode: %v", i, err)
				}
				if out.Width != size.w || out.Height != size.h {
					t.Fatalf("frame %d: decoded %dx%d", i, out.Width, out.Height)
				}
				// Tiny pictures have too few macroblocks for rate
				// control to settle; only check they round-trip.
				if psnr := mediatest.PSNR(img, out); psnr < 30 && size.w > 64 {
					t.Errorf("frame %d: PSNR %.1f dB, want >= 30", i, psnr)
				}
			}
		})
	}
}

func TestSolidColour(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ y, u, v byte }{{82, 90, 240}, {145, 54, 34}, {41, 240, 110}, {16, 128, 128}, {235, 128, 128}} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			img, _ := yuv.NewI420(256, 240)
			mediatest.Fill(img, c.y, c.u, c.v)
			e := newEncoder(t, EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 500})
			d := newDecoder(t)
			const frames = 20
			for i := range frames {
				pkt, err := e.Encode(img, false)
				if err != nil {
					t.Fatal(err)
				}
				out, err := d.Decode(pkt.Data)
				if err != nil {
					t.Fatal(err)
				}
				// CBR starts from a quantizer guessed from the
				// bitrate and lowers it a few steps a frame while
				// the frames come out under budget, so the first
				// frames carry the coarse chroma DC of a high
				// quantizer and the last must be near exact.
				lumaTol, chromaTol := 2, 8
				if i == frames-1 {
					lumaTol, chromaTol = 1, 1
				}
				for _, p := range []struct {
					name      string
					got       []byte
					want      byte
					tolerance int
				}{{"Y", out.Y, c.y, lumaTol}, {"U", out.U, c.u, chromaTol}, {"V", out.V, c.v, chromaTol}} {
					for j, s := range p.got {
						if d := int(s) - int(p.want); d < -p.tolerance || d > p.tolerance {
							t.Fatalf("frame %d: %s[%d] = %d, want %d ±%d", i, p.name, j, s, p.want, p.tolerance)
						}
					}
				}
			}
		})
	}
}

// TestNoSpontaneousKeyframes checks that a game-like scene is not cut into
// keyframes by libvpx's scene detection over a few seconds.
func TestNoSpontaneousKeyframes(t *testing.T) {
	t.Parallel()
	frames, err := mediatest.GameFrames(256, 240, 60)
	if err != nil {
		t.Fatal(err)
	}
	e := newEncoder(t, EncoderConfig{Width: 256, Height: 240, FrameRate: 60.0988, BitrateKbps: 800})
	for i := range 240 {
		pkt, err := e.Encode(frames[i%len(frames)], false)
		if err != nil {
			t.Fatal(err)
		}
		if pkt.Keyframe != (i == 0) {
			t.Fatalf("frame %d: keyframe = %v", i, pkt.Keyframe)
		}
	}
}

// sizer adapts Encoder to mediatest.Encoder.
type sizer struct{ *Encoder }

func (e sizer) EncodeSize(img *yuv.I420) (int, bool, error) {
	p, err := e.Encode(img, false)
	return len(p.Data), p.Keyframe, err
}

func TestSetBitrate(t *testing.T) {
	t.Parallel()
	e := newEncoder(t, EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 3000})
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
		{"huge width", func(c *EncoderConfig) { c.Width = 100000 }},
		{"zero frame rate", func(c *EncoderConfig) { c.FrameRate = 0 }},
		{"tiny frame rate", func(c *EncoderConfig) { c.FrameRate = 0.0001 }},
		{"NaN frame rate", func(c *EncoderConfig) { c.FrameRate = nan() }},
		{"zero bitrate", func(c *EncoderConfig) { c.BitrateKbps = 0 }},
		{"cpu-used 17", func(c *EncoderConfig) { c.CPUUsed = 17 }},
		{"cpu-used -17", func(c *EncoderConfig) { c.CPUUsed = -17 }},
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
	for _, cpu := range []int{-16, -4, 0, 4, 16} {
		cfg := valid
		cfg.CPUUsed = cpu
		e, err := NewEncoder(cfg)
		if err != nil {
			t.Errorf("NewEncoder with cpu-used %d: %v", cpu, err)
			continue
		}
		e.Close()
	}
}

func nan() float64 { var zero float64; return zero / zero }

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	e := newEncoder(t, EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 1000})
	wrong, _ := yuv.NewI420(240, 160)
	if _, err := e.Encode(wrong, false); !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("Encode(240x160) = %v, want ErrSizeMismatch", err)
	}
	mediatest.CheckEncodeErrors(t, sizer{e}, ErrClosed)
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	frames, _ := mediatest.GameFrames(64, 48, 2)
	e := newEncoder(t, EncoderConfig{Width: 64, Height: 48, FrameRate: 60, BitrateKbps: 300})
	key, _ := e.Encode(frames[0], false)
	key0 := slices.Clone(key.Data)
	inter, _ := e.Encode(frames[1], false)
	inter1 := slices.Clone(inter.Data)

	huge := slices.Clone(key0)
	huge[6], huge[7], huge[8], huge[9] = 0xff, 0x3f, 0xff, 0x3f // 16383x16383

	rng := rand.New(rand.NewPCG(3, 4))
	garbage := make([]byte, 500)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"one byte", []byte{0}},
		{"garbage", garbage},
		{"inter frame first", inter1},
		{"truncated keyframe", key0[:8]},
		{"huge keyframe", huge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDecoder(t)
			if img, err := d.Decode(tc.data); err == nil {
				t.Errorf("Decode = %dx%d image, want error", img.Width, img.Height)
			}
			// The decoder stays usable after bad input.
			if _, err := d.Decode(key0); err != nil {
				t.Errorf("Decode(keyframe) after bad input: %v", err)
			}
		})
	}

	d, _ := NewDecoder()
	for range 2 {
		if err := d.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	}
	if _, err := d.Decode(key0); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close = %v, want ErrClosed", err)
	}
}

// FuzzDecode feeds the decoder a keyframe and then the fuzzed data, so
// that mutated inter frames reach the inter-prediction code too.
func FuzzDecode(f *testing.F) {
	frames, err := mediatest.GameFrames(64, 48, 4)
	if err != nil {
		f.Fatal(err)
	}
	e, err := NewEncoder(EncoderConfig{Width: 64, Height: 48, FrameRate: 60, BitrateKbps: 300})
	if err != nil {
		f.Fatal(err)
	}
	var key []byte
	for i, img := range frames {
		pkt, err := e.Encode(img, false)
		if err != nil {
			f.Fatal(err)
		}
		if i == 0 {
			key = slices.Clone(pkt.Data)
		}
		f.Add(slices.Clone(pkt.Data))
	}
	e.Close()

	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.Decode(key); err != nil {
			t.Fatal(err)
		}
		img, err := d.Decode(data)
		if err != nil {
			return
		}
		if err := img.Validate(); err != nil {
			t.Fatalf("decoded invalid image: %v", err)
		}
	})
}

// BenchmarkEncode measures one frame of a scrolling game scene, the
// encoder's steady state, at several speeds. p99-ms is the 99th percentile
// of single frames: a frame that is late is late for every viewer. PSNR-dB
// is the luma quality at 1 Mbps, measured after the timing.
//
// A positive cpu-used lets libvpx choose its speed from a time budget, so
// 10 runs as slowly as -4 does on a fast machine; see EncoderConfig.
func BenchmarkEncode(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"NES-256x240", 256, 240}, {"GBA-240x160", 240, 160}} {
		for _, cpu := range []int{16, 10, -16, -12, -8, -4} {
			b.Run(fmt.Sprintf("%s/cpu-used=%d", sz.name, cpu), func(b *testing.B) {
				benchmarkEncode(b, sz.w, sz.h, cpu)
			})
		}
	}
}

func benchmarkEncode(b *testing.B, w, h, cpu int) {
	frames, err := mediatest.GameFrames(w, h, 120)
	if err != nil {
		b.Fatal(err)
	}
	e := newEncoder(b, EncoderConfig{Width: w, Height: h, FrameRate: 60, BitrateKbps: 1000, CPUUsed: cpu})
	const kept = 600 // packets kept to measure quality after timing
	var (
		times   []float64
		packets [][]byte
		bytes   int
		n       int
	)
	for b.Loop() {
		start := time.Now()
		pkt, err := e.Encode(frames[n%len(frames)], false)
		times = append(times, float64(time.Since(start))/float64(time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(pkt.Data)
		if n < kept {
			packets = append(packets, slices.Clone(pkt.Data))
		}
		n++
	}
	slices.Sort(times)
	b.ReportMetric(mediatest.Percentile(times, 99), "p99-ms")
	b.ReportMetric(float64(bytes)/float64(n), "bytes/frame")

	d := newDecoder(b)
	var psnr float64
	for i, data := range packets {
		out, err := d.Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		psnr += mediatest.PSNR(frames[i%len(frames)], out)
	}
	b.ReportMetric(psnr/float64(len(packets)), "PSNR-dB")
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
				_, err := e.Encode(frames[(i+g)%len(frames)], false)
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

// stillScene is a game that moves, stops (a menu, a pause), moves again,
// and gets a keyframe (a new viewer) while it stands still.
func stillScene(t testing.TB) (pictures []*yuv.I420, keyframes map[int]bool) {
	t.Helper()
	frames, err := mediatest.GameFrames(256, 240, 30)
	if err != nil {
		t.Fatal(err)
	}
	keyframes = map[int]bool{}
	for _, seg := range []struct {
		from, to, repeat int
		key              int // index within the segment of a keyframe, or -1
	}{{0, 10, 1, -1}, {10, 11, 90, -1}, {11, 20, 1, -1}, {20, 21, 90, 40}, {21, 30, 1, -1}, {29, 30, 60, -1}} {
		for i := seg.from; i < seg.to; i++ {
			for r := range seg.repeat {
				if r == seg.key {
					keyframes[len(pictures)] = true
				}
				pictures = append(pictures, frames[i])
			}
		}
	}
	return pictures, keyframes
}

// TestStillFrames plays a scene with still stretches through the encoder
// with still frames and through one that encodes every picture: the
// decoded pictures are as good, a repeated still frame leaves the decoded
// picture exactly as it was, and most repeats do not run the encoder.
func TestStillFrames(t *testing.T) {
	t.Parallel()
	pictures, keyframes := stillScene(t)
	still := newEncoder(t, EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 1000})
	every := newEncoder(t, EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 1000, EncodeStills: true})
	dStill, dEvery := newDecoder(t), newDecoder(t)
	var prev *yuv.I420
	var prevData []byte
	sameBytes := 0
	for i, img := range pictures {
		p, err := still.Encode(img, keyframes[i])
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if p.Keyframe != (i == 0 || keyframes[i]) {
			t.Errorf("frame %d: keyframe %v", i, p.Keyframe)
		}
		data := slices.Clone(p.Data)
		q, err := every.Encode(img, keyframes[i])
		if err != nil {
			t.Fatal(err)
		}
		got, err := dStill.Decode(data)
		if err != nil {
			t.Fatalf("frame %d: decode: %v", i, err)
		}
		want, err := dEvery.Decode(q.Data)
		if err != nil {
			t.Fatal(err)
		}
		psnr, ref := mediatest.PSNR(img, got), mediatest.PSNR(img, want)
		if psnr < 30 || psnr < ref-1 {
			t.Errorf("frame %d: PSNR %.1f dB, with every picture encoded %.1f", i, psnr, ref)
		}
		if slices.Equal(data, prevData) {
			sameBytes++
			if !slices.Equal(got.Y, prev.Y) || !slices.Equal(got.U, prev.U) || !slices.Equal(got.V, prev.V) {
				t.Fatalf("frame %d: a still frame sent again changed the decoded picture", i)
			}
		}
		prev, prevData = got, data
	}
	// Of the 245 repeats, the encoder refines the picture for
	// refineFrames after each change and each keyframe.
	repeats := still.Repeats()
	if repeats < 150 || sameBytes < repeats {
		t.Errorf("%d frames sent as still frames (%d equal to the frame before), want 150 or more", repeats, sameBytes)
	}
	if every.Repeats() != 0 {
		t.Errorf("EncodeStills: %d still frames, want none", every.Repeats())
	}
	t.Logf("%d of %d frames were still frames", repeats, len(pictures))
}

// BenchmarkStillFrames encodes a picture that does not change, with still
// frames and without: what a menu or a pause costs the runner.
func BenchmarkStillFrames(b *testing.B) {
	frames, err := mediatest.GameFrames(256, 240, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, encodeStills := range []bool{false, true} {
		b.Run(fmt.Sprintf("encode-stills=%v", encodeStills), func(b *testing.B) {
			e := newEncoder(b, EncoderConfig{Width: 256, Height: 240, FrameRate: 60, BitrateKbps: 1000, EncodeStills: encodeStills})
			for range 60 { // settle
				if _, err := e.Encode(frames[0], false); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := e.Encode(frames[0], false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStillFrameSizes holds a picture still at every size a core may draw
// (odd ones too, whose rows libvpx pads to 16) and at a low and a high
// bitrate: the still frame comes, and leaves the decoded picture as it was.
func TestStillFrameSizes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ w, h, kbps int }{{256, 240, 300}, {240, 160, 3000}, {255, 239, 1000}, {512, 448, 1000}, {33, 17, 100}} {
		t.Run(fmt.Sprintf("%dx%d@%d", tc.w, tc.h, tc.kbps), func(t *testing.T) {
			frames, err := mediatest.GameFrames(tc.w, tc.h, 2)
			if err != nil {
				t.Fatal(err)
			}
			e := newEncoder(t, EncoderConfig{Width: tc.w, Height: tc.h, FrameRate: 60, BitrateKbps: tc.kbps})
			d := newDecoder(t)
			var last *yuv.I420
			for i := range 2 + refineFrames + 20 {
				p, err := e.Encode(frames[min(i, 1)], false)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				out, err := d.Decode(p.Data)
				if err != nil {
					t.Fatalf("frame %d: decode: %v", i, err)
				}
				if i > 2+refineFrames && !(slices.Equal(out.Y, last.Y) && slices.Equal(out.U, last.U) && slices.Equal(out.V, last.V)) {
					t.Fatalf("frame %d: the still picture changed", i)
				}
				last = out
			}
			if e.Repeats() < 15 {
				t.Errorf("%d still frames, want 15 or more", e.Repeats())
			}
		})
	}
}

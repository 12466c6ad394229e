package yuv

import (
	"errors"
	"fmt"
	"testing"
)

type rgb struct{ r, g, b uint8 }

var (
	red   = rgb{255, 0, 0}
	green = rgb{0, 255, 0}
	blue  = rgb{0, 0, 255}
	grey  = rgb{128, 128, 128}
)

// pack encodes c as one pixel of format f and returns the colour that the
// pixel represents after the format's precision loss.
func pack(dst []byte, f PixelFormat, c rgb) rgb {
	switch f {
	case XRGB8888:
		dst[0], dst[1], dst[2], dst[3] = c.b, c.g, c.r, 0
		return c
	case RGB565:
		r, g, b := uint16(c.r>>3), uint16(c.g>>2), uint16(c.b>>3)
		v := r<<11 | g<<5 | b
		dst[0], dst[1] = byte(v), byte(v>>8)
		return rgb{uint8(r<<3 | r>>2), uint8(g<<2 | g>>4), uint8(b<<3 | b>>2)}
	case RGB1555:
		r, g, b := uint16(c.r>>3), uint16(c.g>>3), uint16(c.b>>3)
		v := r<<10 | g<<5 | b
		dst[0], dst[1] = byte(v), byte(v>>8)
		return rgb{uint8(r<<3 | r>>2), uint8(g<<3 | g>>2), uint8(b<<3 | b>>2)}
	}
	panic("unknown format")
}

// frame draws a w by h picture in format f with rows stride bytes apart,
// using left for x < split and right elsewhere. It returns the colours
// each side should come back as.
func frame(f PixelFormat, w, h, stride, split int, left, right rgb) (src []byte, wantL, wantR rgb) {
	bpp := f.BytesPerPixel()
	src = make([]byte, stride*(h-1)+w*bpp)
	for y := range h {
		for x := range w {
			c := right
			if x < split {
				c = left
			}
			got := pack(src[y*stride+x*bpp:], f, c)
			if x < split {
				wantL = got
			} else {
				wantR = got
			}
		}
	}
	return src, wantL, wantR
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	// Limited-range BT.601 loses a little precision each way.
	const tolerance = 6
	formats := []PixelFormat{XRGB8888, RGB565, RGB1555}
	scenes := []struct {
		name        string
		w, h        int
		extraStride int
		left, right rgb
	}{
		{"red|blue", 256, 240, 0, red, blue},
		{"green", 240, 160, 0, green, green},
		{"grey|green padded stride", 64, 48, 12, grey, green},
		{"odd size red|blue", 33, 17, 0, red, blue},
		{"one pixel", 1, 1, 0, blue, blue},
	}
	for _, f := range formats {
		for _, sc := range scenes {
			t.Run(fmt.Sprintf("%v/%s", f, sc.name), func(t *testing.T) {
				// Split on an even column so that no 2x2 chroma
				// block mixes the two colours.
				split := sc.w / 2 &^ 1
				stride := sc.w*f.BytesPerPixel() + sc.extraStride
				src, wantL, wantR := frame(f, sc.w, sc.h, stride, split, sc.left, sc.right)
				img, err := NewI420(sc.w, sc.h)
				if err != nil {
					t.Fatal(err)
				}
				if err := img.Convert(src, stride, f); err != nil {
					t.Fatal(err)
				}
				out := make([]byte, 4*sc.w*sc.h)
				if err := img.ToRGBA(out); err != nil {
					t.Fatal(err)
				}
				for y := range sc.h {
					for x := range sc.w {
						want := wantR
						if x < split {
							want = wantL
						}
						p := out[4*(y*sc.w+x):]
						got := rgb{p[0], p[1], p[2]}
						if !near(got, want, tolerance) || p[3] != 255 {
							t.Fatalf("pixel (%d,%d) = %v alpha %d, want %v ±%d", x, y, got, p[3], want, tolerance)
						}
					}
				}
			})
		}
	}
}

// TestLimitedRange checks the colour matrix, not just that the round trip
// is symmetric: white and black must land on BT.601 studio levels.
func TestLimitedRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c       rgb
		y, u, v int
	}{
		{rgb{255, 255, 255}, 235, 128, 128},
		{rgb{0, 0, 0}, 16, 128, 128},
		{red, 82, 90, 240},
	} {
		src, _, _ := frame(XRGB8888, 4, 4, 16, 0, tc.c, tc.c)
		img, _ := NewI420(4, 4)
		if err := img.Convert(src, 16, XRGB8888); err != nil {
			t.Fatal(err)
		}
		y, u, v := int(img.Y[0]), int(img.U[0]), int(img.V[0])
		if abs(y-tc.y) > 1 || abs(u-tc.u) > 1 || abs(v-tc.v) > 1 {
			t.Errorf("%v -> YUV(%d,%d,%d), want (%d,%d,%d)", tc.c, y, u, v, tc.y, tc.u, tc.v)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	t.Parallel()
	img, err := NewI420(16, 8)
	if err != nil {
		t.Fatal(err)
	}
	full := make([]byte, 16*4*8)
	tests := []struct {
		name   string
		img    *I420
		src    []byte
		stride int
		format PixelFormat
		want   error
	}{
		{"short source", img, full[:len(full)-1], 64, XRGB8888, ErrShortBuffer},
		{"empty source", img, nil, 64, XRGB8888, ErrShortBuffer},
		{"short 16-bit source", img, full[:32*8-1], 32, RGB565, ErrShortBuffer},
		{"stride below row", img, full, 63, XRGB8888, ErrShortBuffer},
		{"negative stride", img, full, -64, XRGB8888, ErrShortBuffer},
		{"stride needs more rows", img, full, 72, XRGB8888, ErrShortBuffer},
		{"unknown format", img, full, 64, PixelFormat(0), ErrUnknownFormat},
		{"unknown format 4", img, full, 64, PixelFormat(4), ErrUnknownFormat},
		{"nil image", nil, full, 64, XRGB8888, ErrInvalidSize},
		{"zero image", &I420{}, full, 64, XRGB8888, ErrInvalidSize},
		{"short planes", &I420{Width: 16, Height: 8, Y: make([]byte, 127), U: make([]byte, 32), V: make([]byte, 32), StrideY: 16, StrideUV: 8}, full, 64, XRGB8888, ErrShortBuffer},
		{"short chroma stride", &I420{Width: 16, Height: 8, Y: make([]byte, 128), U: make([]byte, 32), V: make([]byte, 32), StrideY: 16, StrideUV: 7}, full, 64, XRGB8888, ErrShortBuffer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.img.Convert(tc.src, tc.stride, tc.format); !errors.Is(err, tc.want) {
				t.Errorf("Convert = %v, want %v", err, tc.want)
			}
		})
	}
	// The last row needs no padding after it.
	if err := img.Convert(make([]byte, 72*7+64), 72, XRGB8888); err != nil {
		t.Errorf("Convert with exact length: %v", err)
	}
}

func TestToRGBAShort(t *testing.T) {
	t.Parallel()
	img, _ := NewI420(3, 3)
	if err := img.ToRGBA(make([]byte, 35)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("ToRGBA = %v, want ErrShortBuffer", err)
	}
	if err := img.ToRGBA(make([]byte, 36)); err != nil {
		t.Errorf("ToRGBA = %v", err)
	}
}

func TestNewI420(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		w, h int
		ok   bool
	}{
		{1, 1, true}, {255, 239, true}, {4096, 4096, true},
		{0, 10, false}, {10, 0, false}, {-1, 10, false}, {4097, 10, false}, {10, 1 << 30, false},
	} {
		img, err := NewI420(tc.w, tc.h)
		if tc.ok != (err == nil) {
			t.Errorf("NewI420(%d, %d) error = %v, want ok=%v", tc.w, tc.h, err, tc.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidSize) {
				t.Errorf("NewI420(%d, %d) = %v, want ErrInvalidSize", tc.w, tc.h, err)
			}
			continue
		}
		cw, ch := (tc.w+1)/2, (tc.h+1)/2
		if len(img.Y) != tc.w*tc.h || len(img.U) != cw*ch || len(img.V) != cw*ch || cap(img.U) != cw*ch {
			t.Errorf("NewI420(%d, %d) planes %d/%d/%d", tc.w, tc.h, len(img.Y), len(img.U), len(img.V))
		}
		if err := img.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
}

func TestPixelFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    PixelFormat
		bpp  int
		name string
	}{
		{XRGB8888, 4, "XRGB8888"}, {RGB565, 2, "RGB565"}, {RGB1555, 2, "RGB1555"}, {0, 0, "PixelFormat(0)"}, {9, 0, "PixelFormat(9)"},
	} {
		if got := tc.f.BytesPerPixel(); got != tc.bpp {
			t.Errorf("%v.BytesPerPixel() = %d, want %d", tc.f, got, tc.bpp)
		}
		if got := tc.f.String(); got != tc.name {
			t.Errorf("String() = %q, want %q", got, tc.name)
		}
	}
}

func near(a, b rgb, tol int) bool {
	return abs(int(a.r)-int(b.r)) <= tol && abs(int(a.g)-int(b.g)) <= tol && abs(int(a.b)-int(b.b)) <= tol
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func BenchmarkConvert(b *testing.B) {
	for _, bc := range []struct {
		name   string
		w, h   int
		format PixelFormat
	}{
		{"NES-256x240-RGB565", 256, 240, RGB565},
		{"NES-256x240-XRGB8888", 256, 240, XRGB8888},
		{"GBA-240x160-RGB565", 240, 160, RGB565},
		{"GBA-240x160-XRGB8888", 240, 160, XRGB8888},
	} {
		b.Run(bc.name, func(b *testing.B) {
			img, err := NewI420(bc.w, bc.h)
			if err != nil {
				b.Fatal(err)
			}
			stride := bc.w * bc.format.BytesPerPixel()
			src := make([]byte, stride*bc.h)
			for i := range src {
				src[i] = byte(i * 7)
			}
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if err := img.Convert(src, stride, bc.format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

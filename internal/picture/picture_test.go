package picture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
)

func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 7, 255})
		}
	}
	return img
}

func encode(t testing.TB, img image.Image, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&b, img, nil)
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngClaiming is a PNG header that claims a picture of w by h pixels,
// and nothing after it: a small file that would make a decoder allocate.
func pngClaiming(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8 bits, RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

func TestThumbnail(t *testing.T) {
	tests := []struct {
		name      string
		img       image.Image
		format    string
		width     int
		wantW     int
		wantType  string
		wantAlpha bool
	}{
		{"small stays", gradient(100, 80), "png", 320, 100, PNG, false},
		{"halved until it fits", gradient(1000, 1400), "png", 320, 250, PNG, false},
		{"a JPEG stays a JPEG", gradient(700, 500), "jpeg", 320, 175, JPEG, false},
		{"paletted", image.NewPaletted(image.Rect(0, 0, 64, 64), color.Palette{color.Black, color.White}), "png", 320, 64, PNG, false},
		{"offset bounds", gradient(90, 90).SubImage(image.Rect(10, 10, 80, 60)), "png", 320, 70, PNG, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, typ := Thumbnail(tt.img, tt.format, tt.width)
			if typ != tt.wantType {
				t.Errorf("type %s, want %s", typ, tt.wantType)
			}
			got, format, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds().Dx() != tt.wantW || (format == "jpeg") != (tt.wantType == JPEG) {
				t.Errorf("%s of %v, want %d wide", format, got.Bounds(), tt.wantW)
			}
		})
	}
}

// webp is a lossy WebP picture from golang.org/x/image's test data (BSD).
func webp(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	good := encode(t, gradient(20, 10), "png")
	tests := map[string]struct {
		b    []byte
		want error
	}{
		"png":                  {good, nil},
		"jpeg":                 {encode(t, gradient(20, 10), "jpeg"), nil},
		"text":                 {[]byte("<svg/>"), ErrNotPicture},
		"empty":                {nil, ErrNotPicture},
		"cut short":            {good[:len(good)/2], ErrNotPicture},
		"claims a huge size":   {pngClaiming(100000, 100000), ErrNotPicture},
		"claims zero pixels":   {pngClaiming(0, 5), ErrNotPicture},
		"a header and no data": {pngClaiming(16, 16), ErrNotPicture},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := Decode(tt.b)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUniform(t *testing.T) {
	black := image.NewRGBA(image.Rect(0, 0, 256, 224))
	for i := 3; i < len(black.Pix); i += 4 {
		black.Pix[i] = 255
	}
	dot := image.NewRGBA(black.Rect)
	copy(dot.Pix, black.Pix)
	dot.SetRGBA(200, 100, color.RGBA{255, 255, 255, 255})
	for name, tt := range map[string]struct {
		pic  *image.RGBA
		want bool
	}{
		"black":    {black, true},
		"one dot":  {dot, false},
		"gradient": {gradient(8, 8), false},
		"empty":    {image.NewRGBA(image.Rect(0, 0, 0, 0)), true},
	} {
		if got := Uniform(tt.pic); got != tt.want {
			t.Errorf("%s: Uniform %v, want %v", name, got, tt.want)
		}
	}
}

// FuzzDecode feeds Decode, and Thumbnail after it, what an art file may
// hold: an error, never a panic nor a picture over MaxPixels.
func FuzzDecode(f *testing.F) {
	f.Add(encode(f, gradient(20, 10), "png"))
	f.Add(encode(f, gradient(9, 9), "jpeg"))
	f.Add(pngClaiming(100000, 100000))
	f.Add(webp(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, format, err := Decode(b)
		if err != nil {
			return
		}
		if r := img.Bounds(); r.Dx()*r.Dy() > MaxPixels {
			t.Fatalf("decoded %v, over MaxPixels", r)
		}
		if data, _ := Thumbnail(img, format, 64); len(data) == 0 {
			t.Fatal("no thumbnail of a picture that decoded")
		}
	})
}

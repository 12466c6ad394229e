// Package picture makes the small pictures Telecart sends browsers: a
// save's thumbnail and a game's picture in the list, from a frame of the
// game or from art files. One scaler for both, so the two look alike.
package picture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"

	_ "golang.org/x/image/webp" // registers WebP with image.Decode: pure Go, no cgo
)

// Content types of the pictures Thumbnail makes.
const (
	PNG  = "image/png"
	JPEG = "image/jpeg"
)

// ErrNotPicture marks bytes that do not decode as a picture.
var ErrNotPicture = errors.New("picture: not a PNG, JPEG or WebP picture")

// MaxPixels bounds the picture a file may declare: decoding allocates
// four bytes a pixel before reading any (and shrinking another four), so
// a small file claiming a huge size must be refused from its header
// alone. 8 megapixels is a box scanned at 2400 by 3400, more than a list
// needs by far, and 64 MiB of decoding at most.
const MaxPixels = 8 << 20

// Config reads a picture's format and size from its header, without
// decoding it: a library scan checks every art file this way.
func Config(r io.Reader) (format string, width, height int, err error) {
	c, format, err := image.DecodeConfig(r)
	if err != nil {
		return "", 0, 0, fmt.Errorf("%w: %w", ErrNotPicture, err)
	}
	if c.Width <= 0 || c.Height <= 0 || c.Width*c.Height > MaxPixels {
		return "", 0, 0, fmt.Errorf("%w: %dx%d pixels", ErrNotPicture, c.Width, c.Height)
	}
	return format, c.Width, c.Height, nil
}

// Decode decodes a PNG, JPEG or WebP picture, refusing one larger than
// MaxPixels before decoding it.
func Decode(b []byte) (image.Image, string, error) {
	if _, _, _, err := Config(bytes.NewReader(b)); err != nil {
		return nil, "", err
	}
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrNotPicture, err)
	}
	return img, format, nil
}

// Shrink halves pic (each pixel the mean of four) until it is at most
// width pixels wide.
func Shrink(pic *image.RGBA, width int) *image.RGBA {
	for pic.Rect.Dx() > width && pic.Rect.Dy() >= 2 {
		pic = halve(pic)
	}
	return pic
}

// EncodePNG is pic as PNG, compressed quickly: these are small.
func EncodePNG(pic image.Image) []byte {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, pic); err != nil {
		return nil // an in-memory image always encodes
	}
	return buf.Bytes()
}

// Thumbnail is img shrunk to at most width pixels wide: a photograph (a
// JPEG box) stays a JPEG, which is a fraction of its PNG's size, and
// everything else becomes a PNG. It returns the bytes and their content
// type.
func Thumbnail(img image.Image, format string, width int) ([]byte, string) {
	pic, ok := img.(*image.RGBA)
	if !ok || pic.Rect.Min != (image.Point{}) {
		pic = image.NewRGBA(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
		draw.Draw(pic, pic.Rect, img, img.Bounds().Min, draw.Src)
	}
	pic = Shrink(pic, width)
	if format == "jpeg" {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, pic, &jpeg.Options{Quality: 85}); err == nil {
			return buf.Bytes(), JPEG
		}
	}
	return EncodePNG(pic), PNG
}

// Uniform says whether every pixel of pic is one colour: a console's
// black boot frame or a blank screen, nobody's idea of the game's picture.
func Uniform(pic *image.RGBA) bool {
	w, h := pic.Rect.Dx(), pic.Rect.Dy()
	if w == 0 || h == 0 {
		return true
	}
	first := pic.Pix[:4]
	for y := range h {
		row := pic.Pix[y*pic.Stride : y*pic.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			if row[x] != first[0] || row[x+1] != first[1] || row[x+2] != first[2] {
				return false
			}
		}
	}
	return true
}

func halve(src *image.RGBA) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			for c := range 4 {
				sum := 0
				for _, p := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
					sum += int(src.Pix[(2*y+p[1])*src.Stride+(2*x+p[0])*4+c])
				}
				dst.Pix[y*dst.Stride+x*4+c] = uint8(sum / 4)
			}
		}
	}
	return dst
}

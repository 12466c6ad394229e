// Package yuv converts emulator frame buffers to planar I420 with libyuv.
//
// Emulator cores hand out frames in one of a few packed RGB formats; video
// encoders want 8-bit 4:2:0 planar YUV. Conversion uses BT.601 limited
// range: VP8 defines its colour space as BT.601, and the H.264 encoder
// signals BT.601 in its stream.
package yuv

/*
#cgo LDFLAGS: -lyuv
#include <libyuv/convert.h>
#include <libyuv/convert_argb.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// MaxDimension is the largest width or height NewI420 accepts. It is far
// beyond any retro console and keeps a bad size from turning into a huge
// allocation.
const MaxDimension = 4096

var (
	// ErrInvalidSize is returned for a width or height that is not
	// positive or exceeds MaxDimension.
	ErrInvalidSize = errors.New("yuv: invalid frame size")
	// ErrShortBuffer is returned when a source, destination or plane
	// buffer is too small for the frame it should hold.
	ErrShortBuffer = errors.New("yuv: buffer too short")
	// ErrUnknownFormat is returned for a PixelFormat that is not one of
	// the declared constants.
	ErrUnknownFormat = errors.New("yuv: unknown pixel format")
)

// PixelFormat is the layout of a packed RGB frame buffer, named after the
// libretro pixel formats.
type PixelFormat uint8

const (
	// XRGB8888 is a little-endian 32-bit word 0x00RRGGBB per pixel, so
	// the bytes in memory are B, G, R, X (libyuv's "ARGB").
	XRGB8888 PixelFormat = iota + 1
	// RGB565 is a little-endian 16-bit word per pixel with red in the
	// top five bits.
	RGB565
	// RGB1555 is a little-endian 16-bit 0RGB1555 word per pixel (libyuv's
	// "ARGB1555"); the top bit is ignored.
	RGB1555
)

// BytesPerPixel returns the size of one pixel, or 0 for an unknown format.
func (f PixelFormat) BytesPerPixel() int {
	switch f {
	case XRGB8888:
		return 4
	case RGB565, RGB1555:
		return 2
	}
	return 0
}

func (f PixelFormat) String() string {
	switch f {
	case XRGB8888:
		return "XRGB8888"
	case RGB565:
		return "RGB565"
	case RGB1555:
		return "RGB1555"
	}
	return fmt.Sprintf("PixelFormat(%d)", uint8(f))
}

// I420 is an 8-bit planar 4:2:0 picture. The planes are ordinary Go memory;
// the chroma planes are (Width+1)/2 by (Height+1)/2 samples, so odd sizes
// are represented exactly.
//
// An I420 is not safe for concurrent use. Encoders only read it during the
// call it is passed to, so it may be reused for the next frame right away.
type I420 struct {
	Width, Height     int
	Y, U, V           []byte
	StrideY, StrideUV int
}

// NewI420 allocates a picture with tightly packed planes.
func NewI420(width, height int) (*I420, error) {
	if width <= 0 || height <= 0 || width > MaxDimension || height > MaxDimension {
		return nil, fmt.Errorf("%w: %dx%d", ErrInvalidSize, width, height)
	}
	cw, ch := (width+1)/2, (height+1)/2
	// One allocation for the three planes keeps them close in memory;
	// the full slice expressions stop a plane from growing into the next.
	buf := make([]byte, width*height+2*cw*ch)
	ySize, cSize := width*height, cw*ch
	return &I420{
		Width:    width,
		Height:   height,
		Y:        buf[:ySize:ySize],
		U:        buf[ySize : ySize+cSize : ySize+cSize],
		V:        buf[ySize+cSize:],
		StrideY:  width,
		StrideUV: cw,
	}, nil
}

// Validate reports whether the planes and strides can hold a Width by
// Height picture. Code that hands the planes to C must call it first, since
// C does no bounds checking.
func (img *I420) Validate() error {
	if img == nil {
		return fmt.Errorf("%w: nil image", ErrInvalidSize)
	}
	w, h := img.Width, img.Height
	if w <= 0 || h <= 0 || w > MaxDimension || h > MaxDimension {
		return fmt.Errorf("%w: %dx%d", ErrInvalidSize, w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	if img.StrideY < w || img.StrideUV < cw {
		return fmt.Errorf("%w: strides %d/%d for %dx%d", ErrShortBuffer, img.StrideY, img.StrideUV, w, h)
	}
	if len(img.Y) < planeSize(img.StrideY, w, h) ||
		len(img.U) < planeSize(img.StrideUV, cw, ch) ||
		len(img.V) < planeSize(img.StrideUV, cw, ch) {
		return fmt.Errorf("%w: planes %d/%d/%d for %dx%d", ErrShortBuffer, len(img.Y), len(img.U), len(img.V), w, h)
	}
	return nil
}

// planeSize is the number of bytes rows rows of width bytes occupy when they
// start stride bytes apart: the last row needs no padding after it.
func planeSize(stride, width, rows int) int {
	return stride*(rows-1) + width
}

// Convert fills img from src, which holds img.Height rows of img.Width
// pixels in format, each row starting stride bytes after the previous one.
// It uses BT.601 limited range, as libyuv's ARGBToI420, RGB565ToI420 and
// ARGB1555ToI420 do.
func (img *I420) Convert(src []byte, stride int, format PixelFormat) error {
	if err := img.Validate(); err != nil {
		return err
	}
	bpp := format.BytesPerPixel()
	if bpp == 0 {
		return fmt.Errorf("%w: %v", ErrUnknownFormat, format)
	}
	rowBytes := img.Width * bpp
	if stride < rowBytes {
		return fmt.Errorf("%w: stride %d for %d %v pixels", ErrShortBuffer, stride, img.Width, format)
	}
	if need := planeSize(stride, rowBytes, img.Height); len(src) < need {
		return fmt.Errorf("%w: source has %d bytes, need %d", ErrShortBuffer, len(src), need)
	}

	s := (*C.uint8_t)(unsafe.Pointer(&src[0]))
	y := (*C.uint8_t)(unsafe.Pointer(&img.Y[0]))
	u := (*C.uint8_t)(unsafe.Pointer(&img.U[0]))
	v := (*C.uint8_t)(unsafe.Pointer(&img.V[0]))
	sy, suv := C.int(img.StrideY), C.int(img.StrideUV)
	w, h := C.int(img.Width), C.int(img.Height)
	var rc C.int
	switch format {
	case XRGB8888:
		rc = C.ARGBToI420(s, C.int(stride), y, sy, u, suv, v, suv, w, h)
	case RGB565:
		rc = C.RGB565ToI420(s, C.int(stride), y, sy, u, suv, v, suv, w, h)
	case RGB1555:
		rc = C.ARGB1555ToI420(s, C.int(stride), y, sy, u, suv, v, suv, w, h)
	}
	if rc != 0 {
		return fmt.Errorf("yuv: libyuv conversion from %v failed (%d)", format, int(rc))
	}
	return nil
}

// ToRGBA writes the picture to dst as tightly packed R, G, B, A bytes
// (alpha 255), the layout of image.RGBA.Pix. dst must hold at least
// 4*Width*Height bytes.
func (img *I420) ToRGBA(dst []byte) error {
	if err := img.Validate(); err != nil {
		return err
	}
	if need := 4 * img.Width * img.Height; len(dst) < need {
		return fmt.Errorf("%w: destination has %d bytes, need %d", ErrShortBuffer, len(dst), need)
	}
	// libyuv names formats by the order of a little-endian word, so its
	// ABGR is R, G, B, A in memory.
	rc := C.I420ToABGR(
		(*C.uint8_t)(unsafe.Pointer(&img.Y[0])), C.int(img.StrideY),
		(*C.uint8_t)(unsafe.Pointer(&img.U[0])), C.int(img.StrideUV),
		(*C.uint8_t)(unsafe.Pointer(&img.V[0])), C.int(img.StrideUV),
		(*C.uint8_t)(unsafe.Pointer(&dst[0])), C.int(4*img.Width),
		C.int(img.Width), C.int(img.Height))
	if rc != 0 {
		return fmt.Errorf("yuv: libyuv I420ToABGR failed (%d)", int(rc))
	}
	return nil
}

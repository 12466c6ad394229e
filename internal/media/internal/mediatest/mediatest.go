// Package mediatest draws synthetic frames and sounds and measures how
// closely a codec reproduced them. It exists for the media packages' tests
// and benchmarks.
package mediatest

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/telecart/telecart/internal/media/yuv"
)

// GameFrame draws frame n of a game-like scene into dst as XRGB8888 with a
// stride of 4*w: a tiled background scrolling one pixel a frame to the left
// and a few sprite-sized blocks moving over it. It has the mix of flat
// colour, hard edges and small motion that retro games have, which noise or
// a still picture would not.
func GameFrame(dst []byte, w, h, n int) {
	palette := [...]uint32{0x5c94fc, 0x00a800, 0xc84c0c, 0xfcbcb0, 0x000000, 0xfcfcfc, 0x0058f8, 0xf8b800}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx := x + n // scroll left by one pixel a frame
			tx, ty := sx/16, y/16
			var c uint32
			switch {
			case y >= h-32: // ground: bricks with mortar lines
				if y%8 == 0 || (sx+(y/8%2)*8)%16 == 0 {
					c = palette[4]
				} else {
					c = palette[2]
				}
			case (tx*7+ty*3)%11 == 0 && (sx%16 > 1 && y%16 > 1): // floating blocks
				c = palette[7]
				if (sx%16-8)*(sx%16-8)+(y%16-8)*(y%16-8) < 9 {
					c = palette[4]
				}
			case (tx*5+ty)%13 == 0 && y < h/2: // clouds
				c = palette[5]
			default: // sky
				c = palette[0]
			}
			put(dst, w, x, y, c)
		}
	}
	// Sprites: a few 16x16 blocks, each with its own path and colour.
	for i := range 4 {
		sx := (n*(i+1)*2 + i*61) % (w - 16)
		sy := h/2 + int(float64(h/3)*math.Sin(float64(n+i*20)/15)) - 8
		if sy < 0 {
			sy = 0
		}
		if sy > h-16 {
			sy = h - 16
		}
		for y := range 16 {
			for x := range 16 {
				c := palette[(i+1)%len(palette)]
				if (x/4+y/4)%2 == 0 {
					c = palette[3]
				}
				put(dst, w, sx+x, sy+y, c)
			}
		}
	}
}

func put(dst []byte, w, x, y int, c uint32) {
	i := 4 * (y*w + x)
	dst[i+0] = byte(c)
	dst[i+1] = byte(c >> 8)
	dst[i+2] = byte(c >> 16)
	dst[i+3] = 0
}

// GameFrames returns count consecutive GameFrame pictures converted to I420.
func GameFrames(w, h, count int) ([]*yuv.I420, error) {
	rgb := make([]byte, 4*w*h)
	frames := make([]*yuv.I420, count)
	for n := range frames {
		img, err := yuv.NewI420(w, h)
		if err != nil {
			return nil, err
		}
		GameFrame(rgb, w, h, n)
		if err := img.Convert(rgb, 4*w, yuv.XRGB8888); err != nil {
			return nil, err
		}
		frames[n] = img
	}
	return frames, nil
}

// Noisy sets dst to src with uniform noise of ±amplitude added to luma.
// Noise cannot be predicted, so an encoder spends whatever bitrate it is
// allowed on it; a moderate amount keeps the frame within what an encoder
// can squeeze into a low bitrate, unlike pure noise.
func Noisy(dst, src *yuv.I420, amplitude int, rng *rand.Rand) {
	for i, s := range src.Y {
		dst.Y[i] = byte(min(255, max(0, int(s)+rng.IntN(2*amplitude+1)-amplitude)))
	}
	copy(dst.U, src.U)
	copy(dst.V, src.V)
}

// Fill sets every sample of img to the given values.
func Fill(img *yuv.I420, y, u, v byte) {
	for i := range img.Y {
		img.Y[i] = y
	}
	for i := range img.U {
		img.U[i] = u
		img.V[i] = v
	}
}

// PSNR returns the peak signal-to-noise ratio in dB of the luma of b
// against a, or +Inf if they are equal. The pictures must be the same size.
func PSNR(a, b *yuv.I420) float64 {
	var sse float64
	for y := range a.Height {
		ra := a.Y[y*a.StrideY : y*a.StrideY+a.Width]
		rb := b.Y[y*b.StrideY : y*b.StrideY+b.Width]
		for x := range ra {
			d := float64(ra[x]) - float64(rb[x])
			sse += d * d
		}
	}
	if sse == 0 {
		return math.Inf(1)
	}
	mse := sse / float64(a.Width*a.Height)
	return 10 * math.Log10(255*255/mse)
}

// Sine returns frames frames of an interleaved sine wave of the given
// frequency and amplitude (relative to full scale) on every channel.
func Sine(rate float64, freq float64, amplitude float64, channels, frames int) []int16 {
	pcm := make([]int16, frames*channels)
	for i := range frames {
		s := int16(amplitude * 32767 * math.Sin(2*math.Pi*freq*float64(i)/rate))
		for c := range channels {
			pcm[i*channels+c] = s
		}
	}
	return pcm
}

// Channel returns channel c of interleaved pcm as float64 samples.
func Channel(pcm []int16, channels, c int) []float64 {
	out := make([]float64, 0, len(pcm)/channels)
	for i := c; i < len(pcm); i += channels {
		out = append(out, float64(pcm[i]))
	}
	return out
}

// RMS returns the root mean square of x.
func RMS(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(len(x)))
}

// Frequency estimates the frequency in Hz of a sine wave sampled at rate
// by counting rising zero crossings, interpolating the first and last one
// to a fraction of a sample.
func Frequency(x []float64, rate float64) float64 {
	first, last := -1.0, -1.0
	crossings := 0
	for i := 1; i < len(x); i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			t := float64(i-1) + -x[i-1]/(x[i]-x[i-1])
			if first < 0 {
				first = t
			}
			last = t
			crossings++
		}
	}
	if crossings < 2 {
		return 0
	}
	return float64(crossings-1) * rate / (last - first)
}

// Goertzel returns the power of x at freq relative to its total power: near
// 1 for a pure tone at freq, near 0 for a tone elsewhere.
func Goertzel(x []float64, rate, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2, total float64
	for _, v := range x {
		s := v + coeff*s1 - s2
		s2, s1 = s1, s
		total += v * v
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	if total == 0 {
		return 0
	}
	// A pure tone of amplitude A over N samples has total power N*A²/2
	// and Goertzel power (N*A/2)², so the ratio is normalised by N/2.
	return power / (total * float64(len(x)) / 2)
}

// Percentile returns the p-th percentile (0..100) of the sorted values.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// Encoder is what the checks need of a video encoder: the size of each
// encoded frame and whether it is a keyframe, and its controls.
type Encoder interface {
	EncodeSize(img *yuv.I420) (size int, keyframe bool, err error)
	SetBitrate(kbps int) error
	Close() error
}

// CheckEncodeErrors checks that e, made for 256x240, refuses a missing
// picture and one with short planes, still encodes after that, closes
// twice without error, and refuses use after Close with errClosed.
func CheckEncodeErrors(t *testing.T, e Encoder, errClosed error) {
	t.Helper()
	if _, _, err := e.EncodeSize(nil); !errors.Is(err, yuv.ErrInvalidSize) {
		t.Errorf("Encode(nil) = %v, want yuv.ErrInvalidSize", err)
	}
	short := &yuv.I420{Width: 256, Height: 240, Y: make([]byte, 256*240), U: make([]byte, 100), V: make([]byte, 128*120), StrideY: 256, StrideUV: 128}
	if _, _, err := e.EncodeSize(short); !errors.Is(err, yuv.ErrShortBuffer) {
		t.Errorf("Encode(short planes) = %v, want yuv.ErrShortBuffer", err)
	}
	img, _ := yuv.NewI420(256, 240)
	if _, _, err := e.EncodeSize(img); err != nil {
		t.Fatalf("Encode after errors: %v", err)
	}
	for range 2 {
		if err := e.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	}
	if _, _, err := e.EncodeSize(img); !errors.Is(err, errClosed) {
		t.Errorf("Encode after Close = %v, want %v", err, errClosed)
	}
	if err := e.SetBitrate(500); !errors.Is(err, errClosed) {
		t.Errorf("SetBitrate after Close = %v, want %v", err, errClosed)
	}
}

// CheckSetBitrate encodes a noisy game scene at 3000 kbps, lowers the
// bitrate to 500 kbps while running, and checks that the average frame
// follows the target without a keyframe. Noise cannot be predicted, so each
// frame is as large as rate control allows. e must start at 3000 kbps for
// 256x240 at 60 fps. Bitrates of 0, -1 and maxKbps+1 must fail with errInvalid.
func CheckSetBitrate(t *testing.T, e Encoder, errInvalid error, maxKbps int) {
	t.Helper()
	frames, err := GameFrames(256, 240, 60)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	img, _ := yuv.NewI420(256, 240)
	average := func() float64 {
		const skip = 30 // let rate control settle first
		total := 0
		for i, src := range frames {
			Noisy(img, src, 16, rng)
			size, key, err := e.EncodeSize(img)
			if err != nil {
				t.Fatal(err)
			}
			if key && i > 0 {
				t.Errorf("frame %d: keyframe after SetBitrate", i)
			}
			if i >= skip {
				total += size
			}
		}
		return float64(total) / float64(len(frames)-skip)
	}
	const highTarget, lowTarget = 3000 * 1000 / 8 / 60, 500 * 1000 / 8 / 60 // bytes a frame
	high := average()
	if err := e.SetBitrate(500); err != nil {
		t.Fatal(err)
	}
	low := average()
	t.Logf("average frame: %.0f bytes at 3000 kbps (target %d), %.0f bytes at 500 kbps (target %d)", high, highTarget, low, lowTarget)
	if low > high/3 {
		t.Errorf("average frame at 500 kbps = %.0f bytes, want under a third of %.0f at 3000 kbps", low, high)
	}
	if high < 0.8*highTarget || high > 1.2*highTarget {
		t.Errorf("average frame at 3000 kbps = %.0f bytes, want %d ±20%%", high, highTarget)
	}
	// At the highest quantizer the noise still costs a little more than
	// the target.
	if low > 1.5*lowTarget {
		t.Errorf("average frame at 500 kbps = %.0f bytes, want near %d", low, lowTarget)
	}
	for _, kbps := range []int{0, -1, maxKbps + 1} {
		if err := e.SetBitrate(kbps); !errors.Is(err, errInvalid) {
			t.Errorf("SetBitrate(%d) = %v, want %v", kbps, err, errInvalid)
		}
	}
}

package resample

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/telecart/telecart/internal/media/internal/mediatest"
)

func newResampler(t testing.TB, channels int, in float64, out, quality int) *Resampler {
	t.Helper()
	r, err := New(channels, in, out, quality)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRates(t *testing.T) {
	t.Parallel()
	const freq = 440
	for _, tc := range []struct {
		name   string
		inRate float64
	}{
		{"GBA", 32768},
		{"NES", 44100},
		{"SNES", 32040.5},
		{"low", 8000},
		{"high", 96000},
	} {
		for _, channels := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s-%vHz-%dch", tc.name, tc.inRate, channels), func(t *testing.T) {
				r := newResampler(t, channels, tc.inRate, 48000, 5)
				// Ten seconds, to show that the fraction in the
				// ratio does not drift.
				const seconds = 10
				frames := int(math.Round(seconds * tc.inRate))
				in := mediatest.Sine(tc.inRate, freq, 0.5, channels, frames)
				// Feed it the way an emulator does, one video
				// frame's worth at a time.
				var out []int16
				chunk := int(tc.inRate/60) * channels
				for i := 0; i < len(in); i += chunk {
					out = r.Process(out, in[i:min(i+chunk, len(in))])
				}
				if len(out)%channels != 0 {
					t.Fatalf("%d samples is not a whole number of frames", len(out))
				}
				want := float64(frames) * 48000 / tc.inRate
				got := float64(len(out) / channels)
				t.Logf("%d frames in, %.0f out, want %.1f", frames, got, want)
				if math.Abs(got-want) > 4 {
					t.Errorf("%d frames in gave %.0f out, want %.1f ±4", frames, got, want)
				}
				for c := range channels {
					x := mediatest.Channel(out, channels, c)[4800:] // skip the filter's start
					if f := mediatest.Frequency(x, 48000); math.Abs(f-freq) > 0.05 {
						t.Errorf("channel %d: frequency %.3f Hz, want %d", c, f, freq)
					}
					if rms, want := mediatest.RMS(x), 0.5*32767/math.Sqrt2; math.Abs(rms-want) > 0.02*want {
						t.Errorf("channel %d: RMS %.0f, want %.0f ±2%%", c, rms, want)
					}
				}
			})
		}
	}
}

// TestChunking checks that output does not depend on how the input is cut,
// even mid-frame.
func TestChunking(t *testing.T) {
	t.Parallel()
	in := mediatest.Sine(44100, 1000, 0.7, 2, 44100)
	whole := newResampler(t, 2, 44100, 48000, 4).Process(nil, in)

	r := newResampler(t, 2, 44100, 48000, 4)
	var out []int16
	sizes := []int{1, 3, 2, 735 * 2, 0, 7, 1, 4096, 1}
	for i, n := 0, 0; i < len(in); n++ {
		end := min(i+sizes[n%len(sizes)], len(in))
		out = r.Process(out, in[i:end])
		i = end
	}
	if !slices.Equal(out, whole) {
		t.Errorf("chunked output (%d samples) differs from one-shot output (%d samples)", len(out), len(whole))
	}
}

func TestPassThrough(t *testing.T) {
	t.Parallel()
	for _, in := range []float64{48000, 48000.001} {
		r := newResampler(t, 2, in, 48000, 3)
		src := mediatest.Sine(48000, 440, 0.5, 2, 1000)
		src = append(src, 5) // half a frame
		dst := []int16{1, 2}
		got := r.Process(dst, src)
		if !slices.Equal(got[:2], []int16{1, 2}) || !slices.Equal(got[2:], src) {
			t.Errorf("rate %v: pass-through changed the samples", in)
		}
	}
}

func TestAppends(t *testing.T) {
	t.Parallel()
	r := newResampler(t, 1, 32768, 48000, 3)
	prefix := []int16{7, 8, 9}
	out := r.Process(slices.Clone(prefix), make([]int16, 3276))
	if !slices.Equal(out[:3], prefix) {
		t.Errorf("Process overwrote dst: %v", out[:3])
	}
	if n := len(out) - 3; n < 4700 || n > 4810 {
		t.Errorf("3276 frames at 32768 Hz gave %d at 48000 Hz, want about 4800", n)
	}
	if out := r.Process(nil, nil); len(out) != 0 {
		t.Errorf("Process(nil, nil) = %d samples", len(out))
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		channels int
		in       float64
		out      int
		quality  int
	}{
		{0, 44100, 48000, 5},
		{9, 44100, 48000, 5},
		{2, 0, 48000, 5},
		{2, -44100, 48000, 5},
		{2, math.NaN(), 48000, 5},
		{2, math.Inf(1), 48000, 5},
		{2, 44100, 0, 5},
		{2, 44100, 48000, -1},
		{2, 44100, 48000, 11},
	} {
		if r, err := New(tc.channels, tc.in, tc.out, tc.quality); !errors.Is(err, ErrInvalidConfig) {
			if r != nil {
				r.Close()
			}
			t.Errorf("New(%d, %v, %d, %d) = %v, want ErrInvalidConfig", tc.channels, tc.in, tc.out, tc.quality, err)
		}
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	for _, in := range []float64{44100, 48000} {
		r, err := New(2, in, 48000, 5)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := r.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
		}
		dst := []int16{1}
		if got := r.Process(dst, make([]int16, 100)); !slices.Equal(got, dst) {
			t.Errorf("Process after Close appended %d samples", len(got)-1)
		}
	}
}

// BenchmarkProcess resamples one video frame's worth (1/60 s) of 44.1 kHz
// stereo, what an NES core hands over per frame.
func BenchmarkProcess(b *testing.B) {
	for _, quality := range []int{3, 5, 10} {
		b.Run(fmt.Sprintf("44100-stereo-1/60s/quality=%d", quality), func(b *testing.B) {
			r := newResampler(b, 2, 44100, 48000, quality)
			in := mediatest.Sine(44100, 440, 0.5, 2, 735)
			out := make([]int16, 0, 2048)
			for b.Loop() {
				out = r.Process(out[:0], in)
			}
		})
	}
	b.Run("32040.5-stereo-1/60s/quality=5", func(b *testing.B) {
		r := newResampler(b, 2, 32040.5, 48000, 5)
		in := mediatest.Sine(32040.5, 440, 0.5, 2, 534)
		out := make([]int16, 0, 2048)
		for b.Loop() {
			out = r.Process(out[:0], in)
		}
	})
}

package opus

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/media/internal/mediatest"
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

func newDecoder(t testing.TB, channels int) *Decoder {
	t.Helper()
	d, err := NewDecoder(channels)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// roundTrip encodes pcm frame by frame and returns the decoded samples and
// the packets.
func roundTrip(t *testing.T, e *Encoder, d *Decoder, pcm []int16, channels int) ([]int16, [][]byte) {
	t.Helper()
	frame := e.FrameSamples() * channels
	var out []int16
	var packets [][]byte
	for i := 0; i+frame <= len(pcm); i += frame {
		pkt, err := e.Encode(pcm[i : i+frame])
		if err != nil {
			t.Fatalf("frame %d: %v", i/frame, err)
		}
		packets = append(packets, slices.Clone(pkt))
		dec, err := d.Decode(pkt)
		if err != nil {
			t.Fatalf("frame %d: decode: %v", i/frame, err)
		}
		if len(dec) != frame {
			t.Fatalf("frame %d: decoded %d samples, want %d", i/frame, len(dec), frame)
		}
		out = append(out, dec...)
	}
	return out, packets
}

func TestSine(t *testing.T) {
	t.Parallel()
	const freq, amplitude = 440, 0.5
	for _, channels := range []int{1, 2} {
		for _, dur := range []time.Duration{2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
			t.Run(fmt.Sprintf("%dch/%v", channels, dur), func(t *testing.T) {
				e := newEncoder(t, EncoderConfig{Channels: channels, BitrateKbps: 64 * channels, FrameDuration: dur})
				if want := int(SampleRate * dur / time.Second); e.FrameSamples() != want {
					t.Fatalf("FrameSamples() = %d, want %d", e.FrameSamples(), want)
				}
				d := newDecoder(t, channels)
				in := mediatest.Sine(SampleRate, freq, amplitude, channels, SampleRate)
				out, _ := roundTrip(t, e, d, in, channels)
				if len(out) != len(in) {
					t.Fatalf("decoded %d samples, want %d", len(out), len(in))
				}
				// Skip the codec's start-up transient.
				const skip = SampleRate / 20
				inRMS := mediatest.RMS(mediatest.Channel(in, channels, 0)[skip:])
				for c := range channels {
					x := mediatest.Channel(out, channels, c)[skip:]
					if f := mediatest.Frequency(x, SampleRate); math.Abs(f-freq) > 1 {
						t.Errorf("channel %d: frequency %.2f Hz, want %d", c, f, freq)
					}
					if rms := mediatest.RMS(x); math.Abs(rms-inRMS) > 0.1*inRMS {
						t.Errorf("channel %d: RMS %.0f, want %.0f ±10%%", c, rms, inRMS)
					}
					if p := mediatest.Goertzel(x, SampleRate, freq); p < 0.95 {
						t.Errorf("channel %d: %.3f of the power at %d Hz, want >= 0.95", c, p, freq)
					}
				}
			})
		}
	}
}

func TestSilence(t *testing.T) {
	t.Parallel()
	e := newEncoder(t, EncoderConfig{Channels: 2, BitrateKbps: 128, FrameDuration: 10 * time.Millisecond})
	d := newDecoder(t, 2)
	silence := make([]int16, SampleRate*2)
	out, packets := roundTrip(t, e, d, silence, 2)
	for i, p := range packets {
		if len(p) > 8 {
			t.Errorf("packet %d of silence: %d bytes, want <= 8", i, len(p))
		}
	}
	for i, s := range out {
		if s != 0 {
			t.Fatalf("sample %d of decoded silence = %d", i, s)
		}
	}
}

func TestSetBitrate(t *testing.T) {
	t.Parallel()
	// A chord with noise-like upper partials keeps the encoder busy, so
	// packet sizes follow the target.
	e := newEncoder(t, EncoderConfig{Channels: 2, BitrateKbps: 128, FrameDuration: 20 * time.Millisecond})
	pcm := make([]int16, SampleRate*2)
	for i := range SampleRate {
		var s float64
		for k, f := range []float64{220, 277, 330, 1760, 3520, 7040, 12000} {
			s += math.Sin(2*math.Pi*f*float64(i)/SampleRate+float64(k)) / 8
		}
		pcm[2*i], pcm[2*i+1] = int16(s*32767), int16(-s*32767)
	}
	average := func() float64 {
		frame := e.FrameSamples() * 2
		total := 0
		for i := 0; i < len(pcm); i += frame {
			pkt, err := e.Encode(pcm[i : i+frame])
			if err != nil {
				t.Fatal(err)
			}
			total += len(pkt)
		}
		return float64(total) / float64(len(pcm)/frame)
	}
	high := average()
	if err := e.SetBitrate(24); err != nil {
		t.Fatal(err)
	}
	low := average()
	// 128 kbps is 320 bytes per 20 ms frame, 24 kbps is 60.
	t.Logf("average packet %.0f bytes at 128 kbps, %.0f at 24 kbps", high, low)
	if low > high/3 || low > 1.2*60 {
		t.Errorf("average packet at 24 kbps = %.0f bytes, want near 60 and well under %.0f at 128 kbps", low, high)
	}
	for _, kbps := range []int{0, 5, 511} {
		if err := e.SetBitrate(kbps); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("SetBitrate(%d) = %v, want ErrInvalidConfig", kbps, err)
		}
	}
}

func TestEncoderErrors(t *testing.T) {
	t.Parallel()
	valid := EncoderConfig{Channels: 2, BitrateKbps: 96, FrameDuration: 10 * time.Millisecond}
	for _, tc := range []struct {
		name   string
		modify func(*EncoderConfig)
	}{
		{"zero channels", func(c *EncoderConfig) { c.Channels = 0 }},
		{"three channels", func(c *EncoderConfig) { c.Channels = 3 }},
		{"zero bitrate", func(c *EncoderConfig) { c.BitrateKbps = 0 }},
		{"huge bitrate", func(c *EncoderConfig) { c.BitrateKbps = 1000 }},
		{"zero duration", func(c *EncoderConfig) { c.FrameDuration = 0 }},
		{"15 ms", func(c *EncoderConfig) { c.FrameDuration = 15 * time.Millisecond }},
		{"60 ms", func(c *EncoderConfig) { c.FrameDuration = 60 * time.Millisecond }},
	} {
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

	e, err := NewEncoder(valid)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 479, 480, 959, 961, 1920} {
		if _, err := e.Encode(make([]int16, n)); !errors.Is(err, ErrFrameSize) {
			t.Errorf("Encode(%d samples) = %v, want ErrFrameSize", n, err)
		}
	}
	if _, err := e.Encode(make([]int16, 960)); err != nil {
		t.Errorf("Encode(960 samples): %v", err)
	}
	for range 2 {
		if err := e.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	}
	if _, err := e.Encode(make([]int16, 960)); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close = %v, want ErrClosed", err)
	}
	if err := e.SetBitrate(64); !errors.Is(err, ErrClosed) {
		t.Errorf("SetBitrate after Close = %v, want ErrClosed", err)
	}
}

func TestDecoderErrors(t *testing.T) {
	t.Parallel()
	for _, ch := range []int{0, 3, -1} {
		if _, err := NewDecoder(ch); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewDecoder(%d) = %v, want ErrInvalidConfig", ch, err)
		}
	}
	d := newDecoder(t, 2)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		// Code 3 (arbitrary frame count) with zero frames.
		{"no frames", []byte{0x03, 0x00}},
		// Code 3 claiming 48 frames of 20 ms, beyond 120 ms.
		{"too long", []byte{0xfb, 0x30, 0x00}},
		// Code 1 (two equal frames) with an odd payload length.
		{"unequal halves", []byte{0xf9, 0x01, 0x02, 0x03}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if pcm, err := d.Decode(tc.data); !errors.Is(err, ErrInvalidPacket) {
				t.Errorf("Decode(% x) = %d samples, %v; want ErrInvalidPacket", tc.data, len(pcm), err)
			}
		})
	}
	for range 2 {
		if err := d.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	}
	if _, err := d.Decode([]byte{0xf8, 0xff, 0xfe}); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close = %v, want ErrClosed", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, dur := range []time.Duration{2500 * time.Microsecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		e, err := NewEncoder(EncoderConfig{Channels: 2, BitrateKbps: 96, FrameDuration: dur})
		if err != nil {
			f.Fatal(err)
		}
		pcm := mediatest.Sine(SampleRate, 440, 0.5, 2, 4*e.FrameSamples())
		for i := 0; i < len(pcm); i += 2 * e.FrameSamples() {
			pkt, err := e.Encode(pcm[i : i+2*e.FrameSamples()])
			if err != nil {
				f.Fatal(err)
			}
			f.Add(slices.Clone(pkt))
		}
		e.Close()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, channels := range []int{1, 2} {
			d, err := NewDecoder(channels)
			if err != nil {
				t.Fatal(err)
			}
			pcm, err := d.Decode(data)
			d.Close()
			if err != nil {
				continue
			}
			if len(pcm) == 0 || len(pcm)%channels != 0 || len(pcm) > maxFrameSamples*channels {
				t.Fatalf("decoded %d samples for %d channels", len(pcm), channels)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	for _, dur := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("stereo-%v", dur), func(b *testing.B) {
			e := newEncoder(b, EncoderConfig{Channels: 2, BitrateKbps: 128, FrameDuration: dur})
			frame := 2 * e.FrameSamples()
			// A second of a chord, so that frames differ as music does.
			pcm := make([]int16, 2*SampleRate)
			for i := range SampleRate {
				var s float64
				for _, f := range []float64{220, 277, 330, 1760} {
					s += math.Sin(2*math.Pi*f*float64(i)/SampleRate) / 5
				}
				pcm[2*i], pcm[2*i+1] = int16(s*32767), int16(s*20000)
			}
			var times []float64
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := e.Encode(pcm[i : i+frame]); err != nil {
					b.Fatal(err)
				}
				times = append(times, float64(time.Since(start))/float64(time.Millisecond))
				if i += frame; i+frame > len(pcm) {
					i = 0
				}
			}
			slices.Sort(times)
			b.ReportMetric(mediatest.Percentile(times, 99), "p99-ms")
		})
	}
}

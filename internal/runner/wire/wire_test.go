package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleMessages() []Message {
	captured := time.Unix(1700000000, 123456789)
	return []Message{
		Ready{Core: "Nestopia", Width: 256, Height: 224, Aspect: 4.0 / 3, FPS: 60.0988, SampleRate: 48000, Codec: "vp8", Sandbox: []SandboxLayer{{Layer: "filesystem", On: true, Detail: "Landlock"}, {Layer: "network", Detail: "refused"}}},
		Geometry{Width: 240, Height: 160, Aspect: 1.5},
		Stats{Interval: time.Second, Frames: 60, FPS: 59.9, Emulate: Timing{Mean: 300 * time.Microsecond, Max: time.Millisecond}, CPU: 0.05,
			Save: Timing{Mean: 20 * time.Microsecond, Max: 40 * time.Microsecond}, Replays: 3, ReplayedFrames: 6, Replay: Timing{Mean: time.Millisecond, Max: 2 * time.Millisecond}, VideoKbps: 1500},
		Fatal{Error: "core crashed"},
		Start{Config: []byte(`{"core":"x"}`)},
		Prepare{Sandbox: []byte(`{"Read":["/games"]}`)},
		Prepared{},
		Video{Frame: 42, Captured: captured, Duration: 16639267, Input: 7, Keyframe: true, Data: []byte{1, 2, 3}},
		Video{Frame: 43, Captured: captured, Duration: 16639267},
		Audio{Captured: captured, Duration: 10 * time.Millisecond, Data: []byte{9, 8}},
		Input{Slot: 3, Seq: 77, Buttons: 0x0101, Analog: [4]int16{-32768, 32767, 0, -1}},
		Request{ID: 5, Op: OpLoadState, Data: []byte("state")},
		Reply{ID: 5, Error: "no such state"},
		Reply{ID: 6, Data: []byte("bytes")},
		Keyframe{},
		SetBitrate{Kbps: 1500},
		Stop{},
		Phase{Offset: 4321 * time.Microsecond},
		Phase{},
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	var stream bytes.Buffer
	w := NewWriter(&stream)
	msgs := sampleMessages()
	for _, m := range msgs {
		if err := w.Write(m); err != nil {
			t.Fatalf("write %T: %v", m, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&stream)
	for _, want := range msgs {
		got, err := r.Read()
		if err != nil {
			t.Fatalf("read %T: %v", want, err)
		}
		if v, ok := want.(Video); ok {
			g := got.(Video)
			if !g.Captured.Equal(v.Captured) {
				t.Errorf("video captured %v, want %v", g.Captured, v.Captured)
			}
			g.Captured, v.Captured = time.Time{}, time.Time{}
			got, want = g, v
		}
		if a, ok := want.(Audio); ok {
			g := got.(Audio)
			if !g.Captured.Equal(a.Captured) {
				t.Errorf("audio captured %v, want %v", g.Captured, a.Captured)
			}
			g.Captured, a.Captured = time.Time{}, time.Time{}
			got, want = g, a
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip of %T:\n got %#v\nwant %#v", want, got, want)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("after the last message: %v, want io.EOF", err)
	}
}

func frame(t Type, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(payload)+1))
	return append(append(b, byte(t)), payload...)
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"empty frame", []byte{0, 0, 0, 0}, ErrMalformed},
		{"oversized length", []byte{0x7f, 0xff, 0xff, 0xff, 2}, ErrTooLarge},
		{"truncated frame", frame(TypeVideo, make([]byte, 40))[:20], io.ErrUnexpectedEOF},
		{"truncated header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"unknown type", frame(200, nil), ErrUnknownType},
		{"short video", frame(TypeVideo, make([]byte, 5)), ErrMalformed},
		{"short audio", frame(TypeAudio, make([]byte, 11)), ErrMalformed},
		{"input too long", frame(TypeInput, make([]byte, inputSize+1)), ErrMalformed},
		{"short request", frame(TypeRequest, []byte{0, 0, 0}), ErrMalformed},
		{"reply error past end", frame(TypeReply, []byte{0, 0, 0, 1, 0, 9, 'x'}), ErrMalformed},
		{"bad json", frame(TypeReady, []byte("{")), ErrMalformed},
		{"start not json", frame(TypeStart, []byte("core=x")), ErrMalformed},
		{"prepare not json", frame(TypePrepare, []byte("read=x")), ErrMalformed},
		{"short bitrate", frame(TypeSetBitrate, []byte{1}), ErrMalformed},
		{"short phase", frame(TypePhase, make([]byte, 7)), ErrMalformed},
		{"long phase", frame(TypePhase, make([]byte, 9)), ErrMalformed},
		{"negative phase", frame(TypePhase, binary.BigEndian.AppendUint64(nil, uint64(1)<<63)), ErrMalformed},
		{"phase of a second", frame(TypePhase, binary.BigEndian.AppendUint64(nil, uint64(time.Second))), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.stream)).Read()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWriteTooLarge(t *testing.T) {
	t.Parallel()
	err := NewWriter(io.Discard).Write(Video{Data: make([]byte, MaxFrame)})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestPhaseOutOfRange(t *testing.T) {
	t.Parallel()
	for _, off := range []time.Duration{-1, MaxPhaseOffset, MaxPhaseOffset + 1} {
		if err := NewWriter(io.Discard).Write(Phase{Offset: off}); err == nil {
			t.Errorf("Phase{%v} written, want an error", off)
		}
	}
}

func TestReplyErrorTruncated(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	long := strings.Repeat("e", 70000)
	if err := NewWriter(&buf).Send(Reply{ID: 1, Error: long}); err != nil {
		t.Fatal(err)
	}
	m, err := NewReader(&buf).Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(Reply).Error; got != long[:65535] {
		t.Fatalf("error of %d bytes, want 65535", len(got))
	}
}

func FuzzRead(f *testing.F) {
	for _, m := range sampleMessages() {
		var buf bytes.Buffer
		if err := NewWriter(&buf).Send(m); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := NewReader(bytes.NewReader(stream))
		for range 64 {
			m, err := r.Read()
			if err != nil {
				return
			}
			// Whatever decodes must encode again and decode to the same.
			var buf bytes.Buffer
			if err := NewWriter(&buf).Send(m); err != nil {
				t.Fatalf("re-encode %T: %v", m, err)
			}
			again, err := NewReader(&buf).Read()
			if err != nil {
				t.Fatalf("re-read %T: %v", m, err)
			}
			if again.Type() != m.Type() {
				t.Fatalf("type changed: %v -> %v", m.Type(), again.Type())
			}
		}
	})
}

func FuzzParsePicture(f *testing.F) {
	pic, _ := AppendPicture(nil, 2, 3, func(rgba []byte) error { rgba[0] = 1; return nil })
	f.Add(pic)
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := ParsePicture(b)
		if err != nil {
			return
		}
		if w, h := img.Rect.Dx(), img.Rect.Dy(); len(img.Pix) != 4*w*h || w == 0 || h == 0 {
			t.Fatalf("%dx%d picture with %d bytes of pixels", w, h, len(img.Pix))
		}
	})
}

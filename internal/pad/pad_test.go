package pad

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	valid := State{Seq: 7, Buttons: 0x0101, Analog: [4]int16{-32768, 32767, 0, -1}}
	got, err := Parse(valid.Marshal())
	if err != nil || got != valid {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	bad := [][]byte{nil, {1}, append(valid.Marshal(), 0), append([]byte{2}, valid.Marshal()[1:]...)}
	for _, b := range bad {
		if _, err := Parse(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%x) = %v, want ErrMalformed", b, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(State{Seq: 1, Buttons: 3}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err == nil && string(s.Marshal()) != string(b) {
			t.Fatalf("%x parsed to %+v, which marshals to %x", b, s, s.Marshal())
		}
	})
}

func TestParseReport(t *testing.T) {
	t.Parallel()
	valid := Report{Slack: 8500 * time.Microsecond, Frames: 60}
	got, err := ParseReport(valid.Marshal())
	if err != nil || got != valid {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	tooLong := Report{Slack: MaxSlack}.Marshal()
	bad := [][]byte{nil, {KindReport}, append(valid.Marshal(), 0), State{}.Marshal(), tooLong}
	for _, b := range bad {
		if _, err := ParseReport(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseReport(%x) = %v, want ErrMalformed", b, err)
		}
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add(Report{Slack: 3 * time.Millisecond, Frames: 60}.Marshal())
	f.Add([]byte{KindReport, 0xff, 0xff, 0xff, 0xff, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReport(b)
		if err != nil {
			return
		}
		if r.Slack < 0 || r.Slack >= MaxSlack || string(r.Marshal()) != string(b) {
			t.Fatalf("%x parsed to %+v", b, r)
		}
	})
}

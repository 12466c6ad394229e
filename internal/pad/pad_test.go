package pad

import (
	"errors"
	"testing"
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

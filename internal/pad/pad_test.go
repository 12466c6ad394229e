package pad

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func mustMarshal(t testing.TB, states ...State) []byte {
	t.Helper()
	b, err := Marshal(states...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	t.Parallel()
	a := State{Seq: 7, Buttons: 0x0101, Analog: [4]int16{-32768, 32767, 0, -1}}
	b := State{Seq: 6, Buttons: 0x0100}
	c := State{Seq: 5}
	wrapped := []State{{Seq: 1, Buttons: 1}, {Seq: 0}, {Seq: 0xffffffff, Buttons: 2}}
	for _, tc := range []struct {
		name string
		msg  []byte
		want []State
	}{
		{"version 1", a.Marshal(), []State{a}},
		{"version 2, one state", mustMarshal(t, a), []State{a}},
		{"version 2, three states", mustMarshal(t, a, b, c), []State{a, b, c}},
		{"version 2, seq wrapping", mustMarshal(t, wrapped...), wrapped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.msg)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Parse(%x) = %+v, %v; want %+v", tc.msg, got, err, tc.want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	a, b := State{Seq: 7, Buttons: 1}, State{Seq: 6}
	two := mustMarshal(t, a, b)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"version 1 too short", []byte{1}},
		{"version 1 too long", append(a.Marshal(), 0)},
		{"unknown version", append([]byte{3}, a.Marshal()[1:]...)},
		{"version 0", make([]byte, Size)},
		{"version 2 without count", []byte{2}},
		{"version 2 with no states", []byte{2, 0}},
		{"version 2 with five states", append([]byte{2, 5}, make([]byte, 5*stateSize)...)},
		{"version 2 shorter than its count", two[:len(two)-1]},
		{"version 2 longer than its count", append(two, 0)},
		{"version 2 with the count of one and two states", append([]byte{2, 1}, two[2:]...)},
		{"version 2 with its count only", mustMarshal(t, b)[:2]},
		{"version 2 repeating a seq", append([]byte{2, 2}, append(a.append(nil), a.append(nil)...)...)},
		{"version 2 oldest first", append([]byte{2, 2}, append(b.append(nil), a.append(nil)...)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := Parse(tc.msg); !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%x) = %+v, %v; want ErrMalformed", tc.msg, got, err)
			}
		})
	}
}

func TestMarshalRefuses(t *testing.T) {
	t.Parallel()
	for _, states := range [][]State{
		nil,
		make([]State, MaxStates+1),
		{{Seq: 1}, {Seq: 2}},
		{{Seq: 1}, {Seq: 1}},
	} {
		if b, err := Marshal(states...); !errors.Is(err, ErrMalformed) {
			t.Errorf("Marshal(%+v) = %x, %v; want ErrMalformed", states, b, err)
		}
	}
}

func TestNewer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b uint32
		want bool
	}{
		{2, 1, true}, {1, 2, false}, {1, 1, false},
		{0, 0xffffffff, true}, {0xffffffff, 0, false},
		{0x7fffffff, 0, true}, {0x80000000, 0, false},
	} {
		if got := Newer(tc.a, tc.b); got != tc.want {
			t.Errorf("Newer(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(State{Seq: 1, Buttons: 3}.Marshal())
	f.Add(mustMarshal(f, State{Seq: 9, Buttons: 1}, State{Seq: 8}, State{Seq: 7, Analog: [4]int16{-1, 2, 3, 4}}, State{Seq: 6}))
	f.Add(mustMarshal(f, State{Seq: 0}, State{Seq: 0xffffffff}))
	f.Add([]byte{2, 4})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		states, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%x): %v, not ErrMalformed", b, err)
			}
			return
		}
		var again []byte
		if b[0] == version1 {
			again = states[0].Marshal()
		} else if again, err = Marshal(states...); err != nil {
			t.Fatalf("%x parsed to %+v, which Marshal refuses: %v", b, states, err)
		}
		if string(again) != string(b) {
			t.Fatalf("%x parsed to %+v, which marshals to %x", b, states, again)
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

func TestEcho(t *testing.T) {
	t.Parallel()
	valid := Echo{Seq: 70000, Worker: 12345 * time.Microsecond, RTP: 1 << 31}
	got, err := ParseEcho(valid.Marshal())
	if err != nil || got != valid {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if got, _ := ParseEcho(Echo{Worker: 2 * time.Hour}.Marshal()); got.Worker != time.Hour {
		t.Errorf("an echo held 2 h says %v, want an hour at most", got.Worker)
	}
	bad := [][]byte{nil, {KindEcho}, append(valid.Marshal(), 0), Report{}.Marshal(), State{}.Marshal()}
	for _, b := range bad {
		if _, err := ParseEcho(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseEcho(%x) = %v, want ErrMalformed", b, err)
		}
	}
}

func TestSequencer(t *testing.T) {
	t.Parallel()
	s := func(seqs ...uint32) []State {
		states := make([]State, len(seqs))
		for i, q := range seqs {
			states[i] = State{Seq: q, Buttons: uint16(q)}
		}
		return states
	}
	// Each step is one message's states, newest first, and the seqs that
	// must come out, oldest first.
	for _, tc := range []struct {
		name  string
		steps [][2][]uint32
	}{
		{"each state once, oldest first", [][2][]uint32{
			{{1}, {1}},
			{{3, 2, 1}, {2, 3}},
			{{3, 2, 1}, nil},
			{{4, 3, 2, 1}, {4}},
		}},
		{"the first message lost", [][2][]uint32{
			{{2, 1}, {1, 2}},
		}},
		{"a reordered message is dropped", [][2][]uint32{
			{{5, 4}, {4, 5}},
			{{3, 2}, nil},
			{{6, 5, 4, 3}, {6}},
		}},
		{"more lost than a message carries", [][2][]uint32{
			{{1}, {1}},
			{{9, 8, 7, 6}, {6, 7, 8, 9}},
		}},
		{"seq wrapping", [][2][]uint32{
			{{0xfffffffe}, {0xfffffffe}},
			{{1, 0, 0xffffffff, 0xfffffffe}, {0xffffffff, 0, 1}},
			{{0xffffffff}, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q Sequencer
			for i, step := range tc.steps {
				got := q.Fresh(s(step[0]...))
				if want := s(step[1]...); !slices.Equal(got, want) {
					t.Fatalf("message %d %v: got %+v, want %+v", i, step[0], got, want)
				}
			}
		})
	}
}

package room

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/signal"
)

func newRoom(t *testing.T, crowd bool) *Room {
	t.Helper()
	return newRoomWith(t, Params{Crowd: crowd})
}

func newRoomWith(t *testing.T, p Params) *Room {
	t.Helper()
	p.ID = signal.NewID[signal.RoomID](signal.NameBytes)
	p.Runner = runner.Options{Config: runner.Config{Video: runner.VideoConfig{Codec: runner.CodecVP8}}}
	r, err := New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// join adds a member with no session: the slot rules need none.
func join(r *Room, id signal.MemberID, slot int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.join(id, Guest{Slot: slot}, nil)
}

func slots(r *Room) map[signal.MemberID]int {
	members, _ := r.Members()
	out := map[signal.MemberID]int{}
	for _, m := range members {
		out[m.ID] = m.Slot
	}
	return out
}

// TestSeats plays through who may hold which slot, in a room where each
// slot has one player and in a crowd room.
func TestSeats(t *testing.T) {
	type step struct {
		do   func(r *Room) error
		want error
	}
	join := func(id signal.MemberID, slot int) func(*Room) error {
		return func(r *Room) error { return join(r, id, slot) }
	}
	seat := func(id signal.MemberID, slot int) func(*Room) error {
		return func(r *Room) error { return r.seat(id, slot) }
	}
	leave := func(id signal.MemberID) func(*Room) error {
		return func(r *Room) error { r.leave(id); return nil }
	}
	tests := []struct {
		name  string
		crowd bool
		steps []step
		want  map[signal.MemberID]int
	}{
		{"the starter holds 1, others watch, then take free slots", false, []step{
			{join("a", 1), nil}, {join("b", 0), nil}, {join("c", 0), nil},
			{seat("b", 2), nil}, {seat("c", 2), ErrSlotTaken}, {seat("c", 1), ErrSlotTaken}, {seat("c", 4), nil},
		}, map[signal.MemberID]int{"a": 1, "b": 2, "c": 4}},
		{"giving a slot up frees it", false, []step{
			{join("a", 1), nil}, {join("b", 0), nil}, {seat("a", 0), nil}, {seat("b", 1), nil},
		}, map[signal.MemberID]int{"a": 0, "b": 1}},
		{"leaving frees the slot", false, []step{
			{join("a", 1), nil}, {join("b", 0), nil}, {leave("a"), nil}, {seat("b", 1), nil},
		}, map[signal.MemberID]int{"b": 1}},
		{"moving between slots", false, []step{
			{join("a", 1), nil}, {seat("a", 3), nil}, {join("b", 1), nil},
		}, map[signal.MemberID]int{"a": 3, "b": 1}},
		{"a crowd shares a slot", true, []step{
			{join("a", 1), nil}, {join("b", 0), nil}, {seat("b", 1), nil}, {join("c", 1), nil},
		}, map[signal.MemberID]int{"a": 1, "b": 1, "c": 1}},
		{"no such slot or member", false, []step{
			{join("a", 5), ErrSlot}, {join("a", -1), ErrSlot}, {join("a", 1), nil}, {join("a", 0), ErrMember},
			{seat("a", 5), ErrSlot}, {seat("x", 2), ErrNoMember},
			{func(r *Room) error { return r.rename("x", "n") }, ErrNoMember},
			{func(r *Room) error { return r.input("x", pad.State{Buttons: 1}) }, ErrNoMember},
		}, map[signal.MemberID]int{"a": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRoom(t, tt.crowd)
			for i, s := range tt.steps {
				if err := s.do(r); !errors.Is(err, s.want) || (err == nil) != (s.want == nil) {
					t.Fatalf("step %d: %v, want %v", i, err, s.want)
				}
			}
			got := slots(r)
			if len(got) != len(tt.want) {
				t.Fatalf("members %v, want %v", got, tt.want)
			}
			for id, slot := range tt.want {
				if got[id] != slot {
					t.Errorf("%s in slot %d, want %d", id, got[id], slot)
				}
			}
		})
	}
}

// TestMembersCap fills rooms up: a room takes its players and its
// spectators' cap, and a join over it is refused with the counts the
// refusal names, except a player coming back to a slot.
func TestMembersCap(t *testing.T) {
	const ann, bob, cat = signal.PlayerID("ann-0123456789abcdef"), signal.PlayerID("bob-0123456789abcdef"), signal.PlayerID("cat-0123456789abcdef")
	n := 0
	// enter adds a member, and names it in last.
	var last signal.MemberID
	enter := func(r *Room, player signal.PlayerID, slot int) error {
		n++
		last = signal.MemberID(fmt.Sprintf("m%d", n))
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.join(last, Guest{Player: player, Slot: slot}, nil)
	}
	watchers := func(t *testing.T, r *Room, count int) {
		t.Helper()
		for i := range count {
			if err := enter(r, "", 0); err != nil {
				t.Fatalf("spectator %d: %v", i+1, err)
			}
		}
	}
	refused := func(t *testing.T, err error, words string) {
		t.Helper()
		if !errors.Is(err, ErrFull) {
			t.Fatalf("%v, want %v", err, ErrFull)
		}
		if e := JoinRefusal(err); e.Code != signal.CodeRoomFull || e.Message != words {
			t.Errorf("told %+v, want %s: %q", e, signal.CodeRoomFull, words)
		}
	}

	t.Run("the 51st spectator", func(t *testing.T) {
		r := newRoomWith(t, Params{Owner: ann})
		if err := enter(r, ann, 1); err != nil {
			t.Fatal(err)
		}
		watchers(t, r, DefaultMaxSpectators)
		refused(t, enter(r, "", 0), "This room is full: 50 people are watching already.")
		refused(t, enter(r, cat, 0), "This room is full: 50 people are watching already.")
		// The player on controller 1 reloads: the new page is let in
		// while the old one is still there, but a player id is no key
		// to a crowd.
		if err := enter(r, ann, 0); err != nil {
			t.Fatalf("the player coming back: %v", err)
		}
		refused(t, enter(r, ann, 0), "This room is full: 51 people are watching already.")
	})
	t.Run("a player who held a slot comes back", func(t *testing.T) {
		r := newRoomWith(t, Params{MaxSpectators: 2})
		if err := enter(r, ann, 1); err != nil {
			t.Fatal(err)
		}
		if err := enter(r, bob, 0); err != nil {
			t.Fatal(err)
		}
		bobs := last
		if err := r.seat(bobs, 2); err != nil {
			t.Fatal(err)
		}
		watchers(t, r, 2)
		r.leave(bobs) // his page closed; slot 2 is free
		refused(t, enter(r, cat, 0), "This room is full: 2 people are watching already.")
		if err := enter(r, bob, 0); err != nil {
			t.Fatalf("bob coming back to his slot: %v", err)
		}
	})
	t.Run("a crowd room counts everyone", func(t *testing.T) {
		r := newRoomWith(t, Params{Crowd: true, MaxSpectators: 2})
		for range Slots + 2 {
			if err := enter(r, "", 1); err != nil {
				t.Fatal(err)
			}
		}
		refused(t, enter(r, "", 0), "This room is full: 6 people are in it already.")
	})
}

// TestCombine checks how a crowd's pads make one: any press counts, and
// each stick axis follows whoever pushes it furthest. Watching members
// and other slots count for nothing.
func TestCombine(t *testing.T) {
	r := newRoom(t, true)
	pads := []struct {
		id      signal.MemberID
		slot    int
		buttons uint16
		analog  [4]int16
	}{
		{"a", 1, 0b0001, [4]int16{100, -20000, 0, 0}},
		{"b", 1, 0b0100, [4]int16{-3000, 500, 0, 32767}},
		{"c", 1, 0, [4]int16{}},
		{"d", 2, 0b1000, [4]int16{32000, 0, 0, 0}},
		{"e", 0, 0b0010, [4]int16{-32768, 0, 0, 0}},
	}
	for _, p := range pads {
		if err := join(r, p.id, p.slot); err != nil {
			t.Fatal(err)
		}
		if err := r.input(p.id, pad.State{Buttons: p.buttons, Analog: p.analog}); err != nil {
			t.Fatal(err)
		}
	}
	buttons, analog := r.combine(1)
	if buttons != 0b0101 || analog != [4]int16{-3000, -20000, 0, 32767} {
		t.Errorf("slot 1: buttons %04b, analog %v", buttons, analog)
	}
	// b gives the slot up: its buttons are no longer held.
	if err := r.seat("b", 0); err != nil {
		t.Fatal(err)
	}
	if buttons, _ := r.combine(1); buttons != 0b0001 {
		t.Errorf("slot 1 after b left it: buttons %04b", buttons)
	}
	if buttons, _ := r.combine(2); buttons != 0b1000 {
		t.Errorf("slot 2: buttons %04b", buttons)
	}
}

// TestChanges checks every change bumps the revision and leaves a notice
// for the room's owner, one for any number of changes.
func TestChanges(t *testing.T) {
	r := newRoom(t, false)
	_, rev0 := r.Members()
	if err := join(r, "a", 1); err != nil {
		t.Fatal(err)
	}
	if err := r.rename("a", "anne"); err != nil {
		t.Fatal(err)
	}
	if err := r.rename("a", "anne"); err != nil { // no change
		t.Fatal(err)
	}
	members, rev := r.Members()
	if rev != rev0+2 || members[0].Nick != "anne" {
		t.Errorf("rev %d → %d, members %+v", rev0, rev, members)
	}
	select {
	case <-r.Changes():
	default:
		t.Fatal("no change notice")
	}
	select {
	case <-r.Changes():
		t.Fatal("a second notice for the same changes")
	default:
	}
}

// TestSeatLeft: a player who left the room from a slot (a reload) gets it
// back within the linger time, if nobody took it since and they had not
// given it up first.
func TestSeatLeft(t *testing.T) {
	const linger = time.Minute
	joinAs := func(r *Room, id signal.MemberID, player signal.PlayerID, slot int) {
		t.Helper()
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := r.join(id, Guest{Player: player, Slot: slot}, nil); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		crowd bool
		do    func(r *Room)
		who   signal.PlayerID
		after time.Duration // since the leaving
		want  int
	}{
		{"player 1 reloads", false, func(r *Room) { joinAs(r, "m1", "p", 1); r.leave("m1") }, "p", time.Second, 1},
		{"player 2 reloads", false, func(r *Room) {
			joinAs(r, "m1", "q", 1)
			joinAs(r, "m2", "p", 2)
			r.leave("m2")
		}, "p", time.Second, 2},
		{"back after the linger time", false, func(r *Room) { joinAs(r, "m1", "p", 1); r.leave("m1") }, "p", linger + time.Second, 0},
		{"someone else", false, func(r *Room) { joinAs(r, "m1", "p", 1); r.leave("m1") }, "q", time.Second, 0},
		{"without a player id", false, func(r *Room) { joinAs(r, "m1", "", 1); r.leave("m1") }, "", time.Second, 0},
		{"taken since", false, func(r *Room) {
			joinAs(r, "m1", "p", 1)
			r.leave("m1")
			joinAs(r, "m2", "q", 1)
		}, "p", time.Second, 0},
		{"taken since, by a guest who left too", false, func(r *Room) {
			joinAs(r, "m1", "p", 1)
			r.leave("m1")
			joinAs(r, "m2", "", 1)
			r.leave("m2")
		}, "p", time.Second, 0},
		{"shared since, in a crowd room", true, func(r *Room) {
			joinAs(r, "m1", "p", 1)
			r.leave("m1")
			joinAs(r, "m2", "q", 1)
		}, "p", time.Second, 0},
		{"given up before leaving", false, func(r *Room) {
			joinAs(r, "m1", "p", 1)
			if err := r.seat("m1", 0); err != nil {
				t.Fatal(err)
			}
			r.leave("m1")
		}, "p", time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRoomWith(t, Params{Crowd: tt.crowd, Linger: linger})
			tt.do(r)
			r.mu.Lock()
			defer r.mu.Unlock()
			if got := r.seatLeft(tt.who, time.Now().Add(tt.after)); got != tt.want {
				t.Errorf("slot back %d, want %d", got, tt.want)
			}
		})
	}
}

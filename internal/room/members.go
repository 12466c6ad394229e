package room

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/signal"
)

// Slots is how many player slots a room has: 1 to Slots; 0 is watching.
const Slots = 4

// DefaultMaxSpectators is how many people may watch a room when nothing
// says otherwise.
const DefaultMaxSpectators = 50

var (
	ErrSlotTaken = errors.New("room: the slot is taken")
	ErrNoMember  = errors.New("room: no such member")
	ErrMember    = errors.New("room: member already in the room")
	// ErrFull refuses a join to a room with as many members as it takes.
	ErrFull = errors.New("room: the room is full")
)

// fullError is ErrFull with the counts a refusal names.
type fullError struct{ watching, members, max int }

func (e *fullError) Error() string {
	return fmt.Sprintf("%v: %d watching of %d, %d members", ErrFull, e.watching, e.max, e.members)
}

func (e *fullError) Unwrap() error { return ErrFull }

// Member is one peer of a room, as everyone in it sees it.
type Member struct {
	ID   signal.MemberID
	Nick string
	Slot int // 1 to Slots, or 0 watching
	// Controller: a gamepad page, whose peer carries no picture or sound.
	Controller bool
}

// member is a Member, its player, its session and the pad it last sent.
type member struct {
	Member
	player  signal.PlayerID // may be empty
	session *Session
	buttons uint16
	analog  [4]int16
}

// join adds a member in a slot (0 to watch); r.mu is held. It may take a
// slot someone holds only in a crowd room, and a place only while the
// room has one (see checkRoom).
func (r *Room) join(id signal.MemberID, g Guest, s *Session) error {
	player, slot := g.Player, g.Slot
	if r.find(id) >= 0 {
		return fmt.Errorf("%w: %s", ErrMember, id)
	}
	if err := r.checkSlot(id, slot); err != nil {
		return err
	}
	if err := r.checkRoom(player); err != nil {
		return err
	}
	r.members = append(r.members, &member{Member: Member{ID: id, Nick: g.Nick, Slot: slot, Controller: g.Controller}, player: player, session: s})
	r.seated(player, slot)
	r.rev++
	r.changed()
	return nil
}

// checkRoom says whether one more member fits; r.mu is held. A room takes
// its players and maxSpectators watching, and no more than that many in
// all (in a crowd room, spectators could otherwise take a slot to make way
// for more): every member costs the worker a peer connection, and every
// join sends every member the whole list. A player coming back is let in
// over the cap: one holding a slot (a reload, their old session not gone
// yet), the room's owner, or one who held a slot before; no more than
// twice over, so that no player id opens the room to a crowd.
func (r *Room) checkRoom(player signal.PlayerID) error {
	watching, same, holds := 0, 0, false
	for _, m := range r.members {
		if m.Slot == 0 {
			watching++
		}
		if player != "" && m.player == player {
			same++
			holds = holds || m.Slot > 0
		}
	}
	limit := r.maxSpectators()
	if watching < limit && len(r.members) < Slots+limit {
		return nil
	}
	back := player != "" && (holds || player == r.owner || slices.Contains(r.held[:], player))
	if back && same < 2 {
		return nil
	}
	return &fullError{watching: watching, members: len(r.members), max: limit}
}

// seated remembers who held a slot last, for checkRoom and seatLeft;
// r.mu is held.
func (r *Room) seated(player signal.PlayerID, slot int) {
	if slot == 0 {
		return
	}
	r.left[slot-1] = time.Time{} // whoever left it has no claim now
	if player != "" {
		r.held[slot-1] = player
	}
}

// seatLeft is the slot player left the room from within the room's
// linger time before now, if it is free still (or shared, in a crowd
// room), else 0; r.mu is held.
func (r *Room) seatLeft(player signal.PlayerID, now time.Time) int {
	if player == "" {
		return 0
	}
	for i, p := range r.held {
		slot := i + 1
		if p == player && !r.left[i].IsZero() && now.Sub(r.left[i]) <= r.p.Linger && r.checkSlot("", slot) == nil {
			return slot
		}
	}
	return 0
}

func (r *Room) maxSpectators() int {
	if r.p.MaxSpectators <= 0 {
		return DefaultMaxSpectators
	}
	return r.p.MaxSpectators
}

// leave removes a member, releasing whatever it held down, and reports
// how many members remain.
func (r *Room) leave(id signal.MemberID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.find(id)
	if i < 0 {
		return len(r.members)
	}
	m := r.members[i]
	slot := m.Slot
	if slot > 0 && m.player != "" && r.held[slot-1] == m.player {
		r.left[slot-1] = time.Now()
	}
	r.members = slices.Delete(r.members, i, i+1)
	r.rev++
	r.sendSlot(slot)
	r.changed()
	return len(r.members)
}

// seat moves a member to a slot, or to watching with 0. The slot it left
// is released at once: nothing it held stays pressed.
func (r *Room) seat(id signal.MemberID, slot int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.member(id)
	if err != nil {
		return err
	}
	if m.Slot == slot {
		return nil
	}
	if err := r.checkSlot(id, slot); err != nil {
		return err
	}
	old := m.Slot
	m.Slot = slot
	r.seated(m.player, slot)
	r.rev++
	r.sendSlot(old)
	r.sendSlot(slot)
	r.changed()
	return nil
}

// rename sets the nickname others see for a member.
func (r *Room) rename(id signal.MemberID, nick string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.member(id)
	if err != nil {
		return err
	}
	if m.Nick != nick {
		m.Nick = nick
		r.rev++
		r.changed()
	}
	return nil
}

// Members returns the room's members in the order they joined, and the
// revision of that list, which grows with every change.
func (r *Room) Members() ([]Member, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Member, len(r.members))
	for i, m := range r.members {
		out[i] = m.Member
	}
	return out, r.rev
}

// input sets a member's controller state. A watching member's state
// changes nothing. In a crowd room, the slot's state combines those of
// everyone holding it (see combine).
func (r *Room) input(id signal.MemberID, st pad.State) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.member(id)
	if err != nil {
		return err
	}
	m.buttons, m.analog = st.Buttons, st.Analog
	if m.Slot == 0 {
		return nil
	}
	return r.sendSlotFor(m.Slot, sentInput{member: id, pageSeq: st.Seq})
}

// combine is the pad state of a slot: a button is down while anyone
// holding the slot holds it down, and each analog axis follows whoever
// pushes it furthest. Pressing is what a crowd wants to happen, and an
// OR never loses a press (a vote or an average would swallow short
// taps); a stick that averaged opposite pushes would stand still.
func (r *Room) combine(slot int) (buttons uint16, analog [4]int16) {
	for _, m := range r.members {
		if m.Slot != slot {
			continue
		}
		buttons |= m.buttons
		for a, v := range m.analog {
			if abs(v) > abs(analog[a]) {
				analog[a] = v
			}
		}
	}
	return buttons, analog
}

func abs(v int16) int32 {
	if v < 0 {
		return -int32(v)
	}
	return int32(v)
}

// sendSlot sends a slot's combined state to the runner; r.mu is held,
// so states reach the runner in the order they were decided. Before the
// game runs there is nothing to drive, and the state is dropped.
func (r *Room) sendSlot(slot int) error {
	return r.sendSlotFor(slot, sentInput{})
}

// sendSlotFor is sendSlot for a change a page's state made (cause).
func (r *Room) sendSlotFor(slot int, cause sentInput) error {
	if slot == 0 {
		return nil
	}
	p := r.running()
	if p == nil {
		return nil
	}
	buttons, analog := r.combine(slot)
	seq := r.seq.Add(1)
	cause.seq, cause.at = seq, time.Now()
	r.sentInputAt(cause)
	return p.SendInput(wire.Input{Slot: uint8(slot - 1), Seq: seq, Buttons: buttons, Analog: analog})
}

// checkSlot says whether id may hold slot; r.mu is held.
func (r *Room) checkSlot(id signal.MemberID, slot int) error {
	if slot < 0 || slot > Slots {
		return fmt.Errorf("%w: %d", ErrSlot, slot)
	}
	if slot == 0 || r.crowd {
		return nil
	}
	for _, m := range r.members {
		if m.Slot == slot && m.ID != id {
			return fmt.Errorf("%w: slot %d", ErrSlotTaken, slot)
		}
	}
	return nil
}

func (r *Room) find(id signal.MemberID) int {
	return slices.IndexFunc(r.members, func(m *member) bool { return m.ID == id })
}

// member finds a member; r.mu is held.
func (r *Room) member(id signal.MemberID) (*member, error) {
	i := r.find(id)
	if i < 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoMember, id)
	}
	return r.members[i], nil
}

// changed tells the room's owner that the members changed. It never
// blocks: one pending notice covers any number of changes, and the owner
// reads the newest list when it gets to it.
func (r *Room) changed() {
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

// Changes receives a value after the members changed (coalesced).
func (r *Room) Changes() <-chan struct{} { return r.changes }

// holdsSlot says whether a member holds a controller.
func (r *Room) holdsSlot(id signal.MemberID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.member(id)
	return err == nil && m.Slot > 0
}

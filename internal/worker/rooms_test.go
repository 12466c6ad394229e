package worker

import (
	"fmt"
	"image"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/pad"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

const (
	buttonA = 1 << libretro.ButtonA
	buttonB = 1 << libretro.ButtonB
)

// p2Point is the middle of the box that lights while player 2 holds b.
func p2Point(b testrom.Button) image.Point {
	r := testrom.P2Box(b)
	return r.Min.Add(r.Size().Div(2))
}

func slotOf(s signal.RoomState, who signal.MemberID) int {
	for _, m := range s.Members {
		if m.ID == who {
			return m.Slot
		}
	}
	return -1
}

func holder(s signal.RoomState, slot int) string {
	for _, m := range s.Members {
		if m.Slot == slot {
			return m.Nick
		}
	}
	return ""
}

// TestRoomByLink shares a room: a second browser joins by the room's id
// and watches, its buttons changing nothing; it takes slot 2 and its
// presses show in player 2's area only; a third finds slot 2 taken until
// the second gives it up. When everyone has left, the room ends after the
// linger time and its link says so, naming the game.
func TestRoomByLink(t *testing.T) {
	c := newCluster(t, 2)
	ann := c.browse(t)
	ann.WaitGames()
	started := ann.Play(signal.Start{Game: testGame, Nick: "ann"})
	annDec := gobrowsertest.Decoder(t)
	ann.WaitColour(t, annDec, testrom.FillPoint(), testrom.FillColor())

	bob := c.browse(t)
	bob.WaitGames()
	joined := bob.Join(signal.Join{Room: started.Room, Nick: "bob"})
	if joined.Room != started.Room || joined.Game.ID != testGame {
		t.Fatalf("joined %+v, want room %s", joined, started.Room)
	}
	bobDec := gobrowsertest.Decoder(t)
	bob.WaitColour(t, bobDec, testrom.FillPoint(), testrom.FillColor())
	state := bob.WaitRoom("bob watching, ann in slot 1", func(s signal.RoomState) bool {
		return len(s.Members) == 2 && slotOf(s, s.You) == 0 && holder(s, 1) == "ann"
	})
	me := state.You

	// Watching, bob's buttons reach nobody. He holds A, then takes slot 2:
	// the A he holds lights player 2's box, and in no picture until then,
	// nor in that one, did player 1's area change.
	<-bob.Input
	bob.Press(t, buttonA)
	bob.Send(signal.Seat{Slot: 2})
	ann.WaitRoom("bob in slot 2", func(s signal.RoomState) bool { return holder(s, 2) == "bob" })
	for _, c := range ann.WatchUntil(t, annDec, p2Point(testrom.A), testrom.P2Color(true), testrom.FillPoint()) {
		if !gobrowsertest.Near(c, testrom.FillColor()) {
			t.Fatalf("player 1's area changed to %v while bob watched, then held player 2's A", c)
		}
	}

	// Slot 2 is bob's: cy is refused it, until bob gives it up.
	cy := c.browse(t)
	cy.WaitGames()
	cy.Join(signal.Join{Room: started.Room, Nick: "cy"})
	cy.Send(signal.Seat{Slot: 2})
	if p := gobrowsertest.Await[signal.Refused](cy); p != (signal.Refused{Code: signal.CodeSlotTaken, Message: "Someone else holds controller 2."}) {
		t.Fatalf("taking a held slot: %+v, want refused %s", p, signal.CodeSlotTaken)
	}
	bob.Send(signal.Seat{Slot: 0})
	ann.WaitRoom("slot 2 free", func(s signal.RoomState) bool { return holder(s, 2) == "" && slotOf(s, me) == 0 })
	// Giving the slot up let go of bob's A.
	ann.WaitColour(t, annDec, p2Point(testrom.A), testrom.P2Color(false))
	cy.Send(signal.Seat{Slot: 2})
	ann.WaitRoom("cy in slot 2", func(s signal.RoomState) bool { return holder(s, 2) == "cy" })

	// Everyone leaves; the room lives on for the linger time, then ends.
	for _, b := range []*gobrowsertest.Browser{ann, bob, cy} {
		b.Close()
	}
	if n := c.worker.roomCount(); n != 1 {
		t.Fatalf("%d rooms right after everyone left, want the room to linger", n)
	}
	waitRooms(t, c.worker, 0)
	late := c.browse(t)
	late.WaitGames()
	late.Begin(signal.Join{Room: started.Room})
	e := late.ReadError()
	if e.Code != signal.CodeRoomEnded || e.Game == nil || e.Game.ID != testGame {
		t.Fatalf("the link of an ended room: %+v, want %s naming the game", e, signal.CodeRoomEnded)
	}
}

// TestControllerSeat: a page that is only a gamepad (a phone beside the
// screen that shows the game) joins with neither picture nor sound, is
// shown to the room as a controller, takes a seat and drives it.
func TestControllerSeat(t *testing.T) {
	c := newCluster(t, 2)
	ann := c.browse(t)
	ann.WaitGames()
	started := ann.Play(signal.Start{Game: testGame, Nick: "ann"})
	annDec := gobrowsertest.Decoder(t)
	ann.WaitColour(t, annDec, testrom.FillPoint(), testrom.FillColor())

	phone := c.browse(t)
	phone.WaitGames()
	phone.Join(signal.Join{Room: started.Room, Nick: "phone", Controller: true})
	if sdp := phone.PC.RemoteDescription().SDP; strings.Contains(sdp, "m=video") || strings.Contains(sdp, "m=audio") {
		t.Fatalf("a controller's offer carries media:\n%s", sdp)
	}
	ann.WaitRoom("the phone in the room as a controller", func(s signal.RoomState) bool {
		return slices.ContainsFunc(s.Members, func(m signal.Member) bool { return m.Nick == "phone" && m.Controller && m.Slot == 0 })
	})
	<-phone.Input
	phone.Send(signal.Seat{Slot: 2})
	ann.WaitRoom("the phone in slot 2", func(s signal.RoomState) bool { return holder(s, 2) == "phone" })
	phone.Press(t, buttonA)
	ann.WaitColour(t, annDec, p2Point(testrom.A), testrom.P2Color(true))
	if n := phone.FrameCount(); n != 0 {
		t.Fatalf("the controller received %d frames", n)
	}
}

// TestEcho: every press comes back to its page as an echo once the first
// picture that shows it has gone out, naming the press's own state and how
// long the worker held it.
func TestEcho(t *testing.T) {
	c := newCluster(t, 1)
	ann := c.browse(t)
	ann.WaitGames()
	ann.Play(signal.Start{Game: testGame})
	dec := gobrowsertest.Decoder(t)
	ann.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
	dc := <-ann.Input
	echoes := make(chan pad.Echo, 64)
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		e, err := pad.ParseEcho(m.Data)
		if err != nil {
			t.Errorf("the input channel carried %d bytes that are no echo: %v", len(m.Data), err)
			return
		}
		echoes <- e
	})
	for seq, buttons := range []uint16{buttonA, 0, buttonB, 0} {
		ann.Press(t, buttons)
		var e pad.Echo
		select {
		case e = <-echoes:
		case <-time.After(waittest.Limit):
			t.Fatalf("press %d: no echo", seq+1)
		}
		if e.Seq != uint32(seq+1) {
			t.Fatalf("press %d echoed as state %d", seq+1, e.Seq)
		}
		// The worker holds a state until the next frame and its encoding:
		// never nothing, and on any machine far less than a minute.
		if e.Worker <= 0 || e.Worker > time.Minute {
			t.Fatalf("press %d held %v by the worker", seq+1, e.Worker)
		}
	}
	ann.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
}

// TestCrowdplay drives one slot from two browsers: the game sees a
// button while either holds it.
func TestCrowdplay(t *testing.T) {
	c := newCluster(t, 1)
	ann := c.browse(t)
	ann.WaitGames()
	started := ann.Play(signal.Start{Game: testGame, Crowd: true})
	dec := gobrowsertest.Decoder(t)
	ann.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
	bob := c.browse(t)
	bob.WaitGames()
	bob.Join(signal.Join{Room: started.Room})
	bob.Send(signal.Seat{Slot: 1})
	ann.WaitRoom("both in slot 1", func(s signal.RoomState) bool {
		return s.Crowd && len(s.Members) == 2 && s.Members[0].Slot == 1 && s.Members[1].Slot == 1
	})
	<-ann.Input
	<-bob.Input
	bob.Press(t, buttonB)
	ann.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B))
	ann.Press(t, buttonA) // A and B held together: A shows (first in the ROM's order)
	ann.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.A, testrom.B))
	ann.Press(t, 0) // bob still holds B
	ann.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B))
	bob.Press(t, 0)
	ann.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
}

// TestLiveRooms lists the public rooms with who is in them to the browsers
// on the list; a private room is not listed, and its link works all the
// same. A browser in a room gets the list as it leaves, not every change
// while it plays.
func TestLiveRooms(t *testing.T) {
	c := newCluster(t, 2)
	eve := c.browse(t) // on the list all along
	eve.WaitGames()
	ann := c.browse(t)
	ann.WaitGames()
	public := ann.Play(signal.Start{Game: testGame})
	bob := c.browse(t)
	bob.WaitGames()
	secret := bob.Play(signal.Start{Game: testGame, Private: true})

	listed := func(l signal.LiveRooms, id signal.RoomID) (signal.Listing, bool) {
		i := slices.IndexFunc(l.Rooms, func(r signal.Listing) bool { return r.ID == id })
		if i < 0 {
			return signal.Listing{}, false
		}
		return l.Rooms[i], true
	}
	watchers := func(n int) func(signal.LiveRooms) bool {
		return func(l signal.LiveRooms) bool {
			r, ok := listed(l, public.Room)
			return ok && r.Players == 1 && r.Spectators == n && r.Game.ID == testGame
		}
	}
	cy := c.browse(t)
	cy.WaitGames()
	cy.Join(signal.Join{Room: public.Room})
	live := eve.WaitLive("the public room with a player and a spectator", watchers(1))
	if _, ok := listed(live, secret.Room); ok {
		t.Errorf("the private room is listed: %+v", live)
	}
	dan := c.browse(t)
	dan.WaitGames()
	if got := dan.Join(signal.Join{Room: secret.Room}); got.Room != secret.Room {
		t.Errorf("joined %s by the private room's link", got.Room)
	}
	// Lists go out one after another: once eve has this one, the one
	// before has gone to everyone it was for.
	ann2 := c.browse(t)
	ann2.WaitGames()
	ann2.Join(signal.Join{Room: public.Room})
	eve.WaitLive("the public room with two spectators", watchers(2))
	if l := bob.Live(); slices.ContainsFunc(l.Rooms, func(r signal.Listing) bool { return r.ID == public.Room && r.Spectators > 0 }) {
		t.Errorf("bob, in a room, was sent the live rooms as they changed: %+v", l)
	}
	bob.Send(signal.Quit{})
	bob.WaitLive("the live rooms, back on the list", watchers(2))

	// A room with nobody left is not listed.
	ann.Close()
	cy.Close()
	ann2.Close()
	eve.WaitLive("the public room gone", func(l signal.LiveRooms) bool {
		_, ok := listed(l, public.Room)
		return !ok
	})
}

// TestFullWorker fills a worker: a new room is refused with a clear
// message, joining a running room still works, and a room nobody is in
// gives its place to a new one without waiting out its linger time.
func TestFullWorker(t *testing.T) {
	c := newCluster(t, 1)
	ann := c.browse(t)
	ann.WaitGames()
	started := ann.Play(signal.Start{Game: testGame})
	bob := c.browse(t)
	bob.WaitGames()
	bob.Begin(signal.Start{Game: testGame})
	if e := bob.ReadError(); e.Code != signal.CodeNoWorker || e.Message == "" {
		t.Fatalf("a new room on a full worker: %+v, want %s", e, signal.CodeNoWorker)
	}
	bob.Join(signal.Join{Room: started.Room})
	// Ann leaves first, and bob sees her go: their sockets are read apart,
	// and bob's start must not overtake her quit.
	ann.Send(signal.Quit{})
	bob.WaitRoom("ann gone", func(s signal.RoomState) bool { return len(s.Members) == 1 })
	bob.Send(signal.Quit{})
	// The room is empty and lingers; a new one takes its place at once.
	again := bob.Play(signal.Start{Game: testGame})
	if again.Room == started.Room {
		t.Fatal("started the old room again")
	}
}

// TestFullRoom fills a room's places for spectators: the next one is
// refused with a sentence before any connection is made, while the
// player on controller 1 resumes after the coordinator restarted, and
// comes back after a reload, to the controller they held.
func TestFullRoom(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) { cfg.MaxSpectators = 1 })
	const annID, catID = signal.PlayerID("ann-0123456789abcdef"), signal.PlayerID("cat-0123456789abcdef")
	ann := c.browse(t)
	ann.WaitGames()
	started := ann.Play(signal.Start{Game: testGame, Nick: "ann", Player: annID})
	bob := c.browse(t)
	bob.WaitGames()
	bob.Join(signal.Join{Room: started.Room, Nick: "bob"})
	cat := c.browse(t)
	cat.WaitGames()
	cat.Begin(signal.Join{Room: started.Room, Nick: "cat", Player: catID})
	if e := cat.ReadError(); e.Code != signal.CodeRoomFull || e.Message != "This room is full: 1 person is watching already." {
		t.Fatalf("a join over the cap: %+v", e)
	}
	if members, _ := c.worker.Room(started.Room).Members(); len(members) != 2 {
		t.Errorf("members after the refusal: %+v", members)
	}

	// The coordinator restarts; ann's page resumes its session.
	c.restartCoordinator(t, nil)
	ann.Reconnect(c.srv.URL)
	ann.WaitGames()
	ann.Send(signal.Resume{Room: started.Room, Token: started.Resume})
	ann.WaitRoom("resumed on controller 1", func(s signal.RoomState) bool { return slotOf(s, s.You) == 1 })

	// Ann reloads: her old tab goes, and the new one is let in, and takes
	// her controller back.
	ann.Close()
	waittest.Eventually(t, "ann's old tab out of the room", func() error {
		if members, _ := c.worker.Room(started.Room).Members(); len(members) != 1 {
			return fmt.Errorf("members %+v", members)
		}
		return nil
	})
	again := c.browse(t)
	again.WaitGames()
	again.Join(signal.Join{Room: started.Room, Nick: "ann", Player: annID})
	again.Send(signal.Seat{Slot: 1})
	again.WaitRoom("back on controller 1", func(s signal.RoomState) bool { return slotOf(s, s.You) == 1 })
}

// TestRunnerKilled runs three rooms on one worker and kills one's runner:
// its players are told and its place is free, and the other rooms play on.
// (Their frame rate is the benchmarks' to measure, not a test's.)
func TestRunnerKilled(t *testing.T) {
	c := newCluster(t, 3)
	var players []*gobrowsertest.Browser
	var rooms []signal.RoomID
	for range 3 {
		b := c.browse(t)
		b.WaitGames()
		rooms = append(rooms, b.Play(signal.Start{Game: testGame}).Room)
		players = append(players, b)
	}
	for _, b := range players {
		b.WaitColour(t, gobrowsertest.Decoder(t), testrom.FillPoint(), testrom.FillColor())
	}

	victim := c.worker.Room(rooms[1]).Pid()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := gobrowsertest.Await[signal.Ended](players[1]); e.Reason == "" {
		t.Fatalf("the killed room's player got %+v, want ended with a reason", e)
	}
	for _, i := range []int{0, 2} {
		since := players[i].FrameCount()
		waittest.Eventually(t, fmt.Sprintf("room %d plays on after another room's runner was killed", i), func() error {
			if n := players[i].FrameCount() - since; n < 60 {
				return fmt.Errorf("%d frames since the kill", n)
			}
			return nil
		})
	}
	// The dead room's place is free.
	players[1].Play(signal.Start{Game: testGame})
}

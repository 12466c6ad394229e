package e2e

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// The tests of this file play rooms as several people do: each page is a
// browser context of its own (its own storage, its own WebSocket and peer
// connection), all in one headless Chromium.

const testGame = "nes:telecart-test.nes"

// fail stops the test with what the page logged.
func fail(t testing.TB, p *browsertest.Page, format string, args ...any) {
	t.Helper()
	t.Fatalf(format+"\nconsole:\n%s", append(args, strings.Join(p.Console(), "\n"))...)
}

// eval evaluates js on the page into out, or stops the test.
func eval(t testing.TB, p *browsertest.Page, js string, out any) {
	t.Helper()
	if err := p.Eval(js, out); err != nil {
		fail(t, p, "%v", err)
	}
}

// waitJS waits for js to be true on the page, or stops the test.
func waitJS(t testing.TB, p *browsertest.Page, js string, what string) {
	t.Helper()
	if err := p.WaitFor(js, waittest.Limit); err != nil {
		var st string
		_ = p.Eval(`window.telecart.state`, &st)
		fail(t, p, "%s (state %q): %v", what, st, err)
	}
}

// press presses and releases a key.
func press(t testing.TB, p *browsertest.Page, code string) {
	t.Helper()
	if err := p.KeyDown(code); err != nil {
		fail(t, p, "%v", err)
	}
	if err := p.KeyUp(code); err != nil {
		fail(t, p, "%v", err)
	}
}

func click(t testing.TB, p *browsertest.Page, selector string) {
	t.Helper()
	if err := p.Click(selector); err != nil {
		fail(t, p, "%v", err)
	}
}

// setNick types a nickname into a name field, as a person does: the
// field commits on change.
func setNick(t testing.TB, p *browsertest.Page, field, nick string) {
	t.Helper()
	var ok bool
	eval(t, p, fmt.Sprintf(`(() => {
		const i = document.getElementById(%q);
		i.value = %q;
		i.dispatchEvent(new Event('change'));
		return true;
	})()`, field, nick), &ok)
}

// inRoom waits until the page plays in a room, with its first picture,
// and returns the room's id, which the address bar shows.
func inRoom(t testing.TB, p *browsertest.Page) string {
	t.Helper()
	waitJS(t, p, `window.telecart.state === 'playing' && window.telecart.room !== null && window.telecart.slot !== null
		&& document.getElementById('video').videoWidth > 0`, "not playing in a room")
	var room, path string
	eval(t, p, `window.telecart.room`, &room)
	eval(t, p, `location.pathname`, &path)
	if path != "/r/"+room {
		fail(t, p, "address %q in room %q, want /r/%s", path, room, room)
	}
	return room
}

// slot is the page's own player slot, 0 watching.
func slot(t testing.TB, p *browsertest.Page) int {
	t.Helper()
	var n int
	eval(t, p, `window.telecart.slot`, &n)
	return n
}

func waitSlot(t testing.TB, p *browsertest.Page, want int) {
	t.Helper()
	waitJS(t, p, fmt.Sprintf(`window.telecart.slot === %d`, want), fmt.Sprintf("slot is not %d", want))
}

// pixel reads one pixel of the page's current video frame.
func pixel(t testing.TB, p *browsertest.Page, pt image.Point) []int {
	t.Helper()
	var got []int
	eval(t, p, pixelJS(pt.X, pt.Y), &got)
	return got
}

// waitPixel waits until the picture shows want at pt.
func waitPixel(t testing.TB, p *browsertest.Page, pt image.Point, want color.RGBA) {
	t.Helper()
	var got []int
	err := waittest.Poll(waittest.Limit, func() error {
		if err := p.Eval(pixelJS(pt.X, pt.Y), &got); err != nil {
			return err
		}
		if !near(got, want) {
			return fmt.Errorf("it is %v", got)
		}
		return nil
	})
	if err != nil {
		fail(t, p, "pixel %v is not %v after %v: %v", pt, want, waittest.Limit, err)
	}
}

// centre is the middle of a rectangle of the picture.
func centre(r image.Rectangle) image.Point {
	return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
}

// visible says whether an element is shown (not hidden, with a size).
func visible(selector string) string {
	return fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e) return false;
		const r = e.getBoundingClientRect();
		return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
	})()`, selector)
}

// text is an element's visible text.
func text(t testing.TB, p *browsertest.Page, selector string) string {
	t.Helper()
	var s string
	eval(t, p, fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ''`, selector), &s)
	return strings.Join(strings.Fields(s), " ")
}

// openPanel opens the players panel from the top bar.
func openPanel(t testing.TB, p *browsertest.Page) {
	t.Helper()
	click(t, p, "#people-btn")
	waitJS(t, p, visible("#room-panel"), "the players panel did not open")
}

// roomsHealth is /healthz's count of rooms.
func roomsHealth(t *testing.T, base string) string {
	t.Helper()
	h := healthz(t, base)
	i := strings.Index(h, `"rooms":`)
	if i < 0 {
		t.Fatalf("no rooms in health: %s", h)
	}
	return strings.TrimRight(strings.SplitN(h[i+len(`"rooms":`):], ",", 2)[0], "}\n")
}

// TestRoomByLink is a room shared by its link: a second player takes
// controller 2 and drives player 2's side of the game, a spectator's keys
// move nothing, a slot given up shows as free to the others, and once
// everyone has gone the room ends and its link says so.
func TestRoomByLink(t *testing.T) {
	base := serve(t, "-room-linger", "2s")
	b := browsertest.Start(t)

	// Alice starts the game: she is player 1, in a room whose address she can share.
	alice := b.NewPage(t, base+"/")
	setNick(t, alice, "nick", "Alice")
	startGame(t, alice, testGame)
	room := inRoom(t, alice)
	waitColour(t, alice, testrom.FillColor())
	if got := slot(t, alice); got != 1 {
		fail(t, alice, "the starter's slot is %d, want 1", got)
	}
	if got := text(t, alice, "#role-chip"); got != "P1" {
		fail(t, alice, "role chip %q, want P1", got)
	}
	waitJS(t, alice, visible("#share-btn"), "no Share button")

	// Share copies the absolute link (or shows it to copy by hand).
	click(t, alice, "#share-btn")
	link := base + "/r/" + room
	waitJS(t, alice, fmt.Sprintf(`(document.getElementById('toast').innerText === 'Link copied' && !document.getElementById('toast').hidden)
		|| (document.getElementById('share-link').value === %q && !document.getElementById('share-pop').hidden)`, link),
		"Share neither copied nor showed the link")
	press(t, alice, "Escape") // puts the link away, if it was shown

	// Bob opens the link: he watches until he takes a controller.
	bob := b.NewPage(t, link)
	setNick(t, bob, "nick", "bob")
	if got := inRoom(t, bob); got != room {
		fail(t, bob, "Bob is in room %q, want %q", got, room)
	}
	if got := slot(t, bob); got != 0 {
		fail(t, bob, "a joiner's slot is %d, want 0 (watching)", got)
	}
	waitJS(t, bob, visible("#watch-hint"), "no hint for the spectator")
	if got := text(t, bob, "#role-chip"); got != "Watching" {
		fail(t, bob, "role chip %q, want Watching", got)
	}
	// Once the bar hides, a tab says where it went and brings it back,
	// and the spectator's way to a controller stays in sight.
	waitJS(t, bob, `document.getElementById('player').classList.contains('bar-hidden')`, "the bar does not hide")
	waitJS(t, bob, visible("#bar-handle")+` && `+visible("#watch-hint")+` && getComputedStyle(document.getElementById('watch-hint')).opacity === '1'`,
		"with the bar hidden, no tab for it, or no Take a controller")
	// A tap on it, as on a phone (with a mouse, moving it there shows the bar already).
	if err := bob.TouchStart("#bar-handle"); err != nil {
		t.Fatal(err)
	}
	if err := bob.TouchEnd(); err != nil {
		t.Fatal(err)
	}
	waitJS(t, bob, `!document.getElementById('player').classList.contains('bar-hidden') && `+visible("#topbar"), "the tab does not bring the bar back")
	openPanel(t, bob)
	click(t, bob, `#slots [data-seat="2"]`)
	waitSlot(t, bob, 2)
	waitJS(t, bob, `document.getElementById('role-chip').innerText === 'P2' && document.getElementById('watch-hint').hidden`,
		"Bob's role is not shown as P2")
	// His name reaches Alice's panel, in slot 2.
	waitJS(t, alice, `document.querySelector('#slots [data-slot="2"] .slot-names')?.innerText === 'bob'`,
		"Alice does not see Bob in slot 2")
	// A new name from the panel reaches the others at once, and is remembered.
	setNick(t, bob, "room-nick", " Bob\t")
	waitJS(t, alice, `document.querySelector('#slots [data-slot="2"] .slot-names')?.innerText === 'Bob'`,
		"Alice does not see Bob's new name")
	var stored string
	eval(t, bob, `localStorage.getItem('telecart.nick')`, &stored)
	if stored != "Bob" {
		fail(t, bob, "stored nickname %q, want Bob", stored)
	}
	click(t, bob, "#room-panel-close")

	// Where the clipboard is out of reach, Share shows the link selected.
	var ok bool
	eval(t, bob, `Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true}), true`, &ok)
	click(t, bob, "#share-btn")
	waitJS(t, bob, fmt.Sprintf(`(() => {
		const i = document.getElementById('share-link');
		return !document.getElementById('share-pop').hidden && i.value === %q
			&& document.activeElement === i && i.selectionStart === 0 && i.selectionEnd === i.value.length;
	})()`, link), "Share without a clipboard did not show the link selected")
	press(t, bob, "Escape")
	waitJS(t, bob, `document.getElementById('share-pop').hidden`, "Escape did not put the link away")

	// Bob's A lights player 2's A box, on both screens; player 1's colour stays.
	if err := bob.KeyDown("KeyX"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*browsertest.Page{bob, alice} {
		waitPixel(t, p, centre(testrom.P2Box(testrom.A)), testrom.P2Color(true))
		if got := pixel(t, p, testrom.FillPoint()); !near(got, testrom.FillColor()) {
			fail(t, p, "player 1's area changed to %v with player 2's A", got)
		}
	}
	if err := bob.KeyUp("KeyX"); err != nil {
		t.Fatal(err)
	}
	waitPixel(t, alice, centre(testrom.P2Box(testrom.A)), testrom.P2Color(false))

	// Carol watches on a phone: no touch pad, a hint instead; her keys are
	// sent but move nothing.
	carol := b.NewPageOn(t, link, browsertest.Phone())
	setNick(t, carol, "nick", "Carol")
	inRoom(t, carol)
	waitJS(t, carol, visible("#watch-hint")+` && document.getElementById('touchpad').hidden`,
		"the spectator's phone shows a touch pad, or no hint")
	waitJS(t, alice, `document.getElementById('watch-count').innerText === '1'`, "Alice does not count one spectator")
	var seq0, seq1 int
	eval(t, carol, `window.telecart.seq`, &seq0)
	for _, key := range []string{"KeyX", "ArrowLeft", "Enter"} {
		if err := carol.KeyDown(key); err != nil {
			t.Fatal(err)
		}
	}
	// A state for each key (then copies and repeats of it, which carry
	// its seq): a state lost on the way would not hide anything.
	waitJS(t, carol, fmt.Sprintf(`window.telecart.seq >= %d`, seq0+3), "the spectator's keys were not sent")
	// Bob presses B after them: once Alice sees his B, she sees a picture
	// that her keys, sent before, would have changed.
	if err := bob.KeyDown("KeyZ"); err != nil {
		t.Fatal(err)
	}
	waitPixel(t, alice, centre(testrom.P2Box(testrom.B)), testrom.P2Color(true))
	if got := pixel(t, alice, testrom.FillPoint()); !near(got, testrom.FillColor()) {
		fail(t, alice, "player 1's area is %v with a spectator's keys held, want the idle %v", got, testrom.FillColor())
	}
	for _, b := range testrom.Buttons() {
		if got := pixel(t, alice, centre(testrom.P2Box(b))); b != testrom.B && !near(got, testrom.P2Color(false)) {
			fail(t, alice, "player 2's %s box is %v with a spectator's keys held, want dark", b, got)
		}
	}
	if err := bob.KeyUp("KeyZ"); err != nil {
		t.Fatal(err)
	}
	waitPixel(t, alice, centre(testrom.P2Box(testrom.B)), testrom.P2Color(false))
	for _, key := range []string{"KeyX", "ArrowLeft", "Enter"} {
		if err := carol.KeyUp(key); err != nil {
			t.Fatal(err)
		}
	}
	eval(t, carol, `window.telecart.seq`, &seq1)
	t.Logf("the spectator sent pad states %d to %d; the picture did not change", seq0+1, seq1)

	// The room panel, as Alice sees it with a friend and a spectator.
	openPanel(t, alice)
	waitJS(t, alice, `document.querySelector('#slots [data-slot="1"] .you-tag') !== null && document.getElementById('toast').hidden`,
		"Alice is not marked as you")
	screenshot(t, alice, "screenshot-room.png")

	// Bob gives controller 2 up: Alice's panel shows it free.
	openPanel(t, bob)
	click(t, bob, `#slots [data-seat="0"]`)
	waitSlot(t, bob, 0)
	waitJS(t, alice, `document.querySelector('#slots [data-slot="2"]')?.dataset.state === 'free'
		&& document.querySelector('#slots [data-slot="2"] .slot-names').innerText === 'Free'`,
		"slot 2 is not shown free on Alice's page")

	// Everyone leaves: Alice quits to the list (the address follows), the
	// others close their pages.
	click(t, alice, "#quit-btn")
	waitJS(t, alice, `window.telecart.state === 'list' && location.pathname === '/' && window.telecart.room === null`,
		"quit did not go back to the list at /")
	for _, p := range []*browsertest.Page{bob, carol} {
		eval(t, p, `setTimeout(() => location.assign('about:blank')), true`, &ok)
	}

	// The room lingers 2 s for anyone coming back, then ends.
	waittest.Eventually(t, "the room ended after everyone left", func() error {
		if n := roomsHealth(t, base); n != "0" {
			return fmt.Errorf("%s rooms: %s", n, healthz(t, base))
		}
		return nil
	})

	// Its link now says so, and offers the game afresh.
	late := b.NewPage(t, link)
	waitJS(t, late, `window.telecart.state === 'ended' && !document.getElementById('view-message').hidden
		&& document.getElementById('message-title').innerText === 'This room has ended'`,
		"an ended room's link does not say so")
	waitJS(t, late, visible("#retry-btn")+` && document.getElementById('retry-btn').innerText === 'Play Telecart Test ROM'`+
		` && `+visible("#back-btn"), "no button to start the game afresh")
	click(t, late, "#retry-btn")
	if again := inRoom(t, late); again == room {
		fail(t, late, "started afresh in the ended room %q", room)
	}
	if got := slot(t, late); got != 1 {
		fail(t, late, "started afresh in slot %d, want 1", got)
	}

	// A link to a room that never was says that, and offers no game.
	none := b.NewPage(t, base+"/r/NEVERWAS")
	waitJS(t, none, `window.telecart.state === 'ended' && !document.getElementById('view-message').hidden
		&& document.getElementById('message-title').innerText === 'No room at this link'`,
		"a link to no room does not say so")
	waitJS(t, none, `document.getElementById('retry-btn').hidden && `+visible("#back-btn"), "no way back, or a game offered")
}

// reloadPlaying reloads the page and waits for the new one to be back in
// its game.
func reloadPlaying(t testing.TB, p *browsertest.Page) {
	t.Helper()
	eval(t, p, `(() => { window.__before = true; location.reload(); return true; })()`, new(bool))
	waitJS(t, p, `!window.__before && window.telecart?.state === 'playing'`, "the page is not back in its game after a reload")
}

// TestReloadKeepsSeat: a player who reloads the page finds the game as it
// was, in their seat: player 1 alone in the room, and player 2 beside
// them; the seat is real, the game answers their buttons.
func TestReloadKeepsSeat(t *testing.T) {
	base := serve(t, "-room-linger", "30s")
	b := browsertest.Start(t)
	alice := b.NewPage(t, base+"/")
	startGame(t, alice, testGame)
	room := inRoom(t, alice)
	waitColour(t, alice, testrom.FillColor())

	reload := func(p *browsertest.Page, who string, want int) {
		t.Helper()
		reloadPlaying(t, p)
		if got := inRoom(t, p); got != room {
			fail(t, p, "%s is back in room %q, want %q", who, got, room)
		}
		waitSlot(t, p, want)
		if got, chip := text(t, p, "#role-chip"), fmt.Sprintf("P%d", want); got != chip {
			fail(t, p, "%s's role chip %q after the reload, want %s", who, got, chip)
		}
	}

	// Alone in the room: the room lingers empty for the reload.
	reload(alice, "player 1", 1)
	waitColour(t, alice, testrom.FillColor())
	tapA(t, alice)

	// Beside another player, who keeps playing meanwhile.
	bob := b.NewPage(t, base+"/r/"+room)
	inRoom(t, bob)
	openPanel(t, bob)
	click(t, bob, `#slots [data-seat="2"]`)
	waitSlot(t, bob, 2)
	reload(bob, "player 2", 2)
	if got := slot(t, alice); got != 1 {
		fail(t, alice, "player 1's slot is %d after player 2's reload, want 1", got)
	}
}

// TestLiveRooms lists the public rooms on the home page, joins one with a
// click and another with the keyboard, and keeps a private room off the
// list while its link works. Back and Forward leave and rejoin.
func TestLiveRooms(t *testing.T) {
	base := serve(t, "-room-linger", "2s")
	b := browsertest.Start(t)

	public := b.NewPage(t, base+"/")
	setNick(t, public, "nick", "Dana")
	startGame(t, public, testGame)
	room := inRoom(t, public)

	// A crowdplay room, chosen on the home page and remembered there.
	crowd := b.NewPage(t, base+"/")
	waitJS(t, crowd, `window.telecart.state === 'list'`, "no game list")
	click(t, crowd, `label:has(#opt-crowd)`)
	startGame(t, crowd, testGame)
	crowdRoom := inRoom(t, crowd)
	var crowdOn bool
	eval(t, crowd, `localStorage.getItem('telecart.crowd') === '1'`, &crowdOn)
	if !crowdOn {
		fail(t, crowd, "the Crowdplay choice was not remembered")
	}
	waitJS(t, crowd, `document.getElementById('room-flags').innerText.includes('Crowdplay')`, "the room is not shown as crowdplay")

	private := b.NewPage(t, base+"/")
	waitJS(t, private, `window.telecart.state === 'list'`, "no game list")
	click(t, private, `label:has(#opt-private)`)
	startGame(t, private, testGame)
	privateRoom := inRoom(t, private)

	// The list shows the two public rooms, and not the private one.
	visitor := b.NewPage(t, base+"/")
	entry := func(id string) string { return fmt.Sprintf(`#live-rooms [data-room=%q]`, id) }
	waitJS(t, visitor, visible("#live")+` && document.querySelectorAll('#live-rooms [data-room]').length === 2`+
		` && document.querySelector('`+entry(room)+`') !== null && document.querySelector('`+entry(crowdRoom)+`') !== null`,
		"the live rooms are not listed")
	var listed bool
	eval(t, visitor, fmt.Sprintf(`document.querySelector('%s') !== null`, entry(privateRoom)), &listed)
	if listed {
		fail(t, visitor, "the private room is listed")
	}
	if got := text(t, visitor, entry(room)); !strings.Contains(got, "Telecart Test ROM") || !strings.Contains(got, "1 playing") || !strings.Contains(got, "NES") {
		fail(t, visitor, "the live room says %q, want its game, system and players", got)
	}
	if got := text(t, visitor, entry(crowdRoom)); !strings.Contains(got, "Crowdplay") {
		fail(t, visitor, "the crowdplay room says %q", got)
	}
	screenshot(t, visitor, "screenshot-rooms.png")

	// One click joins.
	click(t, visitor, entry(room))
	if got := inRoom(t, visitor); got != room {
		fail(t, visitor, "joined %q, want %q", got, room)
	}
	waitColour(t, visitor, testrom.FillColor())
	waitJS(t, public, `document.getElementById('people-btn').innerText.replace(/\s+/g, ' ').trim() === '1 playing · 1 watching'`,
		"the player does not see the spectator in the top bar")

	// Back leaves the room for the list; Forward joins it again.
	var ok bool
	eval(t, visitor, `history.back(), true`, &ok)
	waitJS(t, visitor, `window.telecart.state === 'list' && location.pathname === '/'`, "Back did not leave the room")
	waitJS(t, public, `document.getElementById('watch-count').innerText === '0'`, "the spectator who went back is still counted")
	eval(t, visitor, `history.forward(), true`, &ok)
	if got := inRoom(t, visitor); got != room {
		fail(t, visitor, "Forward joined %q, want %q", got, room)
	}

	// The keyboard joins too: focus the entry, press Enter.
	keys := b.NewPage(t, base+"/")
	waitJS(t, keys, `document.querySelector('`+entry(crowdRoom)+`') !== null`, "no live rooms")
	eval(t, keys, fmt.Sprintf(`document.querySelector('%s').focus(), true`, entry(crowdRoom)), &ok)
	press(t, keys, "Enter")
	if got := inRoom(t, keys); got != crowdRoom {
		fail(t, keys, "Enter joined %q, want %q", got, crowdRoom)
	}
	// In crowdplay anyone can share a held controller.
	openPanel(t, keys)
	click(t, keys, `#slots [data-seat="1"]`)
	waitSlot(t, keys, 1)
	waitJS(t, crowd, `(() => { const m = window.telecart.members; return m.length === 2 && m.every(x => x.slot === 1); })()`,
		"two people do not share controller 1")

	// The private room's link works.
	guest := b.NewPage(t, base+"/r/"+privateRoom)
	if got := inRoom(t, guest); got != privateRoom {
		fail(t, guest, "the private link joined %q", got)
	}
	waitColour(t, guest, testrom.FillColor())
}

// TestFullWorkerStillJoins fills the only worker with one room: a second
// game gets the busy message, while the running room takes more people.
func TestFullWorkerStillJoins(t *testing.T) {
	base := serve(t, "-capacity", "1", "-room-linger", "2s")
	b := browsertest.Start(t)

	host := b.NewPage(t, base+"/")
	startGame(t, host, testGame)
	room := inRoom(t, host)

	other := b.NewPage(t, base+"/")
	startGame(t, other, testGame)
	waitState(t, other, "busy", "retry-btn")

	friend := b.NewPage(t, base+"/r/"+room)
	if got := inRoom(t, friend); got != room {
		fail(t, friend, "joined %q, want %q", got, room)
	}
	waitColour(t, friend, testrom.FillColor())
	if err := host.KeyDown("KeyZ"); err != nil {
		t.Fatal(err)
	}
	waitColour(t, friend, testrom.FillColor(testrom.B))
	if err := host.KeyUp("KeyZ"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkJoinFirstPicture measures what someone opening a room's link
// waits for once connected: from the peer connection's "connected" to the
// first video frame shown (the room's keyframe for the new viewer), both
// as the page's test hook records them (performance.now() of the
// connectionstatechange event, and requestVideoFrameCallback's
// presentationTime). Both are main-thread timestamps: when the event is
// late a join can come out a few milliseconds below zero. It also reports
// the whole wait from opening the link. Each join is a fresh page load in
// one browser context; the room keeps its player throughout.
func BenchmarkJoinFirstPicture(b *testing.B) {
	const joins = 10
	for i := 0; i < b.N; i++ {
		base := serve(b, "-room-linger", "2s")
		br := browsertest.Start(b)
		host := br.NewPage(b, base+"/")
		startGame(b, host, testGame)
		room := inRoom(b, host)

		guest := br.NewPage(b, base+"/r/"+room)
		var waits, loads []float64
		for j := range joins {
			var origin float64
			eval(b, guest, `performance.timeOrigin`, &origin)
			if j > 0 {
				var ok bool
				eval(b, guest, `setTimeout(() => location.reload()), true`, &ok)
			}
			waitJS(b, guest, fmt.Sprintf(`(performance.timeOrigin !== %v || %d === 0) && window.telecart
				&& window.telecart.room === %q && window.telecart.connectedAt !== null && window.telecart.firstFrameAt !== null`, origin, j, room),
				"the joiner has no picture")
			var ms []float64
			eval(b, guest, `[window.telecart.firstFrameAt - window.telecart.connectedAt, window.telecart.firstFrameAt]`, &ms)
			waits = append(waits, ms[0])
			loads = append(loads, ms[1])
		}
		slices.Sort(waits)
		slices.Sort(loads)
		b.Logf("connected to first frame, %d joins: %.1f ms", joins, waits)
		b.Logf("page open to first frame: %.0f ms", loads)
		median := func(v []float64) float64 { return (v[len(v)/2-1] + v[len(v)/2]) / 2 }
		b.ReportMetric(median(waits), "median-ms")
		b.ReportMetric(waits[joins-1], "max-ms")
		b.ReportMetric(median(loads), "open-to-frame-ms")
	}
}

// TestLibraryShelves: the game list comes in parts, by system; a game
// starred comes first, under Favourites, and one played under Recently
// played, both kept by the browser.
func TestLibraryShelves(t *testing.T) {
	rom := testrom.ROM()
	dir := filepath.Dir(fixturetest.File(t, "Alpha.nes", rom))
	for name, data := range map[string][]byte{"Beta.nes": rom, "Gamma.gba": []byte("a game for the list only")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := serve(t, "-games", dir)
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	shelves := func(want string) {
		t.Helper()
		js := `[...document.querySelectorAll('#games > li')].map(li => li.classList.contains('game-group') ? '# ' + li.textContent.trim() : li.querySelector('.game-title').textContent).join(' | ')`
		waitJS(t, p, js+` === `+strconv.Quote(want), "the list is not "+want)
	}
	shelves("# NES | Alpha | Beta | Telecart Test ROM | # Game Boy Advance | Gamma")

	click(t, p, `li.game[data-game="gba:Gamma.gba"] .game-fav`)
	shelves("# Favourites | Gamma | # NES | Alpha | Beta | Telecart Test ROM")
	if got := state(t, p); got != "list" {
		fail(t, p, "starring a game left the list for %q", got)
	}

	startGame(t, p, "nes:Beta.nes")
	inRoom(t, p)
	click(t, p, "#quit-btn")
	waitJS(t, p, `window.telecart.state === 'list'`, "Quit did not lead back to the list")
	shelves("# Favourites | Gamma | # Recently played | Beta | # NES | Alpha | Telecart Test ROM")

	// Kept by the browser.
	eval(t, p, `(() => { location.reload(); return true; })()`, new(bool))
	waitJS(t, p, `window.telecart?.state === 'list'`, "the list after a reload")
	shelves("# Favourites | Gamma | # Recently played | Beta | # NES | Alpha | Telecart Test ROM")
}

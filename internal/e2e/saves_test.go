package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// The tests of this file play with saves as a player does: the saves panel
// and the hotkeys, Continue when starting a game again, the player code
// carried to another browser, save files downloaded and uploaded, and two
// workers that share an S3 bucket.
// What a save holds is checked through the test ROM's mark, the one bit of
// state it keeps (flipped by each press of player 1's Select, shown in its
// own box): a save made with the mark on brings it back on.

// markPoint is the middle of the mark's box in the picture.
func markPoint() image.Point { return centre(testrom.MarkBox()) }

// hold presses a key, waits until the game shows it held (the fill takes
// the button's colour), and returns the function that releases it. The
// wait matters: the game reads the pad once a frame, and a press released
// within the same frame never reaches it.
func hold(t testing.TB, p *browsertest.Page, code string, button testrom.Button) func() {
	t.Helper()
	if err := p.KeyDown(code); err != nil {
		fail(t, p, "%v", err)
	}
	waitColour(t, p, testrom.FillColor(button))
	return func() {
		t.Helper()
		if err := p.KeyUp(code); err != nil {
			fail(t, p, "%v", err)
		}
		waitColour(t, p, testrom.FillColor())
	}
}

// flipMark presses Select (Shift) once and waits for the mark to show on.
func flipMark(t testing.TB, p *browsertest.Page, on bool) {
	t.Helper()
	hold(t, p, "ShiftLeft", testrom.Select)()
	waitPixel(t, p, markPoint(), testrom.MarkColor(on))
}

// toastSays waits for the toast to show text.
func toastSays(t testing.TB, p *browsertest.Page, text string) {
	t.Helper()
	waitJS(t, p, fmt.Sprintf(`(() => { const e = document.getElementById('toast'); return !e.hidden && e.innerText.trim() === %q; })()`, text),
		fmt.Sprintf("no toast %q", text))
}

// toastMatches waits for the toast to match a regular expression.
func toastMatches(t testing.TB, p *browsertest.Page, re string) {
	t.Helper()
	waitJS(t, p, fmt.Sprintf(`(() => { const e = document.getElementById('toast'); return !e.hidden && new RegExp(%q).test(e.innerText.trim()); })()`, re),
		fmt.Sprintf("no toast matching %q", re))
}

// openSaves opens the saves panel from the top bar and waits for the
// player's list of saves to be in.
func openSaves(t testing.TB, p *browsertest.Page) {
	t.Helper()
	var open bool
	eval(t, p, visible("#saves-panel"), &open)
	if !open {
		click(t, p, "#saves-btn")
	}
	waitJS(t, p, visible("#saves-panel")+` && document.getElementById('saves-status').textContent !== 'Loading your saves…'`,
		"the saves panel did not open with the list of saves")
}

// closeSaves puts the saves panel away.
func closeSaves(t testing.TB, p *browsertest.Page) {
	t.Helper()
	click(t, p, "#saves-panel-close")
	waitJS(t, p, `document.getElementById('saves-panel').hidden`, "the saves panel did not close")
}

// slotRow is the saves panel's row of a slot.
func slotRow(n int) string { return fmt.Sprintf(`#save-slots [data-slot="%d"]`, n) }

// saveInSlot saves into slot n (1-4) with the panel's Save button, and
// waits until the page says so and the slot shows a save of just now.
func saveInSlot(t testing.TB, p *browsertest.Page, n int) {
	t.Helper()
	openSaves(t, p)
	click(t, p, fmt.Sprintf(`%s [data-save="%d"]`, slotRow(n), n))
	toastSays(t, p, fmt.Sprintf("Saved to slot %d", n))
	waitJS(t, p, fmt.Sprintf(`document.querySelector('%s').dataset.state === 'full'
		&& document.querySelector('%[1]s .save-time').innerText === 'just now'
		&& document.querySelector('%[1]s img.save-thumb') !== null`, slotRow(n)),
		fmt.Sprintf("slot %d does not show a save of just now with its picture", n))
}

// thumbPixel reads a pixel of a save's picture (an <img>), at a point of
// the game's 256x224 picture, scaled to the thumbnail's size.
func thumbPixel(t testing.TB, p *browsertest.Page, selector string, pt image.Point) []int {
	t.Helper()
	var got []int
	eval(t, p, fmt.Sprintf(`(async () => {
		const img = document.querySelector(%q);
		if (!img) return null;
		await img.decode();
		const c = document.createElement('canvas');
		c.width = img.naturalWidth; c.height = img.naturalHeight;
		const g = c.getContext('2d', {willReadFrequently: true});
		g.drawImage(img, 0, 0);
		const d = g.getImageData(Math.floor(%d * c.width / 256), Math.floor(%d * c.height / 224), 1, 1).data;
		return [d[0], d[1], d[2]];
	})()`, selector, pt.X, pt.Y), &got)
	return got
}

// thumbShows checks a save's picture at the fill and the mark.
func thumbShows(t testing.TB, p *browsertest.Page, selector string, fill color.RGBA, mark bool) {
	t.Helper()
	if got := thumbPixel(t, p, selector, testrom.FillPoint()); !near(got, fill) {
		fail(t, p, "the picture of %s has the fill %v, want %v", selector, got, fill)
	}
	if got := thumbPixel(t, p, selector, markPoint()); !near(got, testrom.MarkColor(mark)) {
		fail(t, p, "the picture of %s has the mark %v, want %v", selector, got, testrom.MarkColor(mark))
	}
}

// savedSlots is the page's list of saves: their slots, newest first.
func savedSlots(t testing.TB, p *browsertest.Page) []int {
	t.Helper()
	var slots []int
	eval(t, p, `window.telecart.saves.map(s => s.slot)`, &slots)
	return slots
}

// waitContinue waits for the offer to continue from a save, and returns
// what it says of the save.
func waitContinue(t testing.TB, p *browsertest.Page) string {
	t.Helper()
	waitJS(t, p, visible("#continue")+` && `+visible("#continue-btn"), "no offer to continue")
	return text(t, p, "#continue-meta")
}

// noContinue checks that no offer to continue shows once the list of
// saves has come: the page, playing, decides on the offer as the first
// list arrives, and never after.
func noContinue(t testing.TB, p *browsertest.Page) {
	t.Helper()
	openSaves(t, p)
	var shown bool
	eval(t, p, visible("#continue"), &shown)
	if shown {
		fail(t, p, "Continue is offered: %q", text(t, p, "#continue"))
	}
	closeSaves(t, p)
}

// rename changes the player's name in the room and waits until the room
// shows it. The worker answers a session's messages one after the other,
// so by then it has answered each one the page sent before: a save or a
// load that should not have been sent would have shown.
func rename(t testing.TB, p *browsertest.Page, nick string) {
	t.Helper()
	setNick(t, p, "room-nick", nick)
	waitJS(t, p, fmt.Sprintf(`window.telecart.members.some((m) => m.nick === %q)`, nick), fmt.Sprintf("the room does not show the name %q", nick))
}

// toHome opens the home page afresh, as a reload or a new visit does.
func toHome(t testing.TB, p *browsertest.Page, base string) {
	t.Helper()
	var ok bool
	eval(t, p, fmt.Sprintf(`setTimeout(() => location.assign(%q)), true`, base+"/"), &ok)
	waitJS(t, p, `window.telecart && window.telecart.state === 'list' && location.pathname === '/'`, "the home page did not load")
}

// TestSaveAndContinue saves with the panel and the hotkey, loads both
// ways, and starting the game again offers to continue from the newest
// save, which brings its state back.
func TestSaveAndContinue(t *testing.T) {
	// The rooms left behind outlive the test: one ending would autosave,
	// and the autosave would be the newest save, at a moment a busy
	// machine chooses.
	base := serve(t, "-room-linger", "1m")
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitColour(t, p, testrom.FillColor())
	waitPixel(t, p, markPoint(), testrom.MarkColor(false))

	// A first game has no saves, and nothing to continue from.
	noContinue(t, p)
	openSaves(t, p)
	if got := text(t, p, "#saves-status"); got != "No saves of this game yet." {
		fail(t, p, "the empty saves panel says %q", got)
	}
	for n := 0; n <= 4; n++ {
		if got := text(t, p, slotRow(n)+" .save-time"); got != "Empty" {
			fail(t, p, "slot %d says %q before any save", n, got)
		}
	}

	// F2 saves to slot 1, here with B held and the mark off.
	closeSaves(t, p)
	release := hold(t, p, "KeyZ", testrom.B)
	press(t, p, "F2")
	toastSays(t, p, "Saved to slot 1")
	release()

	// The panel's Save, with A held and the mark on, into slot 2.
	flipMark(t, p, true)
	release = hold(t, p, "KeyX", testrom.A)
	saveInSlot(t, p, 2)
	release()
	if got := savedSlots(t, p); fmt.Sprint(got) != "[2 1]" {
		fail(t, p, "saves %v, want slots 2 then 1 (newest first)", got)
	}
	// Each slot shows the picture of its moment.
	thumbShows(t, p, slotRow(1)+" img", testrom.FillColor(testrom.B), false)
	thumbShows(t, p, slotRow(2)+" img", testrom.FillColor(testrom.A), true)
	if got := text(t, p, slotRow(2)+" .save-name"); !strings.EqualFold(got, "Slot 2 Newest") {
		fail(t, p, "the newest save is named %q", got)
	}
	waitJS(t, p, `document.getElementById('toast').hidden`, "the toast stays")
	screenshot(t, p, "screenshot-saves.png")

	// Load puts the game back as it was: the mark comes back on.
	closeSaves(t, p)
	flipMark(t, p, false)
	openSaves(t, p)
	click(t, p, slotRow(2)+` [data-load="2"]`)
	toastMatches(t, p, `^Loaded the save of \d`)
	waitPixel(t, p, markPoint(), testrom.MarkColor(true))
	// F4 loads slot 1, whose mark is off.
	closeSaves(t, p)
	press(t, p, "F4")
	toastMatches(t, p, `^Loaded the save of \d`)
	waitPixel(t, p, markPoint(), testrom.MarkColor(false))

	// Keys typed into a field are not hotkeys: F2 in the name field saves nothing.
	var ok bool
	click(t, p, "#people-btn")
	eval(t, p, `document.getElementById('room-nick').focus(), true`, &ok)
	press(t, p, "F2")
	rename(t, p, "Tester")
	if got := savedSlots(t, p); fmt.Sprint(got) != "[2 1]" {
		fail(t, p, "F2 typed into a field saved: saves %v", got)
	}
	eval(t, p, `document.getElementById('room-nick').blur(), true`, &ok)

	// A reload and the game again: Continue offers the newest save, and
	// brings its state back into the game, which starts with the mark off.
	toHome(t, p, base)
	startGame(t, p, testGame)
	inRoom(t, p)
	waitPixel(t, p, markPoint(), testrom.MarkColor(false))
	if got := waitContinue(t, p); got != "Slot 2 · just now" {
		fail(t, p, "Continue offers %q, want slot 2 of just now", got)
	}
	thumbShows(t, p, "#continue-thumb", testrom.FillColor(testrom.A), true)
	waitJS(t, p, `document.getElementById('toast').hidden && getComputedStyle(document.getElementById('continue')).opacity === '1'`,
		"the toast stays, or the offer does not settle")
	screenshot(t, p, "screenshot-continue.png")
	click(t, p, "#continue-btn")
	toastMatches(t, p, `^Loaded the save of \d`)
	waitPixel(t, p, markPoint(), testrom.MarkColor(true))
	waitJS(t, p, `document.getElementById('continue').hidden`, "Continue stays after loading")
	// The game goes on from there: keys still drive it.
	hold(t, p, "KeyZ", testrom.B)()

	// New game puts the offer away and leaves the game as it is.
	toHome(t, p, base)
	startGame(t, p, testGame)
	inRoom(t, p)
	waitContinue(t, p)
	click(t, p, "#continue-new")
	waitJS(t, p, `document.getElementById('continue').hidden`, "New game did not put the offer away")
	// A load, which must not come, would have been answered by the time
	// the room shows a new name; and B, pressed after that, shows in a
	// picture of the game after any load, whose mark must still be off.
	rename(t, p, "Tester again")
	hold(t, p, "KeyZ", testrom.B)()
	if got := pixel(t, p, markPoint()); !near(got, testrom.MarkColor(false)) {
		fail(t, p, "the mark is %v after New game, want it off: a save was loaded", got)
	}
	if got := savedSlots(t, p); fmt.Sprint(got) != "[2 1]" {
		fail(t, p, "saves %v after New game, want them as they were", got)
	}
}

// TestPlayerCode carries the player code to another browser, as a player
// does to another device: its saves are there, for loading once playing,
// and not offered to continue while joining someone's room.
func TestPlayerCode(t *testing.T) {
	base := serve(t, "-room-linger", "1s")
	b := browsertest.Start(t)

	// Alice saves, with the mark on, into slot 3.
	alice := b.NewPage(t, base+"/")
	setNick(t, alice, "nick", "Alice")
	var code string
	eval(t, alice, `document.getElementById('player-id').value`, &code)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(code) {
		fail(t, alice, "the player code %q is not 22 URL-safe characters", code)
	}
	var stored string
	eval(t, alice, `localStorage.getItem('telecart.player')`, &stored)
	if stored != code {
		fail(t, alice, "the page shows the code %q and keeps %q", code, stored)
	}
	startGame(t, alice, testGame)
	room := inRoom(t, alice)
	flipMark(t, alice, true)
	saveInSlot(t, alice, 3)
	closeSaves(t, alice)

	// Her code, copied from the home page: the clipboard, or the field
	// selected for copying by hand.
	other := b.NewPage(t, base+"/")
	waitJS(t, other, `window.telecart.state === 'list'`, "no home page")
	var hook string
	eval(t, other, `window.telecart.player`, &hook)
	if hook == code {
		fail(t, other, "two browsers have the same player code")
	}
	click(t, other, "#player-copy")
	waitJS(t, other, `(() => {
		const t = document.getElementById('toast'), i = document.getElementById('player-id');
		return (!t.hidden && t.innerText === 'Player code copied')
			|| (document.activeElement === i && i.selectionStart === 0 && i.selectionEnd === i.value.length);
	})()`, "Copy neither copied the code nor selected it")

	// Bob, on a phone, takes her code. A mistyped one is refused
	// with the rule, and changes nothing.
	bob := b.NewPageOn(t, base+"/", browsertest.Phone())
	waitJS(t, bob, `window.telecart.state === 'list'`, "no home page")
	setNick(t, bob, "nick", "Bob")
	var own string
	eval(t, bob, `window.telecart.player`, &own)
	click(t, bob, "#player-change")
	waitJS(t, bob, visible("#player-import-input")+` && document.activeElement === document.getElementById('player-import-input')`,
		"no field to paste a code into")
	typeInto(t, bob, "player-import-input", "not a code!")
	press(t, bob, "Enter")
	waitJS(t, bob, visible("#player-import-error")+` && document.getElementById('player-import-error').innerText.includes('16 to 64')`,
		"a bad code is not refused with the rule")
	eval(t, bob, `window.telecart.player`, &hook)
	if hook != own {
		fail(t, bob, "a refused code changed the player to %q", hook)
	}
	// Pasted with the spaces a message brings along, it is taken.
	typeInto(t, bob, "player-import-input", "  "+code+"\n")
	click(t, bob, `#player-import button[type="submit"]`)
	waitJS(t, bob, fmt.Sprintf(`window.telecart.player === %q && document.getElementById('player-id').value === %[1]q
		&& localStorage.getItem('telecart.player') === %[1]q && document.getElementById('player-import').hidden`, code),
		"the code was not taken")
	toastSays(t, bob, "Player code changed: its saves are yours here now")

	// Joining Alice's room, Bob watches: her saves are his to see, and to
	// load once he holds a controller; joining offers nothing to continue.
	var ok bool
	eval(t, bob, fmt.Sprintf(`setTimeout(() => location.assign(%q)), true`, base+"/r/"+room), &ok)
	if got := inRoom(t, bob); got != room {
		fail(t, bob, "joined %q, want %q", got, room)
	}
	noContinue(t, bob)
	openSaves(t, bob)
	waitJS(t, bob, visible("#saves-watch-note")+fmt.Sprintf(` && document.querySelector('%s').dataset.state === 'full'
		&& document.querySelector('%[1]s [data-load]').disabled && document.querySelector('%[1]s [data-upload]').disabled`, slotRow(3)),
		"the spectator does not see the save, with Load and Upload disabled and why")
	thumbShows(t, bob, slotRow(3)+" img", testrom.FillColor(), true)
	screenshot(t, bob, "screenshot-saves-phone.png")
	press(t, bob, "F4")
	toastSays(t, bob, "Take a controller to load a save: spectators can’t")

	// With a controller he loads it, for the whole room: the mark, which
	// Alice turned off meanwhile, comes back on for both, and Alice is
	// told who loaded what.
	flipMark(t, alice, false)
	click(t, bob, "#saves-take")
	waitJS(t, bob, visible("#room-panel"), "Take a controller did not open the players panel")
	click(t, bob, `#slots [data-seat="2"]`)
	waitSlot(t, bob, 2)
	openSaves(t, bob)
	waitJS(t, bob, fmt.Sprintf(`document.getElementById('saves-watch-note').hidden && !document.querySelector('%s [data-load]').disabled
		&& !document.querySelector('%[1]s [data-upload]').disabled`, slotRow(3)),
		"Load or Upload stays disabled for a player")
	click(t, bob, slotRow(3)+` [data-load="3"]`)
	toastMatches(t, alice, `^Bob loaded the save of \d`)
	for _, p := range []*browsertest.Page{alice, bob} {
		waitPixel(t, p, markPoint(), testrom.MarkColor(true))
	}

	// Starting the game himself, Bob is offered Alice's save to continue.
	toHome(t, bob, base)
	startGame(t, bob, testGame)
	inRoom(t, bob)
	if got := waitContinue(t, bob); !strings.HasPrefix(got, "Slot 3 · ") {
		fail(t, bob, "Continue offers %q, want slot 3", got)
	}
	click(t, bob, "#continue-btn")
	waitPixel(t, bob, markPoint(), testrom.MarkColor(true))
}

// typeInto sets a text field's value as typing would, with its input event.
func typeInto(t testing.TB, p *browsertest.Page, id, value string) {
	t.Helper()
	var ok bool
	eval(t, p, fmt.Sprintf(`(() => {
		const i = document.getElementById(%q);
		i.focus();
		i.value = %q;
		i.dispatchEvent(new Event('input', {bubbles: true}));
		return true;
	})()`, id, value), &ok)
}

// TestSaveOfAnotherGame loads a save that is not this game's: one of
// another game put in this game's slot, and a damaged one. The page says
// so, and the game goes on untouched.
func TestSaveOfAnotherGame(t *testing.T) {
	dir := t.TempDir()
	other := fixturetest.File(t, "Other Game.nes", testrom.ROM())
	base := serve(t, "-games", filepath.Dir(other), "-saves", dir)
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	var player string
	eval(t, p, `window.telecart.player`, &player)

	// The test ROM, saved with the mark on.
	startGame(t, p, testGame)
	inRoom(t, p)
	flipMark(t, p, true)
	saveInSlot(t, p, 1)

	// The other game (the same ROM under another name, so the same core)
	// has no saves, and none to continue from.
	click(t, p, "#quit-btn")
	startGame(t, p, "nes:Other Game.nes")
	inRoom(t, p)
	noContinue(t, p)
	saveInSlot(t, p, 2)

	// Its slot 1 gets the test ROM's save, as a mix-up in storage would.
	games, err := filepath.Glob(filepath.Join(dir, "players", player, "*"))
	if err != nil || len(games) != 2 {
		t.Fatalf("the player's saves are in %v (%v), want two games' folders", games, err)
	}
	from, to := games[0], games[1]
	if _, err := os.Stat(filepath.Join(from, "slot-2")); err == nil {
		from, to = to, from
	}
	data, err := os.ReadFile(filepath.Join(from, "slot-1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, "slot-1"), data, 0o644); err != nil {
		t.Fatal(err)
	}

	// It is not listed as this game's, and loading it is refused.
	saveInSlot(t, p, 2) // a save brings the list again
	if got := text(t, p, slotRow(1)+" .save-time"); got != "Empty" {
		fail(t, p, "slot 1 of the other game shows %q, want Empty", got)
	}
	closeSaves(t, p)
	press(t, p, "F4")
	toastSays(t, p, "That save is of another game or emulator version, and cannot be loaded here.")
	waitColour(t, p, testrom.FillColor())
	waitPixel(t, p, markPoint(), testrom.MarkColor(false))

	// A damaged save: a byte of slot 2 changed on disk.
	path := filepath.Join(to, "slot-2")
	data, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	openSaves(t, p)
	click(t, p, slotRow(2)+` [data-load="2"]`)
	toastSays(t, p, "That save is damaged and cannot be loaded.")

	// The game goes on as it was, and keys still drive it.
	closeSaves(t, p)
	waitPixel(t, p, markPoint(), testrom.MarkColor(false))
	hold(t, p, "KeyX", testrom.A)()
	flipMark(t, p, true)
}

// health reads the coordinator's /healthz.
func health(t testing.TB, base string) (h struct{ Workers, Rooms, Sessions int }) {
	t.Helper()
	if err := json.Unmarshal([]byte(healthz(t, base)), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func waitWorkers(t testing.TB, base string, n int) {
	t.Helper()
	waittest.Eventually(t, fmt.Sprintf("%d workers registered", n), func() error {
		if got := health(t, base).Workers; got != n {
			return fmt.Errorf("%d registered", got)
		}
		return nil
	})
}

// TestContinueOnAnotherWorker plays on worker A, saves into an S3 bucket,
// and carries on on worker B once A has gone: the game comes back as it
// was, from the save A made as its room ended.
func TestContinueOnAnotherWorker(t *testing.T) {
	s3 := fixturetest.S3(t)
	base, _ := startCoordinator(t, "127.0.0.1:0", clusterSecret)
	worker := func(id string) func() {
		stop, _ := runCLI(t, append([]string{"worker", "-coordinator", "ws" + strings.TrimPrefix(base, "http") + "/worker",
			"-ice-loopback", "-games", "", "-room-linger", "1s", "-saves", t.TempDir(),
			"-s3-endpoint", s3, "-s3-bucket", "telecart-saves", "-s3-access-key", fixturetest.S3AccessKey, "-s3-secret-key", fixturetest.S3SecretKey, "-s3-insecure"},
			workerAuth(t, clusterSecret, id)...)...)
		return stop
	}
	stopA := worker("a")
	waitWorkers(t, base, 1)

	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	flipMark(t, p, true)
	saveInSlot(t, p, 1)
	closeSaves(t, p)

	// B joins; A goes away, and its room with it.
	worker("b")
	waitWorkers(t, base, 2)
	stopA()
	waitWorkers(t, base, 1)
	waitState(t, p, "ended", "retry-btn")

	// Play again: on B, the only worker left, Continue offers the autosave
	// A made as the room ended, and the game comes back as it was.
	click(t, p, "#retry-btn")
	inRoom(t, p)
	waitPixel(t, p, markPoint(), testrom.MarkColor(false))
	if got := waitContinue(t, p); !strings.HasPrefix(got, "Autosave · ") {
		fail(t, p, "Continue offers %q, want the autosave", got)
	}
	click(t, p, "#continue-btn")
	waitPixel(t, p, markPoint(), testrom.MarkColor(true))
	openSaves(t, p)
	if got := savedSlots(t, p); fmt.Sprint(got) != "[0 1]" {
		fail(t, p, "saves %v on worker B, want the autosave then slot 1", got)
	}
	// Slot 1, saved on A, loads on B too.
	flipMark(t, p, false)
	click(t, p, slotRow(1)+` [data-load="1"]`)
	waitPixel(t, p, markPoint(), testrom.MarkColor(true))
}

// hookDownloads keeps, in the page, every file it offers to download:
// headless Chromium saves nothing where a test could read it.
const hookDownloads = `(() => {
	window.__downloads = [];
	const blobs = new Map();
	const create = URL.createObjectURL;
	URL.createObjectURL = (b) => { const u = create.call(URL, b); blobs.set(u, b); return u; };
	const click = HTMLAnchorElement.prototype.click;
	HTMLAnchorElement.prototype.click = function () {
		if (this.download && blobs.has(this.href)) window.__downloads.push({ name: this.download, blob: blobs.get(this.href) });
		else click.call(this);
	};
	return true;
})()`

// download clicks a slot's Download and returns the file's name and
// bytes.
func download(t testing.TB, p *browsertest.Page, slot int) (string, []byte) {
	t.Helper()
	var n int
	eval(t, p, `window.__downloads.length`, &n)
	click(t, p, fmt.Sprintf(`%s [data-download="%d"]`, slotRow(slot), slot))
	waitJS(t, p, fmt.Sprintf(`window.__downloads.length > %d`, n), "no file downloaded")
	var file struct{ Name, Data string }
	eval(t, p, fmt.Sprintf(`(async () => {
		const d = window.__downloads[%d];
		const bytes = new Uint8Array(await d.blob.arrayBuffer());
		let s = '';
		for (const b of bytes) s += String.fromCharCode(b);
		return { name: d.name, data: btoa(s) };
	})()`, n), &file)
	data, err := base64.StdEncoding.DecodeString(file.Data)
	if err != nil {
		t.Fatal(err)
	}
	return file.Name, data
}

// upload clicks a slot's Upload and picks a file of these bytes, as a
// person choosing it would.
func upload(t testing.TB, p *browsertest.Page, slot int, name string, data []byte) {
	t.Helper()
	chooseFile(t, p, slot, name, fmt.Sprintf(`Uint8Array.from(atob(%q), (c) => c.charCodeAt(0))`, base64.StdEncoding.EncodeToString(data)))
}

// chooseFile clicks a slot's Upload and picks a file whose bytes the
// JavaScript expression bytes makes in the page.
func chooseFile(t testing.TB, p *browsertest.Page, slot int, name, bytes string) {
	t.Helper()
	click(t, p, fmt.Sprintf(`%s [data-upload="%d"]`, slotRow(slot), slot))
	eval(t, p, fmt.Sprintf(`(() => {
		const t = new DataTransfer();
		t.items.add(new File([%s], %q));
		const input = document.getElementById('save-file-input');
		input.files = t.files;
		input.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	})()`, bytes, name), new(bool))
}

// TestSaveFiles downloads a save as a file and uploads it into another
// slot, where it loads as it was saved; files that are damaged, of
// another game, or too large are refused with a clear message, and leave
// the slot as it was.
func TestSaveFiles(t *testing.T) {
	other := fixturetest.File(t, "Other Game.nes", testrom.ROM())
	base := serve(t, "-games", filepath.Dir(other), "-room-linger", "1m")
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	eval(t, p, hookDownloads, new(bool))

	// Another game's save, as a file (the same ROM under another name).
	startGame(t, p, "nes:Other Game.nes")
	inRoom(t, p)
	saveInSlot(t, p, 1)
	_, foreign := download(t, p, 1)
	toastSays(t, p, "Downloaded slot 1.")
	click(t, p, "#quit-btn")

	// The test ROM with the mark on, saved and downloaded.
	startGame(t, p, testGame)
	inRoom(t, p)
	flipMark(t, p, true)
	saveInSlot(t, p, 1)
	name, file := download(t, p, 1)
	toastSays(t, p, "Downloaded slot 1.")
	if !strings.HasSuffix(name, ".tcsave") || !strings.Contains(name, "slot 1") {
		t.Errorf("the file is named %q", name)
	}
	sv, err := saves.ParseFile(file)
	if err != nil || sv.Game.ID != testGame || len(sv.State) == 0 || len(sv.Thumbnail) == 0 {
		t.Fatalf("the downloaded file: %v, a save of %+v with %d bytes of state", err, sv.Game, len(sv.State))
	}

	// Into slot 3, with the mark off meanwhile: loading it brings it back.
	closeSaves(t, p)
	flipMark(t, p, false)
	openSaves(t, p)
	upload(t, p, 3, name, file)
	toastSays(t, p, "Uploaded into slot 3.")
	waitJS(t, p, fmt.Sprintf(`document.querySelector('%s .save-time').innerText !== 'Empty'`, slotRow(3)), "slot 3 is still empty")
	click(t, p, slotRow(3)+` [data-load="3"]`)
	toastMatches(t, p, `^Loaded the save of \d`)
	waitPixel(t, p, markPoint(), testrom.MarkColor(true))

	// Bad files into slot 4, which stays empty.
	for _, bad := range []struct {
		what string
		data []byte
		says string
	}{
		{"cut short", file[:len(file)-100], "That file is not a Telecart save, or it is damaged or incomplete."},
		{"another game's", foreign, "That save is of another game or emulator version, and cannot be used here."},
		{"not a save", []byte("just some text\n"), "That file is not a Telecart save, or it is damaged or incomplete."},
	} {
		upload(t, p, 4, bad.what+".tcsave", bad.data)
		toastSays(t, p, bad.says)
	}
	// Too large: refused before a byte is sent.
	chooseFile(t, p, 4, "huge.tcsave", `new Uint8Array(32 * 1024 * 1024 + 1)`)
	toastSays(t, p, "That file is too large to be a save: at most 32 MiB.")
	if got := text(t, p, slotRow(4)+" .save-time"); got != "Empty" {
		fail(t, p, "slot 4 shows %q after the bad files, want Empty", got)
	}
	// Slot 3's save keeps the moment it was made: slot 1's.
	if got := savedSlots(t, p); len(got) != 2 || !slices.Contains(got, 1) || !slices.Contains(got, 3) {
		fail(t, p, "saves %v after the uploads, want slots 1 and 3", got)
	}

	// A file that is whole, of this game and core, but whose state the
	// core refuses: it goes in, and loading it says so in words, not in
	// the core's.
	junk := sv
	junk.State = []byte(strings.Repeat("not a state ", 100))
	upload(t, p, 4, "junk.tcsave", saves.File(junk))
	toastSays(t, p, "Uploaded into slot 4.")
	waitJS(t, p, fmt.Sprintf(`document.querySelector('%s .save-time').innerText !== 'Empty'`, slotRow(4)), "slot 4 is still empty")
	click(t, p, slotRow(4)+` [data-load="4"]`)
	toastSays(t, p, "The game refused that save: it cannot be loaded here.")
}

// TestRestart: a player restarts the game from the saves panel, after a
// second question: the test ROM's mark, off at reset, is off again, and
// the room is told who did it; a spectator cannot.
func TestRestart(t *testing.T) {
	base := serve(t)
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	startGame(t, p, testGame)
	room := inRoom(t, p)
	waitColour(t, p, testrom.FillColor())
	flipMark(t, p, true)

	watcher := b.NewPage(t, base+"/r/"+room)
	inRoom(t, watcher)
	openSaves(t, watcher)
	waitJS(t, watcher, `document.getElementById('restart-btn').disabled`, "a spectator may restart the game")

	openSaves(t, p)
	click(t, p, "#restart-btn")
	waitJS(t, p, visible("#restart-confirm"), "Restart does not ask first")
	click(t, p, "#restart-no")
	waitJS(t, p, visible("#restart-btn")+` && document.getElementById('restart-confirm').hidden`, "Keep playing does not put the question away")
	waitPixel(t, p, markPoint(), testrom.MarkColor(true)) // nothing restarted

	click(t, p, "#restart-btn")
	click(t, p, "#restart-yes")
	toastSays(t, p, "You restarted the game")
	waitPixel(t, p, markPoint(), testrom.MarkColor(false))
	toastSays(t, watcher, "Player 1 restarted the game")
	waitPixel(t, watcher, markPoint(), testrom.MarkColor(false))
}

// TestVolume: the sound's mute and volume in the top bar set what the
// game's stream plays at, and are kept for the next game and page.
func TestVolume(t *testing.T) {
	base := serve(t)
	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	startGame(t, p, testGame)
	room := inRoom(t, p)
	volume := func(want string) {
		t.Helper()
		waitJS(t, p, fmt.Sprintf(`document.getElementById('video').volume === %s`, want), "the stream's volume is not "+want)
	}
	volume("1")
	click(t, p, "#mute-btn")
	volume("0")
	waitJS(t, p, `document.getElementById('mute-btn').getAttribute('aria-pressed') === 'true'`, "Mute does not show pressed")

	// Kept across a reload.
	reloadPlaying(t, p)
	if got := inRoom(t, p); got != room {
		fail(t, p, "back in room %q, want %q", got, room)
	}
	volume("0")
	click(t, p, "#mute-btn")
	volume("1")

	// The slider: moving it sets the volume.
	eval(t, p, `(() => { const v = document.getElementById('volume'); v.value = '35'; v.dispatchEvent(new Event('input')); return true; })()`, new(bool))
	volume("0.35")
	waitJS(t, p, `localStorage.getItem('telecart.volume') === '0.35'`, "the volume is not kept")
}

// TestStatsOverlay: F3 shows what the stream does, with figures a player
// can believe: the game's frame rate, a bitrate, a round trip; F3 again
// hides it.
func TestStatsOverlay(t *testing.T) {
	base := serve(t)
	p := browsertest.Start(t).NewPage(t, base+"/")
	startGame(t, p, testGame)
	inRoom(t, p)
	waitColour(t, p, testrom.FillColor())
	press(t, p, "F3")
	waitJS(t, p, visible("#stats"), "F3 shows no stats")
	figure := func(label string) string {
		return fmt.Sprintf(`(() => { const row = [...document.querySelectorAll('#stats-lines > div')].find(r => r.querySelector('dt').textContent === %q);
			return row ? parseFloat(row.querySelector('dd').textContent) : NaN; })()`, label)
	}
	// The game makes 60 frames a second; a busy machine shows fewer, never many more.
	waitJS(t, p, figure("Frames")+` > 0 && `+figure("Frames")+` < 75`, "no plausible frame rate")
	waitJS(t, p, figure("Video")+` > 0 && `+figure("Round trip")+` >= 0`, "no bitrate or round trip")
	press(t, p, "F3")
	waitJS(t, p, `document.getElementById('stats').hidden`, "F3 again does not hide the stats")
}

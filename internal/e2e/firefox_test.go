package e2e

import (
	"fmt"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// The tests of this file play in Firefox ESR, driven over WebDriver BiDi
// (browsertest.StartFirefox), beside Chromium: the app must work in both
// engines, whose WebRTC stacks, decoders and autoplay rules differ.

// TestFirefoxPlays: a game starts in Firefox, its frames and sound
// arrive in each codec the server offers, A changes the picture and
// back, and Quit goes back to the list.
func TestFirefoxPlays(t *testing.T) {
	b := browsertest.StartFirefox(t)
	for _, codec := range []string{"vp8", "h264"} {
		t.Run(codec, func(t *testing.T) {
			base := serve(t, "-codec", codec)
			if codec == "h264" && !receivesH264(t, b) {
				// Firefox without its OpenH264 plugin: told in words, at once.
				p := b.NewPage(t, base+"/")
				startGame(t, p, testGame)
				waitJS(t, p, `window.telecart.state === 'failed'
					&& document.getElementById('view-message').innerText.includes('cannot play the game’s video (H264)')`,
					"an H.264 server in a Firefox without H.264 does not say why it cannot play")
				return
			}
			p := openTestROM(t, b, base)
			playsAndAnswers(t, p)
			got := stats(t, p)
			if want := "video/" + map[string]string{"vp8": "VP8", "h264": "H264"}[codec]; got["video"].Codec != want {
				fail(t, p, "video codec %q, want %q", got["video"].Codec, want)
			}
			waittest.Eventually(t, "the game's sound arriving", func() error {
				if n := stats(t, p)["audio"].Packets; n == 0 {
					return fmt.Errorf("%d audio packets", n)
				}
				return nil
			})
			t.Logf("%s: %d frames decoded, %d audio packets", got["video"].Codec, got["video"].Frames, got["audio"].Packets)
			// Quit goes back to the list.
			click(t, p, "#quit-btn")
			waitJS(t, p, `window.telecart.state === 'list' && !document.getElementById('view-list').hidden`, "quit did not go back to the list")
		})
	}
}

// receivesH264 says whether b's Firefox can receive H.264. Firefox has no
// H.264 of its own in WebRTC: it downloads Cisco's OpenH264 plugin at its
// first start, which the tests' namespace cannot reach, and Debian
// packages no such plugin. Without it, an H.264-only server cannot play
// in it, and the page says so.
func receivesH264(t *testing.T, b *browsertest.Browser) bool {
	t.Helper()
	p := b.NewPage(t, "about:blank")
	var has bool
	eval(t, p, `RTCRtpReceiver.getCapabilities('video').codecs.some(c => c.mimeType === 'video/H264')`, &has)
	return has
}

// TestFirefoxSharedRoom: Chromium and Firefox in one room, each in turn
// the one who starts it and the one who joins by its link and takes
// controller 2. Each one's press changes the picture both see.
func TestFirefoxSharedRoom(t *testing.T) {
	base := serve(t)
	chromium := browsertest.Start(t)
	firefox := browsertest.StartFirefox(t)
	t.Run("chromium starts", func(t *testing.T) { sharedRoom(t, base, chromium, firefox) })
	t.Run("firefox starts", func(t *testing.T) { sharedRoom(t, base, firefox, chromium) })
}

// sharedRoom: a page of starter starts the test ROM, a page of joiner
// joins by the room's link and takes controller 2; each one's A shows
// on both screens.
func sharedRoom(t *testing.T, base string, starter, joiner *browsertest.Browser) {
	host := starter.NewPage(t, base+"/")
	startGame(t, host, testGame)
	room := inRoom(t, host)
	waitColour(t, host, testrom.FillColor())

	guest := joiner.NewPage(t, base+"/r/"+room)
	if got := inRoom(t, guest); got != room {
		fail(t, guest, "the %s page joined room %q, want %q", joiner.Kind(), got, room)
	}
	waitColour(t, guest, testrom.FillColor())
	openPanel(t, guest)
	click(t, guest, `#slots [data-seat="2"]`)
	waitSlot(t, guest, 2)
	click(t, guest, "#room-panel-close")

	// The guest's A lights player 2's A box, on both screens, and goes
	// out with the release.
	if err := guest.KeyDown("KeyX"); err != nil {
		fail(t, guest, "%v", err)
	}
	for _, p := range []*browsertest.Page{guest, host} {
		waitPixel(t, p, centre(testrom.P2Box(testrom.A)), testrom.P2Color(true))
	}
	if err := guest.KeyUp("KeyX"); err != nil {
		fail(t, guest, "%v", err)
	}
	for _, p := range []*browsertest.Page{guest, host} {
		waitPixel(t, p, centre(testrom.P2Box(testrom.A)), testrom.P2Color(false))
	}

	// The host's A turns player 1's fill on both screens, and back.
	if err := host.KeyDown("KeyX"); err != nil {
		fail(t, host, "%v", err)
	}
	for _, p := range []*browsertest.Page{host, guest} {
		waitColour(t, p, testrom.FillColor(testrom.A))
	}
	if err := host.KeyUp("KeyX"); err != nil {
		fail(t, host, "%v", err)
	}
	for _, p := range []*browsertest.Page{host, guest} {
		waitColour(t, p, testrom.FillColor())
	}
}

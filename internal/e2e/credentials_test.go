package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/gobrowsertest"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/testrom"
	"github.com/telecart/telecart/internal/waittest"
)

// TestWorkerCredentialRotation rotates the workers' secret as README's
// procedure says, while a game plays in a Go browser: the coordinator
// restarts with the new secret added (the worker dials it again with its
// old credential, still good); the worker's credential file gets one of
// the new secret; the coordinator restarts with the new secret alone, and
// the worker, unrestarted, dials it with the new credential, which it
// reads at every dial. The frames never stop: they keep coming through
// both restarts and while there is no coordinator, in the same room,
// whose buttons work at the end; and the old credential is refused.
func TestWorkerCredentialRotation(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const oldSecret, newSecret = "telecart-e2e-old-secret", "telecart-e2e-new-secret"
	base, stop := startCoordinator(t, addr, oldSecret)
	token := tokenFile(t, oldSecret, "w")
	runCLI(t, "worker", "-coordinator", "ws://"+addr+"/worker", "-id", "w", "-token-file", token,
		"-ice-loopback", "-games", "", "-saves", t.TempDir())
	waitWorkers(t, base, 1)

	player := gobrowsertest.Dial(t, base)
	player.WaitGames()
	started := player.Play(signal.Start{Game: testGame})
	dec := gobrowsertest.Decoder(t)
	player.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor())
	restart := func(what string, secrets ...string) {
		t.Helper()
		stop()
		framesGoOn(t, player, what+": no coordinator")
		base, stop = startCoordinator(t, addr, secrets...)
		// The worker is back, with its running room: its credential was
		// taken.
		waittest.Eventually(t, what+": the worker and its room registered again", func() error {
			if h := health(t, base); h.Workers != 1 || h.Rooms != 1 {
				return fmt.Errorf("the coordinator counts %+v", h)
			}
			return nil
		})
		framesGoOn(t, player, what+": the worker back")
	}

	restart("the new secret added", newSecret, oldSecret)
	writeToken(t, token, newSecret, "w")
	restart("the old secret removed", newSecret)

	// The old credential opens nothing any more.
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+addr+"/worker", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + credential(t, oldSecret, "w")}},
	})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old credential after the rotation: %v, want 401", err)
	}

	// The same session, in the same room, resumed on the new coordinator:
	// it takes a slot, and its buttons work.
	player.Reconnect(base)
	player.WaitGames()
	player.Send(signal.Resume{Room: started.Room, Token: started.Resume})
	player.Send(signal.Seat{Slot: 1})
	player.WaitRoom("back in its room, on slot 1", func(s signal.RoomState) bool {
		for _, m := range s.Members {
			if m.ID == s.You {
				return s.ID == started.Room && m.Slot == 1
			}
		}
		return false
	})
	<-player.Input
	player.Press(t, testrom.B.Joypad())
	player.WaitColour(t, dec, testrom.FillPoint(), testrom.FillColor(testrom.B))
	if h := health(t, base); h.Rooms != 1 || !strings.Contains(healthz(t, base), `"workers":1`) {
		t.Errorf("after the rotation the coordinator counts %+v, want the one worker and its one room", h)
	}
}

// framesGoOn waits for a second's worth of frames more than p has had.
func framesGoOn(t *testing.T, p *gobrowsertest.Browser, what string) {
	t.Helper()
	from := p.FrameCount()
	waittest.Eventually(t, what+": 60 frames more", func() error {
		if n := p.FrameCount() - from; n < 60 {
			return fmt.Errorf("%d frames more", n)
		}
		return nil
	})
}

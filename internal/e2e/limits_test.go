package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/browsertest"
	"github.com/telecart/telecart/internal/waittest"
)

// TestLimitShown: a page over a limit says so in the server's words. With
// one page allowed per address, and a socket already open from it, a
// page's socket is refused: it shows why and counts down to its next try,
// instead of "Can't reach the server", and connects once the other socket
// has gone.
func TestLimitShown(t *testing.T) {
	config := filepath.Join(t.TempDir(), "telecart.json")
	if err := os.WriteFile(config, []byte(`{"limits": {"sockets": 1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := serve(t, "-config", config)
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	other, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.CloseNow()
	if _, _, err := other.Read(ctx); err != nil { // its hello: it counts
		t.Fatal(err)
	}

	b := browsertest.Start(t)
	p := b.NewPage(t, base+"/")
	waitJS(t, p, `window.telecart.state === 'unreachable' && document.getElementById('view-message').dataset.kind === 'limited'
		&& document.getElementById('message-note').textContent.startsWith('Trying again in')`, "the page does not say it was refused")
	if got := text(t, p, "#message-text"); !strings.HasPrefix(got, "Too many Telecart pages are open from your network.") {
		fail(t, p, "the refused page says %q", got)
	}
	if got := text(t, p, "#message-title"); got != "Not right now" {
		fail(t, p, "the refused page's title is %q", got)
	}

	other.Close(websocket.StatusNormalClosure, "")
	waitJS(t, p, `window.telecart.state === 'list'`, "the page did not connect once the other socket had gone")
}

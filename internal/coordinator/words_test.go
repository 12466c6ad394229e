package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
)

// TestWords: every error a browser may hear of becomes a sentence for
// people, however it is wrapped; an error without one becomes a generic
// sentence, its details in the log and never in the message.
func TestWords(t *testing.T) {
	const secret = "dial tcp 10.1.2.3:4000: connection refused"
	tests := []struct {
		err      error
		code     string
		sentence string
	}{
		{errAllBusy, signal.CodeNoWorker, "Every server that has this game is full; try again in a moment."},
		{errUnknownGame, signal.CodeUnknownGame, "No server has this game."},
		{errNoSuchWorker, signal.CodeNoWorker, "That server is not there any more; choose another."},
		{fmt.Errorf("%w: %w", errWorkerUnreachable, errors.New(secret)), signal.CodeNoWorker, "The server went away; try again."},
		{errWorkerLost, signal.CodeNoWorker, "The server running your game went away."},
		{errRoomEnded, signal.CodeRoomEnded, "This room has ended."},
		{errNoRoom, signal.CodeNoRoom, "There is no room at this link: check that it was copied whole. A room long over is forgotten, too."},
		{fmt.Errorf("%w: %w", errBadMessage, errors.New(`data: unknown field "x"`)), signal.CodeBadRequest, "The page sent something the server could not read; reload the page."},
		{errInRoom, signal.CodeBadRequest, "You are in a room already; quit it first."},
		{errNotInRoom, signal.CodeBadRequest, "You are not in a room."},
		{fmt.Errorf("%w: %s", errNotForBrowsers, signal.TypeHeartbeat), signal.CodeBadRequest, "The page sent a message meant for someone else; reload the page."},
		{errors.New(secret), signal.CodeInternal, "Something went wrong on the server; try again."},
		{fmt.Errorf("pick: %w", errors.New(secret)), signal.CodeInternal, "Something went wrong on the server; try again."},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			var log bytes.Buffer
			c, err := New(Config{Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			code, sentence := c.words(tt.err)
			if code != tt.code || sentence != tt.sentence {
				t.Errorf("words = %q, %q; want %q, %q", code, sentence, tt.code, tt.sentence)
			}
			if strings.Contains(sentence, "coordinator:") || strings.Contains(sentence, "10.1.2.3") {
				t.Errorf("the sentence %q has an error's text", sentence)
			}
			if unknown := tt.code == signal.CodeInternal; unknown != strings.Contains(log.String(), secret) {
				t.Errorf("an error without words should be logged, and only such a one; log: %q", log.String())
			}
		})
	}
}

// TestBadMessageWords: a browser's bad message is answered with a
// sentence, not with what the decoder made of it.
func TestBadMessageWords(t *testing.T) {
	_, srv := serve(t, Config{})
	browser := dial(t, srv, "/ws", nil)
	if err := browser.Write(context.Background(), websocket.MessageText, []byte(`{"v":1,"type":"start","data":{"bogus_field":1}}`)); err != nil {
		t.Fatal(err)
	}
	readUntil(t, browser, "the answer to a bad message", func(p signal.Payload) bool {
		e, ok := p.(signal.Error)
		if ok && (e.Code != signal.CodeBadRequest || strings.Contains(e.Message, "bogus_field")) {
			t.Fatalf("a bad message was answered %+v", e)
		}
		return ok
	})
}

// TestLimitWords: each limit's refusal has its sentence, with the code
// the page waits on; a refused socket's is also its close reason, which
// a WebSocket close frame bounds to 123 bytes.
func TestLimitWords(t *testing.T) {
	c, err := New(Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := map[string]bool{}
	for _, e := range allLimits {
		code, sentence := c.words(fmt.Errorf("pick: %w", e))
		if code != signal.CodeTooMany || sentence == somethingWrong || seen[sentence] {
			t.Errorf("%s: %q %q, want %s and words of its own", e, code, sentence, signal.CodeTooMany)
		}
		seen[sentence] = true
		if len(sentence) > 123 {
			t.Errorf("%s: %d bytes, too long for a close reason: %q", e, len(sentence), sentence)
		}
	}
}

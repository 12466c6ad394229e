package coordinator

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
	"github.com/telecart/telecart/internal/workerauth"
)

// dialStatus dials /worker with header and returns the HTTP status of a
// refusal, or 101 and the socket.
func dialStatus(t *testing.T, url string, header http.Header) (int, *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/worker", &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode, nil
	}
	t.Cleanup(func() { ws.CloseNow() })
	return http.StatusSwitchingProtocols, ws
}

// TestWorkerCredentials: a worker is let in with a credential one of the
// coordinator's secrets made (the old or the new, during a rotation), and
// refused, before its socket opens, with one made with another secret, a
// forged one, the secret itself, or none.
func TestWorkerCredentials(t *testing.T) {
	const newSecret = "coordinator-new-secret"
	_, srv := serve(t, Config{Secrets: []string{newSecret, testSecret}})
	cred := func(secret string, id signal.WorkerID) string {
		c, err := workerauth.Credential(secret, id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := cred(testSecret, "a")
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"the old secret's", "Bearer " + a, http.StatusSwitchingProtocols},
		{"the new secret's", "Bearer " + cred(newSecret, "b"), http.StatusSwitchingProtocols},
		{"another secret's", "Bearer " + cred("another-coordinators-secret", "c"), http.StatusUnauthorized},
		{"a's MAC under d's name", "Bearer d" + a[1:], http.StatusUnauthorized},
		{"the secret itself", "Bearer " + testSecret, http.StatusUnauthorized},
		{"no bearer", a, http.StatusUnauthorized},
		{"none", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		if got, _ := dialStatus(t, srv.URL, http.Header{"Authorization": {tt.header}}); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestWorkerCannotImpersonate: worker a, with its own valid credential,
// registers as b, which runs a room: the coordinator ends a's link saying
// why, and b keeps its link and its room, whose joins still reach it.
// Without the check, a's link would replace b's and take its room and its
// players.
func TestWorkerCannotImpersonate(t *testing.T) {
	_, srv := serve(t, Config{Secrets: []string{testSecret}})
	game := signal.GameInfo{ID: "g", System: "nes"}
	b := dial(t, srv, "/worker", workerAuth(t, "b"))
	send(t, b, signal.Register{ID: "b", Capacity: 2, Games: []signal.GameInfo{game}, Rooms: []signal.Listing{{ID: "ROOMB123", Game: game, Players: 1}}})
	browser := dial(t, srv, "/ws", nil)
	waitHello(t, browser, "b joins", func(h signal.Hello) bool { return len(h.Workers) == 1 })

	a := dial(t, srv, "/worker", workerAuth(t, "a"))
	send(t, a, signal.Register{ID: "b", Capacity: 2, Games: []signal.GameInfo{game}})
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	var closed websocket.CloseError
	for {
		_, _, err := a.Read(ctx)
		if errors.As(err, &closed) {
			break
		}
		if err != nil {
			t.Fatalf("a's link, registering as b: %v; want it closed with a reason", err)
		}
	}
	if closed.Code != websocket.StatusPolicyViolation || !strings.Contains(closed.Reason, "credential is for worker a, not b") {
		t.Errorf("a's link closed with %d %q, want policy violation naming both ids", closed.Code, closed.Reason)
	}

	sendAs(t, browser, "ref", signal.Join{Room: "ROOMB123"})
	readUntil(t, b, "a join of b's room reaching b's own link", func(p signal.Payload) bool { _, ok := p.(signal.Join); return ok })
}

// TestDrainNeedsTheSecret: the operator's drain takes one of the
// coordinator's secrets, not a worker's credential; a refusal comes at
// once, also to a request that announces a body and never sends it
// (net/http would wait for that body before answering, to keep the
// connection).
func TestDrainNeedsTheSecret(t *testing.T) {
	_, srv := serve(t, Config{Secrets: []string{testSecret, "coordinator-old-secret"}})
	w := dial(t, srv, "/worker", workerAuth(t, "w"))
	send(t, w, signal.Register{ID: "w", Capacity: 1})
	browser := dial(t, srv, "/ws", nil)
	waitHello(t, browser, "w joins", func(h signal.Hello) bool { return len(h.Workers) == 1 })
	drain := func(id, auth string) int {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/admin/workers/"+id+"/drain", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name, id, auth string
		want           int
	}{
		{"no secret", "w", "", http.StatusUnauthorized},
		{"a worker's credential", "w", workerAuth(t, "w").Get("Authorization"), http.StatusUnauthorized},
		{"a wrong secret", "w", "Bearer coordinator-guessed-secret", http.StatusUnauthorized},
		{"no such worker", "x", "Bearer " + testSecret, http.StatusNotFound},
		{"the old secret", "w", "Bearer coordinator-old-secret", http.StatusAccepted},
		{"the secret", "w", "Bearer " + testSecret, http.StatusAccepted},
	}
	for _, tt := range tests {
		if got := drain(tt.id, tt.auth); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	readUntil(t, w, "the drain reaching the worker", func(p signal.Payload) bool { _, ok := p.(signal.Drain); return ok })

	// A body announced and never sent: the 401 comes all the same. The
	// test's server has no timeouts at all, so a server that waited for
	// the body would never answer.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /admin/workers/w/drain HTTP/1.1\r\nHost: telecart\r\nContent-Length: 1000\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		got <- answer{resp, err}
	}()
	select {
	case a := <-got:
		if a.err != nil || a.resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a drain whose body never comes: %v %v, want 401", a.resp, a.err)
		}
	case <-time.After(waittest.Limit):
		t.Fatalf("no answer in %v to a drain whose body never comes", waittest.Limit)
	}
}

package cluster_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/cluster"
	"github.com/telecart/telecart/internal/signal"
)

func open(t *testing.T) *cluster.Cluster {
	t.Helper()
	c, err := cluster.Open(t.Context(), cluster.Config{Name: t.Name(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestEmbedded: a coordinator on its own has a NATS of its own, which
// carries a worker's longest message and keeps buckets.
func TestEmbedded(t *testing.T) {
	c := open(t)
	sub, err := c.Conn().SubscribeSync(cluster.WorkerSubject("eu 1.a*>"))
	if err != nil {
		t.Fatal(err)
	}
	long := []byte(strings.Repeat("x", signal.MaxMessage))
	if err := c.Conn().Publish(cluster.WorkerSubject("eu 1.a*>"), long); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Data) != len(long) {
		t.Fatalf("got %d bytes, want %d", len(m.Data), len(long))
	}

	kv, err := c.Bucket(t.Context(), "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), cluster.Token("room 1"), []byte("on eu-1")); err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(t.Context(), cluster.Token("room 1"))
	if err != nil || string(e.Value()) != "on eu-1" {
		t.Fatalf("got %v, %v; want on eu-1", e, err)
	}
}

func TestToken(t *testing.T) {
	for _, id := range []string{"eu-1", "a.b", "with space", "*", ">", "ünï", ""} {
		tok := cluster.Token(id)
		if strings.ContainsAny(tok, ".*> \t") {
			t.Errorf("Token(%q) = %q: not one subject token", id, tok)
		}
		back, err := cluster.FromToken[string](tok)
		if err != nil || back != id {
			t.Errorf("FromToken(Token(%q)) = %q, %v", id, back, err)
		}
	}
	if _, err := cluster.FromToken[string]("not base64!"); err == nil {
		t.Error("a token that is no base64 was taken")
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := cluster.Open(ctx, cluster.Config{URLs: []string{"nats://user:secret@127.0.0.1:1"}, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Fatal("joined a cluster at a closed port")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
}

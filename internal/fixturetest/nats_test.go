package fixturetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/waittest"
)

// kv connects to one NATS server and opens (creating it with replicas
// replicas if needed) the key-value bucket the tests share.
func kv(t *testing.T, url string, replicas int) jetstream.KeyValue {
	t.Helper()
	// Only this server: a test that reads through node 2 must not be
	// answered by node 0.
	nc, err := nats.Connect(url, nats.DontRandomize(), nats.NoReconnect())
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var b jetstream.KeyValue
	waittest.Eventually(t, "the bucket through "+url, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
		defer cancel()
		b, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "rooms", Replicas: replicas})
		return err
	})
	return b
}

// requestTimeout bounds one JetStream request: one sent while its group
// has no leader (a node was just killed) is never answered, and is sent
// again.
const requestTimeout = 2 * time.Second

// put writes key through b, retrying while the cluster elects a new
// leader for the bucket (a node was just killed): a client of a real
// cluster retries too, and the test asserts that the write lands.
func put(t *testing.T, b jetstream.KeyValue, key, value string) {
	t.Helper()
	waittest.Eventually(t, "writing "+key, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
		defer cancel()
		_, err := b.PutString(ctx, key, value)
		return err
	})
}

// get reads key through b, waiting for a replica that is catching up.
func get(t *testing.T, b jetstream.KeyValue, key, want string) {
	t.Helper()
	waittest.Eventually(t, "reading "+key, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
		defer cancel()
		e, err := b.Get(ctx, key)
		if err != nil {
			return err
		}
		if got := string(e.Value()); got != want {
			return fmt.Errorf("%s = %q, want %q", key, got, want)
		}
		return nil
	})
}

func TestNATSCluster(t *testing.T) {
	c := fixturetest.NATSCluster(t, 3)
	if urls := c.URLs(); len(urls) != 3 || urls[1] != c.URL(1) {
		t.Fatalf("URLs() = %v, URL(1) = %s", urls, c.URL(1))
	}
	// Made at once, with 3 replicas: NATSCluster returned only once
	// the cluster could place them.
	via0 := kv(t, c.URL(0), 3)
	put(t, via0, "room.a", "worker-1")
	via2 := kv(t, c.URL(2), 3)
	get(t, via2, "room.a", "worker-1")

	c.Kill(1)
	put(t, via0, "room.b", "worker-2")
	get(t, via2, "room.b", "worker-2")

	c.Restart(1)
	via1 := kv(t, c.URL(1), 3)
	get(t, via1, "room.a", "worker-1")
	get(t, via1, "room.b", "worker-2") // written while it was down
}

func TestNATSStandalone(t *testing.T) {
	c := fixturetest.NATSCluster(t, 1)
	b := kv(t, c.URL(0), 1)
	put(t, b, "room.a", "worker-1")
	c.Kill(0)
	c.Restart(0)
	// JetStream's file store keeps what was written across the crash.
	get(t, kv(t, c.URL(0), 1), "room.a", "worker-1")
}

// The cluster's nodes are real processes: once the test ends nothing
// listens on their ports.
func TestNATSStopped(t *testing.T) {
	var url string
	t.Run("cluster", func(t *testing.T) {
		url = fixturetest.NATSCluster(t, 1).URL(0)
	})
	if url == "" {
		t.Skip("the cluster was not started")
	}
	if nc, err := nats.Connect(url, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatalf("%s still serves after its test", url)
	}
}

// Killing the meta leader is the longest failover: the others elect
// another, and WaitReady waits for it.
func TestNATSMetaLeaderKilled(t *testing.T) {
	c := fixturetest.NATSCluster(t, 3)
	leader := c.MetaLeader()
	other := (leader + 1) % 3
	b := kv(t, c.URL(other), 3)
	put(t, b, "room.a", "worker-1")
	c.Kill(leader)
	c.WaitReady()
	if next := c.MetaLeader(); next == leader {
		t.Fatalf("node %d, killed, still leads", leader)
	}
	put(t, b, "room.a", "worker-2")
	get(t, kv(t, c.URL((leader+2)%3), 3), "room.a", "worker-2")
}

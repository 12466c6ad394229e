// Package cluster is what coordinators share: one NATS connection, over
// which a worker's link held by one coordinator is reached from any other,
// and a browser's session from the coordinator that holds its worker; and
// the JetStream key-value buckets in which their state is kept. A
// coordinator on its own (the embedded default) runs the same code over a
// NATS server inside its process that listens on no port.
package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/telecart/telecart/internal/signal"
)

// MaxPayload is the largest message the embedded server carries: a
// signalling message (signal.MaxMessage) with its envelope. A cluster's
// servers need max_payload at least this large (deploy/kubernetes sets
// it), or a worker's long game list cannot travel.
const MaxPayload = 2 * signal.MaxMessage

// Config says which NATS to use.
type Config struct {
	// URLs are a NATS cluster's servers (JetStream on); none starts a
	// server inside the process, listening on no port.
	URLs []string
	// Name names the connection in the servers' monitoring (the
	// coordinator's id).
	Name   string
	Logger *slog.Logger
}

// Cluster is a coordinator's connection to the others.
type Cluster struct {
	conn *nats.Conn
	js   jetstream.JetStream
	log  *slog.Logger
	// server and storeDir are the embedded server's, nil and "" when
	// joining a cluster.
	server   *server.Server
	storeDir string
	// replicas is how many copies a bucket keeps: 1 on one server, 3 in
	// a cluster of three or more.
	replicas int
}

// Open connects to cfg's cluster, or starts the embedded server.
func Open(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Cluster{log: cfg.Logger, replicas: 1}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		// A coordinator outlives any one NATS server: it keeps dialling
		// the others, and its subscriptions come back with it.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				c.log.Warn("cluster: lost its NATS server; dialling another", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.log.Info("cluster: NATS server reached", "server", nc.ConnectedUrlRedacted())
		}),
	}
	url := strings.Join(cfg.URLs, ",")
	if len(cfg.URLs) == 0 {
		if err := c.startEmbedded(); err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(c.server))
	} else {
		opts = append(opts, nats.RetryOnFailedConnect(false))
	}
	conn, err := nats.Connect(url, opts...)
	if err != nil {
		c.stopEmbedded()
		return nil, fmt.Errorf("cluster: connect to NATS %s: %w", redact(cfg.URLs), err)
	}
	c.conn = conn
	// The connection makes the one subscription every request's answer
	// comes on (and its goroutine) at its first request: made now, it is
	// part of the coordinator at rest, not something its first game left.
	if _, err := conn.Request("telecart.nobody", nil, time.Second); err != nil && !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrTimeout) {
		c.Close()
		return nil, fmt.Errorf("cluster: NATS %s: %w", redact(cfg.URLs), err)
	}
	if c.js, err = jetstream.New(conn); err != nil {
		c.Close()
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	if len(cfg.URLs) > 0 && len(conn.Servers()) >= 3 {
		c.replicas = 3
	}
	return c, nil
}

// startEmbedded starts the server of a coordinator on its own: in its
// process, listening on no port, with JetStream in memory.
func (c *Cluster) startEmbedded() error {
	dir, err := os.MkdirTemp("", "telecart-nats-")
	if err != nil {
		return fmt.Errorf("cluster: embedded NATS: %w", err)
	}
	s, err := server.NewServer(&server.Options{
		ServerName: "telecart",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: MaxPayload,
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("cluster: embedded NATS: %w", err)
	}
	c.server, c.storeDir = s, dir
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		c.stopEmbedded()
		return errors.New("cluster: embedded NATS did not start")
	}
	return nil
}

func (c *Cluster) stopEmbedded() {
	if c.server == nil {
		return
	}
	c.server.Shutdown()
	c.server.WaitForShutdown()
	os.RemoveAll(c.storeDir)
	c.server = nil
}

// Conn is the connection, for subjects' publishers and subscribers.
func (c *Cluster) Conn() *nats.Conn { return c.conn }

// Close closes the connection, and stops the embedded server.
func (c *Cluster) Close() error {
	if c.conn != nil {
		c.conn.Close()
	}
	c.stopEmbedded()
	return nil
}

// Bucket opens the key-value bucket name, making it if it is new. A key
// not written for ttl is gone (0: kept until deleted). While a NATS
// server that led JetStream is being replaced (seconds), its requests go
// unanswered: each try has a short deadline of its own, until ctx ends.
func (c *Cluster) Bucket(ctx context.Context, name string, ttl time.Duration) (jetstream.KeyValue, error) {
	// A value is at most a signalling message (a worker's games), and
	// with its headers within a message.
	cfg := jetstream.KeyValueConfig{Bucket: name, TTL: ttl, Replicas: c.replicas, MaxValueSize: MaxPayload * 3 / 4}
	if c.server != nil {
		cfg.Storage = jetstream.MemoryStorage
	}
	for {
		try, cancel := context.WithTimeout(ctx, jetstreamTry)
		kv, err := c.js.KeyValue(try, name)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = c.js.CreateKeyValue(try, cfg)
		}
		cancel()
		if err == nil {
			return kv, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("cluster: bucket %s: %w", name, err)
		}
		c.log.Warn("cluster: open a bucket; trying again", "bucket", name, "err", err)
	}
}

// jetstreamTry bounds one JetStream request: a leader that died never
// answers, and the next try reaches its successor.
const jetstreamTry = 2 * time.Second

// Token is id as one token of a subject or a key: an id may hold any
// character but the ones NATS reserves.
func Token[ID ~string](id ID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// FromToken is the id a Token was made from.
func FromToken[ID ~string](token string) (ID, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("cluster: token %q: %w", token, err)
	}
	return ID(b), nil
}

// WorkerSubject carries messages to a worker, from any coordinator, to
// the one that holds its link.
func WorkerSubject(id signal.WorkerID) string { return "telecart.worker." + Token(id) }

// SessionSubject carries a worker's messages for one of its sessions, to
// the coordinator that holds its browser (or its connectivity check, or
// its picture request).
func SessionSubject(id signal.SessionID) string { return "telecart.session." + Token(id) }

// redact leaves the passwords out of URLs for a message.
func redact(urls []string) string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
				u = u[:scheme+3] + "***" + u[at:]
			}
		}
		out[i] = u
	}
	return strings.Join(out, ",")
}

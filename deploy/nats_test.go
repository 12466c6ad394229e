package deploy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// TestNATSClusterRuns runs three servers of nats.conf, as the StatefulSet
// does, on loopback: their addresses, ports and folders are the test's
// (the routes name the three servers' ports on loopback rather than the
// pods' names), everything else is the file's. The probes' URLs answer 200 on every
// server once its JetStream is current, a key-value bucket of three
// copies (as the coordinators keep their state) works, and a message as
// large as the coordinators' largest goes through.
func TestNATSClusterRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three NATS servers")
	}
	sts := find[*appsv1.StatefulSet](readManifests(t), "nats")
	if sts == nil || len(sts.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("no StatefulSet nats of one container")
	}
	c := sts.Spec.Template.Spec.Containers[0]
	// The probes' paths (TestNATS checks that there are three).
	var probes []string
	for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
		if p != nil && p.HTTPGet != nil {
			probes = append(probes, p.HTTPGet.Path)
		}
	}
	replicas := int(ptrOr(sts.Spec.Replicas, 1))
	// A JetStream cluster wants its routes before it starts: each server's
	// cluster port is picked first, free a moment ago.
	var routes []*url.URL
	for range replicas {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, &url.URL{Scheme: "nats", Host: ln.Addr().String()})
		ln.Close()
	}
	var servers []*server.Server
	for i := range replicas {
		t.Setenv("POD_NAME", fmt.Sprintf("%s-%d", sts.Name, i)) // read as the file is
		opts, err := server.ProcessConfigFile(filepath.Join(kubeDir, "nats.conf"))
		if err != nil {
			t.Fatal(err)
		}
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
		opts.HTTPHost, opts.HTTPPort = "127.0.0.1", server.RANDOM_PORT
		opts.Cluster.Host = "127.0.0.1"
		if opts.Cluster.Port, err = strconv.Atoi(routes[i].Port()); err != nil {
			t.Fatal(err)
		}
		opts.Routes = routes
		opts.StoreDir = t.TempDir()
		opts.PidFile = filepath.Join(t.TempDir(), "nats.pid")
		opts.NoSigs, opts.NoLog = true, true
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		go s.Start()
		t.Cleanup(func() {
			s.Shutdown()
			s.WaitForShutdown()
		})
		servers = append(servers, s)
	}
	for i, s := range servers {
		if !s.ReadyForConnections(waittest.Limit) {
			t.Fatalf("server %d is not ready for connections", i)
		}
	}
	for i, s := range servers {
		for _, p := range probes {
			u := fmt.Sprintf("http://%s%s", s.MonitorAddr(), p)
			waittest.Eventually(t, fmt.Sprintf("server %d's %s", i, p), func() error {
				resp, err := http.Get(u)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("%s", resp.Status)
				}
				return nil
			})
		}
	}
	// A client, as a coordinator: every server by its URL.
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.ClientURL())
	}
	nc, err := nats.Connect(strings.Join(urls, ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	var kv jetstream.KeyValue
	// The meta leader is elected a moment after the servers are current.
	waittest.Eventually(t, "a key-value bucket of three copies", func() error {
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "test", Replicas: replicas, TTL: time.Minute})
		return err
	})
	// And the bucket's own leader a moment after it is made.
	waittest.Eventually(t, "a key put in the bucket", func() error {
		_, err := kv.Put(ctx, "worker.a", []byte("registered"))
		return err
	})
	if e, err := kv.Get(ctx, "worker.a"); err != nil || string(e.Value()) != "registered" {
		t.Fatalf("the bucket gave %v (%v)", e, err)
	}
	// The coordinators' largest message, with room for its envelope.
	big := make([]byte, signal.MaxMessage+1024)
	sub, err := nc.SubscribeSync("big")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("big", big); err != nil {
		t.Fatalf("a message of %d bytes: %v", len(big), err)
	}
	if m, err := sub.NextMsg(waittest.Limit); err != nil || len(m.Data) != len(big) {
		t.Fatalf("a message of %d bytes: got %v", len(big), err)
	}
}

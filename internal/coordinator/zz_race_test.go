package coordinator_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/telecart/telecart/internal/fixturetest"
)

func TestZZInterestRace(t *testing.T) {
	cl := fixturetest.NATSCluster(t, 3)
	a, err := nats.Connect(cl.URL(1))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	bconn, err := nats.Connect(cl.URL(2))
	if err != nil {
		t.Fatal(err)
	}
	defer bconn.Close()
	// B holds "worker": on a request, it answers on the session subject named in the data.
	_, err = bconn.Subscribe("worker", func(m *nats.Msg) {
		_ = m.Respond(nil)
		_ = bconn.Publish(string(m.Data), []byte("offer"))
	})
	if err != nil {
		t.Fatal(err)
	}
	bconn.Flush()
	time.Sleep(200 * time.Millisecond)
	var lost atomic.Int64
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Go(func() {
			for i := range 40 {
				subj := fmt.Sprintf("session.%d.%d", g, i)
				got := make(chan struct{}, 1)
				sub, err := a.Subscribe(subj, func(*nats.Msg) { got <- struct{}{} })
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := a.Request("worker", []byte(subj), 5*time.Second); err != nil {
					t.Error(err)
				}
				select {
				case <-got:
				case <-time.After(3 * time.Second):
					lost.Add(1)
				}
				sub.Unsubscribe()
			}
		})
	}
	wg.Wait()
	t.Logf("lost %d of 2000", lost.Load())
}

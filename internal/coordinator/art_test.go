package coordinator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/waittest"
)

// artWorker answers a coordinator's picture requests as a worker does:
// the game "held" is answered only once release is closed.
type artWorker struct {
	mu       sync.Mutex
	asked    map[string]int
	pictures map[string]signal.Art
	release  chan struct{}
}

func (a *artWorker) count(game string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asked[game]
}

// serve reads ws until it closes; it returns once every answer is sent.
func (a *artWorker) serve(ws *websocket.Conn) {
	var answers sync.WaitGroup
	defer answers.Wait()
	for {
		_, b, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		m, p, err := signal.Decode(b)
		req, ok := p.(signal.ArtRequest)
		if err != nil || !ok {
			continue
		}
		a.mu.Lock()
		a.asked[req.Game]++
		art, ok := a.pictures[req.Game]
		a.mu.Unlock()
		if !ok {
			art = signal.Art{Game: req.Game}
		}
		answers.Add(1)
		go func() {
			defer answers.Done()
			if req.Game == "held" {
				<-a.release
			}
			b, err := signal.Encode(m.Session, art)
			if err == nil {
				_ = ws.Write(context.Background(), websocket.MessageText, b) // the link may be gone
			}
		}()
	}
}

// TestArt serves games' pictures from a worker's answers: the version
// asked for is kept by browsers for good and by the coordinator in its
// cache, a game without a picture is 404, a worker is asked for a few
// pictures at once at most, and a worker's news of a new picture reaches
// the browsers' list.
func TestArt(t *testing.T) {
	c, srv := serve(t, Config{Secrets: []string{testSecret}})
	png := []byte("\x89PNG\r\n\x1a\n a picture")
	aw := &artWorker{asked: map[string]int{}, release: make(chan struct{}), pictures: map[string]signal.Art{
		"nes:A (USA).nes": {Game: "nes:A (USA).nes", Version: "aa11", ContentType: "image/png", Data: png},
		"held":            {Game: "held", Version: "cc33", ContentType: "image/jpeg", Data: []byte("jpeg")},
	}}
	browser := dial(t, srv, "/ws", nil)
	worker := dial(t, srv, "/worker", workerAuth(t, "w1"))
	send(t, worker, signal.Register{ID: "w1", Capacity: 1, Games: []signal.GameInfo{
		{ID: "nes:A (USA).nes", Title: "A", System: "nes", Art: "aa11"},
		{ID: "b", Title: "B", System: "nes"},
		{ID: "held", Title: "Held", System: "nes", Art: "cc33"},
		{ID: "gone", Title: "Gone", System: "nes", Art: "dd44"},
	}})
	stop := beat(t, worker)
	defer stop()
	waitHello(t, browser, "the worker's games, with their pictures", func(h signal.Hello) bool {
		return len(h.Games) == 4 && h.Games[0].Art == "aa11"
	})
	var served sync.WaitGroup
	served.Add(1)
	go func() {
		defer served.Done()
		aw.serve(worker)
	}()
	defer func() {
		worker.CloseNow()
		served.Wait()
	}()

	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	for i := range 2 {
		resp, b := get("/art/nes:A%20%28USA%29.nes?v=aa11")
		h := resp.Header
		if resp.StatusCode != http.StatusOK || !bytes.Equal(b, png) || h.Get("Content-Type") != "image/png" ||
			h.Get("Cache-Control") != "public, max-age=86400, immutable" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %d: %d %q %v", i, resp.StatusCode, b, h)
		}
	}
	if n := aw.count("nes:A (USA).nes"); n != 1 {
		t.Errorf("the worker was asked %d times, want once: the second from the cache", n)
	}
	if got := c.art.bytes(); got != len(png) {
		t.Errorf("the cache holds %d bytes, want %d", got, len(png))
	}
	if resp, _ := get("/art/nes:A%20%28USA%29.nes?v=0ld"); resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("a version no worker has is kept: %v", resp.Header)
	}
	for _, path := range []string{"/art/b", "/art/unknown?v=aa11", "/art/gone?v=dd44"} {
		if resp, _ := get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if n := aw.count("b") + aw.count("unknown"); n != 0 {
		t.Errorf("the worker was asked %d times for games without a picture", n)
	}

	// artPerWorker requests wait for the worker, artQueue more for their
	// turn; one more is turned away.
	var waiting sync.WaitGroup
	codes := make(chan int, artPerWorker+artQueue)
	for range artPerWorker + artQueue {
		waiting.Add(1)
		go func() {
			defer waiting.Done()
			resp, err := http.Get(srv.URL + "/art/held?v=cc33")
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	waittest.Eventually(t, "the worker asked for the held picture by the first requests, the rest waiting", func() error {
		if n, queued := aw.count("held"), len(c.workerArtAdmitted("w1")); n != artPerWorker || queued != artPerWorker+artQueue {
			return fmt.Errorf("asked %d times, %d requests in", n, queued)
		}
		return nil
	})
	if resp, _ := get("/art/held?v=cc33"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a request over the bound: %d %v, want 503 with Retry-After", resp.StatusCode, resp.Header)
	}
	close(aw.release)
	waiting.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("a held request ended %d, want 200", code)
		}
	}
	if n := aw.count("held"); n != artPerWorker {
		t.Errorf("the worker was asked %d times for the held picture, want %d: those that waited found it in the cache", n, artPerWorker)
	}
	if resp, b := get("/art/held?v=cc33"); resp.StatusCode != http.StatusOK || string(b) != "jpeg" || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("the held picture, later: %d %q", resp.StatusCode, b)
	}

	rec := httptest.NewRecorder()
	c.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		fmt.Sprintf(`telecart_coordinator_art_total{answer="worker"} %d`, artPerWorker+1),
		fmt.Sprintf(`telecart_coordinator_art_total{answer="cache"} %d`, 3+artQueue),
		`telecart_coordinator_art_total{answer="none"} 3`,
		`telecart_coordinator_art_total{answer="busy"} 1`,
		fmt.Sprintf("telecart_coordinator_art_cache_bytes %d", len(png)+len("jpeg")),
	} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("no %s in the metrics:\n%s", want, rec.Body.String())
		}
	}

	// Another worker has b without a picture: it hears of w1's, which is
	// in the storage they share.
	other := dial(t, srv, "/worker", workerAuth(t, "w2"))
	send(t, other, signal.Register{ID: "w2", Capacity: 1, Games: []signal.GameInfo{{ID: "b", Title: "B", System: "nes"}}})
	stopOther := beat(t, other)
	defer stopOther()
	waitHello(t, browser, "the second worker", func(h signal.Hello) bool { return len(h.Workers) == 2 })
	send(t, worker, signal.ArtChanged{Game: "b", Art: "bb22"})
	waitHello(t, browser, "the new picture of b", func(h signal.Hello) bool {
		for _, g := range h.Games {
			if g.ID == "b" {
				return g.Art == "bb22"
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), waittest.Limit)
	defer cancel()
	for {
		_, b, err := other.Read(ctx)
		if err != nil {
			t.Fatalf("the other worker never heard of b's picture: %v", err)
		}
		if _, p, err := signal.Decode(b); err == nil && p == (signal.ArtChanged{Game: "b", Art: "bb22"}) {
			break
		}
	}
}

// workerArtAdmitted is the admissions of worker id's picture requests.
func (c *Coordinator) workerArtAdmitted(id signal.WorkerID) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.workers[id].artAdmitted
}

// TestArtCache keeps pictures up to its bytes, the least recently asked
// for going first.
func TestArtCache(t *testing.T) {
	a := newArtCache(10)
	pic := func(n int) signal.Art { return signal.Art{Data: make([]byte, n)} }
	a.put("x", pic(4))
	a.put("y", pic(4))
	a.get("x") // y is now the oldest
	a.put("z", pic(4))
	for key, want := range map[string]bool{"x": true, "y": false, "z": true} {
		if _, ok := a.get(key); ok != want {
			t.Errorf("%s kept: %v, want %v", key, ok, want)
		}
	}
	a.put("huge", pic(11))
	if _, ok := a.get("huge"); ok || a.bytes() != 8 {
		t.Errorf("a picture larger than the cache is kept, or pushed the rest out: %d bytes", a.bytes())
	}
}

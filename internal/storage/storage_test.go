package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
)

// openBackend makes a fresh store of a kind: a local directory, or a
// bucket on a real S3-compatible server on loopback.
func openBackend(t *testing.T, kind string) *Store {
	t.Helper()
	switch kind {
	case "local":
		s, err := Local(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "s3":
		s, err := S3(context.Background(), S3Config{
			Endpoint: fixturetest.S3(t), Bucket: "telecart-test",
			AccessKey: fixturetest.S3AccessKey, SecretKey: fixturetest.S3SecretKey, Insecure: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Fatalf("no backend %q", kind)
	return nil
}

// TestBackends runs every behaviour against both backends: what a Store
// promises does not depend on where it keeps the bytes.
func TestBackends(t *testing.T) {
	t.Parallel()
	behaviours := []struct {
		name string
		test func(t *testing.T, s *Store)
	}{
		{"put and get", testPutGet},
		{"missing", testMissing},
		{"list", testList},
		{"delete", testDelete},
		{"bad keys", testBadKeys},
		{"too large", testTooLarge},
		{"corrupt", testCorrupt},
		{"concurrent writes", testConcurrentWrites},
	}
	for _, kind := range []string{"local", "s3"} {
		t.Run(kind, func(t *testing.T) {
			s := openBackend(t, kind)
			for _, b := range behaviours {
				t.Run(b.name, func(t *testing.T) { b.test(t, s) })
			}
		})
	}
}

var ctx = context.Background()

func mustPut(t *testing.T, s *Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
}

func testPutGet(t *testing.T, s *Store) {
	for _, data := range [][]byte{[]byte("first"), {}, bytes.Repeat([]byte{0, 1, 2, 255}, 100_000), []byte("replaced")} {
		mustPut(t, s, "put/get/a.save", data)
		got, err := s.Get(ctx, "put/get/a.save")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get after putting %d bytes: %d bytes, %v", len(data), len(got), err)
		}
	}
}

func testMissing(t *testing.T, s *Store) {
	for _, key := range []string{"missing/nothing", "missing", "put"} {
		if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
		}
	}
}

func testList(t *testing.T, s *Store) {
	keys := []string{"list/p1/g1/slot-1", "list/p1/g1/slot-2", "list/p1/g2/sram", "list/p2/g1/slot-1", "list/p10/x"}
	for _, k := range keys {
		mustPut(t, s, k, []byte(k))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"list/p1/", keys[:3]},
		{"list/p1/g1/", keys[:2]},
		{"list/p1/g1/slot-", keys[:2]},
		{"list/p1", append(slices.Clone(keys[:3]), "list/p10/x")},
		{"list/p3/", nil},
		{"list/", []string{"list/p1/g1/slot-1", "list/p1/g1/slot-2", "list/p1/g2/sram", "list/p10/x", "list/p2/g1/slot-1"}},
	}
	for _, tt := range tests {
		got, err := s.List(ctx, tt.prefix)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, %v; want %q", tt.prefix, got, err, tt.want)
		}
	}
}

func testDelete(t *testing.T, s *Store) {
	mustPut(t, s, "delete/a", []byte("a"))
	for range 2 { // the second time it is gone already: no error
		if err := s.Delete(ctx, "delete/a"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(ctx, "delete/a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func testBadKeys(t *testing.T, s *Store) {
	mustPut(t, s, "inside/x", []byte("x"))
	for _, key := range []string{
		"", "../outside", "a/../../etc/passwd", "/etc/passwd", "a//b", "a/", ".hidden", "a/.tmp-x",
		`a\b`, "a b", "a\x00b", "é", strings.Repeat("k", MaxKey+1), "inside/..", "..",
	} {
		for name, err := range map[string]error{
			"Put":    s.Put(ctx, key, []byte("x")),
			"Delete": s.Delete(ctx, key),
			"Get":    func() error { _, err := s.Get(ctx, key); return err }(),
		} {
			if !errors.Is(err, ErrBadKey) {
				t.Errorf("%s(%q) = %v, want ErrBadKey", name, key, err)
			}
		}
	}
	if _, err := s.List(ctx, "../"); !errors.Is(err, ErrBadKey) {
		t.Errorf("List(../) = %v, want ErrBadKey", err)
	}
	// Nothing else was harmed.
	if got, err := s.Get(ctx, "inside/x"); err != nil || string(got) != "x" {
		t.Errorf("inside/x after the bad keys: %q, %v", got, err)
	}
}

func testTooLarge(t *testing.T, s *Store) {
	mustPut(t, s, "large/a", []byte("before"))
	if err := s.Put(ctx, "large/a", make([]byte, MaxSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized put: %v, want ErrTooLarge", err)
	}
	if got, err := s.Get(ctx, "large/a"); err != nil || string(got) != "before" {
		t.Fatalf("after a refused put: %q, %v; want the blob from before", got, err)
	}
	// Stored behind the Store's back, an oversized blob is refused on the way out.
	if err := s.b.put(ctx, "large/b", make([]byte, headerSize+MaxSize+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "large/b"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized get: %v, want ErrTooLarge", err)
	}
}

// testCorrupt damages stored blobs as a disk or a broken upload would:
// each is refused with ErrCorrupt, never handed out.
func testCorrupt(t *testing.T, s *Store) {
	good := seal([]byte("a saved game"))
	flipped := slices.Clone(good)
	flipped[len(flipped)-1] ^= 1
	wrongVersion := slices.Clone(good)
	wrongVersion[len(magic)] = 9
	for name, raw := range map[string][]byte{
		"truncated":     good[:len(good)-3],
		"flipped bit":   flipped,
		"longer":        append(slices.Clone(good), 0),
		"not sealed":    []byte("a saved game"),
		"empty":         {},
		"header only":   good[:headerSize-1],
		"wrong version": wrongVersion,
	} {
		key := "corrupt/" + strings.ReplaceAll(name, " ", "-")
		if err := s.b.put(ctx, key, raw); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, key); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Get = %q, %v; want ErrCorrupt", name, got, err)
		}
	}
}

// testConcurrentWrites races writers on one key: a reader always finds one
// writer's blob whole.
func testConcurrentWrites(t *testing.T, s *Store) {
	const writers = 8
	blobs := make([][]byte, writers)
	for i := range blobs {
		blobs[i] = bytes.Repeat([]byte(fmt.Sprintf("writer %d;", i)), 20_000)
	}
	mustPut(t, s, "race/a", blobs[0])
	var wg sync.WaitGroup
	for _, b := range blobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put(ctx, "race/a", b); err != nil {
				t.Error(err)
			}
		}()
	}
	for range 20 {
		got, err := s.Get(ctx, "race/a")
		if err != nil || !slices.ContainsFunc(blobs, func(b []byte) bool { return bytes.Equal(b, got) }) {
			t.Fatalf("read during the writes: %d bytes, %v; want one writer's blob whole", len(got), err)
		}
	}
	wg.Wait()
}

// TestLocalInterruptedWrite leaves what a crash mid-write leaves, a
// temporary file beside the blob: the blob is intact, and List does not
// show the leftover.
func TestLocalInterruptedWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Local(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "p/g/slot-1", []byte("the save before"))
	leftover := filepath.Join(dir, "p", "g", ".tmp-slot-1-123")
	if err := os.WriteFile(leftover, seal([]byte("half"))[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "p/g/slot-1"); err != nil || string(got) != "the save before" {
		t.Fatalf("after a crash mid-write: %q, %v", got, err)
	}
	if keys, err := s.List(ctx, "p/"); err != nil || !slices.Equal(keys, []string{"p/g/slot-1"}) {
		t.Fatalf("List = %q, %v; want the one blob", keys, err)
	}
}

func FuzzCheckKey(f *testing.F) {
	for _, k := range []string{"a/b", "../x", "a/./b", "p/g/slot-1.save"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if CheckKey(key) != nil {
			return
		}
		// A key that passes stays inside any directory it is joined to.
		root := "/store"
		p := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(p, root+"/") || filepath.Clean(p) != p {
			t.Fatalf("key %q reaches %q", key, p)
		}
	})
}

// Package storage keeps named blobs where every worker can reach them: a
// local directory (the default, for one machine) or an S3-compatible
// bucket (for many). Saves live here, so a player carries on from any
// worker.
//
// Both backends give the same guarantees, which a Store adds on top of
// them rather than trusting either to:
//   - Keys are checked: slash-separated names of letters, digits, '.', '_'
//     and '-', never starting with a dot, so no key reaches outside its
//     store ("..", absolute paths, backslashes are refused with ErrBadKey).
//   - A write is atomic: a reader sees the old blob or the new one, never
//     a part, and a crash mid-write leaves the old one as it was (a local
//     write goes to a temporary file that is renamed over the old one; an
//     S3 PUT is atomic by nature).
//   - Contents are checksummed: every blob is stored with its length and
//     SHA-256, and a Get that finds them wrong returns ErrCorrupt rather
//     than bytes the caller would trust.
package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

var (
	ErrNotFound = errors.New("storage: not found")
	ErrCorrupt  = errors.New("storage: corrupt")
	ErrBadKey   = errors.New("storage: bad key")
	ErrTooLarge = errors.New("storage: too large")
)

// MaxSize bounds one blob. A save state of the largest cores here is a
// few MiB.
const MaxSize = 32 << 20

// MaxKey bounds a key's length.
const MaxKey = 512

// backend is where the bytes go; Store checks keys and seals contents.
type backend interface {
	put(ctx context.Context, key string, data []byte) error
	// get returns at most limit bytes, or ErrTooLarge.
	get(ctx context.Context, key string, limit int) ([]byte, error)
	// list returns every key beginning with prefix.
	list(ctx context.Context, prefix string) ([]string, error)
	// delete removes a key; a missing one is no error.
	delete(ctx context.Context, key string) error
	String() string
}

// Store is a place for blobs; its methods are safe to call at once from
// many goroutines.
type Store struct {
	b backend
}

// String says where the store keeps its blobs.
func (s *Store) String() string { return s.b.String() }

// Put stores data under key, replacing what was there.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if len(data) > MaxSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), MaxSize)
	}
	if err := s.b.put(ctx, key, seal(data)); err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	return nil
}

// Get returns the blob under key: ErrNotFound when there is none,
// ErrCorrupt when what is there is not what was put.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	raw, err := s.b.get(ctx, key, headerSize+MaxSize)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: get %s: %w", key, err)
	}
	data, err := open(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return data, nil
}

// List returns the keys that begin with prefix, sorted. The prefix need
// not be a whole key or end at a slash.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" {
		// Check it as a key, allowing a trailing slash or a partial name.
		if err := CheckKey(strings.TrimSuffix(prefix, "/")); err != nil {
			return nil, err
		}
	}
	keys, err := s.b.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", prefix, err)
	}
	return keys, nil
}

// Delete removes the blob under key; a missing one is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := s.b.delete(ctx, key); err != nil {
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	return nil
}

// CheckKey refuses a key that is empty, too long, or not made of
// slash-separated names of letters, digits, '.', '_' and '-' that do not
// start with a dot.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKey {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrBadKey, len(key), MaxKey)
	}
	for _, name := range strings.Split(key, "/") {
		if name == "" || name[0] == '.' {
			return fmt.Errorf("%w: %q: empty name or one starting with a dot", ErrBadKey, key)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
				return fmt.Errorf("%w: %q: %q is not allowed", ErrBadKey, key, r)
			}
		}
	}
	return nil
}

// A sealed blob: magic, format version, length, SHA-256, then the data.
const (
	magic      = "TCST"
	version    = 1
	headerSize = len(magic) + 1 + 8 + sha256.Size
)

func seal(data []byte) []byte {
	sum := sha256.Sum256(data)
	b := make([]byte, 0, headerSize+len(data))
	b = append(b, magic...)
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(len(data)))
	b = append(b, sum[:]...)
	return append(b, data...)
}

func open(b []byte) ([]byte, error) {
	if len(b) < headerSize || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a stored blob (%d bytes)", ErrCorrupt, len(b))
	}
	if v := b[len(magic)]; v != version {
		return nil, fmt.Errorf("%w: format %d, want %d", ErrCorrupt, v, version)
	}
	n := binary.BigEndian.Uint64(b[len(magic)+1:])
	data := b[headerSize:]
	if uint64(len(data)) != n {
		return nil, fmt.Errorf("%w: %d bytes, the header says %d", ErrCorrupt, len(data), n)
	}
	sum := sha256.Sum256(data)
	if !bytes.Equal(sum[:], b[len(magic)+1+8:headerSize]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return data, nil
}

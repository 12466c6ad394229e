package saves

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/telecart/telecart/internal/storage"
)

// Games' pictures captured from the games themselves (the first time a
// game without art is played) live beside the saves, in the storage every
// worker shares, so every worker and every later play finds them. They
// are the games', not a player's.

// ErrNoPicture: no picture of that game was captured.
var ErrNoPicture = errors.New("saves: no picture of the game")

// MaxPicture bounds a captured picture: a small PNG of one frame.
const MaxPicture = 512 << 10

// pictureDir is the folder of a game's pictures: its id hashed, as game
// ids may hold any characters.
func pictureDir(game string) string {
	sum := sha256.Sum256([]byte(game))
	return "pictures/" + hex.EncodeToString(sum[:16]) + "/"
}

// PutPicture stores a game's picture, a PNG, and returns its version: a
// hash of it, which names it, so that two workers capturing the same game
// at once each store a whole picture, and an older version is never
// overwritten under a name a browser cached.
func (st *Store) PutPicture(ctx context.Context, game string, png []byte) (string, error) {
	if len(png) == 0 || len(png) > MaxPicture {
		return "", fmt.Errorf("%w: a picture of %d bytes, at most %d", ErrTooLarge, len(png), MaxPicture)
	}
	sum := sha256.Sum256(png)
	version := hex.EncodeToString(sum[:8])
	if err := st.s.Put(ctx, pictureDir(game)+version+".png", png); err != nil {
		return "", err
	}
	return version, nil
}

// Picture returns a game's picture of that version, a PNG.
func (st *Store) Picture(ctx context.Context, game, version string) ([]byte, error) {
	b, err := st.s.Get(ctx, pictureDir(game)+version+".png")
	switch {
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrBadKey):
		return nil, fmt.Errorf("%w: %s", ErrNoPicture, game)
	case err != nil:
		return nil, err
	case len(b) > MaxPicture:
		return nil, fmt.Errorf("%w: picture of %s", ErrTooLarge, game)
	}
	return b, nil
}

// Pictures finds which of the games have a captured picture, with one
// listing of the storage: the version of each that has one (the greatest,
// if two workers captured it).
func (st *Store) Pictures(ctx context.Context, games []string) (map[string]string, error) {
	keys, err := st.s.List(ctx, "pictures/")
	if err != nil {
		return nil, err
	}
	byDir := make(map[string]string, len(keys))
	for _, key := range keys {
		dir, file, ok := strings.Cut(strings.TrimPrefix(key, "pictures/"), "/")
		version, png := strings.CutSuffix(file, ".png")
		if ok && png && version > byDir[dir] {
			byDir[dir] = version
		}
	}
	out := map[string]string{}
	for _, g := range games {
		dir := strings.TrimSuffix(strings.TrimPrefix(pictureDir(g), "pictures/"), "/")
		if v, ok := byDir[dir]; ok {
			out[g] = v
		}
	}
	return out, nil
}

package signal

import (
	"crypto/rand"
	"encoding/base64"
)

// How many random bytes an id takes: a name is meant to be handed around
// (a room's link), a secret must not be guessed.
const (
	NameBytes   = 6  // 8 characters, 48 bits
	SecretBytes = 16 // 22 characters, 128 bits
)

// NewID returns a fresh random id of n bytes, URL-safe: a room, a
// session, a worker's default name or a secret token.
func NewID[ID ~string](n int) ID {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return ID(base64.RawURLEncoding.EncodeToString(b))
}

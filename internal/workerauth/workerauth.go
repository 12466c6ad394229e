// Package workerauth is how a worker proves to the coordinator who it is.
//
// The coordinator holds a secret (worker_secret; several during a
// rotation), and each worker a credential of its own that names its id:
//
//	ID "." base64url(HMAC-SHA256(secret, "telecart worker v1\x00" ID))
//
// made by `telecart worker-token -id ID` where the secret is. A worker
// presents it as a bearer token when it dials; the coordinator checks the
// MAC against each of its secrets, and then that the worker registers
// under the id its credential names. So a worker holding its own
// credential cannot register as another, nor take over another's rooms,
// and the secret itself never leaves the coordinator's machines.
//
// Why a MAC rather than a list of tokens on the coordinator: the
// coordinator keeps one line of configuration however many workers come
// and go, and a new worker needs nothing changed on the coordinator.
package workerauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/telecart/telecart/internal/signal"
)

// label separates these MACs from any other use of the same secret, and
// names the scheme's version, should it ever change.
const label = "telecart worker v1\x00"

// MinSecret is the shortest secret accepted, in bytes: a secret is
// guessed offline from any credential, so it must be long and random.
const MinSecret = 16

// macLen is the length of a credential's MAC, base64url without padding.
var macLen = base64.RawURLEncoding.EncodedLen(sha256.Size)

var (
	// ErrMalformed is a credential that is not ID.MAC.
	ErrMalformed = errors.New("workerauth: not a worker credential (want ID.MAC, as telecart worker-token prints it)")
	// ErrNotSigned is a well-formed credential no secret of the
	// coordinator's made: another coordinator's, an old secret's, a
	// forgery.
	ErrNotSigned = errors.New("workerauth: the credential was made with none of the coordinator's secrets")
)

// CheckID says whether id can be named by a credential: a worker id (see
// signal.ValidID) of printable ASCII with no spaces, as it travels in an
// HTTP header.
func CheckID(id signal.WorkerID) error {
	if !signal.ValidID(string(id)) {
		return fmt.Errorf("workerauth: worker id %q: want 1 to %d bytes", id, signal.MaxID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("workerauth: worker id %q: want printable ASCII without spaces", id)
		}
	}
	return nil
}

// CheckSecret says whether s can be a secret.
func CheckSecret(s string) error {
	if len(s) < MinSecret {
		return fmt.Errorf("workerauth: a secret of %d bytes: want %d or more, random (openssl rand -hex 32)", len(s), MinSecret)
	}
	if strings.ContainsAny(s, ", \t\r\n") {
		return errors.New("workerauth: a secret with a comma or a space: secrets are listed separated by commas")
	}
	return nil
}

// Credential is the credential of worker id, made with secret.
func Credential(secret string, id signal.WorkerID) (string, error) {
	if err := CheckID(id); err != nil {
		return "", err
	}
	if err := CheckSecret(secret); err != nil {
		return "", err
	}
	return string(id) + "." + base64.RawURLEncoding.EncodeToString(mac(secret, id)), nil
}

// ID is the worker id credential names, without checking it was made
// with any secret: a worker reads its own id from it.
func ID(credential string) (signal.WorkerID, error) {
	id, _, err := split(credential)
	return id, err
}

// Verify returns the worker id credential names when one of secrets made
// it (the list a coordinator holds during a rotation).
func Verify(secrets []string, credential string) (signal.WorkerID, error) {
	id, sum, err := split(credential)
	if err != nil {
		return "", err
	}
	ok := false
	for _, s := range secrets {
		// Every secret is tried: the time taken does not say which one
		// matched, nor how far a guess got.
		if s != "" && hmac.Equal(sum, mac(s, id)) {
			ok = true
		}
	}
	if !ok {
		return "", ErrNotSigned
	}
	return id, nil
}

// split parses ID.MAC; the MAC, being base64url, has no dot.
func split(credential string) (signal.WorkerID, []byte, error) {
	i := strings.LastIndexByte(credential, '.')
	if i < 0 || len(credential)-i-1 != macLen {
		return "", nil, ErrMalformed
	}
	id := signal.WorkerID(credential[:i])
	sum, err := base64.RawURLEncoding.DecodeString(credential[i+1:])
	if err != nil || CheckID(id) != nil {
		return "", nil, ErrMalformed
	}
	return id, sum, nil
}

func mac(secret string, id signal.WorkerID) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(label))
	h.Write([]byte(id))
	return h.Sum(nil)
}

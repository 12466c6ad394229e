package workerauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/signal"
)

const (
	oldSecret = "old-secret-0123456789"
	newSecret = "new-secret-0123456789"
)

// TestFormat: a credential is the id, a dot and the base64url HMAC-SHA256
// of the labelled id, so that anyone can make one with openssl as well.
func TestFormat(t *testing.T) {
	cred, err := Credential(oldSecret, "eu-1")
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, []byte(oldSecret))
	h.Write([]byte("telecart worker v1\x00eu-1"))
	if want := "eu-1." + base64.RawURLEncoding.EncodeToString(h.Sum(nil)); cred != want {
		t.Errorf("credential %q, want %q", cred, want)
	}
	if id, err := ID(cred); id != "eu-1" || err != nil {
		t.Errorf("ID = %q, %v", id, err)
	}
	// A dot in the id is the id's: the MAC has none.
	dotted, err := Credential(oldSecret, "eu.west.1")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := Verify([]string{oldSecret}, dotted); id != "eu.west.1" || err != nil {
		t.Errorf("Verify(dotted) = %q, %v", id, err)
	}
}

// TestVerify: a credential passes with any of the coordinator's secrets
// (a rotation holds two), and names the id it was made for; one made with
// another secret, changed, or cut, does not.
func TestVerify(t *testing.T) {
	a, _ := Credential(oldSecret, "a")
	b, _ := Credential(newSecret, "b")
	forged := "b" + a[1:] // a's MAC under b's name
	tests := []struct {
		name    string
		secrets []string
		cred    string
		id      signal.WorkerID
		err     error
	}{
		{"its secret", []string{oldSecret}, a, "a", nil},
		{"the new of two", []string{newSecret, oldSecret}, b, "b", nil},
		{"the old of two", []string{newSecret, oldSecret}, a, "a", nil},
		{"another secret", []string{newSecret}, a, "", ErrNotSigned},
		{"no secret", nil, a, "", ErrNotSigned},
		{"another id", []string{oldSecret}, forged, "", ErrNotSigned},
		{"the secret itself", []string{oldSecret}, oldSecret, "", ErrMalformed},
		{"no MAC", []string{oldSecret}, "a.", "", ErrMalformed},
		{"no id", []string{oldSecret}, a[1:], "", ErrMalformed},
		{"cut short", []string{oldSecret}, a[:len(a)-1], "", ErrMalformed},
		{"empty", []string{oldSecret}, "", "", ErrMalformed},
		{"not base64url", []string{oldSecret}, a[:len(a)-1] + "+", "", ErrMalformed},
	}
	for _, tt := range tests {
		id, err := Verify(tt.secrets, tt.cred)
		if id != tt.id || !errors.Is(err, tt.err) {
			t.Errorf("%s: Verify = %q, %v; want %q, %v", tt.name, id, err, tt.id, tt.err)
		}
	}
}

// TestRefused: ids a header cannot carry as they are, and secrets too
// short to resist a guess, make no credential.
func TestRefused(t *testing.T) {
	for _, id := range []signal.WorkerID{"", "a b", "tab\there", "é", signal.WorkerID(strings.Repeat("x", signal.MaxID+1))} {
		if _, err := Credential(oldSecret, id); err == nil {
			t.Errorf("a credential for id %q", id)
		}
	}
	for _, s := range []string{"", "short", "has,a-comma-0123456789", "has a space-0123456789"} {
		if _, err := Credential(s, "a"); err == nil {
			t.Errorf("a credential made with secret %q", s)
		}
	}
}

package turnrest

import (
	"testing"
	"time"
)

// The vector is openssl's:
//
//	printf %s 1700000000:alice | openssl dgst -sha1 -hmac north-wind -binary | base64
//
// internal/turntest checks the same against coturn itself.
func TestKnownVector(t *testing.T) {
	got := New("north-wind", "alice", time.Unix(1700000000, 0))
	want := Credentials{Username: "1700000000:alice", Credential: "Oko4dt8u/EbTRjRUJWQDFm/zTCc="}
	if got != want {
		t.Errorf("New = %+v, want %+v", got, want)
	}
}

func TestExpiry(t *testing.T) {
	for _, tc := range []struct {
		username string
		want     int64
		ok       bool
	}{
		{"1700000000:alice", 1700000000, true},
		{"1700000000", 1700000000, true},
		{"1700000000:a:b", 1700000000, true},
		{"alice", 0, false},
		{":alice", 0, false},
	} {
		got, ok := Expiry(tc.username)
		if ok != tc.ok || (ok && got.Unix() != tc.want) {
			t.Errorf("Expiry(%q) = %v, %v; want %d, %v", tc.username, got.Unix(), ok, tc.want, tc.ok)
		}
	}
	// What New makes, Expiry reads back.
	at := time.Unix(1800000000, 0)
	if got, ok := Expiry(New("s", "id", at).Username); !ok || !got.Equal(at) {
		t.Errorf("Expiry of New's username: %v, %v; want %v", got, ok, at)
	}
}

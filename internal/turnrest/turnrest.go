// Package turnrest makes short-lived TURN credentials by the TURN REST
// scheme (draft-uberti-behave-turn-rest), which coturn checks with
// use-auth-secret and static-auth-secret: the username is
// "<unix expiry>:<id>", the credential base64(HMAC-SHA1(secret,
// username)). Whoever holds the secret can make credentials; a browser
// gets one that expires, never the secret.
package turnrest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Credentials are a TURN username and credential (password).
type Credentials struct {
	Username, Credential string
}

// New makes the credentials of id that a TURN server sharing secret
// accepts until expiry. id says whose they are in the TURN server's log;
// it must not hold a colon, which ends the expiry.
func New(secret, id string, expiry time.Time) Credentials {
	username := strconv.FormatInt(expiry.Unix(), 10)
	if id != "" {
		username += ":" + id
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return Credentials{Username: username, Credential: base64.StdEncoding.EncodeToString(mac.Sum(nil))}
}

// Expiry reads the expiry back from a username New made.
func Expiry(username string) (time.Time, bool) {
	ts, _, _ := strings.Cut(username, ":")
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

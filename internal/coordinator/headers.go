package coordinator

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// PermissionsPolicy lets the page read gamepads, go fullscreen and write
// to the clipboard (Share copies the room's link), and denies every
// powerful feature it never uses, to itself and to anything it could be
// made to embed. A page that cannot ask for the camera cannot be tricked
// into asking.
const PermissionsPolicy = "gamepad=(self), fullscreen=(self), clipboard-write=(self), " +
	"camera=(), microphone=(), geolocation=(), display-capture=(), usb=(), serial=(), hid=(), bluetooth=(), midi=(), " +
	"payment=(), publickey-credentials-get=(), accelerometer=(), gyroscope=(), magnetometer=(), screen-wake-lock=(), " +
	"xr-spatial-tracking=(), browsing-topics=()"

// cspPage is the Content-Security-Policy of every response, but for
// connect-src's workers (see csp):
//   - script-src 'self': the app is ES modules from its own origin, with
//     no inline script or event handler, so an injected one never runs;
//   - style-src 'self': the stylesheet is a file, and the app sets styles
//     only through the CSSOM (element.style), which CSP allows;
//   - img-src data: and blob:: save thumbnails are PNG data URLs, the
//     icons SVG ones, and a downloaded save goes through a blob URL;
//   - connect-src 'self' (fetch, and the page's own ws:// or wss://, which
//     'self' covers) and the origins of the workers' ping URLs;
//   - frame-ancestors 'none': no other site frames the page
//     (clickjacking), as X-Frame-Options says to older browsers.
//
// WebRTC's media and data channels are not fetches: CSP has no say in
// them.
const cspPage = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"font-src 'self'; media-src 'self' blob:; manifest-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; connect-src 'self'"

// secure sets the security headers on every response of next.
func (c *Coordinator) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", c.csp())
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The page's address names its room: no request it makes, and no
		// link it follows, carries it elsewhere.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", PermissionsPolicy)
		next.ServeHTTP(w, r)
	})
}

// csp is the Content-Security-Policy of a page served now: connect-src
// allows the origins of the ping URLs of the workers registered, which
// the page times. A worker on an origin new since a page loaded is timed
// by that page after a reload: until then it ranks it after the workers
// it measured, and can still play on it.
func (c *Coordinator) csp() string {
	c.mu.Lock()
	origins := make([]string, 0, len(c.workers))
	for _, w := range c.workers {
		if o := pingOrigin(w.ping); o != "" {
			origins = append(origins, o)
		}
	}
	c.mu.Unlock()
	if len(origins) == 0 {
		return cspPage
	}
	slices.Sort(origins)
	return cspPage + " " + strings.Join(slices.Compact(origins), " ")
}

// pingOrigin is the origin of an absolute ping URL as a CSP source, or ""
// for a relative one (the page's own origin, 'self') or one whose host
// could say more than a host in a policy (a ';' would start a directive
// of the worker's choosing).
func pingOrigin(ping string) string {
	u, err := url.Parse(ping)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	for _, r := range u.Host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			return ""
		}
	}
	return u.Scheme + "://" + u.Host
}

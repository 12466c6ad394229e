package coordinator

import "net/http"

// PermissionsPolicy lets the page read gamepads, go fullscreen and write
// to the clipboard (Share copies the room's link), and denies every
// powerful feature it never uses, to itself and to anything it could be
// made to embed. A page that cannot ask for the camera cannot be tricked
// into asking.
const PermissionsPolicy = "gamepad=(self), fullscreen=(self), clipboard-write=(self), " +
	"camera=(), microphone=(), geolocation=(), display-capture=(), usb=(), serial=(), hid=(), midi=(), " +
	"payment=(), publickey-credentials-get=(), accelerometer=(), gyroscope=(), magnetometer=(), screen-wake-lock=(), " +
	"xr-spatial-tracking=(), browsing-topics=()"

// cspPage is the Content-Security-Policy of every response, but for
// connect-src's schemes (see csp):
//   - script-src 'self': the app is ES modules from its own origin, with
//     no inline script or event handler, so an injected one never runs;
//   - style-src 'self': the stylesheet is a file, and the app sets styles
//     only through the CSSOM (element.style), which CSP allows;
//   - img-src 'self' data: and blob:: games' pictures come from /art/ID,
//     save thumbnails are PNG data URLs, the
//     icons SVG ones, and a downloaded save goes through a blob URL;
//   - connect-src 'self' (fetch, and the page's own ws:// or wss://, which
//     'self' covers) and the workers' ping URLs, by scheme (see csp);
//   - frame-ancestors 'none': no other site frames the page
//     (clickjacking), as X-Frame-Options says to older browsers.
//
// WebRTC's media and data channels are not fetches: CSP has no say in
// them.
const cspPage = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"font-src 'self'; media-src 'self' blob:; manifest-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; connect-src 'self'"

// secure sets the security headers on every response of next.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp(r))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The page's address names its room: no request it makes, and no
		// link it follows, carries it elsewhere.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", PermissionsPolicy)
		next.ServeHTTP(w, r)
	})
}

// csp is the Content-Security-Policy of the answer to r. The page times
// every worker's ping URL, each on an origin of its own, and workers come
// after the page has loaded (it measures a new one as the hello names
// it): a policy fixed as the page loads cannot name them. So connect-src
// allows fetches by scheme: https: (all a page served over HTTPS may
// fetch anyway), and http: too on a page served over plain HTTP, whose
// workers may ping over it. It still forbids WebSockets to any other
// origin. What keeps an injected script from running is script-src.
func csp(r *http.Request) string {
	if r.TLS != nil {
		return cspPage + " https:"
	}
	return cspPage + " http: https:"
}

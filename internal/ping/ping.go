// Package ping is the endpoint a browser times its round trip to a
// server with, before the coordinator chooses a worker for it: the
// smallest answer HTTP has, that any page may fetch and time.
package ping

import "net/http"

// Handler answers GET and HEAD with 204 No Content, never cached, and
// readable and timeable from any origin (the web app is served by the
// coordinator, the ping by each worker).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Timing-Allow-Origin", "*")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

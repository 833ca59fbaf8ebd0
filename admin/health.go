package admin

import (
	"context"
	"net/http"
	"time"
)

// healthz answers 200 while the process serves HTTP at all.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the WithReady check passes, else 503 with its
// error; with WithReadyInfo, the body also carries what it found.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{"status": "ready"}
	if s.readyInfo != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		body["checks"] = s.readyInfo(ctx)
		cancel()
	}
	status := http.StatusOK
	if s.ready != nil {
		if err := s.ready(); err != nil {
			status = http.StatusServiceUnavailable
			body["status"] = "not ready"
			body["error"] = map[string]string{"code": CodeUnavailable, "message": "not ready: " + err.Error()}
		}
	}
	writeJSON(w, status, body)
}

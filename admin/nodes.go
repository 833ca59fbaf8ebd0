package admin

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/trunkline/trunkline/store"
)

// Nodes is what the admin API knows of the switch's nodes: the live ones
// with their state, and a wait until they all run the configuration as it
// is now (WaitConfig returns the nodes still behind when ctx ends). Both
// must be safe for concurrent use.
type Nodes interface {
	Nodes(ctx context.Context) ([]store.NodeState, error)
	WaitConfig(ctx context.Context) ([]string, error)
}

// WithNodes serves GET /api/v1/nodes and ?wait= on writes from n; without
// it the first answers 503 and writes do not wait.
func WithNodes(n Nodes) Option { return func(s *Server) { s.nodes = n } }

// Waits on writes: ?wait=true waits defaultWait, ?wait=<duration> that
// long, at most maxWait.
const (
	defaultWait = 5 * time.Second
	maxWait     = 30 * time.Second
)

// Headers of a write with ?wait=: whether every live node runs it, and
// which do not.
const (
	headerApplied = "Trunkline-Config-Applied"
	headerBehind  = "Trunkline-Nodes-Behind"
)

// listNodes serves GET /api/v1/nodes: the live nodes, by id.
func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	if s.nodes == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no node table on this server")
	}
	ns, err := s.nodes.Nodes(r.Context())
	if err != nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "reading the nodes: %v", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": ns})
	return nil
}

// waitParam reads ?wait= of a write (any method but GET and HEAD): 0 for
// none.
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return 0, nil
	}
	switch strings.ToLower(v) {
	case "", "false", "0", "0s":
		return 0, nil
	case "true", "1":
		return defaultWait, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxWait {
		return 0, errInvalid("wait", "must be true, false or a duration up to %s, got %q", maxWait, v)
	}
	return d, nil
}

// waitingWrite runs write handler h for ?wait=: its answer is held until
// every live node runs the configuration as it is after the write, or d
// passes, then sent as it was with headers that say which: the answer of a
// write (an id, a token's secret) is never lost to a slow node.
func (s *Server) waitingWrite(w http.ResponseWriter, r *http.Request, h handlerFunc, d time.Duration) {
	held := &heldResponse{header: w.Header(), customer: forCustomer(w)}
	if err := h(held, r); err != nil {
		s.fail(w, r, err)
		return
	}
	if held.code() < 300 && s.nodes != nil {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		behind, err := s.nodes.WaitConfig(ctx)
		cancel()
		switch {
		case err != nil:
			w.Header().Set(headerApplied, "unknown")
		case len(behind) > 0:
			w.Header().Set(headerApplied, "false")
			w.Header().Set(headerBehind, strings.Join(behind, ", "))
		default:
			w.Header().Set(headerApplied, "true")
		}
	}
	w.WriteHeader(held.code())
	_, _ = w.Write(held.body.Bytes())
}

// heldResponse keeps what a handler writes.
type heldResponse struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	customer bool // answers a customer token (see forCustomer)
}

func (h *heldResponse) forCustomer() bool { return h.customer }

func (h *heldResponse) Header() http.Header         { return h.header }
func (h *heldResponse) Write(b []byte) (int, error) { return h.body.Write(b) }
func (h *heldResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldResponse) code() int {
	if h.status == 0 {
		return http.StatusOK
	}
	return h.status
}

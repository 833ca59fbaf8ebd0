package admin

import (
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

// waitParam reads ?wait= of a write: 0 for none.
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	switch strings.ToLower(v) {
	case "", "false", "0":
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

// waitApplied waits up to d for every live node to run the configuration a
// write made; nodes still behind then make a 504 (the write is kept and
// they apply it when they can).
func (s *Server) waitApplied(ctx context.Context, d time.Duration) error {
	if d == 0 || s.nodes == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	behind, err := s.nodes.WaitConfig(ctx)
	if err != nil {
		return errStatus(http.StatusGatewayTimeout, CodeNotApplied, "saved, but the nodes could not be asked whether they run it: %v", err)
	}
	if len(behind) > 0 {
		return errStatus(http.StatusGatewayTimeout, CodeNotApplied, "saved, but after %s these nodes do not run it yet: %s", d, strings.Join(behind, ", "))
	}
	return nil
}

package admin

import "github.com/trunkline/trunkline/store"

// EndpointHealth reports the health of a carrier endpoint as JSON-ready
// data (routing.Health.Snapshot's): its probe state, last probe, and
// recent quality. It is called on API requests, concurrently.
type EndpointHealth func(e store.Endpoint) any

// WithEndpointHealth adds each endpoint's "health" to GET
// /api/v1/carriers/{id}/endpoints; without it none is shown.
func WithEndpointHealth(fn EndpointHealth) Option { return func(s *Server) { s.health = fn } }

// endpointView is an endpoint as the list shows it.
type endpointView struct {
	store.Endpoint
	Health any `json:"health,omitempty"`
}

func (s *Server) endpointViews(eps []store.Endpoint) []endpointView {
	out := make([]endpointView, len(eps))
	for i, e := range eps {
		out[i].Endpoint = e
		if s.health != nil {
			out[i].Health = s.health(e)
		}
	}
	return out
}

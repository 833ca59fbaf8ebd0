package admin

import (
	"context"
	"net/http"

	"github.com/trunkline/trunkline/store"
)

// resource describes a top-level collection served with the same create,
// list and get handlers (customers, carriers).
type resource[T any] struct {
	coll  string           // store collection, also the list's JSON key
	kind  string           // singular noun for logs and 404s
	id    func(*T) *string // the record's ID field
	valid func(*T) error   // validation (and defaults) for a new record
}

// create decodes a new record, refuses a client-chosen id, validates it,
// gives it an id, stores it and answers 201 with its Location.
func (rs resource[T]) create(s *Server, w http.ResponseWriter, r *http.Request) error {
	var v T
	if err := decodeBody(w, r, maxJSONBody, &v); err != nil {
		return err
	}
	id := rs.id(&v)
	if err := checkID(*id, ""); err != nil {
		return err
	}
	if err := rs.valid(&v); err != nil {
		return err
	}
	*id = store.NewID()
	if err := s.write(r, func(ctx context.Context) error {
		return store.PutJSON(ctx, s.st, rs.coll, *id, v)
	}); err != nil {
		return err
	}
	s.log.Info(rs.kind+" created", "id", *id)
	w.Header().Set("Location", "/api/v1/"+rs.coll+"/"+*id)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// list answers every record as {"<coll>": [...]}.
func (rs resource[T]) list(s *Server, w http.ResponseWriter, r *http.Request) error {
	vs, err := store.ListJSON[T](r.Context(), s.st, rs.coll)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{rs.coll: vs})
	return nil
}

// get answers the record named by the path's {id}, or 404.
func (rs resource[T]) get(s *Server, w http.ResponseWriter, r *http.Request) error {
	v, err := load[T](r.Context(), s.st, rs.coll, rs.kind, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

package admin

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/trunkline/trunkline/store"
)

// resource describes a top-level collection served with the same create,
// list and get handlers (customers, carriers).
type resource[T any] struct {
	coll  string           // store collection, also the list's JSON key
	kind  string           // singular noun for logs and 404s
	id    func(*T) *string // the record's ID field
	name  func(*T) string  // the record's name, for ?q=
	valid func(*T) error   // validation (and defaults) for a new record
	// input, when set, returns what a request body decodes into for the
	// record v (a wrapper that accepts read-only fields); nil means v.
	input func(v *T) any
	// view, when set, returns what a response shows for the record v
	// (with read-only fields added); nil means v itself.
	view func(ctx context.Context, s *Server, v T) (any, error)
}

func (rs resource[T]) decode(w http.ResponseWriter, r *http.Request, v *T) error {
	if rs.input == nil {
		return decodeBody(w, r, maxJSONBody, v)
	}
	err := decodeBody(w, r, maxJSONBody, rs.input(v))
	// A type error inside the embedded record names it ("Customer.cps_limit").
	var e *Error
	if errors.As(err, &e) && e.Field != "" {
		prefix := reflect.TypeFor[T]().Name() + "."
		e.Field = strings.TrimPrefix(e.Field, prefix)
		e.Message = strings.TrimPrefix(e.Message, prefix)
	}
	return err
}

func (rs resource[T]) show(ctx context.Context, s *Server, v T) (any, error) {
	if rs.view == nil {
		return v, nil
	}
	return rs.view(ctx, s, v)
}

// create decodes a new record, refuses a client-chosen id, validates it,
// gives it an id, stores it and answers 201 with its Location.
func (rs resource[T]) create(s *Server, w http.ResponseWriter, r *http.Request) error {
	var v T
	if err := rs.decode(w, r, &v); err != nil {
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
	out, err := rs.show(r.Context(), s, v)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/"+rs.coll+"/"+*id)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// Paging of a list: without ?limit= every record (as before paging).
const maxListPage = 1000

// list answers the records as {"<coll>": [...]} (with "total" when paged
// or searched), sorted by
// name then id: those whose name contains ?q= (any case), and with
// ?warnings=true only those with warnings; ?limit= and ?offset= page them.
func (rs resource[T]) list(s *Server, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	onlyWarned := false
	if v := q.Get("warnings"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errInvalid("warnings", "must be true or false, got %q", v)
		}
		onlyWarned = b
	}
	limit, offset := -1, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListPage {
			return errInvalid("limit", "1 to %d", maxListPage)
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalid("offset", "a whole number from 0")
		}
		offset = n
	}
	search := strings.ToLower(q.Get("q"))
	if len(search) > maxNameLen {
		return errInvalid("q", "longer than %d bytes", maxNameLen)
	}
	vs, err := store.ListJSON[T](r.Context(), s.st, rs.coll)
	if err != nil {
		return err
	}
	if rs.name != nil {
		// Sorted by keys taken once (a record is large to copy).
		type key struct {
			name, id string
			i        int
		}
		keys := make([]key, 0, len(vs))
		for i := range vs {
			n := rs.name(&vs[i])
			if search == "" || strings.Contains(strings.ToLower(n), search) {
				keys = append(keys, key{n, *rs.id(&vs[i]), i})
			}
		}
		slices.SortFunc(keys, func(a, b key) int { return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.id, b.id)) })
		sorted := make([]T, len(keys))
		for j, k := range keys {
			sorted[j] = vs[k.i]
		}
		vs = sorted
	}
	ctx, err := s.withConfigIndex(r.Context()) // one read of what warnings look at
	if err != nil {
		return err
	}
	out := make([]any, 0, min(len(vs), max(limit, 0)))
	total := 0
	for _, v := range vs {
		if !onlyWarned && (total < offset || limit >= 0 && total >= offset+limit) {
			total++ // counted, not shown: no view to compute
			continue
		}
		shown, err := rs.show(ctx, s, v)
		if err != nil {
			return err
		}
		if w, ok := shown.(interface{ warned() bool }); onlyWarned && (!ok || !w.warned()) {
			continue
		}
		if total >= offset && (limit < 0 || total < offset+limit) {
			out = append(out, shown)
		}
		total++
	}
	body := map[string]any{rs.coll: out}
	if q.Has("limit") || q.Has("offset") || q.Has("q") {
		body["total"] = total // a page: how many match in all
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// get answers the record named by the path's {id}, or 404.
func (rs resource[T]) get(s *Server, w http.ResponseWriter, r *http.Request) error {
	v, err := load[T](r.Context(), s.st, rs.coll, rs.kind, r.PathValue("id"))
	if err != nil {
		return err
	}
	out, err := rs.show(r.Context(), s, v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

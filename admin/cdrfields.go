package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/store"
)

// cdrFieldsBody is the body of GET and PUT /api/v1/customers/{id}/cdr-fields.
type cdrFieldsBody struct {
	Fields []string `json:"fields"`
}

// getCDRFields answers the customer's CDR field set: the columns, in
// order, of its CSV downloads and exports (every column by default).
func (s *Server) getCDRFields(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := load[store.Customer](r.Context(), s.st, store.Customers, "customer", id); err != nil {
		return err
	}
	fields, err := cdr.CustomerFields(r.Context(), s.st, id)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		fields = cdr.Fields()
	}
	if principalOf(r).role == RoleCustomer {
		fields = customerColumns(fields) // the columns it gets
	}
	writeJSON(w, http.StatusOK, cdrFieldsBody{Fields: fields})
	return nil
}

// putCDRFields sets the customer's CDR field set; an empty list restores
// every column.
func (s *Server) putCDRFields(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var b cdrFieldsBody
	if err := decodeBody(w, r, maxJSONBody, &b); err != nil {
		return err
	}
	customer := principalOf(r).role == RoleCustomer
	known := cdr.Fields()
	if customer {
		known = cdr.CustomerDefaultFields()
	}
	if err := cdr.CheckFields(b.Fields); err != nil {
		return errInvalid("fields", "%v (known: %v)", err, known)
	}
	if customer {
		for _, f := range b.Fields {
			if buySideKeys[f] {
				return errInvalid("fields", "%q is not a customer's column (known: %v)", f, cdr.CustomerDefaultFields())
			}
		}
	}
	err := s.locked(r, func(ctx context.Context) error { // CSV columns: no table reload
		if _, err := load[store.Customer](ctx, s.st, store.Customers, "customer", id); err != nil {
			return err
		}
		if len(b.Fields) == 0 {
			if err := s.st.Delete(ctx, store.CDRFieldSets, id); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		}
		return store.PutJSON(ctx, s.st, store.CDRFieldSets, id, store.CDRFieldSet{CustomerID: id, Fields: b.Fields})
	})
	if err != nil {
		return err
	}
	if len(b.Fields) == 0 {
		b.Fields = cdr.Fields()
	}
	if customer {
		b.Fields = customerColumns(b.Fields)
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// validTimezone accepts "" (UTC) or an IANA zone name time.LoadLocation
// knows; "Local" is refused, since it depends on the machine.
func validTimezone(field, tz string) error {
	if tz == "" {
		return nil
	}
	if tz == "Local" || len(tz) > 64 {
		return errInvalid(field, "must be an IANA zone name like Europe/Berlin, got %q", tz)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return errInvalid(field, "must be an IANA zone name like Europe/Berlin, got %q", tz)
	}
	return nil
}

package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/trunkline/trunkline/cdr"
)

// CDR paging limits.
const (
	defaultCDRLimit = 100
	maxCDRLimit     = 10000
)

// listCDRs answers GET /api/v1/cdrs?customer=&carrier=&from=&to=&limit=&offset=
// from the configured cdr.Source. from and to are RFC 3339 times or unix
// milliseconds of the setup time; from is inclusive, to exclusive.
func (s *Server) listCDRs(w http.ResponseWriter, r *http.Request) error {
	if s.cdrs == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no CDR source is configured")
	}
	q, err := parseCDRQuery(r)
	if err != nil {
		return err
	}
	recs, err := s.cdrs.Query(r.Context(), q)
	if errors.Is(err, cdr.ErrBadQuery) {
		return errStatus(http.StatusBadRequest, CodeInvalid, "%v", err)
	}
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []cdr.Record{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cdrs": recs, "limit": q.Limit, "offset": q.Offset})
	return nil
}

func parseCDRQuery(r *http.Request) (cdr.Query, error) {
	v := r.URL.Query()
	q := cdr.Query{CustomerID: v.Get("customer"), CarrierID: v.Get("carrier"), Limit: defaultCDRLimit}
	var err error
	if q.FromMs, err = parseTimeParam("from", v.Get("from")); err != nil {
		return q, err
	}
	if q.ToMs, err = parseTimeParam("to", v.Get("to")); err != nil {
		return q, err
	}
	if q.FromMs != 0 && q.ToMs != 0 && q.ToMs <= q.FromMs {
		return q, errInvalid("to", "must be after from")
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 || q.Limit > maxCDRLimit {
			return q, errInvalid("limit", "must be a whole number from 1 to %d, got %q", maxCDRLimit, s)
		}
	}
	if s := v.Get("offset"); s != "" {
		if q.Offset, err = strconv.Atoi(s); err != nil || q.Offset < 0 {
			return q, errInvalid("offset", "must be a whole number >= 0, got %q", s)
		}
	}
	return q, nil
}

// parseTimeParam reads an RFC 3339 time or unix milliseconds; "" is 0.
func parseTimeParam(name, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if isDigits(s) {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return ms, nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, errInvalid(name, "must be an RFC 3339 time or unix milliseconds, got %q", s)
	}
	if t.UnixMilli() < 0 {
		return 0, errInvalid(name, "must not be before 1970, got %q", s)
	}
	return t.UnixMilli(), nil
}

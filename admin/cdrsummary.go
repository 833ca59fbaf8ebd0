package admin

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/trunkline/trunkline/cdr"
)

// maxBuckets bounds a summary's time series.
const maxBuckets = 1000

// cdrSummary answers GET /api/v1/cdrs/summary?group=customer|carrier
// &from=&to=&customer=&carrier=&bucket=: per customer (calls: final CDRs)
// or per carrier (attempts) and currency, and with bucket (seconds) per
// period of that length, the attempts, answered, ASR, ACD, PDD, minutes
// and exact sell, buy and margin sums.
func (s *Server) cdrSummary(w http.ResponseWriter, r *http.Request) error {
	sum, ok := s.cdrs.(cdr.Summarizer)
	if !ok {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no CDR source with summaries is configured")
	}
	v := r.URL.Query()
	sq := cdr.SummaryQuery{Group: v.Get("group"), CustomerID: v.Get("customer"), CarrierID: v.Get("carrier")}
	if err := oneOf("group", &sq.Group, cdr.GroupCustomer, cdr.GroupCustomer, cdr.GroupCarrier); err != nil {
		return err
	}
	var err error
	if sq.FromMs, err = parseTimeParam("from", v.Get("from")); err != nil {
		return err
	}
	if sq.ToMs, err = parseTimeParam("to", v.Get("to")); err != nil {
		return err
	}
	if sq.FromMs != 0 && sq.ToMs != 0 && sq.ToMs <= sq.FromMs {
		return errInvalid("to", "must be after from")
	}
	if b := v.Get("bucket"); b != "" {
		secs, err := strconv.ParseInt(b, 10, 64)
		if err != nil || secs*1000 < cdr.MinBucketMs || secs*1000 > cdr.MaxBucketMs {
			return errInvalid("bucket", "seconds from %d to %d, got %q", cdr.MinBucketMs/1000, cdr.MaxBucketMs/1000, b)
		}
		sq.BucketMs = secs * 1000
		if sq.FromMs == 0 || sq.ToMs == 0 || (sq.ToMs-sq.FromMs)/sq.BucketMs > maxBuckets {
			return errInvalid("bucket", "a time series needs from and to, at most %d buckets apart", maxBuckets)
		}
	}
	var from string
	rows, err := sum.Summary(cdr.ServedFrom(r.Context(), &from), sq)
	markSource(w, from)
	if errors.Is(err, cdr.ErrBadQuery) {
		return errStatus(http.StatusBadRequest, CodeInvalid, "%v", err)
	}
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []cdr.SummaryRow{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": sq.Group, "from": sq.FromMs, "to": sq.ToMs, "rows": rows})
	return nil
}

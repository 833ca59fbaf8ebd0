package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trunkline/trunkline/rating"
)

// The dashboard's charts: the last chartSpan of CDRs in chartBuckets
// periods, drawn here as SVG (no script, no library). Every figure is
// whole-number arithmetic: money stays rating.Money, rates are basis
// points.
const (
	chartSpan    = 6 * time.Hour
	chartBuckets = 36
	chartBucket  = chartSpan / chartBuckets
	chartW       = 360
	chartH       = 90
)

// chart is one series on the dashboard.
type chart struct {
	Title, Last, Peak string
	SVG               template.HTML
}

// summaryRow is a row of GET /api/v1/cdrs/summary as the charts read it.
type summaryRow struct {
	AtMs     int64 `json:"at_ms"`
	Currency string
	Attempts int64
	Answered int64
	Seconds  int64
	PDD      float64 `json:"pdd_ms"`
	PDDCalls int64   `json:"pdd_calls"`
	Margin   string
}

// bucketSums are one period's traffic, every customer (or carrier) in it.
type bucketSums struct {
	attempts, answered, seconds, pddMs, pddCalls int64
	margin                                       map[string]rating.Money // by currency
}

// charts reads the last chartSpan's summary (of one customer or carrier
// when the query names one) and draws calls per minute, calls up, ASR,
// ACD, PDD and margin.
func (s *Server) charts(r *http.Request, sess *session, now time.Time) ([]chart, string) {
	q := url.Values{"group": {"customer"}, "bucket": {strconv.Itoa(int(chartBucket.Seconds()))}}
	end := now.Truncate(chartBucket).Add(chartBucket)
	start := end.Add(-chartSpan)
	q.Set("from", strconv.FormatInt(start.UnixMilli(), 10))
	q.Set("to", strconv.FormatInt(end.UnixMilli(), 10))
	scope := "every customer"
	if c := r.URL.Query().Get("customer"); c != "" {
		q.Set("customer", c)
		scope = "customer " + c
	} else if c := r.URL.Query().Get("carrier"); c != "" {
		q.Set("group", "carrier")
		q.Set("carrier", c)
		scope = "carrier " + c
	}
	var sum struct{ Rows []summaryRow }
	if status, err := s.call(r, sess, "GET", "/api/v1/cdrs/summary?"+q.Encode(), nil, &sum); err != nil || status != http.StatusOK {
		return nil, scope
	}
	b := make([]bucketSums, chartBuckets)
	currency, most := "", int64(0)
	perCurrency := map[string]int64{}
	for _, row := range sum.Rows {
		i := int((row.AtMs - start.UnixMilli()) / chartBucket.Milliseconds())
		if i < 0 || i >= chartBuckets {
			continue
		}
		x := &b[i]
		x.attempts += row.Attempts
		x.answered += row.Answered
		x.seconds += row.Seconds
		x.pddCalls += row.PDDCalls
		x.pddMs += int64(row.PDD*float64(row.PDDCalls) + 0.5) // the mean back to a sum: whole milliseconds
		if m, err := rating.ParseMoney(row.Margin); err == nil {
			if x.margin == nil {
				x.margin = map[string]rating.Money{}
			}
			x.margin[row.Currency] += m
		}
		if perCurrency[row.Currency] += row.Attempts; perCurrency[row.Currency] > most {
			currency, most = row.Currency, perCurrency[row.Currency]
		}
	}
	bucketS := int64(chartBucket.Seconds())
	series := func(title string, f func(x bucketSums) int64, label func(int64) string) chart {
		vs := make([]int64, chartBuckets)
		for i := range b {
			vs[i] = f(b[i])
		}
		return drawChart(title, vs, label)
	}
	hundredths := func(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }
	return []chart{
		series("Calls a minute", func(x bucketSums) int64 { return x.attempts * 100 * 60 / bucketS }, hundredths),
		series("Calls up (mean)", func(x bucketSums) int64 { return x.seconds * 100 / bucketS }, hundredths),
		series("ASR %", func(x bucketSums) int64 { return ratio(x.answered*10000, x.attempts) }, hundredths),
		series("ACD (s)", func(x bucketSums) int64 { return ratio(x.seconds*100, x.answered) }, hundredths),
		series("PDD (ms)", func(x bucketSums) int64 { return ratio(x.pddMs*100, x.pddCalls) }, hundredths),
		series("Margin ("+currency+")", func(x bucketSums) int64 { return int64(x.margin[currency]) },
			func(v int64) string { return rating.Money(v).String() }),
	}, scope
}

func ratio(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// drawChart draws vs as a line over the periods, with its last and
// highest values labelled.
func drawChart(title string, vs []int64, label func(int64) string) chart {
	lo, hi := int64(0), int64(0)
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	span := max(hi-lo, 1)
	var pts strings.Builder
	for i, v := range vs {
		x := int64(i) * chartW / int64(len(vs)-1)
		y := chartH - 4 - (v-lo)*(chartH-8)/span
		fmt.Fprintf(&pts, "%d,%d ", x, y)
	}
	svg := fmt.Sprintf(`<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`+
		`<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#c9ced8"/>`+
		`<polyline points="%s" fill="none" stroke="#2f6fde" stroke-width="2"/></svg>`,
		chartW, chartH, chartW, chartH, template.HTMLEscapeString(title),
		chartH-4-(0-lo)*(chartH-8)/span, chartW, chartH-4-(0-lo)*(chartH-8)/span, strings.TrimSpace(pts.String()))
	return chart{Title: title, Last: label(vs[len(vs)-1]), Peak: label(hi), SVG: template.HTML(svg)}
}

package cdr

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// csvColumn is one CDR column of CSV output: its header name and how a
// Record's value is formatted. Money is written as an exact decimal.
type csvColumn struct {
	name   string
	format func(r *Record, loc *time.Location) string
}

func msTime(ms int64, loc *time.Location) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).In(loc).Format("2006-01-02T15:04:05.000Z07:00")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Inert keeps a value that a party chose (a caller, a Call-ID, a reason)
// from being taken for a formula by a spreadsheet that opens the CSV: one
// that starts with = + - @ or a tab or CR gets a leading apostrophe,
// unless it is a plain number ("+15551234567" stays as it is).
func Inert(v string) string {
	if v == "" || !strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return v
	}
	if v[0] == '+' || v[0] == '-' {
		digits := v[1:]
		if digits != "" && strings.Trim(digits, "0123456789") == "" {
			return v
		}
	}
	return "'" + v
}

// csvColumns lists every CSV column in its default order.
var csvColumns = []csvColumn{
	{"call_id", func(r *Record, _ *time.Location) string { return r.CallID }},
	{"attempt", func(r *Record, _ *time.Location) string { return itoa(int64(r.Attempt)) }},
	{"final", func(r *Record, _ *time.Location) string { return strconv.FormatBool(r.Final) }},
	{"node", func(r *Record, _ *time.Location) string { return r.Node }},
	{"customer_id", func(r *Record, _ *time.Location) string { return r.CustomerID }},
	{"auth_method", func(r *Record, _ *time.Location) string { return r.AuthMethod }},
	{"carrier_id", func(r *Record, _ *time.Location) string { return r.CarrierID }},
	{"source_ip", func(r *Record, _ *time.Location) string { return r.SourceIP }},
	{"caller", func(r *Record, _ *time.Location) string { return Inert(r.Caller) }},
	{"callee", func(r *Record, _ *time.Location) string { return r.Callee }},
	{"prefix", func(r *Record, _ *time.Location) string { return r.Prefix }},
	{"description", func(r *Record, _ *time.Location) string { return r.Description }},
	{"setup_time", func(r *Record, loc *time.Location) string { return msTime(r.SetupMs, loc) }},
	{"answer_time", func(r *Record, loc *time.Location) string { return msTime(r.AnswerMs, loc) }},
	{"end_time", func(r *Record, loc *time.Location) string { return msTime(r.EndMs, loc) }},
	{"setup_ms", func(r *Record, _ *time.Location) string { return itoa(r.SetupMs) }},
	{"answer_ms", func(r *Record, _ *time.Location) string { return itoa(r.AnswerMs) }},
	{"end_ms", func(r *Record, _ *time.Location) string { return itoa(r.EndMs) }},
	{"pdd_ms", func(r *Record, _ *time.Location) string { return itoa(r.PDDMs) }},
	{"duration", func(r *Record, _ *time.Location) string { return itoa(int64(r.Duration)) }},
	{"billed", func(r *Record, _ *time.Location) string { return itoa(int64(r.Billed)) }},
	{"sip_code", func(r *Record, _ *time.Location) string { return itoa(int64(r.SIPCode)) }},
	{"reason", func(r *Record, _ *time.Location) string { return Inert(r.Reason) }},
	{"hangup_side", func(r *Record, _ *time.Location) string { return r.HangupSide }},
	{"currency", func(r *Record, _ *time.Location) string { return r.Currency }},
	{"sell_rate", func(r *Record, _ *time.Location) string { return r.SellRate.String() }},
	{"sell_cost", func(r *Record, _ *time.Location) string { return r.SellCost.String() }},
	{"buy_rate", func(r *Record, _ *time.Location) string { return r.BuyRate.String() }},
	{"buy_cost", func(r *Record, _ *time.Location) string { return r.BuyCost.String() }},
	{"margin", func(r *Record, _ *time.Location) string { return r.Margin.String() }},
	{"trace", func(r *Record, _ *time.Location) string { return r.Trace }},
	// Appended, so the columns of the default field set keep their places.
	{"sip_call_id", func(r *Record, _ *time.Location) string { return Inert(r.SIPCallID) }},
	{"media_relayed", func(r *Record, _ *time.Location) string { return strconv.FormatBool(r.MediaRelayed) }},
}

// rtpColumns are the media columns of one direction: customer_rtp_packets
// and so on.
func rtpColumns(side string, st func(*Record) *RTPStats) []csvColumn {
	return []csvColumn{
		{side + "_rtp_packets", func(r *Record, _ *time.Location) string { return itoa(st(r).Packets) }},
		{side + "_rtp_bytes", func(r *Record, _ *time.Location) string { return itoa(st(r).Bytes) }},
		{side + "_rtp_lost", func(r *Record, _ *time.Location) string { return itoa(st(r).Lost) }},
		{side + "_rtp_jitter_us", func(r *Record, _ *time.Location) string { return itoa(st(r).JitterUs) }},
		{side + "_rtp_mos", func(r *Record, _ *time.Location) string { return strconv.FormatFloat(st(r).MOS, 'f', 2, 64) }},
		{side + "_rtp_payload_types", func(r *Record, _ *time.Location) string { return st(r).PayloadTypes }},
		{side + "_rtp_reported_lost", func(r *Record, _ *time.Location) string { return itoa(st(r).ReportedLost) }},
		{side + "_rtp_reported_jitter_us", func(r *Record, _ *time.Location) string { return itoa(st(r).ReportedJitterUs) }},
	}
}

func init() {
	csvColumns = append(csvColumns, rtpColumns("customer", func(r *Record) *RTPStats { return &r.CustomerRTP })...)
	csvColumns = append(csvColumns, rtpColumns("carrier", func(r *Record) *RTPStats { return &r.CarrierRTP })...)
}

// Fields returns the names of every CSV column in the default order: the
// Record's JSON names plus setup_time, answer_time and end_time (RFC 3339
// with milliseconds, in the writer's location).
func Fields() []string {
	out := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		out[i] = c.name
	}
	return out
}

// operatorFields are the columns of the operator's side of a call: which
// carrier, at what cost and margin, how it was rated and failed over.
var operatorFields = map[string]bool{"carrier_id": true, "buy_rate": true, "buy_cost": true, "margin": true, "trace": true,
	"reason": true, "attempt": true, "node": true}

// CustomerDefaultFields returns the columns a customer gets without a field
// set of its own: every column but the operator's side.
func CustomerDefaultFields() []string {
	var out []string
	for _, f := range Fields() {
		if !operatorFields[f] {
			out = append(out, f)
		}
	}
	return out
}

// CheckFields returns ErrBadField naming the first field that is not a CSV
// column or that repeats.
func CheckFields(fields []string) error {
	_, err := columnsOf(fields)
	return err
}

func columnsOf(fields []string) ([]csvColumn, error) {
	if len(fields) == 0 {
		return csvColumns, nil
	}
	seen := make(map[string]bool, len(fields))
	out := make([]csvColumn, 0, len(fields))
	for _, f := range fields {
		if seen[f] {
			return nil, fmt.Errorf("%w: %q repeats", ErrBadField, f)
		}
		seen[f] = true
		found := false
		for _, c := range csvColumns {
			if c.name == f {
				out = append(out, c)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %q", ErrBadField, f)
		}
	}
	return out, nil
}

// CSVWriter writes CDRs as CSV (RFC 4180) with a header row. It is not safe
// for concurrent use.
type CSVWriter struct {
	w    *csv.Writer
	cols []csvColumn
	loc  *time.Location
	row  []string
}

// NewCSVWriter writes the header row of fields (nil or empty: every field,
// see Fields) to w and returns a writer for the rows; times are formatted in
// loc (nil: UTC).
func NewCSVWriter(w io.Writer, fields []string, loc *time.Location) (*CSVWriter, error) {
	cols, err := columnsOf(fields)
	if err != nil {
		return nil, err
	}
	if loc == nil {
		loc = time.UTC
	}
	c := &CSVWriter{w: csv.NewWriter(w), cols: cols, loc: loc, row: make([]string, len(cols))}
	for i, col := range cols {
		c.row[i] = col.name
	}
	if err := c.w.Write(c.row); err != nil {
		return nil, fmt.Errorf("writing CSV header: %w", err)
	}
	return c, nil
}

// Write adds r as one row.
func (c *CSVWriter) Write(r *Record) error {
	for i, col := range c.cols {
		c.row[i] = col.format(r, c.loc)
	}
	if err := c.w.Write(c.row); err != nil {
		return fmt.Errorf("writing CSV row: %w", err)
	}
	return nil
}

// Flush writes any buffered rows and returns the first error of any write.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

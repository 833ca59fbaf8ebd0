package cdr

import (
	"fmt"
	"strings"
)

// chColumn is a column of the CDR table and its ClickHouse type.
type chColumn struct{ name, typ string }

// chColumns are the columns of the CDR table in insert order. Every INSERT
// names them: ClickHouse 18.16 with clickhouse-go v2 inserts nothing
// otherwise. Columns are only ever appended, with types whose default (the
// zero value) is right for rows written before them: Migrate adds the ones a
// table created by an older release lacks. The sorting key never changes.
var chColumns = []chColumn{
	{"call_id", "String"},
	{"attempt", "Int32"},
	{"final", "UInt8"},
	{"node", "String"},
	{"customer_id", "String"},
	{"auth_method", "String"},
	{"carrier_id", "String"},
	{"source_ip", "String"},
	{"caller", "String"},
	{"callee", "String"},
	{"prefix", "String"},
	{"description", "String"},
	{"setup_time", "DateTime"},
	{"setup_ms", "UInt64"},
	{"answer_time", "DateTime"},
	{"answer_ms", "UInt64"},
	{"end_time", "DateTime"},
	{"end_ms", "UInt64"},
	{"pdd_ms", "Int64"},
	{"duration", "Int32"},
	{"billed", "Int32"},
	{"sip_code", "Int32"},
	{"reason", "String"},
	{"hangup_side", "String"},
	{"currency", "String"},
	{"sell_rate", "Decimal(18, 6)"},
	{"sell_cost", "Decimal(18, 6)"},
	{"buy_rate", "Decimal(18, 6)"},
	{"buy_cost", "Decimal(18, 6)"},
	{"margin", "Decimal(18, 6)"},
	{"trace", "String"},
	// Appended after the first release; see Migrate.
	{"sip_call_id", "String"},
	{"media_relayed", "UInt8"},
	{"customer_rtp_packets", "Int64"},
	{"customer_rtp_bytes", "Int64"},
	{"customer_rtp_lost", "Int64"},
	{"customer_rtp_jitter_us", "Int64"},
	{"customer_rtp_mos", "Float64"},
	{"customer_rtp_payload_types", "String"},
	{"carrier_rtp_packets", "Int64"},
	{"carrier_rtp_bytes", "Int64"},
	{"carrier_rtp_lost", "Int64"},
	{"carrier_rtp_jitter_us", "Int64"},
	{"carrier_rtp_mos", "Float64"},
	{"carrier_rtp_payload_types", "String"},
	{"customer_rtp_reported_lost", "Int64"},
	{"customer_rtp_reported_jitter_us", "Int64"},
	{"carrier_rtp_reported_lost", "Int64"},
	{"carrier_rtp_reported_jitter_us", "Int64"},
}

// createTableSQL is the schema. It keeps to what ClickHouse 18.16 accepts
// (no DateTime64, LowCardinality, TTL, CODEC) and still runs on current
// releases. ReplacingMergeTree collapses rows with the same sorting key; a
// re-delivered CDR has the same customer, setup time, call id and attempt, so
// at-least-once shipping leaves one row after merges, and FINAL hides the
// duplicates before them.
func createTableSQL(table string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", table)
	for i, c := range chColumns {
		sep := ","
		if i == len(chColumns)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "\t%s %s%s\n", c.name, c.typ, sep)
	}
	b.WriteString(") ENGINE = ReplacingMergeTree()\n")
	b.WriteString("PARTITION BY toYYYYMM(setup_time)\n")
	b.WriteString("ORDER BY (customer_id, setup_time, call_id, attempt)")
	return b.String()
}

func columnList() string {
	names := make([]string, len(chColumns))
	for i, c := range chColumns {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// validIdentifier reports whether s is safe to put in SQL unquoted.
func validIdentifier(s string) bool {
	if s == "" || len(s) > 64 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// quoteString returns s as a ClickHouse string literal. ClickHouse 18.16 has
// no server-side query parameters, so filter values are inlined: quote and
// backslash are escaped, and every byte outside printable ASCII is written as
// \xHH so nothing can end the literal early.
func quoteString(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

package cdr

import "context"

// Query selects CDRs. Zero fields do not filter. Times are unix milliseconds
// of the setup time, From inclusive and To exclusive.
type Query struct {
	CustomerID string
	CarrierID  string
	FromMs     int64
	ToMs       int64
	Limit      int // 0 means a default of 100
	Offset     int
}

// Source answers CDR queries. Implementations are safe for concurrent use.
type Source interface {
	Query(ctx context.Context, q Query) ([]Record, error)
}

// Sink takes finished CDRs. Write returns once the record is durable; an
// error means the record was not kept and the caller must report it.
type Sink interface {
	Write(ctx context.Context, r Record) error
}

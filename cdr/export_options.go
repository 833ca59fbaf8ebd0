package cdr

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/store"
)

// ExportOption configures NewExporter.
type ExportOption interface{ applyExport(*exportConfig) }

// Defaults of the exporter options.
const (
	DefaultExportInterval   = time.Minute
	DefaultExportTimeout    = 2 * time.Minute
	DefaultExportBackoffMin = time.Minute
	DefaultExportBackoffMax = time.Hour
)

type exportConfig struct {
	logger     *slog.Logger
	registerer prometheus.Registerer
	interval   time.Duration
	timeout    time.Duration
	backoffMin time.Duration
	backoffMax time.Duration
	now        func() time.Time
	open       func(value, context string) (string, error)
	loc        *time.Location // periods of customers without a timezone
}

type exportOptionFunc func(*exportConfig)

func (f exportOptionFunc) applyExport(c *exportConfig) { f(c) }

// WithExportInterval sets how often Run looks for periods that are due
// (default DefaultExportInterval).
func WithExportInterval(d time.Duration) ExportOption {
	return exportOptionFunc(func(c *exportConfig) { c.interval = d })
}

// WithExportTimeout bounds building and uploading one file (default
// DefaultExportTimeout).
func WithExportTimeout(d time.Duration) ExportOption {
	return exportOptionFunc(func(c *exportConfig) { c.timeout = d })
}

// WithExportBackoff sets the wait before retrying a failed period: min
// after the first failure, doubling up to max (defaults
// DefaultExportBackoffMin, DefaultExportBackoffMax).
func WithExportBackoff(min, max time.Duration) ExportOption {
	return exportOptionFunc(func(c *exportConfig) { c.backoffMin, c.backoffMax = min, max })
}

// WithClock sets the exporter's clock (default time.Now), for tests.
func WithClock(now func() time.Time) ExportOption {
	return exportOptionFunc(func(c *exportConfig) { c.now = now })
}

// WithSecrets sets how the exporter opens an export's sealed password and
// private key (auth.Sealer.Open): context is "export/<id>/password" or
// "export/<id>/private_key". Without it they are used as stored.
func WithSecrets(open func(value, context string) (string, error)) ExportOption {
	return exportOptionFunc(func(c *exportConfig) { c.open = open })
}

// WithDefaultTimezone sets the timezone that cuts the export periods of
// customers without one (default UTC).
func WithDefaultTimezone(loc *time.Location) ExportOption {
	return exportOptionFunc(func(c *exportConfig) { c.loc = loc })
}

// SecretContext is what an export's secret field is sealed for: the
// export and the server it is for, so that a secret moved to another
// record, or kept while the export is pointed at another server, does not
// open.
func SecretContext(x *store.Export, field string) string {
	return fmt.Sprintf("export/%s/%s/%s://%s@%s:%d", x.ID, field, x.Protocol, x.Username, x.Host, x.Port)
}

// sealedPrefix starts a sealed value (auth.Sealer's).
const sealedPrefix = "sealed:"

package cdr

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/store"
)

// Export formats.
const (
	FormatCSV   = "csv"
	FormatCSVGz = "csv.gz"
)

// Export run statuses.
const (
	RunOK     = "ok"
	RunFailed = "failed"
)

// ErrExportNotFound is returned by RunPeriod for an unknown export id.
var ErrExportNotFound = errors.New("cdr: no such export")

// Exporter delivers scheduled CDR exports (store.Export): for each job, the
// last closed period in the customer's timezone is built from the CDR
// source as one file and uploaded over SFTP or FTP under a name fixed by
// the period, so a re-run replaces the same file. Every attempt is logged
// as a store.ExportRun. A failed period is retried with exponential backoff
// until it succeeds or a newer period closes. Safe for concurrent use; runs
// of one export are serialised.
type Exporter struct {
	st     store.Store
	src    Source
	cfg    exportConfig
	log    *slog.Logger
	upload uploadFunc
	runs   *prometheus.CounterVec

	mu      sync.Mutex
	retries map[string]exportRetry // by export id
	busy    map[string]*sync.Mutex // by export id
}

type exportRetry struct {
	period   string
	failures int
	next     time.Time
}

// NewExporter returns an exporter of the jobs in st, reading CDRs from src.
func NewExporter(st store.Store, src Source, opts ...ExportOption) *Exporter {
	cfg := exportConfig{
		interval:   DefaultExportInterval,
		timeout:    DefaultExportTimeout,
		backoffMin: DefaultExportBackoffMin,
		backoffMax: DefaultExportBackoffMax,
		now:        time.Now,
	}
	for _, o := range opts {
		o.applyExport(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = discardLogger()
	}
	if cfg.backoffMin <= 0 {
		cfg.backoffMin = DefaultExportBackoffMin
	}
	cfg.backoffMax = max(cfg.backoffMax, cfg.backoffMin)
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trunkline_cdr_export_runs_total",
		Help: "CDR export attempts by protocol and status (ok, failed).",
	}, []string{"protocol", "status"})
	return &Exporter{
		st: st, src: src, cfg: cfg, upload: upload,
		log:     cfg.logger.With("subsystem", "export"),
		runs:    register(cfg.registerer, runs),
		retries: map[string]exportRetry{},
		busy:    map[string]*sync.Mutex{},
	}
}

// Run delivers due periods every interval until ctx ends, then returns
// ctx's error.
func (e *Exporter) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.interval)
	defer t.Stop()
	for {
		e.tick(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// tick runs the last closed period of every enabled export that has no
// successful run for it and is not waiting out a backoff.
func (e *Exporter) tick(ctx context.Context) {
	exports, err := store.ListJSON[store.Export](ctx, e.st, store.Exports)
	if err != nil {
		e.log.Error("listing exports", "err", err)
		return
	}
	for _, x := range exports {
		if ctx.Err() != nil {
			return
		}
		if x.Disabled {
			continue
		}
		loc, err := e.location(ctx, x.CustomerID)
		if err != nil {
			e.log.Error("export skipped", "export", x.ID, "err", err)
			continue
		}
		p, err := LastClosedPeriod(x.Frequency, e.cfg.now(), loc)
		if err != nil {
			e.log.Error("export skipped", "export", x.ID, "err", err)
			continue
		}
		if done, err := e.delivered(ctx, x.ID, p.Name); err != nil || done {
			continue
		}
		e.mu.Lock()
		r := e.retries[x.ID]
		waiting := r.period == p.Name && e.cfg.now().Before(r.next)
		e.mu.Unlock()
		if waiting {
			continue
		}
		run, ran, err := e.runOnce(ctx, x.ID, p.Name)
		if !ran {
			continue
		}
		e.mu.Lock()
		if err == nil && run.Status == RunOK {
			delete(e.retries, x.ID)
		} else {
			if r.period != p.Name {
				r = exportRetry{period: p.Name}
			}
			r.failures++
			wait := e.cfg.backoffMin << min(r.failures-1, 20)
			r.next = e.cfg.now().Add(min(wait, e.cfg.backoffMax))
			e.retries[x.ID] = r
		}
		e.mu.Unlock()
	}
}

// runOnce runs period of export id, once in a cluster: on a store shared
// by nodes (a store.Locker) it runs only with the period's lock, and only
// if no node has delivered it meanwhile. ran is false when it did not try.
func (e *Exporter) runOnce(ctx context.Context, id, period string) (run store.ExportRun, ran bool, err error) {
	if l, ok := e.st.(store.Locker); ok {
		release, got, lerr := l.TryLock(ctx, "export/"+id+"/"+period, e.cfg.timeout+time.Minute)
		if lerr != nil {
			e.log.Warn("export lock unavailable", "export", id, "period", period, "err", lerr)
			return run, false, nil // the next tick tries again
		}
		if !got {
			return run, false, nil // another node is running it
		}
		defer release()
		if done, derr := e.delivered(ctx, id, period); derr != nil || done {
			return run, false, nil
		}
	}
	run, err = e.RunPeriod(ctx, id, period)
	return run, true, err
}

// delivered reports whether export id has a successful run of period.
func (e *Exporter) delivered(ctx context.Context, id, period string) (bool, error) {
	runs, err := Runs(ctx, e.st, id)
	if err != nil {
		e.log.Error("listing export runs", "export", id, "err", err)
		return false, err
	}
	for _, r := range runs {
		if r.Period == period && r.Status == RunOK {
			return true, nil
		}
	}
	return false, nil
}

// Runs returns the logged runs of export id, oldest first.
func Runs(ctx context.Context, st store.Store, id string) ([]store.ExportRun, error) {
	all, err := store.ListJSON[store.ExportRun](ctx, st, store.ExportRuns)
	if err != nil {
		return nil, err
	}
	var out []store.ExportRun
	for _, r := range all {
		if r.ExportID == id {
			out = append(out, r)
		}
	}
	return out, nil
}

// location returns the timezone of customer id (the switch's default, UTC
// unless set, when it has none).
func (e *Exporter) location(ctx context.Context, customerID string) (*time.Location, error) {
	c, err := store.GetJSON[store.Customer](ctx, e.st, store.Customers, customerID)
	if err != nil {
		return nil, fmt.Errorf("loading customer %s: %w", customerID, err)
	}
	if c.Timezone == "" {
		if e.cfg.loc != nil {
			return e.cfg.loc, nil
		}
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("customer %s timezone: %w", customerID, err)
	}
	return loc, nil
}

// FileName returns the remote file name of a period of export x.
func FileName(x *store.Export, period string) string {
	name := "cdrs_" + x.CustomerID + "_" + period + ".csv"
	if x.Format == FormatCSVGz {
		name += ".gz"
	}
	return name
}

// RunPeriod makes one attempt to deliver the named period of export id now
// and logs it. The returned run says whether it succeeded; the error is
// ErrExportNotFound, ErrBadPeriod, or a failure to log the run.
func (e *Exporter) RunPeriod(ctx context.Context, id, period string) (store.ExportRun, error) {
	x, err := store.GetJSON[store.Export](ctx, e.st, store.Exports, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.ExportRun{}, fmt.Errorf("%w: %s", ErrExportNotFound, id)
	}
	if err != nil {
		return store.ExportRun{}, err
	}
	loc, err := e.location(ctx, x.CustomerID)
	if err != nil {
		return store.ExportRun{}, err
	}
	p, err := ParsePeriod(x.Frequency, period, loc)
	if err != nil {
		return store.ExportRun{}, err
	}
	lock := e.lock(id)
	lock.Lock()
	defer lock.Unlock()

	start := e.cfg.now()
	run := store.ExportRun{
		// Sorts by start time; the random tail keeps two runs started in
		// the same nanosecond (or under a test clock) apart.
		ID:       fmt.Sprintf("%s-%016x-%s", id, start.UnixNano(), store.NewID()[:6]),
		ExportID: id, Period: p.Name, From: p.From.UnixMilli(), To: p.To.UnixMilli(),
		Started: start.UnixMilli(), File: FileName(&x, p.Name),
	}
	actx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
	n, size, hostKey, err := e.deliver(actx, &x, p, loc, run.File)
	cancel()
	run.Records, run.Bytes, run.Finished = n, size, e.cfg.now().UnixMilli()
	run.Status = RunOK
	if err != nil {
		run.Status, run.Error = RunFailed, err.Error()
		e.log.Warn("export failed", "export", id, "period", p.Name, "err", err)
	} else {
		e.log.Info("export delivered", "export", id, "period", p.Name, "file", run.File, "records", n, "bytes", size)
	}
	e.runs.WithLabelValues(protocolLabel(x.Protocol), run.Status).Inc()
	if x.Protocol == ProtocolSFTP && x.HostKey == "" && hostKey != "" && err == nil {
		e.pinHostKey(ctx, id, hostKey)
	}
	if err := store.PutJSON(context.WithoutCancel(ctx), e.st, store.ExportRuns, run.ID, run); err != nil {
		return run, fmt.Errorf("logging export run: %w", err)
	}
	return run, nil
}

// pinHostKey keeps the first SFTP host key seen for export id, so later
// runs refuse a different server.
func (e *Exporter) pinHostKey(ctx context.Context, id, key string) {
	x, err := store.GetJSON[store.Export](ctx, e.st, store.Exports, id)
	if err != nil || x.HostKey != "" {
		return
	}
	x.HostKey = key
	if err := store.PutJSON(ctx, e.st, store.Exports, id, x); err != nil {
		e.log.Error("keeping the export's host key", "export", id, "err", err)
		return
	}
	e.log.Info("export host key pinned", "export", id, "key", key)
}

func protocolLabel(p string) string {
	if p == ProtocolSFTP || p == ProtocolFTP {
		return p
	}
	return "other"
}

func (e *Exporter) lock(id string) *sync.Mutex {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.busy[id]
	if m == nil {
		m = &sync.Mutex{}
		e.busy[id] = m
	}
	return m
}

// deliver builds and uploads the file of period p of x.
func (e *Exporter) deliver(ctx context.Context, x *store.Export, p Period, loc *time.Location, name string) (records int, size int64, hostKey string, err error) {
	// An export goes to the customer: its final CDRs, in the export's
	// fields, else the customer's field set, else every column but the
	// operator's side (carrier, buy, margin, trace, attempts).
	fields := x.Fields
	if len(fields) == 0 {
		if fields, err = CustomerFields(ctx, e.st, x.CustomerID); err != nil {
			return 0, 0, "", err
		}
	}
	if len(fields) == 0 {
		fields = CustomerDefaultFields()
	}
	q := Query{CustomerID: x.CustomerID, FromMs: p.From.UnixMilli(), ToMs: p.To.UnixMilli(), FinalOnly: true}
	data, n, err := BuildFile(ctx, e.src, q, fields, x.Format, loc)
	if err != nil {
		return 0, 0, "", err
	}
	dir := strings.TrimSpace(x.RemoteDir)
	plain := *x // the secrets opened, on a copy that is never stored
	if e.cfg.open == nil && (strings.HasPrefix(x.Password, sealedPrefix) || strings.HasPrefix(x.PrivateKey, sealedPrefix)) {
		return 0, 0, "", fmt.Errorf("export %s credentials are sealed and this node has no secret key (secret_key_file or TRUNKLINE_SECRET_KEY)", x.ID)
	}
	if e.cfg.open != nil {
		if plain.Password, err = e.cfg.open(x.Password, SecretContext(x, "password")); err == nil {
			plain.PrivateKey, err = e.cfg.open(x.PrivateKey, SecretContext(x, "private_key"))
		}
		if err != nil {
			return 0, 0, "", fmt.Errorf("export %s credentials: %w", x.ID, err)
		}
	}
	hostKey, err = e.upload(ctx, &plain, dir, name, data, e.cfg.timeout)
	return n, int64(len(data)), hostKey, err
}

// CustomerFields returns the CDR field set of customer id, or nil (every
// field) when it has none.
func CustomerFields(ctx context.Context, st store.Store, customerID string) ([]string, error) {
	fs, err := store.GetJSON[store.CDRFieldSet](ctx, st, store.CDRFieldSets, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading CDR fields of %s: %w", customerID, err)
	}
	return fs.Fields, nil
}

// BuildFile returns the CSV (format FormatCSV) or gzipped CSV (FormatCSVGz)
// of every CDR matching q, oldest setup time first, with the given fields
// and times in loc, and the number of records in it.
func BuildFile(ctx context.Context, src Source, q Query, fields []string, format string, loc *time.Location) ([]byte, int, error) {
	if format != FormatCSV && format != FormatCSVGz {
		return nil, 0, fmt.Errorf("export format %q is not csv or csv.gz", format)
	}
	var recs []Record
	if err := Each(ctx, src, q, func(r *Record) error {
		recs = append(recs, *r)
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("reading CDRs: %w", err)
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].SetupMs != recs[j].SetupMs {
			return recs[i].SetupMs < recs[j].SetupMs
		}
		if recs[i].CallID != recs[j].CallID {
			return recs[i].CallID < recs[j].CallID
		}
		return recs[i].Attempt < recs[j].Attempt
	})
	var buf bytes.Buffer
	var gz *gzip.Writer
	var out io.Writer = &buf
	if format == FormatCSVGz {
		gz = gzip.NewWriter(&buf)
		out = gz
	}
	w, err := NewCSVWriter(out, fields, loc)
	if err != nil {
		return nil, 0, err
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			return nil, 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return nil, 0, fmt.Errorf("compressing: %w", err)
		}
	}
	return buf.Bytes(), len(recs), nil
}

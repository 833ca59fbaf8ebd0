package admin

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/store"
)

// exportsState holds the exporter behind POST /api/v1/exports/{id}/run,
// and the sealer of exports' passwords and private keys.
type exportsState struct {
	once     sync.Once
	exporter *cdr.Exporter
	sealer   *auth.Sealer
}

// WithSealer sets the sealer that encrypts exports' passwords and private
// keys at rest. Without it an export with either is refused: the switch
// does not store them in clear.
func WithSealer(sl *auth.Sealer) Option { return func(s *Server) { s.exports.sealer = sl } }

// WithExporter sets the exporter that runs export periods on demand (the
// one the switch schedules). Without it the server makes its own over its
// store and CDR source.
func WithExporter(e *cdr.Exporter) Option { return func(s *Server) { s.exports.exporter = e } }

func (s *Server) exporter() *cdr.Exporter {
	s.exports.once.Do(func() {
		if s.exports.exporter == nil && s.cdrs != nil {
			opts := []cdr.ExportOption{cdr.WithLogger(s.log)}
			if sl := s.exports.sealer; sl != nil {
				opts = append(opts, cdr.WithSecrets(sl.Open))
			}
			s.exports.exporter = cdr.NewExporter(s.st, s.cdrs, opts...)
		}
	})
	return s.exports.exporter
}

// exportView is an export as the API shows it: secrets are write-only.
type exportView struct {
	store.Export
	HasPassword   bool `json:"has_password"`
	HasPrivateKey bool `json:"has_private_key"`
}

func viewExport(x store.Export) exportView {
	v := exportView{Export: x, HasPassword: x.Password != "", HasPrivateKey: x.PrivateKey != ""}
	v.Password, v.PrivateKey = "", ""
	return v
}

// validExport checks x and fills its defaults.
func (s *Server) validExport(ctx context.Context, x *store.Export) error {
	if x.CustomerID == "" {
		return errInvalid("customer_id", "required")
	}
	c, err := store.GetJSON[store.Customer](ctx, s.st, store.Customers, x.CustomerID)
	if isNotFound(err) {
		return errInvalid("customer_id", "no customer %q", x.CustomerID)
	}
	if err != nil {
		return err
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			return errInvalid("customer_id", "the customer's timezone %q is unknown", c.Timezone)
		}
	}
	if err := oneOf("protocol", &x.Protocol, "", cdr.ProtocolSFTP, cdr.ProtocolFTP); err != nil {
		return err
	}
	if x.Host == "" || len(x.Host) > 253 || strings.ContainsAny(x.Host, " \t\r\n/@") {
		return errInvalid("host", "must be a host name or IP address, got %q", x.Host)
	}
	if x.Port == 0 {
		x.Port = map[string]int{cdr.ProtocolSFTP: 22, cdr.ProtocolFTP: 21}[x.Protocol]
	}
	if x.Port < 1 || x.Port > 65535 {
		return errInvalid("port", "must be 1..65535, got %d", x.Port)
	}
	if x.Username == "" || len(x.Username) > 128 {
		return errInvalid("username", "required, up to 128 bytes")
	}
	if x.PrivateKey != "" {
		if x.Protocol != cdr.ProtocolSFTP {
			return errInvalid("private_key", "only for sftp")
		}
		if auth.IsSealed(x.PrivateKey) {
			// kept from the stored export: checked when it was given
		} else if _, err := ssh.ParsePrivateKey([]byte(x.PrivateKey)); err != nil {
			return errInvalid("private_key", "not an unencrypted PEM/OpenSSH private key: %v", err)
		}
	}
	if x.Password == "" && x.PrivateKey == "" {
		return errInvalid("password", "a password or (sftp) a private_key is required")
	}
	if x.HostKey != "" {
		if x.Protocol != cdr.ProtocolSFTP {
			return errInvalid("host_key", "only for sftp")
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(x.HostKey)); err != nil {
			return errInvalid("host_key", "not an authorized_keys line: %v", err)
		}
	}
	if len(x.RemoteDir) > 1024 || strings.ContainsAny(x.RemoteDir, "\x00\r\n") || containsDotDot(x.RemoteDir) {
		return errInvalid("remote_dir", "must be a path without '..', up to 1024 bytes")
	}
	if err := cdr.CheckFields(x.Fields); err != nil {
		return errInvalid("fields", "%v (known: %v)", err, cdr.Fields())
	}
	if err := oneOf("format", &x.Format, cdr.FormatCSV, cdr.FormatCSV, cdr.FormatCSVGz); err != nil {
		return err
	}
	return oneOf("frequency", &x.Frequency, cdr.Daily, cdr.Daily, cdr.Weekly, cdr.Monthly)
}

// sealSecrets seals x's password and private key given in clear (those
// kept from the stored export are sealed already).
func (s *Server) sealSecrets(x *store.Export) error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"password", &x.Password}, {"private_key", &x.PrivateKey}} {
		if *f.v == "" || auth.IsSealed(*f.v) {
			continue
		}
		if s.exports.sealer == nil {
			return errInvalid(f.name, "the switch has no secret key to keep it with: set secret_key_file or TRUNKLINE_SECRET_KEY")
		}
		*f.v = s.exports.sealer.Seal(*f.v, cdr.SecretContext(x, f.name))
	}
	return nil
}

// unsealedInput refuses a sealed value sent by a client: a secret is
// given in clear, and only the switch seals it.
func unsealedInput(x *store.Export) error {
	if auth.IsSealed(x.Password) {
		return errInvalid("password", "give the password itself")
	}
	if auth.IsSealed(x.PrivateKey) {
		return errInvalid("private_key", "give the private key itself")
	}
	return nil
}

func containsDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func (s *Server) createExport(w http.ResponseWriter, r *http.Request) error {
	var x store.Export
	if err := decodeBody(w, r, maxJSONBody, &x); err != nil {
		return err
	}
	if err := checkID(x.ID, ""); err != nil {
		return err
	}
	if err := unsealedInput(&x); err != nil {
		return err
	}
	x.ID, x.Created = store.NewID(), time.Now().Unix()
	err := s.write(r, func(ctx context.Context) error {
		if err := s.validExport(ctx, &x); err != nil {
			return err
		}
		if err := s.sealSecrets(&x); err != nil {
			return err
		}
		return store.PutJSON(ctx, s.st, store.Exports, x.ID, x)
	})
	if err != nil {
		return err
	}
	s.log.Info("export created", "id", x.ID, "customer", x.CustomerID, "protocol", x.Protocol)
	w.Header().Set("Location", "/api/v1/exports/"+x.ID)
	writeJSON(w, http.StatusCreated, viewExport(x))
	return nil
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request) error {
	xs, err := store.ListJSON[store.Export](r.Context(), s.st, store.Exports)
	if err != nil {
		return err
	}
	out := make([]exportView, 0, len(xs))
	for _, x := range xs {
		if c := r.URL.Query().Get("customer"); c == "" || c == x.CustomerID {
			out = append(out, viewExport(x))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"exports": out})
	return nil
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request) error {
	x, err := load[store.Export](r.Context(), s.st, store.Exports, "export", r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewExport(x))
	return nil
}

// putExport replaces an export. Password, private_key and host_key may be
// omitted to keep the stored ones.
func (s *Server) putExport(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var x store.Export
	if err := decodeBody(w, r, maxJSONBody, &x); err != nil {
		return err
	}
	if err := checkID(x.ID, id); err != nil {
		return err
	}
	if err := unsealedInput(&x); err != nil {
		return err
	}
	x.ID = id
	err := s.write(r, func(ctx context.Context) error {
		old, err := load[store.Export](ctx, s.st, store.Exports, "export", id)
		if err != nil {
			return err
		}
		x.Created = old.Created
		if x.Password == "" && x.PrivateKey == "" {
			if x.Protocol != old.Protocol || x.Host != old.Host || x.Port != old.Port || x.Username != old.Username {
				// The stored secret was given for the old server: it does
				// not go to another one unless given again.
				return errInvalid("password", "the server or user changed: give the password (or private_key) again")
			}
			x.Password, x.PrivateKey = old.Password, old.PrivateKey
		}
		if x.HostKey == "" && x.Host == old.Host && x.Port == old.Port {
			x.HostKey = old.HostKey
		}
		if err := s.validExport(ctx, &x); err != nil {
			return err
		}
		if err := s.sealSecrets(&x); err != nil {
			return err
		}
		return store.PutJSON(ctx, s.st, store.Exports, id, x)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewExport(x))
	return nil
}

// deleteExport removes an export; its run log is kept.
func (s *Server) deleteExport(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.write(r, func(ctx context.Context) error {
		return remove(ctx, s.st, store.Exports, "export", id)
	}); err != nil {
		return err
	}
	s.log.Info("export deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listExportRuns answers the export's run log, newest first.
func (s *Server) listExportRuns(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := load[store.Export](r.Context(), s.st, store.Exports, "export", id); err != nil {
		return err
	}
	runs, err := cdr.Runs(r.Context(), s.st, id)
	if err != nil {
		return err
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID > runs[j].ID })
	if runs == nil {
		runs = []store.ExportRun{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
	return nil
}

// runExport answers POST /api/v1/exports/{id}/run?period=: it delivers one
// period now (default: the last closed one) and answers the logged run;
// 502 when the delivery failed (the run is logged all the same).
func (s *Server) runExport(w http.ResponseWriter, r *http.Request) error {
	e := s.exporter()
	if e == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no CDR source is configured")
	}
	id := r.PathValue("id")
	x, err := load[store.Export](r.Context(), s.st, store.Exports, "export", id)
	if err != nil {
		return err
	}
	period := r.URL.Query().Get("period")
	if period == "" {
		c, err := load[store.Customer](r.Context(), s.st, store.Customers, "customer", x.CustomerID)
		if err != nil {
			return err
		}
		loc := s.location()
		if c.Timezone != "" {
			if loc, err = time.LoadLocation(c.Timezone); err != nil {
				return errInvalid("timezone", "the customer's timezone %q is unknown", c.Timezone)
			}
		}
		p, err := cdr.LastClosedPeriod(x.Frequency, time.Now(), loc)
		if err != nil {
			return err
		}
		period = p.Name
	}
	run, err := e.RunPeriod(context.WithoutCancel(r.Context()), id, period)
	switch {
	case errors.Is(err, cdr.ErrBadPeriod):
		return errInvalid("period", "%v", err)
	case errors.Is(err, cdr.ErrExportNotFound):
		return errNotFound("export", id)
	case err != nil:
		return err
	case run.Status != cdr.RunOK:
		return errStatus(http.StatusBadGateway, CodeExportFailed, "export run %s failed: %s", run.ID, run.Error)
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// CodeExportFailed is the error code of a run-now whose delivery failed.
const CodeExportFailed = "export_failed"

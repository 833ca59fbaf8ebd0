package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/store"
)

// openSealer returns the sealer of the secrets the switch keeps (CDR
// export passwords and private keys), its key from TRUNKLINE_SECRET_KEY,
// cfg.SecretKeyFile, or (embedded store only) secret.key in the data
// directory, made at the first start; nil on Redis without a key. It then
// seals the secrets stored in clear by an earlier version.
func (n *node) openSealer(ctx context.Context, cfg *Config) (*auth.Sealer, error) {
	var key []byte
	var err error
	_, onRedis := n.store.(*store.Redis)
	switch v := os.Getenv("TRUNKLINE_SECRET_KEY"); {
	case v != "":
		if key, err = auth.ParseSealKey(v); err != nil {
			return nil, fmt.Errorf("TRUNKLINE_SECRET_KEY: %w", err)
		}
	case cfg.SecretKeyFile != "":
		key, err = auth.LoadSealKeyFile(cfg.SecretKeyFile, false)
	case !onRedis:
		key, err = auth.LoadSealKeyFile(filepath.Join(cfg.Data, "secret.key"), true)
	default:
		n.log.Warn("no secret key (secret_key_file or TRUNKLINE_SECRET_KEY): CDR exports with a password or private key are refused")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sealer, err := auth.NewSealer(key)
	if err != nil {
		return nil, err
	}
	if err := sealStoredSecrets(ctx, n.store, sealer); err != nil {
		// The switch runs on; the exports concerned fail, saying so.
		n.log.Error("stored export secrets", "error", err)
	}
	return sealer, nil
}

// sealStoredSecrets seals the export passwords and private keys an earlier
// version stored in clear, and checks that the sealed ones open with this
// key (a changed key is said at start, not only at the next export).
func sealStoredSecrets(ctx context.Context, st store.Store, sealer *auth.Sealer) error {
	xs, err := store.ListJSON[store.Export](ctx, st, store.Exports)
	if err != nil {
		return fmt.Errorf("reading exports: %w", err)
	}
	var unopened []error
	for _, x := range xs {
		changed := false
		for _, f := range []struct {
			name string
			v    *string
		}{{"password", &x.Password}, {"private_key", &x.PrivateKey}} {
			switch {
			case *f.v == "":
			case auth.IsSealed(*f.v):
				if _, err := sealer.Open(*f.v, cdr.SecretContext(&x, f.name)); err == nil {
					break
				}
				// Sealed for the export alone (before its server was in the
				// context): sealed again for both.
				plain, err := sealer.Open(*f.v, "export/"+x.ID+"/"+f.name)
				if err != nil {
					unopened = append(unopened, fmt.Errorf("export %s %s: %w", x.ID, f.name, err))
					break
				}
				*f.v, changed = sealer.Seal(plain, cdr.SecretContext(&x, f.name)), true
			default:
				*f.v, changed = sealer.Seal(*f.v, cdr.SecretContext(&x, f.name)), true
			}
		}
		if changed {
			if err := store.PutJSON(ctx, st, store.Exports, x.ID, x); err != nil {
				return fmt.Errorf("sealing the secrets of export %s: %w", x.ID, err)
			}
		}
	}
	return errors.Join(unopened...)
}

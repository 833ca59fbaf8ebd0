package storetest

import (
	"os"
	"testing"
)

// Missing ends a test whose outside service (Redis, ClickHouse, the FTP and
// SFTP servers, sipp: what scripts/services.sh starts) is not there, saying
// why in msg: skipped, except in CI, where a missing service is a failure.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

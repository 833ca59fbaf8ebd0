package cdr

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

type shipperConfig struct {
	logger     *slog.Logger
	registerer prometheus.Registerer
}

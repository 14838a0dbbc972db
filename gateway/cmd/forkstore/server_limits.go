package main

import (
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/forkstore/forkstore/s3api"
)

// connFlags are the server's limits on client connections
// (docs/security.md, "Limits").
type connFlags struct {
	maxConns             int
	minRate              int64
	idle, header, window time.Duration
}

func addConnFlags(a *app, fs *pflag.FlagSet, f *connFlags) {
	fs.IntVar(&f.maxConns, "max-connections", 0, "most client connections open at once; 0 derives it from the open-file limit")
	envDefault(a, fs, "max-connections")
	envDuration(a, fs, &f.idle, "idle-timeout", 60*time.Second, "how long a connection may wait for a request (before the first and between requests)")
	envDuration(a, fs, &f.header, "header-timeout", 20*time.Second, "how long a client may take to send a request's line and headers")
	fs.Int64Var(&f.minRate, "min-body-rate", 1024, "slowest a request or response body may move, in bytes per second over --body-rate-window")
	envDefault(a, fs, "min-body-rate")
	envDuration(a, fs, &f.window, "body-rate-window", 60*time.Second, "the window over which --min-body-rate is measured")
}

// apply checks the flags and sets them in cfg.
func (f *connFlags) apply(cfg *s3api.Config) error {
	if f.maxConns < 0 {
		return usagef("--max-connections: want a non-negative integer, got %d", f.maxConns)
	}
	if f.minRate < 1 {
		return usagef("--min-body-rate: want a positive number of bytes per second, got %d", f.minRate)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--idle-timeout", f.idle}, {"--header-timeout", f.header}, {"--body-rate-window", f.window}} {
		if d.v < time.Second {
			return usagef("%s: want a duration of at least 1s, got %s", d.flag, d.v)
		}
	}
	cfg.MaxConnections, cfg.MinBodyRate = f.maxConns, f.minRate
	cfg.IdleTimeout, cfg.HeaderTimeout, cfg.BodyRateWindow = f.idle, f.header, f.window
	return nil
}

// raiseFDLimit raises the soft open-file limit to the hard one and logs
// the limit the server runs with.
func raiseFDLimit(logger *slog.Logger) {
	n, err := s3api.RaiseFDLimit()
	if err != nil {
		logger.Warn("raising the open-file limit", "err", err.Error(), "limit", n)
		return
	}
	logger.Info("open-file limit", "limit", n)
}

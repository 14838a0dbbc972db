package main

// The server's operational listeners and signals: the metrics listener and
// the certificate reload.

import (
	"crypto/tls"

	"context"
	"errors"
	"fmt"
	"github.com/forkstore/forkstore/console"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/forkstore/forkstore/gateway/certs"
	"github.com/forkstore/forkstore/s3api"
)

// reloadOnHangup reloads the TLS certificate on SIGHUP until ctx ends.
// New connections get the new certificate; open ones keep theirs. A
// certificate that fails to load is logged and the old one stays.
func reloadOnHangup(ctx context.Context, c *certs.Reloader, logger *slog.Logger) {
	logCert := func(msg string) {
		leaf := c.Certificate().Leaf
		logger.Info(msg, "subject", leaf.Subject.String(), "dns", leaf.DNSNames, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	logCert("TLS certificate loaded")
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := c.Reload(); err != nil {
					logger.Error("TLS certificate not reloaded, the previous one stays", "err", err)
					continue
				}
				logCert("TLS certificate reloaded")
			}
		}
	}()
}

// serveMetrics serves GET /metrics on addr (when set), behind the bearer
// token when there is one, and says where metrics can be scraped.
func serveMetrics(addr, token string, g prometheus.Gatherer, logger *slog.Logger) (stop func(), err error) {
	switch {
	case addr == "" && token == "":
		logger.Info("metrics not served: set --metrics-addr or FORKSTORE_METRICS_TOKEN")
		return func() {}, nil
	case addr == "":
		logger.Info("serving metrics on the S3 listener", "path", "/metrics", "auth", "bearer token")
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	prom := promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if !s3api.BearerOK(r.Header.Get("Authorization"), token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="forkstore metrics"`)
			http.Error(w, "scraping /metrics needs the bearer token (FORKSTORE_METRICS_TOKEN)", http.StatusUnauthorized)
			return
		}
		prom.ServeHTTP(w, r)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("metrics server", "err", err)
		}
	}()
	logger.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics", "token", token != "")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}, nil
}

// serveConsole serves the web console on its own address (when set),
// over TLS when the S3 port is.
func serveConsole(addr string, h http.Handler, tc *tls.Config, logger *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--console-addr: %w", err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, h)
	mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusSeeOther))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("console server", "err", err)
		}
	}()
	logger.Info("serving the console", "addr", ln.Addr().String(), "path", console.Prefix)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}, nil
}

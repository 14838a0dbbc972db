package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/forkstore/forkstore/console"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/certs"
	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/s3api"
)

func init() { register(newServerCmd) }

// serverFlags are the server's flags; each has a FORKSTORE_* variable as
// its default (FORKSTORE_S3_ADDR for --s3-addr).
type serverFlags struct {
	data, s3Addr, raftAddr, nodeID, region, domains, history, maxDepth string
	pprofAddr, logLevel, metricsAddr, maxBatch, minFree                string
	consoleAddr                                                        string
	noConsole                                                          bool
	memoryBudget, inlineMax                                            string
	tlsCert, tlsKey                                                    string
	kmsKeyFile                                                         string
	accessLog                                                          bool
	strictOwnership                                                    bool
	slowRequest                                                        time.Duration
	cluster                                                            clusterFlags
	conn                                                               connFlags
	lifecycleInterval                                                  time.Duration
}

const serverLong = `Run a forkstore node: the S3 API and the admin API on --s3-addr, Raft on
--raft-addr, state in --data. Every flag also reads the environment variable
named in its help (a flag on the command line wins).

Environment:
  FORKSTORE_ROOT_USER, FORKSTORE_ROOT_PASSWORD   root credentials (required)
  FORKSTORE_CLUSTER_KEY                          node-to-node secret (clusters of 2+ nodes)
  FORKSTORE_KMS_KEY                              master key(s) of server-side encryption: base64
                                                 32-byte keys separated by commas, the first one
                                                 current (instead of --kms-key-file)
  FORKSTORE_METRICS_TOKEN                        bearer token for GET /metrics: with it, the S3
                                                 listener serves /metrics to requests carrying
                                                 "Authorization: Bearer <token>" (and so must
                                                 scrapes of --metrics-addr)
  FORKSTORE_PREVIOUS_ROOT_PASSWORD               the root password before the last change: opens
                                                 access key secrets sealed under it until the
                                                 server has re-sealed them
  GOMEMLIMIT                                     Go heap soft limit (default: 3/4 of
                                                 --memory-budget, plus 1.25 MiB per metadata
                                                 shard beyond the first)`

func newServerCmd(a *app) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:         "server [flags]",
		Short:       "Run a forkstore node",
		Long:        serverLong,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{annotNoGlobalFlags: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServer(cmd.Context(), a, &f)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	envString(a, fs, &f.data, "data", "data", "data directory")
	envString(a, fs, &f.s3Addr, "s3-addr", "127.0.0.1:9000", "S3 and admin API listen address")
	envString(a, fs, &f.raftAddr, "raft-addr", "127.0.0.1:9001", "Raft listen address")
	envString(a, fs, &f.nodeID, "node-id", "1", "replica id of this node, never reused")
	envString(a, fs, &f.region, "region", "us-east-1", "region reported to clients")
	envString(a, fs, &f.domains, "domain", "", "comma-separated base domains for virtual-host style requests")
	envString(a, fs, &f.history, "history", "0", "keep every past state readable for this long, e.g. 1h")
	envString(a, fs, &f.maxDepth, "max-fork-depth", "32", "longest chain of forks")
	envString(a, fs, &f.maxBatch, "max-fork-batch", "1000", "most forks one fork create-many makes")
	envString(a, fs, &f.minFree, "min-free-space", "auto", "below this much free space on the data directory's filesystem the node refuses new data (507): a size such as 1GiB, a percentage such as 5%, auto (the smaller of 5% and 1GiB, at least 64MiB) or 0 (never)")
	envString(a, fs, &f.memoryBudget, "memory-budget", "160MiB", "resident memory to stay within under load: sizes the metadata store's and the Raft log's memtables and caches and the Go heap's soft limit (GOMEMLIMIT overrides the last), e.g. 512MiB")
	envString(a, fs, &f.inlineMax, "inline-max", "4KiB", "largest object body kept in its metadata record instead of a chunk file, 0 to 1MiB (larger inline bodies cost more CPU per PUT: docs/operations.md)")
	envString(a, fs, &f.pprofAddr, "pprof-addr", "", "serve Go profiles (net/http/pprof) on this loopback address")
	envString(a, fs, &f.logLevel, "log-level", "info", "debug, info, warn or error")
	envBool(a, fs, &f.accessLog, "access-log", false, "log every request at info level (otherwise at debug; server errors and slow requests are always logged)")
	envBool(a, fs, &f.strictOwnership, "strict-ownership", false, "refuse CreateBucket with an ACL and no x-amz-object-ownership (InvalidBucketAclWithObjectOwnership), as AWS does, instead of enabling ACLs (ObjectWriter)")
	envDuration(a, fs, &f.slowRequest, "slow-request", 10*time.Second, "log requests that take longer than this, at warn level (0: never)")
	envString(a, fs, &f.consoleAddr, "console-addr", "", "also serve the web console (/_forkstore/console/) on this address, e.g. 127.0.0.1:9001")
	envBool(a, fs, &f.noConsole, "no-console", false, "do not serve the web console on the S3 port")
	envString(a, fs, &f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this address, e.g. 127.0.0.1:9100")
	envString(a, fs, &f.tlsCert, "tls-cert", "", "PEM certificate chain of this node: serve S3 and the admin API over HTTPS (reloaded on SIGHUP)")
	envString(a, fs, &f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	envDuration(a, fs, &f.lifecycleInterval, "lifecycle-interval", time.Hour, "how often the leader applies the buckets' lifecycle rules")
	envString(a, fs, &f.kmsKeyFile, "kms-key-file", "", "file of master keys for server-side encryption (SSE-S3): base64 32-byte keys, one a line, the first seals new objects, all open old ones")
	f.cluster.define(a, fs)
	addConnFlags(a, fs, &f.conn)
	return cmd
}

// envString defines a string flag whose default is FORKSTORE_<NAME> when
// that is set (even to ""), else def.
func envString(a *app, fs *pflag.FlagSet, p *string, name, def, usage string) {
	fs.StringVar(p, name, def, usage)
	envDefault(a, fs, name)
}

// envBool is envString for a boolean flag ("true", "1", "false", ...).
func envBool(a *app, fs *pflag.FlagSet, p *bool, name string, def bool, usage string) {
	fs.BoolVar(p, name, def, usage)
	envDefault(a, fs, name)
}

// envDuration is envString for a duration flag ("10s", "1m", "0").
func envDuration(a *app, fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	fs.DurationVar(p, name, def, usage)
	envDefault(a, fs, name)
}

// envDefault makes FORKSTORE_<NAME> the default of the flag name, and
// names the variable in its usage. A value that does not parse is kept in
// a.envErrs, reported when the server runs (so --help still works).
func envDefault(a *app, fs *pflag.FlagSet, name string) {
	f := fs.Lookup(name)
	env := envName(name)
	f.Usage += " (env " + env + ")"
	v, ok := a.lookupEnv(env)
	if !ok {
		return
	}
	if err := f.Value.Set(v); err != nil {
		a.envErrs = append(a.envErrs, fmt.Errorf("%s: %w", env, err))
		return
	}
	f.DefValue = v
}

func envName(flag string) string {
	return "FORKSTORE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// newLogger is the server's logger: slog's text format, one line per
// record. An error attribute is written as its Error() text: the text
// handler would print it with %+v, which for the errors of Dragonboat
// (cockroachdb/errors) is a multi-line stack trace.
func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: errorText}))
}

// errorText replaces an error value by its message.
func errorText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindAny {
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, err.Error())
		}
	}
	return a
}

func runServer(ctx context.Context, a *app, f *serverFlags) error {
	if len(a.envErrs) > 0 {
		return usageError{errors.Join(a.envErrs...)}
	}
	if f.slowRequest < 0 {
		return usagef("--slow-request: negative duration %s", f.slowRequest)
	}
	cfg := gateway.DefaultConfig()
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usagef("--log-level: %w", err)
	}
	logger := newLogger(a.stderr, level)

	id, err := strconv.ParseUint(f.nodeID, 10, 64)
	if err != nil || id == 0 {
		return usagef("--node-id: want a positive integer, got %q", f.nodeID)
	}
	hist, err := parseDuration(f.history)
	if err != nil {
		return usagef("--history: %w", err)
	}
	depth, err := strconv.Atoi(f.maxDepth)
	if err != nil || depth < 1 || depth > meta.MaxForkDepthLimit {
		return usagef("--max-fork-depth: max fork depth must be an integer in [1, %d], got %q", meta.MaxForkDepthLimit, f.maxDepth)
	}
	batch, err := strconv.Atoi(f.maxBatch)
	if err != nil || batch < 1 || batch > 100000 {
		return usagef("--max-fork-batch: want an integer in [1, 100000], got %q", f.maxBatch)
	}
	cfg.MaxForkBatch = batch
	if cfg.MinFreeSpace, err = gateway.ParseMinFreeSpace(f.minFree); err != nil {
		return usagef("--min-free-space: %w", err)
	}
	inline, err := humanize.ParseBytes(f.inlineMax)
	if err != nil || inline > 1<<20 {
		return usagef("--inline-max: want a size from 0 to 1MiB, such as 4KiB, got %q", f.inlineMax)
	}
	cfg.InlineMax = int64(inline)
	budget, err := humanize.ParseBytes(f.memoryBudget)
	if err != nil || budget > gateway.MaxMemoryBudget {
		return usagef("--memory-budget: want a size such as 160MiB or 1GiB, got %q", f.memoryBudget)
	}
	goLimit, err := cfg.SizeMemory(int64(budget))
	if err != nil {
		return usagef("--memory-budget: %s is below the least a node needs, %s", f.memoryBudget, humanize.IBytes(gateway.MinMemoryBudget))
	}
	// The lease clock's offset has no flag: it exists for tests, which
	// let leases run out without waiting.
	if v := a.env("FORKSTORE_LEASE_CLOCK_OFFSET"); v != "" {
		if cfg.LeaseClockOffset, err = time.ParseDuration(v); err != nil {
			return usagef("FORKSTORE_LEASE_CLOCK_OFFSET: %w", err)
		}
	}
	if f.lifecycleInterval <= 0 {
		return usagef("--lifecycle-interval: want a positive duration, got %s", f.lifecycleInterval)
	}
	cfg.LifecycleInterval = f.lifecycleInterval
	// The lifecycle clock's offset has no flag either: tests move it days
	// on instead of waiting.
	if v := a.env("FORKSTORE_LIFECYCLE_CLOCK_OFFSET"); v != "" {
		if cfg.LifecycleClockOffset, err = time.ParseDuration(v); err != nil {
			return usagef("FORKSTORE_LIFECYCLE_CLOCK_OFFSET: %w", err)
		}
	}
	// The chunk collector's windows have no flags either: tests shorten
	// them instead of waiting minutes.
	for _, e := range []struct {
		name string
		dst  *time.Duration
	}{
		{"FORKSTORE_GC_TRIM_AGE", &cfg.GCTrimAge},
		{"FORKSTORE_GC_READ_GRACE", &cfg.GCReadGrace},
	} {
		if v := a.env(e.name); v != "" {
			if *e.dst, err = time.ParseDuration(v); err != nil || *e.dst < 0 {
				return usagef("%s: want a duration >= 0, got %q", e.name, v)
			}
		}
	}
	scfg := s3api.DefaultConfig()
	if err := f.conn.apply(&scfg); err != nil {
		return err
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	var cert *certs.Reloader
	if f.tlsCert != "" {
		if cert, err = certs.Load(f.tlsCert, f.tlsKey); err != nil {
			return err
		}
	}
	cfg.DataDir = f.data
	cfg.Region = f.region
	cfg.RootUser = a.env("FORKSTORE_ROOT_USER")
	cfg.RootPassword = a.env("FORKSTORE_ROOT_PASSWORD")
	cfg.PreviousRootPassword = a.env("FORKSTORE_PREVIOUS_ROOT_PASSWORD")
	if cfg.RootUser == "" || cfg.RootPassword == "" {
		return errors.New("set FORKSTORE_ROOT_USER and FORKSTORE_ROOT_PASSWORD (make run sets development defaults)")
	}
	cfg.Raft.NodeID = id
	cfg.Raft.RaftAddr = f.raftAddr
	cfg.AdvertiseS3 = f.s3Addr
	if err := f.cluster.apply(a, &cfg, f.tlsCert, f.tlsKey); err != nil {
		return err
	}
	switch env := a.env("FORKSTORE_KMS_KEY"); {
	case f.kmsKeyFile != "" && env != "":
		return usagef("set either --kms-key-file or FORKSTORE_KMS_KEY, not both")
	case f.kmsKeyFile != "":
		kr, err := gateway.LoadKeyring(f.kmsKeyFile)
		if err != nil {
			return usagef("--kms-key-file: %w", err)
		}
		cfg.KMS = kr
	case env != "":
		kr, err := gateway.ParseKeyring(env)
		if err != nil {
			return usagef("FORKSTORE_KMS_KEY: %w", err)
		}
		cfg.KMS = kr
	}
	cfg.Meta.History = hist
	cfg.Meta.MaxForkDepth = depth

	if f.pprofAddr != "" {
		go func() {
			logger.Info("serving profiles", "addr", f.pprofAddr)
			if err := http.ListenAndServe(f.pprofAddr, nil); err != nil {
				logger.Warn("pprof server", "err", err)
			}
		}()
	}

	// A soft heap limit keeps the GC ahead of bursts (64 MiB bodies, many
	// concurrent uploads) on small machines; GOMEMLIMIT overrides it. The
	// node raises it by what its further metadata shards keep
	// (gateway.Config.GoMemoryLimit).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(goLimit)
		cfg.GoMemoryLimit = goLimit
	}

	raiseFDLimit(logger)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	node, err := gateway.Start(startCtx, cfg, logger)
	cancel()
	if err != nil {
		return err
	}
	defer node.Close()

	var doms []string
	for _, d := range strings.Split(f.domains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			doms = append(doms, d)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	if err := node.RegisterMetrics(reg); err != nil {
		return err
	}
	metricsToken := a.env("FORKSTORE_METRICS_TOKEN")
	scfg.Addr = f.s3Addr
	scfg.MaxObjectSize = cfg.MaxObjectSize
	scfg.Region = cfg.Region
	scfg.Domains = doms
	scfg.Metrics = reg
	scfg.MetricsToken = metricsToken
	scfg.AccessLog = f.accessLog
	scfg.StrictOwnership = f.strictOwnership
	scfg.SlowRequest = f.slowRequest
	scheme := "http"
	if cert != nil {
		scfg.TLS = cert.ServerConfig()
		scheme = "https"
		reloadOnHangup(ctx, cert, logger)
	}
	srv := s3api.New(scfg, node.Service(), logger.With("component", "s3api"))
	meter := newS3Meter(reg)
	history := console.NewHistory(console.DefaultSampleEvery, console.DefaultSamples)
	go history.Run(ctx, meter.sample)
	con, err := console.New(console.Config{Service: node.Service(), Access: srv, Secure: cert != nil,
		SessionKey: consoleSessionKey(cfg.ClusterKey), Figures: meter.figures, History: history, Logger: logger.With("component", "console")})
	if err != nil {
		return err
	}
	if !f.noConsole {
		srv.SetConsole(con)
	}
	stopConsole, err := serveConsole(f.consoleAddr, con, scfg.TLS, logger)
	if err != nil {
		return err
	}
	defer stopConsole()
	stopMetrics, err := serveMetrics(f.metricsAddr, metricsToken, reg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	errc := make(chan error, 1)
	go func() { errc <- srv.Listen(f.s3Addr) }()
	logger.Info("serving S3", "endpoint", scheme+"://"+f.s3Addr, "region", cfg.Region)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	return nil
}

// shutdownGrace is how long requests in flight get to finish after SIGTERM
// before the node closes (and fsyncs) its state and exits: well inside the
// usual 30 s a supervisor waits before SIGKILL. A connection that sent half
// a request and stalls must not hold the shutdown up for longer.
const shutdownGrace = 10 * time.Second

// parseDuration accepts Go durations and a bare 0.
func parseDuration(s string) (time.Duration, error) {
	if s == "0" || s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %s", s)
	}
	return d, nil
}

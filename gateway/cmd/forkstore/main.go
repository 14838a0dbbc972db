// Command forkstore is the forkstore server and its command-line client.
//
//	forkstore server [flags]          run a node
//	forkstore snapshot|fork|bucket    manage snapshots and forks (see -h)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/s3api"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "forkstore:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: forkstore <command> [flags]

commands:
  server                               run a node
  snapshot create BUCKET [--name N]    take a snapshot
  snapshot list BUCKET                 list a bucket's snapshots
  snapshot delete BUCKET VERSION       delete a snapshot
  fork create SRC NEW [--snapshot V]   fork a bucket (at a snapshot version or name)
  fork list SRC                        list a bucket's forks
  fork diff FORK                       keys a fork added, changed or deleted
  bucket lineage BUCKET                a bucket's parent, snapshots and forks
  cluster status                       members, leader, applied index, repair backlog
  cluster add --node-id N --raft-addr A --s3-addr B   add a node (then start it with --join)
  cluster remove --node-id N           remove a node for good (its id is retired)
  cluster transfer-leader --to N       move the leadership
  cluster digest                       every node's metadata digest at one point of the log
  cluster scrub                        re-verify every node's chunk files now
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "server":
		return runServer(args[1:], stderr)
	case "snapshot", "fork", "bucket", "cluster":
		return runClient(args, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// envDefault returns the FORKSTORE_* variable for a flag, or def.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv("FORKSTORE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
		return v
	}
	return def
}

func runServer(args []string, stderr io.Writer) error {
	cfg := gateway.DefaultConfig()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envDefault("data", "data"), "data directory (env FORKSTORE_DATA)")
	s3Addr := fs.String("s3-addr", envDefault("s3-addr", "127.0.0.1:9000"), "S3 listen address (env FORKSTORE_S3_ADDR)")
	raftAddr := fs.String("raft-addr", envDefault("raft-addr", "127.0.0.1:9001"), "Raft listen address (env FORKSTORE_RAFT_ADDR)")
	nodeID := fs.String("node-id", envDefault("node-id", "1"), "replica id of this node, never reused (env FORKSTORE_NODE_ID)")
	region := fs.String("region", envDefault("region", "us-east-1"), "region reported to clients (env FORKSTORE_REGION)")
	domains := fs.String("domain", envDefault("domain", ""), "comma-separated base domains for virtual-host style requests (env FORKSTORE_DOMAIN)")
	history := fs.String("history", envDefault("history", "0"), "keep every past state readable for this long, e.g. 1h (env FORKSTORE_HISTORY)")
	maxDepth := fs.String("max-fork-depth", envDefault("max-fork-depth", "32"), "longest chain of forks (env FORKSTORE_MAX_FORK_DEPTH)")
	pprofAddr := fs.String("pprof-addr", envDefault("pprof-addr", ""), "serve Go profiles (net/http/pprof) on this loopback address (env FORKSTORE_PPROF_ADDR)")
	logLevel := fs.String("log-level", envDefault("log-level", "info"), "debug, info, warn or error (env FORKSTORE_LOG_LEVEL)")
	cl := clusterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	id, err := strconv.ParseUint(*nodeID, 10, 64)
	if err != nil || id == 0 {
		return fmt.Errorf("--node-id: want a positive integer, got %q", *nodeID)
	}
	hist, err := parseDuration(*history)
	if err != nil {
		return fmt.Errorf("--history: %w", err)
	}
	depth, err := strconv.Atoi(*maxDepth)
	if err != nil || depth < 1 || depth > meta.MaxForkDepthLimit {
		return fmt.Errorf("--max-fork-depth: max fork depth must be an integer in [1, %d], got %q", meta.MaxForkDepthLimit, *maxDepth)
	}
	cfg.DataDir = *data
	cfg.Region = *region
	cfg.RootUser = os.Getenv("FORKSTORE_ROOT_USER")
	cfg.RootPassword = os.Getenv("FORKSTORE_ROOT_PASSWORD")
	if cfg.RootUser == "" || cfg.RootPassword == "" {
		return errors.New("set FORKSTORE_ROOT_USER and FORKSTORE_ROOT_PASSWORD (make run sets development defaults)")
	}
	cfg.Raft.NodeID = id
	cfg.Raft.RaftAddr = *raftAddr
	cfg.AdvertiseS3 = *s3Addr
	if err := cl.apply(&cfg); err != nil {
		return err
	}
	cfg.Meta.History = hist
	cfg.Meta.MaxForkDepth = depth

	if *pprofAddr != "" {
		go func() {
			logger.Info("serving profiles", "addr", *pprofAddr)
			if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
				logger.Warn("pprof server", "err", err)
			}
		}()
	}

	// A soft heap limit keeps the GC ahead of bursts (64 MiB bodies, many
	// concurrent uploads) on small machines; GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	node, err := gateway.Start(startCtx, cfg, logger)
	cancel()
	if err != nil {
		return err
	}
	defer node.Close()

	var doms []string
	for _, d := range strings.Split(*domains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			doms = append(doms, d)
		}
	}
	scfg := s3api.DefaultConfig()
	scfg.Addr = *s3Addr
	scfg.Region = cfg.Region
	scfg.Domains = doms
	srv := s3api.New(scfg, node.Service(), logger.With("component", "s3api"))
	errc := make(chan error, 1)
	go func() { errc <- srv.Listen(*s3Addr) }()
	logger.Info("serving S3", "endpoint", "http://"+*s3Addr, "region", cfg.Region)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	return nil
}

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT is set.
const defaultMemoryLimit = 256 << 20

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

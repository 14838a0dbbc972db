package main

import (
	"io"
	"testing"

	"github.com/spf13/pflag"

	"github.com/forkstore/forkstore/gateway"
)

// TestRaftShardFlags: --raft-quiesce and --raft-step-workers reach the Raft
// configuration, from flags or the environment, with their defaults.
func TestRaftShardFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (gateway.Config, error) {
		a := newApp(io.Discard, io.Discard, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
		var f clusterFlags
		f.define(a, fs)
		if err := fs.Parse(args); err != nil {
			return gateway.Config{}, err
		}
		cfg := gateway.DefaultConfig()
		err := f.apply(a, &cfg, "", "")
		return cfg, err
	}
	cfg, err := parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Raft.Quiesce || cfg.Raft.StepWorkers != 0 || cfg.Raft.RTTMillisecond != 40 || cfg.Raft.ElectionRTT != 5 || cfg.Raft.HeartbeatRTT != 1 {
		t.Fatalf("defaults: quiesce %v, step workers %d, rtt %d/%d/%d", cfg.Raft.Quiesce, cfg.Raft.StepWorkers,
			cfg.Raft.RTTMillisecond, cfg.Raft.ElectionRTT, cfg.Raft.HeartbeatRTT)
	}
	cfg, err = parse(nil, "--raft-quiesce=false", "--raft-step-workers", "4")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Raft.Quiesce || cfg.Raft.StepWorkers != 4 {
		t.Fatalf("flags: quiesce %v, step workers %d", cfg.Raft.Quiesce, cfg.Raft.StepWorkers)
	}
	cfg, err = parse(map[string]string{"FORKSTORE_RAFT_QUIESCE": "false", "FORKSTORE_RAFT_STEP_WORKERS": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Raft.Quiesce || cfg.Raft.StepWorkers != 3 {
		t.Fatalf("environment: quiesce %v, step workers %d", cfg.Raft.Quiesce, cfg.Raft.StepWorkers)
	}
	for _, bad := range []string{"17", "-1", "many"} {
		if _, err := parse(nil, "--raft-step-workers", bad); err == nil {
			t.Errorf("--raft-step-workers %s accepted", bad)
		}
	}
}

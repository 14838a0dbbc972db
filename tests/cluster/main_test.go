//go:build cluster

// Package cluster runs clusters of 3 to 5 real forkstore processes on
// loopback and breaks them: SIGKILL and SIGSTOP of the leader, rolling
// restarts, membership changes, wiped and corrupted disks, and network
// partitions made with packet filter rules. Every write a client saw
// acknowledged is logged and read back from every node at the end of
// each scenario, and a concurrent history recorded during faults is
// checked for linearizability with porcupine.
//
// Run with: go test -tags cluster -count=1 ./tests/cluster/... (make cluster)
//
// Environment:
//
//	FORKSTORE_BIN    use this binary instead of building one
//
// The partition test needs root and iptables (with the owner match); it
// is skipped, saying why, when either is missing.
package cluster

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
)

// binPath is the forkstore binary built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// These tests start and break their own processes; an external
	// endpoint (an e2e setting) has no place here.
	os.Unsetenv("FORKSTORE_E2E_ENDPOINT")
	dir, err := os.MkdirTemp("", "forkstore-cluster-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	binPath, err = harness.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster: building the server failed:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "cluster: built %s in %v\n", binPath, time.Since(start).Round(time.Millisecond))
	removeStaleRules()
	return m.Run()
}

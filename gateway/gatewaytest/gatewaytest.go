// Package gatewaytest starts real single-node forkstore nodes for tests:
// real Dragonboat on loopback, real Badger and chunk files in t.TempDir.
package gatewaytest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
)

// Credentials of test nodes.
const (
	AccessKey = "testkey"
	SecretKey = "testsecret123"
)

// Config returns a node configuration for a test: fresh data dir, free
// loopback Raft port, fast GC.
func Config(t testing.TB) gateway.Config {
	t.Helper()
	cfg := gateway.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.RootUser = AccessKey
	cfg.RootPassword = SecretKey
	cfg.Raft.NodeID = 1
	cfg.Raft.RaftAddr = FreeAddr(t)
	cfg.Raft.InitialMembers = map[uint64]string{1: cfg.Raft.RaftAddr}
	cfg.GCInterval = 50 * time.Millisecond
	cfg.GCReadGrace = 0
	// A small threshold: a test node's reserve file (half of it) is
	// allocated in the test's temporary directory.
	cfg.MinFreeSpace = gateway.MinFreeSpace{Bytes: 16 << 20}
	// FORKSTORE_TEST_META_SHARDS runs the tests over several metadata
	// shards.
	if n, err := strconv.Atoi(os.Getenv("FORKSTORE_TEST_META_SHARDS")); err == nil {
		cfg.MetaShards = n
	}
	// FORKSTORE_TEST_WIRE_READS=1 sends every linearizable read through
	// the codec of a read sent to another node (Config.WireReads).
	cfg.WireReads = os.Getenv("FORKSTORE_TEST_WIRE_READS") == "1"
	return cfg
}

// NewNode starts a node with cfg (see Config) and stops it at cleanup.
func NewNode(t testing.TB, cfg gateway.Config) *gateway.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := gateway.Start(ctx, cfg, slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// FreeAddr returns a free loopback TCP address.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

package gateway_test

import (
	"fmt"
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

// TestSoloReads: a node without a cluster key (no other node can join its
// shards) serves linearizable reads from its replica once a ReadIndex has
// succeeded, and every read sees every write acknowledged before it, also
// right after a restart; a node with a cluster key reads through Raft.
func TestSoloReads(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.WireReads = false // those go through the codec and Raft on purpose
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "solo"}); err != nil {
		t.Fatal(err)
	}
	check := func(s *gateway.Service, want string) {
		t.Helper()
		got, err := get(t, s, gateway.GetObjectInput{Bucket: "solo", Key: "k"})
		if err != nil || string(got) != want {
			t.Fatalf("GET: %q %v, want %q", got, err, want)
		}
	}
	for i := range 20 {
		v := fmt.Sprintf("v%d", i)
		put(t, s, "solo", "k", []byte(v))
		check(s, v)
	}
	if gateway.SoloReads(s) == 0 {
		t.Fatal("a node alone read every time through a ReadIndex")
	}

	// Restarted: its replica replays its log before the first ReadIndex
	// answers, and only then are reads local.
	n.Close()
	n = gatewaytest.NewNode(t, cfg)
	s = n.Service()
	check(s, "v19")
	put(t, s, "solo", "k", []byte("after restart"))
	check(s, "after restart")
	if gateway.SoloReads(s) == 0 {
		t.Fatal("a restarted node alone read every time through a ReadIndex")
	}

	// A node with a cluster key may be joined: every read goes through
	// Raft.
	kcfg := gatewaytest.Config(t)
	kcfg.WireReads = false
	kcfg.ClusterKey = "a cluster key of 32 bytes or so."
	k := gatewaytest.NewNode(t, kcfg)
	ks := k.Service()
	if _, err := ks.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "solo"}); err != nil {
		t.Fatal(err)
	}
	put(t, ks, "solo", "k", []byte("keyed"))
	check(ks, "keyed")
	if got := gateway.SoloReads(ks); got != 0 {
		t.Fatalf("a node with a cluster key served %d reads without a ReadIndex", got)
	}
}

package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

// TestClusterStatusShards: the cluster status lists today's one metadata
// shard, holding the directory and the data, with this node as its
// replica and leader and the index this node's replica has applied.
func TestClusterStatusShards(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.MetaShards = 1
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	ctx := context.Background()
	if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: "data"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.ClusterStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Shards) != 1 {
		t.Fatalf("shards %+v", st.Shards)
	}
	sh := st.Shards[0]
	if got := fmt.Sprintf("%d %s %v %d %d", sh.ShardID, sh.Role, sh.Replicas, sh.LeaderID, sh.Buckets); got != "1 directory+data [1] 1 1" {
		t.Errorf("shard = %q (%+v)", got, sh)
	}
	if self := s.NodeStatus(ctx); sh.AppliedIndex == 0 || sh.AppliedIndex > self.AppliedIndex {
		t.Errorf("shard applied %d, node applied %d", sh.AppliedIndex, self.AppliedIndex)
	}
	for _, m := range st.Members {
		if m.Zone != "" {
			t.Errorf("node %d has zone %q with none set", m.NodeID, m.Zone)
		}
	}
}

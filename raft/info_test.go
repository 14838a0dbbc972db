package raft

import (
	"errors"
	"testing"
	"time"
)

// Info reports the role, leader, term and commit index without a Raft
// round trip, and moves with proposals and leadership.
func TestInfo(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t), 3: freeAddr(t)}
	hosts := map[uint64]*Host{}
	for id := uint64(1); id <= 3; id++ {
		c := testConfig(id, addrs[id], t.TempDir())
		c.InitialMembers = addrs
		hosts[id] = startHost(t, c)
	}
	for _, h := range hosts {
		waitReady(t, h)
	}
	leader, ok := hosts[1].LeaderID(testShard)
	if !ok {
		t.Fatal("no leader")
	}
	before, err := hosts[leader].Info(testShard)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		propose(t, hosts[leader], 1)
	}
	waitFor(t, 10*time.Second, "every replica to report the leader and the commits", func() bool {
		for id, h := range hosts {
			in, err := h.Info(testShard)
			if err != nil {
				t.Fatalf("Info on %d: %v", id, err)
			}
			want := RoleFollower
			if id == leader {
				want = RoleLeader
			}
			if in.Role != want || in.LeaderID != leader || in.ReplicaID != id || in.ShardID != testShard ||
				in.Members != 3 || in.Term == 0 || in.Term < before.Term || in.CommitIndex < before.CommitIndex+10 {
				return false
			}
		}
		return true
	})
	if _, err := hosts[1].Info(99); !errors.Is(err, ErrClosed) {
		t.Errorf("Info of a shard not running here: %v", err)
	}
	hosts[1].Close()
	if _, err := hosts[1].Info(testShard); !errors.Is(err, ErrClosed) {
		t.Errorf("Info after Close: %v", err)
	}
}

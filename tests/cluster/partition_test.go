//go:build cluster

package cluster

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestPartition: the leader is cut off from the two others. It stops
// leading (check-quorum), cannot acknowledge writes and does not serve
// the majority's new writes as absent; the majority elects a leader and
// writes. When the partition heals, the cut-off node follows the
// majority's leader (pre-vote: it cannot depose it), catches up, and no
// node diverges.
func TestPartition(t *testing.T) {
	if why := netfilterUsable(); why != "" {
		t.Skipf("partitions need root and iptables with the owner match: %s", why)
	}
	// Elections after 50 ticks (1 s): a spurious election on a busy
	// machine would blur the check that the leader survives the heal.
	c := startCluster(t, 3, withGroups(), withArgs("--election-rtt", "50", "--heartbeat-rtt", "5"))
	log := &AckLog{}
	put := func(n *Node, key string, body []byte) error {
		start := time.Now()
		err := n.putObject("part", key, body)
		op := ackOp{kind: opPut, bucket: "part", key: key, hash: hashOf(body), size: len(body), acked: err == nil, node: n.ID, start: start, end: time.Now()}
		if err != nil {
			op.err = describe(err)
		}
		log.record(op)
		return err
	}
	old := c.WaitLeader(t)
	must(t, "bucket", old.makeBucket("part"))
	must(t, "put before", put(old, "before", []byte("written before the partition")))
	var majority []*Node
	for _, n := range c.Nodes() {
		if n.ID != old.ID {
			majority = append(majority, n)
		}
	}
	c.WaitConverged(t)

	p := c.Partition(t, []*Node{old}, majority)
	cutAt := time.Now()

	// The majority elects a leader among itself.
	var newLeader uint64
	waitFor(t, leaderTimeout, "a leader on the majority side", func() error {
		var says []uint64
		for _, n := range majority {
			st, err := n.NodeStatus(statusTimeout)
			if err != nil {
				return err
			}
			says = append(says, st.LeaderID)
		}
		if says[0] == 0 || says[0] == old.ID || says[0] != says[1] {
			return fmt.Errorf("majority says leaders %v", says)
		}
		newLeader = says[0]
		return nil
	})
	t.Logf("majority leader node %d, %v after the cut", newLeader, time.Since(cutAt).Round(time.Millisecond))

	// The cut-off node steps down.
	waitFor(t, leaderTimeout, fmt.Sprintf("node %d to stop leading", old.ID), func() error {
		st, err := old.NodeStatus(statusTimeout)
		if err != nil {
			return err
		}
		if st.LeaderID == old.ID {
			return fmt.Errorf("node %d still says it leads", old.ID)
		}
		return nil
	})

	// The majority writes.
	for i := range 10 {
		n := majority[i%2]
		key := fmt.Sprintf("majority/%02d", i)
		body := bytes.Repeat([]byte{byte(i)}, 1000+i)
		if i == 5 {
			body = bytes.Repeat([]byte{byte(i)}, bigMin+5)
		}
		if err := put(n, key, body); err != nil {
			t.Errorf("put %s on node %d (majority side): %s", key, n.ID, describe(err))
		}
	}
	// The minority refuses writes and does not answer as if the
	// majority's writes did not exist.
	for i := range 2 {
		key := fmt.Sprintf("minority/%02d", i)
		start := time.Now()
		err := put(old, key, []byte("must not be acknowledged"))
		t.Logf("write %s on the cut-off node answered in %v: %s", key, time.Since(start).Round(time.Millisecond), describe(err))
		if err == nil {
			t.Errorf("put %s on the cut-off node %d was acknowledged", key, old.ID)
		} else if !isUnavailable(err) {
			t.Errorf("put %s on the cut-off node %d: %s, want 503 ServiceUnavailable", key, old.ID, describe(err))
		}
	}
	if b, err := old.getObject("part", "majority/00", ""); err == nil {
		t.Errorf("the cut-off node %d read majority/00 = %q while cut off", old.ID, b)
	} else if isNoSuchKey(err) {
		t.Errorf("the cut-off node %d answered NoSuchKey for majority/00, written by the majority: a stale answer", old.ID)
	} else if !isUnavailable(err) {
		t.Errorf("GET majority/00 on the cut-off node %d: %s, want 503 ServiceUnavailable", old.ID, describe(err))
	}

	p.Heal()
	waitFor(t, convergeTimout, fmt.Sprintf("node %d to be ready after the heal", old.ID), func() error {
		return old.Ready(statusTimeout)
	})
	l := c.WaitLeader(t)
	if l.ID != newLeader {
		t.Errorf("after the heal node %d leads; the majority's leader was node %d (a returning node must not depose it)", l.ID, newLeader)
	}
	c.WaitConverged(t)
	log.Verify(t, c.Nodes())
	for _, n := range c.Nodes() {
		for i := range 2 {
			if _, err := n.getObject("part", fmt.Sprintf("minority/%02d", i), ""); !isNoSuchKey(err) {
				t.Errorf("node %d: minority/%02d, refused during the partition, reads %s; want NoSuchKey", n.ID, i, describe(err))
			}
		}
	}
}

//go:build cluster

package cluster

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// What an attacker who can reach a node's --raft-addr sends, in the
// framing of Dragonboat's own TCP transport: magic AE 7D, an 18-byte
// header (method 100 = message batch, payload size, header CRC, payload
// CRC) with a valid header CRC, the payload.
func dragonboatFrame(size uint64, payload []byte) []byte {
	h := make([]byte, 18)
	binary.BigEndian.PutUint16(h, 100)
	binary.BigEndian.PutUint64(h[2:], size)
	binary.BigEndian.PutUint32(h[14:], crc32.ChecksumIEEE(payload))
	binary.BigEndian.PutUint32(h[10:], crc32.ChecksumIEEE(h))
	return append(append([]byte{0xAE, 0x7D}, h...), payload...)
}

func forgedBatch(t *testing.T, source string, msgs ...pb.Message) []byte {
	t.Helper()
	b := pb.MessageBatch{Requests: msgs, DeploymentId: 1, SourceAddress: source, BinVer: raftio.TransportBinVersion}
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return dragonboatFrame(uint64(len(p)), p)
}

// sendRaw writes b to addr and reads until the node closes the connection
// (at most 2 s). A refused connection is fine.
func sendRaw(addr string, b []byte) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.Write(b)
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.Copy(io.Discard, conn)
}

// TestRaftPortAttack sends every node of a 3-node cluster the 20-byte frame
// announcing a 2^40-byte payload, and a follower a forged TimeoutNow and a
// batch with a fake source address: every process survives, the leader
// stays, and the cluster takes writes through every node.
func TestRaftPortAttack(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.WaitLeader(t)
	var follower *Node
	for _, n := range c.Nodes() {
		if n.ID != leader.ID {
			follower = n
			break
		}
	}
	const metaShard = 1
	oversize := dragonboatFrame(1<<40, nil)
	timeoutNow := forgedBatch(t, "",
		pb.Message{Type: pb.TimeoutNow, ShardID: metaShard, From: leader.ID, To: follower.ID},
		pb.Message{Type: pb.TimeoutNow, ShardID: metaShard, From: leader.ID, To: follower.ID, Term: 1 << 20})
	fakeSource := forgedBatch(t, "10.255.255.1:7000",
		pb.Message{Type: pb.Heartbeat, ShardID: metaShard, From: leader.ID, To: follower.ID})
	for _, n := range c.Nodes() {
		sendRaw(n.RaftAddr, oversize)
	}
	sendRaw(follower.RaftAddr, timeoutNow)
	sendRaw(follower.RaftAddr, fakeSource)

	for _, n := range c.Nodes() {
		if !n.Running() {
			t.Fatalf("node %d died:\n%s", n.ID, n.LogTail(8<<10))
		}
	}
	// About 8 election timeouts (400 ms each): the leader stays.
	until := time.Now().Add(3 * time.Second)
	for time.Now().Before(until) {
		if l, err := c.Leader(); err == nil && l.ID != leader.ID {
			t.Fatalf("leadership moved from %d to %d", leader.ID, l.ID)
		}
		time.Sleep(pollInterval) // the poll period, not a synchronisation
	}
	must(t, "make bucket", leader.makeBucket("after-attack"))
	for _, n := range c.Nodes() {
		key := fmt.Sprintf("k%d", n.ID)
		must(t, "put through "+n.String(), n.putObject("after-attack", key, []byte(key)))
		if b, err := n.getObject("after-attack", key, ""); err != nil || string(b) != key {
			t.Fatalf("get through %v: %q, %v", n, b, err)
		}
	}
	if !strings.Contains(follower.LogTail(1<<20), "refused a connection") {
		t.Errorf("the follower logged no refused connection")
	}
}

// TestSingleNodeRaftPortClosed: a node started with no cluster flag (as
// `make run`) has no peer and does not listen at its --raft-addr.
func TestSingleNodeRaftPortClosed(t *testing.T) {
	c := startSingle(t)
	n := c.Node(1)
	if conn, err := net.DialTimeout("tcp", n.RaftAddr, 2*time.Second); err == nil {
		conn.Close()
		t.Fatalf("a single node listens at its raft address %s", n.RaftAddr)
	}
	must(t, "make bucket", n.makeBucket("single-raft"))
}

package raft

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// dragonboatFrame is a frame of Dragonboat's own TCP transport, what an
// attacker who reads its source sends: magic AE 7D, an 18-byte header
// (method, payload size, header CRC, payload CRC) with a valid header CRC,
// then the payload. size is what the header announces.
func dragonboatFrame(method uint16, size uint64, payload []byte) []byte {
	h := make([]byte, frameHeaderSize)
	binary.BigEndian.PutUint16(h, method)
	binary.BigEndian.PutUint64(h[2:], size)
	binary.BigEndian.PutUint32(h[14:], crc32.ChecksumIEEE(payload))
	binary.BigEndian.PutUint32(h[10:], crc32.ChecksumIEEE(h))
	return append(append([]byte{0xAE, 0x7D}, h...), payload...)
}

// oversizeFrame announces a 2^40-byte message batch.
func oversizeFrame() []byte { return dragonboatFrame(frameRaft, 1<<40, nil) }

// forgedBatch is a MessageBatch as an attacker forges it: Dragonboat's
// default deployment id, source (may be empty) and msgs.
func forgedBatch(t *testing.T, source string, msgs ...pb.Message) []byte {
	t.Helper()
	b := pb.MessageBatch{
		Requests:      msgs,
		DeploymentId:  1,
		SourceAddress: source,
		BinVer:        raftio.TransportBinVersion,
	}
	payload, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return dragonboatFrame(frameRaft, uint64(len(payload)), payload)
}

// sendRaw writes b to addr and reads until the node closes the connection
// (at most 2 s).
func sendRaw(t *testing.T, addr string, b []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.Write(b)
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.Copy(io.Discard, conn)
}

// stableLeader checks for about 20 election timeouts that h's shard keeps
// leader.
func stableLeader(t *testing.T, hosts []*Host, leader uint64) {
	t.Helper()
	until := time.Now().Add(20 * time.Duration(hosts[0].cfg.ElectionRTT*hosts[0].cfg.RTTMillisecond) * time.Millisecond)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(until) {
		for _, h := range hosts {
			if id, ok := h.LeaderID(testShard); ok && id != leader {
				t.Fatalf("replica %d sees leader %d, want %d", h.ReplicaID(), id, leader)
			}
		}
		<-tick.C
	}
}

// TestRaftPortOversizeFrame sends the 20-byte frame announcing a 2^40-byte
// payload to a node's Raft port, without and then after a valid
// handshake: the node allocates nothing for it and keeps serving.
func TestRaftPortOversizeFrame(t *testing.T) {
	cfg := testConfig(1, freeAddr(t), t.TempDir())
	h := startHost(t, cfg)
	waitReady(t, h)
	want := propose(t, h, 1)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	sendRaw(t, cfg.RaftAddr, oversizeFrame())
	sendAuthenticated(t, cfg.RaftAddr, testKey, 0, oversizeFrame())
	runtime.ReadMemStats(&ms)
	if grew := ms.TotalAlloc - before; grew > 64<<20 {
		t.Fatalf("the oversize frame cost %d bytes of allocation", grew)
	}
	if got := propose(t, h, 1); got != want+1 {
		t.Fatalf("after the oversize frame a proposal returned %d, want %d", got, want+1)
	}
}

// TestRaftPortRefusesForgedMessages sends a 3-node cluster's follower a
// forged TimeoutNow (which would make it take the leadership) and a batch
// naming a fake source address (which panicked Dragonboat's registry),
// without a handshake and after one with a wrong key: nothing reaches
// Raft, the leader stays, and the cluster serves.
func TestRaftPortRefusesForgedMessages(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t), 3: freeAddr(t)}
	var hosts []*Host
	for id := uint64(1); id <= 3; id++ {
		c := testConfig(id, addrs[id], t.TempDir())
		c.InitialMembers = addrs
		hosts = append(hosts, startHost(t, c))
	}
	for _, h := range hosts {
		waitReady(t, h)
	}
	leader, ok := hosts[0].LeaderID(testShard)
	if !ok {
		t.Fatal("no leader")
	}
	follower := leader%3 + 1
	_, term, _, err := hosts[0].nh.GetLeaderID(testShard)
	if err != nil {
		t.Fatal(err)
	}
	timeoutNow := pb.Message{Type: pb.TimeoutNow, ShardID: testShard, From: leader, To: follower, Term: 0}
	timeoutNowTerm := timeoutNow
	timeoutNowTerm.Term = term
	fakeSource := pb.Message{Type: pb.Heartbeat, ShardID: testShard, From: leader, To: follower, Term: term}
	timeouts := forgedBatch(t, "", timeoutNow, timeoutNowTerm)
	fake := forgedBatch(t, "10.255.255.1:7100", fakeSource)

	for _, frames := range [][]byte{timeouts, fake} {
		sendRaw(t, addrs[follower], frames)
		sendAuthenticated(t, addrs[follower], []byte("not-the-cluster-key"), 0, frames)
		stableLeader(t, hosts, leader)
	}
	if got, want := propose(t, hosts[follower-1], 1), uint64(1); got != want {
		t.Fatalf("proposal returned %d, want %d", got, want)
	}
}

// TestDifferentKeysNeverFormACluster starts two founding members with
// different keys: they never elect a leader (no message gets through).
func TestDifferentKeysNeverFormACluster(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	var hosts []*Host
	for id := uint64(1); id <= 2; id++ {
		c := testConfig(id, addrs[id], t.TempDir())
		c.InitialMembers = addrs
		c.Key = append([]byte("cluster-key-of-node-"), byte('0'+id))
		hosts = append(hosts, startHost(t, c))
	}
	// 30 election timeouts: two connected replicas elect within two or
	// three.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Duration(hosts[0].cfg.ElectionRTT*hosts[0].cfg.RTTMillisecond)*time.Millisecond)
	defer cancel()
	if err := hosts[0].waitLeader(ctx, testShard, time.Minute); err == nil {
		id, _ := hosts[0].LeaderID(testShard)
		t.Fatalf("nodes with different keys elected leader %d", id)
	}
	if id, ok := hosts[1].LeaderID(testShard); ok {
		t.Fatalf("nodes with different keys elected leader %d", id)
	}
}

// TestSingleNodeWithoutKeyDoesNotListen: a node without a key can have no
// peer, so nothing listens at its Raft address.
func TestSingleNodeWithoutKeyDoesNotListen(t *testing.T) {
	cfg := testConfig(1, freeAddr(t), t.TempDir())
	cfg.Key = nil
	h := startHost(t, cfg)
	waitReady(t, h)
	if conn, err := net.DialTimeout("tcp", cfg.RaftAddr, 2*time.Second); err == nil {
		conn.Close()
		t.Fatalf("a node without a key listens at %s", cfg.RaftAddr)
	}
	if got := propose(t, h, 1); got != 1 {
		t.Fatalf("proposal returned %d", got)
	}
}

// sendAuthenticated runs a client handshake with key against addr (as
// deployment did, 0: the key's), writes b and reads until the node closes
// the connection (at most 2 s). With a wrong key it sends its proof all
// the same, as an attacker would.
func sendAuthenticated(t *testing.T, addr string, key []byte, did uint64, b []byte) {
	t.Helper()
	if did == 0 {
		did = deploymentID(key)
	}
	a := newPeerAuth(key, did, randReader)
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	ch, err := a.hello()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(ch); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, helloSize+macSize)
	if _, err := io.ReadFull(conn, reply); err != nil {
		t.Fatalf("no server hello: %v", err)
	}
	_, cp, _ := a.proofs(ch, reply[:helloSize])
	_, _ = conn.Write(cp)
	_, _ = conn.Write(b)
	_, _ = io.Copy(io.Discard, conn)
}

// TestDataDirKeepsDeploymentID: a data dir made without a key (deployment
// id 1, as every data dir before ids were derived from the key) restarts
// with a key, keeps its state, and grows: a joining node, whose new data
// dir takes the key's id, talks with it.
func TestDataDirKeepsDeploymentID(t *testing.T) {
	a1, a2 := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	c1 := testConfig(1, a1, dir)
	c1.Key = nil
	h := startHost(t, c1)
	waitReady(t, h)
	propose(t, h, 5)
	h.Close()
	if did, ok := storedDeploymentID(dir); !ok || did != legacyDeploymentID {
		t.Fatalf("data dir records deployment id %d (%v), want %d", did, ok, legacyDeploymentID)
	}

	c1.Key = testKey
	h1 := startHost(t, c1)
	waitReady(t, h1)
	if got := readCount(t, h1); got != 5 {
		t.Fatalf("restarted with a key, the replica reads %d, want 5", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := h1.AddReplica(ctx, testShard, 2, a2); err != nil {
		t.Fatal(err)
	}
	c2 := testConfig(2, a2, t.TempDir())
	c2.Join = true
	h2 := startHost(t, c2)
	waitReady(t, h2)
	if did, ok := storedDeploymentID(c2.DataDir); !ok || did != deploymentID(testKey) {
		t.Fatalf("new data dir records deployment id %d (%v), want the key's", did, ok)
	}
	if got := propose(t, h2, 1); got != 6 {
		t.Fatalf("proposal through the joined replica returned %d, want 6", got)
	}
}

// TestHandshakeSlotsPerAddress: connections that hold their handshake open
// take at most 8 slots per remote IP, so a flood from one address closes
// only its own extra connections, and a peer from another still gets in.
func TestHandshakeSlotsPerAddress(t *testing.T) {
	cfg := testConfig(1, freeAddr(t), t.TempDir())
	h := startHost(t, cfg)
	waitReady(t, h)
	handshake := func(local string) error {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		conn, err := d.Dial("tcp", cfg.RaftAddr)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = newPeerAuth(testKey, deploymentID(testKey), randReader).client(conn)
		return err
	}
	var idle []net.Conn
	for range maxHandshakePerIP {
		c, err := net.DialTimeout("tcp", cfg.RaftAddr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	waitFor(t, 5*time.Second, "the flood's extra connection to be closed", func() bool {
		return handshake("127.0.0.1") != nil
	})
	if err := handshake("127.0.0.2"); err != nil {
		t.Fatalf("a peer from another address was refused: %v", err)
	}
	for _, c := range idle {
		c.Close()
	}
	waitFor(t, 10*time.Second, "127.0.0.1 to get in again", func() bool {
		return handshake("127.0.0.1") == nil
	})
}

// TestProposeBeyondMaxEntrySize: a command larger than MaxEntrySize (which
// the frame bound counts on) fails at once, without being proposed.
func TestProposeBeyondMaxEntrySize(t *testing.T) {
	cfg := testConfig(1, freeAddr(t), t.TempDir())
	cfg.MaxEntrySize = 1 << 20
	h := startHost(t, cfg)
	waitReady(t, h)
	_, err := h.Propose(t.Context(), testShard, make([]byte, cfg.MaxEntrySize+1))
	if err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("oversize proposal: %v", err)
	}
	if got := readCount(t, h); got != 0 {
		t.Fatalf("the counter moved to %d", got)
	}
}

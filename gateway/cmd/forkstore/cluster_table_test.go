package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/gateway"
)

// TestClusterTableSaysLowDisk: `cluster status` names a node whose disk is
// below --min-free-space, and why, under the table.
func TestClusterTableSaysLowDisk(t *testing.T) {
	var buf bytes.Buffer
	st := &gateway.ClusterStatus{LeaderID: 1, Replicas: 3, Members: []gateway.NodeStatus{
		{NodeID: 1, Reachable: true, Ready: true, Disk: "ok: 41 GiB free, min 1.0 GiB"},
		{NodeID: 3, Reachable: true, Ready: true, Disk: "low: 12 MiB free < 1.0 GiB"},
	}}
	if err := clusterTable(&buf, st); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "node 3 refuses new data (507): disk low: 12 MiB free < 1.0 GiB\n") {
		t.Errorf("no line for node 3's low disk:\n%s", out)
	}
	if strings.Contains(out, "node 1 refuses") {
		t.Errorf("node 1 has room but is said to refuse:\n%s", out)
	}
}

// A member whose status could not be read (down, or still starting) shows
// "-" for what it reports itself, not 0 chunk files and index 0, which
// read as true figures; a reachable member shows its figures.
func TestClusterTableUnreachableMember(t *testing.T) {
	st := &gateway.ClusterStatus{Replicas: 3, LeaderID: 1, Members: []gateway.NodeStatus{
		{NodeID: 1, RaftAddr: "127.0.0.1:7001", S3Addr: "127.0.0.1:9001", Reachable: true, Ready: true, AppliedIndex: 42, ChunkFiles: 2413},
		{NodeID: 2, RaftAddr: "127.0.0.1:7002", S3Addr: "127.0.0.1:9002", Error: "connection refused"},
	}}
	var buf bytes.Buffer
	if err := clusterTable(&buf, st); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	var up, down []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "1" {
			up = f
		}
		if len(f) > 0 && f[0] == "2" {
			down = f
		}
	}
	if len(up) != 8 || up[5] != "42" || up[7] != "2413" {
		t.Fatalf("reachable member row %q\n%s", up, buf.String())
	}
	if len(down) != 8 || down[3] != "unreachable" || down[5] != "-" || down[6] != "-" || down[7] != "-" {
		t.Fatalf("unreachable member row %q\n%s", down, buf.String())
	}
}

// TestClusterTableShardsAndZones: `cluster status` lists the metadata
// shards under the members (an unknown leader, applied index or bucket
// count as "-"), and a ZONE column only when some member has a zone.
func TestClusterTableShardsAndZones(t *testing.T) {
	st := &gateway.ClusterStatus{Replicas: 3, LeaderID: 1,
		Members: []gateway.NodeStatus{{NodeID: 1, Reachable: true, Ready: true}, {NodeID: 2, Reachable: true, Ready: true}},
		Shards: []gateway.ShardStatus{
			{ShardID: 1, Role: "directory+data", Replicas: []uint64{1, 2, 3}, LeaderID: 2, AppliedIndex: 77, Buckets: -1},
			{ShardID: 9, Role: "data", Replicas: []uint64{2}, Buckets: 12},
		}}
	var buf bytes.Buffer
	if err := clusterTable(&buf, st); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "ZONE") {
		t.Errorf("a ZONE column without zones:\n%s", out)
	}
	rows := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 6 {
			rows[f[0]] = f
		}
	}
	if got := strings.Join(rows["SHARD"], " "); got != "SHARD ROLE REPLICAS LEADER APPLIED BUCKETS" {
		t.Fatalf("shard header %q\n%s", got, out)
	}
	if got := strings.Join(rows["1"], " "); got != "1 directory+data 1,2,3 2 77 -" {
		t.Errorf("shard 1 row %q\n%s", got, out)
	}
	if got := strings.Join(rows["9"], " "); got != "9 data 2 - - 12" {
		t.Errorf("shard 9 row %q\n%s", got, out)
	}

	st.Members[1].Zone = "eu-west-1b"
	buf.Reset()
	if err := clusterTable(&buf, st); err != nil {
		t.Fatal(err)
	}
	var zoned string
	for _, l := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "2" && len(f) == 9 {
			zoned = f[8]
		}
	}
	if !strings.Contains(buf.String(), "ZONE") || zoned != "eu-west-1b" {
		t.Errorf("zone of node 2 = %q\n%s", zoned, buf.String())
	}
}

// A member the node sees down for --replace-down-after shows as "down",
// with a line saying its replicas and copies are made elsewhere.
func TestClusterTableDownMember(t *testing.T) {
	st := &gateway.ClusterStatus{Replicas: 3, LeaderID: 1, Down: []uint64{3}, Members: []gateway.NodeStatus{
		{NodeID: 1, Reachable: true, Ready: true},
		{NodeID: 2, Error: "connection refused"},
		{NodeID: 3, Error: "connection refused"},
	}}
	var buf bytes.Buffer
	if err := clusterTable(&buf, st); err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, l := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(l); len(f) == 8 {
			roles[f[0]] = f[3]
		}
	}
	if roles["2"] != "unreachable" || roles["3"] != "down" {
		t.Fatalf("roles %v\n%s", roles, buf.String())
	}
	if !strings.Contains(buf.String(), "node 3 is down (no answer for --replace-down-after)") || strings.Contains(buf.String(), "node 2 is down") {
		t.Fatalf("no line for node 3 alone:\n%s", buf.String())
	}
}

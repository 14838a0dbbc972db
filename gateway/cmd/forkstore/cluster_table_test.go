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

package gateway_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// TestPeerMetaAnswers checks the answers a node gives to forwarded
// proposals and reads: the outcome through its replica, "not a holder"
// for a shard it does not hold (never forwarded again), and a failure for
// a body that is not a query.
func TestPeerMetaAnswers(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.MetaShards = 2
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	parse := func(b []byte) (byte, uint64, []byte) {
		t.Helper()
		if len(b) < 2 {
			t.Fatalf("short answer %x", b)
		}
		lead, k := binary.Uvarint(b[1:])
		if k <= 0 {
			t.Fatalf("malformed answer %x", b)
		}
		return b[0], lead, b[1+k:]
	}

	q, err := meta.EncodeQuery(meta.KeysGenerationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	status, lead, out := parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "read", Shard: 2, Timeout: time.Second, Body: q}))
	if status != 0 || lead != 1 {
		t.Fatalf("read: status %d leader %d: %s", status, lead, out)
	}
	if v, err := meta.DecodeQueryResult(out); err != nil {
		t.Fatalf("read result: %v", err)
	} else if _, ok := v.(uint64); !ok && v != nil {
		t.Fatalf("read result %T", v)
	}

	// A read at a fork point is answered from the replica without a
	// leader round once it has applied up to it, and linearizably before.
	// A write on shard 2 gives it a version 1.
	name := "fwd-at"
	for i := 0; gateway.PlaceBucket(name, 2) != 2; i++ {
		name = fmt.Sprintf("fwd-at-%d", i)
	}
	b, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	o := put(t, s, name, "k", []byte("v"))
	// An object answer, asked for in its binary form or not: the same
	// object either way.
	oq, err := meta.EncodeQuery(meta.GetInheritedQuery{ID: b.ID, Key: "k", At: o.Version})
	if err != nil {
		t.Fatal(err)
	}
	var objects []*meta.Object
	for _, bin := range []bool{false, true} {
		status, _, out := parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "read", Shard: 2, At: o.Version, Timeout: time.Second, BinaryObjects: bin, Body: oq}))
		if status != 0 {
			t.Fatalf("object read (binary %v): status %d: %s", bin, status, out)
		}
		v, err := meta.DecodeQueryResult(out)
		got, ok := v.(*meta.Object)
		if err != nil || !ok || string(got.Inline) != "v" {
			t.Fatalf("object read (binary %v): %#v %v", bin, v, err)
		}
		objects = append(objects, got)
	}
	if !reflect.DeepEqual(objects[0], objects[1]) {
		t.Fatalf("the object read in JSON and in binary differ:\n%+v\n%+v", objects[0], objects[1])
	}
	reg := prometheus.NewRegistry()
	if err := gateway.RegisterMetrics(s, reg); err != nil {
		t.Fatal(err)
	}
	reads := func(how string) float64 {
		return gauges(t, reg)["forkstore_fork_point_reads_total{served="+how+"}"]
	}
	local0 := reads("local")
	if status, _, out := parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "read", Shard: 2, At: 1, Timeout: time.Second, Body: q})); status != 0 {
		t.Fatalf("read at 1: status %d: %s", status, out)
	}
	if reads("local") != local0+1 || reads("linearizable") != 0 {
		t.Fatalf("read at 1: %v local, %v linearizable; want it local", reads("local")-local0, reads("linearizable"))
	}
	if status, _, out := parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "read", Shard: 2, At: math.MaxUint64, Timeout: time.Second, Body: q})); status != 0 {
		t.Fatalf("read at a version not applied yet: status %d: %s", status, out)
	}
	if reads("local") != local0+1 || reads("linearizable") != 1 {
		t.Fatalf("read ahead of the replica: %v local, %v linearizable; want it linearizable", reads("local")-local0, reads("linearizable"))
	}

	// Background reads (stale) run on the replica as it stands, without a
	// leader round; the others are linearizable. Both count in
	// forkstore_peer_reads_total, reads at a fork point do not.
	peerReads := func(how string) float64 {
		return gauges(t, reg)["forkstore_peer_reads_total{served="+how+"}"]
	}
	stale0, linear0 := peerReads("stale"), peerReads("linearizable")
	gq, err := meta.EncodeQuery(meta.GCQueueQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	status, _, out = parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "read", Shard: 2, Stale: true, Timeout: time.Second, Body: gq}))
	if status != 0 {
		t.Fatalf("stale read: status %d: %s", status, out)
	}
	if v, err := meta.DecodeQueryResult(out); err != nil {
		t.Fatalf("stale read result: %v", err)
	} else if _, ok := v.([]meta.GCEntry); !ok && v != nil {
		t.Fatalf("stale read result %T", v)
	}
	if peerReads("stale") != stale0+1 || peerReads("linearizable") != linear0 {
		t.Fatalf("stale read: %v stale, %v linearizable; want it stale", peerReads("stale")-stale0, peerReads("linearizable")-linear0)
	}
	if status, _, out := parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "read", Shard: 2, Timeout: time.Second, Body: gq})); status != 0 {
		t.Fatalf("read: status %d: %s", status, out)
	}
	if peerReads("stale") != stale0+1 || peerReads("linearizable") != linear0+1 {
		t.Fatalf("read: %v stale, %v linearizable; want it linearizable", peerReads("stale")-stale0, peerReads("linearizable")-linear0)
	}

	if status, _, out := parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "read", Shard: 9, Timeout: time.Second, Body: q})); status != 2 {
		t.Fatalf("shard not held: status %d: %s", status, out)
	}
	if status, _, _ := parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "read", Shard: 2, Timeout: time.Second, Body: []byte("not a query")})); status != 1 {
		t.Fatalf("garbage query: status %d", status)
	}

	// A proposal: the shard count, recorded once (idempotent).
	cmd := meta.EncodeCommand(&meta.InitShards{Header: meta.Header{RequestID: "fwd-test-1"}, Count: 2})
	status, _, out = parse(s.PeerMeta(ctx, gateway.PeerMetaRequest{Op: "propose", Shard: 1, Timeout: 5 * time.Second, Body: cmd}))
	if status != 0 {
		t.Fatalf("propose: status %d: %s", status, out)
	}
	v, k := binary.Uvarint(out)
	if k <= 0 {
		t.Fatalf("propose answer %x", out)
	}
	if _, err := meta.DecodeResult(sm.Result{Value: v, Data: out[k:]}); err != nil {
		t.Fatalf("propose result: %v", err)
	}
}

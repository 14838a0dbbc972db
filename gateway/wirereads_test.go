package gateway_test

import (
	"errors"
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// With Config.WireReads a linearizable read goes through the codec of a
// read sent to another node: a registered query answers as it does on
// the replica, a business error keeps its sentinel, a closure is
// refused.
func TestWireReads(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.WireReads = true
	s := gatewaytest.NewNode(t, cfg).Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "wire"}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "wire", "k", []byte("v"))
	v, err := gateway.ReadOn(ctx(t), s, meta.DirectoryShard, meta.GetObjectQuery{Bucket: "wire", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := v.(*meta.ObjectRead).Result(); err != nil || o.Key != "k" || o.Size != 1 {
		t.Fatalf("%+v %v", o, err)
	}
	if _, err := gateway.ReadOn(ctx(t), s, meta.DirectoryShard, meta.BucketQuery{Name: "nope"}); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Fatalf("a missing bucket: %v", err)
	}
	_, err = gateway.ReadOn(ctx(t), s, meta.DirectoryShard, meta.Query(func(r *meta.Reader) (any, error) { return r.Nodes() }))
	if !errors.Is(err, meta.ErrLocalQuery) {
		t.Fatalf("a closure: %v", err)
	}
}

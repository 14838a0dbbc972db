package gateway_test

import (
	"errors"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// A request id is proposed for meta.RequestIDLifetime after its Stamp and
// no longer: the state machine forgets ids after its dedupe window, so a
// command sent again later could apply twice. The proposal fails
// (unavailable) without changing anything.
func TestRequestIDLifetime(t *testing.T) {
	s, _ := newService(t)
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "lifetime"}); err != nil {
		t.Fatal(err)
	}
	shard := mustShard(t, s, "lifetime")
	stamp := func(age time.Duration) meta.Header {
		return meta.Header{RequestID: "rid-" + age.String(), Stamp: uint64(time.Now().Add(-age).UnixNano())}
	}
	expired := &meta.SetVersioning{Header: stamp(meta.RequestIDLifetime + time.Second), Bucket: "lifetime", Status: meta.VersioningEnabled}
	if _, err := gateway.ProposeOn(ctx(t), s, shard, expired); !errors.Is(err, gateway.ErrUnavailable) {
		t.Fatalf("a request id past its lifetime: %v, want ErrUnavailable", err)
	}
	if b := mustBucket(t, s, "lifetime"); b.Versioning != meta.VersioningOff {
		t.Fatalf("versioning %v after a refused proposal", b.Versioning)
	}
	recent := &meta.SetVersioning{Header: stamp(time.Second), Bucket: "lifetime", Status: meta.VersioningEnabled}
	if _, err := gateway.ProposeOn(ctx(t), s, shard, recent); err != nil {
		t.Fatal(err)
	}
	if b := mustBucket(t, s, "lifetime"); b.Versioning != meta.VersioningEnabled {
		t.Fatalf("versioning %v, want enabled", b.Versioning)
	}
}

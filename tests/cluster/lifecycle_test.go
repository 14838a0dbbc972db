//go:build cluster

package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
)

// TestLifecycleAppliedOnce: lifecycle rules are applied by the leader as
// replicated commands, once for the cluster, not once per node. With the
// lifecycle clock three days on, on every node, an object of a versioned
// bucket expires into exactly one delete marker (a second node applying
// the rule would add another once the first is current), later passes
// still run (a new object expires too) and add nothing to what expired,
// and the replicas end identical.
func TestLifecycleAppliedOnce(t *testing.T) {
	c := startCluster(t, 3, withArgs("--lifecycle-interval", "200ms"), withEnv("FORKSTORE_LIFECYCLE_CLOCK_OFFSET=72h"))
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	const b = "lc-once"
	must(t, "make bucket", n1.makeBucket(b))
	ctx, cancel := opCtx()
	defer cancel()
	must(t, "versioning", n1.S3().EnableVersioning(ctx, b))
	must(t, "put", n2.putObject(b, "tmp/a", []byte("a")))
	must(t, "put", n2.putObject(b, "keep", []byte("k")))
	cfg := lifecycle.NewConfiguration()
	cfg.Rules = []lifecycle.Rule{{
		ID: "tmp", Status: "Enabled",
		RuleFilter: lifecycle.Filter{Prefix: "tmp/"},
		Expiration: lifecycle.Expiration{Days: 1},
	}}
	must(t, "put lifecycle", n3.S3().SetBucketLifecycle(ctx, b, cfg))

	gone := func(n *Node, key string) func() error {
		return func() error {
			_, err := n.getObject(b, key, "")
			if code, _ := s3Code(err); code != "NoSuchKey" {
				return fmt.Errorf("GET %s through node %d: %v", key, n.ID, err)
			}
			return nil
		}
	}
	waitFor(t, 30*time.Second, "tmp/a expired", gone(n1, "tmp/a"))
	// A later pass: a new object expires too.
	must(t, "put", n1.putObject(b, "tmp/b", []byte("b")))
	waitFor(t, 30*time.Second, "tmp/b expired", gone(n3, "tmp/b"))
	for _, n := range []*Node{n1, n2, n3} {
		ctx, cancel := opCtx()
		markers, versions := 0, 0
		for o := range n.S3().ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "tmp/a", WithVersions: true}) {
			must(t, "list versions", o.Err)
			if o.IsDeleteMarker {
				markers++
			} else {
				versions++
			}
		}
		cancel()
		if markers != 1 || versions != 1 {
			t.Fatalf("node %d: tmp/a has %d delete markers and %d versions, want 1 and 1", n.ID, markers, versions)
		}
		if got, err := n.getObject(b, "keep", ""); err != nil || string(got) != "k" {
			t.Fatalf("node %d: keep = %q, %v", n.ID, got, err)
		}
	}
	c.WaitConverged(t)
}

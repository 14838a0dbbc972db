//go:build cluster

package cluster

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestObjectLockThroughFailover: versions locked in COMPLIANCE mode and
// under a legal hold stay undeletable on every node after the leader is
// killed, on the new leader and on the old one once it rejoins; the lock
// is replicated state, decided by every replica alike.
func TestObjectLockThroughFailover(t *testing.T) {
	c := startCluster(t, 3)
	n1 := c.Node(1)
	ctx, cancel := opCtx()
	defer cancel()
	if err := n1.S3().MakeBucket(ctx, "vault", minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(describe(err))
	}
	body := []byte("retained through failover")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	comp, err := n1.S3().PutObject(ctx, "vault", "comp", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		Mode: minio.Compliance, RetainUntilDate: until, SendContentMd5: true})
	if err != nil {
		t.Fatal(describe(err))
	}
	held, err := n1.S3().PutObject(ctx, "vault", "held", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		LegalHold: minio.LegalHoldEnabled, SendContentMd5: true})
	if err != nil {
		t.Fatal(describe(err))
	}
	locked := map[string]string{"comp": comp.VersionID, "held": held.VersionID}

	refused := func(n *Node) error {
		for key, vid := range locked {
			ctx, cancel := opCtx()
			err := n.S3().RemoveObject(ctx, "vault", key, minio.RemoveObjectOptions{VersionID: vid, GovernanceBypass: true})
			cancel()
			if code, _ := s3Code(err); code != "AccessDenied" {
				return fmt.Errorf("%s: delete of %s version %s: %s, want AccessDenied", n, key, vid, describe(err))
			}
			ctx, cancel = opCtx()
			obj, err := n.S3().GetObject(ctx, "vault", key, minio.GetObjectOptions{VersionID: vid})
			if err == nil {
				var buf bytes.Buffer
				_, err = buf.ReadFrom(obj)
				obj.Close()
				if err == nil && !bytes.Equal(buf.Bytes(), body) {
					err = fmt.Errorf("reads %q", buf.Bytes())
				}
			}
			cancel()
			if err != nil {
				return fmt.Errorf("%s: %s version %s: %s", n, key, vid, describe(err))
			}
		}
		return nil
	}
	for _, n := range c.Nodes() {
		waitFor(t, convergeTimout, fmt.Sprintf("%s to refuse the deletes", n), func() error { return refused(n) })
	}

	old := c.WaitLeader(t)
	old.Kill()
	l := c.WaitLeader(t)
	if l.ID == old.ID {
		t.Fatalf("node %d still leads after its kill", l.ID)
	}
	for _, n := range c.Up() {
		if err := refused(n); err != nil {
			t.Fatal(err)
		}
	}
	old.Start()
	old.WaitReady(t)
	waitFor(t, convergeTimout, fmt.Sprintf("rejoined %s to refuse the deletes", old), func() error { return refused(old) })
	c.WaitConverged(t)
}

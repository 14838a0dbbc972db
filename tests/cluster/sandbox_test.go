//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// scopedS3 returns a minio-go client of node n signing with a scoped key.
func (n *Node) scopedS3(t testing.TB, id, secret string) *minio.Client {
	t.Helper()
	c, err := minio.New(n.S3Addr, &minio.Options{
		Creds: credentials.NewStaticV4(id, secret, ""), Region: n.Region(), MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// scopedGet reads bucket/key with a scoped key through n and returns its
// body or the S3 error code.
func scopedGet(t testing.TB, c *minio.Client, bucket, key string) (string, string) {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	o, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err == nil {
		var b []byte
		if b, err = io.ReadAll(o); err == nil {
			o.Close()
			return string(b), ""
		}
		o.Close()
	}
	return "", minio.ToErrorResponse(err).Code
}

// TestSandboxesAcrossNodes: keys, batches of forks, leases and merges are
// replicated state. A key made through one node works on every node at
// once, a batch made through another is used through a third, a merge
// through any node lands for all, a deleted key stops on every node within
// a second, a fork whose lease runs out is gone everywhere, and the
// replicas end identical.
func TestSandboxesAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	must(t, "make base", n1.makeBucket("sbx-base"))
	must(t, "put", n1.putObject("sbx-base", "shared", []byte("v0")))

	var key struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	must(t, "create key", n1.Admin(opTimeout, "POST", "keys", map[string]any{"buckets": []string{"sbx-base"}, "read_only": true}, &key))
	for _, n := range []*Node{n1, n2, n3} {
		if got, code := scopedGet(t, n.scopedS3(t, key.AccessKeyID, key.SecretAccessKey), "sbx-base", "shared"); got != "v0" {
			t.Fatalf("the new key on node %d: %q %s", n.ID, got, code)
		}
	}

	var batch struct {
		Forks []struct {
			Bucket          string `json:"bucket"`
			AccessKeyID     string `json:"access_key_id"`
			SecretAccessKey string `json:"secret_access_key"`
		} `json:"forks"`
	}
	must(t, "create-many", n2.Admin(opTimeout, "POST", "buckets/sbx-base/forks/batch",
		map[string]any{"count": 5, "prefix": "sbx-agent-", "with_keys": true, "ttl": "2h"}, &batch))
	if len(batch.Forks) != 5 {
		t.Fatalf("batch of %d", len(batch.Forks))
	}
	// Each agent writes through a different node; none sees the others.
	for i, f := range batch.Forks {
		n := c.Nodes()[i%3]
		s3 := n.scopedS3(t, f.AccessKeyID, f.SecretAccessKey)
		ctx, cancel := opCtx()
		body := fmt.Sprintf("agent %d", i)
		_, err := s3.PutObject(ctx, f.Bucket, "shared", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		cancel()
		must(t, "agent put", err)
		other := batch.Forks[(i+1)%5].Bucket
		if _, code := scopedGet(t, s3, other, "shared"); code != "AccessDenied" {
			t.Fatalf("agent %d read %s: %q", i, other, code)
		}
	}

	// Merge agent 3's fork through node 3; every node shows it.
	var rep struct {
		Puts        int  `json:"puts"`
		ForkDeleted bool `json:"fork_deleted"`
	}
	must(t, "merge", n3.Admin(opTimeout, "POST", "buckets/"+batch.Forks[2].Bucket+"/merge", map[string]any{"delete_fork": true}, &rep))
	if rep.Puts != 1 || !rep.ForkDeleted {
		t.Fatalf("merge %+v", rep)
	}
	for _, n := range []*Node{n1, n2, n3} {
		waitFor(t, 10*time.Second, fmt.Sprintf("node %d to show the merge", n.ID), func() error {
			b, err := n.getObject("sbx-base", "shared", "")
			if err != nil || !bytes.Equal(b, []byte("agent 2")) {
				return fmt.Errorf("%q %v", b, err)
			}
			return nil
		})
	}

	// A key deleted through node 2 stops on every node within a second.
	must(t, "delete key", n2.Admin(opTimeout, "DELETE", "keys/"+key.AccessKeyID, nil, nil))
	deleted := time.Now()
	for _, n := range []*Node{n1, n3} {
		s3 := n.scopedS3(t, key.AccessKeyID, key.SecretAccessKey)
		waitFor(t, 5*time.Second, fmt.Sprintf("the deleted key to stop on node %d", n.ID), func() error {
			if _, code := scopedGet(t, s3, "sbx-base", "shared"); code != "InvalidAccessKeyId" {
				return fmt.Errorf("code %q", code)
			}
			return nil
		})
	}
	if d := time.Since(deleted); d > 2*time.Second {
		t.Errorf("the deleted key took %v to stop everywhere", d)
	}

	// A short lease runs out: the fork is gone on every node.
	must(t, "fork with a lease", n1.Admin(opTimeout, "POST", "buckets/sbx-base/forks", map[string]any{"name": "sbx-short", "ttl": "2s"}, nil))
	for _, n := range []*Node{n1, n2, n3} {
		waitFor(t, time.Minute, fmt.Sprintf("the expired fork to go on node %d", n.ID), func() error {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			ok, err := n.S3().BucketExists(ctx, "sbx-short")
			if err != nil || ok {
				return fmt.Errorf("exists %v, %v", ok, err)
			}
			return nil
		})
	}
	c.WaitConverged(t)
}

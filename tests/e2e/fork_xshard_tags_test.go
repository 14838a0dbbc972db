//go:build e2e

package e2e

import (
	"encoding/json"
	"hash/fnv"
	"maps"
	"testing"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// shardOfName is where a server with count metadata shards places a root
// bucket, and a fork made without an owner or a scoped key: FNV-1a of its
// name.
func shardOfName(name string, count uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()%count + 1
}

// forkOnAnotherShard starts a server with 4 metadata shards, makes a base
// bucket (named after prefix) holding the key "k" put with opts, and forks
// it to a bucket that the server places on another shard.
func forkOnAnotherShard(t *testing.T, prefix string, opts minio.PutObjectOptions) (s *harness.Server, c *minio.Client, base, fork string) {
	t.Helper()
	s = startServer(t, harness.WithArgs("--meta-shards", "4"))
	c = newForkClient(t, s)
	base = bucketName(t, prefix+"base")
	fork = bucketName(t, prefix+"fork")
	for shardOfName(fork, 4) == shardOfName(base, 4) {
		fork = bucketName(t, prefix+"fork")
	}
	makeBucket(t, c, base)
	putBytes(t, c, base, "k", []byte("inherited"), opts)
	forkBucket(t, s, base, fork, "")
	return s, c, base, fork
}

// PutObjectTagging, GetObjectTagging and RemoveObjectTagging through
// minio-go of a key a fork inherits from its parent on another metadata
// shard: the fork shows its own tags, the parent keeps its.
func TestForkAcrossShardsTagging(t *testing.T) {
	t.Parallel()
	parentTags := map[string]string{"from": "parent"}
	_, c, base, fork := forkOnAnotherShard(t, "x", minio.PutObjectOptions{UserTags: parentTags})
	ctx := testCtx(t)

	nt, _ := tags.NewTags(map[string]string{"in": "fork"}, true)
	if err := c.PutObjectTagging(ctx, fork, "k", nt, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatalf("PutObjectTagging of an inherited key: %s", describe(err))
	}
	if got, err := c.GetObjectTagging(ctx, fork, "k", minio.GetObjectTaggingOptions{}); err != nil || !maps.Equal(got.ToMap(), nt.ToMap()) {
		t.Fatalf("fork's tags = %v, %v", got, err)
	}
	if st, err := c.StatObject(ctx, fork, "k", minio.StatObjectOptions{}); err != nil || st.UserTagCount != 1 {
		t.Fatalf("fork's x-amz-tagging-count: %d %v", st.UserTagCount, err)
	}
	if got, err := c.GetObjectTagging(ctx, base, "k", minio.GetObjectTaggingOptions{}); err != nil || !maps.Equal(got.ToMap(), parentTags) {
		t.Fatalf("parent's tags = %v, %v", got, err)
	}
	if err := c.RemoveObjectTagging(ctx, fork, "k", minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatalf("RemoveObjectTagging of an inherited key: %s", describe(err))
	}
	if got, err := c.GetObjectTagging(ctx, fork, "k", minio.GetObjectTaggingOptions{}); err != nil || len(got.ToMap()) != 0 {
		t.Fatalf("fork's tags after removal = %v, %v", got, err)
	}
	err := c.PutObjectTagging(ctx, fork, "missing", nt, minio.PutObjectTaggingOptions{})
	wantCode(t, "PutObjectTagging of a key neither has", err, "NoSuchKey")
}

// A scoped key (forkstore key create) naming a base and its fork on
// another metadata shard works on both through minio-go, and nowhere once
// deleted.
func TestForkAcrossShardsScopedKey(t *testing.T) {
	t.Parallel()
	s, c, base, fork := forkOnAnotherShard(t, "k", minio.PutObjectOptions{})
	ctx := testCtx(t)
	var k struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	out := mustCLI(t, s, "key", "create", "--bucket", base, "--bucket", fork, "--json")
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatalf("key create: %v %s", err, out)
	}
	scoped := newClient(t, s, withCreds(k.AccessKeyID, k.SecretAccessKey))
	for _, b := range []string{base, fork} {
		putBytes(t, scoped, b, "by-key", []byte(b), minio.PutObjectOptions{})
		if _, err := scoped.StatObject(ctx, b, "k", minio.StatObjectOptions{}); err != nil {
			t.Fatalf("the key reading %s: %s", b, describe(err))
		}
	}
	other := bucketName(t, "kother")
	makeBucket(t, c, other)
	_, err := scoped.StatObject(ctx, other, "k", minio.StatObjectOptions{})
	wantCode(t, "a bucket outside the key's scope", err, "AccessDenied")
	mustCLI(t, s, "key", "delete", k.AccessKeyID)
	for _, b := range []string{base, fork} {
		_, err := scoped.GetObjectTagging(ctx, b, "k", minio.GetObjectTaggingOptions{})
		wantCode(t, "a deleted key on "+b, err, "InvalidAccessKeyId")
	}
}

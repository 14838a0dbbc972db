//go:build cluster

package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// putPAB puts a public access block with RestrictPublicBuckets on bucket
// (restrict) or deletes the bucket's block, signed with the root key.
func (n *Node) putPAB(t *testing.T, bucket string, restrict bool) error {
	t.Helper()
	method, body, want := http.MethodDelete, []byte(nil), http.StatusNoContent
	if restrict {
		method, want = http.MethodPut, http.StatusOK
		body = []byte(`<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>`)
	}
	req, err := http.NewRequest(method, "http://"+n.S3Addr+"/"+bucket+"?publicAccessBlock", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(body))
	if body == nil {
		req.Body = http.NoBody
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req = signer.SignV4(*req, n.User(), n.Password(), "", n.Region())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s ?publicAccessBlock: status %d", method, resp.StatusCode)
	}
	return nil
}

// TestBucketPolicyAcrossNodes: a bucket policy, a public access block and
// bucket tags are replicated bucket configuration. A policy put through
// one node decides unsigned requests on every node at once; the public
// access block put through another takes effect everywhere; its delete
// through a third too; tags read back from any node.
func TestBucketPolicyAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	must(t, "make bucket", n1.makeBucket("pol-base"))
	must(t, "put", n1.putObject("pol-base", "pub/k", []byte("v")))
	anon := func(n *Node) int {
		t.Helper()
		resp, err := http.Get("http://" + n.S3Addr + "/pol-base/pub/k")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ctx, cancel := opCtx()
	defer cancel()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol-base/pub/*"}]}`
	must(t, "put policy", n1.S3().SetBucketPolicy(ctx, "pol-base", policy))
	// The write is committed: a linearizable read on any node sees it.
	for _, n := range []*Node{n1, n2, n3} {
		if got := anon(n); got != 200 {
			t.Fatalf("unsigned GET on %s under the policy: %d", n, got)
		}
		got, err := n.S3().GetBucketPolicy(ctx, "pol-base")
		if err != nil || got != policy {
			t.Fatalf("GetBucketPolicy on %s: %q %v", n, got, err)
		}
	}
	// RestrictPublicBuckets through node 2 stops the public statement on
	// every node.
	must(t, "put public access block", n2.putPAB(t, "pol-base", true))
	for _, n := range []*Node{n1, n2, n3} {
		if got := anon(n); got != 403 {
			t.Fatalf("unsigned GET on %s under RestrictPublicBuckets: %d", n, got)
		}
	}
	must(t, "delete public access block", n3.putPAB(t, "pol-base", false))
	for _, n := range []*Node{n1, n2, n3} {
		if got := anon(n); got != 200 {
			t.Fatalf("unsigned GET on %s after DeletePublicAccessBlock: %d", n, got)
		}
	}
	tg, err := tags.NewTags(map[string]string{"team": "data"}, false)
	if err != nil {
		t.Fatal(err)
	}
	must(t, "put tags", n3.S3().SetBucketTagging(ctx, "pol-base", tg))
	for _, n := range []*Node{n1, n2, n3} {
		back, err := n.S3().GetBucketTagging(ctx, "pol-base")
		if err != nil || back.ToMap()["team"] != "data" {
			t.Fatalf("GetBucketTagging on %s: %v %v", n, back, err)
		}
	}
}

// TestUsersAcrossNodes: a user made through one node signs on every node
// at once, owns the bucket it creates through a second, which a third
// lists for it alone; its rotated key stops on every node.
func TestUsersAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	var u struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	must(t, "create user", n1.Admin(opTimeout, "POST", "users", map[string]any{"name": "carol"}, &u))
	ctx, cancel := opCtx()
	defer cancel()
	must(t, "make bucket as carol", n2.scopedS3(t, u.AccessKeyID, u.SecretAccessKey).MakeBucket(ctx, "carol-b", minio.MakeBucketOptions{}))
	must(t, "make bucket as root", n1.makeBucket("root-b"))
	for _, n := range []*Node{n1, n2, n3} {
		bs, err := n.scopedS3(t, u.AccessKeyID, u.SecretAccessKey).ListBuckets(ctx)
		if err != nil || len(bs) != 1 || bs[0].Name != "carol-b" {
			t.Fatalf("carol's ListBuckets on %s: %v %v", n, bs, err)
		}
	}
	var rot struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	must(t, "rotate", n3.Admin(opTimeout, "POST", "users/carol/rotate-key", nil, &rot))
	waitFor(t, 5*time.Second, "the old key refused on every node", func() error {
		for _, n := range []*Node{n1, n2, n3} {
			if _, err := n.scopedS3(t, u.AccessKeyID, u.SecretAccessKey).ListBuckets(ctx); err == nil {
				return fmt.Errorf("old key still works on %s", n)
			}
		}
		return nil
	})
	for _, n := range []*Node{n1, n2, n3} {
		if _, err := n.scopedS3(t, rot.AccessKeyID, rot.SecretAccessKey).ListBuckets(ctx); err != nil {
			t.Fatalf("new key on %s: %v", n, err)
		}
	}
}

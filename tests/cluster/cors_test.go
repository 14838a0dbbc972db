//go:build cluster

package cluster

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
)

// preflight sends a CORS preflight to node n and returns its status and
// Access-Control-Allow-Origin.
func preflight(t *testing.T, n *Node, bucket, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, "http://"+n.S3Addr+"/"+bucket+"/k", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "PUT")
	resp, err := (&http.Client{Timeout: opTimeout}).Do(req)
	if err != nil {
		t.Fatalf("preflight on %s: %v", n, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin")
}

// TestCORSAcrossNodes: a bucket's CORS rules are replicated state. Rules
// set through one node answer preflights on every node at once, a fork
// made through another has none of its own until it gets them, a POST
// Object form signed with the policy from one node uploads through
// another, a delete through the third stops the preflights everywhere,
// and the replicas end identical.
func TestCORSAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	must(t, "make bucket", n1.makeBucket("cors-base"))
	ctx, cancel := opCtx()
	defer cancel()
	const origin = "https://app.example.com"
	rules := cors.NewConfig([]cors.Rule{{AllowedOrigin: []string{origin}, AllowedMethod: []string{"GET", "PUT", "POST"}}})
	must(t, "PutBucketCors", n1.S3().SetBucketCors(ctx, "cors-base", rules))
	for _, n := range []*Node{n1, n2, n3} {
		if st, allow := preflight(t, n, "cors-base", origin); st != 200 || allow != origin {
			t.Fatalf("preflight on %s right after PutBucketCors: %d %q", n, st, allow)
		}
	}

	must(t, "fork", n2.CreateFork("cors-base", "cors-fork", ""))
	if st, _ := preflight(t, n3, "cors-fork", origin); st != http.StatusForbidden {
		t.Fatalf("a fork's preflight before it has rules: %d", st)
	}
	must(t, "PutBucketCors on the fork", n3.S3().SetBucketCors(ctx, "cors-fork", rules))
	if st, _ := preflight(t, n1, "cors-fork", origin); st != 200 {
		t.Fatalf("the fork's own rules on %s: %d", n1, st)
	}

	p := minio.NewPostPolicy()
	p.SetBucket("cors-base")
	p.SetKey("form.txt")
	p.SetExpires(time.Now().Add(time.Minute))
	u, fields, err := n1.S3().PresignedPostPolicy(ctx, p)
	must(t, "PresignedPostPolicy", err)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "form.txt")
	fw.Write([]byte("posted through node 3"))
	mw.Close()
	u.Host = n3.S3Addr
	resp, err := (&http.Client{Timeout: opTimeout}).Post(u.String(), mw.FormDataContentType(), &body)
	must(t, "POST Object", err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST Object through %s: %d", n3, resp.StatusCode)
	}
	got, err := n2.getObject("cors-base", "form.txt", "")
	if err != nil || string(got) != "posted through node 3" {
		t.Fatalf("the posted object through %s: %q %v", n2, got, err)
	}

	must(t, "DeleteBucketCors", n3.S3().SetBucketCors(ctx, "cors-base", nil))
	for _, n := range []*Node{n1, n2, n3} {
		if st, allow := preflight(t, n, "cors-base", origin); st != http.StatusForbidden || allow != "" {
			t.Fatalf("preflight on %s after DeleteBucketCors: %d %q", n, st, allow)
		}
	}
	c.WaitConverged(t)
}

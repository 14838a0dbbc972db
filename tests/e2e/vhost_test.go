//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/forkstore/forkstore/tests/harness"
)

// vhostDomain is the --domain of the virtual-host test server. Names under
// it never resolve: the client's transport dials the server directly, as a
// wildcard DNS record would.
const vhostDomain = "s3.forkstore.test"

// Virtual-host style addressing (--domain): the bucket comes from the Host
// header ("bucket.s3.forkstore.test:port") for every operation, including
// presigned URLs, while path-style requests keep working on the same server.
func TestVirtualHostStyle(t *testing.T) {
	t.Parallel()
	s := startServer(t, harness.WithDomain(vhostDomain))
	_, port, err := net.SplitHostPort(s.S3Addr)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.S3Addr)
	}
	c, err := minio.New(vhostDomain+":"+port, &minio.Options{
		Creds:        credentials.NewStaticV4(s.User(), s.Password(), ""),
		Region:       s.Region(),
		BucketLookup: minio.BucketLookupDNS,
		Transport:    &http.Transport{DialContext: dial},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	bucket := bucketName(t, "vhost")
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket (virtual host): %v", err)
	}
	if ok, err := c.BucketExists(ctx, bucket); err != nil || !ok {
		t.Fatalf("HeadBucket (virtual host): %v %v", ok, err)
	}
	body := bytes.Repeat([]byte("virtual host "), 1000)
	for _, key := range []string{"plain", "dir/with space+plus", "unicode/é"} {
		if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject %q: %v", key, err)
		}
		o, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(o)
		o.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GetObject %q: %d bytes, %v", key, len(got), err)
		}
	}
	var keys []string
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, ",") != "dir/with space+plus,plain,unicode/é" {
		t.Fatalf("ListObjectsV2 (virtual host): %q", keys)
	}

	// A presigned virtual-host URL works with a plain HTTP client.
	u, err := c.PresignedGetObject(ctx, bucket, "plain", 5*time.Minute, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.Host, bucket+"."+vhostDomain) {
		t.Fatalf("presigned URL is not virtual-host style: %s", u)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: dial}}
	resp, err := hc.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("presigned virtual-host GET: %d, %d bytes", resp.StatusCode, len(got))
	}

	// Path style on the same server sees the same bucket.
	pc := newClient(t, s)
	if got := getBytes(t, pc, bucket, "plain", minio.GetObjectOptions{}); !bytes.Equal(got, body) {
		t.Fatalf("path-style read of a virtual-host write: %d bytes", len(got))
	}
	if err := c.RemoveObject(ctx, bucket, "plain", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = pc.StatObject(ctx, bucket, "plain", minio.StatObjectOptions{})
	wantCode(t, "StatObject after a virtual-host delete", err, "NoSuchKey")
}

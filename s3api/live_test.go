package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

// liveServer is the S3 front end on a real single-node gateway (real
// Dragonboat, Badger and chunk store in t.TempDir), served on loopback.
type liveServer struct {
	s    *Server
	node *gateway.Node
	addr string
	mc   *minio.Client
	core *minio.Core
}

func newLiveServer(t *testing.T, domains ...string) *liveServer {
	t.Helper()
	return newLiveServerConfig(t, func(cfg *Config) { cfg.Domains = domains })
}

// newLiveServerConfig is newLiveServer with the front end's Config
// changed by mutate.
func newLiveServerConfig(t *testing.T, mutate func(*Config)) *liveServer {
	t.Helper()
	return newLiveServerNode(t, nil, mutate)
}

// newLiveServerNode is newLiveServerConfig with the node's Config changed
// by node (the history window, the lease clock...).
func newLiveServerNode(t *testing.T, node func(*gateway.Config), mutate func(*Config)) *liveServer {
	t.Helper()
	ncfg := gatewaytest.Config(t)
	if node != nil {
		node(&ncfg)
	}
	return startLiveServer(t, gatewaytest.NewNode(t, ncfg), mutate)
}

// startLiveServer serves the front end of node on a loopback port.
func startLiveServer(t *testing.T, node *gateway.Node, mutate func(*Config)) *liveServer {
	t.Helper()
	return startLiveServerOn(t, node, mutate, nil)
}

// startLiveServerOn is startLiveServer serving on wrap(the loopback
// listener) (nil: the listener itself).
func startLiveServerOn(t *testing.T, node *gateway.Node, mutate func(*Config), wrap func(net.Listener) net.Listener) *liveServer {
	t.Helper()
	sink := &logSink{t: t}
	cfg := DefaultConfig()
	cfg.Region = testRegion
	if mutate != nil {
		mutate(&cfg)
	}
	s := New(cfg, node.Service(), slog.New(slog.NewTextHandler(sink, nil)))
	svc := node.Service()
	s.auth.Secret = func(k string) (string, bool) {
		if k == testAccessKey {
			return testSecretKey, true
		}
		return svc.SecretKey(k)
	}
	s.principal = func(ctx context.Context, k string) (*gateway.Principal, bool) {
		if k == testAccessKey {
			return &gateway.Principal{AccessKey: k, Root: true}, true
		}
		return svc.Principal(ctx, k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	ls := &liveServer{s: s, node: node, addr: addr}
	ls.mc = newLiveServerClient(t, ls, func(*minio.Options) {})
	ls.core = &minio.Core{Client: ls.mc}
	return ls
}

// raw sends a SigV4-signed request over the wire.
func (ls *liveServer) raw(t *testing.T, method, target string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	return ls.rawWith(t, testAccessKey, testSecretKey, method, target, body, hdr)
}

// rawWith is raw signed with another access key.
func (ls *liveServer) rawWith(t *testing.T, access, secret, method, target string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+ls.addr+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	if body == nil {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if req.Header.Get("X-Amz-Content-Sha256") == "" {
		sum := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	}
	req = signer.SignV4(*req, access, secret, "", testRegion)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// code returns the S3 error code of a minio-go error ("" for nil).
func code(err error) string {
	if err == nil {
		return ""
	}
	return minio.ToErrorResponse(err).Code
}

func mustCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error %v: code %q, want %q", err, got, want)
	}
}

func randBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// TestLiveBuckets: CreateBucket, HeadBucket, ListBuckets,
// GetBucketLocation, versioning, DeleteBucket through minio-go.
func TestLiveBuckets(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "alpha", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	// us-east-1: creating a bucket you own again succeeds (CreateBucket).
	if err := ls.mc.MakeBucket(ctx, "alpha", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("CreateBucket of an owned bucket in us-east-1: %v", err)
	}
	resp, _ := ls.raw(t, "PUT", "/beta", []byte("<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"), nil)
	if resp.StatusCode != 400 {
		t.Errorf("other region: %d", resp.StatusCode)
	}
	if ok, err := ls.mc.BucketExists(ctx, "alpha"); !ok || err != nil {
		t.Fatalf("BucketExists: %v %v", ok, err)
	}
	if ok, err := ls.mc.BucketExists(ctx, "nope"); ok || err != nil {
		t.Fatalf("BucketExists(nope): %v %v", ok, err)
	}
	resp, _ = ls.raw(t, "HEAD", "/alpha", nil, nil)
	if resp.Header.Get("X-Amz-Bucket-Region") != testRegion {
		t.Errorf("HeadBucket headers %v", resp.Header)
	}
	loc, err := ls.mc.GetBucketLocation(ctx, "alpha")
	if err != nil || loc != testRegion {
		t.Fatalf("GetBucketLocation: %q %v", loc, err)
	}
	_, body := ls.raw(t, "GET", "/alpha?location", nil, nil)
	if !bytes.Contains(body, []byte(`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`)) {
		t.Errorf("us-east-1 location: %s", body)
	}
	buckets, err := ls.mc.ListBuckets(ctx)
	if err != nil || len(buckets) != 1 || buckets[0].Name != "alpha" || time.Since(buckets[0].CreationDate) > time.Minute {
		t.Fatalf("ListBuckets: %+v %v", buckets, err)
	}
	vc, err := ls.mc.GetBucketVersioning(ctx, "alpha")
	if err != nil || vc.Status != "" {
		t.Fatalf("GetBucketVersioning: %+v %v", vc, err)
	}
	if err := ls.mc.EnableVersioning(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if vc, _ := ls.mc.GetBucketVersioning(ctx, "alpha"); vc.Status != "Enabled" {
		t.Fatalf("versioning %+v", vc)
	}
	_, body = ls.raw(t, "GET", "/alpha?acl", nil, nil)
	if !bytes.Contains(body, []byte("FULL_CONTROL")) {
		t.Errorf("GetBucketAcl: %s", body)
	}
	if _, err := ls.mc.PutObject(ctx, "alpha", "k", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	mustCode(t, ls.mc.RemoveBucket(ctx, "alpha"), "BucketNotEmpty")
	mustCode(t, ls.mc.RemoveBucket(ctx, "nope"), "NoSuchBucket")
	if err := ls.mc.MakeBucket(ctx, "gamma", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ls.mc.RemoveBucket(ctx, "gamma"); err != nil {
		t.Fatal(err)
	}
}

// TestLiveObjects: PutObject (aws-chunked streaming, as minio-go sends over
// HTTP), GetObject with ranges and preconditions, HeadObject, checksums,
// CopyObject, DeleteObject(s).
func TestLiveObjects(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "objs", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	big := randBytes(9<<20+123, 1)
	info, err := ls.mc.PutObject(ctx, "objs", "dir/big.bin", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{
		DisableMultipart: true, ContentType: "application/x-test", UserMetadata: map[string]string{"color": "blue"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(big)
	if info.ETag != hex.EncodeToString(sum[:]) {
		t.Errorf("ETag %q", info.ETag)
	}

	t.Run("GetObject whole", func(t *testing.T) {
		o, err := ls.mc.GetObject(ctx, "objs", "dir/big.bin", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(o)
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("read %d bytes, err %v", len(got), err)
		}
	})
	t.Run("HeadObject", func(t *testing.T) {
		st, err := ls.mc.StatObject(ctx, "objs", "dir/big.bin", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Size != int64(len(big)) || st.ContentType != "application/x-test" || st.UserMetadata["Color"] != "blue" || time.Since(st.LastModified) > time.Minute {
			t.Errorf("stat %+v", st)
		}
		resp, body := ls.raw(t, "HEAD", "/objs/dir/big.bin", nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
		if resp.Header.Get("X-Amz-Checksum-Crc64nvme") == "" || resp.Header.Get("Accept-Ranges") != "bytes" || len(body) != 0 {
			t.Errorf("HEAD headers %v body %d", resp.Header, len(body))
		}
		if resp.ContentLength != int64(len(big)) {
			t.Errorf("HEAD Content-Length %d", resp.ContentLength)
		}
	})
	t.Run("Range", func(t *testing.T) {
		resp, body := ls.raw(t, "GET", "/objs/dir/big.bin", nil, map[string]string{"Range": "bytes=100-199", "x-amz-checksum-mode": "ENABLED"})
		if resp.StatusCode != 206 || !bytes.Equal(body, big[100:200]) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(big)) {
			t.Errorf("status %d, Content-Range %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
		}
		if resp.Header.Get("X-Amz-Checksum-Crc64nvme") != "" {
			t.Error("full-object checksum on a ranged GET")
		}
		resp, body = ls.raw(t, "GET", "/objs/dir/big.bin", nil, map[string]string{"Range": "bytes=-10"})
		if resp.StatusCode != 206 || !bytes.Equal(body, big[len(big)-10:]) {
			t.Errorf("suffix: %d %d", resp.StatusCode, len(body))
		}
		resp, body = ls.raw(t, "GET", "/objs/dir/big.bin", nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(big))})
		if resp.StatusCode != 416 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(big)) || !bytes.Contains(body, []byte("InvalidRange")) {
			t.Errorf("unsatisfiable: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Range"), body)
		}
		resp, body = ls.raw(t, "GET", "/objs/dir/big.bin", nil, map[string]string{"Range": "bytes=0-1,5-6"})
		if resp.StatusCode != 200 || len(body) != len(big) {
			t.Errorf("multi-range: %d %d", resp.StatusCode, len(body))
		}
	})
	t.Run("Empty object", func(t *testing.T) {
		if resp, b := ls.raw(t, "PUT", "/objs/empty", nil, nil); resp.StatusCode != 200 {
			t.Fatalf("put: %d %s", resp.StatusCode, b)
		}
		resp, body := ls.raw(t, "GET", "/objs/empty", nil, nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != 0 || resp.Header.Get("Content-Type") != "binary/octet-stream" {
			t.Errorf("GET: %d %d %v", resp.StatusCode, resp.ContentLength, resp.Header)
		}
		resp, body = ls.raw(t, "GET", "/objs/empty", nil, map[string]string{"Range": "bytes=0-"})
		if resp.StatusCode != 416 || !bytes.Contains(body, []byte("InvalidRange")) {
			t.Errorf("ranged GET: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("Preconditions", func(t *testing.T) {
		etag := `"` + info.ETag + `"`
		resp, body := ls.raw(t, "GET", "/objs/dir/big.bin", nil, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match: %d %d %v", resp.StatusCode, len(body), resp.Header)
		}
		resp, body = ls.raw(t, "GET", "/objs/dir/big.bin", nil, map[string]string{"If-Match": `"nope"`})
		if resp.StatusCode != 412 || !bytes.Contains(body, []byte("PreconditionFailed")) {
			t.Errorf("If-Match: %d %s", resp.StatusCode, body)
		}
		resp, _ = ls.raw(t, "GET", "/objs/dir/big.bin", nil, map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)})
		if resp.StatusCode != 304 {
			t.Errorf("If-Modified-Since: %d", resp.StatusCode)
		}
	})
	t.Run("Conditional writes", func(t *testing.T) {
		resp, body := ls.raw(t, "PUT", "/objs/once", []byte("1"), map[string]string{"If-None-Match": "*"})
		if resp.StatusCode != 200 {
			t.Fatalf("first: %d %s", resp.StatusCode, body)
		}
		resp, body = ls.raw(t, "PUT", "/objs/once", []byte("2"), map[string]string{"If-None-Match": "*"})
		if resp.StatusCode != 412 {
			t.Errorf("second: %d %s", resp.StatusCode, body)
		}
		resp, body = ls.raw(t, "PUT", "/objs/once", []byte("3"), map[string]string{"If-Match": `"00000000000000000000000000000000"`})
		if resp.StatusCode != 412 {
			t.Errorf("If-Match: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("Checksums", func(t *testing.T) {
		// AWS defaults to CRC64NVME when the client sends no checksum.
		resp, _ := ls.raw(t, "PUT", "/objs/plain", []byte("hello"), nil)
		if resp.Header.Get("X-Amz-Checksum-Crc64nvme") == "" || resp.Header.Get("X-Amz-Checksum-Type") != "FULL_OBJECT" {
			t.Errorf("default checksum: %v", resp.Header)
		}
		// crc32("hello") = 0x3610a686
		resp, body := ls.raw(t, "PUT", "/objs/crc", []byte("hello"), map[string]string{"x-amz-checksum-crc32": "NhCmhg=="})
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Checksum-Crc32") != "NhCmhg==" {
			t.Errorf("crc32: %d %s %v", resp.StatusCode, body, resp.Header)
		}
		resp, body = ls.raw(t, "PUT", "/objs/crc", []byte("hellO"), map[string]string{"x-amz-checksum-crc32": "NhCmhg=="})
		if resp.StatusCode != 400 || !bytes.Contains(body, []byte("BadDigest")) {
			t.Errorf("crc32 mismatch: %d %s", resp.StatusCode, body)
		}
		resp, body = ls.raw(t, "PUT", "/objs/md5", []byte("hello"), map[string]string{"Content-MD5": md5b64([]byte("other"))})
		if resp.StatusCode != 400 || !bytes.Contains(body, []byte("BadDigest")) {
			t.Errorf("md5 mismatch: %d %s", resp.StatusCode, body)
		}
		if _, err := ls.mc.StatObject(ctx, "objs", "md5", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
			t.Errorf("a failed upload was stored: %v", err)
		}
		resp, _ = ls.raw(t, "GET", "/objs/crc", nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
		if resp.Header.Get("X-Amz-Checksum-Crc32") != "NhCmhg==" {
			t.Errorf("GET checksum: %v", resp.Header)
		}
	})
	t.Run("Trailer checksum (minio-go)", func(t *testing.T) {
		tl := newLiveServerClient(t, ls, func(o *minio.Options) { o.TrailingHeaders = true })
		data := randBytes(70000, 3)
		_, err := tl.PutObject(ctx, "objs", "trailer", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
			DisableMultipart: true, Checksum: minio.ChecksumCRC32C,
		})
		if err != nil {
			t.Fatal(err)
		}
		o, _ := ls.mc.GetObject(ctx, "objs", "trailer", minio.GetObjectOptions{})
		if got, _ := io.ReadAll(o); !bytes.Equal(got, data) {
			t.Error("trailer upload content differs")
		}
	})
	t.Run("Unknown length (Transfer-Encoding: chunked)", func(t *testing.T) {
		data := randBytes(1<<20+7, 4)
		_, err := ls.mc.PutObject(ctx, "objs", "chunked", io.MultiReader(bytes.NewReader(data)), -1, minio.PutObjectOptions{PartSize: 5 << 20})
		if err != nil {
			t.Fatal(err)
		}
		st, err := ls.mc.StatObject(ctx, "objs", "chunked", minio.StatObjectOptions{})
		if err != nil || st.Size != int64(len(data)) {
			t.Fatalf("stat %+v %v", st, err)
		}
	})
	t.Run("CopyObject", func(t *testing.T) {
		_, err := ls.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "objs", Object: "copy"}, minio.CopySrcOptions{Bucket: "objs", Object: "dir/big.bin"})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := ls.mc.StatObject(ctx, "objs", "copy", minio.StatObjectOptions{})
		if st.ETag != info.ETag || st.UserMetadata["Color"] != "blue" {
			t.Errorf("copy: %+v", st)
		}
		_, err = ls.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "objs", Object: "copy2", ReplaceMetadata: true, UserMetadata: map[string]string{"shape": "round"}},
			minio.CopySrcOptions{Bucket: "objs", Object: "dir/big.bin"})
		if err != nil {
			t.Fatal(err)
		}
		st, _ = ls.mc.StatObject(ctx, "objs", "copy2", minio.StatObjectOptions{})
		if st.UserMetadata["Shape"] != "round" || st.UserMetadata["Color"] != "" {
			t.Errorf("replace: %+v", st.UserMetadata)
		}
		resp, body := ls.raw(t, "PUT", "/objs/copy", nil, map[string]string{"x-amz-copy-source": "/objs/copy"})
		if resp.StatusCode != 400 || !bytes.Contains(body, []byte("InvalidRequest")) {
			t.Errorf("self copy: %d %s", resp.StatusCode, body)
		}
		resp, body = ls.raw(t, "PUT", "/objs/copy3", nil, map[string]string{"x-amz-copy-source": "/objs/copy", "x-amz-copy-source-if-match": `"x"`})
		if resp.StatusCode != 412 {
			t.Errorf("copy precondition: %d %s", resp.StatusCode, body)
		}
		var res CopyObjectResult
		resp, body = ls.raw(t, "PUT", "/objs/copy4", nil, map[string]string{"x-amz-copy-source": "objs/dir%2Fbig.bin"})
		if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || res.ETag != `"`+info.ETag+`"` || !strings.HasSuffix(res.LastModified, "Z") {
			t.Errorf("encoded source: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if err := ls.mc.RemoveObject(ctx, "objs", "copy", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := ls.mc.RemoveObject(ctx, "objs", "never-existed", minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		_, err := ls.mc.StatObject(ctx, "objs", "copy", minio.StatObjectOptions{})
		mustCode(t, err, "NoSuchKey")
		resp, body := ls.raw(t, "HEAD", "/objs/copy", nil, nil)
		if resp.StatusCode != 404 || len(body) != 0 {
			t.Errorf("HEAD missing: %d %q", resp.StatusCode, body)
		}
		ch := make(chan minio.ObjectInfo, 3)
		ch <- minio.ObjectInfo{Key: "copy2"}
		ch <- minio.ObjectInfo{Key: "copy4"}
		ch <- minio.ObjectInfo{Key: "missing"}
		close(ch)
		for e := range ls.mc.RemoveObjects(ctx, "objs", ch, minio.RemoveObjectsOptions{}) {
			t.Errorf("RemoveObjects: %+v", e)
		}
		del := []byte(`<Delete><Object><Key>once</Key></Object><Object><Key>x</Key><VersionId>bad</VersionId></Object></Delete>`)
		resp, body = ls.raw(t, "POST", "/objs?delete", del, nil)
		var dr DeleteResult
		if err := xml.Unmarshal(body, &dr); err != nil || resp.StatusCode != 200 || len(dr.Deleted) != 1 || len(dr.Errors) != 1 || dr.Errors[0].Code != "InvalidArgument" {
			t.Errorf("DeleteObjects: %d %s", resp.StatusCode, body)
		}
	})
}

// newLiveServerClient returns another minio-go client of ls.
func newLiveServerClient(t *testing.T, ls *liveServer, opt func(*minio.Options)) *minio.Client {
	t.Helper()
	mo := &minio.Options{Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: testRegion}
	opt(mo)
	mc, err := minio.New(ls.addr, mo)
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// TestLiveListing: pagination, delimiters and encoding-type=url on keys
// that clients encode differently (pitfalls 3 and 4).
func TestLiveListing(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "lists", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a b.txt", "a+b.txt", "100%.csv", "dir/x", "dir/y", "dir/sub/z", "é/ü", "~t"}
	for _, k := range keys {
		if _, err := ls.mc.PutObject(ctx, "lists", k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	for _, v1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("paginate v1=%v", v1), func(t *testing.T) {
			var got []string
			for o := range ls.mc.ListObjects(ctx, "lists", minio.ListObjectsOptions{Recursive: true, MaxKeys: 3, UseV1: v1}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				got = append(got, o.Key)
			}
			if len(got) != len(keys) {
				t.Errorf("listed %q", got)
			}
		})
	}
	t.Run("delimiter", func(t *testing.T) {
		var got []string
		for o := range ls.mc.ListObjects(ctx, "lists", minio.ListObjectsOptions{Prefix: "dir/"}) {
			got = append(got, o.Key)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != "dir/sub/,dir/x,dir/y" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("encoding-type=url", func(t *testing.T) {
		_, body := ls.raw(t, "GET", "/lists?list-type=2&encoding-type=url&delimiter=%2F", nil, nil)
		var res ListBucketResultV2
		if err := xml.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range res.Contents {
			got = append(got, c.Key)
		}
		for _, c := range res.CommonPrefixes {
			got = append(got, c.Prefix)
		}
		want := "100%25.csv,a%20b.txt,a%2Bb.txt,%7Et,dir/,%C3%A9/"
		if res.EncodingType != "url" || strings.Join(got, ",") != want || res.KeyCount != 6 {
			t.Errorf("got %q (EncodingType %q, KeyCount %d), want %q", strings.Join(got, ","), res.EncodingType, res.KeyCount, want)
		}
	})
	t.Run("v1 NextMarker only with delimiter", func(t *testing.T) {
		_, body := ls.raw(t, "GET", "/lists?max-keys=1", nil, nil)
		var res ListBucketResult
		if err := xml.Unmarshal(body, &res); err != nil || !res.IsTruncated || res.NextMarker != "" {
			t.Errorf("no delimiter: %s", body)
		}
		_, body = ls.raw(t, "GET", "/lists?max-keys=1&delimiter=/", nil, nil)
		res = ListBucketResult{}
		if err := xml.Unmarshal(body, &res); err != nil || !res.IsTruncated || res.NextMarker == "" {
			t.Errorf("delimiter: %s", body)
		}
	})
	t.Run("max-keys 0", func(t *testing.T) {
		resp, body := ls.raw(t, "GET", "/lists?list-type=2&max-keys=0", nil, nil)
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<KeyCount>0</KeyCount>")) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
		resp, _ = ls.raw(t, "GET", "/nobucket?list-type=2&max-keys=0", nil, nil)
		if resp.StatusCode != 404 {
			t.Errorf("missing bucket: %d", resp.StatusCode)
		}
	})
}

// TestLiveVersions: versioned writes, ListObjectVersions, delete markers
// (404 with x-amz-delete-marker, 405 by version id).
func TestLiveVersions(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "vers", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ls.mc.EnableVersioning(ctx, "vers"); err != nil {
		t.Fatal(err)
	}
	v1, err := ls.mc.PutObject(ctx, "vers", "k", strings.NewReader("one"), 3, minio.PutObjectOptions{})
	if err != nil || v1.VersionID == "" {
		t.Fatalf("put: %+v %v", v1, err)
	}
	if _, err := ls.mc.PutObject(ctx, "vers", "k", strings.NewReader("two!"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	o, _ := ls.mc.GetObject(ctx, "vers", "k", minio.GetObjectOptions{VersionID: v1.VersionID})
	if b, _ := io.ReadAll(o); string(b) != "one" {
		t.Errorf("old version %q", b)
	}
	resp, _ := ls.raw(t, "DELETE", "/vers/k", nil, nil)
	marker := resp.Header.Get("X-Amz-Version-Id")
	if resp.StatusCode != 204 || resp.Header.Get("X-Amz-Delete-Marker") != "true" || marker == "" {
		t.Fatalf("delete: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body := ls.raw(t, "GET", "/vers/k", nil, nil)
	if resp.StatusCode != 404 || resp.Header.Get("X-Amz-Delete-Marker") != "true" || !bytes.Contains(body, []byte("NoSuchKey")) {
		t.Errorf("GET deleted: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, _ = ls.raw(t, "HEAD", "/vers/k?versionId="+marker, nil, nil)
	if resp.StatusCode != 405 || resp.Header.Get("X-Amz-Delete-Marker") != "true" {
		t.Errorf("HEAD marker: %d %v", resp.StatusCode, resp.Header)
	}
	var n, markers int
	for ov := range ls.mc.ListObjects(ctx, "vers", minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if ov.Err != nil {
			t.Fatal(ov.Err)
		}
		n++
		if ov.IsDeleteMarker {
			markers++
			if !ov.IsLatest || ov.VersionID != marker {
				t.Errorf("marker %+v", ov)
			}
		}
	}
	if n != 3 || markers != 1 {
		t.Errorf("%d versions, %d markers", n, markers)
	}
	resp, _ = ls.raw(t, "DELETE", "/vers/k?versionId="+marker, nil, nil)
	if resp.StatusCode != 204 || resp.Header.Get("X-Amz-Delete-Marker") != "true" {
		t.Errorf("delete marker by id: %d %v", resp.StatusCode, resp.Header)
	}
	o, _ = ls.mc.GetObject(ctx, "vers", "k", minio.GetObjectOptions{})
	if b, _ := io.ReadAll(o); string(b) != "two!" {
		t.Errorf("after removing the marker: %q", b)
	}
}

// TestLiveMultipart: minio-go multipart uploads, ListParts,
// ListMultipartUploads, GET by partNumber, EntityTooSmall, abort.
func TestLiveMultipart(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "mpu", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(11<<20+5, 2)
	info, err := ls.mc.PutObject(ctx, "mpu", "big", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-3") {
		t.Errorf("multipart ETag %q", info.ETag)
	}
	o, _ := ls.mc.GetObject(ctx, "mpu", "big", minio.GetObjectOptions{})
	if got, _ := io.ReadAll(o); !bytes.Equal(got, data) {
		t.Fatal("multipart content differs")
	}
	resp, body := ls.raw(t, "GET", "/mpu/big?partNumber=2", nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
	if resp.StatusCode != 206 || !bytes.Equal(body, data[5<<20:10<<20]) || resp.Header.Get("X-Amz-Mp-Parts-Count") != "3" {
		t.Errorf("partNumber=2: %d %d bytes %v", resp.StatusCode, len(body), resp.Header)
	}
	// A part the object does not have: 400 InvalidPart (GetObject).
	resp, _ = ls.raw(t, "HEAD", "/mpu/big?partNumber=4", nil, nil)
	if resp.StatusCode != 400 {
		t.Errorf("partNumber=4: %d", resp.StatusCode)
	}

	id, err := ls.core.NewMultipartUpload(ctx, "mpu", "small", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var parts []minio.CompletePart
	for i := 1; i <= 2; i++ {
		p, err := ls.core.PutObjectPart(ctx, "mpu", "small", id, i, bytes.NewReader([]byte("tiny")), 4, minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: i, ETag: p.ETag})
	}
	lp, err := ls.core.ListObjectParts(ctx, "mpu", "small", id, 0, 1)
	if err != nil || len(lp.ObjectParts) != 1 || !lp.IsTruncated || lp.NextPartNumberMarker != 1 {
		t.Errorf("ListParts: %+v %v", lp, err)
	}
	lu, err := ls.core.ListMultipartUploads(ctx, "mpu", "", "", "", "", 10)
	if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].UploadID != id {
		t.Errorf("ListMultipartUploads: %+v %v", lu, err)
	}
	_, err = ls.core.CompleteMultipartUpload(ctx, "mpu", "small", id, parts, minio.PutObjectOptions{})
	mustCode(t, err, "EntityTooSmall")
	_, err = ls.core.CompleteMultipartUpload(ctx, "mpu", "small", id, []minio.CompletePart{{PartNumber: 1, ETag: "00000000000000000000000000000000"}}, minio.PutObjectOptions{})
	mustCode(t, err, "InvalidPart")
	if err := ls.core.AbortMultipartUpload(ctx, "mpu", "small", id); err != nil {
		t.Fatal(err)
	}
	_, err = ls.core.ListObjectParts(ctx, "mpu", "small", id, 0, 10)
	mustCode(t, err, "NoSuchUpload")

	t.Run("UploadPartCopy", func(t *testing.T) {
		id, err := ls.core.NewMultipartUpload(ctx, "mpu", "copied", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := ls.core.CopyObjectPart(ctx, "mpu", "big", "mpu", "copied", id, 1, 10, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ls.core.CompleteMultipartUpload(ctx, "mpu", "copied", id, []minio.CompletePart{{PartNumber: 1, ETag: p.ETag}}, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		o, _ := ls.mc.GetObject(ctx, "mpu", "copied", minio.GetObjectOptions{})
		if got, _ := io.ReadAll(o); !bytes.Equal(got, data[10:110]) {
			t.Errorf("copied part: %d bytes", len(got))
		}
	})
}

// TestLiveAuthForms: presigned URLs (SigV4, and the SigV2 form boto3
// generates by default for us-east-1), a payload hash mismatch, and
// virtual-host style requests from minio-go.
func TestLiveAuthForms(t *testing.T) {
	ls := newLiveServer(t, "s3.test")
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "auth", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	do := func(req *http.Request) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	t.Run("presigned v4", func(t *testing.T) {
		u, err := ls.mc.PresignedPutObject(ctx, "auth", "p4", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", u.String(), strings.NewReader("v4 body"))
		if resp, b := do(req); resp.StatusCode != 200 {
			t.Fatalf("PUT: %d %s", resp.StatusCode, b)
		}
		u, err = ls.mc.PresignedGetObject(ctx, "auth", "p4", time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequest("GET", u.String(), nil)
		if resp, b := do(req); resp.StatusCode != 200 || string(b) != "v4 body" {
			t.Fatalf("GET: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("presigned v2", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", "http://"+ls.addr+"/auth/p2", nil)
		req = signer.PreSignV2(*req, testAccessKey, testSecretKey, 3600, false)
		put, _ := http.NewRequest("PUT", req.URL.String(), strings.NewReader("v2 body"))
		if resp, b := do(put); resp.StatusCode != 200 {
			t.Fatalf("PUT: %d %s", resp.StatusCode, b)
		}
		req, _ = http.NewRequest("GET", "http://"+ls.addr+"/auth/p2", nil)
		req = signer.PreSignV2(*req, testAccessKey, testSecretKey, 3600, false)
		if resp, b := do(req); resp.StatusCode != 200 || string(b) != "v2 body" {
			t.Fatalf("GET: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("payload hash mismatch", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", "http://"+ls.addr+"/auth/bad", strings.NewReader("actual body"))
		sum := sha256.Sum256([]byte("claimed body"))
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		req = signer.SignV4(*req, testAccessKey, testSecretKey, "", testRegion)
		if resp, b := do(req); resp.StatusCode != 400 || !bytes.Contains(b, []byte("XAmzContentSHA256Mismatch")) {
			t.Fatalf("got %d %s", resp.StatusCode, b)
		}
		if _, err := ls.mc.StatObject(ctx, "auth", "bad", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
			t.Errorf("a body that failed verification was stored: %v", err)
		}
	})
	t.Run("Expect: 100-continue", func(t *testing.T) {
		body := randBytes(300<<10, 5)
		req, _ := http.NewRequest("PUT", "http://"+ls.addr+"/auth/expect", bytes.NewReader(body))
		req.Header.Set("Expect", "100-continue")
		sum := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		req = signer.SignV4(*req, testAccessKey, testSecretKey, "", testRegion)
		cl := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		st, err := ls.mc.StatObject(ctx, "auth", "expect", minio.StatObjectOptions{})
		if resp.StatusCode != 200 || err != nil || st.Size != int64(len(body)) {
			t.Errorf("status %d, stat %+v %v", resp.StatusCode, st, err)
		}
	})
	t.Run("virtual host", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(ls.addr)
		tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ls.addr)
		}}
		vc, err := minio.New("s3.test:"+port, &minio.Options{
			Creds:  credentials.NewStaticV4(testAccessKey, testSecretKey, ""),
			Region: testRegion, BucketLookup: minio.BucketLookupDNS, Transport: tr,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := vc.PutObject(ctx, "auth", "vh/key 1", strings.NewReader("vhost"), 5, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		o, err := ls.mc.GetObject(ctx, "auth", "vh/key 1", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(o); string(b) != "vhost" {
			t.Errorf("path-style read of a virtual-host write: %q", b)
		}
		var keys []string
		for oi := range vc.ListObjects(ctx, "auth", minio.ListObjectsOptions{Prefix: "vh/"}) {
			if oi.Err != nil {
				t.Fatal(oi.Err)
			}
			keys = append(keys, oi.Key)
		}
		if strings.Join(keys, ",") != "vh/key 1" {
			t.Errorf("virtual-host listing %q", keys)
		}
	})
}

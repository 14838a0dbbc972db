package s3api

import (
	"crypto/rand"
	"io"
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/minio/minio-go/v7"
)

// TestLivePutDefaultEncryptionScopedKey: a PutObject signed by a scoped
// key takes the bucket's default encryption from the bucket read that
// authorizes it (one read instead of two) and still sees every change of
// that default completed before it: none, then AES256 (the answer and
// HEAD say AES256 and GET reads the body back), then deleted again; a
// fork inherits its source's default; a PUT into a deleted bucket is
// refused.
func TestLivePutDefaultEncryptionScopedKey(t *testing.T) {
	master := make([]byte, 32)
	rand.Read(master)
	kr, err := gateway.NewKeyring([][]byte{master})
	if err != nil {
		t.Fatal(err)
	}
	ls := newLiveServerNode(t, func(c *gateway.Config) { c.KMS = kr }, nil)
	ctx := t.Context()
	for _, b := range []string{"enc", "encfork"} {
		if b == "encfork" {
			if resp, body := ls.raw(t, "PUT", "/encfork", nil, map[string]string{hdrForkSource: "enc"}); resp.StatusCode != 200 {
				t.Fatalf("fork: %d %s", resp.StatusCode, body)
			}
		} else if err := ls.mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := ls.node.Service().CreateKey(ctx, gateway.KeyInput{Buckets: []string{"enc", "encfork"}})
	if err != nil {
		t.Fatal(err)
	}
	ak, sk := key.Key.ID, key.Secret
	put := func(bucket, name, want string) {
		t.Helper()
		body := []byte("body of " + bucket + "/" + name)
		resp, out := ls.rawWith(t, ak, sk, "PUT", "/"+bucket+"/"+name, body, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("PUT %s/%s: %d %s", bucket, name, resp.StatusCode, out)
		}
		if got := resp.Header.Get(hdrSSE); got != want {
			t.Fatalf("PUT %s/%s answers %s %q, want %q", bucket, name, hdrSSE, got, want)
		}
		st, err := ls.mc.StatObject(ctx, bucket, name, minio.StatObjectOptions{})
		if err != nil || st.Metadata.Get(hdrSSE) != want {
			t.Fatalf("HEAD %s/%s: %s %q, %v; want %q", bucket, name, hdrSSE, st.Metadata.Get(hdrSSE), err, want)
		}
		obj, err := ls.mc.GetObject(ctx, bucket, name, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || string(got) != string(body) {
			t.Fatalf("GET %s/%s: %q, %v", bucket, name, got, err)
		}
	}
	put("enc", "plain", "")
	put("encfork", "plain", "")

	cfg := []byte(`<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>` +
		`<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>` +
		`</Rule></ServerSideEncryptionConfiguration>`)
	if resp, body := ls.raw(t, "PUT", "/enc?encryption", cfg, nil); resp.StatusCode != 200 {
		t.Fatalf("PutBucketEncryption: %d %s", resp.StatusCode, body)
	}
	put("enc", "sealed", "AES256")
	put("encfork", "sealed", "AES256")

	if resp, body := ls.raw(t, "DELETE", "/enc?encryption", nil, nil); resp.StatusCode != 204 {
		t.Fatalf("DeleteBucketEncryption: %d %s", resp.StatusCode, body)
	}
	put("enc", "plain-again", "")
	put("encfork", "plain-again", "")

	// A key of a bucket deleted since: refused, nothing stored.
	if err := ls.mc.MakeBucket(ctx, "gone", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	gone, err := ls.node.Service().CreateKey(ctx, gateway.KeyInput{Buckets: []string{"gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.mc.RemoveBucket(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := ls.rawWith(t, gone.Key.ID, gone.Secret, "PUT", "/gone/a", []byte("x"), nil); resp.StatusCode == 200 {
		t.Fatalf("PUT into a deleted bucket: %d", resp.StatusCode)
	}
}

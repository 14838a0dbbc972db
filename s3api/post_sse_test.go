package s3api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/minio/minio-go/v7"
)

// signedPostV2 is the fields of a SigV2 POST form for key with the
// given extra fields, its policy naming every field with an eq condition.
func signedPostV2(t *testing.T, bucket, key string, extra map[string]string) map[string]string {
	t.Helper()
	conds := []any{map[string]string{"bucket": bucket}, []string{"eq", "$key", key}}
	fields := map[string]string{"key": key}
	for k, v := range extra {
		conds = append(conds, []string{"eq", "$" + k, v})
		fields[k] = v
	}
	doc, err := json.Marshal(map[string]any{
		"expiration": time.Now().Add(time.Minute).UTC().Format("2006-01-02T15:04:05.000Z"),
		"conditions": conds,
	})
	if err != nil {
		t.Fatal(err)
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	m := hmac.New(sha1.New, []byte(testSecretKey))
	m.Write([]byte(policy))
	fields["policy"] = policy
	fields["AWSAccessKeyId"] = testAccessKey
	fields["signature"] = base64.StdEncoding.EncodeToString(m.Sum(nil))
	return fields
}

// TestLivePostObjectSSE: the form field x-amz-server-side-encryption of
// POST Object works as the header of a PutObject: AES256 stores the
// object encrypted (the answer, HEAD and GET say AES256 and GET reads the
// body back); aws:kms and unknown values answer InvalidArgument and store
// nothing; SSE-C fields over plain HTTP answer InvalidRequest; AES256 on
// a server without a master key answers InvalidArgument.
func TestLivePostObjectSSE(t *testing.T) {
	master := make([]byte, 32)
	rand.Read(master)
	kr, err := gateway.NewKeyring([][]byte{master})
	if err != nil {
		t.Fatal(err)
	}
	ls := newLiveServerNode(t, func(c *gateway.Config) { c.KMS = kr }, nil)
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "enc", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	f := signedPostV2(t, "enc", "a.txt", map[string]string{"x-amz-server-side-encryption": "AES256", "success_action_status": "201"})
	resp, body := ls.postForm(t, "enc", f, "a.txt", "sealed by a form")
	if resp.StatusCode != 201 {
		t.Fatalf("POST AES256: %d %s", resp.StatusCode, body)
	}
	if h := resp.Header.Get(hdrSSE); h != "AES256" {
		t.Errorf("POST answer says %s %q, want AES256", hdrSSE, h)
	}
	st, err := ls.mc.StatObject(ctx, "enc", "a.txt", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get(hdrSSE) != "AES256" {
		t.Fatalf("HEAD: %s %q, %v", hdrSSE, st.Metadata.Get(hdrSSE), err)
	}
	obj, err := ls.mc.GetObject(ctx, "enc", "a.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || string(got) != "sealed by a form" {
		t.Fatalf("GET: %q, %v", got, err)
	}

	for _, v := range []string{"aws:kms", "aws:kms:dsse", "DES"} {
		f := signedPostV2(t, "enc", "refused.txt", map[string]string{"x-amz-server-side-encryption": v})
		resp, body := ls.postForm(t, "enc", f, "r.txt", "not stored")
		if resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidArgument</Code>") {
			t.Errorf("POST %s: %d %s, want 400 InvalidArgument", v, resp.StatusCode, body)
		}
	}
	if _, err := ls.mc.StatObject(ctx, "enc", "refused.txt", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("a refused POST stored an object: %v", err)
	}

	// SSE-C fields are read too: over plain HTTP they are refused, as the
	// headers of a PutObject are.
	f = signedPostV2(t, "enc", "c.txt", map[string]string{
		"x-amz-server-side-encryption-customer-algorithm": "AES256",
		"x-amz-server-side-encryption-customer-key":       base64.StdEncoding.EncodeToString(master),
	})
	resp, body = ls.postForm(t, "enc", f, "c.txt", "needs TLS")
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidRequest</Code>") || !strings.Contains(body, "secure connection") {
		t.Errorf("POST with SSE-C fields over HTTP: %d %s, want 400 InvalidRequest", resp.StatusCode, body)
	}

	plain := newLiveServer(t)
	if err := plain.mc.MakeBucket(ctx, "enc", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	f = signedPostV2(t, "enc", "a.txt", map[string]string{"x-amz-server-side-encryption": "AES256"})
	resp, body = plain.postForm(t, "enc", f, "a.txt", "no key here")
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidArgument</Code>") || !strings.Contains(body, "master key") {
		t.Errorf("POST AES256 without a master key: %d %s, want 400 InvalidArgument", resp.StatusCode, body)
	}
}

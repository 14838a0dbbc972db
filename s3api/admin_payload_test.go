package s3api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/minio/minio-go/v7"
)

// An admin call's body decides what it does (POST keys: which buckets the
// new key may use), so its signature must cover the body: with
// x-amz-content-sha256 UNSIGNED-PAYLOAD (or STREAMING-UNSIGNED-PAYLOAD-
// TRAILER) anyone who can rewrite the request in flight could swap the
// body. Such calls are refused with 400 InvalidRequest and do nothing;
// the same call with the body's SHA-256 signed works, and admin calls
// without a body may still be sent with UNSIGNED-PAYLOAD.
func TestAdminBodyNeedsSignedPayload(t *testing.T) {
	ls := newLiveServer(t)
	if err := ls.mc.MakeBucket(t.Context(), "mine", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	keys := func() int {
		var list struct {
			Keys []KeyJSON `json:"keys"`
		}
		ls.admin(t, "GET", "keys", nil, &list)
		return len(list.Keys)
	}
	before := keys()
	body := []byte(`{"buckets":["mine"]}`)
	chunked := []byte(fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body))
	cases := []struct {
		name string
		body []byte
		hdr  map[string]string
	}{
		{"UNSIGNED-PAYLOAD", body, map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}},
		{"STREAMING-UNSIGNED-PAYLOAD-TRAILER", chunked, map[string]string{
			"X-Amz-Content-Sha256":         "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			"Content-Encoding":             "aws-chunked",
			"X-Amz-Decoded-Content-Length": strconv.Itoa(len(body)),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.hdr["Content-Type"] = "application/json"
			resp, got := ls.raw(t, "POST", "/_forkstore/v1/keys", c.body, c.hdr)
			var e adminError
			json.Unmarshal(got, &e)
			if resp.StatusCode != 400 || e.Code != "InvalidRequest" {
				t.Fatalf("POST keys with %s: %d %s, want 400 InvalidRequest", c.name, resp.StatusCode, got)
			}
			if n := keys(); n != before {
				t.Fatalf("POST keys with %s created a key: %d keys, had %d", c.name, n, before)
			}
		})
	}
	// A body-less admin call with UNSIGNED-PAYLOAD is still fine.
	if resp, got := ls.raw(t, "GET", "/_forkstore/v1/keys", nil, map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}); resp.StatusCode != 200 {
		t.Fatalf("GET keys with UNSIGNED-PAYLOAD: %d %s", resp.StatusCode, got)
	}
	// The same body with its SHA-256 signed creates the key.
	var k KeyJSON
	if st := ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"mine"}}, &k); st != 201 || k.AccessKeyID == "" {
		t.Fatalf("POST keys signed: %d %+v", st, k)
	}
	if n := keys(); n != before+1 {
		t.Fatalf("%d keys after a signed POST keys, want %d", n, before+1)
	}
}

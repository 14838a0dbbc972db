//go:build e2e

package e2e

import (
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// Object tags (x-amz-tagging) are stored with the version that is written
// and read back with GetObjectTagging and the x-amz-tagging-count header;
// CopyObject copies them (COPY) or replaces them (REPLACE); bad tags are
// InvalidTag; PutObjectTagging and RemoveObjectTagging change them later.
func TestObjectTagging(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)
	b := bucketName(t, "tags")
	makeBucket(t, c, b)
	want := map[string]string{"project": "fork store", "stage": "a+b"}
	putBytes(t, c, b, "k", []byte("tagged"), minio.PutObjectOptions{UserTags: want})
	got, err := c.GetObjectTagging(ctx, b, "k", minio.GetObjectTaggingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.ToMap(), want) {
		t.Fatalf("GetObjectTagging = %v, want %v", got.ToMap(), want)
	}
	st, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions{})
	if err != nil || st.UserTagCount != 2 {
		t.Fatalf("x-amz-tagging-count: %d %v", st.UserTagCount, err)
	}
	// Untagged objects have an empty tag set.
	putBytes(t, c, b, "plain", []byte("x"), minio.PutObjectOptions{})
	if got, err := c.GetObjectTagging(ctx, b, "plain", minio.GetObjectTaggingOptions{}); err != nil || len(got.ToMap()) != 0 {
		t.Fatalf("untagged object: %v %v", got, err)
	}
	// CopyObject copies tags by default and replaces them on request.
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy"}, minio.CopySrcOptions{Bucket: b, Object: "k"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetObjectTagging(ctx, b, "copy", minio.GetObjectTaggingOptions{}); !maps.Equal(got.ToMap(), want) {
		t.Fatalf("copied tags = %v", got.ToMap())
	}
	repl := map[string]string{"only": "this"}
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy2", UserTags: repl, ReplaceTags: true}, minio.CopySrcOptions{Bucket: b, Object: "k"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetObjectTagging(ctx, b, "copy2", minio.GetObjectTaggingOptions{}); !maps.Equal(got.ToMap(), repl) {
		t.Fatalf("replaced tags = %v", got.ToMap())
	}
	// Too many tags or a malformed header: InvalidTag, nothing stored
	// (minio-go drops invalid tag sets itself, so these go out raw).
	rc := raw{t, s}
	for _, h := range []string{"a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11", "k=1&k=2", "=novalue"} {
		r := rc.do(http.MethodPut, "/"+b+"/bad", nil, http.Header{"X-Amz-Tagging": {h}}, []byte("x"))
		if r.Status != http.StatusBadRequest || r.Err.Code != "InvalidTag" {
			t.Fatalf("PUT with x-amz-tagging %q: %s", h, r)
		}
	}
	_, err = c.StatObject(ctx, b, "bad", minio.StatObjectOptions{})
	wantCode(t, "StatObject after refused PUTs", err, "NoSuchKey")
	// PutObjectTagging replaces the tag set; RemoveObjectTagging empties it.
	nt, _ := tags.NewTags(map[string]string{"new": "tag"}, true)
	if err := c.PutObjectTagging(ctx, b, "k", nt, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	if got, _ := c.GetObjectTagging(ctx, b, "k", minio.GetObjectTaggingOptions{}); !maps.Equal(got.ToMap(), nt.ToMap()) {
		t.Fatalf("tags after PutObjectTagging = %v", got.ToMap())
	}
	if err := c.RemoveObjectTagging(ctx, b, "k", minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	if got, _ := c.GetObjectTagging(ctx, b, "k", minio.GetObjectTaggingOptions{}); len(got.ToMap()) != 0 {
		t.Fatalf("tags after RemoveObjectTagging = %v", got.ToMap())
	}
	err = c.PutObjectTagging(ctx, b, "absent", nt, minio.PutObjectTaggingOptions{})
	wantCode(t, "PutObjectTagging of a missing key", err, "NoSuchKey")
}

// Reading a bucket configuration forkstore cannot hold answers what AWS
// answers for a bucket without one (404 and the specific code; tools probe
// these), NoSuchBucket for a missing bucket; setting one forkstore cannot
// hold (a website) is NotImplemented.
func TestBucketConfigNotConfigured(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	b := bucketName(t, "cfg")
	makeBucket(t, c, b)
	rc := raw{t, s}
	for sub, code := range map[string]string{
		"lifecycle": "NoSuchLifecycleConfiguration", "policy": "NoSuchBucketPolicy",
		"cors": "NoSuchCORSConfiguration", "tagging": "NoSuchTagSet",
		"encryption": "ServerSideEncryptionConfigurationNotFoundError", "website": "NoSuchWebsiteConfiguration",
	} {
		r := rc.do(http.MethodGet, "/"+b, url.Values{sub: {""}}, nil, nil)
		if r.Status != http.StatusNotFound || r.Err.Code != code {
			t.Errorf("GET ?%s: %s, want 404 %s", sub, r, code)
		}
		r = rc.do(http.MethodGet, "/no-such-bucket-cfg", url.Values{sub: {""}}, nil, nil)
		if r.Status != http.StatusNotFound || r.Err.Code != "NoSuchBucket" {
			t.Errorf("GET ?%s on a missing bucket: %s", sub, r)
		}
	}
	// Lifecycle can be set: a configuration without rules is MalformedXML.
	r := rc.do(http.MethodPut, "/"+b, url.Values{"lifecycle": {""}}, nil, []byte("<LifecycleConfiguration/>"))
	if r.Status != http.StatusBadRequest || r.Err.Code != "MalformedXML" {
		t.Errorf("PUT ?lifecycle without rules: %s", r)
	}
	// A policy can be set too: an empty document is MalformedPolicy.
	r = rc.do(http.MethodPut, "/"+b, url.Values{"policy": {""}}, nil, []byte("{}"))
	if r.Status != http.StatusBadRequest || r.Err.Code != "MalformedPolicy" {
		t.Errorf("PUT ?policy: %s", r)
	}
	// A website cannot be set.
	r = rc.do(http.MethodPut, "/"+b, url.Values{"website": {""}}, nil, []byte("<WebsiteConfiguration/>"))
	if r.Status != http.StatusNotImplemented {
		t.Errorf("PUT ?website: %s", r)
	}
}

package s3api

import (
	"bytes"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// send sends an unsigned request (what a browser sends).
func (ls *liveServer) send(t *testing.T, method, target string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = "http://" + ls.addr + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// TestLiveCORS: PutBucketCors through minio-go, preflights answered from
// the rules (or refused as S3 refuses them), Access-Control-* headers on
// actual requests, presigned ones and errors included; a fork has its
// own configuration.
func TestLiveCORS(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	if err := ls.mc.MakeBucket(ctx, "web", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := put(t, ls.mc, "web", "a.txt", "hello"); err != nil {
		t.Fatal(err)
	}
	noCORS := func(bucket string) {
		t.Helper()
		// minio-go answers NoSuchCORSConfiguration with nil, nil.
		if got, err := ls.mc.GetBucketCors(ctx, bucket); got != nil || err != nil {
			t.Fatalf("GetBucketCors(%s) = %+v, %v; want NoSuchCORSConfiguration", bucket, got, err)
		}
		resp, body := ls.raw(t, "GET", "/"+bucket+"?cors", nil, nil)
		if resp.StatusCode != 404 || !strings.Contains(string(body), "<Code>NoSuchCORSConfiguration</Code>") {
			t.Fatalf("GetBucketCors(%s): %d %s", bucket, resp.StatusCode, body)
		}
	}
	noCORS("web")
	pre := func(target, origin, method, headers string) (*http.Response, string) {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		return ls.send(t, "OPTIONS", target, nil, h)
	}
	// No configuration: preflights are refused.
	if resp, body := pre("/web/a.txt", "http://app.example", "GET", ""); resp.StatusCode != 403 || !strings.Contains(body, "CORS is not enabled") {
		t.Fatalf("preflight without rules: %d %s", resp.StatusCode, body)
	}

	cfg := cors.NewConfig([]cors.Rule{
		{ID: "app", AllowedOrigin: []string{"http://127.0.0.1:*"}, AllowedMethod: []string{"GET", "PUT", "HEAD"},
			AllowedHeader: []string{"content-type", "x-amz-*"}, ExposeHeader: []string{"ETag", "x-amz-request-id"}, MaxAgeSeconds: 600},
		{ID: "public-read", AllowedOrigin: []string{"*"}, AllowedMethod: []string{"GET"}},
	})
	if err := ls.mc.SetBucketCors(ctx, "web", cfg); err != nil {
		t.Fatal(err)
	}
	got, err := ls.mc.GetBucketCors(ctx, "web")
	if err != nil || len(got.CORSRules) != 2 || got.CORSRules[0].ID != "app" || got.CORSRules[0].MaxAgeSeconds != 600 ||
		strings.Join(got.CORSRules[0].AllowedMethod, ",") != "GET,PUT,HEAD" {
		t.Fatalf("GetBucketCors: %+v %v", got, err)
	}

	resp, body := pre("/web/a.txt", "http://127.0.0.1:3000", "PUT", "Content-Type, X-Amz-Date")
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:3000" ||
		h.Get("Access-Control-Allow-Methods") != "GET, PUT, HEAD" || h.Get("Access-Control-Allow-Headers") != "content-type, x-amz-date" ||
		h.Get("Access-Control-Expose-Headers") != "ETag, x-amz-request-id" || h.Get("Access-Control-Max-Age") != "600" ||
		h.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(h.Get("Vary"), "Origin") {
		t.Fatalf("preflight: %d %v %s", resp.StatusCode, h, body)
	}
	// The wildcard rule answers "*".
	if resp, _ := pre("/web/a.txt", "http://elsewhere.example", "GET", ""); resp.StatusCode != 200 ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("wildcard preflight: %d %v", resp.StatusCode, resp.Header)
	}
	for _, tt := range []struct{ origin, method, headers string }{
		{"http://elsewhere.example", "PUT", ""},
		{"http://127.0.0.1:3000", "DELETE", ""},
		{"http://127.0.0.1:3000", "PUT", "authorization"},
	} {
		resp, body := pre("/web/a.txt", tt.origin, tt.method, tt.headers)
		if resp.StatusCode != 403 || !strings.Contains(body, "<Code>AccessForbidden</Code>") || !strings.Contains(body, "This CORS request is not allowed") ||
			resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight %+v: %d %v %s", tt, resp.StatusCode, resp.Header, body)
		}
	}
	if resp, body := ls.send(t, "OPTIONS", "/web/a.txt", nil, map[string]string{"Access-Control-Request-Method": "GET"}); resp.StatusCode != 400 ||
		!strings.Contains(body, "Origin request header needed") {
		t.Fatalf("preflight without Origin: %d %s", resp.StatusCode, body)
	}
	// A missing bucket answers as one without rules (no probing for names).
	if resp, body := pre("/nosuchbucket/a.txt", "http://127.0.0.1:3000", "GET", ""); resp.StatusCode != 403 || !strings.Contains(body, "CORS is not enabled") {
		t.Fatalf("preflight on a missing bucket: %d %s", resp.StatusCode, body)
	}

	// Actual requests: a presigned GET, and errors.
	u, err := ls.mc.PresignedGetObject(ctx, "web", "a.txt", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = ls.send(t, "GET", u.String(), nil, map[string]string{"Origin": "http://127.0.0.1:3000"})
	if resp.StatusCode != 200 || body != "hello" || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:3000" ||
		resp.Header.Get("Access-Control-Expose-Headers") != "ETag, x-amz-request-id" {
		t.Fatalf("presigned GET: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	resp, body = ls.send(t, "GET", "/web/missing", nil, map[string]string{"Origin": "http://127.0.0.1:3000"})
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:3000" {
		t.Fatalf("anonymous GET error: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, _ = ls.raw(t, "GET", "/web/missing", nil, map[string]string{"Origin": "http://other.example"})
	if resp.StatusCode != 404 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("signed GET error: %d %v", resp.StatusCode, resp.Header)
	}
	// No rule for this origin and method: no Access-Control-* headers.
	resp, _ = ls.raw(t, "PUT", "/web/b.txt", []byte("x"), map[string]string{"Origin": "http://other.example"})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("unmatched PUT: %d %v", resp.StatusCode, resp.Header)
	}

	// A fork starts without rules and gets its own.
	if resp, body := ls.raw(t, "PUT", "/web-fork", nil, map[string]string{"X-Tigris-Fork-Source-Bucket": "web"}); resp.StatusCode != 200 {
		t.Fatalf("fork: %d %s", resp.StatusCode, body)
	}
	noCORS("web-fork")
	if err := ls.mc.SetBucketCors(ctx, "web-fork", cors.NewConfig([]cors.Rule{{AllowedOrigin: []string{"http://fork.example"}, AllowedMethod: []string{"GET"}}})); err != nil {
		t.Fatal(err)
	}
	if resp, _ := pre("/web-fork/a.txt", "http://fork.example", "GET", ""); resp.StatusCode != 200 {
		t.Fatalf("fork preflight: %d", resp.StatusCode)
	}
	if resp, _ := pre("/web/a.txt", "http://127.0.0.1:3000", "PUT", ""); resp.StatusCode != 200 {
		t.Fatalf("parent's rules changed by the fork's: %d", resp.StatusCode)
	}

	// DeleteBucketCors.
	if err := ls.mc.SetBucketCors(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	noCORS("web")
	resp, _ = ls.raw(t, "GET", "/web/a.txt", nil, map[string]string{"Origin": "http://127.0.0.1:3000"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Vary") != "" {
		t.Fatalf("headers after DeleteBucketCors: %v", resp.Header)
	}
	// Bad configurations.
	resp, raw := ls.raw(t, "PUT", "/web?cors", []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`), nil)
	if resp.StatusCode != 400 || !strings.Contains(string(raw), "Unsupported method is PATCH") {
		t.Fatalf("bad method: %d %s", resp.StatusCode, raw)
	}
}

// postForm sends a multipart/form-data POST with the fields (in sorted
// order) and then the file.
func (ls *liveServer) postForm(t *testing.T, bucket string, fields map[string]string, filename, content string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := mw.WriteField(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(content))
	mw.Close()
	return ls.send(t, "POST", "/"+bucket, &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
}

// TestLivePostObject: POST Object with minio-go's presigned post policies,
// SigV4 and SigV2: the object, its metadata and tags are stored; the
// conditions, the expiration and the signature are enforced with S3's
// errors; the signer is authorized as for a PutObject.
func TestLivePostObject(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	for _, b := range []string{"uploads", "other"} {
		if err := ls.mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	policy := func(bucket string) *minio.PostPolicy {
		p := minio.NewPostPolicy()
		p.SetBucket(bucket)
		p.SetKeyStartsWith("user/")
		p.SetExpires(time.Now().Add(time.Minute))
		p.SetContentLengthRange(1, 100)
		p.SetContentType("text/plain")
		p.SetUserMetadata("color", "blue")
		p.SetTagging("<Tagging><TagSet><Tag><Key>team</Key><Value>web</Value></Tag></TagSet></Tagging>")
		p.SetSuccessStatusAction("201")
		return p
	}
	for _, v2 := range []bool{false, true} {
		mc := ls.mc
		if v2 {
			mc = newLiveServerClient(t, ls, func(o *minio.Options) { o.Creds = credentials.NewStaticV2(testAccessKey, testSecretKey, "") })
		}
		_, fields, err := mc.PresignedPostPolicy(ctx, policy("uploads"))
		if err != nil {
			t.Fatal(err)
		}
		key := "user/v4.txt"
		if v2 {
			key = "user/v2.txt"
		}
		fields["key"] = key
		resp, body := ls.postForm(t, "uploads", fields, "f.txt", "form body")
		var pr PostResponse
		if resp.StatusCode != 201 || xml.Unmarshal([]byte(body), &pr) != nil || pr.Key != key || pr.Bucket != "uploads" || pr.ETag == "" {
			t.Fatalf("v2=%v POST: %d %s", v2, resp.StatusCode, body)
		}
		st, err := ls.mc.StatObject(ctx, "uploads", key, minio.StatObjectOptions{})
		if err != nil || st.ContentType != "text/plain" || st.UserMetadata["Color"] != "blue" || st.Size != 9 {
			t.Fatalf("stat: %+v %v", st, err)
		}
		tg, err := ls.mc.GetObjectTagging(ctx, "uploads", key, minio.GetObjectTaggingOptions{})
		if err != nil || tg.ToMap()["team"] != "web" {
			t.Fatalf("tags: %v %v", tg, err)
		}
	}

	_, fields, err := ls.mc.PresignedPostPolicy(ctx, policy("uploads"))
	if err != nil {
		t.Fatal(err)
	}
	try := func(edit func(f map[string]string), content string) (int, string) {
		f := map[string]string{}
		for k, v := range fields {
			f[k] = v
		}
		f["key"] = "user/x.txt"
		edit(f)
		resp, body := ls.postForm(t, "uploads", f, "x.txt", content)
		return resp.StatusCode, body
	}
	for _, tt := range []struct {
		name    string
		edit    func(f map[string]string)
		content string
		status  int
		want    string
	}{
		{"key outside the prefix", func(f map[string]string) { f["key"] = "admin/x" }, "ok", 403, "Policy Condition failed"},
		{"content type", func(f map[string]string) { f["Content-Type"] = "text/html" }, "ok", 403, "Policy Condition failed"},
		{"extra field", func(f map[string]string) { f["x-amz-meta-extra"] = "1" }, "ok", 403, "Extra input fields: x-amz-meta-extra"},
		{"too large", func(map[string]string) {}, strings.Repeat("x", 101), 400, "EntityTooLarge"},
		{"too small", func(map[string]string) {}, "", 400, "EntityTooSmall"},
		{"bad signature", func(f map[string]string) { f["x-amz-signature"] = strings.Repeat("0", 64) }, "ok", 403, "SignatureDoesNotMatch"},
		{"unknown key", func(f map[string]string) {
			f["x-amz-credential"] = strings.Replace(f["x-amz-credential"], testAccessKey, "AKIANOBODY", 1)
		}, "ok", 403, "InvalidAccessKeyId"},
		{"no key", func(f map[string]string) { delete(f, "key") }, "ok", 400, "must contain a field named"},
	} {
		st, body := try(tt.edit, tt.content)
		if st != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d %q", tt.name, st, body, tt.status, tt.want)
		}
	}
	if _, err := ls.mc.StatObject(ctx, "uploads", "user/x.txt", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
		t.Fatalf("a refused form stored an object: %v", err)
	}

	// An expired policy.
	p := policy("uploads")
	p.SetExpires(time.Now().Add(-time.Second))
	_, old, err := ls.mc.PresignedPostPolicy(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	old["key"] = "user/late.txt"
	if resp, body := ls.postForm(t, "uploads", old, "late.txt", "ok"); resp.StatusCode != 403 || !strings.Contains(body, "Policy expired") {
		t.Fatalf("expired: %d %s", resp.StatusCode, body)
	}

	// A redirect, with ${filename}.
	p = minio.NewPostPolicy()
	p.SetBucket("uploads")
	p.SetKeyStartsWith("in/")
	p.SetExpires(time.Now().Add(time.Minute))
	p.SetSuccessActionRedirect("http://app.example/done?x=1")
	_, f, err := ls.mc.PresignedPostPolicy(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	f["key"] = "in/${filename}"
	resp, body := ls.postForm(t, "uploads", f, "photo.jpg", "jpeg")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 303 || loc == nil || loc.Host != "app.example" || loc.Query().Get("key") != "in/photo.jpg" ||
		loc.Query().Get("bucket") != "uploads" || loc.Query().Get("x") != "1" || loc.Query().Get("etag") == "" {
		t.Fatalf("redirect: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if got, err := get(t, ls.mc, "uploads", "in/photo.jpg"); err != nil || got != "jpeg" {
		t.Fatalf("redirected upload: %q %v", got, err)
	}

	// The signer is authorized as for a PutObject: a key scoped to
	// "uploads" may not post to "other", and an anonymous form may not
	// write a private bucket.
	var k KeyJSON
	if st := ls.admin(t, "POST", "keys", map[string]any{"buckets": []string{"uploads"}}, &k); st != 201 {
		t.Fatalf("create key: %d", st)
	}
	scoped := ls.client(t, k.AccessKeyID, k.SecretAccessKey)
	p = minio.NewPostPolicy()
	p.SetBucket("other")
	p.SetKey("k")
	p.SetExpires(time.Now().Add(time.Minute))
	_, f, err = scoped.PresignedPostPolicy(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := ls.postForm(t, "other", f, "k", "v"); resp.StatusCode != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("scoped key outside its bucket: %d %s", resp.StatusCode, body)
	}
	p = minio.NewPostPolicy()
	p.SetBucket("uploads")
	p.SetKey("k")
	p.SetExpires(time.Now().Add(time.Minute))
	_, f, _ = scoped.PresignedPostPolicy(ctx, p)
	if resp, body := ls.postForm(t, "uploads", f, "k", "v"); resp.StatusCode != 204 || resp.Header.Get("ETag") == "" {
		t.Fatalf("scoped key in its bucket: %d %s", resp.StatusCode, body)
	}
	if resp, body := ls.postForm(t, "uploads", map[string]string{"key": "anon"}, "k", "v"); resp.StatusCode != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("anonymous form: %d %s", resp.StatusCode, body)
	}
}

package s3api

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func form(kv ...string) *postForm {
	f := &postForm{fields: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.fields[kv[i]] = kv[i+1]
		f.names = append(f.names, kv[i])
	}
	return f
}

func apiCode(err error) (string, string) {
	var api *APIError
	if errors.As(err, &api) {
		return api.Code, api.Message
	}
	var d *detailError
	if errors.As(err, &d) {
		return d.api.Code, d.api.Message
	}
	if err == nil {
		return "", ""
	}
	return "?", err.Error()
}

// The conditions of a POST policy as S3 evaluates them: eq (object and
// array forms), starts-with (empty prefix: anything), the bucket from the
// URL, content-length-range, expiration, and no field left uncovered.
func TestPostPolicyCheck(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	policy := `{"expiration": "2026-03-01T13:00:00.000Z", "conditions": [
		{"bucket": "photos"},
		["starts-with", "$key", "user/alice/"],
		{"acl": "public-read"},
		["eq", "$success_action_status", "201"],
		["starts-with", "$Content-Type", "image/"],
		["starts-with", "$x-amz-meta-tag", ""],
		["content-length-range", 10, "1048576"],
		{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		{"x-amz-credential": "AK/20260301/us-east-1/s3/aws4_request"},
		{"x-amz-date": "20260301T120000Z"}
	]}`
	p, err := parsePostPolicy(b64(policy))
	if err != nil {
		t.Fatal(err)
	}
	if p.minSize != 10 || p.maxSize != 1048576 {
		t.Fatalf("content-length-range %d..%d", p.minSize, p.maxSize)
	}
	good := func() *postForm {
		return form("key", "user/alice/cat.jpg", "acl", "public-read", "success_action_status", "201",
			"content-type", "image/jpeg", "x-amz-meta-tag", "anything", "x-amz-algorithm", "AWS4-HMAC-SHA256",
			"x-amz-credential", "AK/20260301/us-east-1/s3/aws4_request", "x-amz-date", "20260301T120000Z",
			"policy", "...", "x-amz-signature", "...", "x-ignore-me", "1")
	}
	if err := p.check(good(), "photos", now); err != nil {
		t.Fatalf("a form the policy allows: %v", err)
	}
	tests := []struct {
		name   string
		edit   func(f *postForm)
		bucket string
		at     time.Time
		code   string
		msg    string
	}{
		{name: "expired", at: now.Add(time.Hour), code: "AccessDenied", msg: "Policy expired"},
		{name: "other bucket", bucket: "other", code: "AccessDenied", msg: `Policy Condition failed: {"bucket": "photos"}`},
		{name: "key outside the prefix", edit: func(f *postForm) { f.fields["key"] = "user/bob/cat.jpg" }, code: "AccessDenied", msg: `["starts-with", "$key", "user/alice/"]`},
		{name: "acl differs", edit: func(f *postForm) { f.fields["acl"] = "public-read-write" }, code: "AccessDenied", msg: `{"acl": "public-read"}`},
		{name: "eq differs", edit: func(f *postForm) { f.fields["success_action_status"] = "200" }, code: "AccessDenied", msg: "success_action_status"},
		{name: "content type", edit: func(f *postForm) { f.fields["content-type"] = "text/html" }, code: "AccessDenied", msg: "Content-Type"},
		{name: "missing field of an eq", edit: func(f *postForm) { delete(f.fields, "acl") }, code: "AccessDenied", msg: "acl"},
		{name: "extra field", edit: func(f *postForm) {
			f.fields["x-amz-meta-other"] = "v"
			f.names = append(f.names, "x-amz-meta-other")
		}, code: "AccessDenied", msg: "Extra input fields: x-amz-meta-other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good()
			if tt.edit != nil {
				tt.edit(f)
			}
			bucket, at := "photos", now
			if tt.bucket != "" {
				bucket = tt.bucket
			}
			if !tt.at.IsZero() {
				at = tt.at
			}
			code, msg := apiCode(p.check(f, bucket, at))
			if code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Fatalf("got %s %q, want %s containing %q", code, msg, tt.code, tt.msg)
			}
		})
	}
}

func TestParsePostPolicyErrors(t *testing.T) {
	tests := []struct {
		policy string
		msg    string
	}{
		{"%%%", "not base64"},
		{b64("{"), "Invalid JSON"},
		{b64(`{"conditions": []}`), "missing expiration"},
		{b64(`{"expiration": "tomorrow", "conditions": []}`), "Invalid 'expiration'"},
		{b64(`{"expiration": "2026-03-01T13:00:00Z"}`), "missing conditions"},
		{b64(`{"expiration": "2026-03-01T13:00:00Z", "conditions": [["eq", "key", "x"]]}`), "Invalid condition"},
		{b64(`{"expiration": "2026-03-01T13:00:00Z", "conditions": [["matches", "$key", "x"]]}`), "Invalid condition"},
		{b64(`{"expiration": "2026-03-01T13:00:00Z", "conditions": [["content-length-range", 10, 5]]}`), "content-length-range"},
		{b64(`{"expiration": "2026-03-01T13:00:00Z", "conditions": [["content-length-range", "a", 5]]}`), "content-length-range"},
		{b64(`{"expiration": "2026-03-01T13:00:00Z", "conditions": [{"key": 5}]}`), "Invalid condition"},
		{b64(`{"expiration": "2026-03-01T13:00:00Z", "conditions": [7]}`), "Invalid condition"},
	}
	for _, tt := range tests {
		_, err := parsePostPolicy(tt.policy)
		code, msg := apiCode(err)
		if code != "InvalidPolicyDocument" || !strings.Contains(msg, tt.msg) {
			t.Errorf("parsePostPolicy(%q) = %s %q, want InvalidPolicyDocument with %q", tt.policy, code, msg, tt.msg)
		}
	}
}

// The fields before the file are read (names case-insensitive), the file
// part is handed back unread, and a form without a file is refused.
func TestReadPostForm(t *testing.T) {
	body := "--XyZ\r\nContent-Disposition: form-data; name=\"Key\"\r\n\r\nuploads/${filename}\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"x-amz-meta-Color\"\r\n\r\nred\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n--XyZ--\r\n"
	f, part, err := readPostForm(strings.NewReader(body), "multipart/form-data; boundary=XyZ")
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 10)
	n, _ := part.Read(data)
	if f.get("key") != "uploads/${filename}" || f.get("x-amz-meta-color") != "red" || f.filename != "a.txt" ||
		string(data[:n]) != "hello" || f.has("after") {
		t.Fatalf("form %+v, file %q", f, data[:n])
	}
	noFile := "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--XyZ--\r\n"
	if _, _, err := readPostForm(strings.NewReader(noFile), "multipart/form-data; boundary=XyZ"); !strings.Contains(errString(err), "exactly one file") {
		t.Fatalf("no file: %v", err)
	}
	if _, _, err := readPostForm(strings.NewReader(body), "multipart/form-data"); !errors.Is(err, errMalformedPOST) {
		t.Fatalf("no boundary: %v", err)
	}
	big := "--XyZ\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\n" + strings.Repeat("a", maxPostFields) + "\r\n--XyZ--\r\n"
	if _, _, err := readPostForm(strings.NewReader(big), "multipart/form-data; boundary=XyZ"); !errors.Is(err, errPostFieldsTooLarge) {
		t.Fatalf("fields too large: %v", err)
	}
}

func errString(err error) string {
	_, msg := apiCode(err)
	return msg
}

// A POST form and its policy are client input: any bytes give a form, a
// policy and a decision, or a clear error, never a panic.
func FuzzPostForm(f *testing.F) {
	f.Add("--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\ndata\r\n--b--\r\n",
		b64(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"key": "k"}, ["content-length-range", 0, 10]]}`))
	f.Add("--b\r\n\r\n--b--", b64(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["starts-with", "$key", ""], ["eq", "$bucket", "b"]]}`))
	f.Add("", "e30=")
	f.Fuzz(func(t *testing.T, body, policy string) {
		form, part, err := readPostForm(strings.NewReader(body), "multipart/form-data; boundary=b")
		if err == nil {
			if part == nil {
				t.Fatal("a form without its file part")
			}
		} else {
			form = &postForm{fields: map[string]string{"key": "k"}, names: []string{"key"}}
		}
		p, err := parsePostPolicy(policy)
		if err != nil {
			if code, _ := apiCode(err); code != "InvalidPolicyDocument" {
				t.Fatalf("policy error %v", err)
			}
			return
		}
		_ = p.check(form, "b", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	})
}

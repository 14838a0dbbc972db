package s3api

import (
	"errors"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// PutBucketLifecycleConfiguration: the rules AWS accepts, and the codes
// and messages of the ones it refuses (MalformedXML, InvalidArgument,
// InvalidRequest).
func TestParseLifecycle(t *testing.T) {
	doc := func(rules ...string) string {
		return `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + strings.Join(rules, "") + `</LifecycleConfiguration>`
	}
	for _, tc := range []struct {
		name, body, code, msg string
	}{
		{name: "days with prefix filter", body: doc(`<Rule><ID>r</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`)},
		{name: "legacy prefix, no namespace", body: `<LifecycleConfiguration><Rule><Prefix></Prefix><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`},
		{name: "and with tags and sizes", body: doc(`<Rule><ID>r</ID><Filter><And><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>k2</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`)},
		{name: "date at midnight", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration></Rule>`)},
		{name: "noncurrent and abort and marker", body: doc(`<Rule><ID>r</ID><Filter><Prefix/></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)},
		{name: "transition only (accepted, ignored)", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`)},

		{name: "no rules", body: doc(), code: "MalformedXML"},
		{name: "not XML", body: "rules", code: "MalformedXML"},
		{name: "bad status", body: doc(`<Rule><ID>r</ID><Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule>`), code: "MalformedXML"},
		{name: "prefix and filter", body: doc(`<Rule><ID>r</ID><Prefix>a</Prefix><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), code: "MalformedXML"},
		{name: "neither prefix nor filter", body: doc(`<Rule><ID>r</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), code: "MalformedXML"},
		{name: "filter with prefix and tag", body: doc(`<Rule><ID>r</ID><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), code: "MalformedXML"},
		{name: "days and date", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>`), code: "MalformedXML"},
		{name: "zero days", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>`), code: "InvalidArgument", msg: "'Days' for Expiration action must be a positive integer"},
		{name: "date not midnight", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration></Rule>`), code: "InvalidArgument", msg: "'Date' must be at midnight GMT"},
		{name: "duplicate ids", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`, `<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>`), code: "InvalidArgument", msg: "Rule ID must be unique. Found same ID for more than one rule"},
		{name: "long id", body: doc(`<Rule><ID>` + strings.Repeat("x", 256) + `</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), code: "InvalidArgument", msg: "ID length should not exceed allowed limit of 255"},
		{name: "no action", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status></Rule>`), code: "InvalidRequest", msg: "At least one action needs to be specified in a rule"},
		{name: "noncurrent days zero", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration></Rule>`), code: "InvalidArgument"},
		{name: "abort with tags", body: doc(`<Rule><ID>r</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), code: "InvalidRequest"},
		{name: "sizes crossed", body: doc(`<Rule><ID>r</ID><Filter><And><ObjectSizeGreaterThan>20</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`), code: "InvalidArgument"},
		{name: "transition without class", body: doc(`<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Transition><Days>1</Days></Transition></Rule>`), code: "MalformedXML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := parseLifecycle([]byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(l.Rules) == 0 || !strings.Contains(string(l.Document), "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">") {
					t.Fatalf("rules %+v, document %s", l.Rules, l.Document)
				}
				if _, err := parseLifecycle(l.Document); err != nil {
					t.Fatalf("the stored document does not parse back: %v\n%s", err, l.Document)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != tc.code || (tc.msg != "" && ae.Message != tc.msg) {
				t.Fatalf("got %v, want %s %q", err, tc.code, tc.msg)
			}
		})
	}
}

// A lifecycle configuration is a bucket setting: a writable scoped key
// without a prefix may set and delete it, one limited to a prefix or to
// reads may not (a rule can expire objects outside the prefix), and every
// key of the bucket may read it (AccessDenied).
func TestLiveLifecycleScopedKeys(t *testing.T) {
	ls := newLiveServer(t)
	if err := ls.mc.MakeBucket(t.Context(), "lcb", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	key := func(body map[string]any) KeyJSON {
		var k KeyJSON
		if st := ls.admin(t, "POST", "keys", body, &k); st != 201 {
			t.Fatalf("create key %v: %d", body, st)
		}
		return k
	}
	whole := key(map[string]any{"buckets": []string{"lcb"}})
	prefixed := key(map[string]any{"buckets": []string{"lcb"}, "prefix": "p/"})
	reader := key(map[string]any{"buckets": []string{"lcb"}, "read_only": true})
	doc := []byte(`<LifecycleConfiguration><Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`)
	for _, k := range []KeyJSON{prefixed, reader} {
		if resp := ls.rawAs(t, k, "PUT", "/lcb?lifecycle", doc, nil); resp.StatusCode != 403 {
			t.Fatalf("PutBucketLifecycleConfiguration by %+v: %d, want 403", k, resp.StatusCode)
		}
	}
	if resp := ls.rawAs(t, whole, "PUT", "/lcb?lifecycle", doc, nil); resp.StatusCode != 200 {
		t.Fatalf("PutBucketLifecycleConfiguration by a whole-bucket key: %d", resp.StatusCode)
	}
	for _, k := range []KeyJSON{prefixed, reader} {
		if resp := ls.rawAs(t, k, "DELETE", "/lcb?lifecycle", nil, nil); resp.StatusCode != 403 {
			t.Fatalf("DeleteBucketLifecycle by %+v: %d, want 403", k, resp.StatusCode)
		}
	}
	if resp := ls.rawAs(t, reader, "GET", "/lcb?lifecycle", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GetBucketLifecycleConfiguration by a read-only key: %d", resp.StatusCode)
	}
	if resp := ls.rawAs(t, whole, "DELETE", "/lcb?lifecycle", nil, nil); resp.StatusCode != 204 {
		t.Fatalf("DeleteBucketLifecycle by a whole-bucket key: %d", resp.StatusCode)
	}
}

//go:build e2e

package e2e

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// Bad snapshot and fork requests over S3 headers, the admin API and the
// CLI: each answers the S3 error code and status below, and none changes
// any state (checked at the end: buckets, snapshots, objects, uploads).
func TestForkBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	rc := raw{t, s}
	base, other, fork := bucketName(t, "base"), bucketName(t, "other"), bucketName(t, "fork")
	makeBucket(t, c, base)
	makeBucket(t, c, other)
	objs := map[string]string{"k": "k0", "m": "m0"}
	objectsOf(t, c, base, objs)
	snap := snapshotBucket(t, s, base, "snap")
	forkBucket(t, s, base, fork, "")
	objectVersion := putBytes(t, c, other, "o", []byte("o0"), minio.PutObjectOptions{}).VersionID
	if objectVersion == "" {
		// Unversioned buckets answer no VersionId: use a version that is
		// certainly not a snapshot of base.
		objectVersion = "12345"
	}
	missing := bucketName(t, "missing")
	newName := bucketName(t, "new")

	del := []byte(`<Delete><Object><Key>k</Key></Object><Object><Key>m</Key></Object></Delete>`)
	cases := []struct {
		name   string
		method string
		path   string
		query  url.Values
		hdr    http.Header
		body   []byte
		status int
		codes  []string // any of these
	}{
		// CreateBucket with X-Tigris-Fork-Source-Bucket.
		{"fork onto an existing bucket", "PUT", "/" + other, nil, forkHeaders(hForkSource, base), nil, 409, []string{"BucketAlreadyExists"}},
		{"fork onto an existing fork", "PUT", "/" + fork, nil, forkHeaders(hForkSource, base), nil, 409, []string{"BucketAlreadyExists"}},
		{"fork onto its own source", "PUT", "/" + base, nil, forkHeaders(hForkSource, base), nil, 409, []string{"BucketAlreadyExists"}},
		{"fork of an unknown bucket", "PUT", "/" + newName, nil, forkHeaders(hForkSource, missing), nil, 404, []string{"NoSuchBucket"}},
		{"fork of an unknown snapshot version", "PUT", "/" + newName, nil, forkHeaders(hForkSource, base, hForkSourceSnapshot, "12345"), nil, 404, []string{"NoSuchSnapshot"}},
		{"fork of an object version that is no snapshot", "PUT", "/" + newName, nil, forkHeaders(hForkSource, other, hForkSourceSnapshot, objectVersion), nil, 404, []string{"NoSuchSnapshot"}},
		{"fork of an unknown snapshot name", "PUT", "/" + newName, nil, forkHeaders(hForkSource, base, hForkSourceSnapshot, "nope"), nil, 404, []string{"NoSuchSnapshot"}},
		{"fork of another bucket's snapshot", "PUT", "/" + newName, nil, forkHeaders(hForkSource, other, hForkSourceSnapshot, snap), nil, 404, []string{"NoSuchSnapshot"}},
		{"fork of a malformed snapshot", "PUT", "/" + newName, nil, forkHeaders(hForkSource, base, hForkSourceSnapshot, "1;2"), nil, 0, []string{"InvalidArgument", "NoSuchSnapshot"}},
		{"fork with an invalid name", "PUT", "/Bad_Name", nil, forkHeaders(hForkSource, base), nil, 400, []string{"InvalidBucketName"}},

		// CreateBucket with X-Tigris-Snapshot.
		{"snapshot of an unknown bucket", "PUT", "/" + missing, nil, forkHeaders(hSnapshot, "true"), nil, 404, []string{"NoSuchBucket"}},
		{"snapshot header not true", "PUT", "/" + base, nil, forkHeaders(hSnapshot, "yes"), nil, 400, []string{"InvalidArgument"}},
		{"snapshot header with an unknown parameter", "PUT", "/" + base, nil, forkHeaders(hSnapshot, "true; label=x"), nil, 400, []string{"InvalidArgument"}},
		{"snapshot name taken", "PUT", "/" + base, nil, forkHeaders(hSnapshot, "true; name=snap"), nil, 409, []string{"SnapshotAlreadyExists"}},

		// ListBuckets with X-Tigris-Snapshot.
		{"list snapshots of an unknown bucket", "GET", "/", nil, forkHeaders(hSnapshot, missing), nil, 404, []string{"NoSuchBucket"}},

		// DeleteBucket with X-Tigris-Snapshot-Version.
		{"delete an unknown snapshot", "DELETE", "/" + base, nil, forkHeaders(hSnapshotVersion, "12345"), nil, 404, []string{"NoSuchSnapshot"}},
		{"delete an unknown snapshot name", "DELETE", "/" + base, nil, forkHeaders(hSnapshotVersion, "nope"), nil, 404, []string{"NoSuchSnapshot"}},
		{"delete a malformed snapshot", "DELETE", "/" + base, nil, forkHeaders(hSnapshotVersion, "1;2"), nil, 400, []string{"InvalidArgument"}},
		{"delete a snapshot of an unknown bucket", "DELETE", "/" + missing, nil, forkHeaders(hSnapshotVersion, snap), nil, 404, []string{"NoSuchBucket"}},
		{"delete another bucket's snapshot", "DELETE", "/" + other, nil, forkHeaders(hSnapshotVersion, snap), nil, 404, []string{"NoSuchSnapshot"}},

		// Reads at a version that is not there.
		{"GET at an unknown version", "GET", "/" + base + "/k", nil, forkHeaders(hSnapshotVersion, "12345"), nil, 404, []string{"NoSuchSnapshot"}},
		{"GET at a 21-digit version", "GET", "/" + base + "/k", nil, forkHeaders(hSnapshotVersion, "123456789012345678901"), nil, 404, []string{"NoSuchSnapshot"}},
		{"GET at a malformed version", "GET", "/" + base + "/k", nil, forkHeaders(hSnapshotVersion, "1;2"), nil, 400, []string{"InvalidArgument"}},
		{"HEAD at an unknown version", "HEAD", "/" + base + "/k", nil, forkHeaders(hSnapshotVersion, "12345"), nil, 404, nil},
		{"ListObjectsV2 at an unknown version", "GET", "/" + base, url.Values{"list-type": {"2"}}, forkHeaders(hSnapshotVersion, "12345"), nil, 404, []string{"NoSuchSnapshot"}},
		{"ListObjects at a malformed version", "GET", "/" + base, nil, forkHeaders(hSnapshotVersion, "x;y"), nil, 400, []string{"InvalidArgument"}},
		{"ListObjectVersions at an unknown version", "GET", "/" + base, url.Values{"versions": {""}}, forkHeaders(hSnapshotVersion, "12345"), nil, 404, []string{"NoSuchSnapshot"}},
		{"GET at another bucket's snapshot", "GET", "/" + other + "/o", nil, forkHeaders(hSnapshotVersion, snap), nil, 404, []string{"NoSuchSnapshot"}},
		{"CopyObject from an unknown version", "PUT", "/" + other + "/copy", nil, forkHeaders("X-Amz-Copy-Source", "/"+base+"/k", hSnapshotVersion, "12345"), nil, 404, []string{"NoSuchSnapshot"}},

		// Writes that name a version: snapshots are read-only.
		{"PutObject at a snapshot", "PUT", "/" + base + "/k", nil, forkHeaders(hSnapshotVersion, snap), []byte("overwrite"), 400, []string{"InvalidRequest"}},
		{"PutObject of a new key at a snapshot", "PUT", "/" + base + "/new-key", nil, forkHeaders(hSnapshotVersion, snap), []byte("new"), 400, []string{"InvalidRequest"}},
		{"PutObject in a fork at a version", "PUT", "/" + fork + "/k", nil, forkHeaders(hSnapshotVersion, snap), []byte("overwrite"), 400, []string{"InvalidRequest"}},
		{"DeleteObject at a snapshot", "DELETE", "/" + base + "/k", nil, forkHeaders(hSnapshotVersion, snap), nil, 400, []string{"InvalidRequest"}},
		{"DeleteObject in a fork at a version", "DELETE", "/" + fork + "/m", nil, forkHeaders(hSnapshotVersion, snap), nil, 400, []string{"InvalidRequest"}},
		{"DeleteObjects at a snapshot", "POST", "/" + base, url.Values{"delete": {""}}, forkHeaders(hSnapshotVersion, snap, "Content-MD5", contentMD5(del)), del, 400, []string{"InvalidRequest"}},
		{"CreateMultipartUpload at a snapshot", "POST", "/" + base + "/mp", url.Values{"uploads": {""}}, forkHeaders(hSnapshotVersion, snap), nil, 400, []string{"InvalidRequest"}},
		{"PutBucketVersioning at a snapshot", "PUT", "/" + base, url.Values{"versioning": {""}}, forkHeaders(hSnapshotVersion, snap),
			[]byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`), 400, []string{"InvalidRequest"}},
	}
	for _, tc := range cases {
		r := rc.do(tc.method, tc.path, tc.query, tc.hdr, tc.body)
		if tc.status != 0 && r.Status != tc.status || tc.status == 0 && (r.Status < 400 || r.Status >= 500) {
			t.Errorf("%s: %s %s: %s; want HTTP %d %v", tc.name, tc.method, tc.path, r, tc.status, tc.codes)
			continue
		}
		if tc.codes != nil && !slices.Contains(tc.codes, r.Err.Code) {
			t.Errorf("%s: %s %s: %s; want code %v", tc.name, tc.method, tc.path, r, tc.codes)
		}
		if tc.status == 0 {
			t.Logf("%s: %s", tc.name, r)
		}
	}

	// The admin API: JSON errors with the same codes.
	adminCases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"fork onto an existing bucket", "POST", "buckets/" + base + "/forks", map[string]string{"name": other}, 409, "BucketAlreadyExists"},
		{"fork of an unknown bucket", "POST", "buckets/" + missing + "/forks", map[string]string{"name": newName}, 404, "NoSuchBucket"},
		{"fork of an unknown snapshot", "POST", "buckets/" + base + "/forks", map[string]string{"name": newName, "snapshot": "12345"}, 404, "NoSuchSnapshot"},
		{"fork of an unknown snapshot name", "POST", "buckets/" + base + "/forks", map[string]string{"name": newName, "snapshot": "nope"}, 404, "NoSuchSnapshot"},
		{"fork with an invalid name", "POST", "buckets/" + base + "/forks", map[string]string{"name": "Bad_Name"}, 400, "InvalidBucketName"},
		{"fork without a name", "POST", "buckets/" + base + "/forks", map[string]string{}, 400, "InvalidBucketName"},
		{"fork with a body that is not JSON", "POST", "buckets/" + base + "/forks", "{", 400, "InvalidRequest"},
		{"snapshot of an unknown bucket", "POST", "buckets/" + missing + "/snapshots", map[string]string{"name": "x"}, 404, "NoSuchBucket"},
		{"snapshot name taken", "POST", "buckets/" + base + "/snapshots", map[string]string{"name": "snap"}, 409, "SnapshotAlreadyExists"},
		{"list snapshots of an unknown bucket", "GET", "buckets/" + missing + "/snapshots", nil, 404, "NoSuchBucket"},
		{"delete an unknown snapshot", "DELETE", "buckets/" + base + "/snapshots/12345", nil, 404, "NoSuchSnapshot"},
		{"delete an unknown snapshot name", "DELETE", "buckets/" + base + "/snapshots/nope", nil, 404, "NoSuchSnapshot"},
		{"delete a malformed snapshot", "DELETE", "buckets/" + base + "/snapshots/1;2", nil, 400, "InvalidArgument"},
		{"lineage of an unknown bucket", "GET", "buckets/" + missing + "/lineage", nil, 404, "NoSuchBucket"},
		{"forks of an unknown bucket", "GET", "buckets/" + missing + "/forks", nil, 404, "NoSuchBucket"},
		{"diff of an unknown bucket", "GET", "buckets/" + missing + "/diff", nil, 404, "NoSuchBucket"},
		{"diff with a bad continuation token", "GET", "buckets/" + fork + "/diff?continuation-token=%25%25%25", nil, 400, "InvalidArgument"},
		{"diff with max-keys 0", "GET", "buckets/" + fork + "/diff?max-keys=0", nil, 400, "InvalidArgument"},
		{"unknown endpoint", "GET", "buckets/" + base + "/nothing", nil, 404, "NotFound"},
		{"unknown method", "PUT", "buckets/" + base + "/snapshots", nil, 405, "MethodNotAllowed"},
	}
	for _, tc := range adminCases {
		var r adminResp
		if str, ok := tc.body.(string); ok {
			r = adminSend(t, s, tc.method, tc.path, []byte(str), nil)
		} else {
			r = admin(t, s, tc.method, tc.path, tc.body, nil)
		}
		wantAdminErr(t, "admin "+tc.name, r, tc.status, tc.code)
	}
	// An unsigned admin request is refused.
	if st, _ := rawCode(t, http.MethodGet, s.URL()+"/_forkstore/v1/buckets/"+base+"/lineage", nil); st != http.StatusForbidden {
		t.Errorf("unsigned admin request: HTTP %d, want 403", st)
	}

	// The CLI: a non-zero exit and the error code on stderr.
	cliCases := []struct {
		args []string
		code string
	}{
		{[]string{"fork", "create", base, other}, "BucketAlreadyExists"},
		{[]string{"fork", "create", missing, newName}, "NoSuchBucket"},
		{[]string{"fork", "create", base, newName, "--snapshot", "nope"}, "NoSuchSnapshot"},
		{[]string{"snapshot", "create", base, "--name", "snap"}, "SnapshotAlreadyExists"},
		{[]string{"snapshot", "delete", base, "12345"}, "NoSuchSnapshot"},
		{[]string{"snapshot", "list", missing}, "NoSuchBucket"},
		{[]string{"bucket", "lineage", missing}, "NoSuchBucket"},
		{[]string{"fork", "diff", missing}, "NoSuchBucket"},
	}
	for _, tc := range cliCases {
		r := forkstoreCLI(t, s, tc.args...)
		if r.Err == nil || !strings.Contains(r.Stderr, tc.code) {
			t.Errorf("forkstore %s: err %v, stderr %q; want a failure naming %s", strings.Join(tc.args, " "), r.Err, r.Stderr, tc.code)
		}
	}

	// Nothing changed.
	bs, err := c.ListBuckets(testCtx(t))
	if err != nil {
		t.Fatal(describe(err))
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	want := []string{base, fork, other}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("buckets after the bad requests = %v, want %v", names, want)
	}
	if got := listSnapshotNames(t, s, base); !slices.Equal(got, []string{snap + "; name=snap"}) {
		t.Errorf("snapshots of %s after the bad requests = %q", base, got)
	}
	for _, b := range []string{other, fork} {
		if got := listSnapshotNames(t, s, b); len(got) != 0 {
			t.Errorf("snapshots of %s after the bad requests = %q, want none", b, got)
		}
	}
	wantContent(t, c, base, "", objs)
	wantContent(t, c, base, snap, objs)
	wantContent(t, c, fork, "", objs)
	wantContent(t, c, other, "", map[string]string{"o": "o0"})
	if vc, err := c.GetBucketVersioning(testCtx(t), base); err != nil || vc.Status != "" {
		t.Errorf("versioning of %s after the bad requests = %q, %s", base, vc.Status, describe(err))
	}
	r := rc.do(http.MethodGet, "/"+base, url.Values{"uploads": {""}}, nil, nil)
	var uploads struct {
		Uploads []struct{ Key string } `xml:"Upload"`
	}
	xml.Unmarshal(r.Body, &uploads)
	if r.Status != http.StatusOK || len(uploads.Uploads) != 0 {
		t.Errorf("multipart uploads of %s after the bad requests: %s", base, r)
	}
	if h := headBucket(t, s, fork); h.Header.Get(hForkSource) != base {
		t.Errorf("HEAD /%s after the bad requests: %s = %q", fork, hForkSource, h.Header.Get(hForkSource))
	}
	if h := headBucket(t, s, other); h.Header.Get(hForkSource) != "" {
		t.Errorf("HEAD /%s after a refused fork onto it: %s = %q", other, hForkSource, h.Header.Get(hForkSource))
	}
}

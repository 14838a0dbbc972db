package s3api

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
)

// TestLiveCreateBucketWithACL (CreateBucket, x-amz-acl and x-amz-grant-*):
// without x-amz-object-ownership a CreateBucket that asks for an ACL
// makes a bucket with ACLs enabled (ObjectWriter) holding that ACL, as
// Ceph RGW and MinIO accept it; an explicit BucketOwnerEnforced keeps
// AWS's InvalidBucketAclWithObjectOwnership, and so does every such
// request under Config.StrictOwnership.
func TestLiveCreateBucketWithACL(t *testing.T) {
	ownership := func(t *testing.T, ls *liveServer, b string) string {
		t.Helper()
		resp, body := ls.raw(t, "GET", "/"+b+"?ownershipControls", nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GetBucketOwnershipControls %s: %d %s", b, resp.StatusCode, body)
		}
		var oc OwnershipControls
		if err := xml.Unmarshal(body, &oc); err != nil || len(oc.Rules) != 1 {
			t.Fatalf("ownership controls %s: %v", body, err)
		}
		return oc.Rules[0].ObjectOwnership
	}
	acl := func(t *testing.T, ls *liveServer, b string) string {
		t.Helper()
		resp, body := ls.raw(t, "GET", "/"+b+"?acl", nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GetBucketAcl %s: %d %s", b, resp.StatusCode, body)
		}
		return string(body)
	}
	errCodeOf := func(t *testing.T, body []byte) string {
		t.Helper()
		var e ErrorXML
		if err := xml.Unmarshal(body, &e); err != nil {
			t.Fatalf("error body %q: %v", body, err)
		}
		return e.Code
	}

	t.Run("lenient", func(t *testing.T) {
		ls := newLiveServer(t)
		for _, tc := range []struct {
			name   string
			hdr    map[string]string
			public bool
		}{
			{"canned", map[string]string{"X-Amz-Acl": "public-read"}, true},
			{"grant", map[string]string{"X-Amz-Grant-Read": `uri="http://acs.amazonaws.com/groups/global/AllUsers"`,
				"X-Amz-Grant-Full-Control": `id="` + ls.s.owner.ID + `"`}, true},
			{"private", map[string]string{"X-Amz-Acl": "private"}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := "acl-create-" + tc.name
				resp, body := ls.raw(t, "PUT", "/"+b, nil, tc.hdr)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("CreateBucket with %v: %d %s", tc.hdr, resp.StatusCode, body)
				}
				want := "ObjectWriter"
				if !tc.public {
					// An owner-only ACL changes nothing: AWS's default.
					want = "BucketOwnerEnforced"
				}
				if got := ownership(t, ls, b); got != want {
					t.Errorf("ownership %s, want %s", got, want)
				}
				if got := acl(t, ls, b); tc.public != strings.Contains(got, "AllUsers") {
					t.Errorf("bucket ACL %s, public %v", got, tc.public)
				}
			})
		}
		resp, body := ls.raw(t, "PUT", "/acl-create-enforced", nil, map[string]string{"X-Amz-Acl": "public-read", "X-Amz-Object-Ownership": "BucketOwnerEnforced"})
		if resp.StatusCode != http.StatusBadRequest || errCodeOf(t, body) != "InvalidBucketAclWithObjectOwnership" {
			t.Fatalf("explicit BucketOwnerEnforced with public-read: %d %s", resp.StatusCode, body)
		}
		if resp, _ := ls.raw(t, "HEAD", "/acl-create-enforced", nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("refused bucket exists: HEAD %d", resp.StatusCode)
		}
	})

	t.Run("strict", func(t *testing.T) {
		ls := newLiveServerConfig(t, func(c *Config) { c.StrictOwnership = true })
		resp, body := ls.raw(t, "PUT", "/acl-strict", nil, map[string]string{"X-Amz-Acl": "public-read"})
		if resp.StatusCode != http.StatusBadRequest || errCodeOf(t, body) != "InvalidBucketAclWithObjectOwnership" {
			t.Fatalf("strict ownership, public-read: %d %s", resp.StatusCode, body)
		}
		resp, body = ls.raw(t, "PUT", "/acl-strict-ow", nil, map[string]string{"X-Amz-Acl": "public-read", "X-Amz-Object-Ownership": "ObjectWriter"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("strict ownership, ObjectWriter and public-read: %d %s", resp.StatusCode, body)
		}
	})
}

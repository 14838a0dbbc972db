package meta

import (
	"errors"
	"slices"
	"testing"
)

// TestForkVersionsListedAreReadable: in a fork, a key's history starts at
// the fork point. ListObjectVersions shows the fork's own versions and the
// one version each inherited key has at the fork point; a read, a tag or
// an ACL by version id finds exactly those, and an older version of the
// parent (still there, the parent is versioned) is NoSuchVersion in the
// fork, as it is not listed. The parent itself is unchanged.
func TestForkVersionsListedAreReadable(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("p")
	tf.must(&SetVersioning{Bucket: "p", Status: VersioningEnabled})
	v1 := tf.put("p", "k", "one")
	v2 := tf.put("p", "k", "two")
	d1 := tf.put("p", "gone", "x")
	dm := tf.del("p", "gone")
	tf.fork("f", "p")
	tf.put("p", "k", "three") // after the fork: not the fork's
	own := tf.put("f", "k", "fork")

	vl := tf.read(func(r *Reader) (any, error) { return r.ListVersions("f", VersionListOptions{MaxKeys: 100}) }).(*VersionListResult)
	listed := map[string]bool{}
	for _, v := range vl.Versions {
		listed[v.Key+"@"+VersionID(&v.Object)] = true
	}
	if len(vl.Versions) != 2 || !listed["k@"+VersionID(own)] || !listed["k@"+VersionID(v2)] {
		t.Fatalf("fork versions %v, want k@%s and k@%s", listed, VersionID(own), VersionID(v2))
	}
	read := func(bucket, key, id string) (*Object, error) {
		o, err := tf.readErr(func(r *Reader) (any, error) { return r.GetObject(bucket, key, id, 0) })
		if err != nil {
			return nil, err
		}
		return o.(*Object), nil
	}
	for _, id := range []string{VersionID(own), VersionID(v2)} {
		if _, err := read("f", "k", id); err != nil {
			t.Fatalf("listed version %s not readable in the fork: %v", id, err)
		}
	}
	for _, c := range []struct{ key, id string }{
		{"k", VersionID(v1)}, // older than the fork point's version
		{"gone", VersionID(d1)},
		{"gone", dm.VersionID}, // the parent's delete marker, not listed
	} {
		if o, err := read("f", c.key, c.id); !errors.Is(err, ErrNoSuchVersion) {
			t.Fatalf("unlisted version %s@%s in the fork: %+v, %v; want NoSuchVersion", c.key, c.id, o, err)
		}
	}
	tf.mustFail(&AnnotateObject{Bucket: "f", Key: "k", VersionID: VersionID(v1), SetTags: true}, ErrNoSuchVersion)
	// The parent still has its whole history.
	if o, err := read("p", "k", VersionID(v1)); err != nil || string(o.Inline) != "one" {
		t.Fatalf("parent's old version: %+v %v", o, err)
	}
}

// TestForkNullVersionReplacesInherited: in an unversioned fork of an
// unversioned bucket, a key the fork wrote has one version, null: the
// fork's own, which replaced the null version it inherited (as a PUT
// replaces the null version in S3). Listing it twice under the one id
// "null" made a paged ListObjectVersions start each page at the same
// marker again, for ever.
func TestForkNullVersionReplacesInherited(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("p")
	tf.put("p", "a", "parent a")
	tf.put("p", "b", "parent b")
	tf.fork("f", "p")
	tf.put("f", "a", "fork a")

	var got []string
	opts := VersionListOptions{MaxKeys: 1}
	for page := 0; ; page++ {
		if page == 10 {
			t.Fatalf("ListVersions of the fork still not done after %d pages: %v", page, got)
		}
		vl := tf.read(func(r *Reader) (any, error) { return r.ListVersions("f", opts) }).(*VersionListResult)
		for _, v := range vl.Versions {
			o := tf.read(func(r *Reader) (any, error) { return r.GetObject("f", v.Key, VersionID(&v.Object), 0) }).(*Object)
			got = append(got, v.Key+"@"+VersionID(&v.Object)+"="+string(o.Inline))
		}
		if !vl.IsTruncated {
			break
		}
		opts.KeyMarker, opts.VersionIDMarker = vl.NextKeyMarker, vl.NextVersionIDMarker
	}
	if want := []string{"a@null=fork a", "b@null=parent b"}; !slices.Equal(got, want) {
		t.Fatalf("fork versions %v, want %v", got, want)
	}
}

package meta

import (
	"maps"
	"testing"
)

func (tf *testFSM) bucketAt(name string, at uint64) *Bucket {
	tf.t.Helper()
	return tf.read(func(r *Reader) (any, error) { return r.BucketAt(name, at) }).(*Bucket)
}

// Bucket policies, public access blocks and bucket tags (PutBucketPolicy,
// PutPublicAccessBlock, PutBucketTagging): stored with the access settings,
// read now and at a snapshot as they were then, kept when the ownership
// or ACL changes; a public policy is refused under BlockPublicPolicy; a
// fork starts with its source's public access block and tags at its fork
// point and no policy, and then has its own.
func TestBucketConfig(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	const p1, p2 = `{"Statement":[1]}`, `{"Statement":[2]}`
	tags := map[string]string{"team": "a"}
	tf.must(&SetBucketConfig{Bucket: "b", SetPolicy: true, Policy: p1, SetTags: true, Tags: tags})
	snap := tf.must(&CreateSnapshot{Bucket: "b"}).Snapshot.Version
	tf.fork("f", "b")
	tf.must(&SetBucketConfig{Bucket: "b", SetPolicy: true, Policy: p2, SetPAB: true, PAB: PABConfigured | PABBlockPublicPolicy})
	// An ownership change keeps the configuration.
	tf.must(&SetBucketAccess{Bucket: "b", SetOwnership: true, Ownership: OwnershipObjectWriter})
	tf.must(&SetBucketConfig{Bucket: "b", SetTags: true, Tags: map[string]string{"team": "b"}})

	now := tf.bucketAt("b", 0)
	if now.Policy != p2 || now.PublicAccessBlock != PABConfigured|PABBlockPublicPolicy || now.Tags["team"] != "b" || now.Ownership != OwnershipObjectWriter {
		t.Fatalf("now: policy %q, PAB %b, tags %v, ownership %v", now.Policy, now.PublicAccessBlock, now.Tags, now.Ownership)
	}
	then := tf.bucketAt("b", snap)
	if then.Policy != p1 || then.PublicAccessBlock != 0 || !maps.Equal(then.Tags, tags) || then.Ownership != OwnershipEnforced {
		t.Fatalf("at the snapshot: policy %q, PAB %b, tags %v, ownership %v", then.Policy, then.PublicAccessBlock, then.Tags, then.Ownership)
	}
	f := tf.bucketAt("f", 0)
	if f.Policy != "" || !maps.Equal(f.Tags, tags) {
		t.Fatalf("fork: policy %q, tags %v", f.Policy, f.Tags)
	}
	// The fork's changes are its own.
	tf.must(&SetBucketConfig{Bucket: "f", SetTags: true})
	if f := tf.bucketAt("f", 0); len(f.Tags) != 0 {
		t.Fatalf("fork tags after delete: %v", f.Tags)
	}
	if b := tf.bucketAt("b", 0); b.Tags["team"] != "b" {
		t.Fatalf("parent tags after the fork's delete: %v", b.Tags)
	}
	// A fork of b now inherits its public access block.
	tf.fork("g", "b")
	if g := tf.bucketAt("g", 0); g.PublicAccessBlock != PABConfigured|PABBlockPublicPolicy || g.Policy != "" {
		t.Fatalf("fork g: PAB %b, policy %q", g.PublicAccessBlock, g.Policy)
	}

	// BlockPublicPolicy refuses a public policy, not a private one, and
	// not the delete of one.
	tf.mustFail(&SetBucketConfig{Bucket: "b", SetPolicy: true, Policy: p1, PolicyPublic: true}, ErrPublicPolicyBlocked)
	tf.mustFail(&SetBucketConfig{Bucket: "g", SetPolicy: true, Policy: p1, PolicyPublic: true}, ErrPublicPolicyBlocked)
	tf.must(&SetBucketConfig{Bucket: "b", SetPolicy: true, Policy: p1})
	tf.must(&SetBucketConfig{Bucket: "b", SetPolicy: true, Policy: ""})
	// Lifting the block in the same command allows it.
	tf.must(&SetBucketConfig{Bucket: "b", SetPAB: true, PAB: 0, SetPolicy: true, Policy: p1, PolicyPublic: true})
	tf.mustFail(&SetBucketConfig{Bucket: "absent", SetPolicy: true, Policy: p1}, ErrNoSuchBucket)

	// Everything survives a restart (it is in Badger, not memory).
	tf.reopen()
	if b := tf.bucketAt("b", 0); b.Policy != p1 || b.PublicAccessBlock != 0 {
		t.Fatalf("after reopen: policy %q, PAB %b", b.Policy, b.PublicAccessBlock)
	}
}

package meta

import (
	"testing"
)

// Forks made for a user (CreateForks with Owner, op 112; CreateOwnedBucket
// with ForkSource): each fork is the user's, its keys are the user's (they
// go with the user), and a fork of another owner's bucket starts with a
// new bucket's access settings (ACLs disabled, private) while keeping the
// source's tags and public access block; a fork of one's own bucket keeps
// the source's ownership setting and ACL.
func TestUserForks(t *testing.T) {
	tf := openTestFSM(t)
	key := func(id string) AccessKey { return AccessKey{ID: id, Sealed: []byte("s-" + id)} }
	tf.must(&CreateUser{Name: "alice", ID: "id-a", Key: key("KA")})
	tf.must(&CreateUser{Name: "bob", ID: "id-b", Key: key("KB")})
	tf.must(&CreateOwnedBucket{Owner: "alice", Bucket: CreateBucket{Name: "src", Ownership: OwnershipObjectWriter, ACL: "public-read"}})
	tf.must(&SetBucketConfig{Bucket: "src", SetTags: true, Tags: map[string]string{"team": "a"}})

	// The command round-trips with its owner.
	c := &CreateForks{Source: "src", Names: []string{"b1", "b2"}, Keys: []AccessKey{key("K1"), key("K2")}, Expires: 1 << 62, Owner: "bob"}
	dec, err := DecodeCommand(EncodeCommand(c))
	if err != nil || dec.(*CreateForks).Owner != "bob" || len(dec.(*CreateForks).Names) != 2 {
		t.Fatalf("decode: %+v %v", dec, err)
	}
	tf.mustFail(&CreateForks{Source: "src", Names: []string{"x1"}, Owner: "nobody"}, ErrNoSuchUser)
	tf.must(c)
	for _, name := range []string{"b1", "b2"} {
		b := tf.bucketAt(name, 0)
		if b.Owner != "bob" || b.Ownership != OwnershipEnforced || b.ACL != "" || b.Tags["team"] != "a" || b.Expires == 0 {
			t.Fatalf("bob's fork %s: %+v", name, b)
		}
	}
	for _, id := range []string{"K1", "K2"} {
		u := tf.read(func(r *Reader) (any, error) {
			u, _, ok, err := r.KeyUser(id)
			if !ok {
				return "", err
			}
			return u.Name, err
		})
		if u != "bob" {
			t.Fatalf("key %s is %q's", id, u)
		}
	}
	// A fork for alice of her own bucket keeps its settings.
	tf.must(&CreateOwnedBucket{Owner: "alice", Bucket: CreateBucket{Name: "a1", ForkSource: "src"}})
	if b := tf.bucketAt("a1", 0); b.Owner != "alice" || b.Ownership != OwnershipObjectWriter || b.ACL != "public-read" {
		t.Fatalf("alice's fork: %+v", b)
	}
	// The root account's fork of alice's bucket is another owner's.
	tf.fork("r1", "src")
	if b := tf.bucketAt("r1", 0); b.Owner != "" || b.Ownership != OwnershipEnforced || b.ACL != "" {
		t.Fatalf("the root's fork: %+v", b)
	}
	// Deleting bob deletes his sandbox keys; his forks pass to the root.
	tf.must(&DeleteUser{Name: "bob", Force: true})
	k := tf.read(func(r *Reader) (any, error) { return r.accessKey("K1") }).(*AccessKey)
	if k != nil {
		t.Fatalf("bob's sandbox key survived him: %+v", k)
	}
	if b := tf.bucketAt("b1", 0); b.Owner != "" {
		t.Fatalf("bob's fork after him: %+v", b)
	}
}

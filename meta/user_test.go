package meta

import (
	"errors"
	"testing"
)

// Users (CreateUser, DeleteUser, RotateUserKey, CreateUserKey,
// CreateOwnedBucket): a user has a main key, owns the buckets created for
// it (the owner is in the access records: a snapshot keeps the owner of
// then, a fork has its creator's), makes scoped keys of its own buckets
// only, cannot be deleted while it owns buckets unless forced (they pass
// to the root account), and a rotation replaces only its main key.
func TestUsers(t *testing.T) {
	tf := openTestFSM(t)
	key := func(id string, buckets ...string) AccessKey {
		k := AccessKey{ID: id, Sealed: []byte("s-" + id)}
		for _, b := range buckets {
			k.Buckets = append(k.Buckets, KeyBucket{Name: b})
		}
		return k
	}
	tf.must(&CreateUser{Name: "alice", ID: "id-a", DisplayName: "Alice", Key: key("KA")})
	tf.must(&CreateUser{Name: "bob", ID: "id-b", Key: key("KB")})
	tf.mustFail(&CreateUser{Name: "alice", ID: "id-x", Key: key("KX")}, ErrUserExists)
	tf.mustFail(&CreateUser{Name: "carol", ID: "id-c", Key: key("KA")}, ErrAccessKeyExists)
	// E-mail addresses: kept with the user, one user's only (case aside).
	tf.must(&CreateUser{Name: "erin", ID: "id-e", Key: key("KE"), Email: "erin@example.com"})
	tf.mustFail(&CreateUser{Name: "frank", ID: "id-f", Key: key("KF"), Email: "Erin@Example.com"}, ErrEmailInUse)
	if u := tf.read(func(r *Reader) (any, error) { return r.User("erin") }).(*User); u.Email != "erin@example.com" || u.ID != "id-e" {
		t.Fatalf("erin: %+v", u)
	}
	if u := tf.read(func(r *Reader) (any, error) { return r.User("bob") }).(*User); u.Email != "" || u.ID != "id-b" {
		t.Fatalf("bob: %+v", u)
	}

	who := func(id string) (string, bool) {
		t.Helper()
		type out struct {
			u  *User
			uk UserKey
			ok bool
		}
		o := tf.read(func(r *Reader) (any, error) {
			u, uk, ok, err := r.KeyUser(id)
			return out{u, uk, ok}, err
		}).(out)
		if !o.ok {
			return "", false
		}
		return o.u.Name, o.uk.Main
	}
	if u, main := who("KA"); u != "alice" || !main {
		t.Fatalf("KA: user %q main %v", u, main)
	}

	tf.must(&CreateOwnedBucket{Owner: "alice", Bucket: CreateBucket{Name: "a1"}})
	tf.createBucket("root1")
	tf.mustFail(&CreateOwnedBucket{Owner: "nobody", Bucket: CreateBucket{Name: "x"}}, ErrNoSuchUser)
	if b := tf.bucketAt("a1", 0); b.Owner != "alice" {
		t.Fatalf("owner of a1: %q", b.Owner)
	}
	snap := tf.must(&CreateSnapshot{Bucket: "a1"}).Snapshot.Version
	// A fork made for bob of alice's bucket is bob's.
	tf.must(&CreateOwnedBucket{Owner: "bob", Bucket: CreateBucket{Name: "bfork", ForkSource: "a1"}})
	if b := tf.bucketAt("bfork", 0); b.Owner != "bob" {
		t.Fatalf("owner of bob's fork: %q", b.Owner)
	}
	owned := func(owner string) []string {
		bs := tf.read(func(r *Reader) (any, error) { return r.BucketsOwnedBy(owner) }).([]Bucket)
		var names []string
		for _, b := range bs {
			names = append(names, b.Name)
		}
		return names
	}
	if got := owned("alice"); len(got) != 1 || got[0] != "a1" {
		t.Fatalf("alice's buckets: %v", got)
	}
	if got := owned(""); len(got) != 1 || got[0] != "root1" {
		t.Fatalf("the root account's buckets: %v", got)
	}

	// Scoped keys of a user: its own buckets only.
	tf.must(&CreateUserKey{User: "alice", Key: key("KA2", "a1")})
	tf.mustFail(&CreateUserKey{User: "alice", Key: key("KA3", "root1")}, ErrNotBucketOwner)
	tf.mustFail(&CreateUserKey{User: "alice", Key: key("KA4", "bfork")}, ErrNotBucketOwner)
	if u, main := who("KA2"); u != "alice" || main {
		t.Fatalf("KA2: user %q main %v", u, main)
	}

	// Rotation replaces the main key only.
	tf.must(&RotateUserKey{Name: "alice", Key: key("KA9")})
	if _, ok := who("KA"); ok {
		t.Fatal("old main key still a user's key")
	}
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.AccessKey("KA") }); !errors.Is(err, ErrNoSuchAccessKey) {
		t.Fatalf("old main key: %v", err)
	}
	if u, main := who("KA9"); u != "alice" || !main {
		t.Fatalf("KA9: %q %v", u, main)
	}
	if u, _ := who("KA2"); u != "alice" {
		t.Fatal("rotation dropped the scoped key")
	}

	// Deleting a user that owns buckets.
	tf.mustFail(&DeleteUser{Name: "alice"}, ErrUserOwnsBuckets)
	tf.must(&DeleteUser{Name: "alice", Force: true})
	if b := tf.bucketAt("a1", 0); b.Owner != "" {
		t.Fatalf("a1 after alice's forced delete: owner %q", b.Owner)
	}
	if b := tf.bucketAt("a1", snap); b.Owner != "alice" {
		t.Fatalf("a1 at the snapshot: owner %q", b.Owner)
	}
	for _, id := range []string{"KA9", "KA2"} {
		if _, ok := who(id); ok {
			t.Fatalf("key %s of a deleted user", id)
		}
		if _, err := tf.readErr(func(r *Reader) (any, error) { return r.AccessKey(id) }); !errors.Is(err, ErrNoSuchAccessKey) {
			t.Fatalf("key %s of a deleted user: %v", id, err)
		}
	}
	tf.mustFail(&DeleteUser{Name: "alice"}, ErrNoSuchUser)
	users := tf.read(func(r *Reader) (any, error) { return r.Users() }).([]User)
	if len(users) != 2 || users[0].Name != "bob" || users[0].ID != "id-b" || users[1].Email != "erin@example.com" {
		t.Fatalf("users: %+v", users)
	}
	// A scoped key deleted on its own takes its user index entry along.
	tf.must(&CreateUserKey{User: "bob", Key: key("KB2", "bfork")})
	tf.must(&DeleteKey{ID: "KB2"})
	if _, ok := who("KB2"); ok {
		t.Fatal("user index entry of a deleted key")
	}
}

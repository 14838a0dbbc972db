package meta

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Users: identities besides the root account, each with its own access
// key, a canonical id and a display name. A user owns the buckets it
// creates: the owner (a user name; "" is the root account) is kept in
// the bucket's access records (acl.go), so a read at a version sees the
// owner of then. A user's keys are ordinary access key records (sealed
// secrets, re-sealed with the others): its main key has no bucket scope
// and acts as the user; the scoped keys it makes name buckets it owns. The
// user key index says whose key a key is.
//
// Deleting a user deletes its keys; it is ErrUserOwnsBuckets while the
// user owns live buckets, unless forced, when the buckets pass to the
// root account.

// User is a user record.
type User struct {
	Name        string
	ID          string // canonical user id
	DisplayName string
	Created     int64  // the creating command's version
	Email       string // optional; unique among users (case aside)
}

// UserKey says whose key an access key is.
type UserKey struct {
	User string
	Main bool // the user's own key (no bucket scope)
}

// CreateUser creates a user with its main key (Key.Buckets empty).
type CreateUser struct {
	Header
	Name        string
	ID          string
	DisplayName string
	Key         AccessKey
	Email       string // optional (ErrEmailInUse when another user's)
}

// DeleteUser deletes a user and its keys (ErrUserOwnsBuckets while it
// owns live buckets, unless Force: they pass to the root account).
type DeleteUser struct {
	Header
	Name  string
	Force bool
}

// RotateUserKey replaces a user's main key with Key.
type RotateUserKey struct {
	Header
	Name string
	Key  AccessKey
}

// CreateUserKey creates a scoped key for a user: every bucket of its
// scope must be the user's (ErrNotBucketOwner).
type CreateUserKey struct {
	Header
	User string
	Key  AccessKey
}

// CreateOwnedBucket is CreateBucket (a fork too) of a bucket a user owns.
type CreateOwnedBucket struct {
	Header
	Owner  string
	Bucket CreateBucket
}

func encodeUserRecord(u *User) []byte {
	e := encoder{}
	e.u8(fmtV1)
	e.str(u.ID)
	e.str(u.DisplayName)
	e.varint(u.Created)
	if u.Email != "" {
		// Records written before e-mail addresses end after Created.
		e.str(u.Email)
	}
	return e.b
}

func decodeUserRecord(name string, v []byte) (*User, error) {
	d := decoder{b: v}
	d.fmtByte()
	u := &User{Name: name, ID: d.str(), DisplayName: d.str(), Created: d.varint()}
	if d.err == nil && len(d.b) > 0 {
		u.Email = d.str()
	}
	return u, d.done()
}

func encodeUserKey(uk UserKey) []byte {
	e := encoder{}
	e.u8(fmtV1)
	e.str(uk.User)
	e.boolean(uk.Main)
	return e.b
}

func decodeUserKey(v []byte) (UserKey, error) {
	d := decoder{b: v}
	d.fmtByte()
	uk := UserKey{User: d.str(), Main: d.boolean()}
	return uk, d.done()
}

// --- reads ---

// User returns a user (ErrNoSuchUser).
func (r *Reader) User(name string) (*User, error) {
	v, ok, err := getValue(r.txn, keyUser(name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchUser, name)
	}
	return decodeUserRecord(name, v)
}

// Users lists the users by name.
func (r *Reader) Users() ([]User, error) {
	var out []User
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pfxUser}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		name, _, ok := readName(it.Item().Key()[1:])
		if !ok {
			return nil, fmt.Errorf("%w: user key", ErrCorrupt)
		}
		var u *User
		err := it.Item().Value(func(v []byte) (err error) {
			u, err = decodeUserRecord(name, v)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, nil
}

// KeyUser says whose key an access key is (ok false: the root account's).
func (r *Reader) KeyUser(id string) (*User, UserKey, bool, error) {
	v, ok, err := getValue(r.txn, keyUserKey(id))
	if err != nil || !ok {
		return nil, UserKey{}, false, err
	}
	uk, err := decodeUserKey(v)
	if err != nil {
		return nil, uk, false, err
	}
	u, err := r.User(uk.User)
	if err != nil {
		return nil, uk, false, err
	}
	return u, uk, true, nil
}

// KeyOwner returns the user an access key belongs to (ok false: a key of
// the root account), without reading the user's record (which lives in
// the directory shard only).
func (r *Reader) KeyOwner(id string) (UserKey, bool, error) {
	v, ok, err := getValue(r.txn, keyUserKey(id))
	if err != nil || !ok {
		return UserKey{}, false, err
	}
	uk, err := decodeUserKey(v)
	return uk, err == nil, err
}

// userKeys lists the access key ids of a user.
func (r *Reader) userKeys(name string) ([]string, []UserKey, error) {
	var ids []string
	var uks []UserKey
	it := r.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pfxUserKey}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		id, _, ok := readName(it.Item().Key()[1:])
		if !ok {
			return nil, nil, fmt.Errorf("%w: user key index", ErrCorrupt)
		}
		var uk UserKey
		err := it.Item().Value(func(v []byte) (err error) {
			uk, err = decodeUserKey(v)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		if uk.User == name {
			ids, uks = append(ids, id), append(uks, uk)
		}
	}
	return ids, uks, nil
}

// BucketsOwnedBy returns the live buckets owner owns ("" the root
// account's), ordered by name.
func (r *Reader) BucketsOwnedBy(owner string) ([]Bucket, error) {
	all, err := r.Buckets()
	if err != nil {
		return nil, err
	}
	var out []Bucket
	for _, b := range all {
		x, _, err := r.accessAt(&b, latest)
		if err != nil {
			return nil, err
		}
		if x.owner == owner {
			b.Owner = owner
			out = append(out, b)
		}
	}
	return out, nil
}

// --- apply ---

func (a *applier) createUser(c *CreateUser) (*Result, error) {
	if c.Name == "" || c.ID == "" {
		return nil, fmt.Errorf("%w: user %q", ErrCorrupt, c.Name)
	}
	if ok, err := exists(a.txn, keyUser(c.Name)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: %q", ErrUserExists, c.Name)
		}
		return nil, err
	}
	// Everything is checked before anything is written: a refused command
	// leaves no trace.
	if c.Email != "" {
		us, err := a.r.Users()
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			if strings.EqualFold(u.Email, c.Email) {
				return nil, fmt.Errorf("%w: %q", ErrEmailInUse, c.Email)
			}
		}
	}
	if err := a.checkMainKey(&c.Key); err != nil {
		return nil, err
	}
	u := &User{Name: c.Name, ID: c.ID, DisplayName: c.DisplayName, Created: int64(a.version), Email: c.Email}
	if err := a.set(keyUser(c.Name), encodeUserRecord(u)); err != nil {
		return nil, err
	}
	k, err := a.putUserKey(c.Name, c.Key, true)
	if err != nil {
		return nil, err
	}
	return &Result{Keys: []AccessKey{k}}, nil
}

// putUserKey stores a user's key (main: no scope) and its index entry.
func (a *applier) putUserKey(user string, k AccessKey, main bool) (AccessKey, error) {
	k.Buckets = slices.Clone(k.Buckets)
	if main {
		if err := a.checkMainKey(&k); err != nil {
			return k, err
		}
	} else if err := a.checkNewKey(&k); err != nil {
		return k, err
	}
	if err := a.putKey(&k); err != nil {
		return k, err
	}
	if err := a.set(keyUserKey(k.ID), encodeUserKey(UserKey{User: user, Main: main})); err != nil {
		return k, err
	}
	k.Sealed = nil
	return k, a.bumpKeys()
}

// checkMainKey checks a user's new main key: a fresh id, no scope.
func (a *applier) checkMainKey(k *AccessKey) error {
	if k.ID == "" || len(k.Sealed) == 0 || len(k.Buckets) != 0 {
		return fmt.Errorf("%w: main key of a user", ErrCorrupt)
	}
	if ok, err := exists(a.txn, keyAccessKey(k.ID)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: %q", ErrAccessKeyExists, k.ID)
		}
		return err
	}
	return nil
}

func (a *applier) deleteUser(c *DeleteUser) (*Result, error) {
	// Users live in the directory shard. On another shard the command
	// only checks (or, forced, gives to the root) the user's buckets
	// there; the proposer applies it on every other shard first.
	directory := a.shard <= DirectoryShard
	if directory {
		if _, err := a.r.User(c.Name); err != nil {
			return nil, err
		}
	}
	owned, err := a.r.BucketsOwnedBy(c.Name)
	if err != nil {
		return nil, err
	}
	if len(owned) > 0 && !c.Force {
		return nil, fmt.Errorf("%w: user %q owns %d buckets", ErrUserOwnsBuckets, c.Name, len(owned))
	}
	for i := range owned {
		b, err := a.r.liveBucket(owned[i].Name)
		if err != nil {
			return nil, err
		}
		if err := a.replaceAccessRecord(b, func(x *accessRecord) { x.owner = "" }); err != nil {
			return nil, err
		}
	}
	if err := a.removeUserKeys(c.Name, false); err != nil {
		return nil, err
	}
	if !directory {
		return nil, nil
	}
	return nil, a.del(keyUser(c.Name))
}

// removeUserKeys deletes a user's keys (only its main key with mainOnly).
func (a *applier) removeUserKeys(name string, mainOnly bool) error {
	ids, uks, err := a.r.userKeys(name)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if mainOnly && !uks[i].Main {
			continue
		}
		k, err := a.r.accessKey(id)
		if err != nil {
			return err
		}
		if k != nil {
			if err := a.removeKey(k); err != nil {
				return err
			}
		}
		if err := a.del(keyUserKey(id)); err != nil {
			return err
		}
	}
	return a.bumpKeys()
}

func (a *applier) rotateUserKey(c *RotateUserKey) (*Result, error) {
	if _, err := a.r.User(c.Name); err != nil {
		return nil, err
	}
	if err := a.checkMainKey(&c.Key); err != nil {
		return nil, err
	}
	if err := a.removeUserKeys(c.Name, true); err != nil {
		return nil, err
	}
	k, err := a.putUserKey(c.Name, c.Key, true)
	if err != nil {
		return nil, err
	}
	return &Result{Keys: []AccessKey{k}}, nil
}

func (a *applier) createUserKey(c *CreateUserKey) (*Result, error) {
	// On a shard other than the directory the proposer checked the user.
	if a.shard <= DirectoryShard {
		if _, err := a.r.User(c.User); err != nil {
			return nil, err
		}
	}
	for _, kb := range c.Key.Buckets {
		b, err := a.r.liveBucket(kb.Name)
		if err != nil {
			return nil, err
		}
		x, _, err := a.r.accessAt(b, latest)
		if err != nil {
			return nil, err
		}
		if x.owner != c.User {
			return nil, fmt.Errorf("%w: bucket %q is not user %q's", ErrNotBucketOwner, kb.Name, c.User)
		}
	}
	k, err := a.putUserKey(c.User, c.Key, false)
	if err != nil {
		return nil, err
	}
	return &Result{Keys: []AccessKey{k}}, nil
}

func (a *applier) createOwnedBucket(c *CreateOwnedBucket) (*Result, error) {
	// Users live in the directory shard; on another shard the proposer
	// checked the user there first (directory.go).
	if a.shard <= DirectoryShard {
		if _, err := a.r.User(c.Owner); err != nil {
			return nil, err
		}
	}
	return a.createBucketOwned(&c.Bucket, c.Owner)
}

package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/mail"
	"regexp"

	"github.com/forkstore/forkstore/meta"
)

// Users: identities besides the root account (meta/user.go). Only the
// root key manages them; a user creates and owns its buckets and makes
// scoped keys of them.

// validUserName: 1 to 64 letters, digits and "+=,.@_-", as IAM user names.
var validUserName = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)

// NewUser is a created user with its access key's secret (shown once).
type NewUser struct {
	User   meta.User
	Key    meta.AccessKey
	Secret string
}

// CreateUser creates a user with a fresh canonical id and access key;
// email ("" for none) is its e-mail address, for ACL grants by e-mail
// (meta.ErrEmailInUse when another user's).
func (s *Service) CreateUser(ctx context.Context, name, displayName, email string) (*NewUser, error) {
	if !validUserName.MatchString(name) {
		return nil, fmt.Errorf("%w: user name %q (1 to 64 of A-Z a-z 0-9 +=,.@_-)", ErrMalformedRequest, name)
	}
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" || len(email) > 254 {
			return nil, fmt.Errorf("%w: e-mail address %q (a plain address such as name@example.com)", ErrMalformedRequest, email)
		}
	}
	if displayName == "" {
		displayName = name
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := hex.EncodeToString(b[:])
	k, secret := s.newKey(metaShard, nil, "", false, 0)
	res, err := s.propose(ctx, &meta.CreateUser{Name: name, ID: id, DisplayName: displayName, Key: k, Email: email})
	if err != nil {
		return nil, err
	}
	s.node.keys.of(metaShard).reset(res.Version)
	return &NewUser{User: meta.User{Name: name, ID: id, DisplayName: displayName, Created: int64(res.Version), Email: email},
		Key: res.Keys[0], Secret: secret}, nil
}

// Users lists the users.
func (s *Service) Users(ctx context.Context) ([]meta.User, error) {
	return readAs[[]meta.User](ctx, s, meta.UsersQuery{})
}

// User returns a user (meta.ErrNoSuchUser).
func (s *Service) User(ctx context.Context, name string) (*meta.User, error) {
	return readAs[*meta.User](ctx, s, meta.UserQuery{Name: name})
}

// DeleteUser deletes a user and its keys (meta.ErrUserOwnsBuckets while
// it owns buckets, unless force: they pass to the root account).
//
// With several metadata shards the other shards go first (each removes
// the user's keys there and checks, or with force gives away, the user's
// buckets there), then the directory, which removes the user.
func (s *Service) DeleteUser(ctx context.Context, name string, force bool) error {
	if _, err := s.User(ctx, name); err != nil {
		return err
	}
	if !force {
		owned, err := s.BucketsOwnedBy(ctx, name)
		if err != nil {
			return err
		}
		if len(owned) > 0 {
			return fmt.Errorf("%w: user %q owns %d buckets", meta.ErrUserOwnsBuckets, name, len(owned))
		}
	}
	for _, shard := range s.node.shards.list() {
		if shard == metaShard {
			continue
		}
		res, err := s.proposeOn(ctx, shard, &meta.DeleteUser{Name: name, Force: force})
		if err != nil {
			return err
		}
		s.node.keys.of(shard).reset(res.Version)
	}
	res, err := s.propose(ctx, &meta.DeleteUser{Name: name, Force: force})
	if err == nil {
		s.node.keys.of(metaShard).reset(res.Version)
	}
	return err
}

// RotateUserKey replaces a user's access key with a new one.
func (s *Service) RotateUserKey(ctx context.Context, name string) (*NewUser, error) {
	u, err := s.User(ctx, name)
	if err != nil {
		return nil, err
	}
	k, secret := s.newKey(metaShard, nil, "", false, 0)
	res, err := s.propose(ctx, &meta.RotateUserKey{Name: name, Key: k})
	if err != nil {
		return nil, err
	}
	s.node.keys.of(metaShard).reset(res.Version)
	return &NewUser{User: *u, Key: res.Keys[0], Secret: secret}, nil
}

// CreateUserKey creates a scoped key for a user, of buckets it owns
// (meta.ErrNotBucketOwner otherwise).
func (s *Service) CreateUserKey(ctx context.Context, user string, in KeyInput) (*NewKey, error) {
	if err := checkKeyInput(in); err != nil {
		return nil, err
	}
	if in.AllowForks {
		// The forks such a key makes would not be the user's.
		return nil, fmt.Errorf("%w: a user's scoped key cannot be given the permission to fork", ErrMalformedRequest)
	}
	shard, err := s.keysShard(ctx, in.Buckets)
	if err != nil {
		return nil, err
	}
	if shard != metaShard {
		if _, err := s.User(ctx, user); err != nil {
			return nil, err
		}
	}
	k, secret := s.newKey(shard, in.Buckets, in.Prefix, in.ReadOnly, s.expiry(in.TTL))
	res, err := s.proposeOn(ctx, shard, &meta.CreateUserKey{User: user, Key: k})
	if err != nil {
		return nil, err
	}
	s.node.keys.of(shard).reset(res.Version)
	return &NewKey{Key: res.Keys[0], Secret: secret}, nil
}

// BucketsOwnedBy lists the live buckets a user owns ("" the root
// account's).
func (s *Service) BucketsOwnedBy(ctx context.Context, owner string) ([]meta.Bucket, error) {
	per, err := readEach[[]meta.Bucket](ctx, s, meta.BucketsOwnedByQuery{Owner: owner})
	if err != nil {
		return nil, err
	}
	return sortBuckets(per), nil
}

// BucketOwner returns the user owning a live bucket, nil for the root
// account's, in one read.
func (s *Service) BucketOwner(ctx context.Context, bucket string) (*meta.User, error) {
	if !ValidBucketName(bucket) {
		return nil, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	if s.node.shards.count() <= 1 {
		return readAs[*meta.User](ctx, s, meta.BucketOwnerQuery{Bucket: bucket})
	}
	b, err := readAsB[*meta.Bucket](ctx, s, bucket, meta.BucketAtQuery{Name: bucket, At: 0})
	if err != nil || b.Owner == "" {
		return nil, err
	}
	return s.User(ctx, b.Owner)
}

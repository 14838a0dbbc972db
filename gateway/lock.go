package gateway

import (
	"context"
	"fmt"

	"github.com/forkstore/forkstore/meta"
)

// Object Lock use cases (meta/lock.go holds the rules).

// ObjectLockConfiguration returns a bucket's Object Lock configuration;
// a bucket without Object Lock is ErrNoObjectLockConfiguration.
func (s *Service) ObjectLockConfiguration(ctx context.Context, bucket string) (meta.ObjectLock, error) {
	b, err := s.HeadBucket(ctx, bucket)
	if err != nil {
		return meta.ObjectLock{}, err
	}
	if !b.Lock.Enabled {
		return meta.ObjectLock{}, fmt.Errorf("%w: bucket %q", ErrNoObjectLockConfiguration, bucket)
	}
	return b.Lock, nil
}

// PutObjectLockConfiguration replaces a bucket's Object Lock
// configuration (enabling it on a versioned bucket, or changing its
// default retention).
func (s *Service) PutObjectLockConfiguration(ctx context.Context, bucket string, lock meta.ObjectLock) error {
	if err := checkBucketName(bucket); err != nil {
		return err
	}
	_, err := s.proposeB(ctx, bucket, &meta.SetObjectLockConfig{Bucket: bucket, Lock: lock})
	return err
}

// ObjectLockInput changes the retention and/or the legal hold of an
// object version ("" is the latest).
type ObjectLockInput struct {
	Bucket, Key, VersionID string
	SetRetention           bool
	Mode                   meta.LockMode
	RetainUntil            int64 // Unix ns
	SetLegalHold           bool
	LegalHold              bool
	BypassGovernance       bool
}

// SetObjectLock applies in and returns the version with its new lock.
func (s *Service) SetObjectLock(ctx context.Context, in ObjectLockInput) (*meta.Object, error) {
	if err := checkBucketKey(in.Bucket, in.Key); err != nil {
		return nil, err
	}
	cmd := meta.SetObjectLock{
		Bucket: in.Bucket, Key: in.Key, VersionID: in.VersionID,
		SetRetention: in.SetRetention, Mode: in.Mode, RetainUntil: in.RetainUntil,
		SetLegalHold: in.SetLegalHold, LegalHold: in.LegalHold, BypassGovernance: in.BypassGovernance,
	}
	// A version the fork inherits from its parent on another shard: as on
	// one shard, a version that lives in the parent keeps its lock.
	res, err := s.proposeChangeOfVersion(ctx, in.Bucket, in.Key, in.VersionID, &cmd, &cmd.Header, func(v meta.InheritedVersion) any {
		return &meta.SetObjectLockInherited{SetObjectLock: cmd, Inherited: v}
	})
	if err != nil {
		return nil, err
	}
	return res.Object, nil
}

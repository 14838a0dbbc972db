package gateway

import (
	"context"
	"fmt"

	"github.com/forkstore/forkstore/meta"
)

// BucketConfigInput changes a bucket's policy, public access block and/or
// tags (meta.SetBucketConfig). The policy is stored as given: the S3 front
// end parses and checks it, and says whether it is public.
type BucketConfigInput struct {
	SetPolicy    bool
	Policy       string // "" deletes it
	PolicyPublic bool
	SetPAB       bool
	PAB          meta.PublicAccessBlock // 0 deletes it
	SetTags      bool
	Tags         map[string]string // nil deletes them
}

// SetBucketConfig changes a bucket's policy, public access block and/or
// tags (meta.ErrPublicPolicyBlocked for a public policy the block forbids).
func (s *Service) SetBucketConfig(ctx context.Context, bucket string, in BucketConfigInput) error {
	if !ValidBucketName(bucket) {
		return fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	_, err := s.proposeB(ctx, bucket, &meta.SetBucketConfig{Bucket: bucket, SetPolicy: in.SetPolicy, Policy: in.Policy,
		PolicyPublic: in.PolicyPublic, SetPAB: in.SetPAB, PAB: in.PAB, SetTags: in.SetTags, Tags: in.Tags})
	return err
}

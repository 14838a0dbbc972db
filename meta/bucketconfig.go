package meta

import "fmt"

// Bucket configuration kept with the access settings: the bucket policy
// (a JSON document meta stores as given; the S3 front end parses and
// evaluates it), the public access block and the bucket's tags. They live
// in the bucket's access records (acl.go), so a read at a snapshot or an
// instant of the history window sees them as they were then, and they
// follow the same retention.
//
// A fork starts with its source's public access block and tags as of
// its fork point, and with no policy: a policy names its bucket in its
// resources, and a fork's access is its own to grant.

// PublicAccessBlock is a bucket's public access block configuration: a
// set of bits; PABConfigured says one was put (GetPublicAccessBlock finds
// none otherwise).
type PublicAccessBlock uint8

// Bits of PublicAccessBlock.
const (
	PABConfigured PublicAccessBlock = 1 << iota
	PABBlockPublicAcls
	PABIgnorePublicAcls
	PABBlockPublicPolicy
	PABRestrictPublicBuckets
)

// Has reports whether bit is set.
func (p PublicAccessBlock) Has(bit PublicAccessBlock) bool { return p&bit != 0 }

// SetBucketConfig changes a bucket's policy, public access block and/or
// tags. A policy whose PolicyPublic is set on a bucket whose public access
// block has BlockPublicPolicy is ErrPublicPolicyBlocked (checked in apply,
// so a public access block put concurrently cannot be bypassed).
type SetBucketConfig struct {
	Header
	Bucket       string
	SetPolicy    bool
	Policy       string // "" deletes the policy
	PolicyPublic bool
	SetPAB       bool
	PAB          PublicAccessBlock // 0 deletes the configuration
	SetTags      bool
	Tags         map[string]string // nil deletes the tags
}

func (a *applier) setBucketConfig(c *SetBucketConfig) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	cur, _, err := a.r.accessAt(b, latest)
	if err != nil {
		return nil, err
	}
	pab := cur.pab
	if c.SetPAB {
		pab = c.PAB
	}
	if c.SetPolicy && c.Policy != "" && c.PolicyPublic && pab.Has(PABBlockPublicPolicy) {
		return nil, fmt.Errorf("%w: bucket %q", ErrPublicPolicyBlocked, b.Name)
	}
	return nil, a.replaceAccessRecord(b, func(x *accessRecord) {
		if c.SetPolicy {
			x.policy = c.Policy
		}
		if c.SetPAB {
			x.pab = c.PAB
		}
		if c.SetTags {
			x.tags = c.Tags
		}
	})
}

// inheritConfig gives a new fork b its source's public access block and
// tags as of base. A fork whose owner (b.Owner) is not the source's owner
// at base starts with the access settings of a new bucket instead of the
// source's ownership setting and ACL: ACLs disabled (which takes the
// inherited objects' ACLs out of force) and a private bucket ACL. The
// source's grants were its owner's to give, and would otherwise let the
// source's owner and grantees into a bucket they do not own.
func (a *applier) inheritConfig(b, src *Bucket, base uint64) error {
	x, ok, err := a.r.accessAt(src, base)
	if err != nil {
		return err
	}
	owner := src.Owner
	if ok {
		b.PublicAccessBlock, b.Tags = x.pab, x.tags
		owner = x.owner
	}
	if owner != b.Owner {
		b.Ownership, b.ACL = OwnershipEnforced, ""
	}
	return nil
}

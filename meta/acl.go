package meta

import "fmt"

// Access settings: S3 Object Ownership and canned ACLs. meta stores them
// and keeps the two rules that tie them together, checked in apply so they
// hold whatever runs concurrently:
//   - under OwnershipEnforced (ACLs disabled) nothing gets a non-private
//     ACL: not the bucket, not a new object, not an object's annotation
//     (ErrACLNotSupported);
//   - a bucket whose ACL is not private cannot become OwnershipEnforced
//     (ErrInvalidBucketACL).
//
// An ACL is a canned ACL name; "" is private (the owner has full control,
// nobody else anything). meta does not interpret the names beyond that:
// what each grants, and to whom, is decided by the S3 front end.
//
// An object's ACL is written with the version (PutObject, CopyObject,
// multipart uploads) and changed by annotations (annotation.go), so a
// snapshot shows the ACL it saw and a fork reads its parent's ACLs as of
// its base. A bucket's ownership and ACL live in its record; a fork starts
// with its source's.

// checkACL refuses a non-private ACL on a bucket whose ownership setting
// disables ACLs.
func checkACL(b *Bucket, acl string) error {
	if acl != "" && !b.Ownership.ACLsEnabled() {
		return fmt.Errorf("%w: bucket %q, ACL %q", ErrACLNotSupported, b.Name, acl)
	}
	return nil
}

// checkAccess validates a bucket's ownership and ACL together.
func checkAccess(name string, o Ownership, acl string) error {
	if acl != "" && !o.ACLsEnabled() {
		return fmt.Errorf("%w: bucket %q, ACL %q", ErrInvalidBucketACL, name, acl)
	}
	return nil
}

func (a *applier) setBucketAccess(c *SetBucketAccess) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	next := *b
	if c.SetOwnership {
		next.Ownership = c.Ownership
	}
	if c.SetACL {
		if err := checkACL(&next, c.ACL); err != nil {
			return nil, err
		}
		next.ACL = c.ACL
	}
	if err := checkAccess(b.Name, next.Ownership, next.ACL); err != nil {
		return nil, err
	}
	if next.Ownership == b.Ownership && next.ACL == b.ACL {
		return nil, nil
	}
	return nil, a.putBucket(&next)
}

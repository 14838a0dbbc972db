package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/forkstore/forkstore/meta"
)

// ValidBucketName reports whether name follows the S3 bucket naming rules
// (general purpose buckets): 3-63 characters of lower-case letters, digits,
// dots and hyphens, starting and ending with a letter or digit, no "..",
// not an IP address, none of the reserved prefixes and suffixes.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	if net.ParseIP(name) != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

func checkBucketName(name string) error {
	if !ValidBucketName(name) {
		return fmt.Errorf("%w: %q", ErrInvalidBucketName, name)
	}
	return nil
}

// CreateBucket creates a bucket or, with ForkSource, a fork.
func (s *Service) CreateBucket(ctx context.Context, in CreateBucketInput) (*meta.Bucket, error) {
	if err := checkBucketName(in.Name); err != nil {
		return nil, err
	}
	region := in.Region
	if region == "" {
		region = s.Region()
	}
	if in.ForkSource != "" && (in.TTL != 0 || in.Grant != "") {
		// A fork with a lease, or made with a scoped key, is a batch of one.
		batch, err := s.CreateForks(ctx, CreateForksInput{
			Source: in.ForkSource, Snapshot: in.ForkSnapshot, Names: []string{in.Name},
			TTL: in.TTL, Grant: in.Grant, Region: region, Owner: in.Owner,
		})
		if err != nil {
			return nil, err
		}
		return &batch.Forks[0].Bucket, nil
	}
	cmd := &meta.CreateBucket{Name: in.Name, Region: region, ForkSource: in.ForkSource, MaxForkDepth: s.node.cfg.Meta.MaxForkDepth,
		Ownership: in.Ownership, ACL: in.ACL, ObjectLock: in.ObjectLock && in.ForkSource == ""}
	if in.ForkSource != "" {
		var err error
		if cmd.MaxForkDepth, err = s.forkDepthLimit(ctx, in.ForkSource); err != nil {
			return nil, err
		}
	}
	if in.ForkSource != "" && in.ForkSnapshot != "" {
		if v, ok := parseVersion(in.ForkSnapshot); ok {
			cmd.ForkVersion = v
		} else {
			cmd.ForkSnapshotName = in.ForkSnapshot
		}
	}
	if in.ForkSource != "" && in.Owner == "" && !s.node.cfg.ForksOnSourceShard {
		target, srcShard, err := s.forkShard(ctx, in.Name, in.ForkSource)
		if err != nil {
			return nil, err
		}
		if target != srcShard {
			b, err := s.createRemoteFork(ctx, in.Name, in.ForkSource, region, cmd.ForkVersion, cmd.ForkSnapshotName, target, srcShard)
			if !errors.Is(err, meta.ErrForkAcrossShards) {
				return b, err
			}
			// The source's chain reaches another shard already (an
			// ancestor of it): the fork stays on the source's shard.
		}
	}
	var prop any = cmd
	if in.Owner != "" {
		if s.node.shards.count() > 1 {
			// Users live in the directory; the bucket's shard takes
			// the owner as checked.
			if _, err := s.User(ctx, in.Owner); err != nil {
				return nil, err
			}
		}
		prop = &meta.CreateOwnedBucket{Owner: in.Owner, Bucket: *cmd}
	}
	res, err := s.createBucketOn(ctx, in.Name, in.ForkSource, func(shard uint64) (*meta.Result, error) {
		return s.proposeOn(ctx, shard, prop)
	})
	if err != nil {
		return nil, err
	}
	return res.Bucket, nil
}

// createBucketOn creates one bucket named name: in the family of source
// (its shard) when there is one, else on the shard placeBucket gives.
func (s *Service) createBucketOn(ctx context.Context, name, source string, create func(shard uint64) (*meta.Result, error)) (*meta.Result, error) {
	shard := placeBucket(name, s.node.shards.count())
	if source != "" {
		var err error
		if shard, _, err = s.shardOf(ctx, source, true); err != nil {
			return nil, err
		}
	} else if s.node.shards.count() > 1 {
		// A bucket with no parent may live on any shard: where its name
		// is claimed already (by an earlier bucket of that name), if it
		// is.
		if claimed, _, err := s.shardOf(ctx, name, true); err == nil {
			shard = claimed
		}
	}
	return s.createNamed(ctx, shard, []string{name}, create, func(res *meta.Result) map[string]uint64 {
		return map[string]uint64{name: res.Bucket.ID}
	})
}

// MountView creates the read-only snapshot view name of bucket at a
// snapshot (a version or a name): a bucket every S3 tool can read, which
// refuses every write (meta.ErrReadOnlyView), in O(1).
func (s *Service) MountView(ctx context.Context, bucket, snapshot, name string) (*meta.Bucket, error) {
	if err := checkBucketName(name); err != nil {
		return nil, err
	}
	if snapshot == "" {
		return nil, fmt.Errorf("%w: a view needs a snapshot", ErrInvalidSnapshot)
	}
	cmd := &meta.MountView{Name: name, Region: s.Region(), Bucket: bucket, MaxForkDepth: s.node.cfg.Meta.MaxForkDepth}
	if v, ok := parseVersion(snapshot); ok {
		cmd.Version = v
	} else {
		cmd.SnapshotName = snapshot
	}
	res, err := s.createBucketOn(ctx, name, bucket, func(shard uint64) (*meta.Result, error) {
		return s.proposeOn(ctx, shard, cmd)
	})
	if err != nil {
		return nil, err
	}
	b := res.Bucket
	b.View = true
	return b, nil
}

// UnmountView removes a snapshot view (meta.ErrNotAView for any other
// bucket); what only it pinned is collected.
func (s *Service) UnmountView(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, name, &meta.UnmountView{Name: name})
}

// deleteNamed proposes cmd, which deletes the bucket name, to its shard,
// then tells the directory.
func (s *Service) deleteNamed(ctx context.Context, name string, cmd any) error {
	return s.onBucket(ctx, name, func(shard uint64) error {
		var b *meta.Bucket
		if s.node.shards.count() > 1 {
			var err error
			if b, err = readAsOn[*meta.Bucket](ctx, s, shard, meta.BucketQuery{Name: name}); err != nil {
				return err
			}
		}
		if _, err := s.proposeOn(ctx, shard, cmd); err != nil {
			return err
		}
		if b != nil {
			s.released(ctx, shard, *b)
			if b.Parent != nil && meta.ShardOfBucketID(b.Parent.BucketID) != shard {
				// A fork whose parent is on another shard: its pin
				// there goes now when this delete purged it (else when
				// it is purged, by the leader's recovery pass, which
				// also sends the releases of other deletes).
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				s.node.sendPinRelease(rctx, shard, b.ID)
				cancel()
			}
		}
		return nil
	})
}

// parseVersion parses a decimal version (an S3 VersionId or snapshot).
func parseVersion(s string) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil && v > 0
}

// CreateSnapshot snapshots a bucket.
func (s *Service) CreateSnapshot(ctx context.Context, bucket, name string) (*meta.Snapshot, error) {
	if err := checkSnapshotName(name); err != nil {
		return nil, err
	}
	res, err := s.proposeB(ctx, bucket, &meta.CreateSnapshot{Bucket: bucket, Name: name})
	if err != nil {
		return nil, err
	}
	return res.Snapshot, nil
}

// checkSnapshotName accepts "" (an unnamed snapshot) and names that can be
// shown and resolved unambiguously: at most 256 bytes of UTF-8 without
// control characters (an XML 1.0 listing cannot carry most of them), ';'
// (the separator of "version; name=N" in listings), and not digits only
// (ResolveSnapshot reads those as a version).
func checkSnapshotName(name string) error {
	bad := len(name) > 256 || !utf8.ValidString(name) || strings.ContainsRune(name, ';')
	for _, r := range name {
		bad = bad || unicode.IsControl(r)
	}
	if name != "" && strings.Trim(name, "0123456789") == "" {
		bad = true
	}
	if bad {
		return fmt.Errorf("%w: snapshot name %q: want at most 256 bytes of UTF-8, no control characters or ';', not only digits", ErrMalformedRequest, name)
	}
	return nil
}

// ListSnapshots lists a bucket's snapshots, oldest first.
func (s *Service) ListSnapshots(ctx context.Context, bucket string) ([]meta.Snapshot, error) {
	return readAsB[[]meta.Snapshot](ctx, s, bucket, meta.SnapshotsQuery{Bucket: bucket})
}

// ResolveSnapshot parses a snapshot reference (decimal version or name) of
// a bucket into a version. It fails with ErrInvalidSnapshot or
// meta.ErrNoSuchSnapshot.
func (s *Service) ResolveSnapshot(ctx context.Context, bucket, ref string) (uint64, error) {
	if v, ok := parseVersion(ref); ok {
		return v, nil
	}
	if ref == "" || strings.ContainsAny(ref, ";\r\n") {
		return 0, fmt.Errorf("%w: %q", ErrInvalidSnapshot, ref)
	}
	snaps, err := s.ListSnapshots(ctx, bucket)
	if err != nil {
		return 0, err
	}
	for _, sn := range snaps {
		if sn.Name == ref {
			return sn.Version, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", meta.ErrNoSuchSnapshot, ref)
}

// DeleteSnapshot deletes a snapshot.
func (s *Service) DeleteSnapshot(ctx context.Context, bucket string, version uint64) error {
	_, err := s.proposeB(ctx, bucket, &meta.DeleteSnapshot{Bucket: bucket, Version: version})
	return err
}

// HeadBucket returns a live bucket (with ParentName and IsForkParent).
func (s *Service) HeadBucket(ctx context.Context, name string) (*meta.Bucket, error) {
	b, err := readAsB[*meta.Bucket](ctx, s, name, meta.BucketQuery{Name: name})
	if err == nil {
		s.nameRemoteParent(ctx, b)
	}
	return b, err
}

// ListBuckets lists live buckets by name.
func (s *Service) ListBuckets(ctx context.Context) ([]meta.Bucket, error) {
	per, err := readEach[[]meta.Bucket](ctx, s, meta.BucketsQuery{})
	if err != nil {
		return nil, err
	}
	return nameRemoteParents(sortBuckets(per)), nil
}

// DeleteBucket deletes an empty bucket.
func (s *Service) DeleteBucket(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, name, &meta.DeleteBucket{Name: name})
}

// SetVersioning sets a bucket's versioning state.
func (s *Service) SetVersioning(ctx context.Context, bucket string, v meta.Versioning) error {
	_, err := s.proposeB(ctx, bucket, &meta.SetVersioning{Bucket: bucket, Status: v})
	return err
}

// BucketAccessInput changes a bucket's ownership controls and/or ACL.
type BucketAccessInput struct {
	SetOwnership bool
	Ownership    meta.Ownership
	SetACL       bool
	ACL          string
}

// SetBucketAccess changes a bucket's ownership controls and/or its ACL
// (meta.ErrACLNotSupported, meta.ErrInvalidBucketACL when they conflict).
func (s *Service) SetBucketAccess(ctx context.Context, bucket string, in BucketAccessInput) error {
	_, err := s.proposeB(ctx, bucket, &meta.SetBucketAccess{Bucket: bucket, SetOwnership: in.SetOwnership,
		Ownership: in.Ownership, SetACL: in.SetACL, ACL: in.ACL})
	return err
}

// ObjectAccess reads, in one read, a live bucket (with its ownership and
// ACL as of in.At, see meta.Reader.BucketAt) and, when in.Key is set, the
// object version in.VersionID names as HeadObject does (with its ACL as
// of in.At). The bucket comes back with the object's error
// (meta.ErrNoSuchKey, ...); it is nil only with the bucket's error (or
// that of the version in.At). With in.Encryption (and in.At 0) the same
// read fills the bucket's default encryption (meta.Bucket.Encryption).
func (s *Service) ObjectAccess(ctx context.Context, in GetObjectInput) (*meta.Bucket, *meta.Object, error) {
	if !ValidBucketName(in.Bucket) {
		return nil, nil, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, in.Bucket)
	}
	// An invalid key is refused once the bucket is read (a bucket that
	// does not exist comes first).
	q := meta.BucketObjectQuery{Bucket: in.Bucket, Key: in.Key, VersionID: in.VersionID, At: in.At, Encryption: in.Encryption}
	keyErr := error(nil)
	if in.Key != "" {
		if keyErr = checkKey(in.Key); keyErr != nil {
			q.Key = ""
		}
	}
	// The encryption is left unread on an error: the write reads it again.
	bo, err := readAsB[*meta.BucketObject](ctx, s, in.Bucket, q)
	if err != nil {
		return nil, nil, err
	}
	b := bo.Bucket
	if keyErr != nil {
		return b, nil, keyErr
	}
	o, err := bo.Object.Result()
	if b != nil {
		o, err = s.readInherited(ctx, in.Bucket, in.At, o, err, in.Key, in.VersionID)
	}
	return b, o, err
}

// Lineage returns a bucket's parent, snapshots and forks.
func (s *Service) Lineage(ctx context.Context, bucket string) (*meta.Lineage, error) {
	l, err := readAsB[*meta.Lineage](ctx, s, bucket, meta.LineageQuery{Bucket: bucket})
	if err != nil {
		return nil, err
	}
	s.nameRemoteLineage(ctx, l)
	return l, nil
}

// Diff pages through the keys under prefix that a fork changed against
// its base.
func (s *Service) Diff(ctx context.Context, bucket, prefix, after string, max int) (*meta.DiffResult, error) {
	if max <= 0 || max > 1000 {
		max = 1000
	}
	res, err := readAsB[*meta.DiffResult](ctx, s, bucket, meta.DiffQuery{Bucket: bucket, Prefix: prefix, After: after, Max: max})
	var rr *meta.RemoteRead
	if errors.As(err, &rr) {
		return s.diffMerged(ctx, bucket, rr, prefix, after, max)
	}
	return res, err
}

// SetBucketCORS replaces a bucket's CORS rules; no rules deletes them.
func (s *Service) SetBucketCORS(ctx context.Context, bucket string, rules []meta.CORSRule) error {
	_, err := s.proposeB(ctx, bucket, &meta.SetBucketCORS{Bucket: bucket, Rules: rules})
	return err
}

// BucketCORS returns a bucket's CORS rules, nil when it has none.
func (s *Service) BucketCORS(ctx context.Context, bucket string) ([]meta.CORSRule, error) {
	if !ValidBucketName(bucket) {
		return nil, fmt.Errorf("%w: %q", meta.ErrNoSuchBucket, bucket)
	}
	return readAsB[[]meta.CORSRule](ctx, s, bucket, meta.BucketCORSQuery{Bucket: bucket})
}

package s3api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// The admin API: JSON under /_forkstore/v1/, signed with SigV4 like S3
// requests (same keys, same Authenticator). Errors are
// {"code","message"} with the HTTP status of the matching S3 error.
// Versions are JSON strings (uint64 does not fit a JSON number exactly).
// docs/admin-api.md documents the shapes.
//
//	POST   buckets/{b}/snapshots            {"name"}             -> snapshot
//	GET    buckets/{b}/snapshots                                 -> {"snapshots": [snapshot]}
//	DELETE buckets/{b}/snapshots/{version}                       -> {"bucket","version","deleted"}
//	POST   buckets/{b}/forks                {"name","snapshot"}  -> bucket
//	POST   buckets/{b}/snapshots/{ref}/mount {"name"}            -> bucket (a read-only snapshot view)
//	POST   buckets/{view}/unmount                                -> {"bucket","unmounted"}
//	GET    buckets/{b}/forks                                     -> {"forks": [ref]}
//	GET    buckets/{b}/lineage                                   -> lineage
//	GET    buckets/{b}/diff?continuation-token=&max-keys=        -> diff page
//	POST   buckets/{b}/forks/batch  {"count","prefix","snapshot","with_keys","ttl"} -> batch
//	POST   buckets/{fork}/renew     {"ttl"}                      -> bucket
//	POST   buckets/{fork}/merge     {"strategy","dry_run","delete_fork"} -> merge report
//	POST   keys                     {"buckets","prefix","read_only","ttl","allow_forks","fork_prefix"} -> key with its secret
//	GET    keys?bucket=                                          -> {"keys": [key]}
//	DELETE keys/{id}                                             -> {"access_key_id","deleted"}
//
// (admin_sandbox.go has the keys, batches, leases and merges.)

// maxAdminBody caps admin request bodies.
const maxAdminBody = 64 << 10

// errAdminBodyTooLarge answers an admin body beyond maxAdminBody (declared
// or read).
var errAdminBodyTooLarge = ErrInvalidRequest.WithMessage("The request body is too large.")

var errAdminNotFound = &APIError{"NotFound", "No such admin API endpoint.", http.StatusNotFound}

// errAdminUnsignedPayload refuses an admin call whose body its signature
// does not cover (UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER,
// SigV2, a presigned URL without a payload hash).
var errAdminUnsignedPayload = &APIError{"InvalidRequest", "Admin API calls with a body must sign it: x-amz-content-sha256 must be the body's SHA-256 or a signed aws-chunked payload, not UNSIGNED-PAYLOAD.", http.StatusBadRequest}

// adminError is the JSON error body.
type adminError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SnapshotJSON is a snapshot in the admin API.
type SnapshotJSON struct {
	Bucket  string `json:"bucket"`
	Version string `json:"version"`
	Name    string `json:"name,omitempty"`
	Created string `json:"created"`
}

// BucketJSON is a bucket in the admin API.
type BucketJSON struct {
	Name         string   `json:"name"`
	Region       string   `json:"region"`
	Created      string   `json:"created"`
	Versioning   string   `json:"versioning,omitempty"`
	Parent       *RefJSON `json:"parent,omitempty"`
	IsForkParent bool     `json:"is_fork_parent"`
	// Expires is the fork's lease (omitted without one).
	Expires string `json:"expires,omitempty"`
	// SnapshotView says the bucket is a read-only snapshot view (its
	// parent is the bucket and snapshot it shows).
	SnapshotView bool `json:"snapshot_view,omitempty"`
}

// RefJSON names a related bucket and the version it relates at.
type RefJSON struct {
	Bucket   string `json:"bucket"` // "" when that bucket was deleted
	BucketID string `json:"bucket_id"`
	Version  string `json:"version"`
	Expires  string `json:"expires,omitempty"` // the bucket's lease, if any
}

// LineageJSON is a bucket's place in the fork tree.
type LineageJSON struct {
	Bucket    BucketJSON     `json:"bucket"`
	Parent    *RefJSON       `json:"parent"`
	Snapshots []SnapshotJSON `json:"snapshots"`
	Forks     []RefJSON      `json:"forks"`
}

// DiffEntryJSON is one key a fork changed against its base.
type DiffEntryJSON struct {
	Key          string `json:"key"`
	Change       string `json:"change"`
	Version      string `json:"version,omitempty"`
	Size         *int64 `json:"size,omitempty"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// DiffJSON is a page of a fork's diff.
type DiffJSON struct {
	Bucket                string          `json:"bucket"`
	Entries               []DiffEntryJSON `json:"entries"`
	IsTruncated           bool            `json:"is_truncated"`
	NextContinuationToken string          `json:"next_continuation_token,omitempty"`
}

func jsonTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

func snapshotJSON(bucket string, sn *meta.Snapshot) SnapshotJSON {
	return SnapshotJSON{Bucket: bucket, Version: u64(sn.Version), Name: sn.Name, Created: jsonTime(sn.Created)}
}

func (s *Server) bucketJSON(b *meta.Bucket) BucketJSON {
	out := BucketJSON{
		Name: b.Name, Region: s.bucketRegion(b), Created: jsonTime(b.Created),
		Versioning: b.Versioning.String(), IsForkParent: b.IsForkParent, SnapshotView: b.View,
	}
	if b.Parent != nil {
		out.Parent = &RefJSON{Bucket: b.ParentName, BucketID: u64(b.Parent.BucketID), Version: u64(b.Parent.Version)}
	}
	if b.Expires != 0 {
		out.Expires = jsonTime(b.Expires)
	}
	return out
}

func refJSON(r meta.LineageRef) RefJSON {
	out := RefJSON{Bucket: r.Name, BucketID: u64(r.BucketID), Version: u64(r.Version)}
	if r.Expires != 0 {
		out.Expires = jsonTime(r.Expires)
	}
	return out
}

// admin dispatches /_forkstore/v1/ requests.
func (s *Server) admin(r *request) (*response, error) {
	seg := strings.Split(strings.Trim(r.route.AdminPath, "/"), "/")
	if len(seg) >= 2 && (seg[0] == "cluster" || seg[0] == "node") {
		return s.adminCluster(r, seg)
	}
	if len(seg) >= 1 && seg[0] == "keys" {
		return s.adminKeys(r, seg)
	}
	if len(seg) >= 1 && seg[0] == "users" {
		return s.adminUsers(r, seg)
	}
	if len(seg) < 3 || seg[0] != "buckets" || seg[1] == "" {
		return nil, errAdminNotFound
	}
	bucket := seg[1]
	r.route.Bucket = bucket
	switch {
	case len(seg) == 3 && seg[2] == "snapshots":
		switch r.method {
		case http.MethodPost:
			return s.adminCreateSnapshot(r, bucket)
		case http.MethodGet:
			return s.adminListSnapshots(r, bucket)
		}
	case len(seg) == 4 && seg[2] == "snapshots" && seg[3] != "":
		if r.method == http.MethodDelete {
			return s.adminDeleteSnapshot(r, bucket, seg[3])
		}
	case len(seg) == 5 && seg[2] == "snapshots" && seg[3] != "" && seg[4] == "mount":
		if r.method == http.MethodPost {
			return s.adminMountView(r, bucket, seg[3])
		}
	case len(seg) == 3 && seg[2] == "unmount":
		if r.method == http.MethodPost {
			return s.adminUnmountView(r, bucket)
		}
	case len(seg) == 3 && seg[2] == "forks":
		switch r.method {
		case http.MethodPost:
			return s.adminCreateFork(r, bucket)
		case http.MethodGet:
			return s.adminListForks(r, bucket)
		}
	case len(seg) == 3 && seg[2] == "lineage":
		if r.method == http.MethodGet {
			return s.adminLineage(r, bucket)
		}
	case len(seg) == 3 && seg[2] == "diff":
		if r.method == http.MethodGet {
			return s.adminDiff(r, bucket)
		}
	case len(seg) == 4 && seg[2] == "forks" && seg[3] == "batch":
		if r.method == http.MethodPost {
			return s.adminCreateForks(r, bucket)
		}
	case len(seg) == 3 && seg[2] == "renew":
		if r.method == http.MethodPost {
			return s.adminRenew(r, bucket)
		}
	case len(seg) == 3 && seg[2] == "merge":
		if r.method == http.MethodPost {
			return s.adminMerge(r, bucket)
		}
	default:
		return nil, errAdminNotFound
	}
	return nil, ErrMethodNotAllowed
}

// readJSON decodes an optional JSON request body into v.
func (r *request) readJSON(v any) error {
	data, err := io.ReadAll(io.LimitReader(r.auth.Body, maxAdminBody+1))
	if err != nil {
		return err
	}
	if len(data) > maxAdminBody {
		return errAdminBodyTooLarge
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return invalidRequest("The request body is not valid JSON: " + err.Error())
	}
	return nil
}

func (s *Server) adminCreateSnapshot(r *request, bucket string) (*response, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := r.readJSON(&in); err != nil {
		return nil, err
	}
	sn, err := s.svc.CreateSnapshot(r.ctx, bucket, in.Name)
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusCreated, json: snapshotJSON(bucket, sn)}, nil
}

func (s *Server) adminListSnapshots(r *request, bucket string) (*response, error) {
	snaps, err := s.svc.ListSnapshots(r.ctx, bucket)
	if err != nil {
		return nil, err
	}
	out := struct {
		Snapshots []SnapshotJSON `json:"snapshots"`
	}{Snapshots: []SnapshotJSON{}}
	for i := range snaps {
		out.Snapshots = append(out.Snapshots, snapshotJSON(bucket, &snaps[i]))
	}
	return &response{json: out}, nil
}

func (s *Server) adminDeleteSnapshot(r *request, bucket, ref string) (*response, error) {
	v, err := s.svc.ResolveSnapshot(r.ctx, bucket, ref)
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeleteSnapshot(r.ctx, bucket, v); err != nil {
		return nil, err
	}
	return &response{json: map[string]any{"bucket": bucket, "version": u64(v), "deleted": true}}, nil
}

func (s *Server) adminCreateFork(r *request, source string) (*response, error) {
	var in struct {
		Name     string `json:"name"`
		Snapshot string `json:"snapshot"`
		TTL      string `json:"ttl"`
	}
	if err := r.readJSON(&in); err != nil {
		return nil, err
	}
	if !gateway.ValidBucketName(in.Name) {
		return nil, errInvalidBucketName.WithMessage("The fork name is not a valid bucket name.")
	}
	ttl, err := jsonTTL(in.TTL)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeAdminFork(r, source, in.Snapshot, in.Name); err != nil {
		return nil, err
	}
	b, err := s.svc.CreateBucket(r.ctx, gateway.CreateBucketInput{Name: in.Name, Region: s.region, ForkSource: source, ForkSnapshot: in.Snapshot, TTL: ttl,
		Owner: adminForkOwner(r)})
	if err != nil {
		if errors.Is(err, meta.ErrBucketExists) {
			return nil, errBucketAlreadyExists
		}
		return nil, err
	}
	if b.ParentName == "" {
		b.ParentName = source
	}
	return &response{status: http.StatusCreated, json: s.bucketJSON(b)}, nil
}

// adminMountView mounts a snapshot as a read-only bucket (a snapshot view).
func (s *Server) adminMountView(r *request, source, snapshot string) (*response, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := r.readJSON(&in); err != nil {
		return nil, err
	}
	if !gateway.ValidBucketName(in.Name) {
		return nil, errInvalidBucketName.WithMessage("The view name is not a valid bucket name.")
	}
	b, err := s.svc.MountView(r.ctx, source, snapshot, in.Name)
	if err != nil {
		if errors.Is(err, meta.ErrBucketExists) {
			return nil, errBucketAlreadyExists
		}
		return nil, err
	}
	if b.ParentName == "" {
		b.ParentName = source
	}
	return &response{status: http.StatusCreated, json: s.bucketJSON(b)}, nil
}

// adminUnmountView removes a snapshot view.
func (s *Server) adminUnmountView(r *request, name string) (*response, error) {
	if err := s.svc.UnmountView(r.ctx, name); err != nil {
		return nil, err
	}
	return &response{json: map[string]any{"bucket": name, "unmounted": true}}, nil
}

func (s *Server) adminListForks(r *request, bucket string) (*response, error) {
	l, err := s.svc.Lineage(r.ctx, bucket)
	if err != nil {
		return nil, err
	}
	out := struct {
		Forks []RefJSON `json:"forks"`
	}{Forks: []RefJSON{}}
	for _, f := range l.Forks {
		out.Forks = append(out.Forks, refJSON(f))
	}
	return &response{json: out}, nil
}

func (s *Server) adminLineage(r *request, bucket string) (*response, error) {
	l, err := s.svc.Lineage(r.ctx, bucket)
	if err != nil {
		return nil, err
	}
	out := LineageJSON{Bucket: s.bucketJSON(&l.Bucket), Snapshots: []SnapshotJSON{}, Forks: []RefJSON{}}
	if l.Parent != nil {
		p := refJSON(*l.Parent)
		out.Parent = &p
	}
	for i := range l.Snapshots {
		out.Snapshots = append(out.Snapshots, snapshotJSON(bucket, &l.Snapshots[i]))
	}
	for _, f := range l.Forks {
		out.Forks = append(out.Forks, refJSON(f))
	}
	return &response{json: out}, nil
}

func (s *Server) adminDiff(r *request, bucket string) (*response, error) {
	after := ""
	if r.query.Has("continuation-token") {
		a, ok := decodeToken(r.query.Get("continuation-token"))
		if !ok {
			return nil, invalidArg("The continuation token provided is incorrect", "continuation-token", r.query.Get("continuation-token"))
		}
		after = a
	}
	max := maxListKeys
	if v := r.query.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, invalidArg("Provided max-keys not an integer or within integer range", "max-keys", v)
		}
		max = min(n, maxListKeys)
	}
	// A key limited to a prefix sees only the changes under it.
	res, err := s.svc.Diff(r.ctx, bucket, r.principal.Prefix, after, max)
	if err != nil {
		return nil, err
	}
	out := DiffJSON{Bucket: bucket, Entries: []DiffEntryJSON{}, IsTruncated: res.IsTruncated}
	for _, e := range res.Entries {
		d := DiffEntryJSON{Key: e.Key, Change: e.Change}
		if o := e.Object; o != nil {
			size := o.Size
			d.Version, d.Size, d.ETag, d.LastModified = versionID(o), &size, o.ETag, jsonTime(o.LastModified)
		}
		out.Entries = append(out.Entries, d)
	}
	if res.IsTruncated {
		out.NextContinuationToken = encodeToken(res.Next)
	}
	return &response{json: out}, nil
}

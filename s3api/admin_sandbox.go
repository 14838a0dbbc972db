package s3api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// The admin API of agent sandboxes: scoped access keys, batches of forks
// with their keys, fork leases and merges (docs/admin-api.md). Only the
// root key reaches these handlers (authz.go).

// KeyJSON is an access key. The secret is only in the answer that creates
// it.
type KeyJSON struct {
	AccessKeyID     string   `json:"access_key_id"`
	SecretAccessKey string   `json:"secret_access_key,omitempty"`
	Buckets         []string `json:"buckets"`
	Prefix          string   `json:"prefix,omitempty"`
	ReadOnly        bool     `json:"read_only"`
	Created         string   `json:"created"`
	Expires         string   `json:"expires,omitempty"`
	// AllowForks: the key may fork its buckets, into names starting with
	// ForkPrefix.
	AllowForks bool   `json:"allow_forks,omitempty"`
	ForkPrefix string `json:"fork_prefix,omitempty"`
	// Sealing (lists only) says which root password seals the secret:
	// "current", "previous" (being re-sealed) or "unknown" (unusable).
	Sealing string `json:"sealing,omitempty"`
}

func keyJSON(k *meta.AccessKey, secret string) KeyJSON {
	out := KeyJSON{AccessKeyID: k.ID, SecretAccessKey: secret, Buckets: []string{}, Prefix: k.Prefix,
		ReadOnly: k.ReadOnly, Created: jsonTime(k.Created), AllowForks: k.AllowForks, ForkPrefix: k.ForkPrefix}
	for _, b := range k.Buckets {
		out.Buckets = append(out.Buckets, b.Name)
	}
	if k.Expires != 0 {
		out.Expires = jsonTime(k.Expires)
	}
	return out
}

// ForkGrantJSON is one fork of a batch, with its key when asked for.
type ForkGrantJSON struct {
	Bucket          string `json:"bucket"`
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	Expires         string `json:"expires,omitempty"`
}

// ForkBatchJSON is a created batch of forks.
type ForkBatchJSON struct {
	Source  string          `json:"source"`
	Version string          `json:"version"` // the base every fork shares
	Forks   []ForkGrantJSON `json:"forks"`
}

// MergeJSON is what a merge did (or would do, dry).
type MergeJSON struct {
	Fork          string   `json:"fork"`
	Parent        string   `json:"parent"`
	Strategy      string   `json:"strategy"`
	DryRun        bool     `json:"dry_run"`
	Version       string   `json:"version"` // the merge's version (dry: the state it was planned on)
	Base          string   `json:"base"`
	Since         string   `json:"since,omitempty"`
	Puts          int      `json:"puts"`
	Deletes       int      `json:"deletes"`
	Kept          int      `json:"kept"`
	ConflictCount int      `json:"conflict_count"`
	Conflicts     []string `json:"conflicts"`
	// Refused says the merge changed nothing (strategy fail with
	// conflicts); for a dry run, that it would.
	Refused     bool `json:"refused"`
	ForkDeleted bool `json:"fork_deleted"`
}

// mergeConflictJSON is the 409 answer of a merge refused for conflicts.
type mergeConflictJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	MergeJSON
}

// readStrictJSON decodes a JSON body into v, refusing unknown fields (a
// misspelt option must not be ignored). An empty body leaves v as is.
func (r *request) readStrictJSON(v any) error {
	data, err := io.ReadAll(io.LimitReader(r.auth.Body, maxAdminBody+1))
	if err != nil {
		return err
	}
	if len(data) > maxAdminBody {
		return invalidRequest("The request body is too large.")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidRequest("The request body is not valid JSON for this endpoint: " + err.Error())
	}
	if dec.More() {
		return invalidRequest("The request body has data after the JSON object.")
	}
	return nil
}

// jsonTTL parses a "ttl" field ("" = none).
func jsonTTL(v string) (time.Duration, error) {
	if strings.TrimSpace(v) == "" {
		return 0, nil
	}
	d, err := gateway.ParseTTL(v)
	if err != nil || d == 0 {
		return 0, invalidArg("ttl must be a duration such as 90m, 2h or 7d, from 1s to 10 years.", "ttl", v)
	}
	return d, nil
}

// adminKeys serves keys and keys/{id}.
func (s *Server) adminKeys(r *request, seg []string) (*response, error) {
	switch {
	case len(seg) == 1:
		switch r.method {
		case http.MethodPost:
			return s.adminCreateKey(r)
		case http.MethodGet:
			return s.adminListKeys(r)
		}
	case len(seg) == 2 && seg[1] != "":
		if r.method == http.MethodDelete {
			if err := s.svc.DeleteKey(r.ctx, seg[1]); err != nil {
				return nil, err
			}
			return &response{json: map[string]any{"access_key_id": seg[1], "deleted": true}}, nil
		}
	default:
		return nil, errAdminNotFound
	}
	return nil, ErrMethodNotAllowed
}

func (s *Server) adminCreateKey(r *request) (*response, error) {
	var in struct {
		Buckets    []string `json:"buckets"`
		Prefix     string   `json:"prefix"`
		ReadOnly   bool     `json:"read_only"`
		TTL        string   `json:"ttl"`
		AllowForks bool     `json:"allow_forks"`
		ForkPrefix string   `json:"fork_prefix"`
	}
	if err := r.readStrictJSON(&in); err != nil {
		return nil, err
	}
	if len(in.Buckets) == 0 {
		return nil, invalidArg("A key names at least one bucket.", "buckets", "")
	}
	for _, b := range in.Buckets {
		if !gateway.ValidBucketName(b) {
			return nil, errInvalidBucketName.WithMessage("Not a valid bucket name: " + b)
		}
	}
	ttl, err := jsonTTL(in.TTL)
	if err != nil {
		return nil, err
	}
	ki := gateway.KeyInput{Buckets: in.Buckets, Prefix: in.Prefix, ReadOnly: in.ReadOnly, TTL: ttl,
		AllowForks: in.AllowForks, ForkPrefix: in.ForkPrefix}
	var k *gateway.NewKey
	if userMain(r.principal) {
		// A user's scoped key, of buckets the user owns.
		k, err = s.svc.CreateUserKey(r.ctx, r.principal.User, ki)
	} else {
		k, err = s.svc.CreateKey(r.ctx, ki)
	}
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusCreated, json: keyJSON(&k.Key, k.Secret)}, nil
}

func (s *Server) adminListKeys(r *request) (*response, error) {
	bucket := r.query.Get("bucket")
	ks, err := s.svc.ListKeys(r.ctx, bucket)
	if err != nil {
		return nil, err
	}
	out := struct {
		Keys []KeyJSON `json:"keys"`
	}{Keys: []KeyJSON{}}
	for i := range ks {
		kj := keyJSON(&ks[i].AccessKey, "")
		kj.Sealing = ks[i].Sealing
		out.Keys = append(out.Keys, kj)
	}
	return &response{json: out}, nil
}

func (s *Server) adminCreateForks(r *request, source string) (*response, error) {
	var in struct {
		Count    *int   `json:"count"`
		Prefix   string `json:"prefix"`
		Snapshot string `json:"snapshot"`
		WithKeys bool   `json:"with_keys"`
		TTL      string `json:"ttl"`
		// KeysAllowForks lets the key of fork F fork it into names
		// starting with "F-".
		KeysAllowForks bool `json:"keys_allow_forks"`
	}
	if err := r.readStrictJSON(&in); err != nil {
		return nil, err
	}
	if in.Count == nil {
		return nil, invalidArg("count (the number of forks) is required.", "count", "")
	}
	if in.Prefix == "" {
		return nil, invalidArg("prefix (the forks are named prefix1, prefix2, ...) is required.", "prefix", "")
	}
	if in.KeysAllowForks && !in.WithKeys {
		return nil, invalidArg("keys_allow_forks needs with_keys.", "keys_allow_forks", "true")
	}
	if in.KeysAllowForks && userMain(r.principal) {
		// As for the scoped keys a user makes (CreateUserKey).
		return nil, invalidArg("A user's sandbox keys cannot be given the permission to fork.", "keys_allow_forks", "true")
	}
	ttl, err := jsonTTL(in.TTL)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeAdminFork(r, source, in.Snapshot, in.Prefix); err != nil {
		return nil, err
	}
	batch, err := s.svc.CreateForks(r.ctx, gateway.CreateForksInput{
		Source: source, Snapshot: in.Snapshot, Count: *in.Count, Prefix: in.Prefix,
		WithKeys: in.WithKeys, KeysAllowForks: in.KeysAllowForks, TTL: ttl, Region: s.region,
		Owner: adminForkOwner(r),
	})
	if err != nil {
		if errors.Is(err, meta.ErrBucketExists) {
			return nil, errBucketAlreadyExists.WithMessage("A fork name of the batch is taken; no fork was created.")
		}
		return nil, err
	}
	out := ForkBatchJSON{Source: source, Version: u64(batch.Base), Forks: []ForkGrantJSON{}}
	for _, f := range batch.Forks {
		g := ForkGrantJSON{Bucket: f.Bucket.Name, AccessKeyID: f.KeyID, SecretAccessKey: f.Secret}
		if f.Bucket.Expires != 0 {
			g.Expires = jsonTime(f.Bucket.Expires)
		}
		out.Forks = append(out.Forks, g)
	}
	return &response{status: http.StatusCreated, json: out}, nil
}

func (s *Server) adminRenew(r *request, fork string) (*response, error) {
	var in struct {
		TTL string `json:"ttl"`
	}
	if err := r.readStrictJSON(&in); err != nil {
		return nil, err
	}
	ttl, err := jsonTTL(in.TTL)
	if err != nil {
		return nil, err
	}
	if ttl == 0 {
		return nil, invalidArg("ttl (the new lease, from now) is required.", "ttl", "")
	}
	if err := s.checkUserOwns(r, fork); err != nil {
		return nil, err
	}
	b, err := s.svc.RenewFork(r.ctx, fork, ttl)
	if err != nil {
		return nil, err
	}
	return &response{json: s.bucketJSON(b)}, nil
}

func (s *Server) adminMerge(r *request, fork string) (*response, error) {
	var in struct {
		Strategy   string `json:"strategy"`
		DryRun     bool   `json:"dry_run"`
		DeleteFork bool   `json:"delete_fork"`
	}
	if err := r.readStrictJSON(&in); err != nil {
		return nil, err
	}
	strategy, ok := meta.ParseMergeStrategy(in.Strategy)
	if !ok {
		return nil, invalidArg("strategy must be fail, fork-wins or parent-wins.", "strategy", in.Strategy)
	}
	rep, version, err := s.svc.MergeFork(r.ctx, gateway.MergeInput{Fork: fork, Strategy: strategy, DeleteFork: in.DeleteFork, DryRun: in.DryRun})
	if err != nil && !(errors.Is(err, meta.ErrMergeConflict) && rep != nil) {
		return nil, err
	}
	out := MergeJSON{
		Fork: rep.Fork, Parent: rep.Parent, Strategy: strategy.String(), DryRun: in.DryRun, Version: u64(version),
		Base: u64(rep.Base), Puts: rep.Puts, Deletes: rep.Deletes, Kept: rep.Kept,
		ConflictCount: rep.ConflictCount, Conflicts: rep.Conflicts, ForkDeleted: rep.ForkDeleted,
	}
	if out.Conflicts == nil {
		out.Conflicts = []string{}
	}
	out.Refused = strategy == meta.MergeFail && rep.ConflictCount > 0
	if rep.Since != 0 {
		out.Since = u64(rep.Since)
	}
	if err != nil {
		// Nothing changed: 409 with the conflicting keys.
		r.errCode = errMergeConflict.Code
		return &response{status: errMergeConflict.Status, json: mergeConflictJSON{
			Code: errMergeConflict.Code, Message: errMergeConflict.Message + " Nothing was changed; see conflicts, or merge with strategy fork-wins or parent-wins.",
			MergeJSON: out,
		}}, nil
	}
	return &response{json: out}, nil
}

package console

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// countBudget bounds the objects (or changed keys) an overview page
// counts in all, so that the page stays fast however many buckets it
// shows: each bucket's count is bounded by countBudget / buckets (between
// minCount and countLimit). A variable for tests.
var countBudget = 10_000

// countBound is the bound of each of n counts on one page.
func countBound(n int) int {
	if n <= 0 {
		return countLimit
	}
	return max(minCount, min(countLimit, countBudget/n))
}

// Page sizes and bounds.
const (
	pageSize = 100
	// countLimit bounds the objects counted per bucket and the changed
	// keys counted per fork on the overview pages ("1000+" beyond).
	countLimit = 1000
	// minCount is the least a bucket's count is bounded to.
	minCount = 10
	// maxTreeNodes bounds the buckets of a drawn fork tree.
	maxTreeNodes = 500
	// maxUpload is the largest file uploaded from the browser.
	maxUpload = 64 << 20
)

// consoleError is an error shown to the user with its status.
type consoleError struct {
	status int
	msg    string
}

func (e *consoleError) Error() string { return e.msg }

func denied(what string) error {
	return &consoleError{http.StatusForbidden, "Access denied: this key may not " + what + "."}
}

func badInput(msg string) error { return &consoleError{http.StatusBadRequest, msg} }

// errorStatus maps an error to a status and a message fit to show.
func errorStatus(err error) (int, string) {
	var ce *consoleError
	switch {
	case errors.As(err, &ce):
		return ce.status, ce.msg
	case errors.Is(err, meta.ErrNoSuchBucket):
		return http.StatusNotFound, "No such bucket."
	case errors.Is(err, meta.ErrNoSuchKey), errors.Is(err, meta.ErrNoSuchVersion):
		return http.StatusNotFound, "No such object."
	case errors.Is(err, meta.ErrNoSuchSnapshot), errors.Is(err, gateway.ErrInvalidSnapshot):
		return http.StatusNotFound, "No such snapshot."
	case errors.Is(err, meta.ErrMethodNotAllowed):
		return http.StatusNotFound, "That version is a delete marker."
	case errors.Is(err, meta.ErrVersionOutOfRetention):
		return http.StatusNotFound, "That version is no longer retained."
	case errors.Is(err, meta.ErrNotAFork):
		return http.StatusBadRequest, "The bucket is not a fork."
	case errors.Is(err, meta.ErrMergeInProgress):
		return http.StatusConflict, "A merge into or from this bucket is under way; try again."
	case errors.Is(err, meta.ErrNoSuchAccessKey):
		return http.StatusNotFound, "No such access key."
	case errors.Is(err, gateway.ErrInvalidKey), errors.Is(err, gateway.ErrKeyTooLong), errors.Is(err, gateway.ErrInvalidBucketName),
		errors.Is(err, gateway.ErrInvalidLease), errors.Is(err, meta.ErrReadOnlyView), errors.Is(err, meta.ErrObjectLocked),
		errors.Is(err, meta.ErrLeaseExpired), errors.Is(err, meta.ErrKeyLimit), errors.Is(err, gateway.ErrEntityTooLarge):
		return http.StatusBadRequest, strings.TrimPrefix(strings.TrimPrefix(err.Error(), "gateway: "), "meta: ")
	case errors.Is(err, gateway.ErrUnavailable):
		return http.StatusServiceUnavailable, "The service is unavailable; try again."
	}
	return http.StatusInternalServerError, "Internal error."
}

// allow asks Access whether the signed-in key may do op.
func (q *req) allow(c *Console, op, bucket, key string) bool {
	return c.access.Authorize(q.ctx, q.p, op, bucket, key) == nil
}

// bucketRow is a line of the buckets page.
type bucketRow struct {
	Name       string
	Depth      int
	Objects    string
	Size       int64
	SizeMore   bool
	Versioning string
	Owner      string
	Created    int64
	Expires    int64
	Fork       bool
	View       bool
}

func (c *Console) buckets(q *req) error {
	all, err := c.svc.ListBuckets(q.ctx)
	if err != nil {
		return err
	}
	byName := map[string]*meta.Bucket{}
	children := map[string][]string{}
	var roots []string
	visible := map[string]bool{}
	for i := range all {
		b := &all[i]
		byName[b.Name] = b
		if q.allow(c, "HeadBucket", b.Name, "") {
			visible[b.Name] = true
		}
	}
	for i := range all {
		b := &all[i]
		if !visible[b.Name] {
			continue
		}
		if b.ParentName != "" && visible[b.ParentName] {
			children[b.ParentName] = append(children[b.ParentName], b.Name)
		} else {
			roots = append(roots, b.Name)
		}
	}
	sort.Strings(roots)
	owner := c.svc.Owner()
	bound := countBound(len(visible))
	var rows []bucketRow
	var add func(name string, depth int)
	add = func(name string, depth int) {
		b := byName[name]
		row := bucketRow{Name: name, Depth: depth, Versioning: b.Versioning.String(), Owner: owner, Created: b.Created,
			Expires: b.Expires, Fork: b.Parent != nil, View: b.View}
		row.Objects, row.Size, row.SizeMore = c.count(q, name, bound)
		rows = append(rows, row)
		kids := children[name]
		sort.Strings(kids)
		for _, k := range kids {
			add(k, depth+1)
		}
	}
	for _, r := range roots {
		add(r, 0)
	}
	q.data["Buckets"] = rows
	c.render(q, "buckets")
	return nil
}

// count returns how many objects the key may list in bucket (up to
// bound) and their size.
func (c *Console) count(q *req, bucket string, bound int) (string, int64, bool) {
	prefix := ""
	if !q.p.Root {
		prefix = q.p.Prefix
	}
	if !q.allow(c, "ListObjectsV2", bucket, prefix) {
		return "–", 0, false
	}
	res, err := c.svc.ListObjects(q.ctx, bucket, meta.ListOptions{Prefix: prefix, MaxKeys: bound})
	if err != nil {
		return "?", 0, false
	}
	var size int64
	for _, o := range res.Objects {
		size += o.Size
	}
	n := strconv.Itoa(len(res.Objects))
	if res.IsTruncated {
		n += "+"
	}
	return n, size, res.IsTruncated
}

func (c *Console) lineage(q *req) error {
	name := q.r.URL.Query().Get("bucket")
	if !q.allow(c, "Lineage", name, "") {
		return denied("read this bucket's lineage")
	}
	l, err := c.svc.Lineage(q.ctx, name)
	if err != nil {
		return err
	}
	// Climb to the topmost ancestor the key may read.
	top := name
	for hops := 0; hops < 64; hops++ {
		tl, err := c.svc.Lineage(q.ctx, top)
		if err != nil || tl.Parent == nil || tl.Parent.Name == "" || !q.allow(c, "Lineage", tl.Parent.Name, "") {
			break
		}
		top = tl.Parent.Name
	}
	count := 0
	var forks []*LineageNode
	root, err := c.tree(q, top, 0, name, &count, &forks)
	if err != nil {
		return err
	}
	c.countChanges(q, forks)
	var marks []SnapshotMark
	for _, s := range l.Snapshots {
		marks = append(marks, SnapshotMark{Name: s.Name, Version: s.Version})
	}
	q.data["Bucket"] = name
	q.data["Lineage"] = l
	q.data["IsFork"] = l.Parent != nil
	q.data["Tree"] = LineageSVG(root, c.cfg.Now())
	q.data["Timeline"] = TimelineSVG(marks)
	q.data["Truncated"] = count >= maxTreeNodes
	c.render(q, "lineage")
	return nil
}

// countChanges counts the keys each fork changed against its parent,
// within one page's budget.
func (c *Console) countChanges(q *req, forks []*LineageNode) {
	prefix := ""
	if !q.p.Root {
		prefix = q.p.Prefix
	}
	bound := countBound(len(forks))
	for _, n := range forks {
		if d, err := c.svc.Diff(q.ctx, n.Name, prefix, "", bound); err == nil {
			n.Changed, n.ChangedMore = len(d.Entries), d.IsTruncated
		}
	}
}

// tree gathers the fork tree under name, as far as the key may read it;
// forks gets the nodes whose changes the key may count.
func (c *Console) tree(q *req, name string, forkPoint uint64, current string, count *int, forks *[]*LineageNode) (*LineageNode, error) {
	*count++
	l, err := c.svc.Lineage(q.ctx, name)
	if err != nil {
		return nil, err
	}
	n := &LineageNode{Name: name, ForkPoint: forkPoint, Expires: l.Bucket.Expires, Changed: -1, Snapshots: len(l.Snapshots), Current: name == current}
	if l.Parent != nil && forkPoint == 0 {
		n.ForkPoint = l.Parent.Version
	}
	if n.ForkPoint != 0 && q.allow(c, "Diff", name, "") {
		*forks = append(*forks, n)
	}
	for _, f := range l.Forks {
		if f.Name == "" || *count >= maxTreeNodes || !q.allow(c, "Lineage", f.Name, "") {
			n.Hidden++
			continue
		}
		child, err := c.tree(q, f.Name, f.Version, current, count, forks)
		if err != nil {
			if errors.Is(err, meta.ErrNoSuchBucket) {
				continue // deleted meanwhile
			}
			return nil, err
		}
		child.Expires = f.Expires
		n.Children = append(n.Children, child)
	}
	return n, nil
}

// diffRow is a key of a fork's diff.
type diffRow struct {
	Key      string
	Change   string
	Size     int64
	Modified int64
	Has      bool
}

func (c *Console) diff(q *req) error {
	return c.showDiff(q, nil)
}

func (c *Console) showDiff(q *req, report map[string]any) error {
	v := q.r.URL.Query()
	if q.r.Method == http.MethodPost {
		v = q.r.PostForm
	}
	name := v.Get("bucket")
	if !q.allow(c, "Diff", name, "") {
		return denied("read this fork's diff")
	}
	prefix := v.Get("prefix")
	if !q.p.Root && !strings.HasPrefix(prefix, q.p.Prefix) {
		prefix = q.p.Prefix
	}
	after := v.Get("after")
	l, err := c.svc.Lineage(q.ctx, name)
	if err != nil {
		return err
	}
	if l.Parent == nil {
		return badInput("The bucket is not a fork: it has no parent to compare with.")
	}
	d, err := c.svc.Diff(q.ctx, name, prefix, after, pageSize)
	if err != nil {
		return err
	}
	var rows []diffRow
	for _, e := range d.Entries {
		r := diffRow{Key: e.Key, Change: e.Change}
		if e.Object != nil {
			r.Size, r.Modified, r.Has = e.Object.Size, e.Object.LastModified, true
		}
		rows = append(rows, r)
	}
	q.data["Bucket"] = name
	q.data["Parent"] = l.Parent.Name
	q.data["ForkPoint"] = l.Parent.Version
	q.data["FilterPrefix"] = prefix
	q.data["Entries"] = rows
	if d.IsTruncated {
		q.data["Next"] = d.Next
	}
	q.data["After"] = after
	q.data["CanMerge"] = q.allow(c, "Admin", name, "")
	q.data["Report"] = report
	c.render(q, "diff")
	return nil
}

// merge runs a merge (or its dry run) with the admin API's use case and
// shows the report with the diff.
func (c *Console) merge(q *req) error {
	name := q.r.PostFormValue("bucket")
	if !q.allow(c, "Admin", name, "") {
		return denied("merge forks (the root key merges)")
	}
	strategy, ok := meta.ParseMergeStrategy(q.r.PostFormValue("strategy"))
	if !ok {
		return badInput("strategy must be fail, fork-wins or parent-wins.")
	}
	dry := q.r.PostFormValue("dry_run") != ""
	rep, version, err := c.svc.MergeFork(q.ctx, gateway.MergeInput{Fork: name, Strategy: strategy, DryRun: dry})
	if err != nil && !(errors.Is(err, meta.ErrMergeConflict) && rep != nil) {
		return err
	}
	report := map[string]any{
		"Fork": rep.Fork, "Parent": rep.Parent, "Strategy": strategy.String(), "DryRun": dry, "Version": version,
		"Base": rep.Base, "Puts": rep.Puts, "Deletes": rep.Deletes, "Kept": rep.Kept,
		"ConflictCount": rep.ConflictCount, "Conflicts": rep.Conflicts,
		"Refused": strategy == meta.MergeFail && rep.ConflictCount > 0,
	}
	if err != nil {
		q.w.WriteHeader(http.StatusConflict)
	}
	return c.showDiff(q, report)
}

// objectRow is an object of a listing.
type objectRow struct {
	Key      string
	Name     string
	Size     int64
	Modified int64
	ETag     string
}

func (c *Console) objects(q *req) error {
	v := q.r.URL.Query()
	name := v.Get("bucket")
	prefix := v.Get("prefix")
	if !q.p.Root && !strings.HasPrefix(prefix, q.p.Prefix) {
		prefix = q.p.Prefix
	}
	if !q.allow(c, "ListObjectsV2", name, prefix) {
		return denied("list this bucket")
	}
	at, err := c.resolveAt(q, name, v.Get("at"))
	if err != nil {
		return err
	}
	res, err := c.svc.ListObjects(q.ctx, name, meta.ListOptions{Prefix: prefix, Delimiter: "/", After: v.Get("after"), MaxKeys: pageSize, At: at})
	if err != nil {
		return err
	}
	if snaps, err := c.svc.ListSnapshots(q.ctx, name); err == nil {
		q.data["Snapshots"] = snaps
	}
	var rows []objectRow
	for _, o := range res.Objects {
		rows = append(rows, objectRow{Key: o.Key, Name: strings.TrimPrefix(o.Key, prefix), Size: o.Size, Modified: o.LastModified, ETag: o.ETag})
	}
	var dirs []objectRow
	for _, p := range res.CommonPrefixes {
		dirs = append(dirs, objectRow{Key: p, Name: strings.TrimPrefix(p, prefix)})
	}
	// The prefix's parents, for the breadcrumb.
	var crumbs []objectRow
	for i := 0; i < len(prefix); {
		j := strings.Index(prefix[i:], "/")
		if j < 0 {
			break
		}
		crumbs = append(crumbs, objectRow{Key: prefix[:i+j+1], Name: prefix[i : i+j+1]})
		i += j + 1
	}
	q.data["Bucket"] = name
	q.data["Path"] = prefix
	q.data["Crumbs"] = crumbs
	q.data["Objects"] = rows
	q.data["Dirs"] = dirs
	if res.IsTruncated {
		q.data["Next"] = res.Next
	}
	q.data["At"] = v.Get("at")
	q.data["CanWrite"] = at == 0 && q.allow(c, "PutObject", name, prefix+"x")
	c.render(q, "objects")
	return nil
}

// download streams an object as an attachment.
func (c *Console) download(q *req) error {
	name, key, _, obj, err := c.objectOf(q, "GetObject")
	if err != nil {
		return err
	}
	rc, err := c.svc.OpenObject(q.ctx, obj, 0, obj.Size)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := q.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	base := key[strings.LastIndex(key, "/")+1:]
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(base))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if _, err := io.Copy(q.w, rc); err != nil {
		c.log.Warn("console download", "bucket", name, "err", err)
	}
	return nil
}

// objectOf reads the object the query names (bucket, key, and the
// optional at and version), once the signed-in key may do op on it.
func (c *Console) objectOf(q *req, op string) (name, key string, at uint64, obj *meta.Object, err error) {
	v := q.r.URL.Query()
	name, key = v.Get("bucket"), v.Get("key")
	if key == "" {
		return "", "", 0, nil, badInput("No key.")
	}
	if !q.allow(c, op, name, key) {
		return "", "", 0, nil, denied("read this object")
	}
	if at, err = c.resolveAt(q, name, v.Get("at")); err != nil {
		return "", "", 0, nil, err
	}
	obj, err = c.svc.HeadObject(q.ctx, gateway.GetObjectInput{Bucket: name, Key: key, At: at, VersionID: v.Get("version")})
	if err != nil {
		return "", "", 0, nil, err
	}
	if obj.DeleteMarker {
		return "", "", 0, nil, meta.ErrNoSuchKey
	}
	return name, key, at, obj, nil
}

// resolveAt resolves a snapshot reference (a name or a version; "" is
// now).
func (c *Console) resolveAt(q *req, bucket, ref string) (uint64, error) {
	if ref == "" {
		return 0, nil
	}
	return c.svc.ResolveSnapshot(q.ctx, bucket, ref)
}

// object shows an object's metadata, tags and versions.
func (c *Console) object(q *req) error {
	name, key, at, obj, err := c.objectOf(q, "HeadObject")
	if err != nil {
		return err
	}
	v := q.r.URL.Query()
	q.data["Bucket"], q.data["Object"], q.data["At"] = name, obj, v.Get("at")
	if q.allow(c, "ListObjectVersions", name, key) {
		res, err := c.svc.ListObjectVersions(q.ctx, name, meta.VersionListOptions{Prefix: key, MaxKeys: pageSize, At: at})
		if err == nil {
			var vs []meta.ObjectVersion
			for _, ov := range res.Versions {
				if ov.Key == key {
					vs = append(vs, ov)
				}
			}
			q.data["Versions"] = vs
		}
	}
	c.render(q, "object")
	return nil
}

// upload stores a file from the browser's form under the listing prefix.
// The form's first field is the CSRF token: nothing of the file is read
// before it is checked.
func (c *Console) upload(q *req) error {
	name := q.r.URL.Query().Get("bucket")
	prefix := q.r.URL.Query().Get("prefix")
	mr, err := q.r.MultipartReader()
	if err != nil {
		return badInput("The upload is not a multipart form.")
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf" {
		return &consoleError{http.StatusForbidden, errCSRF}
	}
	tok, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil || !tokenEqual(string(tok), q.s.csrf) {
		return &consoleError{http.StatusForbidden, errCSRF}
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return badInput("The form has no file.")
		}
		if err != nil {
			return badInput("The upload form could not be read.")
		}
		if part.FormName() != "file" || part.FileName() == "" {
			continue
		}
		key := prefix + part.FileName()
		if !q.allow(c, "PutObject", name, key) {
			return denied("write this object")
		}
		ct := part.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		_, err = c.svc.PutObject(q.ctx, &gateway.PutObjectInput{Bucket: name, Key: key, Body: &capReader{r: part, left: maxUpload}, Size: -1,
			Object: meta.Object{ContentType: ct}})
		if err != nil {
			return err
		}
		http.Redirect(q.w, q.r, Prefix+"objects?"+url.Values{"bucket": {name}, "prefix": {prefix}}.Encode(), http.StatusSeeOther)
		return nil
	}
}

// capReader fails a body longer than left (rather than cutting it short
// and storing a truncated object).
type capReader struct {
	r    io.Reader
	left int64
}

var errUploadTooLarge = &consoleError{http.StatusRequestEntityTooLarge, "The file is larger than 64 MiB: use an S3 client."}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, errUploadTooLarge
	}
	return n, err
}

func (c *Console) deleteObject(q *req) error {
	name, key := q.r.PostFormValue("bucket"), q.r.PostFormValue("key")
	if key == "" {
		return badInput("No key.")
	}
	if !q.allow(c, "DeleteObject", name, key) {
		return denied("delete this object")
	}
	if _, err := c.svc.DeleteObject(q.ctx, name, key, "", meta.DeleteCondition{}, false); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, Prefix+"objects?"+url.Values{"bucket": {name}, "prefix": {q.r.PostFormValue("prefix")}}.Encode(), http.StatusSeeOther)
	return nil
}

// keys lists the scoped keys and the forks with leases (root only, as in
// the admin API).
func (c *Console) keys(q *req) error {
	if !q.allow(c, "Admin", "", "") {
		return denied("manage keys and sandboxes (the root key does)")
	}
	ks, err := c.svc.ListKeys(q.ctx, "")
	if err != nil {
		return err
	}
	all, err := c.svc.ListBuckets(q.ctx)
	if err != nil {
		return err
	}
	var leased []meta.Bucket
	for _, b := range all {
		if b.Expires != 0 {
			leased = append(leased, b)
		}
	}
	q.data["Keys"] = ks
	q.data["Leased"] = leased
	c.render(q, "keys")
	return nil
}

func (c *Console) createKey(q *req) error {
	if !q.allow(c, "Admin", "", "") {
		return denied("create keys")
	}
	var buckets []string
	for _, b := range strings.FieldsFunc(q.r.PostFormValue("buckets"), func(r rune) bool { return r == ',' || r == ' ' }) {
		if !gateway.ValidBucketName(b) {
			return badInput("Not a valid bucket name: " + b)
		}
		buckets = append(buckets, b)
	}
	if len(buckets) == 0 {
		return badInput("A key names at least one bucket.")
	}
	var ttl time.Duration
	if v := strings.TrimSpace(q.r.PostFormValue("ttl")); v != "" {
		d, err := gateway.ParseTTL(v)
		if err != nil || d == 0 {
			return badInput("ttl must be a duration such as 90m, 2h or 7d.")
		}
		ttl = d
	}
	count := 1
	if v := strings.TrimSpace(q.r.PostFormValue("count")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return badInput("count must be from 1 to 100.")
		}
		count = n
	}
	var made []*gateway.NewKey
	for i := 0; i < count; i++ {
		k, err := c.svc.CreateKey(q.ctx, gateway.KeyInput{Buckets: buckets, Prefix: q.r.PostFormValue("prefix"),
			ReadOnly: q.r.PostFormValue("read_only") != "", TTL: ttl})
		if err != nil {
			return err
		}
		made = append(made, k)
	}
	// The secrets are shown in this answer only; never again.
	q.data["NewKeys"] = made
	return c.keys(q)
}

// createForks makes a batch of forks of one instant of a bucket, each
// with its own key when asked (the admin API's forks/batch); the secrets
// are shown in this answer only.
func (c *Console) createForks(q *req) error {
	source := strings.TrimSpace(q.r.PostFormValue("source"))
	if !q.allow(c, "Admin", source, "") {
		return denied("create sandboxes")
	}
	count, err := strconv.Atoi(strings.TrimSpace(q.r.PostFormValue("count")))
	if err != nil || count < 1 {
		return badInput("count must be a positive number.")
	}
	prefix := strings.TrimSpace(q.r.PostFormValue("prefix"))
	if prefix == "" {
		return badInput("prefix (the forks are named prefix1, prefix2, ...) is required.")
	}
	var ttl time.Duration
	if v := strings.TrimSpace(q.r.PostFormValue("ttl")); v != "" {
		if ttl, err = gateway.ParseTTL(v); err != nil || ttl == 0 {
			return badInput("ttl must be a duration such as 90m, 2h or 7d.")
		}
	}
	batch, err := c.svc.CreateForks(q.ctx, gateway.CreateForksInput{Source: source, Snapshot: strings.TrimSpace(q.r.PostFormValue("snapshot")),
		Count: count, Prefix: prefix, WithKeys: q.r.PostFormValue("with_keys") != "", TTL: ttl, Region: c.svc.Region()})
	if err != nil {
		if errors.Is(err, meta.ErrBucketExists) {
			return &consoleError{http.StatusConflict, "A fork name of the batch is taken; no fork was created."}
		}
		if errors.Is(err, gateway.ErrInvalidForkCount) {
			return badInput("count is out of range (see --max-fork-batch).")
		}
		return err
	}
	q.data["Batch"], q.data["BatchSource"] = batch, source
	return c.keys(q)
}

func (c *Console) deleteKey(q *req) error {
	if !q.allow(c, "Admin", "", "") {
		return denied("delete keys")
	}
	if err := c.svc.DeleteKey(q.ctx, q.r.PostFormValue("id")); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, Prefix+"keys", http.StatusSeeOther)
	return nil
}

func (c *Console) renew(q *req) error {
	name := q.r.PostFormValue("bucket")
	if !q.allow(c, "Admin", name, "") {
		return denied("renew leases")
	}
	d, err := gateway.ParseTTL(strings.TrimSpace(q.r.PostFormValue("ttl")))
	if err != nil || d == 0 {
		return badInput("ttl must be a duration such as 90m, 2h or 7d.")
	}
	if _, err := c.svc.RenewFork(q.ctx, name, d); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, Prefix+"keys", http.StatusSeeOther)
	return nil
}

func (c *Console) cluster(q *req) error {
	if err := c.clusterData(q); err != nil {
		return err
	}
	c.render(q, "cluster")
	return nil
}

// visible renders a name (an object key) with its control and
// direction-changing characters shown as escapes (\x1b, \u202e), so
// that a key can neither hide its characters nor reorder the text
// around it. Escaping for HTML is html/template's.
func visible(s string) string {
	if strings.IndexFunc(s, hidden) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !hidden(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

// hidden reports the characters visible escapes: C0 and C1 controls,
// DEL, the bidirectional overrides, embeddings and isolates, and the
// invalid-UTF-8 replacement character.
func hidden(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c || r == 0xfeff || r == utf8.RuneError
}

// humanBytes renders a size.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// when renders a Unix-ns time.
func when(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05Z")
}

// versionTime renders a version (Unix ns) as its time and number.
func versionTime(v uint64) string {
	return when(int64(v)) + " (" + strconv.FormatUint(v, 10) + ")"
}

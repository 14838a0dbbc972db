//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
)

// Admin API shapes (docs/admin-api.md).
type adminSnapshot struct {
	Bucket  string `json:"bucket"`
	Version string `json:"version"`
	Name    string `json:"name"`
	Created string `json:"created"`
}

type adminRef struct {
	Bucket   string `json:"bucket"`
	BucketID string `json:"bucket_id"`
	Version  string `json:"version"`
}

type adminBucket struct {
	Name         string    `json:"name"`
	Versioning   string    `json:"versioning"`
	Parent       *adminRef `json:"parent"`
	IsForkParent bool      `json:"is_fork_parent"`
}

type adminLineage struct {
	Bucket    adminBucket     `json:"bucket"`
	Parent    *adminRef       `json:"parent"`
	Snapshots []adminSnapshot `json:"snapshots"`
	Forks     []adminRef      `json:"forks"`
}

type adminDiffEntry struct {
	Key    string `json:"key"`
	Change string `json:"change"`
	ETag   string `json:"etag"`
	Size   *int64 `json:"size"`
}

type adminDiff struct {
	Bucket                string           `json:"bucket"`
	Entries               []adminDiffEntry `json:"entries"`
	IsTruncated           bool             `json:"is_truncated"`
	NextContinuationToken string           `json:"next_continuation_token"`
}

// mustAdmin is admin that fails the test unless the status is want.
func mustAdmin(t testing.TB, s *harness.Server, want int, method, path string, in, out any) {
	t.Helper()
	if r := admin(t, s, method, path, in, out); r.Status != want {
		t.Fatalf("%s /_forkstore/v1/%s: %s, want HTTP %d", method, path, r, want)
	}
}

// diffKinds renders diff entries as "change key", sorted by key.
func diffKinds(es []adminDiffEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Change+" "+e.Key)
	}
	return out
}

// The admin API: snapshots (create, list, delete by version and by name),
// forks (of the live bucket, of a snapshot by version and by name), the
// fork list, lineage and the paginated diff, each agreeing with what S3
// shows.
func TestForkAdminAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	base := bucketName(t, "base")
	makeBucket(t, c, base)
	objs := map[string]string{"keep": "k0", "change": "c0", "same": "s0", "gone": "g0"}
	objectsOf(t, c, base, objs)
	bp := "buckets/" + base

	var s1, s2 adminSnapshot
	mustAdmin(t, s, http.StatusCreated, "POST", bp+"/snapshots", map[string]string{"name": "s1"}, &s1)
	if s1.Bucket != base || s1.Name != "s1" || s1.Version == "" || s1.Created == "" {
		t.Errorf("created snapshot = %+v", s1)
	}
	putBytes(t, c, base, "later", []byte("l0"), minio.PutObjectOptions{})
	mustAdmin(t, s, http.StatusCreated, "POST", bp+"/snapshots", nil, &s2) // no body: unnamed
	if s2.Name != "" || s2.Version == "" || s2.Version == s1.Version {
		t.Errorf("unnamed snapshot = %+v", s2)
	}
	var list struct{ Snapshots []adminSnapshot }
	mustAdmin(t, s, http.StatusOK, "GET", bp+"/snapshots", nil, &list)
	if len(list.Snapshots) != 2 || list.Snapshots[0] != s1 || list.Snapshots[1] != s2 {
		t.Errorf("snapshots = %+v, want [%+v %+v]", list.Snapshots, s1, s2)
	}
	// The S3 view of the same snapshots.
	if got := listSnapshotNames(t, s, base); !slices.Equal(got, []string{s1.Version + "; name=s1", s2.Version}) {
		t.Errorf("S3 snapshot list = %q", got)
	}

	live, bySnapName, bySnapVersion := bucketName(t, "live"), bucketName(t, "byname"), bucketName(t, "byver")
	var fb adminBucket
	mustAdmin(t, s, http.StatusCreated, "POST", bp+"/forks", map[string]string{"name": live}, &fb)
	if fb.Name != live || fb.Parent == nil || fb.Parent.Bucket != base || fb.Parent.Version == "" {
		t.Errorf("created fork = %+v", fb)
	}
	liveBase := fb.Parent.Version
	mustAdmin(t, s, http.StatusCreated, "POST", bp+"/forks", map[string]string{"name": bySnapName, "snapshot": "s1"}, &fb)
	if fb.Parent == nil || fb.Parent.Version != s1.Version {
		t.Errorf("fork of snapshot s1 = %+v, want parent version %s", fb, s1.Version)
	}
	mustAdmin(t, s, http.StatusCreated, "POST", bp+"/forks", map[string]string{"name": bySnapVersion, "snapshot": s2.Version}, &fb)
	if fb.Parent == nil || fb.Parent.Version != s2.Version {
		t.Errorf("fork of snapshot %s = %+v", s2.Version, fb)
	}
	if h := headBucket(t, s, bySnapName); h.Header.Get(hForkSource) != base || h.Header.Get(hForkSourceSnapshot) != s1.Version {
		t.Errorf("HEAD of a fork made with the admin API: %s %q %q", h, h.Header.Get(hForkSource), h.Header.Get(hForkSourceSnapshot))
	}
	wantContent(t, c, bySnapName, "", objs)
	withLater := cloneMap(objs)
	withLater["later"] = "l0"
	wantContent(t, c, bySnapVersion, "", withLater)
	wantContent(t, c, live, "", withLater)

	var forks struct{ Forks []adminRef }
	mustAdmin(t, s, http.StatusOK, "GET", bp+"/forks", nil, &forks)
	gotForks := map[string]string{}
	for _, f := range forks.Forks {
		gotForks[f.Bucket] = f.Version
	}
	wantForks := map[string]string{live: liveBase, bySnapName: s1.Version, bySnapVersion: s2.Version}
	if fmt.Sprint(gotForks) != fmt.Sprint(wantForks) {
		t.Errorf("forks of %s = %v, want %v", base, gotForks, wantForks)
	}

	var lin adminLineage
	mustAdmin(t, s, http.StatusOK, "GET", bp+"/lineage", nil, &lin)
	if lin.Bucket.Name != base || lin.Parent != nil || !lin.Bucket.IsForkParent || len(lin.Snapshots) != 2 || len(lin.Forks) != 3 {
		t.Errorf("lineage of %s = %+v", base, lin)
	}
	mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+bySnapName+"/lineage", nil, &lin)
	if lin.Parent == nil || lin.Parent.Bucket != base || lin.Parent.Version != s1.Version || len(lin.Forks) != 0 || lin.Bucket.IsForkParent {
		t.Errorf("lineage of %s = %+v", bySnapName, lin)
	}

	// The diff of the live fork after: an added key, a changed one, a
	// deleted one, an overwrite with the same bytes (no change), a key
	// added then deleted (no change), a delete of a missing key (none).
	putBytes(t, c, live, "added", []byte("a1"), minio.PutObjectOptions{})
	putBytes(t, c, live, "change", []byte("c1"), minio.PutObjectOptions{})
	putBytes(t, c, live, "same", []byte("s0"), minio.PutObjectOptions{})
	putBytes(t, c, live, "transient", []byte("t"), minio.PutObjectOptions{})
	ctx := testCtx(t)
	for _, k := range []string{"gone", "transient", "never"} {
		if err := c.RemoveObject(ctx, live, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(describe(err))
		}
	}
	var d adminDiff
	mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+live+"/diff", nil, &d)
	want := []string{"added added", "changed change", "deleted gone"}
	if got := diffKinds(d.Entries); !slices.Equal(got, want) || d.IsTruncated || d.Bucket != live {
		t.Errorf("diff of %s = %v (truncated %v), want %v", live, got, d.IsTruncated, want)
	}
	for _, e := range d.Entries {
		switch e.Key {
		case "added":
			if e.ETag == "" || e.Size == nil || *e.Size != 2 {
				t.Errorf("diff entry %+v: want the new object's ETag and size", e)
			}
		case "gone":
			if e.ETag != "" || e.Size != nil {
				t.Errorf("diff entry %+v: a deletion has no object", e)
			}
		}
	}
	// Pages of one entry.
	var paged []adminDiffEntry
	token := ""
	for page := 0; page < 10; page++ {
		p := "buckets/" + live + "/diff?max-keys=1"
		if token != "" {
			p += "&continuation-token=" + token
		}
		var d adminDiff
		mustAdmin(t, s, http.StatusOK, "GET", p, nil, &d)
		paged = append(paged, d.Entries...)
		if !d.IsTruncated {
			break
		}
		if d.NextContinuationToken == "" || len(d.Entries) != 1 {
			t.Fatalf("diff page %d: truncated with %d entries and token %q", page, len(d.Entries), d.NextContinuationToken)
		}
		token = d.NextContinuationToken
	}
	if got := diffKinds(paged); !slices.Equal(got, want) {
		t.Errorf("diff in pages of 1 = %v, want %v", got, want)
	}
	// The diff of a fork nothing was written to is empty.
	mustAdmin(t, s, http.StatusOK, "GET", "buckets/"+bySnapName+"/diff", nil, &d)
	if len(d.Entries) != 0 {
		t.Errorf("diff of an untouched fork = %v", diffKinds(d.Entries))
	}

	// Delete the snapshots the forks were made from, by name and version.
	var del struct {
		Bucket  string `json:"bucket"`
		Version string `json:"version"`
		Deleted bool   `json:"deleted"`
	}
	mustAdmin(t, s, http.StatusOK, "DELETE", bp+"/snapshots/s1", nil, &del)
	if !del.Deleted || del.Version != s1.Version || del.Bucket != base {
		t.Errorf("delete snapshot s1 = %+v", del)
	}
	mustAdmin(t, s, http.StatusOK, "DELETE", bp+"/snapshots/"+s2.Version, nil, &del)
	mustAdmin(t, s, http.StatusOK, "GET", bp+"/snapshots", nil, &list)
	if len(list.Snapshots) != 0 {
		t.Errorf("snapshots after deleting both = %+v", list.Snapshots)
	}
	wantContent(t, c, bySnapName, "", objs)
	wantContent(t, c, bySnapVersion, "", withLater)
}

// The forkstore CLI over the admin API: snapshot create/list/delete, fork
// create (of the live bucket, and at a snapshot by version and by name),
// fork list, fork diff (paged past 1,000 entries) and bucket lineage,
// with human output and --json; --endpoint wins over FORKSTORE_ENDPOINT.
func TestForkCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	ctx := testCtx(t)
	base := bucketName(t, "base")
	makeBucket(t, c, base)
	objs := map[string]string{"keep": "k0", "change": "c0", "gone": "g0"}
	objectsOf(t, c, base, objs)

	// snapshot create: an unnamed one (--json), then a named one (human).
	var unnamed adminSnapshot
	out := mustCLI(t, s, "snapshot", "create", base, "--json")
	if err := json.Unmarshal([]byte(out), &unnamed); err != nil || unnamed.Version == "" || unnamed.Bucket != base {
		t.Fatalf("snapshot create --json: %v\n%s", err, out)
	}
	putBytes(t, c, base, "later", []byte("l0"), minio.PutObjectOptions{})
	out = mustCLI(t, s, "snapshot", "create", base, "--name", "release-1")
	if !strings.Contains(out, "release-1") || !strings.Contains(out, base) {
		t.Errorf("snapshot create (human) does not name the snapshot and bucket:\n%s", out)
	}
	var snaps struct{ Snapshots []adminSnapshot }
	out = mustCLI(t, s, "snapshot", "list", base, "--json")
	if err := json.Unmarshal([]byte(out), &snaps); err != nil || len(snaps.Snapshots) != 2 {
		t.Fatalf("snapshot list --json: %v\n%s", err, out)
	}
	named := snaps.Snapshots[1]
	if named.Name != "release-1" || snaps.Snapshots[0].Version != unnamed.Version {
		t.Errorf("snapshot list --json = %+v", snaps.Snapshots)
	}
	if !strings.Contains(out, named.Version) {
		t.Errorf("snapshot create (human) does not show the version %s:\n%s", named.Version, out)
	}
	out = mustCLI(t, s, "snapshot", "list", base)
	for _, want := range []string{unnamed.Version, named.Version, "release-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("snapshot list (human) does not show %q:\n%s", want, out)
		}
	}

	// fork create: of the live bucket, of a snapshot by name and by
	// version, flags before or after the arguments.
	live, byName, byVersion := bucketName(t, "live"), bucketName(t, "byname"), bucketName(t, "byver")
	out = mustCLI(t, s, "fork", "create", base, live)
	if !strings.Contains(out, live) || !strings.Contains(out, base) {
		t.Errorf("fork create (human) does not name the fork and its source:\n%s", out)
	}
	mustCLI(t, s, "fork", "create", base, byName, "--snapshot", "release-1")
	var fb adminBucket
	out = mustCLI(t, s, "fork", "create", "--json", "--snapshot", unnamed.Version, base, byVersion)
	if err := json.Unmarshal([]byte(out), &fb); err != nil || fb.Parent == nil || fb.Parent.Version != unnamed.Version || fb.Parent.Bucket != base {
		t.Errorf("fork create --json --snapshot %s: %v %+v\n%s", unnamed.Version, err, fb, out)
	}
	withLater := cloneMap(objs)
	withLater["later"] = "l0"
	wantContent(t, c, live, "", withLater)
	wantContent(t, c, byName, "", withLater)
	wantContent(t, c, byVersion, "", objs)

	// fork list.
	out = mustCLI(t, s, "fork", "list", base)
	for _, f := range []string{live, byName, byVersion} {
		if !strings.Contains(out, f) {
			t.Errorf("fork list (human) does not show %s:\n%s", f, out)
		}
	}
	var forks struct{ Forks []adminRef }
	out = mustCLI(t, s, "fork", "list", base, "--json")
	if err := json.Unmarshal([]byte(out), &forks); err != nil || len(forks.Forks) != 3 {
		t.Errorf("fork list --json: %v\n%s", err, out)
	}

	// fork diff after mutations, with more entries than one page.
	var added []string
	for i := 0; i < 1050; i++ {
		added = append(added, fmt.Sprintf("new/%04d", i))
	}
	putForkBodies(t, c, live, added)
	putBytes(t, c, live, "change", []byte("c1"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, live, "gone", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(describe(err))
	}
	var want []string
	want = append(want, "changed change", "deleted gone")
	for _, k := range added {
		want = append(want, "added "+k)
	}
	slices.SortFunc(want, func(a, b string) int {
		_, ka, _ := strings.Cut(a, " ")
		_, kb, _ := strings.Cut(b, " ")
		return strings.Compare(ka, kb)
	})
	var diff struct{ Entries []adminDiffEntry }
	out = mustCLI(t, s, "fork", "diff", live, "--json")
	if err := json.Unmarshal([]byte(out), &diff); err != nil {
		t.Fatalf("fork diff --json: %v\n%.2000s", err, out)
	}
	if got := diffKinds(diff.Entries); !slices.Equal(got, want) {
		diffLists(t, "fork diff --json", got, want)
	}
	// The human diff is a table: CHANGE KEY SIZE LAST MODIFIED.
	out = mustCLI(t, s, "fork", "diff", live)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if h := strings.Fields(lines[0]); len(h) < 2 || h[0] != "CHANGE" || h[1] != "KEY" {
		t.Errorf("fork diff (human): header %q", lines[0])
	}
	var human []string
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("fork diff (human): short row %q", line)
		}
		human = append(human, f[0]+" "+f[1])
		// change, key, size ("2 B": two fields), local date, time, zone;
		// a deletion has neither size nor time.
		switch {
		case f[0] == "deleted" && (len(f) != 4 || f[2] != "-" || f[3] != "-"):
			t.Errorf("fork diff (human): deletion row %q", line)
		case f[0] != "deleted" && (len(f) != 7 || !strings.HasSuffix(f[3], "B") || strings.Count(f[4], "-") != 2):
			t.Errorf("fork diff (human): row %q lacks a readable size and time", line)
		}
	}
	diffLists(t, "fork diff (human)", human, want)
	out = mustCLI(t, s, "fork", "diff", byName)
	if strings.TrimSpace(out) != "" {
		t.Errorf("fork diff of an untouched fork:\n%s", out)
	}

	// bucket lineage.
	out = mustCLI(t, s, "bucket", "lineage", byName)
	if !strings.Contains(out, base) || !strings.Contains(out, named.Version) {
		t.Errorf("bucket lineage (human) of %s does not show %s at %s:\n%s", byName, base, named.Version, out)
	}
	var lin adminLineage
	out = mustCLI(t, s, "bucket", "lineage", base, "--json")
	if err := json.Unmarshal([]byte(out), &lin); err != nil || lin.Parent != nil || len(lin.Snapshots) != 2 || len(lin.Forks) != 3 {
		t.Errorf("bucket lineage --json of %s: %v %+v", base, err, lin)
	}
	out = mustCLI(t, s, "bucket", "lineage", base)
	for _, want := range []string{base, live, byName, byVersion, "release-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("bucket lineage (human) of %s does not show %q:\n%s", base, want, out)
		}
	}

	// snapshot delete by name and by version, while forks use them.
	mustCLI(t, s, "snapshot", "delete", base, "release-1")
	mustCLI(t, s, "snapshot", "delete", base, unnamed.Version)
	out = mustCLI(t, s, "snapshot", "list", base, "--json")
	if err := json.Unmarshal([]byte(out), &snaps); err != nil || len(snaps.Snapshots) != 0 {
		t.Errorf("snapshot list --json after deleting both: %v\n%s", err, out)
	}
	wantContent(t, c, byName, "", withLater)
	wantContent(t, c, byVersion, "", objs)

	// --endpoint wins over FORKSTORE_ENDPOINT; bad credentials fail.
	dead, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	creds := []string{"AWS_ACCESS_KEY_ID=" + s.User(), "AWS_SECRET_ACCESS_KEY=" + s.Password()}
	r := forkstoreCLIEnv(t, append([]string{"FORKSTORE_ENDPOINT=http://" + dead}, creds...), "fork", "list", base, "--endpoint", s.URL())
	if r.Err != nil || !strings.Contains(r.Stdout, live) {
		t.Errorf("fork list --endpoint: %v\n%s%s", r.Err, r.Stdout, r.Stderr)
	}
	r = forkstoreCLIEnv(t, append([]string{"FORKSTORE_ENDPOINT=http://" + dead}, creds...), "fork", "list", base)
	if r.Err == nil {
		t.Errorf("fork list against a closed port succeeded:\n%s", r.Stdout)
	}
	r = forkstoreCLIEnv(t, []string{"FORKSTORE_ENDPOINT=" + s.URL(), "AWS_ACCESS_KEY_ID=" + s.User(), "AWS_SECRET_ACCESS_KEY=wrong"}, "fork", "list", base)
	if r.Err == nil || !strings.Contains(r.Stderr, "SignatureDoesNotMatch") {
		t.Errorf("fork list with a wrong secret: %v, stderr %q; want SignatureDoesNotMatch", r.Err, r.Stderr)
	}
	r = forkstoreCLIEnv(t, []string{"FORKSTORE_ENDPOINT=" + s.URL()}, "fork", "list", base)
	if r.Err == nil {
		t.Errorf("fork list without credentials succeeded:\n%s", r.Stdout)
	}
}

// exitCode is the exit status of a CLI run (0 when it succeeded).
func exitCode(t testing.TB, r cliResult) int {
	t.Helper()
	if r.Err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(r.Err, &ee) {
		t.Fatalf("the CLI did not run: %v", r.Err)
	}
	return ee.ExitCode()
}

// The CLI as people and scripts use it: --help without credentials or a
// server, global flags before or after the subcommand, credentials as
// flags, tables with local times and no JSON in them, and failures as one
// line naming the error code with a hint, exit 1 (2 for usage).
func TestCLIUsage(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newForkClient(t, s)
	base := bucketName(t, "base")
	makeBucket(t, c, base)
	objectsOf(t, c, base, map[string]string{"a": "a0"})
	mustCLI(t, s, "snapshot", "create", base, "--name", "first")
	fork := bucketName(t, "fork")
	mustCLI(t, s, "fork", "create", base, fork, "--snapshot", "first")

	// --help needs nothing.
	for _, args := range [][]string{{"--help"}, {"fork", "create", "--help"}, {"snapshot", "list", "-h"}, {"server", "--help"}, {"help", "bucket"}} {
		r := forkstoreCLIEnv(t, nil, args...)
		if exitCode(t, r) != 0 || !strings.Contains(r.Stdout, "Usage:") {
			t.Errorf("forkstore %s without any environment: exit %d\n%s%s", strings.Join(args, " "), exitCode(t, r), r.Stdout, r.Stderr)
		}
	}

	// Global flags before the subcommand, and credentials as flags.
	creds := []string{"--endpoint", s.URL(), "--access-key", s.User(), "--secret-key", s.Password()}
	for _, args := range [][]string{
		append(append([]string{"--json"}, creds...), "snapshot", "list", base),
		append([]string{"snapshot", "--json", "list"}, append(creds, base)...),
		append([]string{"snapshot", "list", base, "--json"}, creds...),
	} {
		r := forkstoreCLIEnv(t, nil, args...)
		var snaps struct{ Snapshots []adminSnapshot }
		if err := json.Unmarshal([]byte(r.Stdout), &snaps); exitCode(t, r) != 0 || err != nil || len(snaps.Snapshots) != 1 || snaps.Snapshots[0].Name != "first" {
			t.Errorf("forkstore %s: exit %d, %v\n%s%s", strings.Join(args, " "), exitCode(t, r), err, r.Stdout, r.Stderr)
		}
	}

	// Human output: aligned tables, local times, no JSON.
	for _, args := range [][]string{{"snapshot", "list", base}, {"fork", "list", base}, {"bucket", "lineage", base}, {"bucket", "lineage", fork}} {
		out := mustCLI(t, s, args...)
		if strings.ContainsAny(out, "{}[]\"") || regexp.MustCompile(`\dT\d\d:\d\d`).MatchString(out) {
			t.Errorf("forkstore %s prints JSON or raw timestamps:\n%s", strings.Join(args, " "), out)
		}
	}
	out := mustCLI(t, s, "snapshot", "list", base)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2 || strings.Index(lines[0], "NAME") != strings.Index(lines[1], "first") || strings.Index(lines[0], "CREATED") < 0 {
		t.Errorf("snapshot list is not an aligned table:\n%s", out)
	}

	// Failures: one line, the code, a hint where one helps, exit 1.
	dead, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	good := []string{"FORKSTORE_ENDPOINT=" + s.URL(), "AWS_ACCESS_KEY_ID=" + s.User(), "AWS_SECRET_ACCESS_KEY=" + s.Password()}
	cases := []struct {
		name string
		env  []string
		args []string
		want []string // substrings of the error line
	}{
		{"no such bucket", good, []string{"bucket", "lineage", "missing-bucket"}, []string{"forkstore: NoSuchBucket: "}},
		{"wrong secret", []string{"FORKSTORE_ENDPOINT=" + s.URL(), "AWS_ACCESS_KEY_ID=" + s.User(), "AWS_SECRET_ACCESS_KEY=wrong"},
			[]string{"fork", "list", base}, []string{"SignatureDoesNotMatch", "hint: check the secret key"}},
		{"wrong access key", []string{"FORKSTORE_ENDPOINT=" + s.URL(), "AWS_ACCESS_KEY_ID=nobody", "AWS_SECRET_ACCESS_KEY=x"},
			[]string{"fork", "list", base}, []string{"InvalidAccessKeyId", "hint: check the access key"}},
		{"wrong endpoint", good, []string{"fork", "list", base, "--endpoint", "http://" + dead}, []string{dead, "connection refused", "hint: is forkstore running there?"}},
		{"no credentials", []string{"FORKSTORE_ENDPOINT=" + s.URL()}, []string{"fork", "list", base}, []string{"hint: set AWS_ACCESS_KEY_ID"}},
		{"https to a plain server", good, []string{"fork", "list", base, "--endpoint", "https://" + s.S3Addr}, []string{"use an http:// endpoint"}},
	}
	for _, tc := range cases {
		r := forkstoreCLIEnv(t, tc.env, tc.args...)
		line := strings.TrimSuffix(r.Stderr, "\n")
		if exitCode(t, r) != 1 || r.Stdout != "" || strings.Contains(line, "\n") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and one line on stderr", tc.name, exitCode(t, r), r.Stdout, r.Stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(line, w) {
				t.Errorf("%s: stderr %q lacks %q", tc.name, line, w)
			}
		}
	}
	for _, args := range [][]string{{"snapshot", "list"}, {"fork", "frok"}, {"fork", "list", base, "--nope"}} {
		if r := forkstoreCLIEnv(t, good, args...); exitCode(t, r) != 2 {
			t.Errorf("forkstore %s: exit %d, want 2 (usage)\n%s", strings.Join(args, " "), exitCode(t, r), r.Stderr)
		}
	}
}

//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
)

// awsRunner runs one aws CLI against one server.
type awsRunner struct {
	t   *testing.T
	cli awsCLI
	s   *harness.Server
	env []string
	dir string // working directory with the test's files
}

// run runs `aws --endpoint-url URL args...` and returns stdout.
func (a *awsRunner) run(args ...string) string {
	a.t.Helper()
	full := append([]string{"--endpoint-url", a.s.URL()}, args...)
	return runClient(a.t, a.env, a.dir, 5*time.Minute, a.cli.path, full...)
}

// try is run that returns stderr and the error instead of failing.
func (a *awsRunner) try(args ...string) (string, string, error) {
	a.t.Helper()
	full := append([]string{"--endpoint-url", a.s.URL()}, args...)
	return tryClient(a.t, a.env, a.dir, 5*time.Minute, a.cli.path, full...)
}

// json runs an s3api command with JSON output and decodes it into out.
func (a *awsRunner) json(out any, args ...string) {
	a.t.Helper()
	stdout := a.run(append(args, "--output", "json")...)
	if out == nil {
		return
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		a.t.Fatalf("aws %s: decoding JSON output: %v\n%s", strings.Join(args, " "), err, tail(stdout, 2000))
	}
}

func (a *awsRunner) path(name string) string { return filepath.Join(a.dir, name) }

func (a *awsRunner) writeFile(name string, b []byte) string {
	a.t.Helper()
	p := a.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		a.t.Fatal(err)
	}
	return p
}

func (a *awsRunner) readFile(name string) []byte {
	a.t.Helper()
	b, err := os.ReadFile(a.path(name))
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

// awsKeys are object keys that need escaping somewhere on the way: in
// the request path, in the SigV4 canonical request, in listings
// (encoding-type=url) and in the CLI's own handling.
var awsKeys = []string{
	"with space.txt",
	"plus+sign.txt",
	"percent%20literal.txt",
	"100%.csv",
	"ünïcødé/ключ/名前.txt",
	"emoji-😀.bin",
	"a/b/../c.txt",
	"tilde~and!bang'(paren)*star.txt",
	"semi;colon=equals&amp@at$dollar,comma.txt",
}

// The aws CLI, v1 (pip) and v2 (Debian), each in its own subtest and
// bucket on one server.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	clis := findAWSCLIs()
	requireClient(t, len(clis) > 0, "the aws CLI")
	s := startServer(t)
	for _, cli := range clis {
		t.Run(cli.label, func(t *testing.T) {
			t.Parallel()
			t.Logf("%s: %s", cli.path, cli.version)
			a := &awsRunner{t: t, cli: cli, s: s, env: clientEnv(t, s), dir: t.TempDir()}
			b := bucketName(t, "awscli-"+cli.label)
			for _, step := range []struct {
				name string
				f    func(*testing.T, *awsRunner, string)
			}{
				{"s3 mb/cp/ls/rm", awsHighLevel},
				{"s3 sync", awsSync},
				{"s3api", awsS3API},
				{"awkward keys", awsSpecialKeys},
				{"ACLs", awsACLs},
			} {
				start := time.Now()
				step.f(t, a, b)
				t.Logf("%s: %s took %v", cli.label, step.name, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// aws s3 mb, cp (small and multipart), ls, rm.
func awsHighLevel(t *testing.T, a *awsRunner, b string) {
	if out := a.run("s3", "mb", "s3://"+b); !strings.Contains(out, "make_bucket: "+b) {
		t.Errorf("aws s3 mb: output %q, want make_bucket: %s", out, b)
	}
	if out := a.run("s3", "ls"); !strings.Contains(out, " "+b+"\n") && !strings.HasSuffix(strings.TrimSpace(out), " "+b) {
		t.Errorf("aws s3 ls: bucket %s not listed:\n%s", b, out)
	}

	small := randBytes(201, 1234)
	a.writeFile("small.txt", small)
	a.run("s3", "cp", "--no-progress", a.path("small.txt"), "s3://"+b+"/dir/small.txt")
	// 64 MiB + 1 byte: multipart with the CLI's default 8 MiB parts.
	big := randBytes(202, 64<<20+1)
	a.writeFile("big.bin", big)
	a.run("s3", "cp", "--no-progress", a.path("big.bin"), "s3://"+b+"/big.bin")

	out := a.run("s3", "ls", "s3://"+b+"/")
	if !strings.Contains(out, "PRE dir/") || !strings.Contains(out, fmt.Sprintf("%d big.bin", len(big))) {
		t.Errorf("aws s3 ls s3://%s/: want PRE dir/ and big.bin with its size:\n%s", b, out)
	}
	out = a.run("s3", "ls", "--recursive", "s3://"+b+"/")
	if !strings.Contains(out, "1234 dir/small.txt") {
		t.Errorf("aws s3 ls --recursive: dir/small.txt missing:\n%s", out)
	}

	a.run("s3", "cp", "--no-progress", "s3://"+b+"/dir/small.txt", a.path("small.down"))
	sameBytes(t, "aws s3 cp round trip (small)", a.readFile("small.down"), small)
	a.run("s3", "cp", "--no-progress", "s3://"+b+"/big.bin", a.path("big.down"))
	sameBytes(t, "aws s3 cp round trip (64 MiB multipart)", a.readFile("big.down"), big)
	os.Remove(a.path("big.down"))
	var head struct {
		ContentLength int64
		ETag          string
	}
	a.json(&head, "s3api", "head-object", "--bucket", b, "--key", "big.bin")
	if head.ContentLength != int64(len(big)) || trimETag(head.ETag) != multipartETag(big, 8<<20) {
		t.Errorf("head-object big.bin: length %d etag %s; want %d %s (9 parts of 8 MiB)", head.ContentLength, head.ETag, len(big), multipartETag(big, 8<<20))
	}

	// S3-to-S3 copy of a multipart-sized object: the CLI copies it with
	// UploadPartCopy and carries its tags over (v2 asks GetObjectTagging).
	a.run("s3", "cp", "--no-progress", "s3://"+b+"/big.bin", "s3://"+b+"/big-copy.bin")
	var copied struct{ ContentLength int64 }
	a.json(&copied, "s3api", "head-object", "--bucket", b, "--key", "big-copy.bin")
	if copied.ContentLength != int64(len(big)) {
		t.Errorf("aws s3 cp s3->s3: copy has %d bytes, want %d", copied.ContentLength, len(big))
	}

	a.run("s3", "rm", "s3://"+b+"/dir/small.txt")
	a.run("s3", "rm", "--recursive", "s3://"+b+"/")
	out = a.run("s3", "ls", "--recursive", "s3://"+b+"/")
	if strings.TrimSpace(out) != "" {
		t.Errorf("aws s3 ls after rm still lists objects:\n%s", out)
	}
}

// syncTree writes 500 small files in nested directories.
func syncTree(t *testing.T, root string) map[string][]byte {
	files := map[string][]byte{}
	for i := 0; i < 500; i++ {
		name := fmt.Sprintf("d%d/e%d/file-%03d.txt", i%7, i%3, i)
		switch i % 50 {
		case 1:
			name = fmt.Sprintf("d%d/with space %03d.txt", i%7, i)
		case 2:
			name = fmt.Sprintf("d%d/plus+%03d.txt", i%7, i)
		case 3:
			name = fmt.Sprintf("d%d/ünï-%03d.txt", i%7, i)
		case 4:
			name = fmt.Sprintf("d%d/pct%%%03d.txt", i%7, i)
		}
		body := randBytes(uint64(1000+i), 100+i*7)
		files[filepath.ToSlash(name)] = body
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func countLines(out, prefix string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			n++
		}
	}
	return n
}

// aws s3 sync up twice (the second uploads nothing: S3-PITFALLS 12) and
// down again (byte for byte, and a second download fetches nothing).
func awsSync(t *testing.T, a *awsRunner, b string) {
	src := a.path("tree")
	files := syncTree(t, src)
	dst := "s3://" + b + "/tree/"
	out := a.run("s3", "sync", "--no-progress", src, dst)
	if n := countLines(out, "upload:"); n != len(files) {
		t.Errorf("first sync: %d upload lines, want %d\n%s", n, len(files), tail(out, 3000))
	}
	out = a.run("s3", "sync", "--no-progress", src, dst)
	if n := countLines(out, "upload:"); n != 0 {
		t.Errorf("second sync of an unchanged tree uploaded %d files, want 0 (size or LastModified differ?):\n%s", n, tail(out, 3000))
	}

	down := a.path("tree-down")
	out = a.run("s3", "sync", "--no-progress", dst, down)
	if n := countLines(out, "download:"); n != len(files) {
		t.Errorf("download sync: %d download lines, want %d\n%s", n, len(files), tail(out, 3000))
	}
	got := map[string][]byte{}
	filepath.WalkDir(down, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(down, p)
		b, _ := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = b
		return nil
	})
	if len(got) != len(files) {
		t.Errorf("download sync: %d files, want %d", len(got), len(files))
	}
	for name, want := range files {
		if !bytes.Equal(got[name], want) {
			t.Errorf("download sync: %s differs (got %d bytes, want %d)", name, len(got[name]), len(want))
		}
	}
	out = a.run("s3", "sync", "--no-progress", dst, down)
	if n := countLines(out, "download:"); n != 0 {
		t.Errorf("second download sync fetched %d files, want 0:\n%s", n, tail(out, 3000))
	}
}

// aws s3api: object operations, DeleteObjects and a multipart upload by hand.
func awsS3API(t *testing.T, a *awsRunner, b string) {
	body := randBytes(301, 4000)
	a.writeFile("api.bin", body)
	var put struct{ ETag string }
	a.json(&put, "s3api", "put-object", "--bucket", b, "--key", "api/obj.bin", "--body", a.path("api.bin"),
		"--content-type", "application/x-api", "--metadata", "owner=cli,purpose=test")
	if trimETag(put.ETag) != md5Hex(body) {
		t.Errorf("put-object ETag %s, want %s", put.ETag, md5Hex(body))
	}
	var head struct {
		ContentLength int64
		ContentType   string
		ETag          string
		Metadata      map[string]string
		LastModified  string
	}
	a.json(&head, "s3api", "head-object", "--bucket", b, "--key", "api/obj.bin")
	if head.ContentLength != 4000 || head.ContentType != "application/x-api" {
		t.Errorf("head-object: %+v; want length 4000, type application/x-api", head)
	}
	// S3 sends user metadata header names in lower case, and botocore
	// keeps the case it receives: {"owner": "cli"}.
	if head.Metadata["owner"] != "cli" || head.Metadata["purpose"] != "test" {
		t.Errorf("head-object Metadata = %v; want map[owner:cli purpose:test] (x-amz-meta-* names in lower case)", head.Metadata)
	}
	var get struct{ ContentLength int64 }
	a.json(&get, "s3api", "get-object", "--bucket", b, "--key", "api/obj.bin", a.path("api.down"))
	sameBytes(t, "get-object", a.readFile("api.down"), body)

	var cp struct{ CopyObjectResult struct{ ETag string } }
	a.json(&cp, "s3api", "copy-object", "--bucket", b, "--key", "api/copy.bin", "--copy-source", b+"/api/obj.bin")
	if trimETag(cp.CopyObjectResult.ETag) != md5Hex(body) {
		t.Errorf("copy-object ETag %s, want %s", cp.CopyObjectResult.ETag, md5Hex(body))
	}
	a.json(nil, "s3api", "get-object", "--bucket", b, "--key", "api/copy.bin", a.path("copy.down"))
	sameBytes(t, "get-object of the copy", a.readFile("copy.down"), body)

	// Multipart by hand: 5 MiB + 1 MiB.
	p1, p2 := randBytes(302, 5<<20), randBytes(303, 1<<20)
	a.writeFile("p1", p1)
	a.writeFile("p2", p2)
	var create struct{ UploadId string }
	a.json(&create, "s3api", "create-multipart-upload", "--bucket", b, "--key", "api/mpu.bin")
	if create.UploadId == "" {
		t.Fatal("create-multipart-upload: no UploadId")
	}
	type part struct {
		ETag       string
		PartNumber int
	}
	var parts []part
	for i, f := range []string{"p1", "p2"} {
		var up struct{ ETag string }
		a.json(&up, "s3api", "upload-part", "--bucket", b, "--key", "api/mpu.bin", "--upload-id", create.UploadId,
			"--part-number", fmt.Sprint(i+1), "--body", a.path(f))
		parts = append(parts, part{up.ETag, i + 1})
	}
	doc, _ := json.Marshal(map[string]any{"Parts": parts})
	a.writeFile("parts.json", doc)
	var done struct{ ETag string }
	a.json(&done, "s3api", "complete-multipart-upload", "--bucket", b, "--key", "api/mpu.bin", "--upload-id", create.UploadId,
		"--multipart-upload", "file://"+a.path("parts.json"))
	all := append(append([]byte{}, p1...), p2...)
	if trimETag(done.ETag) != multipartETag(all, 5<<20) {
		t.Errorf("complete-multipart-upload ETag %s, want %s", done.ETag, multipartETag(all, 5<<20))
	}
	a.json(nil, "s3api", "get-object", "--bucket", b, "--key", "api/mpu.bin", a.path("mpu.down"))
	sameBytes(t, "get-object of the multipart upload", a.readFile("mpu.down"), all)

	var list struct {
		Contents []struct {
			Key  string
			Size int64
		}
		KeyCount int
	}
	a.json(&list, "s3api", "list-objects-v2", "--bucket", b, "--prefix", "api/")
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	diffLists(t, "list-objects-v2 --prefix api/", keys, []string{"api/copy.bin", "api/mpu.bin", "api/obj.bin"})

	// delete-objects: botocore sends no Content-MD5 by default since 1.36.
	del, _ := json.Marshal(map[string]any{"Objects": []map[string]string{{"Key": "api/obj.bin"}, {"Key": "api/copy.bin"}, {"Key": "api/never-existed"}}})
	a.writeFile("delete.json", del)
	var dres struct {
		Deleted []struct{ Key string }
		Errors  []struct{ Key, Code string }
	}
	a.json(&dres, "s3api", "delete-objects", "--bucket", b, "--delete", "file://"+a.path("delete.json"))
	if len(dres.Deleted) != 3 || len(dres.Errors) != 0 {
		t.Errorf("delete-objects: %+v; want 3 deleted, no errors", dres)
	}
	list.Contents = nil
	a.json(&list, "s3api", "list-objects-v2", "--bucket", b, "--prefix", "api/")
	keys = nil
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	diffLists(t, "list-objects-v2 after delete-objects", keys, []string{"api/mpu.bin"})

	_, errOut, err := a.try("s3api", "head-object", "--bucket", b, "--key", "api/obj.bin")
	if err == nil || !strings.Contains(errOut, "404") {
		t.Errorf("head-object of a deleted key: err %v, stderr %q; want a 404", err, errOut)
	}
	_, errOut, err = a.try("s3api", "get-object", "--bucket", b, "--key", "api/obj.bin", a.path("gone"))
	if err == nil || !strings.Contains(errOut, "NoSuchKey") {
		t.Errorf("get-object of a deleted key: err %v, stderr %q; want NoSuchKey", err, errOut)
	}
}

// Keys with spaces, '+', '%' and non-ASCII through aws s3 (recursive
// copies both ways) and s3api (put, get, list with and without delimiter).
// Each CLI start costs a second or more, so the keys travel in batches.
func awsSpecialKeys(t *testing.T, a *awsRunner, b string) {
	local := a.path("awkward")
	var want []string
	bodies := map[string][]byte{}
	for i, k := range awsKeys {
		if strings.Contains(k, "..") {
			continue // not a local file name; sent through s3api below
		}
		bodies[k] = []byte(fmt.Sprintf("body %d of %s", i, k))
		a.writeFile(filepath.Join("awkward", k), bodies[k])
		want = append(want, "special/"+k)
	}
	sort.Strings(want)
	out := a.run("s3", "cp", "--no-progress", "--recursive", local, "s3://"+b+"/special/")
	if n := countLines(out, "upload:"); n != len(bodies) {
		t.Errorf("aws s3 cp --recursive: %d upload lines, want %d\n%s", n, len(bodies), out)
	}

	var list struct {
		Contents []struct{ Key string }
	}
	a.json(&list, "s3api", "list-objects-v2", "--bucket", b, "--prefix", "special/")
	var got []string
	for _, c := range list.Contents {
		got = append(got, c.Key)
	}
	diffLists(t, "list-objects-v2 of awkward keys", got, want)
	var delim struct {
		CommonPrefixes []struct{ Prefix string }
		Contents       []struct{ Key string }
	}
	a.json(&delim, "s3api", "list-objects-v2", "--bucket", b, "--prefix", "special/", "--delimiter", "/")
	var prefixes []string
	for _, p := range delim.CommonPrefixes {
		prefixes = append(prefixes, p.Prefix)
	}
	diffLists(t, "common prefixes of awkward keys", prefixes, []string{"special/ünïcødé/"})
	if len(delim.Contents) != len(want)-1 {
		t.Errorf("list-objects-v2 with delimiter: %d keys, want %d", len(delim.Contents), len(want)-1)
	}

	down := a.path("awkward-down")
	out = a.run("s3", "cp", "--no-progress", "--recursive", "s3://"+b+"/special/", down)
	if n := countLines(out, "download:"); n != len(bodies) {
		t.Errorf("aws s3 cp --recursive (download): %d download lines, want %d\n%s", n, len(bodies), out)
	}
	for k, body := range bodies {
		got, err := os.ReadFile(filepath.Join(down, k))
		if err != nil {
			t.Errorf("download of %q: %v", k, err)
			continue
		}
		sameBytes(t, "aws s3 cp of "+k, got, body)
	}

	// s3api with keys the file system cannot hold or that must stay literal.
	for i, k := range []string{"dotdot/a/b/../c.txt", "dotdot/./here.txt", "api/" + awsKeys[1], "api/" + awsKeys[2]} {
		body := []byte("literal key " + k)
		f := a.writeFile(fmt.Sprintf("lit-%d", i), body)
		if _, errOut, err := a.try("s3api", "put-object", "--bucket", b, "--key", k, "--body", f); err != nil {
			t.Errorf("put-object %q: %v\n%s", k, err, errOut)
			continue
		}
		if _, errOut, err := a.try("s3api", "get-object", "--bucket", b, "--key", k, a.path(fmt.Sprintf("lit-%d.down", i))); err != nil {
			t.Errorf("get-object %q: %v\n%s", k, err, errOut)
			continue
		}
		sameBytes(t, "get-object "+k, a.readFile(fmt.Sprintf("lit-%d.down", i)), body)
	}
}

package s3api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestLiveSnapshotsAndForks drives snapshots and forks through the
// Tigris-compatible headers: snapshot, read at a snapshot, list
// snapshots, fork from a snapshot and from the live bucket, lineage
// headers, read-only snapshots, delete a snapshot.
func TestLiveSnapshotsAndForks(t *testing.T) {
	ls := newLiveServer(t)
	ctx := t.Context()
	put := func(bucket, key, v string) {
		t.Helper()
		if _, err := ls.mc.PutObject(ctx, bucket, key, strings.NewReader(v), int64(len(v)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
	}
	get := func(bucket, key string, hdr map[string]string) (int, string) {
		t.Helper()
		resp, body := ls.raw(t, "GET", "/"+bucket+"/"+key, nil, hdr)
		return resp.StatusCode, string(body)
	}
	if err := ls.mc.MakeBucket(ctx, "src", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put("src", "a", "a1")
	put("src", "b", "b1")

	// CreateSnapshot: PUT on the existing bucket with X-Tigris-Snapshot.
	resp, body := ls.raw(t, "PUT", "/src", nil, map[string]string{"X-Tigris-Snapshot": "true; name=first"})
	snap := resp.Header.Get("X-Tigris-Snapshot-Version")
	if resp.StatusCode != 200 || snap == "" {
		t.Fatalf("snapshot: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if _, err := strconv.ParseUint(snap, 10, 64); err != nil {
		t.Fatalf("snapshot version %q", snap)
	}
	put("src", "a", "a2")
	if err := ls.mc.RemoveObject(ctx, "src", "b", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	put("src", "c", "c2")

	t.Run("read at the snapshot", func(t *testing.T) {
		at := map[string]string{"X-Tigris-Snapshot-Version": snap}
		if st, b := get("src", "a", at); st != 200 || b != "a1" {
			t.Errorf("a at snapshot: %d %q", st, b)
		}
		if st, b := get("src", "b", at); st != 200 || b != "b1" {
			t.Errorf("b at snapshot: %d %q", st, b)
		}
		if st, _ := get("src", "c", at); st != 404 {
			t.Errorf("c at snapshot: %d", st)
		}
		if st, b := get("src", "a", map[string]string{"X-Tigris-Snapshot-Version": "first"}); st != 200 || b != "a1" {
			t.Errorf("a at snapshot by name: %d %q", st, b)
		}
		if st, b := get("src", "a", nil); st != 200 || b != "a2" {
			t.Errorf("a now: %d %q", st, b)
		}
		resp, _ := ls.raw(t, "HEAD", "/src/a", nil, at)
		if resp.StatusCode != 200 || resp.ContentLength != 2 {
			t.Errorf("HEAD at snapshot: %d %d", resp.StatusCode, resp.ContentLength)
		}
		_, body := ls.raw(t, "GET", "/src?list-type=2", nil, at)
		var v2 ListBucketResultV2
		if err := xml.Unmarshal(body, &v2); err != nil || v2.KeyCount != 2 || v2.Contents[0].Key != "a" || v2.Contents[1].Key != "b" {
			t.Errorf("ListObjectsV2 at snapshot: %s", body)
		}
		_, body = ls.raw(t, "GET", "/src", nil, at)
		var v1 ListBucketResult
		if err := xml.Unmarshal(body, &v1); err != nil || len(v1.Contents) != 2 {
			t.Errorf("ListObjects at snapshot: %s", body)
		}
		resp, body = ls.raw(t, "GET", "/src?versions", nil, at)
		if resp.StatusCode != 200 || bytes.Contains(body, []byte("<Key>c</Key>")) {
			t.Errorf("ListObjectVersions at snapshot: %d %s", resp.StatusCode, body)
		}
		resp, body = ls.raw(t, "GET", "/src/a", nil, map[string]string{"X-Tigris-Snapshot-Version": "no-such-name"})
		if resp.StatusCode != 404 || !bytes.Contains(body, []byte("NoSuchSnapshot")) {
			t.Errorf("unknown snapshot: %d %s", resp.StatusCode, body)
		}
		resp, body = ls.raw(t, "GET", "/src/a", nil, map[string]string{"X-Tigris-Snapshot-Version": "1;2"})
		if resp.StatusCode != 400 || !bytes.Contains(body, []byte("InvalidArgument")) {
			t.Errorf("malformed snapshot: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("snapshots are read-only", func(t *testing.T) {
		at := map[string]string{"X-Tigris-Snapshot-Version": snap}
		resp, body := ls.raw(t, "PUT", "/src/a", []byte("nope"), at)
		if resp.StatusCode != 400 || !bytes.Contains(body, []byte("read-only")) {
			t.Errorf("PUT into a snapshot: %d %s", resp.StatusCode, body)
		}
		resp, _ = ls.raw(t, "DELETE", "/src/a", nil, at)
		if resp.StatusCode != 400 {
			t.Errorf("DELETE in a snapshot: %d", resp.StatusCode)
		}
		if st, b := get("src", "a", nil); st != 200 || b != "a2" {
			t.Errorf("a changed: %d %q", st, b)
		}
	})

	t.Run("copy from a snapshot", func(t *testing.T) {
		resp, body := ls.raw(t, "PUT", "/src/restored", nil, map[string]string{"x-amz-copy-source": "/src/b", "X-Tigris-Snapshot-Version": snap})
		if resp.StatusCode != 200 {
			t.Fatalf("copy: %d %s", resp.StatusCode, body)
		}
		if st, b := get("src", "restored", nil); st != 200 || b != "b1" {
			t.Errorf("restored: %d %q", st, b)
		}
	})

	t.Run("list snapshots", func(t *testing.T) {
		_, body := ls.raw(t, "GET", "/", nil, map[string]string{"X-Tigris-Snapshot": "src"})
		var res ListAllMyBucketsResult
		if err := xml.Unmarshal(body, &res); err != nil || len(res.Buckets) != 1 || res.Buckets[0].Name != snap+"; name=first" {
			t.Errorf("ListSnapshots: %s", body)
		}
	})

	t.Run("fork from the snapshot", func(t *testing.T) {
		resp, body := ls.raw(t, "PUT", "/fork1", nil, map[string]string{"X-Tigris-Fork-Source-Bucket": "src", "X-Tigris-Fork-Source-Bucket-Snapshot": snap})
		if resp.StatusCode != 200 {
			t.Fatalf("fork: %d %s", resp.StatusCode, body)
		}
		if st, b := get("fork1", "a", nil); st != 200 || b != "a1" {
			t.Errorf("fork a: %d %q", st, b)
		}
		if st, _ := get("fork1", "c", nil); st != 404 {
			t.Errorf("fork c: %d", st)
		}
		put("fork1", "a", "fork-a")
		if st, b := get("src", "a", nil); st != 200 || b != "a2" {
			t.Errorf("parent changed by a fork write: %d %q", st, b)
		}
		if err := ls.mc.RemoveObject(ctx, "fork1", "b", minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if st, b := get("src", "b", map[string]string{"X-Tigris-Snapshot-Version": snap}); st != 200 || b != "b1" {
			t.Errorf("snapshot changed by a fork delete: %d %q", st, b)
		}
		resp, _ = ls.raw(t, "HEAD", "/fork1", nil, nil)
		if resp.Header.Get("X-Tigris-Fork-Source-Bucket") != "src" || resp.Header.Get("X-Tigris-Fork-Source-Bucket-Snapshot") != snap {
			t.Errorf("fork HEAD: %v", resp.Header)
		}
		resp, _ = ls.raw(t, "HEAD", "/src", nil, nil)
		if resp.Header.Get("X-Tigris-Is-Fork-Parent") != "true" {
			t.Errorf("parent HEAD: %v", resp.Header)
		}
		resp, body = ls.raw(t, "PUT", "/fork1", nil, map[string]string{"X-Tigris-Fork-Source-Bucket": "src"})
		if resp.StatusCode != 409 || !bytes.Contains(body, []byte("BucketAlreadyExists")) {
			t.Errorf("fork onto an existing name: %d %s", resp.StatusCode, body)
		}
		var names []string
		for o := range ls.mc.ListObjects(ctx, "fork1", minio.ListObjectsOptions{Recursive: true}) {
			names = append(names, o.Key)
		}
		if strings.Join(names, ",") != "a" {
			t.Errorf("fork listing %q", names)
		}
	})

	t.Run("fork of the live bucket", func(t *testing.T) {
		resp, body := ls.raw(t, "PUT", "/fork2", nil, map[string]string{"x-tigris-fork-source-bucket": "src"})
		if resp.StatusCode != 200 {
			t.Fatalf("fork: %d %s", resp.StatusCode, body)
		}
		if st, b := get("fork2", "c", nil); st != 200 || b != "c2" {
			t.Errorf("fork2 c: %d %q", st, b)
		}
		resp, body = ls.raw(t, "PUT", "/fork3", nil, map[string]string{"X-Tigris-Fork-Source-Bucket": "nosuch"})
		if resp.StatusCode != 404 {
			t.Errorf("fork of a missing bucket: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("admin API", func(t *testing.T) {
		adm := func(method, path string, body any) (int, map[string]any) {
			t.Helper()
			var data []byte
			if body != nil {
				data, _ = json.Marshal(body)
			}
			resp, out := ls.raw(t, method, "/_forkstore/v1/"+path, data, nil)
			var m map[string]any
			if len(out) > 0 {
				if err := json.Unmarshal(out, &m); err != nil {
					t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
				}
			}
			return resp.StatusCode, m
		}
		st, m := adm("POST", "buckets/src/snapshots", map[string]string{"name": "second"})
		if st != 201 || m["name"] != "second" || m["bucket"] != "src" {
			t.Fatalf("create snapshot: %d %v", st, m)
		}
		second, _ := m["version"].(string)
		if _, err := strconv.ParseUint(second, 10, 64); err != nil {
			t.Fatalf("version %v is not a decimal string", m["version"])
		}
		st, m = adm("GET", "buckets/src/snapshots", nil)
		if snaps, _ := m["snapshots"].([]any); st != 200 || len(snaps) != 2 {
			t.Errorf("list snapshots: %d %v", st, m)
		}
		st, m = adm("POST", "buckets/src/forks", map[string]string{"name": "fork4", "snapshot": "second"})
		if st != 201 || m["name"] != "fork4" {
			t.Errorf("create fork: %d %v", st, m)
		}
		st, m = adm("GET", "buckets/src/forks", nil)
		if forks, _ := m["forks"].([]any); st != 200 || len(forks) != 3 {
			t.Errorf("list forks: %d %v", st, m)
		}
		st, m = adm("GET", "buckets/fork1/lineage", nil)
		if parent, _ := m["parent"].(map[string]any); st != 200 || parent["bucket"] != "src" || parent["version"] != snap {
			t.Errorf("lineage: %d %v", st, m)
		}
		st, m = adm("GET", "buckets/fork1/diff?max-keys=1", nil)
		entries, _ := m["entries"].([]any)
		if st != 200 || len(entries) != 1 || m["is_truncated"] != true || m["next_continuation_token"] == "" {
			t.Fatalf("diff page 1: %d %v", st, m)
		}
		tok, _ := m["next_continuation_token"].(string)
		st, m = adm("GET", "buckets/fork1/diff?continuation-token="+url.QueryEscape(tok), nil)
		entries2, _ := m["entries"].([]any)
		if st != 200 || len(entries2) != 1 || m["is_truncated"] != false {
			t.Errorf("diff page 2: %d %v", st, m)
		}
		st, m = adm("DELETE", "buckets/src/snapshots/"+second, nil)
		if st != 200 || m["deleted"] != true {
			t.Errorf("delete snapshot: %d %v", st, m)
		}
		st, m = adm("GET", "buckets/nosuch/lineage", nil)
		if st != 404 || m["code"] != "NoSuchBucket" {
			t.Errorf("missing bucket: %d %v", st, m)
		}
		st, m = adm("POST", "buckets/src/forks", map[string]string{"name": "fork1"})
		if st != 409 || m["code"] != "BucketAlreadyExists" {
			t.Errorf("fork name taken: %d %v", st, m)
		}
	})

	t.Run("delete snapshot over S3", func(t *testing.T) {
		resp, body := ls.raw(t, "DELETE", "/src", nil, map[string]string{"X-Tigris-Snapshot-Version": snap})
		if resp.StatusCode != 204 {
			t.Fatalf("delete snapshot: %d %s", resp.StatusCode, body)
		}
		_, body = ls.raw(t, "GET", "/", nil, map[string]string{"X-Tigris-Snapshot": "src"})
		if bytes.Contains(body, []byte(snap+"; name=first")) {
			t.Errorf("snapshot still listed: %s", body)
		}
		resp, _ = ls.raw(t, "HEAD", "/src", nil, nil)
		if resp.StatusCode != 200 {
			t.Errorf("bucket gone with its snapshot: %d", resp.StatusCode)
		}
	})
}

//go:build cluster

package cluster

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/sse"
)

// TestSSEReplicated: every node runs with the same master key. An SSE-S3
// object stored in chunks (3 MiB) and an inline one are written through
// node 1 while a follower is down; the follower restarts and gets its
// chunk copies by repair. Nodes 2 and 3 then read both objects back byte
// for byte, whole and by range, and say AES256; no chunk file of any node
// (nor any other file of its data directory) holds the marker written in
// the encrypted bodies, while a plaintext chunked object's marker is found
// in the chunk files (the scan works). Then a bucket default encryption set
// or removed holds for the PUTs sent through every node right after
// (defaultRounds).
func TestSSEReplicated(t *testing.T) {
	master := make([]byte, 32)
	rand.Read(master)
	marker := func(what string) []byte {
		b := make([]byte, 8)
		rand.Read(b)
		return []byte("FORKSTORE-" + what + "-" + hex.EncodeToString(b) + "|")
	}
	secret, plain := marker("SECRET"), marker("PLAIN")
	c := startCluster(t, 3, withEnv("FORKSTORE_KMS_KEY="+base64.StdEncoding.EncodeToString(master)))
	n1 := c.Node(1)
	const b = "sse-cluster"
	must(t, "make bucket", n1.makeBucket(b))

	// A follower other than node 1 goes down before the writes.
	l := c.WaitLeader(t)
	var down *Node
	for _, n := range []*Node{c.Node(3), c.Node(2)} {
		if n.ID != l.ID {
			down = n
			break
		}
	}
	down.Kill()
	t.Logf("leader node %d; node %d killed before the writes", l.ID, down.ID)

	body := func(size int, m []byte) []byte {
		out := make([]byte, 0, size)
		for len(out) < size {
			out = append(out, m...)
			out = append(out, byte(len(out)), byte(len(out)>>8), byte(len(out)>>16))
		}
		return out[:size]
	}
	objects := map[string][]byte{
		"big":    body(3<<20+17, secret),
		"inline": body(1500, secret),
	}
	plainBody := body(bigMin+33, plain)
	for key, data := range objects {
		ctx, cancel := opCtx()
		_, err := n1.S3().PutObject(ctx, b, key, bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()})
		cancel()
		must(t, "put "+key, err)
	}
	must(t, "put plain", n1.putObject(b, "plain", plainBody))

	down.Start()
	down.WaitReady(t)
	c.WaitConverged(t)
	want := chunkIDs(t, n1)
	got := chunkIDs(t, down)
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Fatalf("node %d lacks chunk %s after its restart and repair (it holds %d, node 1 %d)", down.ID, id, len(got), len(want))
		}
	}

	for _, n := range []*Node{c.Node(2), c.Node(3)} {
		for key, data := range objects {
			ctx, cancel := opCtx()
			obj, err := n.S3().GetObject(ctx, b, key, minio.GetObjectOptions{})
			must(t, fmt.Sprintf("GET %s through node %d", key, n.ID), err)
			read, err := io.ReadAll(obj)
			must(t, fmt.Sprintf("read %s through node %d", key, n.ID), err)
			st, err := obj.Stat()
			must(t, fmt.Sprintf("stat %s through node %d", key, n.ID), err)
			obj.Close()
			cancel()
			if !bytes.Equal(read, data) {
				t.Fatalf("node %d: %s reads %d bytes, not the %d written", n.ID, key, len(read), len(data))
			}
			if h := st.Metadata.Get("X-Amz-Server-Side-Encryption"); h != "AES256" {
				t.Errorf("node %d: %s says x-amz-server-side-encryption %q, want AES256", n.ID, key, h)
			}
			// A range across a chunk boundary (or inside the inline body).
			start, end := int64(len(data)/3), int64(len(data)*2/3)
			if key == "big" {
				start, end = 1<<20-100, 2<<20+100
			}
			o := minio.GetObjectOptions{}
			must(t, "set range", o.SetRange(start, end))
			ctx, cancel = opCtx()
			obj, err = n.S3().GetObject(ctx, b, key, o)
			must(t, fmt.Sprintf("range GET %s through node %d", key, n.ID), err)
			read, err = io.ReadAll(obj)
			obj.Close()
			cancel()
			must(t, fmt.Sprintf("read range of %s through node %d", key, n.ID), err)
			if !bytes.Equal(read, data[start:end+1]) {
				t.Fatalf("node %d: %s bytes %d-%d read %d bytes that differ from those written", n.ID, key, start, end, len(read))
			}
		}
	}

	// On disk: the plaintext marker in every node's chunk files, the
	// encrypted bodies' marker nowhere in any data directory.
	for _, n := range c.Nodes() {
		var files, plainFound int
		err := filepath.WalkDir(n.DataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				if os.IsNotExist(err) { // a file removed under us (badger, raft log)
					return nil
				}
				return err
			}
			files++
			if bytes.Contains(data, secret) {
				t.Errorf("node %d: %s holds the plaintext of an encrypted object", n.ID, p)
			}
			if chunkName.MatchString(d.Name()) && bytes.Contains(data, plain) {
				plainFound++
			}
			return nil
		})
		must(t, fmt.Sprintf("scan node %d", n.ID), err)
		if plainFound == 0 {
			t.Errorf("node %d: no chunk file holds the plaintext object's marker (%d files scanned): the scan proves nothing", n.ID, files)
		}
	}

	defaultRounds(t, c, b)
}

// defaultRounds sets and removes bucket b's default encryption, three
// times, while a follower is paused, so that its replica may not have
// applied the change when it resumes; PUTs of a small and a chunked object
// without an encryption header go through that follower at once, then
// through the other nodes, and each must be stored as the change says (a
// node reads the default from its replica without a leader round, and
// apply checks what it read). Whether the follower is still behind when
// its PUT reads is up to the scheduler: gateway's
// TestPutStaleDefaultEncryption makes a replica behind on purpose.
func defaultRounds(t *testing.T, c *Cluster, b string) {
	small, big := bytes.Repeat([]byte("d"), 300), bytes.Repeat([]byte("D"), bigMin+5)
	for round := range 6 {
		on := round%2 == 0
		l := c.WaitLeader(t)
		behind := c.Node(1 + (l.ID+uint64(round%2))%3)
		behind.Pause()
		ctx, cancel := opCtx()
		var err error
		if on {
			err = l.S3().SetBucketEncryption(ctx, b, sse.NewConfigurationSSES3())
		} else {
			err = l.S3().RemoveBucketEncryption(ctx, b)
		}
		cancel()
		behind.Resume()
		must(t, fmt.Sprintf("default encryption %v", on), err)
		want := map[bool]string{true: "AES256", false: ""}[on]
		nodes := []*Node{behind}
		for _, n := range c.Nodes() {
			if n != behind {
				nodes = append(nodes, n)
			}
		}
		for _, n := range nodes {
			for name, data := range map[string][]byte{"small": small, "big": big} {
				key := fmt.Sprintf("default-%d-%d-%s", round, n.ID, name)
				ctx, cancel := opCtx()
				_, err := n.S3().PutObject(ctx, b, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
				cancel()
				must(t, fmt.Sprintf("PUT %s through node %d", key, n.ID), err)
				ctx, cancel = opCtx()
				st, err := l.S3().StatObject(ctx, b, key, minio.StatObjectOptions{})
				cancel()
				must(t, "stat "+key, err)
				if h := st.Metadata.Get("X-Amz-Server-Side-Encryption"); h != want {
					t.Fatalf("%s, PUT through node %d right after the default was set to %q: stored with %q", key, n.ID, want, h)
				}
			}
		}
	}
}

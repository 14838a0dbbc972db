//go:build cluster

package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// diskSize is the size of the small filesystem one node's data directory
// lives on, and minFree the nodes' --min-free-space: half of it is the
// reserve that the full node gives to its Raft log and metadata when the
// filler takes the last byte.
const (
	diskSize = "1g"
	minFree  = "512MiB"
)

// mountTmpfs mounts a tmpfs of size at a fresh directory and unmounts it
// when the test ends (after the processes the test started later are
// gone: cleanups run last-registered first). It skips the test when not
// root or when mounting is not allowed here.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for the node's data directory")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "forkstore-test", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, bytes.TrimSpace(out))
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// fillDisk takes the free space of the filesystem of dir but leave bytes
// (and 1 MiB) with a filler file named name, and returns its path and
// size. The size is fixed by the free space when it starts: it allocates
// all but the last 32 MiB of it at once (fallocate), the rest 1 MiB at a
// time, and stops at the first ENOSPC. So it does not take space that the
// node frees meanwhile (its reserve): a writer that goes on writing
// whatever is free would, and no node survives that.
func fillDisk(t *testing.T, dir, name string, leave int64) (string, int64) {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create filler: %v", err)
	}
	defer f.Close()
	free := func() int64 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatalf("statfs: %v", err)
		}
		return int64(st.Bavail) * st.Bsize
	}
	target := free() - leave - 1<<20
	var size int64
	if first := target - 32<<20; first > 0 {
		err := syscall.Fallocate(int(f.Fd()), 0, 0, first)
		if err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("fallocate: %v", err)
		}
		if err == nil {
			size = first
		}
	}
	for size < target {
		n := min(1<<20, target-size)
		if err := syscall.Fallocate(int(f.Fd()), 0, size, n); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fallocate: %v", err)
			}
			break
		}
		size += n
	}
	t.Logf("%s: %d MiB, %d MiB left free", name, size>>20, free()>>20)
	return path, size
}

// exitReport is why node n's process ended: the first lines of a crash
// in its log (a Go crash dump is too long for a log tail), or the tail.
func exitReport(n *Node) string {
	b, err := os.ReadFile(n.LogPath)
	if err != nil {
		return err.Error()
	}
	for _, marker := range []string{"fatal error:", "panic:", "unexpected fault"} {
		if i := bytes.Index(b, []byte(marker)); i >= 0 {
			start := max(0, i-4<<10)
			return string(b[start:min(len(b), i+6<<10)])
		}
	}
	return n.LogTail(8 << 10)
}

// TestFullDiskOnOneNode: one member of a 3-node cluster keeps its data on
// a small filesystem, which a filler file fills to the last byte while a
// load runs. The node must not exit: it answers 507 InsufficientStorage
// to PUTs, keeps serving reads and applying the writes the others take
// (from its reserve), says "low" in its status, and the cluster takes
// writes through the other two nodes (placing chunks on them). Then a
// second filler takes the reserve's space too: the node stops its
// metadata replica instead of meeting ENOSPC, and the others go on. Once
// the fillers are removed the node starts its replica again and takes
// writes by itself, pulls the chunks it missed, and no acknowledged write
// is lost.
func TestFullDiskOnOneNode(t *testing.T) {
	disk := mountTmpfs(t, diskSize)
	c := startCluster(t, 3, withDataDir(3, filepath.Join(disk, "data")), withArgs("--min-free-space", minFree))
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)

	load := c.StartLoad(t, loadConfig{bucket: "full", bigEvery: 4, maxOps: 2000})
	load.WaitAcks(t, 20, time.Minute)
	// The writes checked by name go to a bucket of their own (the load's
	// log checks its bucket's listing).
	must(t, "bucket", n1.makeBucket("direct"))
	before := []byte(strings.Repeat("written before the disk filled; ", 4000)) // 128 KB: chunked
	must(t, "put before", n1.putObject("direct", "before", before))

	filler, _ := fillDisk(t, disk, "filler", 0)
	filledAt := time.Now()

	var appliedWhenFull uint64
	waitFor(t, 30*time.Second, "node 3 to report its disk low", func() error {
		if !n3.Running() {
			return fmt.Errorf("node 3 exited: %s", exitReport(n3))
		}
		st, err := n3.NodeStatus(statusTimeout)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(st.Disk, "low") {
			return fmt.Errorf("node 3 disk %q", st.Disk)
		}
		appliedWhenFull = st.AppliedIndex
		return nil
	})

	// PUTs on the full node: 507 InsufficientStorage, inline and chunked.
	for _, size := range []int{100, 2 << 20} {
		err := n3.putObject("direct", fmt.Sprintf("refused-%d", size), make([]byte, size))
		if code, status := s3Code(err); status != http.StatusInsufficientStorage || code != "InsufficientStorage" {
			t.Errorf("PUT of %d bytes on the full node: %s, want 507 InsufficientStorage", size, describe(err))
		}
	}
	// Writes through the other nodes go on, chunked ones included (their
	// copies go to nodes 1 and 2), and node 3 applies them while full: its
	// Raft log and metadata grow into the reserve for a while (several
	// Badger memtables).
	load.WaitAcks(t, 400, 3*time.Minute)
	during := bytes.Repeat([]byte("written while node 3 was full "), 100000) // 3 MB
	must(t, "chunked put through node 1 while node 3 is full", n1.putObject("direct", "during", during))
	must(t, "chunked put through node 2 while node 3 is full", n2.putObject("direct", "during2", during))

	// Reads keep working on the full node, of old and new objects.
	for key, want := range map[string][]byte{"before": before, "during": during, "during2": during} {
		got, err := n3.getObject("direct", key, "")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("GET %s on the full node: %d bytes, %v", key, len(got), err)
		}
	}
	st, err := n1.ClusterStatus()
	must(t, "cluster status", err)
	if m := st.member(3); m == nil || !strings.HasPrefix(m.Disk, "low") {
		t.Errorf("cluster status through node 1 does not say node 3's disk is low: %+v", m)
	}
	if !n3.Running() {
		t.Fatalf("node 3 exited while its disk was full:\n%s", exitReport(n3))
	}
	var appliedNow uint64
	if m := st.member(3); m != nil {
		appliedNow = m.AppliedIndex
	}
	if appliedNow <= appliedWhenFull {
		t.Errorf("node 3 applied nothing while full: index %d, %d when it turned low", appliedNow, appliedWhenFull)
	}
	t.Logf("node 3 full for %v, still running; applied index %d when it turned low, %d now",
		time.Since(filledAt).Round(time.Millisecond), appliedWhenFull, appliedNow)

	// Something takes most of the space of the reserve the node released
	// too, leaving less than the node needs to go on for long: the node
	// stops its metadata replica rather than let its Raft log or Badger
	// meet ENOSPC (Badger writes through memory-mapped files: SIGBUS), and
	// the other two go on. (Taken to the last byte in one go, nothing is
	// left for Badger to close its files with.)
	filler2, _ := fillDisk(t, disk, "filler2", 12<<20)
	waitFor(t, 30*time.Second, "node 3 to stop its metadata replica", func() error {
		if !n3.Running() {
			return fmt.Errorf("node 3 exited: %s", exitReport(n3))
		}
		st, err := n3.NodeStatus(statusTimeout)
		if err != nil {
			return err
		}
		if !strings.Contains(st.Disk, "metadata replica stopped") {
			return fmt.Errorf("node 3 disk %q", st.Disk)
		}
		return nil
	})
	load.WaitAcks(t, 50, time.Minute)
	must(t, "put through node 1 while node 3's replica is stopped", n1.putObject("direct", "stopped", during))
	if !n3.Running() {
		t.Fatalf("node 3 exited with its disk full:\n%s", exitReport(n3))
	}

	// Space comes back: the node takes writes again by itself.
	for _, f := range []string{filler2, filler} {
		if err := os.Remove(f); err != nil {
			t.Fatalf("remove filler: %v", err)
		}
	}
	after := bytes.Repeat([]byte("written through node 3 after space came back "), 50000)
	waitFor(t, 30*time.Second, "node 3 to take writes again", func() error {
		if !n3.Running() {
			return fmt.Errorf("node 3 exited: %s", exitReport(n3))
		}
		return n3.putObject("direct", "after", after)
	})
	load.WaitAcks(t, 20, time.Minute)
	load.Stop()
	if !n3.Running() {
		t.Fatalf("node 3 exited:\n%s", exitReport(n3))
	}
	if !strings.Contains(string(n3.LogTail(1<<20)), "disk space") {
		t.Errorf("node 3 did not log the low disk")
	}

	// Nothing acknowledged is lost, on any node; node 3 pulls the chunks
	// it missed while full (its repair backlog drains).
	c.WaitConverged(t)
	load.Log.Verify(t, c.Nodes())
	for _, n := range c.Nodes() {
		for key, want := range map[string][]byte{"before": before, "during": during, "during2": during, "stopped": during, "after": after} {
			got, err := n.getObject("direct", key, "")
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("GET %s on node %d: %d bytes, %v", key, n.ID, len(got), err)
			}
		}
	}
	acked, failed := load.Log.counts()
	t.Logf("load: %d acknowledged, %d failed (PUTs refused on the full node among them)", acked, failed)
}

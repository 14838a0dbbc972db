package meta

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestReleaseMappedDropsResidentPages: after a release the tables' mappings
// have no resident page left, and reading the objects again brings them
// back.
func TestReleaseMappedDropsResidentPages(t *testing.T) {
	tf := openTestFSMWith(t, Options{BadgerMemTableSize: 1 << 20, BaseTableSize: 1 << 20, IndexCacheSize: 1 << 20})
	tf.createBucket("b")
	body := string(bytes.Repeat([]byte("x"), 4096))
	const objects, batch = 1000, 16
	for i := 0; i < objects; i += batch {
		var cmds []any
		for j := i; j < min(i+batch, objects); j++ {
			cmds = append(cmds, &PutObject{Bucket: "b", Object: obj(fmt.Sprintf("k%05d", j), body)})
		}
		tf.applyBatch(cmds...)
	}
	readAll := func() {
		for i := range objects {
			tf.mustGet("b", fmt.Sprintf("k%05d", i), 0, body)
		}
	}
	readAll()
	dir := tf.fsm.mappedDir
	if n := residentTableKiB(t, dir); n == 0 {
		t.Fatal("no resident table page before the release (are the objects in tables?)")
	}
	// Background compactions may still be writing tables (which are not
	// in the tree yet, so not released) and reading others: wait until a
	// release leaves nothing resident.
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := tf.fsm.ReleaseMapped()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("release advised no mapping")
		}
		kib := residentTableKiB(t, dir)
		if kib == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d KiB of table mappings still resident after the release", kib)
		}
		time.Sleep(10 * time.Millisecond)
	}
	readAll()
	if n := residentTableKiB(t, dir); n == 0 {
		t.Fatal("no resident table page after reading again")
	}
}

// residentTableKiB sums the Rss of the mappings of dir/*.sst in
// /proc/self/smaps.
func residentTableKiB(t *testing.T, dir string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		fields := bytes.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !bytes.HasSuffix(fields[0], []byte(":")) { // a mapping's header
			_, _, path, ok := parseSharedMapping(line)
			in = ok && filepath.Dir(path) == dir && filepath.Ext(path) == ".sst"
			continue
		}
		if in && bytes.HasPrefix(line, []byte("Rss:")) {
			v, err := strconv.ParseInt(string(bytes.Fields(line)[1]), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

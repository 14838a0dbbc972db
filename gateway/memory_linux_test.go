package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

// TestNodeReleasesMappedTables: the pages of the metadata store's mapped
// tables that PUTs of inline objects made resident are released by the
// node while it runs (the written tables do not stay in its RSS), and
// every object reads back whole afterwards.
func TestNodeReleasesMappedTables(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.Meta.BadgerMemTableSize = 1 << 20
	cfg.Meta.BaseTableSize = 1 << 20
	cfg.ReleaseStep = 1 << 20
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bkt"}); err != nil {
		t.Fatal(err)
	}
	const objects, workers = 1500, 8
	body := func(i int) []byte { return randBytes(uint64(i), 4096) }
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < objects; i += workers {
				put(t, s, "bkt", fmt.Sprintf("k%05d", i), body(i))
			}
		}()
	}
	wg.Wait()
	tables := 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		kib, n := residentTables(t, filepath.Join(cfg.DataDir, "meta"))
		tables = n
		if n > 0 && kib < 1024 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d KiB of %d mapped tables still resident", kib, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d tables mapped, under 1 MiB of them resident", tables)
	for i := range objects {
		got, err := get(t, s, gateway.GetObjectInput{Bucket: "bkt", Key: fmt.Sprintf("k%05d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body(i)) {
			t.Fatalf("k%05d reads back different", i)
		}
	}
}

// residentTables returns the resident KiB and the number of the mappings
// of the .sst files under dir, from /proc/self/smaps.
func residentTables(t *testing.T, dir string) (kib int64, mappings int) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) == 0 {
			continue
		}
		if !bytes.HasSuffix(fields[0], []byte(":")) { // a mapping's header
			path := string(fields[len(fields)-1])
			in = len(fields) == 6 && filepath.Ext(path) == ".sst" && filepath.Dir(filepath.Dir(path)) == dir
			if in {
				mappings++
			}
			continue
		}
		if in && string(fields[0]) == "Rss:" {
			v, err := strconv.ParseInt(string(fields[1]), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			kib += v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kib, mappings
}

package gateway_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// TestLowDiskRefusesNewData: a node whose data directory has less free
// space than --min-free-space (here: more than any disk has) refuses new
// data with ErrStorageFull, inline and chunked, new buckets included, and
// says so in its status; it still serves what it has and takes deletes.
// With room, it keeps a reserve file.
func TestLowDiskRefusesNewData(t *testing.T) {
	cfg := gatewaytest.Config(t)
	cfg.ChunkSize = 64 << 10
	cfg.InlineMax = 1 << 10
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	if st := s.DiskStatus(); !strings.HasPrefix(st, "ok") {
		t.Fatalf("disk status %q with the default threshold on the test machine's disk", st)
	}
	reserve := filepath.Join(cfg.DataDir, "reserved-space")
	if fi, err := os.Stat(reserve); err != nil || fi.Size() == 0 {
		t.Errorf("no reserve file with room on the disk: %v", err)
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bkt"}); err != nil {
		t.Fatal(err)
	}
	small, big := randBytes(1, 100), randBytes(2, 200<<10)
	put(t, s, "bkt", "small", small)
	put(t, s, "bkt", "big", big)
	n.Close()

	cfg.MinFreeSpace = gateway.MinFreeSpace{Bytes: 1 << 62}
	n = gatewaytest.NewNode(t, cfg)
	s = n.Service()
	if st := s.DiskStatus(); !strings.HasPrefix(st, "low: ") {
		t.Fatalf("disk status %q, want low", st)
	}
	if st := s.NodeStatus(ctx(t)); !strings.HasPrefix(st.Disk, "low: ") {
		t.Errorf("node status disk %q, want low", st.Disk)
	}
	reg := prometheus.NewRegistry()
	if err := n.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if g := gauges(t, reg); g["forkstore_disk_low"] != 1 || g["forkstore_disk_min_free_bytes"] != 1<<62 || g["forkstore_disk_free_bytes"] <= 0 {
		t.Errorf("disk metrics of a low node: low %v, min free %v, free %v",
			g["forkstore_disk_low"], g["forkstore_disk_min_free_bytes"], g["forkstore_disk_free_bytes"])
	}
	// The disk has plenty of room, only not the threshold: the reserve
	// is kept for when it is nearly full.
	if _, err := os.Stat(reserve); err != nil {
		t.Errorf("the reserve file is gone from a low disk that is far from full: %v", err)
	}
	for _, body := range [][]byte{small, big} {
		_, err := s.PutObject(ctx(t), &gateway.PutObjectInput{Bucket: "bkt", Key: "new", Body: bytes.NewReader(body), Size: int64(len(body))})
		if !errors.Is(err, gateway.ErrStorageFull) {
			t.Errorf("PUT of %d bytes on a low disk: %v, want ErrStorageFull", len(body), err)
		}
	}
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bkt2"}); !errors.Is(err, gateway.ErrStorageFull) {
		t.Errorf("CreateBucket on a low disk: %v, want ErrStorageFull", err)
	}
	for key, want := range map[string][]byte{"small": small, "big": big} {
		got, err := get(t, s, gateway.GetObjectInput{Bucket: "bkt", Key: key})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("GET %s on a low disk: %d bytes, %v", key, len(got), err)
		}
	}
	if _, err := s.DeleteObject(ctx(t), "bkt", "small", "", meta.DeleteCondition{}, false); err != nil {
		t.Errorf("DELETE on a low disk: %v", err)
	}
	if _, err := get(t, s, gateway.GetObjectInput{Bucket: "bkt", Key: "small"}); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Errorf("GET of the deleted key: %v", err)
	}
}

package meta

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReleaseMappedKeepsData writes inline objects through many memtable
// flushes and compactions while other goroutines release the tables'
// mapped pages and read objects back, then reads every object back, before
// and after a reopen: releasing pages changes nothing that is read.
func TestReleaseMappedKeepsData(t *testing.T) {
	tf := openTestFSMWith(t, Options{BadgerMemTableSize: 1 << 20, BaseTableSize: 1 << 20, IndexCacheSize: 1 << 20})
	tf.createBucket("b")
	const objects, batch = 3000, 16
	body := func(i, gen int) string {
		b := make([]byte, 4096)
		r := rand.New(rand.NewPCG(uint64(i), uint64(gen)))
		for j := range b {
			b[j] = 'a' + byte(r.IntN(26))
		}
		return string(b)
	}
	key := func(i int) string { return fmt.Sprintf("k%05d", i) }

	var written atomic.Int64 // objects 0..written-1 are in (generation 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var releases, advised atomic.Int64
	errs := make(chan error, 4)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := tf.fsm.ReleaseMapped()
			if err != nil {
				errs <- err
				return
			}
			releases.Add(1)
			advised.Add(n)
			runtime.Gosched()
		}
	}()
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := written.Load()
			if n == 0 {
				runtime.Gosched()
				continue
			}
			i := int(r.Int64N(n))
			v, err := tf.fsm.Lookup(Query(func(r *Reader) (any, error) { return r.GetObject("b", key(i), "", 0) }))
			if err != nil {
				errs <- fmt.Errorf("get %s: %w", key(i), err)
				return
			}
			if got := string(v.(*Object).Inline); got != body(i, 0) {
				errs <- fmt.Errorf("get %s: body differs", key(i))
				return
			}
		}
	}()
	for i := 0; i < objects; i += batch {
		var cmds []any
		for j := i; j < min(i+batch, objects); j++ {
			cmds = append(cmds, &PutObject{Bucket: "b", Object: obj(key(j), body(j, 0))})
		}
		for _, res := range tf.applyBatch(cmds...) {
			if _, err := DecodeResult(res); err != nil {
				t.Fatal(err)
			}
		}
		written.Store(int64(min(i+batch, objects)))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d releases, %d MiB advised", releases.Load(), advised.Load()>>20)
	if runtime.GOOS == "linux" && advised.Load() == 0 {
		t.Fatal("no table mapping was released")
	}
	check := func() {
		t.Helper()
		for i := range objects {
			tf.mustGet("b", key(i), 0, body(i, 0))
		}
	}
	check()
	if _, err := tf.fsm.ReleaseMapped(); err != nil {
		t.Fatal(err)
	}
	check()
	tf.reopen()
	check()
}

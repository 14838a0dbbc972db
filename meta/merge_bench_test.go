package meta

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkMerge measures applying the merge of a fork with 10,000 changes
// (7,000 puts, 3,000 deletes) into its parent: the state machine's share
// (no Raft, no HTTP), with the default step budget or
// FORKSTORE_BENCH_STEP_WRITES writes per step.
// Run: go test -run '^$' -bench Merge -benchtime 1x ./meta/
func BenchmarkMerge(b *testing.B) {
	tf := openTestFSM(b)
	if v, err := strconv.Atoi(os.Getenv("FORKSTORE_BENCH_STEP_WRITES")); err == nil && v > 0 {
		tf.fsm.testStepBudget = stepBudget{writes: v, bytes: 1 << 20}
	}
	apply := func(cmds []any) {
		for len(cmds) > 0 {
			n := min(len(cmds), 256)
			tf.applyBatch(cmds[:n]...)
			cmds = cmds[n:]
		}
	}
	key := func(i int) string { return fmt.Sprintf("dir-%03d/key-%08d", i%100, i) }
	put := func(bucket string, i int) any {
		return &PutObject{Bucket: bucket, Object: Object{Key: key(i), ETag: `"d41d8cd98f00b204e9800998ecf8427e"`}}
	}
	b.StopTimer()
	for n := 1; n <= b.N; n++ {
		base, fork := fmt.Sprint("base", n), fmt.Sprint("fork", n)
		tf.createBucket(base)
		var cmds []any
		for i := 0; i < 5000; i++ {
			cmds = append(cmds, put(base, i))
		}
		apply(cmds)
		tf.fork(fork, base)
		cmds = cmds[:0]
		for i := 0; i < 2000; i++ {
			cmds = append(cmds, put(fork, i))
		}
		for i := 5000; i < 10000; i++ {
			cmds = append(cmds, put(fork, i))
		}
		for i := 2000; i < 5000; i++ {
			cmds = append(cmds, &DeleteObject{Bucket: fork, Key: key(i)})
		}
		apply(cmds)
		b.StartTimer()
		t0 := time.Now()
		rep, err := tf.merge(fork, MergeFail, false)
		took := time.Since(t0)
		b.StopTimer()
		if err != nil || rep.Puts != 7000 || rep.Deletes != 3000 {
			b.Fatalf("%+v %v", rep, err)
		}
		b.ReportMetric(float64(took.Milliseconds()), "merge-ms")
	}
}

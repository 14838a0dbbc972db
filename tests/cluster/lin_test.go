//go:build cluster

package cluster

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The linearizability check: clients run seeded random puts, gets and
// deletes of a few keys, fork the bucket and read the forks, on random
// nodes, while the leader is killed or paused; porcupine checks the
// recorded history against a model of a key-value map with forks.

// linInput is an operation of the history.
type linInput struct {
	op    string // put, get, delete, fork, fget
	key   string
	value string // put: the bytes written
	fork  string // fork, fget: the fork's name
	// keep (fork): a later read looks at the fork, so the model keeps its
	// keys; last (fget): the fork's last read, after which the model
	// forgets it. Forgetting forks no one reads keeps the model's states
	// few (each fork concurrent with a put would double them).
	keep, last bool
}

// linOutput is its outcome.
type linOutput struct {
	value    string
	found    bool
	noBucket bool // fget: the fork does not exist
	unknown  bool // a write whose outcome is unknown (error or timeout)
}

// linState is the model's state: the bucket's keys and every fork's
// keys, encoded canonically so states compare as strings.
type linState struct {
	kv    map[string]string
	forks map[string]map[string]string
	enc   string // encode(), computed once
}

func newLinState(kv map[string]string, forks map[string]map[string]string) linState {
	s := linState{kv: kv, forks: forks}
	s.enc = s.encode()
	return s
}

func (s linState) encode() string {
	var b strings.Builder
	writeMap := func(m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%q=%q,", k, m[k])
		}
	}
	writeMap(s.kv)
	names := make([]string, 0, len(s.forks))
	for f := range s.forks {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		fmt.Fprintf(&b, "|%s:", f)
		writeMap(s.forks[f])
	}
	return b.String()
}

func cloneKV(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// linModel is the sequential specification. States are linState values,
// never modified in place.
var linModel = porcupine.Model{
	Init: func() any { return newLinState(map[string]string{}, map[string]map[string]string{}) },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(linState), input.(linInput), output.(linOutput)
		switch in.op {
		case "put":
			kv := cloneKV(s.kv)
			kv[in.key] = in.value
			return true, newLinState(kv, s.forks)
		case "delete":
			kv := cloneKV(s.kv)
			delete(kv, in.key)
			return true, newLinState(kv, s.forks)
		case "get":
			v, ok := s.kv[in.key]
			return out.found == ok && (!ok || out.value == v), s
		case "fork":
			if !in.keep {
				return true, s
			}
			forks := make(map[string]map[string]string, len(s.forks)+1)
			for k, v := range s.forks {
				forks[k] = v
			}
			forks[in.fork] = cloneKV(s.kv)
			return true, newLinState(s.kv, forks)
		case "fget":
			f, ok := s.forks[in.fork]
			if !ok {
				return out.noBucket, s
			}
			v, has := f[in.key]
			ok = !out.noBucket && out.found == has && (!has || out.value == v)
			if !ok || !in.last {
				return ok, s
			}
			forks := make(map[string]map[string]string, len(s.forks))
			for k, v := range s.forks {
				if k != in.fork {
					forks[k] = v
				}
			}
			return true, newLinState(s.kv, forks)
		}
		panic("unknown op " + in.op)
	},
	Equal: func(a, b any) bool { return a.(linState).enc == b.(linState).enc },
	Hash: func(state any) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(linState).enc))
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		switch {
		case out.unknown:
			return fmt.Sprintf("%s(%s%s=%s) -> unknown", in.op, in.fork, in.key, in.value)
		case in.op == "get" || in.op == "fget":
			if out.noBucket {
				return fmt.Sprintf("%s(%s/%s) -> NoSuchBucket", in.op, in.fork, in.key)
			}
			if !out.found {
				return fmt.Sprintf("%s(%s/%s) -> NoSuchKey", in.op, in.fork, in.key)
			}
			return fmt.Sprintf("%s(%s/%s) -> %s", in.op, in.fork, in.key, out.value)
		}
		return fmt.Sprintf("%s(%s%s=%s)", in.op, in.fork, in.key, in.value)
	},
	DescribeState: func(state any) string { return state.(linState).enc },
}

// TestLinearizability records concurrent histories across nodes while
// the leader is killed (and restarted) or paused (and resumed), and
// checks each with porcupine.
func TestLinearizability(t *testing.T) {
	faults := []struct {
		name        string
		fault, heal func(n *Node)
	}{
		{"leader-kill", func(n *Node) { n.Kill() }, func(n *Node) { n.Start() }},
		{"leader-pause", func(n *Node) { n.Pause() }, func(n *Node) { n.Resume() }},
	}
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano()) + uint64(i)
			t.Logf("seed %d", seed)
			c := startCluster(t, 3)
			must(t, "bucket", c.Node(1).makeBucket("lin"))
			h := runHistory(t, c, seed, f.fault, f.heal)
			checkHistory(t, h)
		})
	}
}

const (
	linClients   = 4
	linPhaseOps  = 50  // operations recorded before the fault, after it, after the heal
	linFaultOps  = 100 // at most, started while the fault, and the heal, take effect
	linKeys      = 3
	linOpTimeout = 5 * time.Second
	linPace      = 10 * time.Millisecond
)

// runHistory runs the clients on random running nodes: linPhaseOps
// operations, the fault on the leader, linPhaseOps more once another
// leader is elected, the heal, and linPhaseOps more once all nodes are
// ready.
//
// Clients start an operation only with a token, so the history's length
// (which the check's cost grows with) does not depend on how long an
// election or a restart takes. A phase hands out tokens until it has
// recorded its operations: failed reads are not recorded, so a fixed
// budget per client could run out before a phase was complete.
func runHistory(t *testing.T, c *Cluster, seed uint64, fault, heal func(*Node)) []porcupine.Operation {
	t.Helper()
	origin := time.Now()
	ts := func() int64 { return int64(time.Since(origin)) }
	var (
		mu       sync.Mutex
		history  []porcupine.Operation
		inflight int // tokens taken whose operation has not ended
		wg       sync.WaitGroup
		forkSeq  int
		unknowns int
		stop     = make(chan struct{})
		tokens   = make(chan struct{}, 4*linPhaseOps)
	)
	recorded := func() (n int, idle bool) {
		mu.Lock()
		defer mu.Unlock()
		return len(history), inflight == 0 && len(tokens) == 0
	}
	grant := func(n int) {
		for range n {
			tokens <- struct{}{}
		}
	}
	// during keeps every client busy (up to linFaultOps operations)
	// until the returned function is called.
	during := func() (end func()) {
		quit, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(linPace)
			defer tick.Stop()
			for given := 0; given < linFaultOps; {
				if n := linClients - len(tokens); n > 0 {
					n = min(n, linFaultOps-given)
					grant(n)
					given += n
				}
				select {
				case <-quit:
					return
				case <-tick.C:
				}
			}
		}()
		return func() { close(quit); <-done }
	}
	for cl := range linClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(seed, uint64(cl)))
			tick := time.NewTicker(linPace)
			defer tick.Stop()
			var pending []linInput // reads of the fork just created
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				mu.Lock()
				select {
				case <-tokens:
					inflight++
				default:
					mu.Unlock()
					continue
				}
				mu.Unlock()
				done := func() {
					mu.Lock()
					inflight--
					mu.Unlock()
				}
				up := c.Up()
				if len(up) == 0 {
					done()
					continue
				}
				n := up[rng.IntN(len(up))]
				in := linInput{key: fmt.Sprintf("k%d", rng.IntN(linKeys))}
				switch r := rng.IntN(100); {
				case len(pending) > 0:
					in, pending = pending[0], pending[1:]
				case r < 35:
					in.op, in.value = "put", fmt.Sprintf("c%d-%d", cl, i)
				case r < 75:
					in.op = "get"
				case r < 85:
					in.op = "delete"
				default:
					mu.Lock()
					forkSeq++
					in.op, in.key, in.fork = "fork", "", fmt.Sprintf("lin-f%d", forkSeq)
					mu.Unlock()
				}
				call := ts()
				out, ok := doLin(n, in)
				ret := ts()
				if !ok {
					done()
					continue // a failed read, or a refused write: no effect
				}
				if out.unknown {
					// It may take effect at any time after the call.
					ret = math.MaxInt64 / 2
				}
				if in.op == "fork" && !out.unknown {
					for k := range linKeys {
						pending = append(pending, linInput{op: "fget", fork: in.fork, key: fmt.Sprintf("k%d", k), last: k == linKeys-1})
					}
				}
				mu.Lock()
				if out.unknown {
					unknowns++
				}
				history = append(history, porcupine.Operation{ClientId: cl, Input: in, Call: call, Output: out, Return: ret})
				inflight--
				mu.Unlock()
			}
		}()
	}
	phase := func(what string) {
		t.Helper()
		target, _ := recorded()
		target += linPhaseOps
		waitFor(t, 2*time.Minute, what, func() error {
			n, idle := recorded()
			if n >= target {
				return nil
			}
			if idle {
				grant(target - n)
			}
			return fmt.Errorf("%d operations recorded, want %d", n, target)
		})
	}
	phase("operations before the fault")
	l, err := c.Leader()
	must(t, "leader", err)
	end := during()
	fault(l)
	t.Logf("fault on the leader, node %d, at %v", l.ID, time.Duration(ts()).Round(time.Millisecond))
	waitFor(t, leaderTimeout, "another leader", func() error {
		nl, err := c.Leader()
		if err != nil {
			return err
		}
		if nl.ID == l.ID {
			return fmt.Errorf("node %d still leads", l.ID)
		}
		return nil
	})
	end()
	phase("operations after the fault")
	end = during()
	heal(l)
	l.WaitReady(t)
	end()
	t.Logf("healed node %d at %v", l.ID, time.Duration(ts()).Round(time.Millisecond))
	phase("operations after the heal")
	close(stop)
	wg.Wait()
	c.WaitConverged(t)
	// Keep in the model only the forks that a recorded read looks at.
	read := map[string]bool{}
	for _, op := range history {
		if in := op.Input.(linInput); in.op == "fget" {
			read[in.fork] = true
		}
	}
	for i, op := range history {
		if in := op.Input.(linInput); in.op == "fork" {
			in.keep = read[in.fork]
			history[i].Input = in
		}
	}
	t.Logf("history: %d operations (%d of unknown outcome) in %v", len(history), unknowns, time.Duration(ts()).Round(time.Millisecond))
	return history
}

// doLin runs one operation on node n. ok is false for a read that failed
// or a write that certainly did not happen (the connection was refused).
func doLin(n *Node, in linInput) (out linOutput, ok bool) {
	var err error
	switch in.op {
	case "put":
		err = withTimeout(linOpTimeout, func() error { return n.putObject("lin", in.key, []byte(in.value)) })
	case "delete":
		err = withTimeout(linOpTimeout, func() error { return n.deleteObject("lin", in.key) })
	case "fork":
		err = n.Admin(linOpTimeout, "POST", "buckets/lin/forks", map[string]string{"name": in.fork}, nil)
	case "get", "fget":
		bucket := "lin"
		if in.op == "fget" {
			bucket = in.fork
		}
		var b []byte
		err = withTimeout(linOpTimeout, func() error {
			var e error
			b, e = n.getObject(bucket, in.key, "")
			return e
		})
		switch code, _ := s3Code(err); {
		case err == nil:
			return linOutput{found: true, value: string(b)}, true
		case code == "NoSuchKey":
			return linOutput{}, true
		case code == "NoSuchBucket" && in.op == "fget":
			return linOutput{noBucket: true}, true
		}
		return linOutput{}, false
	}
	if err == nil {
		return linOutput{}, true
	}
	if refused(err) {
		return linOutput{}, false
	}
	return linOutput{unknown: true}, true
}

// withTimeout runs f, which must finish within its own request deadline;
// timeout only documents the bound (requests carry opTimeout).
func withTimeout(timeout time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no answer within %v", timeout)
	}
}

// refused reports an error that proves the request never reached a
// server (the connection was refused), so a write did not happen.
func refused(err error) bool {
	for e := err; e != nil; {
		if e == syscall.ECONNREFUSED {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return strings.Contains(err.Error(), "connection refused")
}

// checkHistory runs porcupine on h and, on a violation, writes the
// visualization next to the test binary's temporary files.
func checkHistory(t *testing.T, h []porcupine.Operation) {
	t.Helper()
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(linModel, h, 2*time.Minute)
	t.Logf("porcupine: %s in %v", res, time.Since(start).Round(time.Millisecond))
	if res == porcupine.Ok {
		return
	}
	base := filepath.Join(os.TempDir(), fmt.Sprintf("forkstore-lin-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().Unix()))
	if err := porcupine.VisualizePath(linModel, info, base+".html"); err != nil {
		t.Logf("visualization: %v", err)
	}
	type rec struct {
		Client       int
		Call, Return int64
		In           string
	}
	var recs []rec
	for _, op := range h {
		recs = append(recs, rec{op.ClientId, op.Call, op.Return, linModel.DescribeOperation(op.Input, op.Output)})
	}
	if b, err := json.MarshalIndent(recs, "", " "); err == nil {
		os.WriteFile(base+".json", b, 0o644)
	}
	if res == porcupine.Unknown {
		t.Fatalf("porcupine could not decide within its time bound (%d operations; history in %s.json, %s.html)", len(h), base, base)
	}
	t.Fatalf("the history is not linearizable (history in %s.json, visualization %s.html)", base, base)
}

// TestLinModel checks that the model rejects what it must: a stale read
// after an acknowledged put, and a fork missing a put acknowledged before
// the fork was asked for. No cluster is needed.
func TestLinModel(t *testing.T) {
	op := func(call, ret int64, in linInput, out linOutput) porcupine.Operation {
		return porcupine.Operation{Input: in, Call: call, Output: out, Return: ret}
	}
	put := op(0, 10, linInput{op: "put", key: "k0", value: "v1"}, linOutput{})
	tests := []struct {
		name string
		h    []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"read after put", []porcupine.Operation{put, op(20, 30, linInput{op: "get", key: "k0"}, linOutput{found: true, value: "v1"})}, porcupine.Ok},
		{"stale read", []porcupine.Operation{put, op(20, 30, linInput{op: "get", key: "k0"}, linOutput{})}, porcupine.Illegal},
		{"unknown put may apply late", []porcupine.Operation{
			op(0, math.MaxInt64/2, linInput{op: "put", key: "k0", value: "v1"}, linOutput{unknown: true}),
			op(20, 30, linInput{op: "get", key: "k0"}, linOutput{}),
			op(40, 50, linInput{op: "get", key: "k0"}, linOutput{found: true, value: "v1"}),
		}, porcupine.Ok},
		{"fork sees earlier put", []porcupine.Operation{put,
			op(20, 30, linInput{op: "fork", fork: "f", keep: true}, linOutput{}),
			op(40, 50, linInput{op: "fget", fork: "f", key: "k0", last: true}, linOutput{found: true, value: "v1"}),
		}, porcupine.Ok},
		{"fork misses earlier put", []porcupine.Operation{put,
			op(20, 30, linInput{op: "fork", fork: "f", keep: true}, linOutput{}),
			op(40, 50, linInput{op: "fget", fork: "f", key: "k0", last: true}, linOutput{}),
		}, porcupine.Illegal},
		{"fork sees later put", []porcupine.Operation{
			op(0, 10, linInput{op: "fork", fork: "f", keep: true}, linOutput{}),
			op(20, 30, linInput{op: "put", key: "k0", value: "v1"}, linOutput{}),
			op(40, 50, linInput{op: "fget", fork: "f", key: "k0", last: true}, linOutput{found: true, value: "v1"}),
		}, porcupine.Illegal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperationsTimeout(linModel, tc.h, 10*time.Second); got != tc.want {
				t.Errorf("porcupine says %s, want %s", got, tc.want)
			}
		})
	}
}

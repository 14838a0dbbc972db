package meta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// ErrNotOpen is returned by Lookup and Handle.Read when the state machine
// is not open (before Open, after Close, or not hosted on this node).
var ErrNotOpen = errors.New("meta: state machine not open")

// Options configures the state machine. MaxForkDepth and History take part
// in apply, so they must be the same on every replica of a shard (they are
// cluster settings, not node settings).
type Options struct {
	// MaxForkDepth bounds the number of ancestors of a fork when the
	// command does not say (default 32).
	MaxForkDepth int
	// History is the point-in-time retention window: every state newer
	// than (last version - History) stays readable. 0 keeps only what
	// snapshots, forks and versioning need.
	History time.Duration

	// Badger memory knobs. The defaults keep a replica well under the
	// node's 512 MiB budget.
	BadgerMemTableSize int64 // default 16 MiB
	BadgerNumMemtables int   // default 2
	BlockCacheSize     int64 // default 0: no block cache (see DefaultOptions)
	IndexCacheSize     int64 // default 8 MiB
	ValueLogFileSize   int64 // default 64 MiB

	// BeforeWrite and AfterWrite, when set, run before and after each
	// Update writes its entries to Badger. They are the node's, not the
	// cluster's: the free-space guard (gateway/diskspace.go) makes room
	// before Badger takes pages of its memory-mapped files, and allocates
	// the files Badger created. They see no entry and return nothing, so
	// apply stays deterministic. AfterWrite is given the directory of the
	// replica's Badger.
	BeforeWrite func()
	AfterWrite  func(dir string)

	// BaseTableSize is the size of the tables Badger compacts into
	// (default 2 MiB; existing tables keep theirs). Each table is written
	// through an arena that starts at twice this size and grows (a 4 KiB
	// block is doubled for every record that does not fit in it, so 4 KiB
	// records take three times their size), and Badger keeps up to 8 such
	// arenas for reuse: under write load they are most of the Go heap.
	BaseTableSize int64

	// ReplicaDBs, above 1, shares the Badger memory above among that many
	// DBs for a replica that keeps a DB of its own (a data dir made before
	// the node's store, kv.go): memtables, index cache and value-log files
	// are divided, with a floor each. The node's store takes them whole.
	ReplicaDBs int

	// BlockSize is the size of the blocks of Badger's tables (default 16
	// KiB; existing tables keep theirs). A table builder allocates each
	// block at this size and doubles it for a record that does not fit: at
	// Badger's default of 4 KiB every inline 4 KiB object took a block of
	// its own and three times its size in the arena.
	BlockSize int

	// HotKeysBytes bounds the memory the node's replicas keep their bucket
	// keys in, all together, each an equal share (hotkeys.go; default 2
	// MiB).
	HotKeysBytes int64
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		MaxForkDepth:       32,
		BadgerMemTableSize: 8 << 20,
		BadgerNumMemtables: 2,
		// Tables are neither compressed nor encrypted, so Badger reads
		// blocks straight from the mapped files: a block cache only adds
		// copies and churn (its "might be too small" warning, with a
		// 4% hit ratio under PUT load). Badger's own advice is none.
		BlockCacheSize:   0,
		IndexCacheSize:   8 << 20,
		ValueLogFileSize: 32 << 20,
		BaseTableSize:    2 << 20,
		BlockSize:        16 << 10,
		HotKeysBytes:     2 << 20,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxForkDepth <= 0 {
		o.MaxForkDepth = d.MaxForkDepth
	}
	if o.History < 0 {
		o.History = 0
	}
	if o.BadgerMemTableSize <= 0 {
		o.BadgerMemTableSize = d.BadgerMemTableSize
	}
	if o.BadgerNumMemtables <= 0 {
		o.BadgerNumMemtables = d.BadgerNumMemtables
	}
	if o.BlockCacheSize < 0 {
		o.BlockCacheSize = 0
	}
	if o.IndexCacheSize <= 0 {
		o.IndexCacheSize = d.IndexCacheSize
	}
	if o.ValueLogFileSize <= 0 {
		o.ValueLogFileSize = d.ValueLogFileSize
	}
	if o.BaseTableSize <= 0 {
		o.BaseTableSize = d.BaseTableSize
	}
	if o.BlockSize <= 0 {
		o.BlockSize = d.BlockSize
	}
	if o.HotKeysBytes <= 0 {
		o.HotKeysBytes = d.HotKeysBytes
	}
	return o
}

// TxnWrites is how many writes one Badger transaction of o's store takes:
// 15% of a memtable, in entries of up to 96 bytes of skiplist each. A
// command whose apply writes more cannot be applied (it stops the node),
// so a proposer that can size a command checks it against this.
func (o Options) TxnWrites() int {
	return int(o.withDefaults().BadgerMemTableSize*15/100) / 96
}

// ownShare is o for a replica's own DB: its share of the node's Badger
// memory (ReplicaDBs).
func (o Options) ownShare() Options {
	n := int64(o.ReplicaDBs)
	if n <= 1 {
		return o
	}
	o.BadgerMemTableSize = max(1<<20, 2*o.BadgerMemTableSize/n)
	o.IndexCacheSize = max(1<<20, o.IndexCacheSize/n)
	o.ValueLogFileSize = max(4<<20, o.ValueLogFileSize/n)
	return o
}

func (o Options) badger(dir string, logger *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(newBadgerLogger(logger)).
		WithSyncWrites(false). // durability comes from the Raft log
		WithMemTableSize(o.BadgerMemTableSize).
		WithNumMemtables(o.BadgerNumMemtables).
		WithValueThreshold(min(1<<20, o.BadgerMemTableSize/10)).
		WithNumLevelZeroTables(3).
		WithNumLevelZeroTablesStall(8).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(o.IndexCacheSize).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithBaseTableSize(o.BaseTableSize).
		WithBlockSize(o.BlockSize).
		WithNumCompactors(2).
		WithCompression(options.None).
		WithDetectConflicts(false). // one writer: Update
		WithMetricsEnabled(false)
}

// Handle gives the node local, non-replicated access to the state machines
// a factory opened: background work (chunk GC, repair, scrubbing) runs
// Queries on the local replica without a Raft round trip. Reads through a
// Handle are stale (they see what this replica has applied).
type Handle struct {
	mu   sync.Mutex
	fsms map[[2]uint64]*FSM
	// store is the node's one Badger DB (kv.go).
	store *nodeStore
}

// hotShare returns what each replica open here may keep of budget bytes
// of bucket keys (hotkeys.go): an equal share.
func (h *Handle) hotShare(budget int64) func() int64 {
	return func() int64 {
		h.mu.Lock()
		n := len(h.fsms)
		h.mu.Unlock()
		return budget / int64(max(1, n))
	}
}

func (h *Handle) register(f *FSM) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fsms[[2]uint64{f.shardID, f.replicaID}] = f
}

func (h *Handle) unregister(f *FSM) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fsms[[2]uint64{f.shardID, f.replicaID}] == f {
		delete(h.fsms, [2]uint64{f.shardID, f.replicaID})
	}
}

// Read runs q on the local replica of (shardID, replicaID), on one
// consistent read-only transaction. It fails with ErrNotOpen when that
// replica is not open here.
func (h *Handle) Read(ctx context.Context, shardID, replicaID uint64, q Q) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	f := h.fsms[[2]uint64{shardID, replicaID}]
	h.mu.Unlock()
	if f == nil {
		return nil, ErrNotOpen
	}
	return f.Lookup(q)
}

// NewStateMachine returns the factory Dragonboat calls to create the
// metadata state machine of a replica. The replicas keep their keys in one
// Badger DB in dir/store, each under a prefix of its own (kv.go); a
// replica of an older data dir keeps its own DB in
// dir/shard-<shard>-replica-<replica>.
func NewStateMachine(dir string, opts Options, logger *slog.Logger) sm.CreateOnDiskStateMachineFunc {
	fn, _ := NewStateMachineHandle(dir, opts, logger)
	return fn
}

// NewStateMachineHandle is NewStateMachine plus a Handle through which the
// node reads the replicas the factory opens without going through Raft.
func NewStateMachineHandle(dir string, opts Options, logger *slog.Logger) (sm.CreateOnDiskStateMachineFunc, *Handle) {
	if logger == nil {
		logger = slog.Default()
	}
	opts = opts.withDefaults()
	storeLog := logger.With("store", "node")
	h := &Handle{fsms: map[[2]uint64]*FSM{}, store: &nodeStore{
		dir:  filepath.Join(dir, "store"),
		opts: func(d string) badger.Options { return opts.badger(d, storeLog) },
	}}
	fn := func(shardID, replicaID uint64) sm.IOnDiskStateMachine {
		return &FSM{
			dir:       ReplicaDir(dir, shardID, replicaID),
			opts:      opts,
			log:       logger.With("shard_id", shardID, "replica_id", replicaID),
			shardID:   shardID,
			replicaID: replicaID,
			handle:    h,
			hot:       hotKeys{share: h.hotShare(opts.HotKeysBytes)},
		}
	}
	return fn, h
}

// Query is a read of the state machine, passed to Lookup (through Raft's
// linearizable read) or Handle.Read. It runs on one consistent read-only
// transaction and must not keep r after returning.
type Query func(r *Reader) (any, error)

// FSM is the metadata state machine of one replica: a Badger DB holding
// the keyspace of keys.go.
//
// Concurrency (as Dragonboat guarantees): Update, Sync, PrepareSnapshot,
// RecoverFromSnapshot and Close are never called concurrently with each
// other; Lookup and SaveSnapshot run concurrently with Update. Lookups see
// a committed state between two applied batches (Badger MVCC).
type FSM struct {
	dir       string
	opts      Options
	log       *slog.Logger
	shardID   uint64
	replicaID uint64
	handle    *Handle

	// mu guards db against Close and RecoverFromSnapshot while Lookups run.
	mu sync.RWMutex
	db *badger.DB
	// prefix is the replica's key prefix in the node's store (db), nil
	// when the replica has a DB of its own (kv.go).
	prefix []byte
	// dbDir is the directory of db: the store's, or dir.
	dbDir string
	// applied is the last applied Raft index (Update only); appliedIndex
	// is the same for readers on other goroutines.
	applied      uint64
	appliedIndex atomic.Uint64
	// digests are the state hashes computed for Digest commands.
	digests digests
	// testStepBudget, when set, replaces the budget of a step (tests cut
	// commands into many small steps with it).
	testStepBudget stepBudget
	// stats counts work done by apply (Update's goroutine only).
	stats applyStats
	// firstLive bounds the age indexes within a transaction (ageindex.go).
	firstLive firstLive
	// hot remembers the replica's bucket keys (hotkeys.go); every
	// transaction over the replica's keys comes from txn.
	hot hotKeys
	// mappedDir is dbDir as /proc/self/maps names it (trim.go).
	mappedDir string
	// mayHaveLifecycle is false only while the replica is known to hold
	// no lifecycle configuration (checked at Open and after a snapshot's
	// recovery, set before a configuration is written), so that every
	// GET and PUT need not read one to answer x-amz-expiration.
	mayHaveLifecycle atomic.Bool
}

// applyStats counts work done by apply that tests check stays bounded.
type applyStats struct {
	// indexSteps counts the entries age index walks stepped over.
	indexSteps uint64
	// recordSteps counts the entries walked to load a key's records.
	recordSteps uint64
	// indexWalks counts the age index walks (one iterator each).
	indexWalks uint64
	// txnWrites counts the writes of the transaction being applied.
	txnWrites int
	// lifecycleSteps counts the object entries lifecycle passes walked.
	lifecycleSteps uint64
}

var _ sm.IOnDiskStateMachine = (*FSM)(nil)

// Open opens the replica's keys (in the node's store, or in its own DB
// when it has one) and returns the applied index stored there.
func (f *FSM) Open(stopc <-chan struct{}) (uint64, error) {
	select {
	case <-stopc:
		return 0, sm.ErrOpenStopped
	default:
	}
	var (
		db     *badger.DB
		prefix []byte
		dbDir  = f.dir
		err    error
	)
	if f.ownDB() {
		f.opts = f.opts.ownShare()
		f.opts.ReplicaDBs = 1
		if db, err = badger.Open(f.opts.badger(f.dir, f.log)); err != nil {
			return 0, fmt.Errorf("meta: open %s: %w", f.dir, err)
		}
		shrinkArenaPool(db)
	} else {
		if db, err = f.handle.store.acquire(); err != nil {
			return 0, err
		}
		prefix, dbDir = replicaPrefix(f.shardID, f.replicaID), f.handle.store.dir
	}
	closeDB := func() {
		if prefix == nil {
			db.Close()
		} else {
			f.handle.store.release()
		}
	}
	txn := newKVTxn(db, prefix, prefix != nil)
	applied, err := readApplied(txn)
	if err == nil && applied == 0 && prefix != nil {
		// A replica's range exists from its opening on, as its own DB's
		// directory did: the node finds it at its next start
		// (Handle.Replicas) even before anything was applied to it.
		if err = txn.Set(keyApplied(), u64Value(0)); err == nil {
			err = txn.Commit()
		}
	}
	txn.Discard()
	if err != nil {
		closeDB()
		return 0, err
	}
	f.mu.Lock()
	f.db, f.prefix, f.dbDir = db, prefix, dbDir
	f.mappedDir = resolvedDir(dbDir)
	f.firstLive.reset()
	f.hot.reset()
	f.applied = applied
	f.appliedIndex.Store(applied)
	f.checkLifecycle()
	f.mu.Unlock()
	if f.handle != nil {
		f.handle.register(f)
	}
	f.log.Info("meta: opened", "dir", dbDir, "index", applied)
	return applied, nil
}

// checkLifecycle sets mayHaveLifecycle from what the replica holds; an
// error reading leaves it true. f.mu is held.
func (f *FSM) checkLifecycle() {
	txn := f.newTxn(false)
	defer txn.Discard()
	has := true
	if r, err := newReader(txn, f.opts); err == nil {
		if h, err := r.HasLifecycle(); err == nil {
			has = h
		}
	}
	f.mayHaveLifecycle.Store(has)
}

// MayHaveLifecycle reports whether a replica may hold a lifecycle
// configuration: false only when it is open here and known to hold none,
// so that the caller can skip reading one.
func (h *Handle) MayHaveLifecycle(shardID, replicaID uint64) bool {
	h.mu.Lock()
	f := h.fsms[[2]uint64{shardID, replicaID}]
	h.mu.Unlock()
	return f == nil || f.mayHaveLifecycle.Load()
}

// ownDB reports whether the replica keeps its keys in a DB of its own: a
// replica of a data dir made before the node's store, or one opened
// without a Handle.
func (f *FSM) ownDB() bool {
	if f.handle == nil || f.handle.store == nil {
		return true
	}
	_, err := os.Stat(f.dir)
	return err == nil
}

// newTxn starts a transaction over the replica's keys.
func (f *FSM) newTxn(update bool) *kvTxn { return f.txn(f.db, update) }

// txn starts a transaction over the replica's keys in db, with the
// replica's hot keys.
func (f *FSM) txn(db *badger.DB, update bool) *kvTxn {
	s0 := f.hot.seq.Load()
	return f.hot.attach(newKVTxn(db, f.prefix, update), s0)
}

func readApplied(txn *kvTxn) (uint64, error) {
	item, err := txn.Get(keyApplied())
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var v uint64
	err = item.Value(func(b []byte) error {
		v, err = decodeU64Value(b)
		return err
	})
	return v, err
}

// Lookup runs a Q (or a func(*Reader) (any, error)) on a fresh
// read-only transaction.
func (f *FSM) Lookup(q any) (any, error) {
	var fn Q
	switch q := q.(type) {
	case Q:
		fn = q
	case func(*Reader) (any, error):
		fn = Query(q)
	default:
		return nil, fmt.Errorf("meta: unsupported query type %T", q)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return nil, ErrNotOpen
	}
	txn := f.newTxn(false)
	defer txn.Discard()
	r, err := newReader(txn, f.opts)
	if err != nil {
		return nil, err
	}
	return fn.Run(r)
}

// Sync flushes Badger's writes to disk (Update writes without fsync; the
// Raft log is the durable record until Sync).
func (f *FSM) Sync() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return ErrNotOpen
	}
	return f.db.Sync()
}

// Close closes the DB. Later Lookups fail with ErrNotOpen.
func (f *FSM) Close() error {
	// Unregistered only once Badger is closed: until then the replica's
	// directory must not be removed (Handle.RemoveReplicaData waits for
	// this), or Badger's close fails on its vanished files and Dragonboat
	// panics on that error.
	if f.handle != nil {
		defer f.handle.unregister(f)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	var err error
	if f.prefix == nil {
		err = f.db.Close()
	} else {
		err = f.handle.store.release()
	}
	f.db, f.prefix = nil, nil
	return err
}

// maxEntriesPerTxn bounds how many entries share one Badger transaction:
// every iterator opened in a read-write transaction copies and sorts its
// pending writes, so large transactions make apply quadratic. Measured
// (BenchmarkApplyBatch, 1 KiB PUTs): 64 per transaction 7.5k puts/s, 16
// per transaction 13k puts/s, 8 about the same as 16.
const maxEntriesPerTxn = 16

// maxWritesPerTxn ends a transaction early, after the entry that took its
// writes past this many, for the same reason: a run of commands that each
// write a lot (multi-object deletes) made every iterator of the run sort
// thousands of pending writes.
const maxWritesPerTxn = 256

// Update applies committed entries. Each run of entries is applied in one
// Badger transaction (later entries read the writes of earlier ones) that
// also records the applied index of its last entry. When a transaction
// grows past Badger's limit, the entries completed so far are committed
// and the rest continue in a new transaction. Large commands are applied
// alone, in steps (steps.go). Update is deterministic: it
// depends only on the DB and the entries. It returns an error only when
// the disk fails (any error crashes the node).
func (f *FSM) Update(entries []sm.Entry) ([]sm.Entry, error) {
	db := f.db
	all := entries
	if f.opts.BeforeWrite != nil {
		f.opts.BeforeWrite()
	}
	if f.opts.AfterWrite != nil {
		defer f.opts.AfterWrite(f.dbDir)
	}
	for len(entries) > 0 {
		if steppedOp(entries[0].Cmd) {
			if err := f.applyStepped(db, &entries[0]); err != nil {
				return nil, err
			}
			entries = entries[1:]
			continue
		}
		n := min(len(entries), maxEntriesPerTxn)
		for i := 1; i < n; i++ {
			if steppedOp(entries[i].Cmd) {
				n = i
				break
			}
		}
		for {
			done, err := f.applyRun(db, entries[:n])
			if err == nil {
				n = done
				break
			}
			if !errors.Is(err, badger.ErrTxnTooBig) {
				return nil, err
			}
			if done == 0 {
				return nil, fmt.Errorf("meta: entry %d (op %d, %d bytes) alone exceeds a transaction: %w", entries[0].Index, entries[0].Cmd[0], len(entries[0].Cmd), err)
			}
			n = done
		}
		entries = entries[n:]
	}
	return all, nil
}

// applyRun applies es, or the first of them when they write more than
// maxWritesPerTxn, in one transaction and returns how many it applied. On
// badger.ErrTxnTooBig it discards everything and returns how many entries
// fit completely (with room for the applied index), so the caller retries
// with that many.
func (f *FSM) applyRun(db *badger.DB, es []sm.Entry) (int, error) {
	txn := f.txn(db, true)
	defer txn.Discard()
	f.stats.txnWrites = 0
	for i := range es {
		if i > 0 && f.stats.txnWrites >= maxWritesPerTxn {
			es = es[:i]
			break
		}
		e := &es[i]
		if e.Index <= f.applied {
			panic(fmt.Sprintf("meta: applied index going backwards: entry %d, applied %d", e.Index, f.applied))
		}
		res, err := f.applyEntry(txn, e.Cmd)
		if err != nil {
			if errors.Is(err, badger.ErrTxnTooBig) {
				return i, err
			}
			return 0, err
		}
		e.Result = res
	}
	last := es[len(es)-1].Index
	if err := txn.Set(keyApplied(), u64Value(last)); err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return len(es) - 1, err
		}
		return 0, err
	}
	if err := txn.Commit(); err != nil {
		return 0, err
	}
	f.firstLive.commit(txn)
	f.applied = last
	f.appliedIndex.Store(last)
	return len(es), nil
}

package meta

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Commands applied in steps.
//
// A merge of a fork with 10,000 changes, or a batch of 1,000 forks with
// their keys, writes far more than one Badger transaction holds (about
// 13,000 writes or 1.2 MiB with the default memtable), and an entry that
// does not fit one transaction would stop the node. Such commands
// (CreateForks, MergeFork, MergeContinue, and across shards a batch's
// PinRemoteForks, CreateRemoteForks and RemoteMergeEntry: xsteps.go) are
// applied in several
// transactions, the steps,
// while the FSM's lock keeps every reader out: Lookups see the state
// before the command or after it, never in between.
//
// Each step commits its writes together with a journal record (the Raft
// index of the entry, the command's version and where to resume). If the
// node stops between two steps, the applied index still names the entry
// before, so Raft applies the entry again on restart: the journal says the
// entry is under way and the command resumes where the last step ended.
// The last step deletes the journal and writes the applied index, the
// result and the request-id record. A command's business errors (a
// conflict, a taken name) come only from its first step, before it wrote
// anything. How a command is cut into steps depends on node-local budgets
// (memtable size), but the state after the last step does not: each step
// finishes whole items (a fork, a key) that do not depend on one another.
// (A merge is also cut into several Raft entries, so that the shard is not
// stalled while it applies: merge.go.)

// stepper is a command applied in steps.
type stepper interface {
	command
	// step continues from state (nil the first time) until it is done or
	// a.spent(), and returns the state to resume from or, when done, the
	// result.
	step(a *applier, state []byte) (next []byte, res *Result, done bool, err error)
}

// stepBudget bounds the writes of one step.
type stepBudget struct {
	writes int
	bytes  int
}

// steppedOp reports whether a command op is applied in steps.
func steppedOp(cmd []byte) bool {
	return len(cmd) > 0 && (cmd[0] == opCreateForks || cmd[0] == opCreateOwnedForks || cmd[0] == opMergeFork || cmd[0] == opMergeContinue ||
		cmd[0] == opPinRemoteBatch || cmd[0] == opCreateRemoteForks || cmd[0] == opCreateRemoteFor || cmd[0] == opRemoteMergeEntry)
}

// stepWrites is the writes of one step. Every iterator a read-write
// transaction opens copies and sorts its pending writes, so small steps
// are faster; below a few dozen, commits cost more than they save.
// Measured (BenchmarkMerge, 10,000 changes): 1,024 writes per step 3.8 s,
// 256 1.1 s, 64 0.42 s, 32-48 0.37-0.40 s, 8 0.48 s.
const stepWrites = 48

// defaultStepBudget keeps a step well inside one Badger transaction too:
// Badger allows 15% of a memtable per transaction, counted in entries of
// up to 96 bytes of skiplist each and in bytes.
func (f *FSM) defaultStepBudget() stepBudget {
	if f.testStepBudget.writes > 0 {
		return f.testStepBudget
	}
	batch := int(f.opts.BadgerMemTableSize * 15 / 100)
	return stepBudget{writes: max(1, min(stepWrites, batch/96/4)), bytes: batch / 4}
}

// spent reports whether the current step should end.
func (a *applier) spent() bool {
	return a.budget.writes > 0 && (a.writes >= a.budget.writes || a.bytes >= a.budget.bytes)
}

// applyStepped applies one stepped entry, alone, in as many transactions
// as it needs, holding the FSM's lock throughout.
func (f *FSM) applyStepped(db *badger.DB, e *sm.Entry) error {
	if e.Index <= f.applied {
		panic(fmt.Sprintf("meta: applied index going backwards: entry %d, applied %d", e.Index, f.applied))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	budget := f.defaultStepBudget()
	for {
		err := f.runSteps(db, e, budget)
		if !errors.Is(err, badger.ErrTxnTooBig) {
			return err
		}
		// A step went past Badger's limit (a very large record): the
		// failed step was discarded; go on from the last one with less.
		if budget.writes <= 1 {
			return fmt.Errorf("meta: entry %d: one item exceeds a transaction: %w", e.Index, err)
		}
		budget.writes /= 2
		budget.bytes /= 2
	}
}

func (f *FSM) runSteps(db *badger.DB, e *sm.Entry, budget stepBudget) error {
	for {
		txn := f.txn(db, true)
		done, err := f.runStep(txn, e, budget)
		if err != nil {
			txn.Discard()
			return err
		}
		if err := txn.Commit(); err != nil {
			return err
		}
		if done {
			f.applied = e.Index
			f.appliedIndex.Store(e.Index)
			return nil
		}
	}
}

// journal is the record of a stepped command under way.
type journal struct {
	index   uint64
	version uint64
	state   []byte
}

func readJournal(txn *kvTxn) (*journal, error) {
	v, ok, err := getValue(txn, keyJournal())
	if err != nil || !ok {
		return nil, err
	}
	d := decoder{b: v}
	d.fmtByte()
	j := &journal{index: d.u64(), version: d.u64(), state: d.bytes()}
	return j, d.done()
}

func (a *applier) writeJournal(index uint64, state []byte) error {
	e := encoder{b: make([]byte, 0, 24+len(state))}
	e.u8(fmtV1)
	e.u64(index)
	e.u64(a.version)
	e.bytes(state)
	return a.txn.Set(keyJournal(), e.b)
}

// runStep runs one step of e in txn and reports whether the command is done.
func (f *FSM) runStep(txn *kvTxn, e *sm.Entry, budget stepBudget) (bool, error) {
	c := decodeEntry(e.Cmd)
	j, err := readJournal(txn)
	if err != nil {
		return false, err
	}
	var (
		a     *applier
		state []byte
	)
	if j != nil {
		if j.index != e.Index {
			panic(fmt.Sprintf("meta: entry %d applied while entry %d is under way", e.Index, j.index))
		}
		a, state = f.newApplier(txn, j.version), j.state
	} else {
		res, ok, err := dedupe(txn, c)
		if err != nil {
			return false, err
		}
		if ok {
			e.Result = res
			return true, txn.Set(keyApplied(), u64Value(e.Index))
		}
		if a, err = f.begin(txn, c); err != nil {
			return false, err
		}
	}
	a.budget, a.format = budget, e.Cmd[1]
	next, res, done, err := c.(stepper).step(a, state)
	if err != nil {
		if _, business := businessCode(err); !business {
			return false, err
		}
		if j != nil {
			panic(fmt.Sprintf("meta: entry %d failed after its first step: %v", e.Index, err))
		}
		done = true
	}
	if !done {
		return false, a.writeJournal(e.Index, next)
	}
	if j != nil {
		if err := txn.Delete(keyJournal()); err != nil {
			return false, err
		}
	}
	result, err := a.finish(c, res, err)
	if err != nil {
		return false, err
	}
	e.Result = result
	return true, txn.Set(keyApplied(), u64Value(e.Index))
}

package meta

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/dgraph-io/badger/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Raft snapshot stream format:
//
//	magic "FKSS" | format byte (1)
//	repeated: uvarint len(key) > 0 | key | uvarint len(value) | value
//	uvarint 0 | be64 number of pairs
//
// The pairs are every key of one read-only Badger transaction, in key
// order, the applied index included: one consistent state. Badger's own
// Backup/Stream are not used (they drop history below deletes).
var snapshotMagic = []byte("FKSS")

const snapshotFormat byte = 1

// PrepareSnapshot opens the read transaction that SaveSnapshot streams.
// It runs with Update excluded, so the transaction is a state between two
// batches.
func (f *FSM) PrepareSnapshot() (any, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return nil, ErrNotOpen
	}
	return f.newTxn(false), nil
}

// SaveSnapshot streams the prepared transaction to w and releases it. It
// may run concurrently with Update.
func (f *FSM) SaveSnapshot(ctx any, w io.Writer, stopc <-chan struct{}) error {
	txn, ok := ctx.(*kvTxn)
	if !ok {
		return fmt.Errorf("meta: snapshot context %T", ctx)
	}
	defer txn.Discard()
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.Write(append(append([]byte(nil), snapshotMagic...), snapshotFormat)); err != nil {
		return err
	}
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	var n uint64
	var hdr []byte
	for it.Rewind(); it.Valid(); it.Next() {
		if n%1024 == 0 {
			select {
			case <-stopc:
				return sm.ErrSnapshotStopped
			default:
			}
		}
		item := it.Item()
		k := item.Key()
		hdr = binary.AppendUvarint(hdr[:0], uint64(len(k)))
		if _, err := bw.Write(hdr); err != nil {
			return err
		}
		if _, err := bw.Write(k); err != nil {
			return err
		}
		err := item.Value(func(v []byte) error {
			hdr = binary.AppendUvarint(hdr[:0], uint64(len(v)))
			if _, err := bw.Write(hdr); err != nil {
				return err
			}
			_, err := bw.Write(v)
			return err
		})
		if err != nil {
			return err
		}
		n++
	}
	if _, err := bw.Write(binary.BigEndian.AppendUint64([]byte{0}, n)); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	f.log.Info("meta: snapshot saved", "keys", n)
	return nil
}

// maxSnapshotField bounds a key or value length in a snapshot stream.
const maxSnapshotField = 64 << 20

// RecoverFromSnapshot replaces the whole state with the stream written by
// SaveSnapshot. Lookups wait until it is done.
//
// The applied index goes first and comes back last: it is deleted before
// the rest of the old state and written after every other pair of the
// stream is committed (the write batch commits as it fills), so a
// recovery cut short (a crash, a broken stream) leaves the replica at
// applied index 0, and Dragonboat recovers the snapshot again, never a
// partial state under the snapshot's index.
func (f *FSM) RecoverFromSnapshot(r io.Reader, stopc <-chan struct{}) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	// The replica's keys are written around transactions.
	defer f.hot.reset()
	if f.db == nil {
		return ErrNotOpen
	}
	br := bufio.NewReaderSize(r, 256<<10)
	head := make([]byte, len(snapshotMagic)+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return fmt.Errorf("meta: snapshot header: %w", err)
	}
	if string(head[:4]) != string(snapshotMagic) || head[4] != snapshotFormat {
		return fmt.Errorf("%w: snapshot header %q", ErrCorrupt, head)
	}
	f.firstLive.reset()
	f.applied = 0
	f.appliedIndex.Store(0)
	f.mayHaveLifecycle.Store(true)
	if err := f.dropApplied(); err != nil {
		return err
	}
	if f.prefix == nil {
		if err := f.db.DropAll(); err != nil {
			return err
		}
	} else if err := deleteRange(f.db, f.prefix); err != nil {
		return err
	}
	var appliedValue []byte
	wb := f.db.NewWriteBatch()
	defer wb.Cancel()
	var n uint64
	for {
		if n%1024 == 0 {
			select {
			case <-stopc:
				return sm.ErrSnapshotStopped
			default:
			}
		}
		kl, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("meta: snapshot key length: %w", err)
		}
		if kl == 0 {
			break
		}
		if kl > maxSnapshotField {
			return fmt.Errorf("%w: snapshot key length %d", ErrCorrupt, kl)
		}
		k := make([]byte, len(f.prefix)+int(kl))
		copy(k, f.prefix)
		if _, err := io.ReadFull(br, k[len(f.prefix):]); err != nil {
			return fmt.Errorf("meta: snapshot key: %w", err)
		}
		vl, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("meta: snapshot value length: %w", err)
		}
		if vl > maxSnapshotField {
			return fmt.Errorf("%w: snapshot value length %d", ErrCorrupt, vl)
		}
		v := make([]byte, vl)
		if _, err := io.ReadFull(br, v); err != nil {
			return fmt.Errorf("meta: snapshot value: %w", err)
		}
		if bytes.Equal(k[len(f.prefix):], keyApplied()) {
			appliedValue = v
		} else if err := wb.Set(k, v); err != nil {
			return err
		}
		n++
	}
	var tail [8]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return fmt.Errorf("meta: snapshot trailer: %w", err)
	}
	if got := binary.BigEndian.Uint64(tail[:]); got != n {
		return fmt.Errorf("%w: snapshot has %d pairs, trailer says %d", ErrCorrupt, n, got)
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	if appliedValue != nil {
		txn := f.newTxn(true)
		err := txn.Set(keyApplied(), appliedValue)
		if err == nil {
			err = txn.Commit()
		}
		txn.Discard()
		if err != nil {
			return err
		}
	}
	txn := f.newTxn(false)
	applied, err := readApplied(txn)
	txn.Discard()
	if err != nil {
		return err
	}
	f.applied = applied
	f.appliedIndex.Store(applied)
	f.checkLifecycle()
	f.log.Info("meta: recovered from snapshot", "keys", n, "index", applied)
	return nil
}

// dropApplied deletes the applied index (RecoverFromSnapshot).
func (f *FSM) dropApplied() error {
	txn := f.newTxn(true)
	defer txn.Discard()
	if err := txn.Delete(keyApplied()); err != nil {
		return err
	}
	return txn.Commit()
}

package meta

import (
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Badger reads and writes its tables through shared memory mappings of
// the .sst files, so every table written, compacted or read recently is
// resident in the process (RssFile) until the kernel reclaims it under
// memory pressure: it grows with the data written, not with the load.
// ReleaseMapped gives those pages back: it drops the process's page-table
// entries over the mappings of the tables (madvise MADV_DONTNEED, Linux
// only; elsewhere it does nothing). The pages stay in the page cache (a
// dirty one is written back as before), so a later read takes a minor
// fault, not a disk read; nothing in the files changes.
//
// Only the mappings of tables that cannot be unmapped meanwhile are
// touched: an address Badger unmapped could be reused by another mapping
// (the Go heap among them), where MADV_DONTNEED would drop data. An open
// iterator holds a reference on every table of the tree, so a table listed
// both before and after the iterator was opened was in the tree all along,
// is pinned by it, and keeps its mapping until the iterator is closed.
// Memtable logs (.mem) and value logs (.vlog) are left alone: the first are
// written and dropped as the load goes, the second hold only the values
// above the value threshold.

// ReleaseMapped releases the resident pages of the mapped tables of the
// replica's DB (the node's store, or its own) and returns the bytes of
// mappings it advised (0 when the DB is not open or on other systems than
// Linux).
func (f *FSM) ReleaseMapped() (int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return 0, nil
	}
	if f.prefix != nil {
		return f.handle.store.releaseMapped()
	}
	return releaseDBMapped(f.db, f.mappedDir)
}

// releaseMapped releases the store's mapped table pages if it is open.
func (s *nodeStore) releaseMapped() (int64, error) {
	db, dir, done := s.hold()
	if db == nil {
		return 0, nil
	}
	defer done()
	return releaseDBMapped(db, dir)
}

// releaseDBMapped releases the resident pages of db's mapped tables, in
// dir as /proc/self/maps names it.
func releaseDBMapped(db *badger.DB, dir string) (int64, error) {
	if !canReleaseMapped || dir == "" {
		return 0, nil
	}
	before := tableIDs(db)
	txn := db.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	pinned := map[uint64]bool{}
	for _, t := range db.Tables() {
		if before[t.ID] {
			pinned[t.ID] = true
		}
	}
	return releaseMapped(dir, pinned)
}

func tableIDs(db *badger.DB) map[uint64]bool {
	tables := db.Tables()
	ids := make(map[uint64]bool, len(tables))
	for _, t := range tables {
		ids[t.ID] = true
	}
	return ids
}

// resolvedDir is dir as the kernel names it in /proc/self/maps: absolute,
// without symbolic links.
func resolvedDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}

// ReleaseMapped releases the mapped table pages of the node's store and of
// every replica opened through h with a DB of its own (FSM.ReleaseMapped)
// and returns the bytes advised.
func (h *Handle) ReleaseMapped() (int64, error) {
	h.mu.Lock()
	fsms := make([]*FSM, 0, len(h.fsms))
	for _, f := range h.fsms {
		fsms = append(fsms, f)
	}
	h.mu.Unlock()
	var total int64
	var first error
	if h.store != nil {
		total, first = h.store.releaseMapped()
	}
	for _, f := range fsms {
		f.mu.RLock()
		inStore := f.prefix != nil
		f.mu.RUnlock()
		if inStore {
			continue
		}
		n, err := f.ReleaseMapped()
		total += n
		if err != nil && first == nil {
			first = err
		}
	}
	return total, first
}

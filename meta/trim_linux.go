package meta

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

const canReleaseMapped = true

// releaseMapped advises MADV_DONTNEED over the shared mappings of the
// tables dir/<id>.sst with an id in pinned, as /proc/self/maps lists them,
// and returns the bytes advised. The caller guarantees those mappings stay
// in place until it returns.
func releaseMapped(dir string, pinned map[uint64]bool) (int64, error) {
	if len(pinned) == 0 {
		return 0, nil
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("meta: release mapped tables: %w", err)
	}
	defer f.Close()
	type span struct{ start, end uintptr }
	var spans []span
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		start, end, path, ok := parseSharedMapping(sc.Bytes())
		if !ok || filepath.Dir(path) != dir {
			continue
		}
		id, ok := tableFileID(filepath.Base(path))
		if !ok || !pinned[id] {
			continue
		}
		spans = append(spans, span{start, end})
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("meta: release mapped tables: read maps: %w", err)
	}
	// Badger's mappings are mostly next to each other: one call per run of
	// adjacent table mappings.
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	merged := spans[:0]
	for _, s := range spans {
		if n := len(merged); n > 0 && merged[n-1].end == s.start {
			merged[n-1].end = s.end
			continue
		}
		merged = append(merged, s)
	}
	var total int64
	for _, s := range merged {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, s.start, s.end-s.start, syscall.MADV_DONTNEED); e != 0 {
			return total, fmt.Errorf("meta: release mapped tables: madvise: %w", e)
		}
		total += int64(s.end - s.start)
	}
	return total, nil
}

// parseSharedMapping parses one line of /proc/self/maps, "start-end perms
// offset dev inode path", and returns its range and path if it is a shared
// mapping of a file that still exists.
func parseSharedMapping(line []byte) (start, end uintptr, path string, ok bool) {
	// Five fields, then the path (which may hold spaces, and ends in
	// " (deleted)" once the file is gone).
	rest := line
	var fields [5][]byte
	for i := range fields {
		rest = bytes.TrimLeft(rest, " ")
		n := bytes.IndexByte(rest, ' ')
		if n < 0 {
			return 0, 0, "", false
		}
		fields[i], rest = rest[:n], rest[n:]
	}
	path = string(bytes.TrimLeft(rest, " "))
	if len(fields[1]) != 4 || fields[1][3] != 's' || path == "" || path[0] != '/' {
		return 0, 0, "", false
	}
	r := fields[0]
	dash := bytes.IndexByte(r, '-')
	if dash < 0 {
		return 0, 0, "", false
	}
	s, err1 := strconv.ParseUint(string(r[:dash]), 16, 64)
	e, err2 := strconv.ParseUint(string(r[dash+1:]), 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, "", false
	}
	return uintptr(s), uintptr(e), path, true
}

// tableFileID returns the id of a Badger table file name, "000123.sst".
func tableFileID(name string) (uint64, bool) {
	num, ok := bytes.CutSuffix([]byte(name), []byte(".sst"))
	if !ok || len(num) == 0 {
		return 0, false
	}
	id, err := strconv.ParseUint(string(num), 10, 64)
	return id, err == nil
}

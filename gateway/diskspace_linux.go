package gateway

import (
	"os"
	"syscall"
)

// statDisk returns the size of dir's filesystem and the bytes available
// to this process there.
func statDisk(dir string) (total, avail uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}

// fallocKeepSize is FALLOC_FL_KEEP_SIZE.
const fallocKeepSize = 0x1

// allocate gives f's first size bytes their blocks. keepSize leaves the
// file's length as it is (the file belongs to another writer that may
// shrink it).
func allocate(f *os.File, size int64, keepSize bool) error {
	mode := uint32(0)
	if keepSize {
		mode = fallocKeepSize
	}
	for {
		err := syscall.Fallocate(int(f.Fd()), mode, 0, size)
		if err != syscall.EINTR {
			return err
		}
	}
}

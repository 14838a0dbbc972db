//go:build linux

package block

import (
	"os"

	"golang.org/x/sys/unix"
)

// setDirect sets or clears O_DIRECT on f. Setting it fails (EINVAL) on a
// filesystem that has no direct I/O.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		var fl int
		fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0)
		if ferr != nil {
			return
		}
		if on {
			fl |= unix.O_DIRECT
		} else {
			fl &^= unix.O_DIRECT
		}
		_, ferr = unix.FcntlInt(fd, unix.F_SETFL, fl)
	})
	if err != nil {
		return err
	}
	return ferr
}

// mapPopulate asks a mapping to be read in at once (MAP_POPULATE).
const mapPopulate = unix.MAP_POPULATE

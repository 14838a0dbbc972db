//go:build !linux

package gateway

import (
	"errors"
	"os"
)

var errNoStatfs = errors.New("free space is only watched on Linux")

func statDisk(dir string) (total, avail uint64, err error) { return 0, 0, errNoStatfs }

func allocate(f *os.File, size int64, keepSize bool) error { return errNoStatfs }

//go:build !linux

package block

import (
	"errors"
	"os"
)

// setDirect fails: received copies are written with O_DIRECT on Linux
// only.
func setDirect(f *os.File, on bool) error {
	if !on {
		return nil
	}
	return errors.New("block: O_DIRECT is only used on Linux")
}

// mapPopulate is 0: other systems fault a mapping's pages in as they are
// read.
const mapPopulate = 0

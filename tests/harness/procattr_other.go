//go:build !linux

package harness

import "syscall"

// procAttr puts a server in a process group of its own. Only Linux kills
// it when the test process dies (Pdeathsig): elsewhere a test binary
// killed by its -timeout leaves its servers running.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

//go:build linux

package harness

import "syscall"

// procAttr puts a server in a process group of its own (a Ctrl-C on the
// test run is not delivered to it twice, and signals from the harness go
// to its pid only) and has it killed when the test process dies, even
// when the test binary is killed (a -timeout panic runs no cleanup).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

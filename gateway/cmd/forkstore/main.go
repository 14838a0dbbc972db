// Command forkstore is the forkstore server and its command-line client.
//
//	forkstore server [flags]                  run a node
//	forkstore snapshot|fork|bucket ... [flags] manage snapshots and forks over the admin API
//	forkstore version | completion bash|zsh|fish
//
// Every command has --help, which needs neither credentials nor a server.
// Exit codes: 0 success, 1 error (the server's error code and message on
// one line of stderr, with a hint where one helps), 2 usage error.
//
// The commands are built with github.com/spf13/cobra. A command group
// (snapshot, fork, bucket, ...) is one file that registers itself with
// register in an init function; see snapshot.go for the pattern, client.go
// for the admin client and output.go for tables and --json.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit codes of every command (documented in docs/cli.md).
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// execute runs one command line and returns its exit code. lookupEnv reads
// the environment (a map in tests).
func execute(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	a := newApp(stdout, stderr, lookupEnv)
	root := a.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if !a.ran || errors.As(err, &ue) {
		// Cobra fails before running a command only on the command line
		// itself: unknown commands and flags, wrong argument counts.
		fmt.Fprintf(stderr, "forkstore: %v\n", err)
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(stderr, "forkstore: %s\n", errorLine(err))
	return exitError
}

// usageError is a mistake in the command line (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// hinter is an error that knows what the user may do about it.
type hinter interface{ Hint() string }

// errorLine renders err on one line, with its hint when it has one.
func errorLine(err error) string {
	line := err.Error()
	var h hinter
	if errors.As(err, &h) && h.Hint() != "" {
		line += "; hint: " + h.Hint()
	}
	return oneLine(line)
}

// oneLine folds newlines, so an error is always one line of stderr.
func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}

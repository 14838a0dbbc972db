package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// app is one run of the command line: the global flags, where output
// goes, and the environment.
type app struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)

	// Global flags (persistent: before or after the subcommand). The
	// environment fills what the command line leaves unset, at use time,
	// so that --help never shows a secret.
	json      bool
	endpoint  string
	accessKey string
	secretKey string
	region    string
	caBundle  string

	// ran is set once cobra has parsed the command line and is running a
	// command: errors before it are usage errors.
	ran bool
	// envErrs are FORKSTORE_* values that do not parse (reported when the
	// server runs, so that --help still works).
	envErrs []error
}

func newApp(stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) *app {
	return &app{stdout: stdout, stderr: stderr, lookupEnv: lookupEnv}
}

// env returns the first of the named variables that is set and not empty.
func (a *app) env(names ...string) string {
	for _, n := range names {
		if v, ok := a.lookupEnv(n); ok && v != "" {
			return v
		}
	}
	return ""
}

// commandGroups are the constructors of the top-level commands. Each file
// adds its own in init (register), so a new command group is one new file.
var commandGroups []func(a *app) *cobra.Command

// register adds a top-level command (call it from init).
func register(newCmd func(a *app) *cobra.Command) {
	commandGroups = append(commandGroups, newCmd)
}

// Annotations on commands, read by the usage template.
const (
	// annotNoGlobalFlags hides the client's global flags (server).
	annotNoGlobalFlags = "forkstore/no-global-flags"
)

const rootLong = `forkstore is an S3-compatible object gateway whose buckets can be snapshotted
and forked in O(1). This one binary is the server (forkstore server) and its
command-line client: the snapshot, fork and bucket commands call the admin API
of a running server, signed with the same access keys as S3 requests.

Client settings (flags win over the environment):
  FORKSTORE_ENDPOINT                        server URL (--endpoint), http:// or https://
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  credentials (--access-key, --secret-key)
  AWS_REGION, AWS_DEFAULT_REGION            region to sign for (--region)
  AWS_CA_BUNDLE                             CA certificates for https (--ca-bundle)

Exit codes: 0 success, 1 error, 2 usage error.`

// rootCommand builds the command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "forkstore",
		Short:         "S3-compatible object storage with O(1) snapshots and forks",
		Long:          rootLong,
		SilenceErrors: true, // execute prints errors (one line, exit codes)
		SilenceUsage:  true,
		// Only the nearest PersistentPreRunE runs: subcommands must not
		// define their own.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			a.ran = true
			return nil
		},
		Version: versionString(),
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	root.SetUsageTemplate(usageTemplate)
	root.SetVersionTemplate("{{.Version}}\n")
	root.CompletionOptions.HiddenDefaultCmd = false

	pf := root.PersistentFlags()
	pf.BoolVar(&a.json, "json", false, "print the server's JSON answer instead of tables")
	pf.StringVar(&a.endpoint, "endpoint", "", "server `URL`, http:// or https:// (env FORKSTORE_ENDPOINT; default http://127.0.0.1:9000)")
	pf.StringVar(&a.accessKey, "access-key", "", "access key `ID` (env AWS_ACCESS_KEY_ID)")
	pf.StringVar(&a.secretKey, "secret-key", "", "secret access `KEY` (env AWS_SECRET_ACCESS_KEY; prefer the environment: flags show in ps)")
	pf.StringVar(&a.region, "region", "", "`REGION` to sign requests for (env AWS_REGION, AWS_DEFAULT_REGION; default us-east-1)")
	pf.StringVar(&a.caBundle, "ca-bundle", "", "PEM `FILE` of CA certificates to verify an https endpoint with (env AWS_CA_BUNDLE)")

	for _, newCmd := range commandGroups {
		root.AddCommand(newCmd(a))
	}
	return root
}

// group returns a command that only holds subcommands. Run without one, it
// prints its help; with an unknown one, it is a usage error (cobra alone
// would print the help and succeed).
func group(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageError{fmt.Errorf("%s", msg)}
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}

// exactArgs checks the positional arguments against their names.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef("%s: missing %s", cmd.CommandPath(), strings.Join(names[len(args):], " "))
		case len(args) > len(names) && len(names) == 0:
			return usagef("%s: unexpected argument %q (it takes none)", cmd.CommandPath(), args[0])
		case len(args) > len(names):
			return usagef("%s: unexpected argument %q (it takes %s)", cmd.CommandPath(), args[len(names)], strings.Join(names, " "))
		}
		return nil
	}
}

// usageTemplate is cobra's, except that a command holding subcommands does
// not show a usage line of its own, and the server hides the client's
// global flags.
const usageTemplate = `Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Available Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if and .HasAvailableInheritedFlags (not (index .Annotations "` + annotNoGlobalFlags + `"))}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

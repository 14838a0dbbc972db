package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/forkstore/forkstore/s3api"
)

func init() { register(newForkCmd) }

func newForkCmd(a *app) *cobra.Command {
	var snapshot, ttl string
	create := &cobra.Command{
		Use:   "create SOURCE NEW [--snapshot VERSION|NAME]",
		Short: "Fork a bucket, now or at one of its snapshots (O(1))",
		Long: "Create the bucket NEW whose content is SOURCE's, now or at a snapshot. Reads in\n" +
			"NEW fall through to SOURCE for keys NEW has not written; nothing written in NEW\n" +
			"is visible in SOURCE.",
		Example:           "  forkstore fork create photos photos-experiment\n  forkstore fork create photos photos-before --snapshot before-cleanup",
		Args:              exactArgs("SOURCE", "NEW"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := map[string]string{"name": args[1]}
			if snapshot != "" {
				req["snapshot"] = snapshot
			}
			if ttl != "" {
				req["ttl"] = ttl
			}
			var b s3api.BucketJSON
			c := call{method: http.MethodPost, path: adminPath("buckets", args[0], "forks"), body: req}
			return a.show(cmd, c, &b, func(w io.Writer) error { return bucketTable(w, b) })
		},
	}
	create.Flags().StringVar(&snapshot, "snapshot", "", "start from this `SNAPSHOT` of SOURCE (version or name) instead of now")
	create.Flags().StringVar(&ttl, "ttl", "", "lease: delete the fork after this `DURATION` unless renewed (e.g. 90m, 2h, 7d)")

	list := &cobra.Command{
		Use:               "list SOURCE",
		Short:             "List the buckets forked directly from a bucket",
		Args:              exactArgs("SOURCE"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ Forks []s3api.RefJSON }
			c := call{method: http.MethodGet, path: adminPath("buckets", args[0], "forks")}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				if len(out.Forks) == 0 {
					fmt.Fprintf(a.stderr, "%s has no forks\n", args[0])
					return nil
				}
				return forkTable(w, out.Forks)
			})
		},
	}

	diff := &cobra.Command{
		Use:               "diff FORK",
		Short:             "List the keys a fork added, changed or deleted",
		Args:              exactArgs("FORK"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.forkDiff(cmd, args[0])
		},
	}

	return group("fork", "Create, inspect, renew and merge forks of a bucket",
		"A fork is a writable bucket that starts as another bucket or snapshot, in O(1).\n"+
			"It is a normal bucket to every S3 client.",
		create, newCreateManyCmd(a), list, diff, newRenewCmd(a), newMergeCmd(a))
}

// newCreateManyCmd is fork create-many: N forks (with keys) in one command.
func newCreateManyCmd(a *app) *cobra.Command {
	var (
		count            int
		prefix, snapshot string
		ttl              string
		withKeys         bool
		keysAllowForks   bool
	)
	cmd := &cobra.Command{
		Use:   "create-many SOURCE --count N --prefix PREFIX [--snapshot V] [--with-keys [--keys-allow-forks]] [--ttl 2h]",
		Short: "Create N forks of one point of a bucket (and a key for each), all or none",
		Long: "Create the forks PREFIX1 ... PREFIXN of SOURCE, all at the same instant (or at\n" +
			"--snapshot), in one step: either all are created or none. With --with-keys each\n" +
			"fork gets an access key that may use that fork alone; the secrets are shown once\n" +
			"(--json gives a document an agent runner can hand out). With --ttl every fork\n" +
			"has a lease: it is deleted (and its key stops working) when the lease runs out.\n" +
			"The keys cannot fork, unless --keys-allow-forks: then the key of fork F may fork\n" +
			"it into names starting with F- (forks that expire with F's lease).",
		Example:           "  forkstore fork create-many datasets --count 20 --prefix agent- --with-keys --ttl 2h --json",
		Args:              exactArgs("SOURCE"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("count") {
				return usagef("%s: --count is required", cmd.CommandPath())
			}
			if prefix == "" {
				return usagef("%s: --prefix is required", cmd.CommandPath())
			}
			if keysAllowForks && !withKeys {
				return usagef("%s: --keys-allow-forks needs --with-keys", cmd.CommandPath())
			}
			req := map[string]any{"count": count, "prefix": prefix, "with_keys": withKeys}
			if keysAllowForks {
				req["keys_allow_forks"] = true
			}
			if snapshot != "" {
				req["snapshot"] = snapshot
			}
			if ttl != "" {
				req["ttl"] = ttl
			}
			var out s3api.ForkBatchJSON
			c := call{method: http.MethodPost, path: adminPath("buckets", args[0], "forks", "batch"), body: req}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				t := newTable(w, "FORK", "ACCESS KEY ID", "SECRET ACCESS KEY", "EXPIRES")
				for _, f := range out.Forks {
					t.row(f.Bucket, f.AccessKeyID, f.SecretAccessKey, localTime(f.Expires))
				}
				fmt.Fprintf(a.stderr, "%d forks of %s at version %s\n", len(out.Forks), out.Source, out.Version)
				return t.flush()
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&count, "count", 0, "number of forks `N` (1 to the server's --max-fork-batch)")
	f.StringVar(&prefix, "prefix", "", "fork names are `PREFIX`1, PREFIX2, ...")
	f.StringVar(&snapshot, "snapshot", "", "fork this `SNAPSHOT` of SOURCE (version or name) instead of now")
	f.BoolVar(&withKeys, "with-keys", false, "create an access key for each fork, scoped to it")
	f.BoolVar(&keysAllowForks, "keys-allow-forks", false, "the key of fork F may fork it, into names starting with F-")
	f.StringVar(&ttl, "ttl", "", "lease of every fork (e.g. 90m, 2h, 7d)")
	return cmd
}

// newRenewCmd is fork renew: a new lease from now.
func newRenewCmd(a *app) *cobra.Command {
	var ttl string
	cmd := &cobra.Command{
		Use:               "renew FORK --ttl DURATION",
		Short:             "Set a fork's lease to DURATION from now",
		Example:           "  forkstore fork renew agent-7 --ttl 1h",
		Args:              exactArgs("FORK"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl == "" {
				return usagef("%s: --ttl is required", cmd.CommandPath())
			}
			var b s3api.BucketJSON
			c := call{method: http.MethodPost, path: adminPath("buckets", args[0], "renew"), body: map[string]string{"ttl": ttl}}
			return a.show(cmd, c, &b, func(w io.Writer) error {
				return fields(w, "FORK", b.Name, "EXPIRES", localTime(b.Expires))
			})
		},
	}
	cmd.Flags().StringVar(&ttl, "ttl", "", "the new lease, from now (`DURATION`, e.g. 90m, 2h, 7d)")
	return cmd
}

// newMergeCmd is fork merge: the fork's changes into its parent, at once.
func newMergeCmd(a *app) *cobra.Command {
	var (
		strategy           string
		dryRun, deleteFork bool
	)
	cmd := &cobra.Command{
		Use:   "merge FORK [--dry-run] [--strategy fail|fork-wins|parent-wins] [--delete-fork]",
		Short: "Apply what a fork changed to its parent, in one atomic step",
		Long: "Apply the fork's puts, overwrites and deletes (since it was made, or since its\n" +
			"last merge) to its parent: readers of the parent see all of them or none. No\n" +
			"bytes are copied. A key that the parent changed too is a conflict: with\n" +
			"--strategy fail (the default) nothing changes and the conflicting keys are listed;\n" +
			"fork-wins applies the fork's version, parent-wins keeps the parent's.",
		Example:           "  forkstore fork merge agent-7 --dry-run\n  forkstore fork merge agent-7 --strategy fork-wins --delete-fork",
		Args:              exactArgs("FORK"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := map[string]any{"strategy": strategy, "dry_run": dryRun, "delete_fork": deleteFork}
			var out s3api.MergeJSON
			c := call{method: http.MethodPost, path: adminPath("buckets", args[0], "merge"), body: req}
			err := a.show(cmd, c, &out, func(w io.Writer) error { return mergeTable(w, out) })
			var ae *apiError
			if errors.As(err, &ae) && ae.code == "MergeConflict" {
				// The answer lists the conflicting keys: show them, then fail.
				if a.json {
					if werr := writeJSON(cmd.OutOrStdout(), ae.body); werr != nil {
						return werr
					}
				} else if json.Unmarshal(ae.body, &out) == nil {
					if werr := mergeTable(cmd.OutOrStdout(), out); werr != nil {
						return werr
					}
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&strategy, "strategy", "fail", "what to do with conflicting keys: `fail`, fork-wins or parent-wins")
	f.BoolVar(&dryRun, "dry-run", false, "report what the merge would do and change nothing")
	f.BoolVar(&deleteFork, "delete-fork", false, "delete the fork once merged (in the same step)")
	return cmd
}

// mergeTable prints a merge report and its conflicting keys.
func mergeTable(w io.Writer, m s3api.MergeJSON) error {
	result := fmt.Sprintf("%d puts, %d deletes, %d conflicts (%d kept as the parent has them)", m.Puts, m.Deletes, m.ConflictCount, m.Kept)
	switch {
	case m.Refused && m.DryRun:
		result = fmt.Sprintf("would be refused: %d conflicts; nothing would change", m.ConflictCount)
	case m.Refused:
		result = fmt.Sprintf("refused: %d conflicts; nothing changed", m.ConflictCount)
	case m.DryRun:
		result = "would merge: " + result
	default:
		result = "merged: " + result
	}
	if err := fields(w,
		"FORK", m.Fork, "PARENT", m.Parent, "STRATEGY", m.Strategy,
		"RESULT", result,
		"FORK DELETED", yesNo(m.ForkDeleted), "VERSION", m.Version); err != nil {
		return err
	}
	if len(m.Conflicts) == 0 {
		return nil
	}
	t := newTable(w, "CONFLICTING KEY")
	for _, k := range m.Conflicts {
		t.row(k)
	}
	if m.ConflictCount > len(m.Conflicts) {
		t.row(fmt.Sprintf("... and %d more", m.ConflictCount-len(m.Conflicts)))
	}
	return t.flush()
}

// forkDiff pages through a fork's diff: one table, or one JSON document
// {"entries": [...]} holding every page's entries.
func (a *app) forkDiff(cmd *cobra.Command, fork string) error {
	var (
		all   []json.RawMessage
		t     *table
		token string
	)
	if !a.json {
		t = newTable(cmd.OutOrStdout(), "CHANGE", "KEY", "SIZE", "LAST MODIFIED")
	}
	for {
		q := url.Values{}
		if token != "" {
			q.Set("continuation-token", token)
		}
		raw, err := a.call(cmd, call{method: http.MethodGet, path: adminPath("buckets", fork, "diff"), query: q})
		if err != nil {
			return err
		}
		var page struct {
			Entries               []json.RawMessage `json:"entries"`
			IsTruncated           bool              `json:"is_truncated"`
			NextContinuationToken string            `json:"next_continuation_token"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("decoding a diff page: %w", err)
		}
		all = append(all, page.Entries...)
		if !page.IsTruncated || page.NextContinuationToken == "" {
			break
		}
		token = page.NextContinuationToken
	}
	if a.json {
		doc, err := json.Marshal(map[string]any{"entries": all})
		if err != nil {
			return err
		}
		return writeJSON(cmd.OutOrStdout(), doc)
	}
	if len(all) == 0 {
		fmt.Fprintf(a.stderr, "%s has no changes\n", fork)
		return nil
	}
	for _, raw := range all {
		var e s3api.DiffEntryJSON
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("decoding a diff entry: %w", err)
		}
		t.row(e.Change, e.Key, size(e.Size), localTime(e.LastModified))
	}
	return t.flush()
}

// bucketTable prints one bucket.
func bucketTable(w io.Writer, b s3api.BucketJSON) error {
	t := newTable(w, "BUCKET", "PARENT", "PARENT VERSION", "VERSIONING", "CREATED", "EXPIRES")
	parent, version := "", ""
	if b.Parent != nil {
		parent, version = refName(*b.Parent), b.Parent.Version
	}
	t.row(b.Name, parent, version, b.Versioning, localTime(b.Created), localTime(b.Expires))
	return t.flush()
}

// forkTable prints forks (refs), one a row.
func forkTable(w io.Writer, forks []s3api.RefJSON) error {
	t := newTable(w, "FORK", "FORKED AT VERSION", "EXPIRES")
	for _, f := range forks {
		t.row(refName(f), f.Version, localTime(f.Expires))
	}
	return t.flush()
}

// refName names a related bucket; one that was deleted (its history kept
// for its relatives) has only an id.
func refName(r s3api.RefJSON) string {
	if r.Bucket == "" {
		return "(deleted bucket " + r.BucketID + ")"
	}
	return r.Bucket
}

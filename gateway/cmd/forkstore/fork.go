package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/forkstore/forkstore/s3api"
)

func init() { register(newForkCmd) }

func newForkCmd(a *app) *cobra.Command {
	var snapshot string
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
			var b s3api.BucketJSON
			c := call{method: http.MethodPost, path: adminPath("buckets", args[0], "forks"), body: req}
			return a.show(cmd, c, &b, func(w io.Writer) error { return bucketTable(w, b) })
		},
	}
	create.Flags().StringVar(&snapshot, "snapshot", "", "start from this `SNAPSHOT` of SOURCE (version or name) instead of now")

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

	return group("fork", "Create and inspect forks of a bucket",
		"A fork is a writable bucket that starts as another bucket or snapshot, in O(1).\n"+
			"It is a normal bucket to every S3 client.",
		create, list, diff)
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
	t := newTable(w, "BUCKET", "PARENT", "PARENT VERSION", "VERSIONING", "CREATED")
	parent, version := "", ""
	if b.Parent != nil {
		parent, version = refName(*b.Parent), b.Parent.Version
	}
	t.row(b.Name, parent, version, b.Versioning, localTime(b.Created))
	return t.flush()
}

// forkTable prints forks (refs), one a row.
func forkTable(w io.Writer, forks []s3api.RefJSON) error {
	t := newTable(w, "FORK", "FORKED AT VERSION")
	for _, f := range forks {
		t.row(refName(f), f.Version)
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

package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/forkstore/forkstore/s3api"
)

// The snapshot commands. This file is the pattern for a command group:
// register a constructor in init; each subcommand checks its arguments
// (exactArgs), makes its admin call with a.show, and prints a table; --json
// and the global flags come for free.

func init() { register(newSnapshotCmd) }

func newSnapshotCmd(a *app) *cobra.Command {
	var name string
	create := &cobra.Command{
		Use:               "create BUCKET [--name NAME]",
		Short:             "Take a snapshot of a bucket now (read-only, O(1))",
		Example:           "  forkstore snapshot create photos --name before-cleanup",
		Args:              exactArgs("BUCKET"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s s3api.SnapshotJSON
			c := call{method: http.MethodPost, path: adminPath("buckets", args[0], "snapshots"), body: map[string]string{"name": name}}
			return a.show(cmd, c, &s, func(w io.Writer) error {
				return snapshotTable(w, []s3api.SnapshotJSON{s})
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "`NAME` of the snapshot, unique in the bucket (default: unnamed)")

	list := &cobra.Command{
		Use:               "list BUCKET",
		Short:             "List a bucket's snapshots, oldest first",
		Args:              exactArgs("BUCKET"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ Snapshots []s3api.SnapshotJSON }
			c := call{method: http.MethodGet, path: adminPath("buckets", args[0], "snapshots")}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				if len(out.Snapshots) == 0 {
					fmt.Fprintf(a.stderr, "%s has no snapshots\n", args[0])
					return nil
				}
				return snapshotTable(w, out.Snapshots)
			})
		},
	}

	del := &cobra.Command{
		Use:               "delete BUCKET VERSION|NAME",
		Short:             "Delete a snapshot (forks made from it keep what they need)",
		Example:           "  forkstore snapshot delete photos before-cleanup\n  forkstore snapshot delete photos 1751631910169675092",
		Args:              exactArgs("BUCKET", "VERSION|NAME"),
		ValidArgsFunction: a.completeArgs(bucketNames, snapshotRefs),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Bucket, Version string
				Deleted         bool
			}
			c := call{method: http.MethodDelete, path: adminPath("buckets", args[0], "snapshots", args[1])}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "deleted snapshot %s of %s\n", out.Version, out.Bucket)
				return err
			})
		},
	}

	var as string
	mount := &cobra.Command{
		Use:   "mount BUCKET VERSION|NAME --as VIEW",
		Short: "Show a snapshot as a read-only bucket VIEW (O(1)), for any S3 tool",
		Long: "Create the bucket VIEW that shows BUCKET at the snapshot, for tools that cannot\n" +
			"send the X-Tigris-Snapshot-Version header (s3cmd, rclone, mc): they read VIEW like\n" +
			"any bucket. Every write to VIEW answers AccessDenied. VIEW keeps the snapshot's\n" +
			"content like a fork does, even if the snapshot is deleted; unmount removes it.",
		Example:           "  forkstore snapshot mount photos before-cleanup --as photos-before\n  s3cmd ls s3://photos-before\n  forkstore snapshot unmount photos-before",
		Args:              exactArgs("BUCKET", "VERSION|NAME"),
		ValidArgsFunction: a.completeArgs(bucketNames, snapshotRefs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if as == "" {
				return usageError{fmt.Errorf("mount needs --as VIEW, the name of the read-only bucket")}
			}
			var b s3api.BucketJSON
			c := call{method: http.MethodPost, path: adminPath("buckets", args[0], "snapshots", args[1], "mount"), body: map[string]string{"name": as}}
			return a.show(cmd, c, &b, func(w io.Writer) error { return bucketTable(w, b) })
		},
	}
	mount.Flags().StringVar(&as, "as", "", "name of the new read-only `VIEW` bucket")

	unmount := &cobra.Command{
		Use:               "unmount VIEW",
		Short:             "Remove a snapshot view (the snapshot and its bucket are untouched)",
		Args:              exactArgs("VIEW"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Bucket    string
				Unmounted bool
			}
			c := call{method: http.MethodPost, path: adminPath("buckets", args[0], "unmount")}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "unmounted snapshot view %s\n", out.Bucket)
				return err
			})
		},
	}

	return group("snapshot", "Create, list, delete and mount snapshots of a bucket",
		"A snapshot is a read-only bucket state at one version. S3 reads at a snapshot\n"+
			"with the X-Tigris-Snapshot-Version header, or through a view (snapshot mount)\n"+
			"for tools that cannot send it; forks can start from one.",
		create, list, del, mount, unmount)
}

// snapshotTable prints snapshots, one a row.
func snapshotTable(w io.Writer, snaps []s3api.SnapshotJSON) error {
	t := newTable(w, "BUCKET", "VERSION", "NAME", "CREATED")
	for _, s := range snaps {
		t.row(s.Bucket, s.Version, s.Name, localTime(s.Created))
	}
	return t.flush()
}

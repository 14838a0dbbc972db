package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/forkstore/forkstore/s3api"
)

func init() { register(newBucketCmd) }

func newBucketCmd(a *app) *cobra.Command {
	lineage := &cobra.Command{
		Use:               "lineage BUCKET",
		Short:             "Show a bucket's parent, snapshots and forks",
		Args:              exactArgs("BUCKET"),
		ValidArgsFunction: a.completeArgs(bucketNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			var l s3api.LineageJSON
			c := call{method: http.MethodGet, path: adminPath("buckets", args[0], "lineage")}
			return a.show(cmd, c, &l, func(w io.Writer) error { return lineageText(w, l) })
		},
	}
	return group("bucket", "Inspect buckets", "", lineage)
}

// lineageText prints a lineage: the bucket, then its snapshots and forks.
func lineageText(w io.Writer, l s3api.LineageJSON) error {
	parent := ""
	if l.Parent != nil {
		parent = refName(*l.Parent) + " at version " + l.Parent.Version
	}
	err := fields(w,
		"Bucket:", l.Bucket.Name,
		"Created:", localTime(l.Bucket.Created),
		"Region:", l.Bucket.Region,
		"Versioning:", l.Bucket.Versioning,
		"Parent:", parent,
		"Snapshots:", strconv.Itoa(len(l.Snapshots)),
		"Forks:", strconv.Itoa(len(l.Forks)),
	)
	if err != nil {
		return err
	}
	if len(l.Snapshots) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "SNAPSHOT VERSION", "NAME", "CREATED")
		for _, s := range l.Snapshots {
			t.row(s.Version, s.Name, localTime(s.Created))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(l.Forks) > 0 {
		fmt.Fprintln(w)
		return forkTable(w, l.Forks)
	}
	return nil
}

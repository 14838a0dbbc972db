package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Shell completion of arguments: bucket names and snapshot references from
// the server, when the shell's environment has an endpoint and credentials.
// A failure completes nothing (and never prints).

// completer lists the candidates for one positional argument.
type completer func(ctx context.Context, cl *adminClient, args []string) []string

// completeArgs completes the i-th positional argument with fns[i].
func (a *app) completeArgs(fns ...completer) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(fns) || fns[len(args)] == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cl, err := a.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
		defer cancel()
		var out []cobra.Completion
		for _, c := range fns[len(args)](ctx, cl, args) {
			if strings.HasPrefix(c, toComplete) {
				out = append(out, c)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// bucketNames lists the buckets (S3 ListBuckets).
func bucketNames(ctx context.Context, cl *adminClient, _ []string) []string {
	data, err := cl.send(ctx, http.MethodGet, "/", nil, nil)
	if err != nil {
		return nil
	}
	var res struct {
		Buckets []struct{ Name string } `xml:"Buckets>Bucket"`
	}
	if xml.Unmarshal(data, &res) != nil {
		return nil
	}
	names := make([]string, len(res.Buckets))
	for i, b := range res.Buckets {
		names[i] = b.Name
	}
	return names
}

// snapshotRefs lists the names (or, for unnamed ones, versions) of the
// snapshots of the bucket in args[0].
func snapshotRefs(ctx context.Context, cl *adminClient, args []string) []string {
	raw, err := cl.do(ctx, http.MethodGet, adminPath("buckets", args[0], "snapshots"), nil, nil)
	if err != nil {
		return nil
	}
	var out struct {
		Snapshots []struct{ Version, Name string }
	}
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	var refs []string
	for _, s := range out.Snapshots {
		refs = append(refs, firstSet(s.Name, s.Version))
	}
	return refs
}

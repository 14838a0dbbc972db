package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

// buildVersion is what the Go build info says about this binary.
type buildVersion struct {
	Version    string `json:"version"`               // module version, "(devel)" for a local build
	Commit     string `json:"commit,omitempty"`      // vcs.revision
	CommitTime string `json:"commit_time,omitempty"` // vcs.time
	Modified   bool   `json:"modified,omitempty"`    // built from a tree with local changes
	Go         string `json:"go"`
	Platform   string `json:"platform"`
}

func readBuildVersion() buildVersion {
	v := buildVersion{Version: "(unknown)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// versionString is the one-line version: "forkstore v1.2.0 (commit
// 0123abcd..., go1.26.8 linux/amd64)".
func versionString() string {
	v := readBuildVersion()
	s := "forkstore " + v.Version + " ("
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += "commit " + c
		if v.Modified {
			s += "+modified"
		}
		s += ", "
	}
	return s + v.Go + " " + v.Platform + ")"
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.json {
				doc, err := json.Marshal(readBuildVersion())
				if err != nil {
					return err
				}
				return writeJSON(cmd.OutOrStdout(), doc)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionString())
			return err
		},
	}
}

package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/forkstore/forkstore/s3api"
)

// The key commands: scoped access keys (root credentials only).

func init() { register(newKeyCmd) }

func newKeyCmd(a *app) *cobra.Command {
	var (
		buckets    []string
		prefix     string
		readOnly   bool
		expires    string
		allowForks bool
		forkPrefix string
	)
	create := &cobra.Command{
		Use:   "create --bucket BUCKET [--bucket B2 ...] [--prefix P] [--read-only] [--expires 2h] [--allow-forks --fork-prefix P]",
		Short: "Create an access key that may use only the named buckets",
		Long: "Create an access key limited to the named buckets (and, with --prefix, to the\n" +
			"object keys under it); --read-only keys can only read; --expires makes the key\n" +
			"stop working after that long. The secret is shown once: keep it. A scoped key\n" +
			"works with every S3 client; anything outside its scope answers AccessDenied.\n" +
			"A key cannot create buckets; with --allow-forks it may fork its buckets over S3\n" +
			"into new buckets named under --fork-prefix (required with it): it may use each\n" +
			"fork it makes, and the fork is deleted when the key or the lease of any bucket\n" +
			"of its scope runs out, whichever comes first.",
		Example: "  forkstore key create --bucket agent-1\n" +
			"  forkstore key create --bucket datasets --prefix public/ --read-only --expires 7d --json\n" +
			"  forkstore key create --bucket agent-1 --allow-forks --fork-prefix agent-1-try- --expires 2h",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(buckets) == 0 {
				return usagef("%s: --bucket is required", cmd.CommandPath())
			}
			req := map[string]any{"buckets": buckets, "prefix": prefix, "read_only": readOnly}
			if allowForks || forkPrefix != "" {
				req["allow_forks"], req["fork_prefix"] = allowForks, forkPrefix
			}
			if expires != "" {
				req["ttl"] = expires
			}
			var k s3api.KeyJSON
			c := call{method: http.MethodPost, path: adminPath("keys"), body: req}
			return a.show(cmd, c, &k, func(w io.Writer) error {
				return fields(w,
					"ACCESS KEY ID", k.AccessKeyID,
					"SECRET ACCESS KEY", k.SecretAccessKey,
					"BUCKETS", strings.Join(k.Buckets, ","),
					"PREFIX", k.Prefix,
					"READ ONLY", yesNo(k.ReadOnly),
					"FORKS", forkScope(k),
					"EXPIRES", localTime(k.Expires))
			})
		},
	}
	f := create.Flags()
	f.StringArrayVar(&buckets, "bucket", nil, "`BUCKET` the key may use (repeat for more)")
	f.StringVar(&prefix, "prefix", "", "limit the key to object keys starting with `PREFIX`")
	f.BoolVar(&readOnly, "read-only", false, "the key may only read")
	f.StringVar(&expires, "expires", "", "the key stops working after this `DURATION` (e.g. 90m, 2h, 7d)")
	f.BoolVar(&allowForks, "allow-forks", false, "the key may fork its buckets (needs --fork-prefix)")
	f.StringVar(&forkPrefix, "fork-prefix", "", "names of the forks the key makes must start with `PREFIX`")

	var bucket string
	list := &cobra.Command{
		Use:   "list [--bucket BUCKET]",
		Short: "List the scoped access keys (never their secrets)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if bucket != "" {
				q.Set("bucket", bucket)
			}
			var out struct{ Keys []s3api.KeyJSON }
			c := call{method: http.MethodGet, path: adminPath("keys"), query: q}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				if len(out.Keys) == 0 {
					fmt.Fprintln(a.stderr, "no access keys")
					return nil
				}
				t := newTable(w, "ACCESS KEY ID", "BUCKETS", "PREFIX", "READ ONLY", "FORKS", "CREATED", "EXPIRES", "SEALING")
				for _, k := range out.Keys {
					t.row(k.AccessKeyID, strings.Join(k.Buckets, ","), k.Prefix, yesNo(k.ReadOnly), forkScope(k), localTime(k.Created), localTime(k.Expires), k.Sealing)
				}
				return t.flush()
			})
		},
	}
	list.Flags().StringVar(&bucket, "bucket", "", "only the keys that may use `BUCKET`")

	del := &cobra.Command{
		Use:   "delete ACCESS_KEY_ID",
		Short: "Delete an access key (it stops working on every node within a second)",
		Args:  exactArgs("ACCESS_KEY_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				AccessKeyID string `json:"access_key_id"`
			}
			c := call{method: http.MethodDelete, path: adminPath("keys", args[0])}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				fmt.Fprintf(w, "deleted %s\n", out.AccessKeyID)
				return nil
			})
		},
	}

	return group("key", "Manage scoped access keys",
		"Scoped access keys may use only the buckets (and prefix) they name. Only the root\n"+
			"credentials manage them.",
		create, list, del)
}

// forkScope shows a key's permission to fork: "no", or the prefix its
// forks are named under.
func forkScope(k s3api.KeyJSON) string {
	if !k.AllowForks {
		return "no"
	}
	return k.ForkPrefix + "*"
}

package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/forkstore/forkstore/s3api"
)

// The user commands: users besides the root account (root credentials
// only).

func init() { register(newUserCmd) }

func newUserCmd(a *app) *cobra.Command {
	showUser := func(u *s3api.UserJSON) func(io.Writer) error {
		return func(w io.Writer) error {
			kv := []string{"NAME", u.Name, "CANONICAL ID", u.CanonicalID, "DISPLAY NAME", u.DisplayName}
			if u.Email != "" {
				kv = append(kv, "E-MAIL", u.Email)
			}
			return fields(w, append(kv, "ACCESS KEY ID", u.AccessKeyID, "SECRET ACCESS KEY", u.SecretAccessKey)...)
		}
	}
	var displayName, email string
	create := &cobra.Command{
		Use:   "create NAME [--display-name NAME] [--email ADDRESS]",
		Short: "Create a user with its own access key",
		Long: "Create a user: an identity with its own access key, canonical id and display\n" +
			"name. A user owns the buckets it creates and lists only those, may fork them and\n" +
			"make scoped keys of them (forkstore key create with its credentials), and gets\n" +
			"nothing of other buckets unless a bucket policy or an ACL grants it (by its\n" +
			"canonical id, or by its e-mail address when it has one). The secret is shown\n" +
			"once: keep it.",
		Example: "  forkstore user create alice\n  forkstore user create alice --display-name 'Alice A.' --email alice@example.com --json",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u s3api.UserJSON
			c := call{method: http.MethodPost, path: adminPath("users"), body: map[string]any{"name": args[0], "display_name": displayName, "email": email}}
			return a.show(cmd, c, &u, showUser(&u))
		},
	}
	create.Flags().StringVar(&displayName, "display-name", "", "the user's display `NAME` (default: its name)")
	create.Flags().StringVar(&email, "email", "", "the user's e-mail `ADDRESS`, for ACL grants by e-mail (one user's only)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the users (never their secrets)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ Users []s3api.UserJSON }
			c := call{method: http.MethodGet, path: adminPath("users")}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				if len(out.Users) == 0 {
					fmt.Fprintln(a.stderr, "no users")
					return nil
				}
				t := newTable(w, "NAME", "CANONICAL ID", "DISPLAY NAME", "CREATED")
				for _, u := range out.Users {
					t.row(u.Name, u.CanonicalID, u.DisplayName, u.Created)
				}
				return t.flush()
			})
		},
	}

	var force bool
	del := &cobra.Command{
		Use:   "delete NAME [--force]",
		Short: "Delete a user and its keys",
		Long: "Delete a user and every key it has (its own and the scoped keys it made). A user\n" +
			"that owns buckets is refused (UserOwnsBuckets) unless --force: its buckets then\n" +
			"pass to the root account, with their objects, policies and ACLs unchanged.",
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if force {
				q.Set("force", "true")
			}
			var out struct{ Name string }
			c := call{method: http.MethodDelete, path: adminPath("users", args[0]), query: q}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				fmt.Fprintf(w, "deleted %s\n", out.Name)
				return nil
			})
		},
	}
	del.Flags().BoolVar(&force, "force", false, "delete a user that owns buckets: they pass to the root account")

	rotate := &cobra.Command{
		Use:   "rotate-key NAME",
		Short: "Give a user a new access key (the old one stops working)",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u s3api.UserJSON
			c := call{method: http.MethodPost, path: adminPath("users", args[0], "rotate-key")}
			return a.show(cmd, c, &u, showUser(&u))
		},
	}

	return group("user", "Manage users",
		"Users are identities besides the root account, each owning its buckets. Only the\n"+
			"root credentials manage them.",
		create, list, del, rotate)
}

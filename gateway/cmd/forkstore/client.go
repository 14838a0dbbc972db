package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// client calls the admin API, signing requests with SigV4.
type client struct {
	endpoint string
	access   string
	secret   string
	region   string
	http     *http.Client
}

// runClient runs the snapshot, fork and bucket subcommands.
func runClient(args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	group, verb := args[0], args[1]
	fs := flag.NewFlagSet(group+" "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", envOr("FORKSTORE_ENDPOINT", "http://127.0.0.1:9000"), "server URL (env FORKSTORE_ENDPOINT)")
	asJSON := fs.Bool("json", false, "print JSON")
	name := fs.String("name", "", "snapshot name (snapshot create)")
	snapshot := fs.String("snapshot", "", "snapshot version or name to fork from (fork create)")
	region := fs.String("region", envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1")), "region to sign for")
	nodeID := fs.Uint64("node-id", 0, "node id (cluster add, cluster remove)")
	raftAddr := fs.String("raft-addr", "", "the new node's Raft address (cluster add)")
	s3Addr := fs.String("s3-addr", "", "the new node's S3 address (cluster add)")
	to := fs.Uint64("to", 0, "node to lead (cluster transfer-leader)")
	pos, err := parseInterleaved(fs, args[2:])
	if err != nil {
		return err
	}
	c := &client{
		endpoint: strings.TrimRight(*endpoint, "/"),
		access:   os.Getenv("AWS_ACCESS_KEY_ID"),
		secret:   os.Getenv("AWS_SECRET_ACCESS_KEY"),
		region:   *region,
		http:     &http.Client{Timeout: 60 * time.Second},
	}
	if c.access == "" || c.secret == "" {
		return errors.New("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	need := func(n int, what string) error {
		if len(pos) != n {
			return fmt.Errorf("usage: forkstore %s %s %s", group, verb, what)
		}
		return nil
	}
	bpath := func(b string) string { return "/_forkstore/v1/buckets/" + url.PathEscape(b) }
	var (
		method, path string
		body         any
		render       func(v any, w io.Writer)
	)
	switch group + " " + verb {
	case "snapshot create":
		if err := need(1, "BUCKET [--name N]"); err != nil {
			return err
		}
		method, path, body, render = http.MethodPost, bpath(pos[0])+"/snapshots", map[string]string{"name": *name}, renderObject
	case "snapshot list":
		if err := need(1, "BUCKET"); err != nil {
			return err
		}
		method, path, render = http.MethodGet, bpath(pos[0])+"/snapshots", renderList("snapshots")
	case "snapshot delete":
		if err := need(2, "BUCKET VERSION"); err != nil {
			return err
		}
		method, path, render = http.MethodDelete, bpath(pos[0])+"/snapshots/"+url.PathEscape(pos[1]), renderObject
	case "fork create":
		if err := need(2, "SRC NEW [--snapshot V]"); err != nil {
			return err
		}
		req := map[string]string{"name": pos[1]}
		if *snapshot != "" {
			req["snapshot"] = *snapshot
		}
		method, path, body, render = http.MethodPost, bpath(pos[0])+"/forks", req, renderObject
	case "fork list":
		if err := need(1, "SRC"); err != nil {
			return err
		}
		method, path, render = http.MethodGet, bpath(pos[0])+"/forks", renderList("forks")
	case "fork diff":
		if err := need(1, "FORK"); err != nil {
			return err
		}
		return c.diff(bpath(pos[0])+"/diff", *asJSON, stdout)
	case "bucket lineage":
		if err := need(1, "BUCKET"); err != nil {
			return err
		}
		method, path, render = http.MethodGet, bpath(pos[0])+"/lineage", renderObject
	case "cluster status":
		method, path, render = http.MethodGet, "/_forkstore/v1/cluster/status", renderObject
	case "cluster add":
		if *nodeID == 0 || *raftAddr == "" || *s3Addr == "" {
			return errors.New("usage: forkstore cluster add --node-id N --raft-addr HOST:PORT --s3-addr HOST:PORT")
		}
		method, path, render = http.MethodPost, "/_forkstore/v1/cluster/members", renderObject
		body = map[string]any{"node_id": *nodeID, "raft_addr": *raftAddr, "s3_addr": *s3Addr}
	case "cluster remove":
		if *nodeID == 0 {
			return errors.New("usage: forkstore cluster remove --node-id N")
		}
		method, path, render = http.MethodDelete, fmt.Sprintf("/_forkstore/v1/cluster/members/%d", *nodeID), renderObject
	case "cluster transfer-leader":
		if *to == 0 {
			return errors.New("usage: forkstore cluster transfer-leader --to N")
		}
		method, path, body, render = http.MethodPost, "/_forkstore/v1/cluster/leader", map[string]any{"node_id": *to}, renderObject
	case "cluster digest":
		method, path, render = http.MethodPost, "/_forkstore/v1/cluster/digest", renderObject
	case "cluster scrub":
		method, path, render = http.MethodPost, "/_forkstore/v1/cluster/scrub", renderObject
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", group+" "+verb)
	}
	v, err := c.do(method, path, body)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	render(v, stdout)
	return nil
}

// parseInterleaved parses flags that may come after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// diff pages through a fork's diff.
func (c *client) diff(path string, asJSON bool, w io.Writer) error {
	token := ""
	var all []any
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for {
		p := path
		if token != "" {
			p += "?continuation-token=" + url.QueryEscape(token)
		}
		v, err := c.do(http.MethodGet, p, nil)
		if err != nil {
			return err
		}
		m, _ := v.(map[string]any)
		entries, _ := m["entries"].([]any)
		for _, e := range entries {
			all = append(all, e)
			if em, ok := e.(map[string]any); ok && !asJSON {
				fmt.Fprintf(tw, "%v\t%v\n", em["change"], em["key"])
			}
		}
		next, _ := m["next_continuation_token"].(string)
		if trunc, _ := m["is_truncated"].(bool); !trunc || next == "" {
			break
		}
		token = next
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"entries": all})
	}
	return tw.Flush()
}

func (c *client) do(method, path string, body any) (any, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.ContentLength = int64(len(payload))
	req.Header.Set("X-Amz-Content-Sha256", sha256Hex(payload))
	req = signer.SignV4(*req, c.access, c.secret, "", c.region)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var v any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
		}
	}
	if resp.StatusCode >= 300 {
		if m, ok := v.(map[string]any); ok && m["code"] != nil {
			return nil, fmt.Errorf("%v: %v", m["code"], m["message"])
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return v, nil
}

// renderObject prints a JSON object as sorted "key: value" lines.
func renderObject(v any, w io.Writer) {
	m, ok := v.(map[string]any)
	if !ok {
		if v != nil {
			fmt.Fprintln(w, v)
		}
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		switch x := m[k].(type) {
		case []any:
			fmt.Fprintf(tw, "%s:\t%d\n", k, len(x))
			for _, e := range x {
				fmt.Fprintf(tw, "  -\t%s\n", compact(e))
			}
		default:
			fmt.Fprintf(tw, "%s:\t%s\n", k, compact(x))
		}
	}
	tw.Flush()
}

// renderList prints the array under field as a table, one row per element.
func renderList(field string) func(v any, w io.Writer) {
	return func(v any, w io.Writer) {
		m, _ := v.(map[string]any)
		items, _ := m[field].([]any)
		if items == nil {
			items, _ = v.([]any)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		// Columns are the union of every row's fields: JSON omits empty
		// ones (an unnamed snapshot has no name).
		seen := map[string]bool{}
		var cols []string
		for _, it := range items {
			row, _ := it.(map[string]any)
			for k := range row {
				if !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
		}
		sort.Strings(cols)
		if len(items) > 0 {
			fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
		}
		for _, it := range items {
			row, _ := it.(map[string]any)
			vals := make([]string, len(cols))
			for j, c := range cols {
				vals[j] = compact(row[c])
			}
			fmt.Fprintln(tw, strings.Join(vals, "\t"))
		}
		tw.Flush()
	}
}

func compact(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

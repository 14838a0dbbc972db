package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

// call is one admin API request.
type call struct {
	method string
	path   string // adminPath(...)
	query  url.Values
	body   any // encoded as JSON when not nil
}

// show makes one admin call and prints the answer: with --json the
// server's JSON as it is (indented), otherwise human(w) after decoding the
// answer into v. It is the whole body of most commands:
//
//	var s s3api.SnapshotJSON
//	return a.show(cmd, call{...}, &s, func(w io.Writer) error { ... })
func (a *app) show(cmd *cobra.Command, c call, v any, human func(w io.Writer) error) error {
	raw, err := a.call(cmd, c)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(cmd.OutOrStdout(), raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding the answer of %s %s: %w", c.method, c.path, err)
	}
	return human(cmd.OutOrStdout())
}

// call makes one admin call and returns the JSON answer.
func (a *app) call(cmd *cobra.Command, c call) (json.RawMessage, error) {
	cl, err := a.client()
	if err != nil {
		return nil, err
	}
	return cl.do(cmd.Context(), c.method, c.path, c.query, c.body)
}

// writeJSON prints a JSON document indented by two spaces, object keys in
// sorted order: what scripts have always read from --json.
func writeJSON(w io.Writer, raw []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns. Empty cells print as "-".
type table struct {
	tw *tabwriter.Writer
}

// newTable starts a table with a header row (upper case by convention).
func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

// row adds a row; tabs and newlines in cells become spaces.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		cells[i] = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// fields writes "name  value" lines, aligned: one record.
func fields(w io.Writer, kv ...string) error {
	t := newTable(w)
	for i := 0; i+1 < len(kv); i += 2 {
		t.row(kv[i], kv[i+1])
	}
	return t.flush()
}

// size is a byte count for people: "4.0 MiB" (exact below 1 KiB: "812 B").
func size(n *int64) string {
	if n == nil {
		return ""
	}
	if *n < 0 {
		return fmt.Sprint(*n)
	}
	return humanize.IBytes(uint64(*n))
}

// localTime renders an RFC 3339 time of the API in the local time zone, to
// the second; what does not parse is shown as it is.
func localTime(s string) string {
	if s == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

// yesNo renders a flag.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

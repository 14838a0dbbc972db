package s3api

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// exportedErrs returns the exported package-level Err* variables declared
// in the non-test Go files of dir.
func exportedErrs(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names
}

// tableTargets returns "pkg.Name" for the first element of every row of
// errorTable, read from errors.go's syntax.
func tableTargets(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "errors.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "errorTable" {
			return true
		}
		for _, elt := range vs.Values[0].(*ast.CompositeLit).Elts {
			row := elt.(*ast.CompositeLit)
			if sel, ok := row.Elts[0].(*ast.SelectorExpr); ok {
				out[sel.X.(*ast.Ident).Name+"."+sel.Sel.Name] = true
			}
		}
		return false
	})
	return out
}

// TestErrorTableCoversSentinels requires an explicit row of the one error
// table for every exported Err* of meta and gateway, and a documented path
// for every raft sentinel (STYLE 3.3).
func TestErrorTableCoversSentinels(t *testing.T) {
	rows := tableTargets(t)
	for _, pkg := range []string{"meta", "gateway"} {
		names := exportedErrs(t, filepath.Join("..", pkg))
		if len(names) == 0 {
			t.Fatalf("found no Err* in ../%s", pkg)
		}
		for _, n := range names {
			if !rows[pkg+"."+n] {
				t.Errorf("errorTable has no row for %s.%s", pkg, n)
			}
		}
	}
	if _, err := os.Stat(filepath.Join("..", "raft")); err == nil {
		for _, n := range exportedErrs(t, filepath.Join("..", "raft")) {
			if !slices.Contains(raftViaGateway, n) {
				t.Errorf("raft.%s is not listed in raftViaGateway", n)
			}
		}
	}
}

// TestErrorTableRows checks that each row is reachable (no earlier row
// shadows it), wrapped or not, and that mapping passes APIErrors through.
func TestErrorTableRows(t *testing.T) {
	for i, row := range errorTable {
		if row.api == nil || row.api.Code == "" || row.api.Status < 300 {
			t.Errorf("row %d (%v): bad S3 error %+v", i, row.target, row.api)
		}
		for _, err := range []error{row.target, fmt.Errorf("op: %w: detail", row.target)} {
			api, _, known := toAPIError(err)
			if !known || api != row.api {
				t.Errorf("%v maps to %+v, want %+v", err, api, row.api)
			}
		}
	}
	t.Run("APIError passes through", func(t *testing.T) {
		api, _, known := toAPIError(fmt.Errorf("wrapped: %w", ErrMalformedXML))
		if !known || api != ErrMalformedXML {
			t.Errorf("got %+v", api)
		}
	})
	t.Run("detail fields", func(t *testing.T) {
		api, f, _ := toAPIError(invalidArg("bad", "max-keys", "x"))
		if api.Code != "InvalidArgument" || f.ArgumentName != "max-keys" || f.ArgumentValue != "x" {
			t.Errorf("got %+v %+v", api, f)
		}
	})
	t.Run("unknown is InternalError", func(t *testing.T) {
		api, _, known := toAPIError(errors.New("disk on fire"))
		if known || api != ErrInternalError {
			t.Errorf("got %+v known=%v", api, known)
		}
	})
	t.Run("meta and gateway sentinels", func(t *testing.T) {
		cases := []struct {
			err    error
			code   string
			status int
		}{
			{meta.ErrNoSuchBucket, "NoSuchBucket", 404},
			{meta.ErrBucketNotEmpty, "BucketNotEmpty", 409},
			{meta.ErrPreconditionFailed, "PreconditionFailed", 412},
			{gateway.ErrUnavailable, "ServiceUnavailable", 503},
			{gateway.ErrInvalidRange, "InvalidRange", 416},
			{gateway.ErrKeyTooLong, "KeyTooLongError", 400},
			{fmt.Errorf("%w: low: 12 MiB free < 1 GiB", gateway.ErrStorageFull), "InsufficientStorage", 507},
		}
		for _, c := range cases {
			api, _, _ := toAPIError(c.err)
			if api.Code != c.code || api.Status != c.status {
				t.Errorf("%v: got %s %d, want %s %d", c.err, api.Code, api.Status, c.code, c.status)
			}
		}
	})
}

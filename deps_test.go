package forkstore_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/forkstore/forkstore/"

// goList returns the import path's direct imports and its whole dependency
// closure, as go list reports them.
func goList(t *testing.T, pkg string) (imports, deps []string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var p struct{ Imports, Deps []string }
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p.Imports, p.Deps
}

// TestForbiddenImports keeps the dependency direction of ARCHITECTURE.md:
// meta knows Badger and the keyspace (and only Dragonboat's statemachine
// interfaces), raft knows Dragonboat but not S3 or the keyspace, and s3api
// knows HTTP and S3 but not Raft or Badger.
func TestForbiddenImports(t *testing.T) {
	type rule struct {
		pkg       string
		closure   bool // check the whole closure, not only direct imports
		forbidden []string
		allowed   []string // exceptions (prefixes) to forbidden
	}
	rules := []rule{
		{
			pkg: mod + "meta", closure: true,
			forbidden: []string{"github.com/gofiber/", "github.com/valyala/fasthttp", mod + "s3api", mod + "gateway", mod + "raft", "github.com/lni/dragonboat/v4"},
			allowed:   []string{"github.com/lni/dragonboat/v4/statemachine"},
		},
		{
			pkg: mod + "raft", closure: true,
			forbidden: []string{mod + "meta", mod + "s3api", mod + "gateway", "github.com/gofiber/", "github.com/dgraph-io/badger"},
		},
		{
			pkg:       mod + "s3api",
			forbidden: []string{mod + "raft", "github.com/lni/dragonboat", "github.com/dgraph-io/badger"},
		},
		{
			pkg: mod + "gateway", closure: true,
			forbidden: []string{mod + "s3api", "github.com/gofiber/", "github.com/valyala/fasthttp"},
		},
	}
	for _, r := range rules {
		imports, deps := goList(t, r.pkg)
		list := imports
		if r.closure {
			list = deps
		}
	next:
		for _, d := range list {
			for _, a := range r.allowed {
				if strings.HasPrefix(d, a) {
					continue next
				}
			}
			for _, f := range r.forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s must not depend on %s", strings.TrimPrefix(r.pkg, mod), d)
				}
			}
		}
	}
}

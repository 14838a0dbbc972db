package forkstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/forkstore/forkstore/"

// goPackage is the part of `go list -json` output the rules need.
type goPackage struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

// goListDeps returns pkg and every package it depends on, as
// `go list -deps -json` reports them (non-test code, the default build).
func goListDeps(t *testing.T, pkg string) map[string]goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -json %s: %v\n%s", pkg, err, stderr.String())
	}
	pkgs := map[string]goPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list -deps -json %s: %v", pkg, err)
		}
		pkgs[p.ImportPath] = p
	}
	if _, ok := pkgs[pkg]; !ok {
		t.Fatalf("go list -deps -json %s: package not in its own output", pkg)
	}
	return pkgs
}

// importChain returns how from reaches to, e.g. "meta -> x -> to".
func importChain(pkgs map[string]goPackage, from, to string) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for q := to; q != ""; q = prev[q] {
				chain = append([]string{strings.TrimPrefix(q, mod)}, chain...)
			}
			return strings.Join(chain, " -> ")
		}
		for _, imp := range pkgs[p].Imports {
			if _, seen := prev[imp]; !seen {
				prev[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return to
}

func hasPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// TestForbiddenImports keeps the import graph pointing the way the call
// graph does (STYLE 3.1, ARCHITECTURE 2), in the manner of pebble's
// internal/lint TestForbiddenImports:
//
//   - meta knows Badger and the keyspace; of Dragonboat it may use only
//     the statemachine interfaces (and what they import);
//   - raft moves opaque commands: no meta, s3api, gateway or HTTP stack;
//   - block (the chunk layer: store, placement, replication, repair) knows
//     meta's types and the standard library: no gateway, s3api, raft or
//     console, no HTTP framework, and of Dragonboat only what meta brings;
//     gateway hands it the metadata it needs (Refs, the member list);
//   - s3api knows HTTP and S3, not Raft, Badger or the chunk layer (direct
//     imports: it goes through gateway);
//   - gateway never reaches up into s3api or the HTTP stack;
//   - console (the web console) uses gateway's use cases and is handed
//     s3api's authorization as an interface: no s3api, Fiber, Raft,
//     Badger or chunk layer of its own (direct imports).
func TestForbiddenImports(t *testing.T) {
	const (
		fiber      = "github.com/gofiber/fiber"
		fasthttp   = "github.com/valyala/fasthttp"
		dragonboat = "github.com/lni/dragonboat/v4"
		badger     = "github.com/dgraph-io/badger"
		statemach  = "github.com/lni/dragonboat/v4/statemachine"
	)
	// What the statemachine package itself pulls in is allowed in meta.
	allowedInMeta := []string{statemach}
	for p, info := range goListDeps(t, statemach) {
		if !info.Standard {
			allowedInMeta = append(allowedInMeta, p)
		}
	}

	rules := []struct {
		pkg       string
		closure   bool // the whole dependency closure, or only direct imports
		forbidden []string
		allowed   []string // exceptions to forbidden
	}{
		{mod + "meta", true, []string{fiber, fasthttp, mod + "s3api", mod + "gateway", mod + "raft", mod + "console", dragonboat}, allowedInMeta},
		{mod + "raft", true, []string{mod + "meta", mod + "s3api", mod + "gateway", fiber, fasthttp, badger}, nil},
		{mod + "block", true, []string{mod + "gateway", mod + "s3api", mod + "raft", mod + "console", fiber, fasthttp, dragonboat}, allowedInMeta},
		{mod + "s3api", false, []string{mod + "raft", mod + "block", dragonboat, badger}, nil},
		{mod + "gateway", true, []string{mod + "s3api", mod + "console", fiber, fasthttp}, nil},
		{mod + "console", false, []string{mod + "s3api", mod + "raft", mod + "block", fiber, fasthttp, dragonboat, badger}, nil},
		{mod + "s3api", true, []string{mod + "console"}, nil},
	}
	for _, r := range rules {
		t.Run(strings.TrimPrefix(r.pkg, mod), func(t *testing.T) {
			pkgs := goListDeps(t, r.pkg)
			var list []string
			if r.closure {
				for p := range pkgs {
					if p != r.pkg {
						list = append(list, p)
					}
				}
			} else {
				list = pkgs[r.pkg].Imports
			}
			for _, d := range list {
				if hasPrefix(d, r.forbidden) && !hasPrefix(d, r.allowed) {
					t.Errorf("%s must not depend on %s: %s", strings.TrimPrefix(r.pkg, mod), d, importChain(pkgs, r.pkg, d))
				}
			}
		})
	}
}

// TestForbiddenImportsCatches checks the rule machinery on a known edge:
// s3api's closure does reach gateway, so a rule against it would fire.
func TestForbiddenImportsCatches(t *testing.T) {
	pkgs := goListDeps(t, mod+"s3api")
	if _, ok := pkgs[mod+"gateway"]; !ok {
		t.Skip("s3api no longer depends on gateway")
	}
	if chain := importChain(pkgs, mod+"s3api", mod+"gateway"); !strings.HasPrefix(chain, "s3api -> ") {
		t.Errorf("importChain = %q", chain)
	}
	if !hasPrefix(mod+"gateway/checksum", []string{mod + "gateway"}) || hasPrefix(mod+"gatewayx", []string{mod + "gateway"}) {
		t.Error("hasPrefix must match whole path elements")
	}
}

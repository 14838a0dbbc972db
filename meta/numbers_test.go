package meta

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"testing"
)

// The command ops, result codes and key families are numbered by hand, a
// range per feature; two features taking the same number would make
// replicas decode one command as another or mix two keyspaces. Each family
// of constants must have distinct values.
func TestNumbersDistinct(t *testing.T) {
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for _, name := range []string{"command.go", "keys.go", "result.go"} {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	// Evaluate the constants with go/types so that expressions count too.
	conf := types.Config{Importer: nil, Error: func(error) {}}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	var list []*ast.File
	for _, f := range files {
		list = append(list, f)
	}
	conf.Check("meta", fset, list, info) // errors about other files' names are expected
	for _, family := range []string{"op", "pfx", "code"} {
		seen := map[string]string{}
		for id, obj := range info.Defs {
			c, ok := obj.(*types.Const)
			if !ok || !strings.HasPrefix(id.Name, family) || len(id.Name) == len(family) ||
				!isUpper(id.Name[len(family)]) || c.Val().Kind() != constant.Int {
				continue
			}
			v := c.Val().ExactString()
			if other, dup := seen[v]; dup && other != id.Name {
				t.Errorf("%s and %s are both %s", other, id.Name, v)
			}
			seen[v] = id.Name
		}
		if len(seen) < 5 {
			t.Fatalf("found only %d %s constants: the test no longer sees them", len(seen), family)
		}
	}
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

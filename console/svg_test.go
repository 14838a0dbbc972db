package console

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLineageSVGEveryNode draws 3 levels with 50 forks and finds every
// node, as a link, in a well-formed SVG.
func TestLineageSVGEveryNode(t *testing.T) {
	root := &LineageNode{Name: "root"}
	var names []string
	for i := 0; i < 10; i++ {
		f := &LineageNode{Name: fmt.Sprintf("fork-%d", i), ForkPoint: uint64(time.Now().UnixNano()), Changed: i}
		root.Children = append(root.Children, f)
		names = append(names, f.Name)
		for j := 0; j < 4; j++ {
			g := &LineageNode{Name: fmt.Sprintf("fork-%d-%d", i, j), ForkPoint: 1, Changed: j, Expires: time.Now().Add(time.Duration(j) * time.Hour).UnixNano()}
			f.Children = append(f.Children, g)
			names = append(names, g.Name)
		}
	}
	if len(names) != 50 {
		t.Fatalf("%d forks", len(names))
	}
	out := string(LineageSVG(root, time.Now()))
	var doc struct {
		XMLName xml.Name
		Links   []struct {
			Href   string `xml:"href,attr"`
			Bucket string `xml:"data-bucket,attr"`
			Rect   struct {
				X int `xml:"x,attr"`
				Y int `xml:"y,attr"`
			} `xml:"rect"`
		} `xml:"a"`
		Paths []struct{} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	if doc.XMLName.Local != "svg" || len(doc.Links) != 51 || len(doc.Paths) != 50 {
		t.Fatalf("svg %q with %d nodes and %d edges", doc.XMLName.Local, len(doc.Links), len(doc.Paths))
	}
	seen := map[string]bool{}
	pos := map[[2]int]string{}
	for _, l := range doc.Links {
		seen[l.Bucket] = true
		if l.Href != "lineage?bucket="+l.Bucket {
			t.Errorf("node %s links to %q", l.Bucket, l.Href)
		}
		p := [2]int{l.Rect.X, l.Rect.Y}
		if o, ok := pos[p]; ok {
			t.Errorf("nodes %s and %s overlap", o, l.Bucket)
		}
		pos[p] = l.Bucket
	}
	for _, n := range append(names, "root") {
		if !seen[n] {
			t.Errorf("node %s not drawn", n)
		}
	}
}

func TestLineageSVGEscapes(t *testing.T) {
	root := &LineageNode{Name: `<script>alert(1)</script>`, Children: []*LineageNode{{Name: `a"&b`, ForkPoint: 5}}}
	out := string(LineageSVG(root, time.Now()))
	if strings.Contains(out, "<script>") || strings.Contains(out, `a"&b`) {
		t.Fatalf("unescaped name in %s", out)
	}
	if err := xml.Unmarshal([]byte(out), new(struct{})); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	if out := string(TimelineSVG([]SnapshotMark{{Name: "<b>", Version: 1}, {Version: 2}})); strings.Contains(out, "<b>") {
		t.Fatalf("unescaped snapshot name in %s", out)
	}
}

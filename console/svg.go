package console

import (
	"fmt"
	"html"
	"html/template"
	"net/url"
	"strings"
	"time"
)

// LineageNode is one bucket of a fork tree as the lineage drawing shows it.
type LineageNode struct {
	Name string
	// ForkPoint is the parent's version the bucket was forked at (0 for
	// the root of the drawing).
	ForkPoint uint64
	// Expires is the fork's lease (Unix ns, 0 = none).
	Expires int64
	// Changed is how many keys the fork changed against its parent (-1
	// unknown); ChangedMore says there are more than Changed.
	Changed     int
	ChangedMore bool
	Snapshots   int
	// Hidden counts the forks of this bucket outside the viewer's scope.
	Hidden   int
	Children []*LineageNode
	// Current marks the bucket the page is about.
	Current bool
}

// Layout of the drawing, in SVG user units.
const (
	svgNodeW   = 230
	svgNodeH   = 46
	svgColW    = 270
	svgRowH    = 58
	svgMargin  = 12
	svgMaxName = 28
)

// LineageSVG draws the tree under root as an SVG: a box per bucket (a
// link to its lineage page, which links to its diff and objects) with
// its fork point, lease and changed-key count, and an edge from each
// parent to each fork. Every name is escaped. now renders leases as time
// left.
func LineageSVG(root *LineageNode, now time.Time) template.HTML {
	type placed struct {
		n    *LineageNode
		x, y int
	}
	var nodes []placed
	var edges []string
	row, maxDepth := 0, 0
	var walk func(n *LineageNode, depth int) int
	walk = func(n *LineageNode, depth int) int {
		if depth > maxDepth {
			maxDepth = depth
		}
		x := svgMargin + depth*svgColW
		var y int
		if len(n.Children) == 0 {
			y = svgMargin + row*svgRowH
			row++
		} else {
			var first, last int
			var ys []int
			for i, c := range n.Children {
				cy := walk(c, depth+1)
				if i == 0 {
					first = cy
				}
				last = cy
				ys = append(ys, cy)
			}
			y = (first + last) / 2
			x1, x2 := x+svgNodeW, svgMargin+(depth+1)*svgColW
			for _, cy := range ys {
				edges = append(edges, fmt.Sprintf(`<path class="edge" d="M%d %d C%d %d %d %d %d %d"/>`,
					x1, y+svgNodeH/2, x1+20, y+svgNodeH/2, x2-20, cy+svgNodeH/2, x2, cy+svgNodeH/2))
			}
		}
		nodes = append(nodes, placed{n, x, y})
		return y
	}
	walk(root, 0)
	w := svgMargin*2 + maxDepth*svgColW + svgNodeW
	h := svgMargin*2 + max(row, 1)*svgRowH - (svgRowH - svgNodeH)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="fork tree">`, w, h, w, h)
	for _, e := range edges {
		b.WriteString(e)
	}
	for _, p := range nodes {
		n := p.n
		cls := "node"
		if n.Current {
			cls += " current"
		}
		if n.Expires != 0 && time.Unix(0, n.Expires).Sub(now) < time.Hour {
			cls += " expiring"
		}
		href := "lineage?bucket=" + url.QueryEscape(n.Name)
		fmt.Fprintf(&b, `<a href="%s" class="%s" data-bucket="%s"><title>%s</title>`, html.EscapeString(href), cls, html.EscapeString(n.Name), html.EscapeString(n.Name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6"/>`, p.x, p.y, svgNodeW, svgNodeH)
		fmt.Fprintf(&b, `<text class="name" x="%d" y="%d">%s</text>`, p.x+8, p.y+18, html.EscapeString(shorten(n.Name, svgMaxName)))
		fmt.Fprintf(&b, `<text class="info" x="%d" y="%d">%s</text>`, p.x+8, p.y+36, html.EscapeString(nodeInfo(n, now)))
		b.WriteString(`</a>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// nodeInfo is a node's second line.
func nodeInfo(n *LineageNode, now time.Time) string {
	var parts []string
	if n.ForkPoint != 0 {
		parts = append(parts, "@"+time.Unix(0, int64(n.ForkPoint)).UTC().Format("01-02 15:04:05"))
	} else {
		parts = append(parts, "root")
	}
	if n.Changed >= 0 && n.ForkPoint != 0 {
		c := fmt.Sprintf("%d changed", n.Changed)
		if n.ChangedMore {
			c = fmt.Sprintf("%d+ changed", n.Changed)
		}
		parts = append(parts, c)
	}
	if n.Expires != 0 {
		parts = append(parts, "lease "+leftString(time.Unix(0, n.Expires).Sub(now)))
	}
	if n.Snapshots > 0 {
		parts = append(parts, fmt.Sprintf("%d snap", n.Snapshots))
	}
	if n.Hidden > 0 {
		parts = append(parts, fmt.Sprintf("+%d hidden", n.Hidden))
	}
	return strings.Join(parts, " · ")
}

// leftString renders a lease's time left.
func leftString(d time.Duration) string {
	switch {
	case d <= 0:
		return "expired"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// SnapshotMark is a snapshot on the timeline.
type SnapshotMark struct {
	Name    string
	Version uint64
}

// TimelineSVG draws a bucket's snapshots on a time line, oldest left.
func TimelineSVG(snaps []SnapshotMark) template.HTML {
	if len(snaps) == 0 {
		return ""
	}
	const w, h, pad = 720, 64, 30
	lo, hi := snaps[0].Version, snaps[0].Version
	for _, s := range snaps {
		lo, hi = min(lo, s.Version), max(hi, s.Version)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="snapshots">`, w, h, w, h)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="24" x2="%d" y2="24"/>`, pad, w-pad)
	for i, s := range snaps {
		x := w / 2
		if hi > lo {
			x = pad + int(float64(s.Version-lo)/float64(hi-lo)*float64(w-2*pad))
		}
		label := s.Name
		if label == "" {
			label = time.Unix(0, int64(s.Version)).UTC().Format("15:04:05")
		}
		fmt.Fprintf(&b, `<g class="snap"><title>%s</title><circle cx="%d" cy="24" r="5"/><text x="%d" y="%d">%s</text></g>`,
			html.EscapeString(label+" @ "+fmt.Sprint(s.Version)), x, x, 44+(i%2)*14, html.EscapeString(shorten(label, 16)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

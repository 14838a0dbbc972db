package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Chart is one line chart of the cluster page: a few series over the
// same instants, drawn as SVG by Chart.SVG.
type Chart struct {
	// ID is the svg element's id.
	ID    string
	Title string
	// Unit renders a value of the y axis; Base is the base of its
	// multiples (1024 for bytes; 0 is 1000), which the axis's bound is
	// a round number of.
	Unit   func(float64) string
	Base   float64
	At     []time.Time
	Series []Series
	// End and Span are the time window drawn: the x axis runs from
	// End-Span to End. A zero Span spaces the points evenly.
	End  time.Time
	Span time.Duration
}

// Series is one line of a chart: a value per instant of the chart, NaN
// (or ±Inf, or a missing value) where there is none, which leaves a gap.
type Series struct {
	Name   string
	Values []float64
}

// Layout of a chart, in SVG user units.
const (
	chartW      = 520
	chartH      = 170
	chartLeft   = 64
	chartRight  = 12
	chartTop    = 26
	chartBottom = 22
)

// SVG draws the chart: the axes with the window's start and end, the
// y axis from 0 to a round bound above the largest value, a polyline per
// series (split where values are missing) and a legend with each
// series' last value. Every text is escaped.
func (c Chart) SVG() template.HTML {
	unit := c.Unit
	if unit == nil {
		unit = plainUnit
	}
	plotW, plotH := float64(chartW-chartLeft-chartRight), float64(chartH-chartTop-chartBottom)
	top := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if finite(v) && v > top {
				top = v
			}
		}
	}
	top = niceCeilIn(top, c.Base)
	n := len(c.At)
	for _, s := range c.Series {
		n = max(n, len(s.Values))
	}
	x := func(i int) float64 {
		if c.Span > 0 && i < len(c.At) && !c.End.IsZero() {
			f := 1 - float64(c.End.Sub(c.At[i]))/float64(c.Span)
			return chartLeft + plotW*math.Min(1, math.Max(0, f))
		}
		if n <= 1 {
			return chartLeft + plotW
		}
		return chartLeft + plotW*float64(i)/float64(n-1)
	}
	y := func(v float64) float64 {
		return chartTop + plotH*(1-math.Min(1, math.Max(0, v)/top))
	}
	var b strings.Builder
	id := ""
	if c.ID != "" {
		id = ` id="` + html.EscapeString(c.ID) + `"`
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg"%s class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		id, chartW, chartH, chartW, chartH, html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<text class="title" x="%d" y="16">%s</text>`, chartLeft, html.EscapeString(c.Title))
	for _, f := range []float64{0, 0.5, 1} {
		gy := y(top * f)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, chartLeft, gy, chartW-chartRight, gy)
		fmt.Fprintf(&b, `<text class="ylabel" x="%d" y="%.1f">%s</text>`, chartLeft-6, gy+4, html.EscapeString(unit(top*f)))
	}
	start, end := "", "now"
	switch {
	case c.Span > 0:
		start = "-" + spanString(c.Span)
	case n > 0:
		start = strconv.Itoa(n) + " samples"
	}
	fmt.Fprintf(&b, `<text class="xlabel" x="%d" y="%d">%s</text>`, chartLeft, chartH-6, html.EscapeString(start))
	fmt.Fprintf(&b, `<text class="xlabel end" x="%d" y="%d">%s</text>`, chartW-chartRight, chartH-6, html.EscapeString(end))
	if n == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%.1f" y="%.1f">no samples yet</text>`, chartLeft+plotW/2, chartTop+plotH/2)
	}
	legendX := chartLeft + 200
	for si, s := range c.Series {
		cls := "s" + strconv.Itoa(si%4)
		pts := make([]byte, 0, 12*len(s.Values))
		flush := func() {
			if len(pts) > 0 {
				b.WriteString(`<polyline class="line ` + cls + `" points="`)
				b.Write(pts)
				b.WriteString(`"/>`)
				pts = pts[:0]
			}
		}
		last := math.NaN() // unit renders it "–"
		for i, v := range s.Values {
			if !finite(v) {
				flush()
				continue
			}
			if len(pts) > 0 {
				pts = append(pts, ' ')
			}
			pts = strconv.AppendFloat(pts, x(i), 'f', 1, 64)
			pts = append(pts, ',')
			pts = strconv.AppendFloat(pts, y(v), 'f', 1, 64)
			last = v
		}
		flush()
		fmt.Fprintf(&b, `<text class="legend %s" x="%d" y="16">%s</text>`, cls, legendX, html.EscapeString(s.Name+": "+unit(last)))
		legendX += 150
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// niceCeil returns 1, 2 or 5 times a power of ten at or above v (1 for
// nothing to show; v itself when that bound is past float64).
func niceCeil(v float64) float64 {
	if !(v > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if c := m * p; c >= v {
			if math.IsInf(c, 0) {
				return v
			}
			return c
		}
	}
	return v
}

// niceCeilIn is niceCeil of v in the largest power of base (1000 when
// 0) not above it: 10 KiB rather than 9.77 KiB for bytes.
func niceCeilIn(v, base float64) float64 {
	if base <= 1 {
		base = 1000
	}
	if !(v > 0) || math.IsInf(v, 0) {
		return niceCeil(v)
	}
	p := 1.0
	for v/p >= base && !math.IsInf(p*base, 0) {
		p *= base
	}
	if c := niceCeil(v/p) * p; !math.IsInf(c, 0) {
		return c
	}
	return v
}

// plainUnit renders a figure with an SI suffix: 950, 1.2k, 3.4M (past
// exa, in scientific notation).
func plainUnit(v float64) string {
	return scaled(v, 1000, []string{"", "k", "M", "G", "T", "P", "E"}, "")
}

// byteUnit renders bytes per second: 512 B/s, 1.5 MiB/s.
func byteUnit(v float64) string {
	return scaled(v, 1024, []string{" B/s", " KiB/s", " MiB/s", " GiB/s", " TiB/s", " PiB/s", " EiB/s"}, " B/s")
}

// scaled renders v divided by the largest power of base below it with
// that power's suffix; past the last, v in scientific notation with raw.
func scaled(v, base float64, suffixes []string, raw string) string {
	if !finite(v) {
		return "–"
	}
	if math.Abs(v) >= math.Pow(base, float64(len(suffixes))) {
		return strconv.FormatFloat(v, 'g', 3, 64) + raw
	}
	i := 0
	for math.Abs(v) >= base && i < len(suffixes)-1 {
		v /= base
		i++
	}
	prec := 0
	switch a := math.Abs(v); {
	case a == math.Trunc(a) && i == 0:
	case a < 10:
		prec = 2
	case a < 100:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + suffixes[i]
}

// spanString renders a chart's window: 10m, 90s, 2h.
func spanString(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d.Seconds())) + "s"
}

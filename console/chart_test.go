package console

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chartParts parses a chart's SVG (which must be well-formed) and returns
// its polylines' points and its texts.
func chartParts(t *testing.T, svg string) (lines [][][2]float64, texts []string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	inText := false
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return lines, texts
			}
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			inText = e.Name.Local == "text"
			if e.Name.Local != "polyline" {
				continue
			}
			var pts [][2]float64
			for _, a := range e.Attr {
				if a.Name.Local != "points" {
					continue
				}
				for _, p := range strings.Fields(a.Value) {
					xs, ys, ok := strings.Cut(p, ",")
					x, err1 := strconv.ParseFloat(xs, 64)
					y, err2 := strconv.ParseFloat(ys, 64)
					if !ok || err1 != nil || err2 != nil || !finite(x) || !finite(y) {
						t.Fatalf("bad point %q in %s", p, svg)
					}
					if x < 0 || x > chartW || y < 0 || y > chartH {
						t.Errorf("point %q outside the chart", p)
					}
					pts = append(pts, [2]float64{x, y})
				}
			}
			lines = append(lines, pts)
		case xml.CharData:
			if inText {
				texts = append(texts, string(e))
			}
		case xml.EndElement:
			inText = false
		}
	}
}

func testChart(n int, values func(i int) float64) Chart {
	end := time.Unix(1_700_000_000, 0)
	c := Chart{Title: "S3 requests/s", End: end, Span: time.Duration(n) * 5 * time.Second}
	s := Series{Name: "requests/s"}
	for i := range n {
		c.At = append(c.At, end.Add(-time.Duration(n-1-i)*5*time.Second))
		s.Values = append(s.Values, values(i))
	}
	c.Series = []Series{s}
	return c
}

// TestChartSVGPoints: a chart of N samples draws one polyline of N
// points, left to right, higher values higher up, the last at "now".
func TestChartSVGPoints(t *testing.T) {
	for _, n := range []int{1, 2, 120} {
		lines, texts := chartParts(t, string(testChart(n, func(i int) float64 { return float64(i) }).SVG()))
		if len(lines) != 1 || len(lines[0]) != n {
			t.Fatalf("n=%d: lines %v", n, lines)
		}
		pts := lines[0]
		for i := 1; i < n; i++ {
			if pts[i][0] <= pts[i-1][0] || pts[i][1] >= pts[i-1][1] {
				t.Fatalf("n=%d: point %d %v after %v", n, i, pts[i], pts[i-1])
			}
		}
		if last := pts[n-1][0]; last != chartW-chartRight {
			t.Errorf("n=%d: last point at x=%v", n, last)
		}
		if !strings.Contains(strings.Join(texts, "|"), "requests/s: "+plainUnit(float64(n-1))) {
			t.Errorf("n=%d: legend lacks the last value: %q", n, texts)
		}
	}
}

// TestChartSVGEmptyAndZero: no samples draws the axes and says so; all
// zeros draw a flat line at the bottom on a 0..1 axis; missing values
// (NaN, ±Inf) leave gaps.
func TestChartSVGEmptyAndZero(t *testing.T) {
	lines, texts := chartParts(t, string(Chart{Title: "empty", Span: time.Minute}.SVG()))
	if len(lines) != 0 || !strings.Contains(strings.Join(texts, "|"), "no samples yet") {
		t.Errorf("empty chart: lines %v texts %q", lines, texts)
	}
	lines, texts = chartParts(t, string(testChart(10, func(int) float64 { return 0 }).SVG()))
	if len(lines) != 1 || len(lines[0]) != 10 {
		t.Fatalf("zeros: %v", lines)
	}
	for _, p := range lines[0] {
		if p[1] != chartH-chartBottom {
			t.Fatalf("a zero drawn at y=%v", p[1])
		}
	}
	if !strings.Contains(strings.Join(texts, "|"), "|1|") {
		t.Errorf("zeros: the axis should run to 1: %q", texts)
	}
	gaps := testChart(9, func(i int) float64 {
		switch i {
		case 3:
			return math.NaN()
		case 6:
			return math.Inf(1)
		}
		return 1
	})
	lines, _ = chartParts(t, string(gaps.SVG()))
	if len(lines) != 3 || len(lines[0]) != 3 || len(lines[1]) != 2 || len(lines[2]) != 2 {
		t.Errorf("gaps: %v", lines)
	}
}

// TestChartSVGHugeValues: values up to the largest float64 stay inside
// the chart, with finite coordinates and readable labels.
func TestChartSVGHugeValues(t *testing.T) {
	for _, big := range []float64{1e18, 1e300, math.MaxFloat64} {
		c := testChart(5, func(i int) float64 { return big / float64(5-i) })
		c.Unit, c.Base = byteUnit, 1024
		svg := string(c.SVG())
		lines, texts := chartParts(t, svg)
		if len(lines) != 1 || len(lines[0]) != 5 {
			t.Fatalf("%g: lines %v", big, lines)
		}
		if top := lines[0][4][1]; top < chartTop-0.1 || top > chartTop+float64(chartH-chartTop-chartBottom)/2 {
			t.Errorf("%g: the largest value at y=%v", big, top)
		}
		for _, s := range texts {
			if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
				t.Errorf("%g: label %q", big, s)
			}
		}
	}
}

// TestChartSVGEscapes: titles and series names are text.
func TestChartSVGEscapes(t *testing.T) {
	c := testChart(3, func(i int) float64 { return 1 })
	c.Title = `<script>alert(1)</script>`
	c.Series[0].Name = `"><img src=x onerror=alert(1)>`
	svg := string(c.SVG())
	if strings.Contains(svg, "<script") || strings.Contains(svg, "<img") {
		t.Fatalf("not escaped: %s", svg)
	}
	_, texts := chartParts(t, svg)
	if !strings.Contains(strings.Join(texts, "|"), c.Title) {
		t.Errorf("title lost: %q", texts)
	}
}

// TestHistoryRing: the ring keeps the last samples, oldest first.
func TestHistoryRing(t *testing.T) {
	h := NewHistory(time.Second, 3)
	if len(h.Samples()) != 0 {
		t.Fatal("a new history has samples")
	}
	for i := range 5 {
		h.Add(Sample{Requests: float64(i)})
	}
	var got []float64
	for _, s := range h.Samples() {
		got = append(got, s.Requests)
	}
	if len(got) != 3 || got[0] != 2 || got[2] != 4 {
		t.Errorf("samples %v, want [2 3 4]", got)
	}
	if h.Span() != 3*time.Second {
		t.Errorf("span %v", h.Span())
	}
}

// TestUnits: the axis and legend labels.
func TestUnits(t *testing.T) {
	for _, c := range []struct {
		name string
		got  string
		want string
	}{
		{"zero", plainUnit(0), "0"},
		{"small", plainUnit(950), "950"},
		{"fraction", plainUnit(0.25), "0.25"},
		{"kilo", plainUnit(1500), "1.50k"},
		{"past exa", plainUnit(1e300), "1e+300"},
		{"bytes", byteUnit(512), "512 B/s"},
		{"mebibytes", byteUnit(3 << 20), "3.00 MiB/s"},
		{"nan", byteUnit(math.NaN()), "–"},
		{"byte axis", byteUnit(niceCeilIn(9000, 1024)), "10.0 KiB/s"},
		{"plain axis", plainUnit(niceCeilIn(9000, 0)), "10.0k"},
		{"small axis", plainUnit(niceCeilIn(0.3, 1000)), "0.50"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("%q, want %q", c.got, c.want)
			}
		})
	}
}

// BenchmarkClusterCharts draws the cluster page's three charts from a
// full ring (120 samples).
func BenchmarkClusterCharts(b *testing.B) {
	h := NewHistory(DefaultSampleEvery, DefaultSamples)
	at := time.Now()
	for i := range DefaultSamples {
		h.Add(Sample{At: at.Add(time.Duration(i) * DefaultSampleEvery), Requests: float64(i), P99: 0.01, BytesIn: float64(i) * 1e6, BytesOut: 2e6})
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range liveCharts(h) {
			_ = c.SVG()
		}
	}
}

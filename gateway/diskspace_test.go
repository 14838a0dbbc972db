package gateway

import "testing"

func TestParseMinFreeSpace(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name  string
		in    string
		want  MinFreeSpace
		error bool
	}{
		{name: "auto", in: "auto", want: MinFreeSpace{Auto: true}},
		{name: "empty is auto", in: "", want: MinFreeSpace{Auto: true}},
		{name: "zero never refuses", in: "0", want: MinFreeSpace{}},
		{name: "GiB", in: "1GiB", want: MinFreeSpace{Bytes: gib}},
		{name: "MiB with space", in: " 500 MiB ", want: MinFreeSpace{Bytes: 500 << 20}},
		{name: "SI", in: "2GB", want: MinFreeSpace{Bytes: 2e9}},
		{name: "plain bytes", in: "1048576", want: MinFreeSpace{Bytes: 1 << 20}},
		{name: "percent", in: "5%", want: MinFreeSpace{Percent: 5}},
		{name: "fractional percent", in: "0.5%", want: MinFreeSpace{Percent: 0.5}},
		{name: "percent too big", in: "100%", error: true},
		{name: "negative percent", in: "-1%", error: true},
		{name: "not a number", in: "lots", error: true},
		{name: "negative size", in: "-1GiB", error: true},
		{name: "percent garbage", in: "x%", error: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMinFreeSpace(tt.in)
			if tt.error {
				if err == nil {
					t.Fatalf("ParseMinFreeSpace(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMinFreeSpace(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if back, err := ParseMinFreeSpace(got.String()); err != nil || back != got {
				t.Errorf("%+v renders as %q, which reads back as %+v, %v", got, got.String(), back, err)
			}
		})
	}
}

func TestMinFreeSpaceThreshold(t *testing.T) {
	const mib, gib = uint64(1 << 20), uint64(1 << 30)
	tests := []struct {
		name  string
		m     MinFreeSpace
		total uint64
		want  uint64
	}{
		{name: "auto on a big disk is 1 GiB", m: DefaultMinFreeSpace, total: 1000 * gib, want: gib},
		{name: "auto is 5% below 20 GiB", m: DefaultMinFreeSpace, total: 10 * gib, want: 10 * gib / 100 * 5},
		{name: "auto is at least 64 MiB", m: DefaultMinFreeSpace, total: 384 * mib, want: 64 * mib},
		{name: "auto is at most a quarter of a tiny disk", m: DefaultMinFreeSpace, total: 100 * mib, want: 25 * mib},
		{name: "percent", m: MinFreeSpace{Percent: 10}, total: 50 * gib, want: 5 * gib},
		{name: "bytes", m: MinFreeSpace{Bytes: 300 << 20}, total: 50 * gib, want: 300 * mib},
		{name: "zero", m: MinFreeSpace{}, total: 50 * gib, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Threshold(tt.total); got != tt.want {
				t.Errorf("%s.Threshold(%d) = %d, want %d", tt.m, tt.total, got, tt.want)
			}
		})
	}
}

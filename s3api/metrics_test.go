package s3api

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/forkstore/forkstore/gateway"
)

// Recording a request allocates nothing: the children of every operation
// are resolved up front (and once, for an operation met later).
func TestRequestMetricsAllocs(t *testing.T) {
	m := newRequestMetrics([]Operation{OpGetObject, OpPutObject})
	m.observe("SomethingNew", 200, time.Millisecond, 0, 0) // resolves its children
	for _, op := range []Operation{OpGetObject, OpPutObject, "SomethingNew", ""} {
		if n := testing.AllocsPerRun(1000, func() {
			m.inflight.Inc()
			m.observe(op, 404, 3*time.Millisecond, 10, 20)
			m.inflight.Dec()
		}); n != 0 {
			t.Errorf("observe(%q) allocates %v times", op, n)
		}
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GetObject", "4xx")); got != 1001 {
		t.Errorf("GetObject 4xx = %v, want 1001 (AllocsPerRun runs once more)", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("Invalid", "4xx")); got != 1001 {
		t.Errorf("unrouted requests count as Invalid: %v", got)
	}
}

func BenchmarkRequestMetrics(b *testing.B) {
	m := newRequestMetrics([]Operation{OpGetObject})
	b.ReportAllocs()
	for b.Loop() {
		m.inflight.Inc()
		m.observe(OpGetObject, 200, time.Millisecond, 0, 1<<20)
		m.inflight.Dec()
	}
}

// GET /metrics is a scrape when it is unsigned or carries a bearer token,
// and only when metrics are served on the listener; SigV4-signed it stays
// ListObjects of the bucket "metrics".
func TestRouteMetrics(t *testing.T) {
	sigv4 := http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=k/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"}}
	bearer := http.Header{"Authorization": {"Bearer t0ken"}}
	for _, tc := range []struct {
		name    string
		on      bool
		method  string
		path    string
		query   url.Values
		header  http.Header
		want    Operation
		wantBkt string
	}{
		{"unsigned", true, "GET", "/metrics", nil, http.Header{}, OpMetrics, ""},
		{"bearer", true, "GET", "/metrics", nil, bearer, OpMetrics, ""},
		{"sigv4", true, "GET", "/metrics", nil, sigv4, OpListObjects, "metrics"},
		{"presigned", true, "GET", "/metrics", url.Values{"X-Amz-Signature": {"00"}}, http.Header{}, OpListObjects, "metrics"},
		{"off", false, "GET", "/metrics", nil, bearer, OpListObjects, "metrics"},
		{"put", true, "PUT", "/metrics", nil, bearer, OpCreateBucket, "metrics"},
		{"object", true, "GET", "/metrics/x", nil, bearer, OpGetObject, "metrics"},
	} {
		rt := Router{Metrics: tc.on}
		q := tc.query
		if q == nil {
			q = url.Values{}
		}
		r := rt.Route(tc.method, "127.0.0.1:9000", tc.path, q, tc.header)
		if r.Op != tc.want || r.Bucket != tc.wantBkt {
			t.Errorf("%s: %s %s routes to %s %q, want %s %q", tc.name, tc.method, tc.path, r.Op, r.Bucket, tc.want, tc.wantBkt)
		}
	}
}

// The S3 listener serves /metrics in the Prometheus text format to the
// bearer token only, and the request counters move with traffic.
func TestServeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.Region = testRegion
	cfg.Metrics = reg
	cfg.MetricsToken = "s3cret-token"
	sink := &logSink{t: t}
	s := New(cfg, &gateway.Service{}, slog.New(slog.NewTextHandler(sink, nil)))
	s.auth.Secret = func(k string) (string, bool) { return testSecretKey, k == testAccessKey }

	scrape := func(auth string) (int, string) {
		t.Helper()
		hdr := map[string]string{}
		if auth != "" {
			hdr["Authorization"] = auth
		}
		resp := s.do(t, testReq{method: "GET", target: "/metrics", unsigned: true, hdr: hdr})
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// Refused: no token, a wrong one (403), another scheme (an S3 error).
	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret-tokenX", "Basic czNjcmV0LXRva2Vu"} {
		if st, body := scrape(auth); st < 400 || strings.Contains(body, "forkstore_s3") {
			t.Errorf("scrape with %q: %d\n%.200s", auth, st, body)
		}
	}
	st, body := scrape("Bearer s3cret-token")
	if st != http.StatusOK || !strings.Contains(body, "# TYPE forkstore_s3_requests_total counter") {
		t.Fatalf("scrape: %d\n%.500s", st, body)
	}
	before := testutil.ToFloat64(s.metrics.requests.WithLabelValues("HealthLive", "2xx"))
	for range 3 {
		s.do(t, testReq{method: "GET", target: "/health/live", unsigned: true})
	}
	s.do(t, testReq{method: "PUT", target: "/x", unsigned: true}) // AccessDenied
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("HealthLive", "2xx")); got != before+3 {
		t.Errorf("HealthLive 2xx went from %v to %v, want +3", before, got)
	}
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("CreateBucket", "4xx")); got != 1 {
		t.Errorf("CreateBucket 4xx = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.metrics.inflight); got != 0 {
		t.Errorf("in flight after the requests: %v", got)
	}
	_, body = scrape("Bearer s3cret-token")
	for _, want := range []string{`forkstore_s3_requests_total{class="4xx",op="Metrics"} 3`, `forkstore_s3_requests_total{class="2xx",op="Metrics"} 1`, `forkstore_s3_request_duration_seconds_count{op="HealthLive"} 3`} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

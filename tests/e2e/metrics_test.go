//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/forkstore/forkstore/tests/harness"
)

// scrape GETs a metrics URL with an optional bearer token and returns the
// status and the body.
func scrape(t testing.TB, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// samples parses the Prometheus text format into values keyed by
// name{label="value",...} with labels in sorted order (histograms as
// name_count and name_sum).
func samples(t testing.TB, body string) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the scrape: %v\n%.1000s", err, body)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := name
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				out[key] = m.GetUntyped().GetValue()
			case dto.MetricType_HISTOGRAM:
				k := strings.Replace(key, "{", "_count{", 1)
				if k == key {
					k = key + "_count"
				}
				out[k] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// /metrics: refused without the bearer token on the S3 port and on the
// metrics listener, served with it in the Prometheus text format; the
// request, byte, bucket and chunk counters move with traffic; Raft, Go
// runtime and process metrics are there.
func TestMetrics(t *testing.T) {
	t.Parallel()
	const token = "metrics-e2e-token"
	maddr, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// One metadata shard: the test follows the Raft figures of shard 1.
	s := startServer(t, harness.WithEnv("FORKSTORE_METRICS_TOKEN="+token), harness.WithArgs("--metrics-addr", maddr, "--meta-shards", "1"))
	if s.IsExternal() {
		t.Skip("needs a server started with a metrics token")
	}
	s3URL, mURL := s.URL()+"/metrics", "http://"+maddr+"/metrics"

	for _, tc := range []struct{ url, token string }{{s3URL, ""}, {s3URL, "wrong"}, {mURL, ""}, {mURL, "wrong"}} {
		if st, body := scrape(t, tc.url, tc.token); st != http.StatusForbidden && st != http.StatusUnauthorized || strings.Contains(body, "forkstore_") {
			t.Errorf("scrape of %s with token %q: HTTP %d\n%.300s", tc.url, tc.token, st, body)
		}
	}

	st, body := scrape(t, s3URL, token)
	if st != http.StatusOK {
		t.Fatalf("scrape with the token: HTTP %d\n%.500s", st, body)
	}
	before := samples(t, body)
	for _, name := range []string{
		`forkstore_raft_role{role="leader",shard_id="1"}`, `forkstore_raft_has_leader{shard_id="1"}`,
		`forkstore_raft_term{shard_id="1"}`, `forkstore_raft_applied_index{shard_id="1"}`,
		"forkstore_chunk_store_bytes", "forkstore_chunk_store_files", "forkstore_gc_queued_chunks", "forkstore_gc_pending_buckets",
		"forkstore_repair_backlog_chunks", "forkstore_chunks_under_replicated", "forkstore_repair_pending", "forkstore_buckets", "forkstore_forks", "forkstore_snapshots",
		`forkstore_fork_point_reads_total{served="local"}`, `forkstore_fork_point_reads_total{served="linearizable"}`,
		"forkstore_s3_requests_in_flight", "go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_open_fds",
	} {
		if _, ok := before[name]; !ok {
			t.Errorf("the scrape has no %s", name)
		}
	}
	if before[`forkstore_raft_role{role="leader",shard_id="1"}`] != 1 {
		t.Errorf("a single node is not reported leader")
	}

	// Traffic: a bucket, a fork, a snapshot, 5 PUTs of 1 MiB (chunked), 5
	// GETs, a GET of a missing key.
	c := newForkClient(t, s)
	bucket := bucketName(t, "metrics")
	makeBucket(t, c, bucket)
	body1 := randBytes(7, 1<<20)
	for i := range 5 {
		putBytes(t, c, bucket, fmt.Sprintf("k%d", i), body1, minio.PutObjectOptions{})
		getBytes(t, c, bucket, fmt.Sprintf("k%d", i), minio.GetObjectOptions{})
	}
	_, err = tryGet(testCtx(t), c, bucket, "missing", minio.GetObjectOptions{})
	wantCode(t, "GET missing", err, "NoSuchKey")
	mustCLI(t, s, "snapshot", "create", bucket)
	mustCLI(t, s, "fork", "create", bucket, bucketName(t, "mfork"))

	// The metrics listener serves the same registry. Counts are cached for
	// a moment: poll.
	var after map[string]float64
	harness.WaitFor(t, 30*time.Second, "the counters to move with the traffic", func() bool {
		st, body := scrape(t, mURL, token)
		if st != http.StatusOK {
			t.Fatalf("scrape of the metrics listener: HTTP %d\n%.300s", st, body)
		}
		after = samples(t, body)
		commit := `forkstore_raft_commit_index{shard_id="1"}` // absent when not read in time
		return after["forkstore_buckets"] == before["forkstore_buckets"]+2 &&
			after["forkstore_forks"] == before["forkstore_forks"]+1 &&
			after["forkstore_snapshots"] == before["forkstore_snapshots"]+1 &&
			after[commit] >= before[commit]+8
	})
	delta := func(name string) float64 { return after[name] - before[name] }
	for name, min := range map[string]float64{
		`forkstore_s3_requests_total{class="2xx",op="PutObject"}`:      5,
		`forkstore_s3_requests_total{class="2xx",op="GetObject"}`:      5,
		`forkstore_s3_requests_total{class="4xx",op="GetObject"}`:      1,
		`forkstore_s3_requests_total{class="2xx",op="CreateBucket"}`:   1,
		`forkstore_s3_requests_total{class="2xx",op="Admin"}`:          2,
		`forkstore_s3_requests_total{class="5xx",op="PutObject"}`:      0, // present before any error
		`forkstore_s3_request_duration_seconds_count{op="PutObject"}`:  5,
		`forkstore_s3_request_duration_seconds_count{op="GetObject"}`:  6,
		`forkstore_s3_received_bytes_total{op="PutObject"}`:            5 << 20,
		`forkstore_s3_sent_bytes_total{op="GetObject"}`:                5 << 20,
		`forkstore_raft_proposal_duration_seconds_count{shard_id="1"}`: 8,
		`forkstore_raft_commit_index{shard_id="1"}`:                    8,
		`forkstore_raft_applied_index{shard_id="1"}`:                   8,
		"forkstore_chunk_store_files":                                  1,
		"forkstore_chunk_store_bytes":                                  1 << 20,
	} {
		if _, ok := after[name]; !ok {
			t.Errorf("the scrape has no %s", name)
			continue
		}
		if d := delta(name); d < min {
			t.Errorf("%s moved by %v, want at least %v", name, d, min)
		}
	}
}

// Without a token and a metrics listener nothing is served: GET /metrics
// on the S3 port is an anonymous S3 request, refused.
func TestMetricsOffByDefault(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if s.IsExternal() {
		t.Skip("needs a server started by the harness")
	}
	if st, body := scrape(t, s.URL()+"/metrics", ""); st != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
		t.Errorf("GET /metrics without a token configured: HTTP %d\n%.300s", st, body)
	}
	if st, body := scrape(t, s.URL()+"/metrics", "anything"); st < 400 || strings.Contains(body, "forkstore_") {
		t.Errorf("GET /metrics with a bearer token but none configured: HTTP %d\n%.300s", st, body)
	}
}

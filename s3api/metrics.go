package s3api

import (
	"bytes"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Metrics is where the front end registers its metrics and what GET
// /metrics serves (a *prometheus.Registry is both).
type Metrics interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// requestMetrics are the S3 front end's request metrics. Every child is
// resolved once per operation, so recording a request costs a map lookup
// and a few atomic adds, and allocates nothing.
type requestMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	inflight prometheus.Gauge

	ops   map[Operation]*opMetrics // read-only after newRequestMetrics
	extra sync.Map                 // Operation -> *opMetrics, ops not known at start
}

// opMetrics are one operation's children.
type opMetrics struct {
	byClass  [6]prometheus.Counter // index: status/100 (0 unused)
	duration prometheus.Observer
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
}

// statusClasses label the status classes.
var statusClasses = [6]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// durationBuckets span a cached HEAD (sub-millisecond) to a 5 GiB upload.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// opInvalid labels requests that failed before they were routed.
const opInvalid Operation = "Invalid"

func newRequestMetrics(ops []Operation) *requestMetrics {
	m := &requestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forkstore_s3_requests_total",
			Help: "S3, admin and health requests answered, by operation and status class.",
		}, []string{"op", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "forkstore_s3_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer's headers (and body, when it is not streamed), by operation.",
			Buckets: durationBuckets,
		}, []string{"op"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forkstore_s3_received_bytes_total",
			Help: "Request body bytes read, by operation.",
		}, []string{"op"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forkstore_s3_sent_bytes_total",
			Help: "Response body bytes sent (or announced, for streamed bodies), by operation.",
		}, []string{"op"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "forkstore_s3_requests_in_flight",
			Help: "Requests being served.",
		}),
		ops: make(map[Operation]*opMetrics, len(ops)+1),
	}
	for _, op := range append(ops, opInvalid) {
		m.ops[op] = m.newOp(op)
	}
	return m
}

func (m *requestMetrics) newOp(op Operation) *opMetrics {
	o := &opMetrics{
		duration: m.duration.WithLabelValues(string(op)),
		bytesIn:  m.bytesIn.WithLabelValues(string(op)),
		bytesOut: m.bytesOut.WithLabelValues(string(op)),
	}
	for i := 1; i < len(statusClasses); i++ {
		o.byClass[i] = m.requests.WithLabelValues(string(op), statusClasses[i])
	}
	return o
}

// op returns the children of op.
func (m *requestMetrics) op(op Operation) *opMetrics {
	if op == "" {
		op = opInvalid
	}
	if o, ok := m.ops[op]; ok {
		return o
	}
	if o, ok := m.extra.Load(op); ok {
		return o.(*opMetrics)
	}
	o, _ := m.extra.LoadOrStore(op, m.newOp(op))
	return o.(*opMetrics)
}

// observe records one finished request.
func (m *requestMetrics) observe(op Operation, status int, d time.Duration, in, out int64) {
	o := m.op(op)
	class := status / 100
	if class < 1 || class >= len(statusClasses) {
		class = 5
	}
	o.byClass[class].Inc()
	o.duration.Observe(d.Seconds())
	if in > 0 {
		o.bytesIn.Add(float64(in))
	}
	if out > 0 {
		o.bytesOut.Add(float64(out))
	}
}

// register adds the metrics to reg.
func (m *requestMetrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.bytesIn, m.bytesOut, m.inflight} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// isMetricsRequest reports whether an unrouted request is a scrape: GET
// /metrics with a bearer token or no credentials at all. A SigV4-signed
// GET /metrics stays ListObjects of the bucket "metrics".
func isMetricsRequest(method, path string, header http.Header, signed bool) bool {
	if method != http.MethodGet || path != "/metrics" {
		return false
	}
	return !signed || hasBearer(header)
}

func hasBearer(h http.Header) bool {
	a := h.Get("Authorization")
	return len(a) > 7 && strings.EqualFold(a[:7], "bearer ")
}

// BearerOK reports whether an Authorization header carries token (compared
// in constant time). An empty token accepts everything.
func BearerOK(authorization, token string) bool {
	if token == "" {
		return true
	}
	if len(authorization) < 7 || !strings.EqualFold(authorization[:7], "bearer ") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(authorization[7:])), []byte(token)) == 1
}

// errMetricsRefused answers a scrape without the right bearer token.
var errMetricsRefused = ErrAccessDenied.WithMessage("Scraping /metrics needs the bearer token (FORKSTORE_METRICS_TOKEN).")

// metricsContentType is the Prometheus text exposition format.
var metricsContentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// serveMetrics answers GET /metrics in the Prometheus text format.
func (s *Server) serveMetrics(r *request) (*response, error) {
	if !BearerOK(r.header.Get("Authorization"), s.cfg.MetricsToken) {
		return nil, errMetricsRefused
	}
	mfs, err := s.cfg.Metrics.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	r.set("Content-Type", metricsContentType)
	return &response{body: &buf, size: int64(buf.Len())}, nil
}

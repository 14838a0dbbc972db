package s3api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// Config configures the S3 front end.
type Config struct {
	// Addr is the listen address used by main (Listen takes its own).
	Addr string
	// Region is the region reported to clients and expected in
	// signatures; empty means the gateway's region.
	Region string
	// Domains are the base domains of virtual-host style requests
	// (--domain); requests to other hosts are path-style.
	Domains []string
	// MaxSkew is how far a request's signing time may be from the clock.
	MaxSkew time.Duration
	// RequestTimeout bounds each request's metadata work (its context
	// deadline). Requests with bodies get more: see MinUploadRate.
	RequestTimeout time.Duration
	// MinUploadRate (bytes/s) extends the deadline of requests with a
	// body by size/MinUploadRate, so that a 5 GiB upload is not cut off.
	MinUploadRate int64
	// MaxHeaderBytes bounds the request line and headers (HTTP 431 as
	// RequestHeaderSectionTooLarge beyond it).
	MaxHeaderBytes int
	// IdleTimeout is how long a connection may wait for a request's first
	// byte: before its first request and between requests.
	IdleTimeout time.Duration
	// Metrics receives the request metrics; nil keeps them unregistered.
	Metrics Metrics
	// MetricsToken, when set with Metrics, serves GET /metrics on this
	// listener to requests with "Authorization: Bearer <token>".
	MetricsToken string
	// TLS, when set, serves HTTPS: Serve wraps its listener with it.
	TLS *tls.Config
	// AccessLog logs every request at Info; otherwise requests are logged
	// at Debug, except server errors and slow requests (always, at Warn).
	AccessLog bool
	// SlowRequest is the duration past which a request is logged as slow
	// (0: never).
	SlowRequest time.Duration
	// HeaderTimeout is how long a client may take from a request's first
	// byte to the end of its head (request line and headers).
	HeaderTimeout time.Duration
	// MinBodyRate (bytes/s) is the slowest a body may move, in either
	// direction, measured over every BodyRateWindow: a connection that
	// moves less is closed (RequestTimeout when an answer can still be
	// sent).
	MinBodyRate    int64
	BodyRateWindow time.Duration
	// MaxConnections caps the open connections; 0 derives it from the
	// open-file limit (DefaultMaxConnections).
	MaxConnections int
	// MaxObjectSize is the largest body a PutObject or UploadPart may
	// declare; a larger one is refused before it is read.
	MaxObjectSize int64
	// StrictOwnership refuses, as AWS does since April 2023, a
	// CreateBucket that asks for an ACL other than private without
	// x-amz-object-ownership enabling ACLs
	// (InvalidBucketAclWithObjectOwnership). Without it such a bucket is
	// made with ACLs enabled (ObjectWriter), as Ceph RGW and MinIO do.
	StrictOwnership bool
}

// DefaultConfig returns the front end's defaults.
func DefaultConfig() Config {
	return Config{
		Addr:           "127.0.0.1:9000",
		MaxSkew:        15 * time.Minute,
		RequestTimeout: 30 * time.Second,
		MinUploadRate:  1 << 20,
		MaxHeaderBytes: 64 << 10,
		IdleTimeout:    60 * time.Second,
		HeaderTimeout:  20 * time.Second,
		MinBodyRate:    1 << 10,
		BodyRateWindow: 60 * time.Second,
		MaxObjectSize:  5 << 30,
		SlowRequest:    10 * time.Second,
	}
}

// maxUnknownBody is the size assumed for deadlines of bodies of unknown
// length (the largest single PUT).
const maxUnknownBody = 5 << 30

// writeBufferSize is the buffer each connection's answers are written
// through (fasthttp's WriteBufferSize; its default is 4 KiB).
const writeBufferSize = 8 << 10

// Server is the S3 (and admin) HTTP front end of a node.
type Server struct {
	cfg    Config
	svc    *gateway.Service
	log    *slog.Logger
	app    *fiber.App
	router Router
	auth   *Authenticator
	region string
	// policies caches parsed bucket policies (bucketpolicy.go).
	policies policyCache
	// owner is the canonical user of the account that owns every bucket
	// and object (the root user's) in documents.
	owner Owner
	// ready reports whether the node can serve (health/ready).
	ready func(ctx context.Context) error
	// disk says whether the node's disk takes new data (health/ready).
	disk func() string
	// principal resolves an authenticated access key to who it is (root
	// or a scoped key); leaseNow is the clock leases are checked against.
	principal func(ctx context.Context, accessKey string) (*gateway.Principal, bool)
	leaseNow  func() time.Time
	// bucketAccess reads a bucket with its access settings and policy
	// for authorization (gateway.Service.ObjectAccess).
	bucketAccess func(ctx context.Context, in gateway.GetObjectInput) (*meta.Bucket, *meta.Object, error)
	// bucketOwner reads the user owning a bucket (nil: the root account);
	// nil in tests without a node.
	bucketOwner func(ctx context.Context, bucket string) (*meta.User, error)

	base       context.Context
	cancelBase context.CancelFunc

	idBase [8]byte
	idSeq  atomic.Uint64
	hostID string

	handlers map[Operation]handlerFunc
	metrics  *requestMetrics

	// ln is the listener Serve wraps around its net.Listener (set by
	// Serve, read by tests on other goroutines).
	ln atomic.Pointer[listener]

	// console serves /_forkstore/console/ (SetConsole; console.go).
	console atomic.Pointer[consoleHandler]
}

// handlerFunc is an operation's handler: it returns what to send, or an
// error that the one error renderer turns into S3 XML (or admin JSON).
type handlerFunc func(r *request) (*response, error)

// response is a successful answer. Headers are set on the request before
// returning (r.set); exactly one of xml, json and body is used.
type response struct {
	status int
	xml    any
	json   any
	// body streams the payload; size is its length (-1 unknown). A body
	// that is an io.Closer is closed once sent.
	body io.Reader
	size int64
	// noBody sends only headers (HEAD, 204); Content-Length is left as
	// the handler set it.
	noBody bool
}

// New returns a Server for svc. The logger gets one access line per
// request and the errors of 5xx answers.
func New(cfg Config, svc *gateway.Service, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	def := DefaultConfig()
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = def.RequestTimeout
	}
	if cfg.MinUploadRate <= 0 {
		cfg.MinUploadRate = def.MinUploadRate
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = def.MaxHeaderBytes
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = def.MaxSkew
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = def.HeaderTimeout
	}
	if cfg.MinBodyRate <= 0 {
		cfg.MinBodyRate = def.MinBodyRate
	}
	if cfg.BodyRateWindow <= 0 {
		cfg.BodyRateWindow = def.BodyRateWindow
	}
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = def.MaxObjectSize
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections(FDLimit())
	}
	s := &Server{cfg: cfg, svc: svc, log: logger, router: Router{Domains: cfg.Domains}}
	s.router.Metrics = cfg.Metrics != nil && cfg.MetricsToken != ""
	s.region = cfg.Region
	if s.region == "" {
		s.region = svc.Region()
	}
	s.auth = &Authenticator{
		Region: s.region, Secret: svc.SecretKey, Now: time.Now, MaxSkew: cfg.MaxSkew,
		VirtualHostBucket: s.router.virtualBucket,
	}
	s.owner = ownerOf(svc.Owner())
	s.ready = svc.Ready
	s.disk = svc.DiskStatus
	s.principal = svc.Principal
	s.bucketAccess = svc.ObjectAccess
	s.bucketOwner = svc.BucketOwner
	s.leaseNow = svc.LeaseNow
	s.base, s.cancelBase = context.WithCancel(context.Background())
	_, _ = rand.Read(s.idBase[:])
	var host [12]byte
	_, _ = rand.Read(host[:])
	s.hostID = base64.StdEncoding.EncodeToString(host[:])
	s.handlers = s.routes()
	ops := make([]Operation, 0, len(s.handlers))
	for op := range s.handlers {
		ops = append(ops, op)
	}
	s.metrics = newRequestMetrics(ops)
	if cfg.Metrics != nil {
		if err := s.metrics.register(cfg.Metrics); err != nil {
			panic("s3api: registering metrics: " + err.Error())
		}
	}

	s.app = fiber.New(fiber.Config{
		// Object bodies stream through (a 5 GiB upload must not need
		// 5 GiB of memory); fasthttp de-chunks Transfer-Encoding: chunked
		// and answers Expect: 100-continue before the handler runs.
		StreamRequestBody: true,
		// A PutObject with Content-Type multipart/form-data is an object,
		// not a form to parse.
		DisablePreParseMultipartForm: true,
		// Every string s3api keeps is copied once, in parse (request
		// line, headers, query); Immutable makes any Fiber accessor safe
		// as well, so no fasthttp buffer can leak into the gateway.
		Immutable:                 true,
		ServerHeader:              "forkstore",
		DisableStartupMessage:     true,
		DisableDefaultContentType: true,
		// No ReadTimeout, WriteTimeout or IdleTimeout: fasthttp would
		// apply them to whole streamed bodies and not before a
		// connection's first request. Each connection of the listener
		// keeps its own deadlines instead (listener.go), and each request
		// has a context deadline.
		ReadBufferSize: cfg.MaxHeaderBytes,
		// An answer's head and a body of up to --inline-max (4 KiB by
		// default) leave in one write: with fasthttp's 4 KiB buffer a GET
		// of 4 KiB took two (the buffer filled with the head and most of
		// the body, then the rest).
		WriteBufferSize: writeBufferSize,
		ErrorHandler:    s.frameworkError,
	})
	fs := s.app.Server()
	fs.HeaderReceived = s.headerReceived
	fs.ConnState = s.connState
	// Errors about unparsable heads do not quote the client's bytes
	// (they reach the log, and "timeout" in them would turn a 400 into
	// a 408).
	fs.SecureErrorLogMessage = true
	s.app.Use(s.begin, s.recoverer, s.dispatch)
	return s
}

// App returns the Fiber app (for app.Test and embedding).
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr until Shutdown.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve serves on ln until Shutdown, over TLS when Config.TLS is set.
// Serve wraps the (TLS) listener (listener.go): failed accepts back off
// instead of ending Serve, open connections are capped, and every
// connection has deadlines.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	l := newListener(ln, s.cfg, s.log)
	s.ln.Store(l)
	s.log.Info("serving", "addr", ln.Addr().String(), "max_connections", s.cfg.MaxConnections,
		"idle_timeout", s.cfg.IdleTimeout.String(), "header_timeout", s.cfg.HeaderTimeout.String(),
		"min_body_rate", s.cfg.MinBodyRate, "body_rate_window", s.cfg.BodyRateWindow.String())
	return s.app.Listener(l)
}

// Shutdown stops accepting connections and waits for requests in flight
// until ctx ends; then their contexts are cancelled.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.app.ShutdownWithContext(ctx)
	s.cancelBase()
	return err
}

// request is one request as s3api sees it. Every string in it is a copy:
// nothing refers to fasthttp's buffers.
type request struct {
	s     *Server
	c     *fiber.Ctx
	id    string
	start time.Time

	method   string
	host     string // Host header as sent (with port)
	rawPath  string // as on the wire
	rawQuery string
	path     string // percent-decoded
	query    url.Values
	header   http.Header

	route Route

	ctx    context.Context
	cancel context.CancelFunc

	// early is the error of a request refused from its head (prepare);
	// refused means its body was left unread (headerReceived), so the
	// connection must close.
	early   error
	refused bool

	// raw is the body as received; body/size/trailer are the decoded and
	// verified payload after authentication.
	raw       *countingReader
	chunked   bool  // Transfer-Encoding: chunked
	rawLength int64 // Content-Length, -1 if absent
	auth      *AuthResult
	peerBody  string // the body digest a node-to-node request was signed with
	// principal is who signed the request (root or a scoped key); nil
	// for an anonymous (unsigned) request.
	principal *gateway.Principal
	// aclCache keeps the bucket ACL decisions read (authz.go).
	aclCache aclCache
	// remoteIP and secure (TLS) are the connection's, for the conditions
	// of bucket policies (aws:SourceIp, aws:SecureTransport).
	remoteIP string
	secure   bool
	// ownerOf caches owner().
	ownerOf *Owner

	status   int
	bytesOut int64
	errCode  string
	inflight bool // counted in the in-flight gauge
}

// countingReader counts what was read and whether EOF was reached.
type countingReader struct {
	r   io.Reader
	n   int64
	eof bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

type localsKey struct{}

// reqOf returns the request state begin attached to c.
func reqOf(c *fiber.Ctx) *request {
	r, _ := c.Locals(localsKey{}).(*request)
	return r
}

// newID returns an AWS-style request id: 16 upper-case hex digits, unique
// per process and random across processes.
func (s *Server) newID() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], binary.BigEndian.Uint64(s.idBase[:])+s.idSeq.Add(1))
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// newRequest starts a request's state: its id and start time.
func (s *Server) newRequest() *request {
	return &request{s: s, id: s.newID(), start: time.Now(), status: http.StatusOK,
		raw: &countingReader{r: http.NoBody}, rawLength: -1}
}

// begin is the first middleware: request id, common headers, and the
// access line once everything below has run. The request's head was
// handled in headerReceived; its body is readable from here.
func (s *Server) begin(c *fiber.Ctx) error {
	r := reqOf(c)
	if r == nil {
		r = s.newRequest()
		c.Locals(localsKey{}, r)
		r.early = s.prepare(r, c.Context())
	}
	r.c = c
	if bs := c.Context().RequestBodyStream(); bs != nil {
		r.raw.r = bs
	}
	r.inflight = true
	s.metrics.inflight.Inc()
	h := &c.Response().Header
	h.Set("X-Amz-Request-Id", r.id)
	h.Set("X-Amz-Id-2", s.hostID)
	defer s.finish(r)
	return c.Next()
}

// recoverer turns a panic in a handler into an InternalError answer.
func (s *Server) recoverer(c *fiber.Ctx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r := reqOf(c)
			s.log.Error("panic serving request", "request_id", r.id, "op", string(r.route.Op),
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			c.Response().ResetBody()
			s.renderError(r, ErrInternalError, errorFields{})
			err = nil
		}
	}()
	return c.Next()
}

// finish releases the request: cancels its context (a streamed object
// body has its own, see getObject), makes the connection safe to reuse,
// and logs the access line.
func (s *Server) finish(r *request) {
	if r.cancel != nil {
		r.cancel()
	}
	s.discardBody(r)
	if cn := connOf(r.c.Context().Conn()); cn != nil {
		cn.responding()
	}
	r.status = r.c.Response().StatusCode()
	if r.bytesOut == 0 && r.method != http.MethodHead {
		r.bytesOut = int64(r.c.Response().Header.ContentLength())
		if r.bytesOut < 0 {
			r.bytesOut = 0
		}
	}
	dur := time.Since(r.start)
	s.metrics.observe(r.route.Op, r.status, dur, r.bytesIn(), r.bytesOut)
	if r.inflight {
		s.metrics.inflight.Dec()
	}
	s.logAccess(r, dur)
}

// bytesIn is the request body bytes read so far.
func (r *request) bytesIn() int64 {
	if r.raw == nil {
		return 0
	}
	return r.raw.n
}

// maxDrain is how much of an unread request body is read and dropped so
// the connection can serve the next request; beyond it the connection is
// closed instead (as S3 does after an early error on a large upload).
const maxDrain = 1 << 20

// discardBody leaves the connection at the start of the next request, or
// closes it when too much of the body is left.
func (s *Server) discardBody(r *request) {
	switch {
	case r.refused:
		r.closeConn()
		return
	case r.raw == nil || r.raw.eof:
		return
	case !r.chunked && r.rawLength >= 0 && r.raw.n >= r.rawLength:
		return
	case !r.chunked && r.rawLength >= 0 && r.rawLength-r.raw.n > maxDrain:
		r.closeConn()
		return
	}
	n, err := io.CopyN(io.Discard, r.raw, maxDrain+1)
	if (err != nil && err != io.EOF) || n > maxDrain {
		r.closeConn()
	}
}

// closeConn closes the connection after the answer, gracefully: part of
// the request may still be on its way (lingerClose).
func (r *request) closeConn() {
	fc := r.c.Context()
	fc.SetConnectionClose()
	if cn := connOf(fc.Conn()); cn != nil {
		cn.linger = true
	}
}

// dispatch parses, routes, authenticates and runs the handler.
func (s *Server) dispatch(c *fiber.Ctx) error {
	r := reqOf(c)
	r.ctx, r.cancel = context.WithTimeout(s.base, s.deadline(r))
	c.SetUserContext(r.ctx)
	s.corsActual(r)
	if r.early != nil {
		s.writeError(r, r.early)
		return nil
	}
	if r.route.Op == OpConsole {
		return s.serveConsole(r)
	}
	h := s.handlers[r.route.Op]
	if h == nil {
		h = notImplemented
	}
	resp, err := h(r)
	if err != nil {
		s.writeError(r, err)
		return nil
	}
	s.writeResponse(r, resp)
	return nil
}

// parse fills r from the raw request head, copying every string. The
// body is not readable yet (begin attaches it to r.raw).
func (s *Server) parse(r *request, fc *fasthttp.RequestCtx) error {
	r.method = string(fc.Method())
	r.host = string(fc.Request.Header.Host())
	if r.host == "" {
		// An absolute-form request target carries the host itself.
		r.host = string(fc.Host())
	}
	uri := string(fc.RequestURI())
	// Absolute-form request targets (proxies): keep only the path.
	if i := strings.Index(uri, "://"); i > 0 && !strings.HasPrefix(uri, "/") {
		rest := uri[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			uri = rest[j:]
		} else {
			uri = "/"
		}
		if !strings.HasPrefix(uri, "/") {
			uri = "/" + uri
		}
	}
	r.rawPath, r.rawQuery, _ = strings.Cut(uri, "?")
	r.header = make(http.Header, fc.Request.Header.Len())
	fc.Request.Header.VisitAll(func(k, v []byte) {
		r.header.Add(string(k), string(v))
	})
	r.rawLength = -1
	switch cl := fc.Request.Header.ContentLength(); {
	case cl == -1:
		r.chunked = true
	case cl >= 0 && r.header.Get("Content-Length") != "":
		r.rawLength = int64(cl)
	}

	path, err := url.PathUnescape(r.rawPath)
	if err != nil || !strings.HasPrefix(path, "/") {
		return errInvalidURI
	}
	r.path = path
	q, err := parseQuery(r.rawQuery)
	if err != nil {
		return errInvalidURI
	}
	r.query = q
	return nil
}

// rawURI is the request target as sent: path and query.
func (r *request) rawURI() string {
	if r.rawQuery == "" {
		return r.rawPath
	}
	return r.rawPath + "?" + r.rawQuery
}

// authLength is the ContentLength of the AuthRequest: -1 for chunked
// transfer, 0 when absent.
func (r *request) authLength() int64 {
	switch {
	case r.chunked:
		return -1
	case r.rawLength < 0:
		return 0
	}
	return r.rawLength
}

// parseQuery decodes a raw query string. Unlike url.ParseQuery it accepts
// ';' and keeps parameters without '=' ("?uploads") with an empty value.
func parseQuery(raw string) (url.Values, error) {
	v := url.Values{}
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		val, err = url.QueryUnescape(val)
		if err != nil {
			return nil, err
		}
		v[k] = append(v[k], val)
	}
	return v, nil
}

// deadline is the request's context timeout: RequestTimeout, plus the
// time to receive its body at MinUploadRate.
func (s *Server) deadline(r *request) time.Duration {
	d := s.cfg.RequestTimeout
	n := r.rawLength
	if r.chunked {
		n = maxUnknownBody
	}
	if n > 0 {
		d += time.Duration(n/s.cfg.MinUploadRate) * time.Second
	}
	return d
}

// set sets a response header.
func (r *request) set(k, v string) { r.c.Response().Header.Set(k, v) }

// writeResponse sends a handler's successful answer.
func (s *Server) writeResponse(r *request, resp *response) {
	if resp == nil {
		resp = &response{}
	}
	status := resp.status
	if status == 0 {
		status = http.StatusOK
	}
	c := r.c
	c.Status(status)
	switch {
	case resp.xml != nil:
		data, err := marshalXML(resp.xml)
		if err != nil {
			s.writeError(r, fmt.Errorf("s3api: encoding %T: %w", resp.xml, err))
			return
		}
		r.set("Content-Type", "application/xml")
		c.Response().SetBodyRaw(data)
		r.bytesOut = int64(len(data))
	case resp.json != nil:
		data, err := json.Marshal(resp.json)
		if err != nil {
			s.writeError(r, fmt.Errorf("s3api: encoding %T: %w", resp.json, err))
			return
		}
		r.set("Content-Type", "application/json")
		c.Response().SetBodyRaw(append(data, '\n'))
		r.bytesOut = int64(len(data) + 1)
	case resp.body != nil:
		c.Context().SetBodyStream(&streamedBody{body: resp.body, log: s.log, id: r.id, op: r.route.Op,
			bucket: r.route.Bucket, key: r.route.Key}, int(resp.size))
		if resp.size > 0 {
			r.bytesOut = resp.size
		}
	case resp.noBody:
		c.Response().SkipBody = true
	default:
		c.Response().Header.SetContentLength(0)
	}
}

// streamedBody is a response body that logs why it stopped early: the
// status line and headers are gone by then, so the client sees only a
// short body and the server log is the one place that says why.
type streamedBody struct {
	body   io.Reader
	log    *slog.Logger
	id     string
	op     Operation
	bucket string
	key    string
	failed bool
}

func (b *streamedBody) failure(n int64, err error) {
	if err != nil && err != io.EOF && !b.failed {
		b.failed = true
		b.log.Error("response body failed after its headers were sent", "request_id", b.id, "op", string(b.op),
			"bucket", b.bucket, "key", b.key, "sent", n, "err", err.Error())
	}
}

func (b *streamedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.failure(int64(n), err)
	return n, err
}

// WriteTo keeps the body's own WriteTo (sendfile of chunk files).
func (b *streamedBody) WriteTo(w io.Writer) (int64, error) {
	n, err := io.Copy(w, b.body)
	b.failure(n, err)
	return n, err
}

func (b *streamedBody) Close() error {
	if c, ok := b.body.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// writeError renders err as an S3 error (or admin JSON). Errors that map
// to nothing become InternalError and are logged once, with request_id.
func (s *Server) writeError(r *request, err error) {
	api, fields, known := toAPIError(err)
	switch {
	case api.Status == http.StatusNotImplemented:
		// The client asked for something forkstore does not do; the
		// access line records it.
	case api.Status == http.StatusServiceUnavailable && known:
		s.log.Warn("request failed", "request_id", r.id, "op", string(r.route.Op),
			"bucket", r.route.Bucket, "key", r.route.Key, "err", err.Error())
	case !known || api.Status >= 500:
		s.log.Error("request failed", "request_id", r.id, "op", string(r.route.Op),
			"bucket", r.route.Bucket, "key", r.route.Key, "err", err.Error())
	}
	s.renderError(r, api, fields)
}

// renderError writes the error document. HEAD answers and 304 carry no
// body.
func (s *Server) renderError(r *request, api *APIError, f errorFields) {
	c := r.c
	r.errCode = api.Code
	c.Status(api.Status)
	if r.route.Op == OpAdmin {
		data, _ := json.Marshal(adminError{Code: api.Code, Message: api.Message})
		r.set("Content-Type", "application/json")
		c.Response().SetBodyRaw(append(data, '\n'))
		r.bytesOut = int64(len(data) + 1)
		return
	}
	if api.Status == http.StatusNotModified || r.method == http.MethodHead {
		c.Response().ResetBody()
		c.Response().SkipBody = r.method == http.MethodHead || api.Status == http.StatusNotModified
		if r.method == http.MethodHead {
			c.Response().Header.SetContentLength(0)
		}
		return
	}
	doc := ErrorXML{
		Code: api.Code, Message: api.Message,
		ArgumentName: f.ArgumentName, ArgumentValue: f.ArgumentValue,
		Condition: f.Condition, RangeRequested: f.RangeRequested,
		ActualObjectSize: f.ActualObjectSize,
		Resource:         r.path, RequestID: r.id, HostID: s.hostID,
	}
	switch api.Code {
	case "NoSuchBucket", "BucketAlreadyExists", "BucketAlreadyOwnedByYou", "BucketNotEmpty", "InvalidBucketName":
		doc.BucketName = r.route.Bucket
	case "NoSuchKey":
		doc.Key = r.route.Key
	case "NoSuchVersion":
		doc.Key = r.route.Key
		doc.VersionID = r.query.Get("versionId")
	case "NoSuchUpload":
		doc.UploadID = r.query.Get("uploadId")
	}
	data, err := marshalXML(doc)
	if err != nil {
		data = []byte(xmlHeader + "<Error><Code>InternalError</Code></Error>")
	}
	r.set("Content-Type", "application/xml")
	c.Response().SetBodyRaw(data)
	r.bytesOut = int64(len(data))
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// frameworkError renders errors raised by Fiber/fasthttp before or around
// the handlers (header section too large, unparsable request, ...) as
// S3 XML. It also logs the access line for requests that never reached
// begin.
func (s *Server) frameworkError(c *fiber.Ctx, err error) error {
	cn := connOf(c.Context().Conn())
	if cn != nil && cn.waiting() {
		// Nothing of a request arrived: the connection was idle past
		// IdleTimeout, or was closed to make room. Nobody asked, so
		// nothing is answered or logged.
		cn.silent = true
		return nil
	}
	if cn != nil {
		// fasthttp closes the connection after this answer; part of
		// the request may be unread.
		cn.linger = true
	}
	r := reqOf(c)
	if r == nil {
		r = s.newRequest()
	}
	fresh := r.c == nil
	if fresh {
		r.c = c
		if r.method == "" {
			r.method = string(c.Context().Method())
			r.path = string(c.Context().Path())
		}
		r.set("X-Amz-Request-Id", r.id)
		r.set("X-Amz-Id-2", s.hostID)
	}
	api := ErrBadRequest
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusRequestHeaderFieldsTooLarge:
			api = ErrRequestHeaderSectionTooLarge
		case fiber.StatusRequestEntityTooLarge:
			api = ErrEntityTooLarge
		case fiber.StatusRequestTimeout:
			api = errRequestTimeout
		case fiber.StatusMethodNotAllowed:
			api = ErrMethodNotAllowed
		case fiber.StatusNotFound:
			api = ErrNotImplemented
		default:
			if fe.Code >= 500 {
				api = ErrInternalError
			}
		}
	} else {
		s.log.Error("request failed", "request_id", r.id, "err", err.Error())
		api = ErrInternalError
	}
	s.renderError(r, api, errorFields{})
	if fresh {
		s.finish(r)
	}
	return nil
}

// notImplemented answers operations forkstore does not support.
func notImplemented(r *request) (*response, error) {
	if r.route.Op == OpMethodNotAllowed {
		return nil, ErrMethodNotAllowed
	}
	if r.route.Unsupported != "" {
		return nil, ErrNotImplemented.WithMessage("A header or query you provided implies functionality that is not implemented: " + r.route.Unsupported)
	}
	return nil, ErrNotImplemented
}

// routes maps each operation to its handler.
func (s *Server) routes() map[Operation]handlerFunc {
	return map[Operation]handlerFunc{
		OpNotImplemented:   notImplemented,
		OpMethodNotAllowed: notImplemented,
		OpHealthLive:       s.healthLive,
		OpHealthReady:      s.healthReady,
		OpMetrics:          s.serveMetrics,
		OpAdmin:            s.admin,
		OpPeer:             s.peer,

		OpListBuckets:         s.listBuckets,
		OpListSnapshots:       s.listSnapshots,
		OpCreateBucket:        s.createBucket,
		OpForkBucket:          s.forkBucket,
		OpCreateSnapshot:      s.createSnapshot,
		OpHeadBucket:          s.headBucket,
		OpDeleteBucket:        s.deleteBucket,
		OpDeleteSnapshot:      s.deleteSnapshot,
		OpGetBucketLocation:   s.getBucketLocation,
		OpGetBucketVersioning: s.getBucketVersioning,
		OpPutBucketVersioning: s.putBucketVersioning,
		OpGetBucketAcl:        s.getBucketACL,
		OpPutBucketAcl:        s.putBucketACL,

		OpGetBucketOwnershipControls:    s.getBucketOwnershipControls,
		OpPutBucketOwnershipControls:    s.putBucketOwnershipControls,
		OpDeleteBucketOwnershipControls: s.deleteBucketOwnershipControls,

		OpGetBucketRequestPayment: s.getBucketRequestPayment,
		OpPutBucketRequestPayment: s.putBucketRequestPayment,

		OpListObjects:          s.listObjectsV1,
		OpListObjectsV2:        s.listObjectsV2,
		OpListObjectVersions:   s.listObjectVersions,
		OpListMultipartUploads: s.listMultipartUploads,

		OpPutObject:     s.putObject,
		OpCopyObject:    s.copyObject,
		OpGetObject:     s.getObject,
		OpHeadObject:    s.getObject,
		OpDeleteObject:  s.deleteObject,
		OpDeleteObjects: s.deleteObjects,
		OpGetObjectAcl:  s.getObjectACL,
		OpPutObjectAcl:  s.putObjectACL,

		OpGetObjectTagging:    s.getObjectTagging,
		OpPutObjectTagging:    s.putObjectTagging,
		OpDeleteObjectTagging: s.deleteObjectTagging,
		OpGetObjectAttributes: s.getObjectAttributes,
		OpGetBucketConfig:     s.getBucketConfig,

		OpCreateMultipartUpload:   s.createMultipartUpload,
		OpUploadPart:              s.uploadPart,
		OpUploadPartCopy:          s.uploadPartCopy,
		OpCompleteMultipartUpload: s.completeMultipartUpload,
		OpAbortMultipartUpload:    s.abortMultipartUpload,
		OpListParts:               s.listParts,

		OpGetBucketCors:              s.getBucketCors,
		OpPutBucketCors:              s.putBucketCors,
		OpDeleteBucketCors:           s.deleteBucketCors,
		OpGetBucketEncryption:        s.getBucketEncryption,
		OpPutBucketEncryption:        s.putBucketEncryption,
		OpDeleteBucketEncryption:     s.deleteBucketEncryption,
		OpPreflight:                  s.preflight,
		OpPostObject:                 s.postObject,
		OpGetObjectLockConfiguration: s.getObjectLockConfiguration,
		OpPutObjectLockConfiguration: s.putObjectLockConfiguration,
		OpGetObjectRetention:         s.getObjectRetention,
		OpPutObjectRetention:         s.putObjectRetention,
		OpGetObjectLegalHold:         s.getObjectLegalHold,
		OpPutObjectLegalHold:         s.putObjectLegalHold,
		OpGetBucketLifecycle:         s.getBucketLifecycle,
		OpPutBucketLifecycle:         s.putBucketLifecycle,
		OpDeleteBucketLifecycle:      s.deleteBucketLifecycle,
		OpGetBucketPolicy:            s.getBucketPolicy,
		OpPutBucketPolicy:            s.putBucketPolicy,
		OpDeleteBucketPolicy:         s.deleteBucketPolicy,
		OpGetBucketPolicyStatus:      s.getBucketPolicyStatus,
		OpGetPublicAccessBlock:       s.getPublicAccessBlock,
		OpPutPublicAccessBlock:       s.putPublicAccessBlock,
		OpDeletePublicAccessBlock:    s.deletePublicAccessBlock,
		OpGetBucketTagging:           s.getBucketTagging,
		OpPutBucketTagging:           s.putBucketTagging,
		OpDeleteBucketTagging:        s.deleteBucketTagging,
	}
}

// ownerOf is the canonical user of an access key.
func ownerOf(accessKey string) Owner {
	sum := sha256.Sum256([]byte("forkstore-owner:" + accessKey))
	return Owner{ID: hex.EncodeToString(sum[:]), DisplayName: accessKey}
}

// owner is the owner shown in documents: the account's, which owns every
// bucket and object.
//
// A bucket a user owns shows the user (read once per request); a bucket
// a user creates is the user's.
func (r *request) owner() Owner {
	if r.ownerOf != nil {
		return *r.ownerOf
	}
	o := r.s.owner
	switch {
	case (r.route.Op == OpCreateBucket || r.route.Op == OpForkBucket) && userMain(r.principal):
		o = Owner{ID: r.principal.UserID, DisplayName: r.principal.User}
	case r.route.Bucket != "" && r.s.bucketOwner != nil:
		if u, err := r.s.bucketOwner(r.ctx, r.route.Bucket); err == nil && u != nil {
			o = Owner{ID: u.ID, DisplayName: u.DisplayName}
		}
	}
	r.ownerOf = &o
	return o
}

// itoa is strconv.Itoa for brevity in header code.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package s3api

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Connections from clients that may be hostile. The listener wraps the
// TCP listener that fasthttp serves:
//
//   - a failed accept (EMFILE when the process runs out of file
//     descriptors, ENFILE, ECONNABORTED, ...) never ends the server: it
//     backs off (5 ms doubling to 1 s, as net/http does) and accepts again;
//   - at most MaxConnections are open at once. At the cap, the connection
//     that has waited longest for a request (never sent one, or idle
//     between requests) is closed to make room; when every connection is
//     busy, the new one is answered 503 SlowDown (which SDKs retry) and
//     closed;
//   - each connection owns its read and write deadlines (fasthttp's own
//     are off): IdleTimeout for a request's first byte (before the first
//     request and between requests), HeaderTimeout from that byte to the
//     end of the request head, and, for bodies in both directions, at
//     least MinBodyRate bytes per second over every BodyRateWindow;
//   - a connection closed with part of a request still unread is closed
//     gracefully (its write side first, then what the client still sends
//     is read and dropped for a moment), so that the client reads the
//     error it was sent instead of a reset.
//
// The state a request's phase needs is set from fasthttp's hooks
// (ConnState for the end of a request, HeaderReceived for the end of a
// head) on the connection's own goroutine; the listener reads only the
// atomic fields, to pick a connection to close.

// Phases of a connection.
const (
	phaseHead int32 = iota // waiting for or reading a request head
	phaseBody              // head read: body, handler, response
)

const (
	// lingerTimeout and lingerBytes bound the graceful close.
	lingerTimeout = 2 * time.Second
	lingerBytes   = 64 << 20
	// maxAcceptDelay caps the back-off after failed accepts.
	maxAcceptDelay = time.Second
	// maxRejecting bounds the rejected connections being closed
	// gracefully at once; beyond it they are closed at once.
	maxRejecting = 32
	// warnEvery rate-limits the warnings of accept failures and of
	// connections refused at the cap.
	warnEvery = 10 * time.Second
)

// errMalformedHead is what a connection's Read returns when fasthttp asks
// for more of a request head that has already ended: it cannot parse a
// line (a header line without a colon) and would otherwise wait for bytes
// that never come. fasthttp answers 400 and closes.
var errMalformedHead = errors.New("malformed request head: a line is neither a header field nor the end of the head")

// connLimits are the per-connection limits.
type connLimits struct {
	idle, header, window time.Duration
	// windowBytes is what must move in every window (MinBodyRate x
	// BodyRateWindow).
	windowBytes int64
}

// listener is the S3 port's net.Listener (see above).
type listener struct {
	net.Listener
	log *slog.Logger
	lim connLimits
	max int

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool

	rejecting atomic.Int32
	lastWarn  atomic.Int64 // unix nanos of the last rate-limited warning
}

func newListener(ln net.Listener, cfg Config, log *slog.Logger) *listener {
	return &listener{
		Listener: ln,
		log:      log,
		max:      cfg.MaxConnections,
		conns:    make(map[*conn]struct{}),
		lim: connLimits{
			idle: cfg.IdleTimeout, header: cfg.HeaderTimeout, window: cfg.BodyRateWindow,
			windowBytes: max(1, int64(float64(cfg.MinBodyRate)*cfg.BodyRateWindow.Seconds())),
		},
	}
}

// warn logs at most once per warnEvery.
func (l *listener) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(warnEvery) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn(msg, args...)
}

// Accept returns the next connection; only a closed listener ends it.
func (l *listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			delay = min(max(2*delay, 5*time.Millisecond), maxAcceptDelay)
			l.warn("accepting a connection failed; retrying", "err", err.Error(), "retry_ms", delay.Milliseconds(), "open", l.open())
			time.Sleep(delay)
			continue
		}
		delay = 0
		if c := l.admit(nc); c != nil {
			return c, nil
		}
	}
}

// open is the number of connections open.
func (l *listener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// admit registers nc, closing the longest-waiting connection at the cap,
// or refuses it (nil) when every connection is busy.
func (l *listener) admit(nc net.Conn) net.Conn {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		nc.Close()
		return nil
	}
	if l.max > 0 && len(l.conns) >= l.max {
		victim := l.longestWaitingLocked()
		if victim == nil {
			n := len(l.conns)
			l.mu.Unlock()
			l.warn("connection limit reached: refusing connections (503 SlowDown)", "open", n, "max_connections", l.max)
			l.reject(nc)
			return nil
		}
		delete(l.conns, victim)
		l.mu.Unlock()
		victim.evict()
		l.mu.Lock()
	}
	c := newConn(nc, l)
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	if tc, ok := nc.(*tls.Conn); ok {
		return &tlsConn{conn: c, tc: tc}
	}
	return c
}

// longestWaitingLocked returns the open connection that has waited longest
// for a request, or nil.
func (l *listener) longestWaitingLocked() *conn {
	var victim *conn
	var oldest int64
	for c := range l.conns {
		if !c.waiting() {
			continue
		}
		if t := c.since.Load(); victim == nil || t < oldest {
			victim, oldest = c, t
		}
	}
	return victim
}

// slowDown is the whole answer to a connection refused at the cap.
var slowDown = func() []byte {
	body := xmlHeader + "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nServer: forkstore\r\nContent-Type: application/xml\r\n" +
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: " + itoa(int64(len(body))) + "\r\n\r\n" + body)
}()

// reject answers nc 503 SlowDown and closes it, on a goroutine of its own
// (over TLS the answer needs a handshake): the accept loop never waits
// for a client. Beyond maxRejecting at once, nc is closed without answer.
func (l *listener) reject(nc net.Conn) {
	if l.rejecting.Add(1) > maxRejecting {
		l.rejecting.Add(-1)
		_ = rawConn(nc).Close()
		return
	}
	go func() {
		defer l.rejecting.Add(-1)
		_ = nc.SetDeadline(time.Now().Add(time.Second))
		if _, err := nc.Write(slowDown); err != nil {
			_ = rawConn(nc).Close()
			return
		}
		lingerClose(nc, lingerTimeout)
	}()
}

// plainHTTPAnswer is the whole answer to plain HTTP sent to the TLS port.
var plainHTTPAnswer = func() string {
	body := "This port speaks HTTPS: the plain HTTP request was sent to an HTTPS port. Use https:// in the endpoint URL.\n"
	return "HTTP/1.1 400 Bad Request\r\nServer: forkstore\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Connection: close\r\nContent-Length: " + itoa(int64(len(body))) + "\r\n\r\n" + body
}()

// answerPlainHTTP answers 400 with a plain-text hint, as nginx does, when
// a TLS handshake failed because the client sent plain HTTP (the first
// bytes read as a TLS record header look like a request line), so that
// curl and the SDKs show why instead of an empty reply. It reports
// whether it answered; the connection is then closed gracefully
// (the client's request is read and dropped) and must not be written to.
func answerPlainHTTP(err error) bool {
	var re tls.RecordHeaderError
	if !errors.As(err, &re) || re.Conn == nil || !looksLikeHTTP(re.RecordHeader) {
		return false
	}
	_ = re.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(re.Conn, plainHTTPAnswer); err != nil {
		_ = re.Conn.Close()
		return true
	}
	_ = lingerClose(re.Conn, time.Second)
	return true
}

// looksLikeHTTP reports whether the first five bytes on a connection are
// the start of an HTTP/1 request line.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "DELET", "OPTIO", "PATCH", "CONNE", "TRACE":
		return true
	}
	return false
}

// rawConn returns the TCP connection under a TLS one: closing it sends no
// TLS alert, which could wait on the client.
func rawConn(nc net.Conn) net.Conn {
	if tc, ok := nc.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return nc
}

// Close stops accepting and closes the connections waiting for a request
// (the others end with their request).
func (l *listener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	l.closed = true
	var waiting []*conn
	for c := range l.conns {
		if c.waiting() {
			waiting = append(waiting, c)
		}
	}
	l.mu.Unlock()
	for _, c := range waiting {
		c.evict()
	}
	return err
}

func (l *listener) remove(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// conn is one client connection.
type conn struct {
	net.Conn
	l *listener

	// Read by the listener.
	phase   atomic.Int32
	since   atomic.Int64 // unix nanos the phase began
	gotByte atomic.Bool  // a byte of the head arrived in this phase
	evicted atomic.Bool

	// Owned by the connection's goroutine.
	head   headScanner
	rate   rateWindow // the body being read
	wrate  rateWindow // the answer being written
	linger bool       // close gracefully: part of a request is unread
	abort  bool       // close with a reset: the client stopped reading
	silent bool       // drop writes: nothing was asked

	closeOnce sync.Once
	closeErr  error
}

func newConn(nc net.Conn, l *listener) *conn {
	c := &conn{Conn: nc, l: l}
	c.startHead()
	return c
}

// tlsConn is a connection over TLS: fasthttp tells TLS connections by
// these two methods (RequestCtx.IsTLS).
type tlsConn struct {
	*conn
	tc *tls.Conn
}

func (c *tlsConn) Handshake() error {
	err := c.tc.Handshake()
	answerPlainHTTP(err)
	return err
}
func (c *tlsConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// connOf returns the listener's connection under nc, or nil (app.Test
// connections, for one).
func connOf(nc net.Conn) *conn {
	switch c := nc.(type) {
	case *conn:
		return c
	case *tlsConn:
		return c.conn
	}
	return nil
}

// startHead begins waiting for a request: at accept, and when fasthttp is
// done with one (ConnState StateIdle).
func (c *conn) startHead() {
	now := time.Now()
	c.head = headScanner{}
	c.gotByte.Store(false)
	c.wrate.armed = false
	c.since.Store(now.UnixNano())
	c.phase.Store(phaseHead)
	c.setReadDeadline(now.Add(c.l.lim.idle))
}

// startBody begins a request's body, once its head is read
// (HeaderReceived). Its read deadline is set at the body's first read: a
// request without a body costs none.
func (c *conn) startBody() {
	c.wrate.armed = false
	c.rate.armed = false
	c.phase.Store(phaseBody)
}

// responding is called when a handler is done: the write deadline is set
// afresh at the answer's first write.
func (c *conn) responding() { c.wrate.armed = false }

// rateWindow checks that a body moves at least windowBytes per window.
// The deadline is moved only when it passes (once per window, not per
// read or write): a transfer that hits it having moved windowBytes since
// it was set, or that reached it late because the server itself was busy
// (more than 1.5 windows since it was set), gets a new window; one that
// waited a full window for less is cut.
type rateWindow struct {
	armed bool
	at    time.Time // when the window began
	moved int64     // bytes since
}

func (w *rateWindow) arm(now time.Time) { w.armed, w.at, w.moved = true, now, 0 }

// renew reports whether a deadline that passed deserves a new window.
func (w *rateWindow) renew(lim *connLimits) bool {
	return w.moved >= lim.windowBytes || time.Since(w.at) > lim.window+lim.window/2
}

func (c *conn) Read(p []byte) (int, error) {
	if c.phase.Load() == phaseHead {
		if c.head.ended {
			return 0, errMalformedHead
		}
		n, err := c.Conn.Read(p)
		if err != nil && answerPlainHTTP(err) {
			c.silent = true
		}
		if n > 0 {
			c.head.scan(p[:n])
			if !c.gotByte.Load() {
				c.gotByte.Store(true)
				// A head that arrived whole needs no deadline for
				// its rest (the usual case).
				if !c.head.ended {
					c.setReadDeadline(time.Now().Add(c.l.lim.header))
				}
			}
		}
		return n, err
	}
	if !c.rate.armed {
		now := time.Now()
		c.rate.arm(now)
		c.setReadDeadline(now.Add(c.l.lim.window))
	}
	for {
		n, err := c.Conn.Read(p)
		c.rate.moved += int64(n)
		if n > 0 || !isDeadline(err) || !c.rate.renew(&c.l.lim) {
			return n, err
		}
		now := time.Now()
		c.rate.arm(now)
		c.setReadDeadline(now.Add(c.l.lim.window))
	}
}

// Write writes p, renewing the write deadline while the client reads at
// the minimum rate.
func (c *conn) Write(p []byte) (int, error) {
	if c.silent {
		return len(p), nil
	}
	var done int
	for {
		c.armWrite()
		n, err := c.Conn.Write(p)
		done += n
		c.wrate.moved += int64(n)
		if err == nil {
			return done, nil
		}
		if !c.retryWrite(err) {
			return done, err
		}
		p = p[n:]
	}
}

// ReadFrom sends a file (or a limited part of one) with sendfile through
// the TCP connection's own ReadFrom, which a deadline interrupts cleanly
// (the file offset and the limit record what was sent), so a transfer at
// the minimum rate resumes after each window. Other readers are copied
// through Write.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	if !ok || c.silent || !isFile(r) {
		return io.Copy(writerOnly{c}, r)
	}
	var done int64
	for {
		c.armWrite()
		n, err := rf.ReadFrom(r)
		done += n
		c.wrate.moved += n
		if err == nil || !c.retryWrite(err) {
			return done, err
		}
	}
}

func (c *conn) armWrite() {
	if !c.wrate.armed {
		now := time.Now()
		c.wrate.arm(now)
		_ = c.Conn.SetWriteDeadline(now.Add(c.l.lim.window))
	}
}

// retryWrite reports whether a failed write may go on in a new window;
// when it may not, the connection is to be reset at close: what is queued
// for a client that stopped reading is dropped, not kept by the kernel.
func (c *conn) retryWrite(err error) bool {
	if !isDeadline(err) {
		return false
	}
	if !c.wrate.renew(&c.l.lim) {
		c.abort = true
		return false
	}
	c.wrate.armed = false
	return true
}

func isDeadline(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// isFile reports a reader that the TCP connection sends with sendfile.
func isFile(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	_, ok := r.(*os.File)
	return ok
}

// The connection owns its deadlines: fasthttp's calls (none with the
// server's settings) are ignored, and errors are dropped (fasthttp panics
// on a deadline error; a closed connection fails its next read anyway).
func (c *conn) SetDeadline(time.Time) error      { return nil }
func (c *conn) SetReadDeadline(time.Time) error  { return nil }
func (c *conn) SetWriteDeadline(time.Time) error { return nil }

func (c *conn) setReadDeadline(t time.Time) { _ = c.Conn.SetReadDeadline(t) }

// Close closes the connection, gracefully when part of a request is
// unread (see lingerClose).
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.l.remove(c)
		if c.abort {
			if tc, ok := rawConn(c.Conn).(interface{ SetLinger(int) error }); ok {
				_ = tc.SetLinger(0)
			}
		} else if c.linger && !c.evicted.Load() {
			c.closeErr = lingerClose(c.Conn, lingerTimeout)
			return
		}
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// evict closes a connection that waits for a request, from another
// goroutine: its reader gets an error and fasthttp closes it silently.
func (c *conn) evict() {
	c.evicted.Store(true)
	_ = rawConn(c.Conn).Close()
}

// waiting reports whether nothing of the current request has arrived.
func (c *conn) waiting() bool { return c.phase.Load() == phaseHead && !c.gotByte.Load() }

// lingerClose closes nc after shutting its write side and reading what
// the client still sends, for at most d or lingerBytes: closing a socket
// with unread data sends a reset, which can destroy the answer before the
// client reads it.
func lingerClose(nc net.Conn, d time.Duration) error {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(d))
	_, _ = io.CopyN(io.Discard, nc, lingerBytes)
	return nc.Close()
}

// headScanner finds the end of a request head (an empty line; leading
// empty lines are skipped, bare LFs accepted) across reads.
type headScanner struct {
	state uint8
	ended bool
}

const (
	hsStart uint8 = iota // before the request line
	hsLine               // inside a line
	hsLF                 // just after a LF
	hsLFCR               // after a LF and a CR
)

func (h *headScanner) scan(p []byte) {
	for len(p) > 0 && !h.ended {
		switch h.state {
		case hsStart:
			i := 0
			for i < len(p) && (p[i] == '\r' || p[i] == '\n') {
				i++
			}
			p = p[i:]
			if len(p) > 0 {
				h.state = hsLine
			}
		case hsLine:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			p, h.state = p[i+1:], hsLF
		case hsLF:
			switch p[0] {
			case '\n':
				h.ended = true
			case '\r':
				p, h.state = p[1:], hsLFCR
			default:
				h.state = hsLine
			}
		case hsLFCR:
			if p[0] == '\n' {
				h.ended = true
			} else {
				h.state = hsLine
			}
		}
	}
}

// counts returns the open connections and those waiting for a request.
func (l *listener) counts() (open, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		if c.waiting() {
			waiting++
		}
	}
	return len(l.conns), waiting
}

// Connection limits derived from the open-file limit.
const (
	// fdReserve is what the rest of the process keeps: Badger's tables
	// and value logs, the Raft log, the Raft transport, the chunk files
	// of requests in flight.
	fdReserve = 256
	// maxDefaultConnections bounds the derived default: each connection
	// holds a read buffer of MaxHeaderBytes (64 KiB) and a goroutine.
	maxDefaultConnections = 4096
	minDefaultConnections = 16
)

// DefaultMaxConnections is the connection cap for an open-file limit:
// after fdReserve, two descriptors per connection (its socket, and the
// chunk file a request may have open), between 16 and 4096. An unknown
// limit (0) gives 1024.
func DefaultMaxConnections(fdLimit uint64) int {
	if fdLimit == 0 {
		return 1024
	}
	n := (int64(min(fdLimit, 1<<20)) - fdReserve) / 2
	return int(min(max(n, minDefaultConnections), maxDefaultConnections))
}

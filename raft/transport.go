package raft

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// The Raft transport. Dragonboat's own TCP transport reads frames from
// anyone who connects and allocates whatever size a frame header announces,
// so this one replaces it (NodeHostConfig.Expert.TransportFactory):
//
//   - A connection starts with a mutual challenge-response keyed by
//     Config.Key, before any frame is read:
//     client -> server  hello: "fsr1", 32-byte nonce, deployment id
//     server -> client  hello, then HMAC(k, "server" || both hellos)
//     client -> server  HMAC(k, "client" || both hellos)
//     where k = HMAC-SHA256(Key, "forkstore raft transport"). Each side
//     proves the key over both sides' fresh nonces, and the labels bind
//     each proof to its direction (a server's proof is no client's).
//   - Frames then go one way, client to server: magic AE 7D, an 18-byte
//     header (method, payload size, header CRC32, 0), the payload, and an
//     HMAC-SHA256 over a sequence number, the header and the payload under
//     a key of this session: frames cannot be forged, altered, replayed or
//     reordered on the wire. A frame whose header announces more than
//     frameLimits allow is refused before anything is allocated.
//   - With mutual TLS (Config.CAFile...) all of this runs inside TLS.
//
// A host without a key has no peer: it does not listen, and dials nobody.

const (
	frameHeaderSize        = 18
	frameRaft       uint16 = 100
	frameSnapshot   uint16 = 200
	nonceSize              = 32
	helloSize              = 4 + nonceSize + 8
	macSize                = sha256.Size

	// dragonboatBatchSize is the size past which Dragonboat's sender cuts
	// message batches (settings.MaxMessageBatchSize, not importable); a
	// batch holds at most that plus one message. snapshotChunkSize is its
	// snapshot chunk size (settings.SnapshotChunkSize).
	dragonboatBatchSize = 64 << 20
	snapshotChunkSize   = 2 << 20
	// frameSlack covers the encoding around entries and chunk data.
	frameSlack = 1 << 20

	handshakeTimeout = 5 * time.Second
	dialTimeout      = 5 * time.Second
	// idleTimeout is how long a connection may carry no frame (a sender
	// closes its idle connections after a minute).
	idleTimeout = 5 * time.Minute
	ioTimeout   = 10 * time.Second
	ioPiece     = 1 << 20
	keepAlive   = 10 * time.Second
	// Connections at most in their handshake at once, in all and from one
	// IP address: a peer's handshake takes a round trip, so a source that
	// holds many open cannot starve the others.
	maxHandshake      = 512
	maxHandshakePerIP = 8
	// legacyDeploymentID is Dragonboat's default, what data dirs created
	// before ids were derived from the key record.
	legacyDeploymentID = 1
)

var (
	frameMagic  = [2]byte{0xAE, 0x7D}
	poisonMagic = [2]byte{0, 0}
	helloMagic  = [4]byte{'f', 's', 'r', '1'}

	errBadHandshake = errors.New("raft transport: peer failed the handshake (not the same cluster key)")
	errBadFrame     = errors.New("raft transport: bad frame")
	errFrameTooBig  = errors.New("raft transport: frame too large")
	errPoison       = errors.New("raft transport: end of snapshot stream")
	errNoKey        = errors.New("raft transport: no key, this node has no peers")
)

// deploymentID derives the Dragonboat deployment id of a cluster from its
// key: never 0 (unset) nor 1 (Dragonboat's default).
func deploymentID(key []byte) uint64 {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("forkstore deployment id"))
	id := binary.BigEndian.Uint64(m.Sum(nil))
	if id <= legacyDeploymentID {
		id += 2
	}
	return id
}

// frameLimits are the largest payloads a peer may send, by frame method.
type frameLimits struct{ batch, chunk uint64 }

func limitsOf(c Config) frameLimits {
	return frameLimits{
		batch: dragonboatBatchSize + c.MaxEntrySize + frameSlack,
		chunk: 2*snapshotChunkSize + frameSlack,
	}
}

func (l frameLimits) of(method uint16) uint64 {
	if method == frameSnapshot {
		return l.chunk
	}
	return l.batch
}

// peerAuth runs the handshake.
type peerAuth struct {
	key  []byte // k, derived from Config.Key
	did  uint64 // this node's deployment id, announced in its hello
	dids []uint64
	rand io.Reader
}

// newPeerAuth returns the handshake of a node with key and deployment id
// did. It accepts peers announcing did, the key's own id or the legacy
// one: a node whose data dir predates derived ids keeps id 1 (Dragonboat
// refuses to reopen a data dir under another id), and the key, not the id,
// is what keeps clusters apart.
func newPeerAuth(key []byte, did uint64, rnd io.Reader) *peerAuth {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("forkstore raft transport"))
	return &peerAuth{key: m.Sum(nil), did: did, dids: []uint64{did, deploymentID(key), legacyDeploymentID}, rand: rnd}
}

func (a *peerAuth) hello() ([]byte, error) {
	h := make([]byte, helloSize)
	copy(h, helloMagic[:])
	if _, err := io.ReadFull(a.rand, h[4:4+nonceSize]); err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint64(h[4+nonceSize:], a.did)
	return h, nil
}

// parseHello checks a peer's hello and returns its deployment id.
func (a *peerAuth) parseHello(h []byte) (uint64, error) {
	if !bytes.Equal(h[:4], helloMagic[:]) {
		return 0, errBadHandshake
	}
	return binary.BigEndian.Uint64(h[4+nonceSize:]), nil
}

func (a *peerAuth) accepts(did uint64) bool {
	for _, d := range a.dids {
		if d == did {
			return true
		}
	}
	return false
}

// proofs returns the server's and the client's proofs of the key over a
// session's two hellos, and the key of its frames.
func (a *peerAuth) proofs(clientHello, serverHello []byte) (server, client, frames []byte) {
	mac := func(label string) []byte {
		m := hmac.New(sha256.New, a.key)
		m.Write([]byte(label))
		m.Write(clientHello)
		m.Write(serverHello)
		return m.Sum(nil)
	}
	return mac("forkstore raft server"), mac("forkstore raft client"), mac("forkstore raft frames")
}

// session is an authenticated connection's state.
type session struct {
	peerDID  uint64
	frameKey []byte
}

// server runs the server side of the handshake on conn.
func (a *peerAuth) server(conn net.Conn) (*session, error) {
	if err := conn.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return nil, err
	}
	ch := make([]byte, helloSize)
	if _, err := io.ReadFull(conn, ch); err != nil {
		return nil, err
	}
	peer, err := a.parseHello(ch)
	if err != nil {
		return nil, err
	}
	sh, err := a.hello()
	if err != nil {
		return nil, err
	}
	sp, cp, fk := a.proofs(ch, sh)
	if _, err := conn.Write(append(sh, sp...)); err != nil {
		return nil, err
	}
	got := make([]byte, macSize)
	if _, err := io.ReadFull(conn, got); err != nil {
		return nil, err
	}
	if !hmac.Equal(got, cp) {
		return nil, errBadHandshake
	}
	if !a.accepts(peer) {
		return nil, fmt.Errorf("raft transport: peer's deployment id %d is not this cluster's %d", peer, a.did)
	}
	return &session{peerDID: peer, frameKey: fk}, conn.SetDeadline(time.Time{})
}

// client runs the client side of the handshake on conn.
func (a *peerAuth) client(conn net.Conn) (*session, error) {
	if err := conn.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return nil, err
	}
	ch, err := a.hello()
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(ch); err != nil {
		return nil, err
	}
	reply := make([]byte, helloSize+macSize)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return nil, err
	}
	sh := reply[:helloSize]
	peer, err := a.parseHello(sh)
	if err != nil {
		return nil, err
	}
	sp, cp, fk := a.proofs(ch, sh)
	if !hmac.Equal(reply[helloSize:], sp) {
		return nil, errBadHandshake
	}
	if !a.accepts(peer) {
		return nil, fmt.Errorf("raft transport: peer's deployment id %d is not this cluster's %d", peer, a.did)
	}
	if _, err := conn.Write(cp); err != nil {
		return nil, err
	}
	return &session{peerDID: peer, frameKey: fk}, conn.SetDeadline(time.Time{})
}

// frameMAC authenticates one direction's frames, numbered from 0.
type frameMAC struct {
	h   hash.Hash
	seq uint64
}

func newFrameMAC(key []byte) *frameMAC { return &frameMAC{h: hmac.New(sha256.New, key)} }

func (m *frameMAC) sum(header, payload []byte) []byte {
	m.h.Reset()
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], m.seq)
	m.seq++
	m.h.Write(seq[:])
	m.h.Write(header)
	m.h.Write(payload)
	return m.h.Sum(nil)
}

func encodeHeader(buf []byte, method uint16, size uint64) {
	binary.BigEndian.PutUint16(buf, method)
	binary.BigEndian.PutUint64(buf[2:], size)
	binary.BigEndian.PutUint32(buf[10:], 0)
	binary.BigEndian.PutUint32(buf[14:], 0)
	binary.BigEndian.PutUint32(buf[10:], crc32.ChecksumIEEE(buf[:frameHeaderSize]))
}

// decodeHeader checks a header's CRC and method.
func decodeHeader(buf []byte) (method uint16, size uint64, ok bool) {
	var h [frameHeaderSize]byte
	copy(h[:], buf)
	want := binary.BigEndian.Uint32(h[10:])
	binary.BigEndian.PutUint32(h[10:], 0)
	if crc32.ChecksumIEEE(h[:]) != want {
		return 0, 0, false
	}
	method = binary.BigEndian.Uint16(h[:])
	if method != frameRaft && method != frameSnapshot {
		return 0, 0, false
	}
	return method, binary.BigEndian.Uint64(h[2:]), true
}

// frameReader reads the frames of one authenticated connection.
type frameReader struct {
	conn net.Conn
	// rd reads conn through a buffer, so that a frame's magic, header
	// and body (and the small frames queued behind it) come in one read
	// system call instead of three per frame; the deadlines are set on
	// conn and apply when rd reads from it.
	rd     *bufio.Reader
	mac    *frameMAC
	limits frameLimits
	head   [2 + frameHeaderSize]byte
	buf    []byte
}

// frameReadBuffer is the read buffer of a connection's frames.
const frameReadBuffer = 16 << 10

func newFrameReader(conn net.Conn, mac *frameMAC, limits frameLimits) *frameReader {
	return &frameReader{conn: conn, rd: bufio.NewReaderSize(conn, frameReadBuffer), mac: mac, limits: limits}
}

// next returns the next frame. Its payload is valid until the next call.
// It returns errPoison at the end of a snapshot stream.
func (r *frameReader) next() (uint16, []byte, error) {
	if err := r.conn.SetReadDeadline(time.Now().Add(idleTimeout)); err != nil {
		return 0, nil, err
	}
	if _, err := io.ReadFull(r.rd, r.head[:2]); err != nil {
		return 0, nil, err
	}
	switch {
	case bytes.Equal(r.head[:2], poisonMagic[:]):
		return 0, nil, errPoison
	case !bytes.Equal(r.head[:2], frameMagic[:]):
		return 0, nil, errBadFrame
	}
	if err := r.conn.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		return 0, nil, err
	}
	header := r.head[2:]
	if _, err := io.ReadFull(r.rd, header); err != nil {
		return 0, nil, err
	}
	method, size, ok := decodeHeader(header)
	if !ok || size == 0 {
		return 0, nil, errBadFrame
	}
	if size > r.limits.of(method) {
		return 0, nil, fmt.Errorf("%w: %d bytes announced, at most %d", errFrameTooBig, size, r.limits.of(method))
	}
	n := int(size) + macSize
	if cap(r.buf) < n {
		// Grown to a frame's size only, and only for frames within the
		// limits of an authenticated peer; small frames reuse it.
		r.buf = make([]byte, n)
	}
	buf := r.buf[:n]
	for off := 0; off < n; off += ioPiece {
		if err := r.conn.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
			return 0, nil, err
		}
		if _, err := io.ReadFull(r.rd, buf[off:min(off+ioPiece, n)]); err != nil {
			return 0, nil, err
		}
	}
	if cap(r.buf) > 4*snapshotChunkSize {
		r.buf = nil // do not keep a large buffer for the connection's life
	}
	payload := buf[:size]
	if !hmac.Equal(buf[size:], r.mac.sum(header, payload)) {
		return 0, nil, fmt.Errorf("%w: authentication failed", errBadFrame)
	}
	return method, payload, nil
}

// frameWriter writes the frames of one authenticated connection.
type frameWriter struct {
	conn net.Conn
	mac  *frameMAC
	buf  []byte
}

func (w *frameWriter) write(method uint16, payload []byte) error {
	head := make([]byte, 2+frameHeaderSize)
	copy(head, frameMagic[:])
	encodeHeader(head[2:], method, uint64(len(payload)))
	sum := w.mac.sum(head[2:], payload)
	parts := [][]byte{head, payload, sum}
	if len(payload) <= ioPiece {
		w.buf = append(append(append(w.buf[:0], head...), payload...), sum...)
		parts = [][]byte{w.buf}
	}
	for _, p := range parts {
		for off := 0; off < len(p); off += ioPiece {
			if err := w.conn.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
				return err
			}
			if _, err := w.conn.Write(p[off:min(off+ioPiece, len(p))]); err != nil {
				return err
			}
		}
	}
	if cap(w.buf) > 4*ioPiece {
		w.buf = nil
	}
	return nil
}

// transportFactory makes the NodeHost's transport.
type transportFactory struct {
	auth   *peerAuth // nil without a key
	limits frameLimits
	did    uint64
	log    *slog.Logger
	// peerGone is told the Raft address of a peer whose connection to
	// this node ended without a fault of its frames (nil: nobody).
	peerGone func(addr string)
}

var _ config.TransportFactory = (*transportFactory)(nil)

func (f *transportFactory) Create(nhc config.NodeHostConfig, onBatch raftio.MessageHandler, onChunk raftio.ChunkHandler) raftio.ITransport {
	return &transport{
		nhc: nhc, auth: f.auth, limits: f.limits, did: f.did, log: f.log,
		onBatch: onBatch, onChunk: onChunk, peerGone: f.peerGone,
		conns:       map[net.Conn]struct{}{},
		pendingByIP: map[string]int{},
	}
}

func (f *transportFactory) Validate(addr string) bool { return checkAddr(addr) == nil }

// transport is a raftio.ITransport over TCP (and TLS), authenticated.
type transport struct {
	nhc     config.NodeHostConfig
	auth    *peerAuth
	limits  frameLimits
	did     uint64
	log     *slog.Logger
	onBatch raftio.MessageHandler
	onChunk raftio.ChunkHandler
	// peerGone: see transportFactory.
	peerGone func(addr string)

	lastRefuse atomic.Int64 // unix nanos of the last refusal logged

	mu          sync.Mutex
	ln          net.Listener
	conns       map[net.Conn]struct{}
	pending     int            // connections in their handshake
	pendingByIP map[string]int // the same by remote IP
	closed      bool
	wg          sync.WaitGroup
}

func (t *transport) Name() string { return "forkstore-authenticated-tcp" }

// Start listens, unless the host has no key (and so no peer).
func (t *transport) Start() error {
	if t.auth == nil {
		t.log.Info("raft transport not listening: no cluster key, a node of its own")
		return nil
	}
	ln, err := net.Listen("tcp", t.nhc.GetListenAddress())
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.ln = ln
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		backoff := 5 * time.Millisecond
		for {
			conn, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				// Out of file descriptors, or another passing failure:
				// never the end of the transport.
				t.log.Warn("raft transport: accept failed", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			backoff = 5 * time.Millisecond
			ip := remoteIP(conn)
			if !t.startHandshake(ip) {
				conn.Close() // too many connections in their handshake
				continue
			}
			if !t.track(conn) {
				t.endHandshake(ip)
				conn.Close()
				return
			}
			t.wg.Add(1)
			go func() {
				defer t.wg.Done()
				defer t.untrack(conn)
				t.serveConn(conn)
			}()
		}
	}()
	return nil
}

// startHandshake takes a handshake slot for a connection from ip.
func (t *transport) startHandshake(ip string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending >= maxHandshake || t.pendingByIP[ip] >= maxHandshakePerIP {
		return false
	}
	t.pending++
	t.pendingByIP[ip]++
	return true
}

func (t *transport) endHandshake(ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending--
	if t.pendingByIP[ip]--; t.pendingByIP[ip] <= 0 {
		delete(t.pendingByIP, ip)
	}
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}

func (t *transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *transport) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

// serveConn runs TLS (if configured) and then serve.
func (t *transport) serveConn(conn net.Conn) {
	ip := remoteIP(conn)
	released := false
	release := func() {
		if !released {
			released = true
			t.endHandshake(ip)
		}
	}
	defer release()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetKeepAlive(true)
		_ = tc.SetKeepAlivePeriod(keepAlive)
	}
	tlsConfig, err := t.nhc.GetServerTLSConfig()
	if err != nil {
		t.refused(conn, err)
		return
	}
	if tlsConfig != nil {
		tc := tls.Server(conn, tlsConfig)
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			t.refused(conn, err)
			return
		}
		conn = tc
	}
	t.serve(conn, release)
}

// serve authenticates the peer on conn, then hands its frames to
// Dragonboat until the connection ends or a frame is bad.
//
// A connection that ends (end of stream, reset) after it carried Raft
// messages is reported to peerGone with the address the peer sends from:
// a peer process that dies has its connections closed by its kernel at
// once, so this is the first sign of its death, well before an election
// timeout of silence. A peer that merely restarted is reported too, which
// costs a wake of the shards it led.
func (t *transport) serve(conn net.Conn, authenticated func()) {
	sess, err := t.auth.server(conn)
	if err != nil {
		t.refused(conn, err)
		return
	}
	authenticated()
	r := newFrameReader(conn, newFrameMAC(sess.frameKey), t.limits)
	var source string // the peer's Raft address, from its message batches
	for {
		method, payload, err := r.next()
		if errors.Is(err, errPoison) {
			_ = conn.SetWriteDeadline(time.Now().Add(ioTimeout))
			_, _ = conn.Write(poisonMagic[:])
			return
		}
		if err != nil {
			if errors.Is(err, errBadFrame) || errors.Is(err, errFrameTooBig) {
				t.log.Warn("raft transport: closing a peer's connection", "remote", remote(conn), "err", err)
				return
			}
			if source != "" && t.peerGone != nil && !t.isClosed() {
				t.peerGone(source)
			}
			return
		}
		if method == frameRaft {
			var b pb.MessageBatch
			if err := decode(&b, payload); err != nil || b.DeploymentId != sess.peerDID {
				t.log.Warn("raft transport: bad message batch", "remote", remote(conn), "err", err)
				return
			}
			b.DeploymentId = t.did
			source = b.SourceAddress
			t.onBatch(b)
			continue
		}
		var c pb.Chunk
		if err := decode(&c, payload); err != nil || c.DeploymentId != sess.peerDID {
			t.log.Warn("raft transport: bad snapshot chunk", "remote", remote(conn), "err", err)
			return
		}
		c.DeploymentId = t.did
		if !t.onChunk(c) {
			return
		}
	}
}

// decode unmarshals a frame's payload. Dragonboat's decoders index past
// the end of some malformed inputs (found by FuzzTransportFrames): a panic
// is a decoding error here, never the end of the process.
func decode(m interface{ Unmarshal([]byte) error }, payload []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: undecodable payload: %v", errBadFrame, r)
		}
	}()
	return m.Unmarshal(payload)
}

// refused logs a connection that failed its handshake, at most every 10 s.
func (t *transport) refused(conn net.Conn, err error) {
	now := time.Now().UnixNano()
	last := t.lastRefuse.Load()
	if now-last < int64(10*time.Second) || !t.lastRefuse.CompareAndSwap(last, now) {
		return
	}
	t.log.Warn("raft transport: refused a connection", "remote", remote(conn), "err", err)
}

func remote(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

func (t *transport) Close() error {
	t.mu.Lock()
	t.closed = true
	if t.ln != nil {
		t.ln.Close()
	}
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

// isClosed reports whether Close was called.
func (t *transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// dial connects to target and authenticates both ends.
func (t *transport) dial(ctx context.Context, target string) (net.Conn, *session, error) {
	if t.auth == nil {
		return nil, nil, errNoKey
	}
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, nil, err
	}
	tlsConfig, err := t.nhc.GetClientTLSConfig(target)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if tlsConfig != nil {
		tc := tls.Client(conn, tlsConfig)
		hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		conn = tc
	}
	sess, err := t.auth.client(conn)
	if err != nil {
		conn.Close()
		if errors.Is(err, errBadHandshake) {
			t.log.Warn("raft transport: peer failed the handshake", "target", target, "err", err)
		}
		return nil, nil, err
	}
	return conn, sess, nil
}

func (t *transport) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	conn, sess, err := t.dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &msgConn{conn: conn, w: &frameWriter{conn: conn, mac: newFrameMAC(sess.frameKey)}}, nil
}

func (t *transport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	conn, sess, err := t.dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &snapConn{conn: conn, w: &frameWriter{conn: conn, mac: newFrameMAC(sess.frameKey)}}, nil
}

// msgConn sends message batches.
type msgConn struct {
	conn net.Conn
	w    *frameWriter
	buf  []byte
}

func (c *msgConn) Close() { c.conn.Close() }

func (c *msgConn) SendMessageBatch(b pb.MessageBatch) error {
	if n := b.SizeUpperLimit(); cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	n, err := b.MarshalTo(c.buf[:cap(c.buf)])
	if err != nil {
		return err
	}
	err = c.w.write(frameRaft, c.buf[:n])
	if cap(c.buf) > 4*ioPiece {
		c.buf = nil
	}
	return err
}

// snapConn sends a snapshot's chunks.
type snapConn struct {
	conn net.Conn
	w    *frameWriter
}

// Close ends the stream and waits (briefly) for the receiver's ack, so
// that the last chunk is read before the connection goes.
func (c *snapConn) Close() {
	defer c.conn.Close()
	if err := c.conn.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
		return
	}
	if _, err := c.conn.Write(poisonMagic[:]); err != nil {
		return
	}
	ack := make([]byte, len(poisonMagic))
	if err := c.conn.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		return
	}
	_, _ = io.ReadFull(c.conn, ack)
}

func (c *snapConn) SendChunk(ch pb.Chunk) error {
	buf := make([]byte, ch.Size())
	n, err := ch.MarshalTo(buf)
	if err != nil {
		return err
	}
	return c.w.write(frameSnapshot, buf[:n])
}

// randReader is where nonces come from (tests may replace it).
var randReader io.Reader = rand.Reader

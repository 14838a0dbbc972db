package block

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Node-to-node traffic (chunk copies, status, digests, scrubs) is plain
// HTTP to the peer's S3 address under PeerPrefix, authenticated with the
// cluster key. This file is the sending side (Peer) and the signature;
// the receiving side (gateway.Service.VerifyPeer, which also checks the
// sender's membership and the nonce) is served by s3api. Every request
// carries
//
//	X-Forkstore-Peer-Node       the sender's node id (a current member)
//	X-Forkstore-Peer-To         the destination's node id
//	X-Forkstore-Peer-Date       the sender's clock, Unix nanoseconds
//	X-Forkstore-Peer-Nonce      32 random hex digits, never sent twice
//	X-Forkstore-Peer-Body       the body's digest: "<size>:<sha256 hex>", for
//	                            a chunk copy "<size>:gmac:<salt>" (the body
//	                            is then followed by a trailer that
//	                            authenticates it, bodymac.go), or "-"
//	X-Forkstore-Peer-Signature  hex HMAC-SHA256(key, "forkstore-peer-v3" \n
//	                            method \n uri \n node \n to \n date \n nonce \n body)
//
// and is refused (403) when the signature does not match, the date is more
// than PeerSkew away, the destination is another node, the sender is not a
// current member, or the nonce was already seen (a replay). A body is then
// checked against the size and SHA-256 (or trailer) it was signed with
// while it streams (a chunk copy becomes visible only after that check),
// so the receiver
// stores nothing that the holder of the key did not send to it. Without
// TLS the traffic can still be read on the wire, and answers are not
// signed: see docs/security.md.
//
// The v3 format (chunk copies authenticated by a trailer) replaced v2
// (chunk copies signed with their SHA-256 in the headers), which replaced
// one with neither destination nor nonce and a CRC32C body digest: nodes
// of two formats refuse each other's requests, so every node of a cluster
// runs the same version.

// PeerPrefix is the path under which nodes serve each other.
const PeerPrefix = "/_forkstore/peer/"

// PeerSkew is how far a peer request's date may be from the receiver's
// clock.
const PeerSkew = time.Minute

// Peer request headers.
const (
	hdrPeerNode  = "X-Forkstore-Peer-Node"
	hdrPeerTo    = "X-Forkstore-Peer-To"
	hdrPeerDate  = "X-Forkstore-Peer-Date"
	hdrPeerNonce = "X-Forkstore-Peer-Nonce"
	hdrPeerBody  = "X-Forkstore-Peer-Body"
	hdrPeerSig   = "X-Forkstore-Peer-Signature"
)

// peerSigVersion starts every signed string, so that a signature of one
// format never verifies as another.
const peerSigVersion = "forkstore-peer-v3"

// peerSignature is the HMAC of a peer request.
func peerSignature(key []byte, method, uri, node, to, date, nonce, body string) string {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, peerSigVersion+"\n"+method+"\n"+uri+"\n"+node+"\n"+to+"\n"+date+"\n"+nonce+"\n"+body)
	return hex.EncodeToString(m.Sum(nil))
}

// NewNonce returns 128 random bits in hex, the nonce of one peer request.
func NewNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b[:])
}

// chunkDigest is a chunk's size and CRC32C as a query value
// ("<size>:<crc32c hex>"), naming the copy a chunk request is about.
func chunkDigest(size int64, crc uint32) string {
	return strconv.FormatInt(size, 10) + ":" + fmt.Sprintf("%08x", crc)
}

// PeerBodyDigest is the signed digest of a peer request body.
func PeerBodyDigest(size int64, sum [sha256.Size]byte) string {
	return strconv.FormatInt(size, 10) + ":" + hex.EncodeToString(sum[:])
}

// ParsePeerBodyDigest reads a body digest ("<size>:<sha256 hex>").
func ParsePeerBodyDigest(d string) (size int64, sum [sha256.Size]byte, ok bool) {
	a, b, found := strings.Cut(d, ":")
	if !found || len(b) != 2*sha256.Size {
		return 0, sum, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil || n < 0 {
		return 0, sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(b)); err != nil {
		return 0, sum, false
	}
	return n, sum, true
}

// PeerHeaders are the signed headers of a peer request.
type PeerHeaders struct {
	Node, To, Date, Nonce, Body, Signature string
}

// ReadPeerHeaders reads a peer request's headers through a header getter.
func ReadPeerHeaders(header func(string) string) PeerHeaders {
	return PeerHeaders{
		Node: header(hdrPeerNode), To: header(hdrPeerTo), Date: header(hdrPeerDate),
		Nonce: header(hdrPeerNonce), Body: header(hdrPeerBody), Signature: header(hdrPeerSig),
	}
}

// Header returns h as request headers (name -> value).
func (h PeerHeaders) Header() map[string]string {
	return map[string]string{
		hdrPeerNode: h.Node, hdrPeerTo: h.To, hdrPeerDate: h.Date,
		hdrPeerNonce: h.Nonce, hdrPeerBody: h.Body, hdrPeerSig: h.Signature,
	}
}

// Sign sets h.Signature for a request of method to uri under key.
func (h *PeerHeaders) Sign(key []byte, method, uri string) {
	h.Signature = peerSignature(key, method, uri, h.Node, h.To, h.Date, h.Nonce, h.Body)
}

// Complete reports whether every header is present.
func (h PeerHeaders) Complete() bool {
	return h.Node != "" && h.To != "" && h.Date != "" && h.Nonce != "" && h.Body != "" && h.Signature != ""
}

// ValidSignature reports whether h.Signature is that of a request of
// method to uri (path and query as sent) under key.
func (h PeerHeaders) ValidSignature(key []byte, method, uri string) bool {
	want := peerSignature(key, method, uri, h.Node, h.To, h.Date, h.Nonce, h.Body)
	return hmac.Equal([]byte(want), []byte(h.Signature))
}

// ParseChunkDigest reads a chunk's size and CRC32C ("<size>:<crc32c hex>").
func ParseChunkDigest(d string) (size int64, crc uint32, ok bool) {
	a, b, found := strings.Cut(d, ":")
	if !found {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil || n < 0 {
		return 0, 0, false
	}
	c, err := strconv.ParseUint(b, 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return n, uint32(c), true
}

// Peer sends signed requests to other nodes. It is safe for concurrent
// use.
type Peer struct {
	self   uint64
	scheme string // "http://" or "https://"
	tls    bool
	key    []byte
	http   *http.Client
	// fast is for chunk reads: a peer that does not start answering
	// within fetchFirstByte (paused, overloaded) is skipped for the next
	// holder instead of holding up a client's GET.
	fast *http.Client
}

// fetchFirstByte bounds the wait for a peer's answer to a chunk read.
const fetchFirstByte = 3 * time.Second

// NewPeer returns the client of node self, signing with the cluster key
// and using TLS with tlsConf (nil: plain HTTP).
func NewPeer(self uint64, key string, tlsConf *tls.Config) *Peer {
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if tc, ok := conn.(*net.TCPConn); ok && err == nil {
			return peerConn{tc}, nil // chunk copies by sendfile (sendfile.go)
		}
		return conn, err
	}
	transport := func(header time.Duration) *http.Transport {
		return &http.Transport{
			DialContext:           dial,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: header,
			TLSClientConfig:       tlsConf,
			// Chunk bodies are already compressed or incompressible.
			DisableCompression: true,
		}
	}
	scheme := "http://"
	if tlsConf != nil {
		scheme = "https://"
	}
	return &Peer{
		self: self, key: []byte(key), scheme: scheme, tls: tlsConf != nil,
		http: &http.Client{Transport: transport(0)},
		fast: &http.Client{Transport: transport(fetchFirstByte)},
	}
}

// errPeerStatus is a peer's non-2xx answer.
type errPeerStatus struct {
	status int
	body   string
}

func (e *errPeerStatus) Error() string {
	return fmt.Sprintf("block: peer answered %d: %s", e.status, e.body)
}

// do sends a signed request to member m and returns the response of a 2xx
// answer (the caller closes its body); other answers are errPeerStatus.
// digest is the body's PeerBodyDigest ("" or "-" without a body).
func (p *Peer) do(ctx context.Context, method string, m Member, pathAndQuery string, body io.Reader, size int64, digest string) (*http.Response, error) {
	return p.send(ctx, p.http, method, m, pathAndQuery, body, size, digest)
}

func (p *Peer) send(ctx context.Context, hc *http.Client, method string, m Member, pathAndQuery string, body io.Reader, size int64, digest string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.scheme+m.Addr+PeerPrefix+pathAndQuery, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	if digest == "" {
		digest = "-"
	}
	node, to := strconv.FormatUint(p.self, 10), strconv.FormatUint(m.ID, 10)
	date := strconv.FormatInt(time.Now().UnixNano(), 10)
	nonce := NewNonce()
	req.Header.Set(hdrPeerNode, node)
	req.Header.Set(hdrPeerTo, to)
	req.Header.Set(hdrPeerDate, date)
	req.Header.Set(hdrPeerNonce, nonce)
	req.Header.Set(hdrPeerBody, digest)
	req.Header.Set(hdrPeerSig, peerSignature(p.key, method, req.URL.RequestURI(), node, to, date, nonce, digest))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &errPeerStatus{status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	return resp, nil
}

// GetJSON sends a signed request without a body and decodes a JSON answer.
func (p *Peer) GetJSON(ctx context.Context, method string, m Member, pathAndQuery string, out any) error {
	resp, err := p.do(ctx, method, m, pathAndQuery, nil, 0, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("block: peer answer: %w", err)
	}
	return nil
}

// Reach sends member m a signed request that asks for nothing (ping)
// and reports whether it answered at all: any HTTP answer, a refusal
// included (an older version's 404), comes from a running process.
func (p *Peer) Reach(ctx context.Context, m Member) error {
	resp, err := p.do(ctx, http.MethodGet, m, "ping", nil, 0, "")
	var ps *errPeerStatus
	if errors.As(err, &ps) {
		return nil
	}
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return resp.Body.Close()
}

// Post sends a signed request with body to member m and returns the
// whole answer (at most limit bytes) of a 2xx answer.
func (p *Peer) Post(ctx context.Context, m Member, pathAndQuery string, body []byte, limit int64) ([]byte, error) {
	resp, err := p.do(ctx, http.MethodPost, m, pathAndQuery, bytes.NewReader(body), int64(len(body)),
		PeerBodyDigest(int64(len(body)), sha256.Sum256(body)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("block: peer answer: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("block: peer answer over %d bytes", limit)
	}
	return b, nil
}

// isNotFound reports whether a peer answered 404.
func isNotFound(err error) bool {
	var ps *errPeerStatus
	return errors.As(err, &ps) && ps.status == http.StatusNotFound
}

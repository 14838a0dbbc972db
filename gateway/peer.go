package gateway

import (
	"context"
	"crypto/hmac"
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
// cluster key: every request carries
//
//	X-Forkstore-Peer-Node       the sender's node id (a current member)
//	X-Forkstore-Peer-To         the destination's node id
//	X-Forkstore-Peer-Date       the sender's clock, Unix nanoseconds
//	X-Forkstore-Peer-Nonce      32 random hex digits, never sent twice
//	X-Forkstore-Peer-Body       the body's digest: "<size>:<sha256 hex>" or "-"
//	X-Forkstore-Peer-Signature  hex HMAC-SHA256(key, "forkstore-peer-v2" \n
//	                            method \n uri \n node \n to \n date \n nonce \n body)
//
// and is refused (403) when the signature does not match, the date is more
// than PeerSkew away, the destination is another node, the sender is not a
// current member, or the nonce was already seen (a replay). A body is then
// checked against the size and SHA-256 it was signed with while it streams
// (a chunk copy becomes visible only after that check), so the receiver
// stores nothing that the holder of the key did not send to it. Without
// TLS the traffic can still be read on the wire, and answers are not
// signed: see docs/security.md.
//
// The v2 format (destination, nonce, SHA-256) replaced one with neither
// and a CRC32C body digest: nodes of the two formats refuse each other's
// requests, so every node of a cluster runs the same version.

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
const peerSigVersion = "forkstore-peer-v2"

// peerSignature is the HMAC of a peer request.
func peerSignature(key []byte, method, uri, node, to, date, nonce, body string) string {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, peerSigVersion+"\n"+method+"\n"+uri+"\n"+node+"\n"+to+"\n"+date+"\n"+nonce+"\n"+body)
	return hex.EncodeToString(m.Sum(nil))
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

// VerifyPeer authenticates a node-to-node request: method, request URI
// (path and query as sent) and a header getter. It returns the body digest
// the sender signed ("-" for none), or ErrPeerAuth. A request that passes
// is remembered (by its nonce) until its date leaves the window, and
// refused if it comes again.
func (s *Service) VerifyPeer(method, uri string, header func(string) string) (string, error) {
	key := s.node.cfg.ClusterKey
	if key == "" {
		return "", fmt.Errorf("%w: this node has no cluster key", ErrPeerAuth)
	}
	node, to, date := header(hdrPeerNode), header(hdrPeerTo), header(hdrPeerDate)
	nonce, body, sig := header(hdrPeerNonce), header(hdrPeerBody), header(hdrPeerSig)
	if node == "" || to == "" || date == "" || nonce == "" || body == "" || sig == "" {
		return "", fmt.Errorf("%w: missing peer headers", ErrPeerAuth)
	}
	ns, err := strconv.ParseInt(date, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: malformed date", ErrPeerAuth)
	}
	now := time.Now()
	if d := now.Sub(time.Unix(0, ns)); d > PeerSkew || d < -PeerSkew {
		return "", fmt.Errorf("%w: date %s is too far from this node's clock", ErrPeerAuth, time.Unix(0, ns).UTC())
	}
	want := peerSignature([]byte(key), method, uri, node, to, date, nonce, body)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "", fmt.Errorf("%w: signature does not match", ErrPeerAuth)
	}
	c := s.node.cluster
	if to != strconv.FormatUint(c.self, 10) {
		return "", fmt.Errorf("%w: request for node %s sent to node %d", ErrPeerAuth, to, c.self)
	}
	id, err := strconv.ParseUint(node, 10, 64)
	if err != nil || !c.isMember(id) {
		return "", fmt.Errorf("%w: node %q is not a member of this cluster", ErrPeerAuth, node)
	}
	n, ok := parseNonce(nonce)
	if !ok {
		return "", fmt.Errorf("%w: malformed nonce", ErrPeerAuth)
	}
	if err := c.nonces.add(n, now); err != nil {
		return "", err
	}
	return body, nil
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

// peerClient sends signed requests to other nodes.
type peerClient struct {
	self   uint64
	scheme string // "http://" or "https://"
	key    []byte
	http   *http.Client
	// fast is for chunk reads: a peer that does not start answering
	// within fetchFirstByte (paused, overloaded) is skipped for the next
	// holder instead of holding up a client's GET.
	fast *http.Client
}

// fetchFirstByte bounds the wait for a peer's answer to a chunk read.
const fetchFirstByte = 3 * time.Second

func newPeerClient(self uint64, key string, tlsConf *tls.Config) *peerClient {
	transport := func(header time.Duration) *http.Transport {
		return &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
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
	return &peerClient{
		self: self, key: []byte(key), scheme: scheme,
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
	return fmt.Sprintf("gateway: peer answered %d: %s", e.status, e.body)
}

// do sends a signed request to member m and returns the response of a 2xx
// answer (the caller closes its body); other answers are errPeerStatus.
// digest is the body's PeerBodyDigest ("" or "-" without a body).
func (p *peerClient) do(ctx context.Context, method string, m member, pathAndQuery string, body io.Reader, size int64, digest string) (*http.Response, error) {
	return p.send(ctx, p.http, method, m, pathAndQuery, body, size, digest)
}

func (p *peerClient) send(ctx context.Context, hc *http.Client, method string, m member, pathAndQuery string, body io.Reader, size int64, digest string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.scheme+m.S3Addr+PeerPrefix+pathAndQuery, body)
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
	nonce := newNonce()
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

// getJSON sends a signed request without a body and decodes a JSON answer.
func (p *peerClient) getJSON(ctx context.Context, method string, m member, pathAndQuery string, out any) error {
	resp, err := p.do(ctx, method, m, pathAndQuery, nil, 0, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("gateway: peer answer: %w", err)
	}
	return nil
}

// isNotFound reports whether a peer answered 404.
func isNotFound(err error) bool {
	var ps *errPeerStatus
	return errors.As(err, &ps) && ps.status == http.StatusNotFound
}

//go:build cluster

package cluster

import (
	"bytes"
	"crypto/rand"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Node-to-node chunk copies (PUT /_forkstore/peer/chunks/<id>) as an
// attacker on the cluster network sees them. Node 2 advertises the address
// of a recording proxy, so every chunk node 1 copies to node 2 passes
// through the test: the first copy is tampered with in flight (its bytes
// swapped for others with the same CRC32C, its trailer kept), the others are recorded
// and later replayed, as they were and with a swapped body, to node 2
// and to node 3. None of it may be accepted, and no node may ever serve
// the forged bytes.
func TestPeerChunkCopiesCannotBeTamperedOrReplayed(t *testing.T) {
	px := newPeerProxy(t)
	c := startCluster(t, 3, withNodeArgs(2, "--advertise-s3", px.addr))
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	px.setTarget(n2.S3Addr)

	must(t, "create bucket", n1.makeBucket("peer"))
	// Three 4 MiB chunks and a tail: four copies from node 1 to node 2.
	body := make([]byte, 13<<20)
	rand.Read(body)
	must(t, "put object", n1.putObject("peer", "obj", body))
	// The copies run at once: wait for the tampered one and an intact one
	// to be over, in whatever order they end.
	var tampered, replay peerExchange
	waitFor(t, opTimeout, "node 1's chunk copies to node 2, one tampered and one intact", func() error {
		tampered, replay = peerExchange{}, peerExchange{}
		for _, ex := range px.done() {
			if ex.tampered {
				tampered = ex
			} else if replay.uri == "" {
				replay = ex
			}
		}
		if tampered.uri == "" || replay.uri == "" {
			return errors.New("not yet both")
		}
		return nil
	})
	if replay.status/100 != 2 {
		t.Fatalf("node 2 refused an intact copy: %d", replay.status)
	}

	// A body swapped in flight for one with the same size and CRC32C:
	// the trailer's tag (a MAC under the cluster key) does not match it,
	// so node 2 refuses it.
	if tampered.status/100 == 2 {
		t.Errorf("node 2 accepted a copy whose body was swapped in flight (same CRC32C): %d", tampered.status)
	}
	if got, err := n2.getObject("peer", "obj", ""); err != nil || !bytes.Equal(got, body) {
		t.Errorf("node 2 serves other bytes than were written (err %v)", err)
	}

	forged := forgeCopy(replay.body)
	cases := []struct {
		name string
		to   *Node
		body []byte
	}{
		{"to another node", n3, replay.body},
		{"to another node with a forged body", n3, forged},
		{"to the same node", n2, replay.body},
		{"to the same node with a forged body", n2, forged},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, msg := px.replay(t, tc.to.S3Addr, replay, tc.body)
			if st != http.StatusForbidden {
				t.Fatalf("replayed chunk copy %s: %d %s, want 403", tc.name, st, msg)
			}
		})
	}
	for _, n := range []*Node{n1, n2, n3} {
		if got, err := n.getObject("peer", "obj", ""); err != nil || !bytes.Equal(got, body) {
			t.Errorf("node %d serves other bytes than were written (err %v)", n.ID, err)
		}
	}
}

// peerExchange is one chunk copy that went through the proxy.
type peerExchange struct {
	uri      string
	header   http.Header
	body     []byte // as node 1 sent it
	tampered bool   // the proxy sent forgeCopy(body) instead
	status   int    // what node 2 answered
}

// peerProxy forwards HTTP to a node, tampering with the first chunk copy
// and recording every chunk copy (loopback only).
type peerProxy struct {
	addr string
	srv  *http.Server

	mu          sync.Mutex
	target      string
	tamperedOne bool
	seen        []peerExchange
}

func newPeerProxy(t *testing.T) *peerProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peerProxy{addr: l.Addr().String()}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(l)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func (p *peerProxy) setTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

// done returns the chunk copies answered so far, in order.
func (p *peerProxy) done() []peerExchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]peerExchange(nil), p.seen...)
}

var proxyClient = &http.Client{Timeout: opTimeout}

func (p *peerProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isCopy := r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/_forkstore/peer/chunks/")
	p.mu.Lock()
	target := p.target
	first := isCopy && !p.tamperedOne
	if first {
		p.tamperedOne = true
	}
	p.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil || target == "" {
		http.Error(w, "proxy: not ready", http.StatusServiceUnavailable)
		return
	}
	send := body
	if isCopy && first {
		send = forgeCopy(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+target+r.URL.RequestURI(), bytes.NewReader(send))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.ContentLength = int64(len(send))
	resp, err := proxyClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if isCopy {
		p.mu.Lock()
		p.seen = append(p.seen, peerExchange{
			uri: r.URL.RequestURI(), header: r.Header.Clone(), body: body,
			tampered: first, status: resp.StatusCode,
		})
		p.mu.Unlock()
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// replay sends a recorded chunk copy, with its signed headers as they
// were, to addr with body, and returns the status and message.
func (p *peerProxy) replay(t *testing.T, addr string, ex peerExchange, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+addr+ex.uri, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = ex.header.Clone()
	req.ContentLength = int64(len(body))
	resp, err := proxyClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(msg))
}

// copyTrailer is the length of what follows a chunk copy's bytes: their
// CRC32C and a tag (block/bodymac.go).
const copyTrailer = 4 + 16

// forgeCopy returns a chunk copy's wire body with other chunk bytes of the
// same CRC32C and the trailer as it was.
func forgeCopy(b []byte) []byte {
	if len(b) < copyTrailer+4 {
		return forgeSameCRC(b)
	}
	n := len(b) - copyTrailer
	return append(forgeSameCRC(b[:n]), b[n:]...)
}

// forgeSameCRC returns other bytes of b's length with b's CRC32C: the
// first bytes changed, the last four chosen to restore the CRC (CRC32C
// is linear, so this is a 32x32 system over GF(2)).
func forgeSameCRC(b []byte) []byte {
	tab := crc32.MakeTable(crc32.Castagnoli)
	want := crc32.Checksum(b, tab)
	out := bytes.Clone(b)
	copy(out, "forged by a man in the middle")
	n := len(out)
	// Flipping bit j of the last four bytes changes the CRC by d[j],
	// whatever comes before them.
	zero := crc32.Checksum(make([]byte, 4), tab)
	type row struct{ v, mask uint32 }
	var basis [32]row
	var has [32]bool
	for j := range 32 {
		e := make([]byte, 4)
		e[j/8] = 1 << (j % 8)
		r := row{crc32.Checksum(e, tab) ^ zero, 1 << j}
		for bit := 31; bit >= 0; bit-- {
			if r.v>>bit&1 == 0 {
				continue
			}
			if !has[bit] {
				basis[bit], has[bit] = r, true
				break
			}
			r.v ^= basis[bit].v
			r.mask ^= basis[bit].mask
		}
	}
	diff, flip := crc32.Checksum(out, tab)^want, uint32(0)
	for bit := 31; bit >= 0; bit-- {
		if diff>>bit&1 == 1 {
			diff ^= basis[bit].v
			flip ^= basis[bit].mask
		}
	}
	for j := range 32 {
		if flip>>j&1 == 1 {
			out[n-4+j/8] ^= 1 << (j % 8)
		}
	}
	if crc32.Checksum(out, tab) != want || bytes.Equal(out, b) {
		panic("forgeSameCRC: no forgery")
	}
	return out
}

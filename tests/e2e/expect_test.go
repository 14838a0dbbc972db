//go:build e2e

package e2e

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingProxy forwards loopback connections to a server and counts the
// bytes clients send, forwarded or not (once the server closes its side,
// what the client still sends is read and dropped, for a few seconds).
type countingProxy struct {
	ln     net.Listener
	target string
	sent   atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	heads  []string // the request head each connection's client sent first
}

// counter counts what is read through it.
type counter struct {
	r io.Reader
	n *atomic.Int64
}

func (c counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// headWriter keeps the first bytes written to it.
type headWriter struct{ b []byte }

func (h *headWriter) Write(p []byte) (int, error) {
	if room := 1024 - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *countingProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			defer s.Close()
			done := make(chan struct{})
			go func() {
				io.Copy(c, s)
				close(done)
			}()
			head := &headWriter{}
			from := io.TeeReader(counter{c, &p.sent}, head)
			if _, err := io.Copy(s, from); err != nil {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, from)
			}
			s.Close()
			<-done
			p.mu.Lock()
			h, _, _ := strings.Cut(string(head.b), "\r\n\r\n")
			p.heads = append(p.heads, h)
			p.mu.Unlock()
		}()
	}
}

// A PUT with Expect: 100-continue whose signature is bad is refused with
// 403 before the client sends its body: the aws CLI (botocore) waits for
// 100 Continue before sending a file body, and sends nothing more once a
// final answer comes instead. A proxy counts what the client sent.
func TestExpectContinueBadSignature(t *testing.T) {
	t.Parallel()
	clis := findAWSCLIs()
	requireClient(t, len(clis) > 0, "the aws CLI")
	s := startServer(t)
	b := bucketName(t, "expect")
	if got := (raw{t, s}).do("PUT", "/"+b, nil, nil, nil); got.Status != 200 {
		t.Fatalf("CreateBucket: %s", got)
	}
	const size = 8 << 20
	for _, cli := range clis {
		t.Run(cli.label, func(t *testing.T) {
			p := newCountingProxy(t, s.S3Addr)
			env := clientEnv(t, s)
			a := &awsRunner{t: t, cli: cli, s: s, env: env, dir: t.TempDir()}
			file := a.writeFile("body", randBytes(401, size))
			put := func(env []string) (string, error) {
				t.Helper()
				_, errOut, err := tryClient(t, env, a.dir, 2*time.Minute, cli.path, "--endpoint-url", p.URL(),
					"s3api", "put-object", "--bucket", b, "--key", "k", "--body", file)
				return errOut, err
			}
			// With the right secret the body goes through the proxy.
			if errOut, err := put(env); err != nil {
				t.Fatalf("put-object through the proxy: %v\n%s", err, errOut)
			}
			if n := p.sent.Load(); n < size {
				t.Fatalf("the proxy counted %d bytes from the client, want at least %d", n, size)
			}
			bad := append(append([]string(nil), env...), "AWS_SECRET_ACCESS_KEY="+s.Password()+"-wrong")
			// botocore sends the body anyway when no answer comes within
			// a second: on a loaded machine one attempt may be too slow.
			var sent int64
			for attempt := 0; attempt < 3; attempt++ {
				before := p.sent.Load()
				errOut, err := put(bad)
				if err == nil || !strings.Contains(errOut, "SignatureDoesNotMatch") {
					t.Fatalf("put-object with a wrong secret: %v\n%s", err, errOut)
				}
				if sent = p.sent.Load() - before; sent < 1<<20 {
					return
				}
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Errorf("with a wrong secret the client still sent %d bytes (the body is %d); requests:\n%s", sent, size, strings.Join(p.heads, "\n--\n"))
		})
	}
}

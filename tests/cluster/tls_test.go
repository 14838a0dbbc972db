//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/forkstore/forkstore/gateway/certs/certstest"
	"github.com/forkstore/forkstore/tests/harness"
)

// TestTLSCluster: three nodes with --tls-cert, --tls-key and --tls-ca form
// a cluster over Raft mutual TLS, serve S3 over HTTPS, and copy chunks to
// each other over HTTPS: an object written through one node is on every
// node's disk and reads back through each.
func TestTLSCluster(t *testing.T) {
	ca := certstest.NewCA(t, "forkstore cluster test CA")
	dir := t.TempDir()
	cert := ca.Issue(t, "127.0.0.1", "localhost").WriteFiles(t, dir, "node")
	caFile := dir + "/ca.pem"
	certstest.WriteFile(t, caFile, ca.PEM)

	addrs := freeAddrs(t, 6)
	var initial []string
	for i := range 3 {
		initial = append(initial, fmt.Sprintf("%d=%s", i+1, addrs[2*i+1]))
	}
	key := "tls-cluster-test-key-0123456789"
	var nodes []*harness.Server
	for i := range 3 {
		args := append([]string{"--cluster-key", key, "--initial-members", strings.Join(initial, ","),
			"--tls-ca", caFile}, defaultServerArgs...)
		nodes = append(nodes, harness.Start(t, binPath,
			harness.WithNodeID(i+1), harness.WithAddrs(addrs[2*i], addrs[2*i+1]),
			harness.WithTLS(cert.CertFile, cert.KeyFile, ca.PEM),
			harness.WithoutReadyWait(), harness.WithArgs(args...)))
	}
	for _, n := range nodes {
		if err := n.WaitReady(readyTimeout); err != nil {
			t.Fatalf("node %s not ready over HTTPS: %v", n.S3Addr, err)
		}
		if strings.Contains(n.LogTail(1<<20), "mutual TLS disabled") {
			t.Errorf("node %s runs its Raft transport without mutual TLS", n.S3Addr)
		}
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	client := func(n *harness.Server) *minio.Client {
		tr, err := minio.DefaultTransport(true)
		if err != nil {
			t.Fatal(err)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		c, err := minio.New(n.S3Addr, &minio.Options{
			Creds: credentials.NewStaticV4(n.User(), n.Password(), ""), Region: n.Region(),
			Secure: true, Transport: tr,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c1 := client(nodes[0])
	if err := c1.MakeBucket(ctx, "tls", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	body := bytes.Repeat([]byte("chunk over https;"), 5<<20/17)
	if _, err := c1.PutObject(ctx, "tls", "big", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put through node 1: %v", err)
	}
	for i, n := range nodes {
		obj, err := client(n).GetObject(ctx, "tls", "big", minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("get through node %d: %v", i+1, err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("get through node %d: %d bytes, %v; want the %d bytes written", i+1, len(got), err, len(body))
		}
	}
	// R = 3 on 3 nodes: the chunks were copied to every node over HTTPS.
	want := len(chunkIDs(t, &Node{Server: nodes[0]}))
	waitFor(t, convergeTimout, "every node to hold the object's chunks", func() error {
		for i, n := range nodes {
			if got := len(chunkIDs(t, &Node{Server: n})); got != want || want == 0 {
				return fmt.Errorf("node %d holds %d chunk files, node 1 %d", i+1, got, want)
			}
		}
		return nil
	})
}

//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// noQuorumBound is how fast a node that lost its quorum must answer.
const noQuorumBound = time.Second

// rawPut sends one SigV4-signed PutObject (no client retries) and returns
// the status, the S3 error document and how long the answer took.
func (n *Node) rawPut(bucket, key string, body []byte) (int, s3Error, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, n.URL()+"/"+bucket+"/"+key, bytes.NewReader(body))
	if err != nil {
		return 0, s3Error{}, 0, err
	}
	req.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req = signer.SignV4(*req, n.User(), n.Password(), "", n.Region())
	start := time.Now()
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return 0, s3Error{}, time.Since(start), err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	took := time.Since(start)
	var e s3Error
	if resp.StatusCode/100 != 2 {
		if xerr := xml.Unmarshal(data, &e); xerr != nil {
			return resp.StatusCode, e, took, fmt.Errorf("error body %q: %v", data, xerr)
		}
	}
	return resp.StatusCode, e, took, err
}

// s3Error is an S3 error document.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// TestNoQuorumAnswersFast: two of three nodes are killed. The survivor
// answers an S3 write and an admin call 503 within a second, saying that
// the metadata shard has no quorum, and /health/ready within 200 ms. When
// a second node returns, the cluster takes writes again.
func TestNoQuorumAnswersFast(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.WaitLeader(t)
	must(t, "bucket", leader.makeBucket("quorum"))
	must(t, "put", leader.putObject("quorum", "before", []byte("before")))
	var survivor *Node
	var dead []*Node
	for _, n := range c.Nodes() {
		if n.ID != leader.ID && survivor == nil {
			survivor = n
		} else {
			dead = append(dead, n)
		}
	}
	for _, n := range dead {
		n.Kill()
	}
	lostAt := time.Now()
	// The survivor learns that it has no leader within an election timeout.
	waitFor(t, leaderTimeout, "the survivor to know no leader", func() error {
		st, err := survivor.NodeStatus(statusTimeout)
		if err != nil {
			return err
		}
		if st.LeaderID != 0 {
			return fmt.Errorf("leader %d", st.LeaderID)
		}
		return nil
	})
	t.Logf("survivor node %d knows no leader %v after the loss", survivor.ID, time.Since(lostAt).Round(time.Millisecond))

	for i := range 3 {
		status, e, took, err := survivor.rawPut("quorum", fmt.Sprintf("k%d", i), []byte("no quorum"))
		if err != nil {
			t.Fatalf("put without quorum: %v", err)
		}
		t.Logf("put without quorum: %d %s %q in %v", status, e.Code, e.Message, took.Round(time.Millisecond))
		if status != http.StatusServiceUnavailable || e.Code != "ServiceUnavailable" {
			t.Errorf("put without quorum: %d %s, want 503 ServiceUnavailable", status, e.Code)
		}
		if !strings.Contains(e.Message, "no quorum") {
			t.Errorf("put without quorum: message %q does not say the cluster has no quorum", e.Message)
		}
		if took > noQuorumBound {
			t.Errorf("put without quorum answered after %v, want under %v", took, noQuorumBound)
		}
	}

	start := time.Now()
	_, err := survivor.CreateSnapshot("quorum", "s1")
	took := time.Since(start)
	var ae *adminError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || !strings.Contains(ae.Message, "no quorum") {
		t.Errorf("admin call without quorum: %v, want 503 saying there is no quorum", err)
	}
	if took > noQuorumBound {
		t.Errorf("admin call without quorum answered after %v, want under %v", took, noQuorumBound)
	}

	for i := range 3 {
		start := time.Now()
		err := survivor.Ready(2 * time.Second)
		took := time.Since(start)
		if err == nil {
			t.Errorf("/health/ready is 200 without quorum")
		} else if !strings.Contains(err.Error(), "no quorum") {
			t.Errorf("/health/ready without quorum: %v, want a message saying there is no quorum", err)
		}
		if took > 200*time.Millisecond {
			t.Errorf("/health/ready %d answered after %v, want under 200ms", i, took)
		}
	}

	dead[0].Start()
	waitFor(t, readyTimeout, "writes through the survivor once a majority is back", func() error {
		return survivor.putObject("quorum", "after", []byte("after"))
	})
}

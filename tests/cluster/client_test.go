//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// The admin API's shapes (CLUSTER-CONTRACT / docs/admin-api.md).

// MemberStatus is one member in cluster/status, and node/status.
type MemberStatus struct {
	NodeID        uint64 `json:"node_id"`
	RaftAddr      string `json:"raft_addr"`
	S3Addr        string `json:"s3_addr"`
	Zone          string `json:"zone"`
	Reachable     bool   `json:"reachable"`
	Ready         bool   `json:"ready"`
	AppliedIndex  uint64 `json:"applied_index"`
	LeaderID      uint64 `json:"leader_id"`
	RepairBacklog int64  `json:"repair_backlog"`
	// RepairPending: no repair pass has counted since the node started or
	// the membership changed, so RepairBacklog says nothing yet.
	RepairPending bool  `json:"repair_pending"`
	ChunkFiles    int64 `json:"chunk_files"`
	// Disk is "ok: ..." or "low: ..." (the data directory's free space
	// against --min-free-space).
	Disk string `json:"disk"`
}

// ClusterStatus is GET cluster/status.
type ClusterStatus struct {
	LeaderID uint64         `json:"leader_id"`
	Replicas int            `json:"replicas"`
	Members  []MemberStatus `json:"members"`
	Retired  []uint64       `json:"retired"`
	Shards   []ShardStatus  `json:"shards"`
}

// ShardStatus is a metadata shard in ClusterStatus.
type ShardStatus struct {
	ShardID  uint64   `json:"shard_id"`
	Replicas []uint64 `json:"replicas"`
	LeaderID uint64   `json:"leader_id"`
	Buckets  int      `json:"buckets"`
}

// member returns the member with id, or nil.
func (s *ClusterStatus) member(id uint64) *MemberStatus {
	for i := range s.Members {
		if s.Members[i].NodeID == id {
			return &s.Members[i]
		}
	}
	return nil
}

// memberIDs returns the members' ids in order.
func (s *ClusterStatus) memberIDs() []uint64 {
	var out []uint64
	for _, m := range s.Members {
		out = append(out, m.NodeID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Digest is POST cluster/digest: each reachable member's metadata digest
// at one point of the log, the Digest command's version.
type Digest struct {
	Version string            `json:"version"`
	Digests map[string]string `json:"digests"`
	Errors  map[string]string `json:"errors"`
	// Shards are the digests of the other metadata shards, by shard id.
	Shards map[string]*Digest `json:"shards"`
}

// allEqual checks that the digest covers every node in want and that all
// its digests are equal, on every metadata shard.
func (d *Digest) allEqual(want []uint64) error {
	return d.allEqualOver(want, nil)
}

// allEqualOver is allEqual where a data shard's replicas are on some of
// the nodes only (shard placement): for a shard in holders, only the nodes
// of want that hold it must have an entry.
func (d *Digest) allEqualOver(want []uint64, holders map[string][]uint64) error {
	for id, sd := range d.Shards {
		w := want
		if h, ok := holders[id]; ok {
			w = nil
			for _, n := range want {
				if slices.Contains(h, n) {
					w = append(w, n)
				}
			}
		}
		if err := sd.allEqual(w); err != nil {
			return fmt.Errorf("metadata shard %s: %w", id, err)
		}
	}
	for _, id := range want {
		if d.Digests[fmt.Sprint(id)] == "" {
			return fmt.Errorf("digest at version %s has no entry for node %d: %v (errors %v)", d.Version, id, d.Digests, d.Errors)
		}
	}
	first := ""
	for _, v := range d.Digests {
		if first == "" {
			first = v
		}
		if v != first {
			return fmt.Errorf("digests differ at version %s: %v", d.Version, d.Digests)
		}
	}
	return nil
}

// ScrubResult is POST cluster/scrub.
type ScrubResult struct {
	Nodes map[string]struct {
		Checked  int `json:"checked"`
		Corrupt  int `json:"corrupt"`
		Repaired int `json:"repaired"`
	} `json:"nodes"`
}

// adminError is an admin API error answer.
type adminError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Body    string
}

func (e *adminError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
}

// adminHTTP is shared by every admin call; requests carry their own
// deadlines.
var adminHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}}

// Admin sends a SigV4-signed JSON request to /_forkstore/v1/<path> on the
// node and decodes a 2xx answer into out (when not nil). Any other answer
// is an *adminError.
func (n *Node) Admin(timeout time.Duration, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, n.URL()+"/_forkstore/v1/"+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.ContentLength = int64(len(payload))
	sum := sha256.Sum256(payload)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req = signer.SignV4(*req, n.User(), n.Password(), "", n.Region())
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &adminError{Status: resp.StatusCode, Body: strings.TrimSpace(string(data))}
		_ = json.Unmarshal(data, e)
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding %q: %w", method, path, data, err)
		}
	}
	return nil
}

// adminCode returns the admin error's HTTP status and code, or 0 and "".
func adminCode(err error) (int, string) {
	var e *adminError
	if errors.As(err, &e) {
		return e.Status, e.Code
	}
	return 0, ""
}

// NodeStatus is GET node/status.
func (n *Node) NodeStatus(timeout time.Duration) (*MemberStatus, error) {
	var st MemberStatus
	if err := n.Admin(timeout, http.MethodGet, "node/status", nil, &st); err != nil {
		return nil, fmt.Errorf("node %d: node/status: %w", n.ID, err)
	}
	return &st, nil
}

// ClusterStatus is GET cluster/status.
func (n *Node) ClusterStatus() (*ClusterStatus, error) {
	var st ClusterStatus
	if err := n.Admin(opTimeout, http.MethodGet, "cluster/status", nil, &st); err != nil {
		return nil, fmt.Errorf("node %d: cluster/status: %w", n.ID, err)
	}
	return &st, nil
}

// Digest is POST cluster/digest.
func (n *Node) Digest() (*Digest, error) {
	var d Digest
	if err := n.Admin(opTimeout, http.MethodPost, "cluster/digest", nil, &d); err != nil {
		return nil, fmt.Errorf("node %d: cluster/digest: %w", n.ID, err)
	}
	return &d, nil
}

// Scrub is POST cluster/scrub.
func (n *Node) Scrub() (*ScrubResult, error) {
	var r ScrubResult
	if err := n.Admin(2*opTimeout, http.MethodPost, "cluster/scrub", nil, &r); err != nil {
		return nil, fmt.Errorf("node %d: cluster/scrub: %w", n.ID, err)
	}
	return &r, nil
}

// AddMember is POST cluster/members.
func (n *Node) AddMember(id uint64, raftAddr, s3Addr string) (*MemberStatus, error) {
	var m MemberStatus
	err := n.Admin(opTimeout, http.MethodPost, "cluster/members",
		map[string]any{"node_id": id, "raft_addr": raftAddr, "s3_addr": s3Addr}, &m)
	return &m, err
}

// RemoveMember is DELETE cluster/members/{id}.
func (n *Node) RemoveMember(id uint64) error {
	var r struct {
		NodeID  uint64 `json:"node_id"`
		Removed bool   `json:"removed"`
	}
	if err := n.Admin(opTimeout, http.MethodDelete, fmt.Sprintf("cluster/members/%d", id), nil, &r); err != nil {
		return err
	}
	if r.NodeID != id || !r.Removed {
		return fmt.Errorf("DELETE cluster/members/%d answered %+v", id, r)
	}
	return nil
}

// Ready is GET /health/ready: nil on 200.
func (n *Node) Ready(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL()+"/health/ready", nil)
	if err != nil {
		return err
	}
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /health/ready: %s %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// CreateSnapshot takes a snapshot of bucket (admin API) and returns its
// version.
func (n *Node) CreateSnapshot(bucket, name string) (string, error) {
	var sn struct {
		Version string `json:"version"`
	}
	err := n.Admin(opTimeout, http.MethodPost, "buckets/"+url.PathEscape(bucket)+"/snapshots", map[string]string{"name": name}, &sn)
	if err == nil && sn.Version == "" {
		err = fmt.Errorf("snapshot of %s: no version in the answer", bucket)
	}
	return sn.Version, err
}

// DeleteSnapshot deletes a snapshot (admin API).
func (n *Node) DeleteSnapshot(bucket, version string) error {
	return n.Admin(opTimeout, http.MethodDelete, "buckets/"+url.PathEscape(bucket)+"/snapshots/"+url.PathEscape(version), nil, nil)
}

// CreateFork forks src (at snapshot, when not empty) into name (admin API).
func (n *Node) CreateFork(src, name, snapshot string) error {
	body := map[string]string{"name": name}
	if snapshot != "" {
		body["snapshot"] = snapshot
	}
	return n.Admin(opTimeout, http.MethodPost, "buckets/"+url.PathEscape(src)+"/forks", body, nil)
}

// CLI runs `forkstore args... --endpoint <node>` with the root key in the
// environment and returns its standard output (and standard error, on
// failure).
func (n *Node) CLI(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*opTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append(args, "--endpoint", n.URL())...)
	cmd.Env = append(cleanEnv(os.Environ()),
		"AWS_ACCESS_KEY_ID="+n.User(),
		"AWS_SECRET_ACCESS_KEY="+n.Password(),
		"AWS_REGION="+n.Region(),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("forkstore %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// CLIJSON runs a CLI command with --json and decodes its output.
func (n *Node) CLIJSON(out any, args ...string) error {
	s, err := n.CLI(append(args, "--json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		return fmt.Errorf("forkstore %s --json: decoding %q: %w", strings.Join(args, " "), s, err)
	}
	return nil
}

// cleanEnv drops the caller's FORKSTORE_* and AWS_* variables.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "FORKSTORE_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// S3 returns a minio-go client of this node. It does not retry: the
// tests see every error a client would see, and count them.
func (n *Node) S3() *minio.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.s3 != nil {
		return n.s3
	}
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		n.c.t.Fatal(err)
	}
	tr.ResponseHeaderTimeout = opTimeout
	c, err := minio.New(n.S3Addr, &minio.Options{
		Creds:      credentials.NewStaticV4(n.User(), n.Password(), ""),
		Region:     n.Region(),
		MaxRetries: 1,
		Transport:  tr,
	})
	if err != nil {
		n.c.t.Fatalf("minio.New: %v", err)
	}
	n.s3 = c
	return c
}

// hSnapshotVersion reads at a snapshot version (Tigris convention).
const hSnapshotVersion = "X-Tigris-Snapshot-Version"

// getObject reads bucket/key on the node (at a snapshot version when at
// is set) and returns its bytes.
func (n *Node) getObject(bucket, key, at string) ([]byte, error) {
	ctx, cancel := opCtx()
	defer cancel()
	o := minio.GetObjectOptions{}
	if at != "" {
		o.Set(hSnapshotVersion, at)
	}
	obj, err := n.S3().GetObject(ctx, bucket, key, o)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

// putObject writes bucket/key on the node.
func (n *Node) putObject(bucket, key string, b []byte) error {
	ctx, cancel := opCtx()
	defer cancel()
	_, err := n.S3().PutObject(ctx, bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{})
	return err
}

// deleteObject deletes bucket/key on the node.
func (n *Node) deleteObject(bucket, key string) error {
	ctx, cancel := opCtx()
	defer cancel()
	return n.S3().RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
}

// makeBucket creates a bucket on the node.
func (n *Node) makeBucket(bucket string) error {
	ctx, cancel := opCtx()
	defer cancel()
	return n.S3().MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
}

// listKeys lists every key of bucket (at a snapshot version when set).
func (n *Node) listKeys(bucket, at string) ([]string, error) {
	ctx, cancel := opCtx()
	defer cancel()
	lo := minio.ListObjectsOptions{Recursive: true}
	if at != "" {
		lo.Set(hSnapshotVersion, at)
	}
	var keys []string
	for o := range n.S3().ListObjects(ctx, bucket, lo) {
		if o.Err != nil {
			return nil, o.Err
		}
		keys = append(keys, o.Key)
	}
	return keys, nil
}

// s3Code returns the S3 error code and HTTP status of err.
func s3Code(err error) (string, int) {
	r := minio.ToErrorResponse(err)
	return r.Code, r.StatusCode
}

// isNoSuchKey reports a 404 NoSuchKey.
func isNoSuchKey(err error) bool {
	code, _ := s3Code(err)
	return code == "NoSuchKey"
}

// isUnavailable reports a 503 (ServiceUnavailable or SlowDown): the
// answer the contract gives when the cluster cannot commit or read.
func isUnavailable(err error) bool {
	code, status := s3Code(err)
	return status == http.StatusServiceUnavailable && (code == "ServiceUnavailable" || code == "SlowDown")
}

// describe renders an S3 error with its code.
func describe(err error) string {
	if err == nil {
		return "ok"
	}
	code, status := s3Code(err)
	if code != "" {
		return fmt.Sprintf("%d %s (%v)", status, code, err)
	}
	return err.Error()
}

// mustNode fails the test on err.
func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// hashOf returns the hex SHA-256 of b.
func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

package gateway_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// grepDir reports the files under dir that contain needle.
func grepDir(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// Secrets of scoped keys are sealed: no file of the node (metadata, Raft
// log) holds one in the clear, and a Raft snapshot is made of those files'
// records.
func TestKeySecretsSealed(t *testing.T) {
	cfg := gatewaytest.Config(t)
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bkt1"}); err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateKey(ctx(t), gateway.KeyInput{Buckets: []string{"bkt1"}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := s.CreateForks(ctx(t), gateway.CreateForksInput{Source: "bkt1", Count: 2, Prefix: "a-", WithKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	if sec, ok := s.SecretKey(k.Key.ID); !ok || sec != k.Secret {
		t.Fatal("the key does not authenticate")
	}
	n.Close()
	for _, secret := range []string{k.Secret, batch.Forks[0].Secret, batch.Forks[1].Secret} {
		if hits := grepDir(t, cfg.DataDir, []byte(secret)); len(hits) > 0 {
			t.Fatalf("a secret is in the clear in %v", hits)
		}
	}
	if hits := grepDir(t, cfg.DataDir, []byte(k.Key.ID)); len(hits) == 0 {
		t.Fatal("the key id is nowhere: the search looks in the wrong place")
	}
}

// When the root password changes, keys sealed under the previous one keep
// working while it is given, the leader re-seals them, and then the
// previous password is no longer needed. Without it, they do not work.
func TestRootPasswordRotation(t *testing.T) {
	cfg := gatewaytest.Config(t)
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "bkt1"}); err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateKey(ctx(t), gateway.KeyInput{Buckets: []string{"bkt1"}})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()

	// A new password alone: the old keys do not open.
	cfg.RootPassword = "a-new-root-password"
	n = gatewaytest.NewNode(t, cfg)
	if _, ok := n.Service().SecretKey(k.Key.ID); ok {
		t.Fatal("a key sealed under another root password authenticated")
	}
	n.Close()

	// With the previous password: it works, and is re-sealed.
	cfg.PreviousRootPassword = gatewaytest.SecretKey
	n = gatewaytest.NewNode(t, cfg)
	if sec, ok := n.Service().SecretKey(k.Key.ID); !ok || sec != k.Secret {
		t.Fatal("a key sealed under the previous root password does not authenticate")
	}
	waitFor(t, "re-sealing", func() bool {
		ks, err := n.Service().ListKeys(ctx(t), "")
		return err == nil && len(ks) == 1 && ks[0].Sealing == "current"
	})
	n.Close()

	// The previous password is no longer needed.
	cfg.PreviousRootPassword = ""
	n = gatewaytest.NewNode(t, cfg)
	if sec, ok := n.Service().SecretKey(k.Key.ID); !ok || sec != k.Secret {
		t.Fatal("the re-sealed key does not authenticate with the new password alone")
	}
}

// A fork's lease runs out: its key stops working at once, and the
// leader's collector deletes the fork.
func TestLeaseExpiry(t *testing.T) {
	cfg := gatewaytest.Config(t)
	n := gatewaytest.NewNode(t, cfg)
	s := n.Service()
	if _, err := s.CreateBucket(ctx(t), gateway.CreateBucketInput{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "base", "k", []byte("v"))
	short, err := s.CreateForks(ctx(t), gateway.CreateForksInput{Source: "base", Names: []string{"short"}, WithKeys: true, TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	long, err := s.CreateForks(ctx(t), gateway.CreateForksInput{Source: "base", Names: []string{"long"}, WithKeys: true, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "short", "own", []byte("data"))
	waitFor(t, "the short fork to be collected", func() bool {
		_, err := s.HeadBucket(ctx(t), "short")
		return errors.Is(err, meta.ErrNoSuchBucket)
	})
	p, ok := s.Principal(ctx(t), short.Forks[0].KeyID)
	if ok && p.CanUse("short", s.LeaseNow()) {
		t.Fatal("the expired fork's key still may use it")
	}
	if _, err := s.HeadBucket(ctx(t), "long"); err != nil {
		t.Fatal(err)
	}
	n.Close()

	// Three hours later (the lease clock moved, nobody waited).
	cfg.LeaseClockOffset = 3 * time.Hour
	n = gatewaytest.NewNode(t, cfg)
	s = n.Service()
	if p, ok := s.Principal(ctx(t), long.Forks[0].KeyID); ok && p.CanUse("long", s.LeaseNow()) {
		t.Fatal("a key of a fork whose lease ran out still works")
	}
	waitFor(t, "the long fork to be collected", func() bool {
		_, err := s.HeadBucket(ctx(t), "long")
		return errors.Is(err, meta.ErrNoSuchBucket)
	})
	if _, err := s.HeadBucket(ctx(t), "base"); err != nil {
		t.Fatal(err)
	}
}

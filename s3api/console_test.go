package s3api

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/forkstore/forkstore/gateway"
)

// TestConsoleAuthorize: the console's Authorize gives a scoped key
// exactly what its S3 requests get, and SignIn checks secrets like
// signatures do.
func TestConsoleAuthorize(t *testing.T) {
	ls := newLiveServer(t)
	ctx := context.Background()
	svc := ls.node.Service()
	for _, b := range []string{"mine", "other"} {
		if _, err := svc.CreateBucket(ctx, gateway.CreateBucketInput{Name: b}); err != nil {
			t.Fatal(err)
		}
	}
	k, err := svc.CreateKey(ctx, gateway.KeyInput{Buckets: []string{"mine"}, Prefix: "in/", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls.s.SignIn(ctx, k.Key.ID, "wrong"); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := ls.s.SignIn(ctx, "nosuchkey", k.Secret); !errors.Is(err, ErrInvalidAccessKeyID) {
		t.Fatalf("unknown key: %v", err)
	}
	p, err := ls.s.SignIn(ctx, k.Key.ID, k.Secret)
	if err != nil || p.Root || p.AccessKey != k.Key.ID {
		t.Fatalf("sign-in: %+v %v", p, err)
	}
	for _, c := range []struct {
		op, bucket, key string
		ok              bool
	}{
		{"GetObject", "mine", "in/a", true},
		{"GetObject", "mine", "out/a", false},
		{"GetObject", "other", "in/a", false},
		{"ListObjectsV2", "mine", "in/", true},
		{"ListObjectsV2", "mine", "", false},
		{"HeadBucket", "mine", "", true},
		{"HeadBucket", "other", "", false},
		{"PutObject", "mine", "in/a", false}, // read-only
		{"DeleteObject", "mine", "in/a", false},
		{"Lineage", "mine", "", true},
		{"Diff", "other", "", false},
		{"Admin", "mine", "", false},
	} {
		err := ls.s.Authorize(ctx, p, c.op, c.bucket, c.key)
		if (err == nil) != c.ok {
			t.Errorf("%s %s/%s: %v, want allowed=%v", c.op, c.bucket, c.key, err, c.ok)
		}
	}
	root, err := ls.s.SignIn(ctx, testAccessKey, testSecretKey)
	if err != nil || ls.s.Authorize(ctx, root, "Admin", "", "") != nil {
		t.Fatalf("root: %v", err)
	}
	if ls.s.Authorize(ctx, nil, "GetObject", "mine", "in/a") == nil {
		t.Fatal("no principal was allowed")
	}
}

// TestConsoleNotMounted: without a console its path is not found (not a
// bucket named "_forkstore"), and with one it reaches it unsigned.
func TestConsoleNotMounted(t *testing.T) {
	ls := newLiveServer(t)
	get := func() int {
		resp, err := http.Get("http://" + ls.addr + "/_forkstore/console/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(); st != http.StatusNotFound {
		t.Fatalf("unmounted console: %d", st)
	}
	ls.s.SetConsole(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	if st := get(); st != http.StatusTeapot {
		t.Fatalf("mounted console: %d", st)
	}
}

//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/forkstore/forkstore/tests/harness"
)

// Lifecycle with a moved clock, through the aws CLI: a rule set with
// put-bucket-lifecycle-configuration shows in x-amz-expiration
// (head-object's Expiration); once the lifecycle clock moves three days
// on (FORKSTORE_LIFECYCLE_CLOCK_OFFSET, over a restart) the leader
// expires the object, while a snapshot and a fork made before still show
// it, and a fork's own rule expires only what the fork wrote. The
// configuration API and the headers with boto3: tests/clients/lifecycle.py.
func TestLifecycleExpiry(t *testing.T) {
	t.Parallel()
	clis := findAWSCLIs()
	requireClient(t, len(clis) > 0, "the aws CLI")
	s := startServer(t, harness.WithArgs("--lifecycle-interval", "200ms"))
	if s.IsExternal() {
		t.Skip("moves the server's lifecycle clock")
	}
	a := &awsRunner{t: t, cli: clis[0], s: s, env: clientEnv(t, s), dir: t.TempDir()}
	c := newClient(t, s)
	b := bucketName(t, "lc")
	makeBucket(t, c, b)
	objectsOf(t, c, b, map[string]string{"tmp/a": "A", "keep": "K"})

	rules := `{"Rules":[{"ID":"tmp-rule","Filter":{"Prefix":"tmp/"},"Status":"Enabled","Expiration":{"Days":2}}]}`
	a.run("s3api", "put-bucket-lifecycle-configuration", "--bucket", b, "--lifecycle-configuration", rules)
	var got struct {
		Rules []struct {
			ID         string
			Status     string
			Filter     struct{ Prefix string }
			Expiration struct{ Days int }
		}
	}
	a.json(&got, "s3api", "get-bucket-lifecycle-configuration", "--bucket", b)
	if len(got.Rules) != 1 || got.Rules[0].ID != "tmp-rule" || got.Rules[0].Filter.Prefix != "tmp/" || got.Rules[0].Expiration.Days != 2 {
		t.Fatalf("get-bucket-lifecycle-configuration: %+v", got)
	}
	var head struct{ Expiration string }
	a.json(&head, "s3api", "head-object", "--bucket", b, "--key", "tmp/a")
	if !strings.HasPrefix(head.Expiration, `expiry-date="`) || !strings.HasSuffix(head.Expiration, `", rule-id="tmp-rule"`) {
		t.Fatalf("head-object Expiration %q", head.Expiration)
	}
	head.Expiration = ""
	a.json(&head, "s3api", "head-object", "--bucket", b, "--key", "keep")
	if head.Expiration != "" {
		t.Fatalf("head-object of an object no rule selects: Expiration %q", head.Expiration)
	}

	// Made before the expiry: a snapshot, a fork, and a fork with a rule
	// of its own.
	snap := snapshotBucket(t, s, b, "before")
	fork := b + "-f"
	forkBucket(t, s, b, fork, "")
	own := b + "-o"
	forkBucket(t, s, b, own, "")
	putBytes(t, c, own, "mine", []byte("M"), minio.PutObjectOptions{})
	a.run("s3api", "put-bucket-lifecycle-configuration", "--bucket", own, "--lifecycle-configuration",
		`{"Rules":[{"ID":"all","Filter":{},"Status":"Enabled","Expiration":{"Days":1}}]}`)

	// In the fork, x-amz-expiration for what it wrote, not for what it
	// inherits.
	head.Expiration = ""
	a.json(&head, "s3api", "head-object", "--bucket", own, "--key", "mine")
	if !strings.HasSuffix(head.Expiration, `rule-id="all"`) {
		t.Fatalf("head-object of the fork's own object: Expiration %q", head.Expiration)
	}
	head.Expiration = ""
	a.json(&head, "s3api", "head-object", "--bucket", own, "--key", "keep")
	if head.Expiration != "" {
		t.Fatalf("head-object of an object the fork inherits: Expiration %q", head.Expiration)
	}
	wantContent(t, c, b, "", map[string]string{"tmp/a": "A", "keep": "K"})

	s.RestartWith(harness.WithEnv("FORKSTORE_LIFECYCLE_CLOCK_OFFSET=72h"))
	waitFor(t, 20*time.Second, "tmp/a expired", func() bool {
		_, err := tryGet(testCtx(t), c, b, "tmp/a", minio.GetObjectOptions{})
		return err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey"
	})
	waitFor(t, 20*time.Second, "the fork's own object expired", func() bool {
		_, err := tryGet(testCtx(t), c, own, "mine", minio.GetObjectOptions{})
		return err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey"
	})
	wantContent(t, c, b, "", map[string]string{"keep": "K"})
	wantContent(t, c, b, snap, map[string]string{"tmp/a": "A", "keep": "K"})
	wantContent(t, c, fork, "", map[string]string{"tmp/a": "A", "keep": "K"})
	// The fork's rule leaves what it inherits.
	wantContent(t, c, own, "", map[string]string{"tmp/a": "A", "keep": "K"})

	a.run("s3api", "delete-bucket-lifecycle", "--bucket", b)
	_, errOut, err := a.try("s3api", "get-bucket-lifecycle-configuration", "--bucket", b)
	if err == nil || !strings.Contains(errOut, "NoSuchLifecycleConfiguration") {
		t.Fatalf("get-bucket-lifecycle-configuration after delete: %v %s", err, errOut)
	}
}

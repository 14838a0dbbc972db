//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// mcDownloadPolicy is what "mc anonymous set download" writes for bucket.
func mcDownloadPolicy(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::` +
		bucket + `"]},{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `/*"]}]}`
}

// anonStatus is the status of an unsigned GET (curl, a browser).
func anonStatus(t *testing.T, url string) int {
	t.Helper()
	code, _ := anonGet(t, url)
	return code
}

// Bucket policies, the public access block and bucket tags through
// minio-go (SetBucketPolicy, SetBucketTagging), the aws CLI (s3api
// put-bucket-policy, get-bucket-policy-status, put-public-access-block,
// put-bucket-tagging) and s3cmd (setpolicy, delpolicy), each in its own
// bucket on one server; unsigned reads show what each policy allows.
func TestPolicyClients(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	ctx := testCtx(t)

	t.Run("minio-go", func(t *testing.T) {
		b := bucketName(t, "policy-minio")
		makeBucket(t, c, b)
		putBytes(t, c, b, "k", []byte("hello"), minio.PutObjectOptions{})
		if got := anonStatus(t, s.URL()+"/"+b+"/k"); got != 403 {
			t.Fatalf("unsigned GET without a policy: %d", got)
		}
		if err := c.SetBucketPolicy(ctx, b, mcDownloadPolicy(b)); err != nil {
			t.Fatalf("SetBucketPolicy: %v", err)
		}
		got, err := c.GetBucketPolicy(ctx, b)
		if err != nil || got != mcDownloadPolicy(b) {
			t.Fatalf("GetBucketPolicy: %q, %v", got, err)
		}
		if got := anonStatus(t, s.URL()+"/"+b+"/k"); got != 200 {
			t.Fatalf("unsigned GET under the download policy: %d", got)
		}
		err = c.SetBucketPolicy(ctx, b, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`)
		wantCode(t, "SetBucketPolicy naming another bucket", err, "MalformedPolicy")
		// minio-go deletes a policy by setting an empty one.
		if err := c.SetBucketPolicy(ctx, b, ""); err != nil {
			t.Fatalf("SetBucketPolicy(\"\"): %v", err)
		}
		if got := anonStatus(t, s.URL()+"/"+b+"/k"); got != 403 {
			t.Fatalf("unsigned GET after the policy's delete: %d", got)
		}

		want := map[string]string{"team": "data", "env": "test"}
		tg, err := tags.NewTags(want, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetBucketTagging(ctx, b, tg); err != nil {
			t.Fatalf("SetBucketTagging: %v", err)
		}
		back, err := c.GetBucketTagging(ctx, b)
		if err != nil || !reflect.DeepEqual(back.ToMap(), want) {
			t.Fatalf("GetBucketTagging: %v, %v", back, err)
		}
		if err := c.RemoveBucketTagging(ctx, b); err != nil {
			t.Fatalf("RemoveBucketTagging: %v", err)
		}
		_, err = c.GetBucketTagging(ctx, b)
		wantCode(t, "GetBucketTagging after its delete", err, "NoSuchTagSet")
	})

	for _, cli := range findAWSCLIs() {
		t.Run("aws-"+cli.label, func(t *testing.T) {
			a := &awsRunner{t: t, cli: cli, s: s, env: clientEnv(t, s), dir: t.TempDir()}
			b := bucketName(t, "policy-aws-"+cli.label)
			a.run("s3api", "create-bucket", "--bucket", b)
			a.writeFile("obj", []byte("hello"))
			a.run("s3api", "put-object", "--bucket", b, "--key", "k", "--body", a.path("obj"))
			a.writeFile("policy.json", []byte(mcDownloadPolicy(b)))
			a.run("s3api", "put-bucket-policy", "--bucket", b, "--policy", "file://"+a.path("policy.json"))
			var st struct{ PolicyStatus struct{ IsPublic bool } }
			a.json(&st, "s3api", "get-bucket-policy-status", "--bucket", b)
			if !st.PolicyStatus.IsPublic {
				t.Errorf("get-bucket-policy-status: not public")
			}
			if got := anonStatus(t, s.URL()+"/"+b+"/k"); got != 200 {
				t.Fatalf("unsigned GET under the policy: %d", got)
			}
			a.run("s3api", "put-public-access-block", "--bucket", b, "--public-access-block-configuration",
				"BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true")
			var pab struct{ PublicAccessBlockConfiguration map[string]bool }
			a.json(&pab, "s3api", "get-public-access-block", "--bucket", b)
			if !pab.PublicAccessBlockConfiguration["RestrictPublicBuckets"] || !pab.PublicAccessBlockConfiguration["BlockPublicPolicy"] {
				t.Errorf("get-public-access-block: %v", pab)
			}
			if got := anonStatus(t, s.URL()+"/"+b+"/k"); got != 403 {
				t.Fatalf("unsigned GET under RestrictPublicBuckets: %d", got)
			}
			_, stderr, err := a.try("s3api", "put-bucket-policy", "--bucket", b, "--policy", "file://"+a.path("policy.json"))
			if err == nil || !strings.Contains(stderr, "AccessDenied") {
				t.Errorf("public policy under BlockPublicPolicy: %v %s", err, stderr)
			}
			a.run("s3api", "delete-public-access-block", "--bucket", b)
			a.run("s3api", "delete-bucket-policy", "--bucket", b)
			if _, stderr, err := a.try("s3api", "get-bucket-policy", "--bucket", b); err == nil || !strings.Contains(stderr, "NoSuchBucketPolicy") {
				t.Errorf("get-bucket-policy after delete: %v %s", err, stderr)
			}
			a.run("s3api", "put-bucket-tagging", "--bucket", b, "--tagging", "TagSet=[{Key=team,Value=data}]")
			var tg struct{ TagSet []struct{ Key, Value string } }
			a.json(&tg, "s3api", "get-bucket-tagging", "--bucket", b)
			if len(tg.TagSet) != 1 || tg.TagSet[0].Key != "team" || tg.TagSet[0].Value != "data" {
				t.Errorf("get-bucket-tagging: %+v", tg)
			}
		})
	}

	t.Run("s3cmd", func(t *testing.T) {
		s3cmd, err := exec.LookPath("s3cmd")
		requireClient(t, err == nil, "s3cmd")
		b := bucketName(t, "policy-s3cmd")
		makeBucket(t, c, b)
		putBytes(t, c, b, "k", []byte("hello"), minio.PutObjectOptions{})
		dir := t.TempDir()
		cfg := dir + "/s3cfg"
		if err := os.WriteFile(cfg, []byte("[default]\naccess_key = "+s.User()+"\nsecret_key = "+s.Password()+
			"\nhost_base = "+s.S3Addr+"\nhost_bucket = "+s.S3Addr+"\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		pol := dir + "/policy.json"
		if err := os.WriteFile(pol, []byte(mcDownloadPolicy(b)), 0o644); err != nil {
			t.Fatal(err)
		}
		runClient(t, nil, dir, time.Minute, s3cmd, "-c", cfg, "setpolicy", pol, "s3://"+b)
		if got := anonStatus(t, s.URL()+"/"+b+"/k"); got != 200 {
			t.Fatalf("unsigned GET after s3cmd setpolicy: %d", got)
		}
		out := runClient(t, nil, dir, time.Minute, s3cmd, "-c", cfg, "info", "s3://"+b)
		var doc map[string]any
		if i := strings.Index(out, "{"); i < 0 || json.Unmarshal([]byte(out[i:strings.LastIndex(out, "}")+1]), &doc) != nil {
			t.Errorf("s3cmd info shows no policy:\n%s", out)
		}
		runClient(t, nil, dir, time.Minute, s3cmd, "-c", cfg, "delpolicy", "s3://"+b)
		if got := anonStatus(t, s.URL()+"/"+b+"/k"); got != 403 {
			t.Fatalf("unsigned GET after s3cmd delpolicy: %d", got)
		}

		// CORS rules through s3cmd setcors / delcors, checked with a
		// browser's preflight.
		cors := dir + "/cors.xml"
		if err := os.WriteFile(cors, []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>`+
			`<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`), 0o644); err != nil {
			t.Fatal(err)
		}
		runClient(t, nil, dir, time.Minute, s3cmd, "-c", cfg, "setcors", cors, "s3://"+b)
		if st, origin := preflight(t, s.URL()+"/"+b+"/k", "https://app.example"); st != 200 || origin != "https://app.example" {
			t.Fatalf("preflight after s3cmd setcors: %d, Access-Control-Allow-Origin %q", st, origin)
		}
		runClient(t, nil, dir, time.Minute, s3cmd, "-c", cfg, "delcors", "s3://"+b)
		if st, _ := preflight(t, s.URL()+"/"+b+"/k", "https://app.example"); st != 403 {
			t.Fatalf("preflight after s3cmd delcors: %d", st)
		}
	})
}

// preflight sends a browser's CORS preflight for a GET from origin and
// returns the status and Access-Control-Allow-Origin.
func preflight(t *testing.T, url, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin")
}

//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The aws CLI's put-bucket-cors, get-bucket-cors and delete-bucket-cors
// (v1 and v2, each in its own bucket on one server); the rules it set
// answer a preflight.
func TestAWSCLICORS(t *testing.T) {
	t.Parallel()
	clis := findAWSCLIs()
	requireClient(t, len(clis) > 0, "the aws CLI")
	s := startServer(t)
	c := newClient(t, s)
	for _, cli := range clis {
		t.Run(cli.label, func(t *testing.T) {
			t.Parallel()
			a := &awsRunner{t: t, cli: cli, s: s, env: clientEnv(t, s), dir: t.TempDir()}
			b := bucketName(t, "cors-"+cli.label)
			makeBucket(t, c, b)
			cfg := a.writeFile("cors.json", []byte(`{"CORSRules": [{"ID": "app",
				"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "PUT"],
				"AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300}]}`))
			a.run("s3api", "put-bucket-cors", "--bucket", b, "--cors-configuration", "file://"+cfg)
			var got struct {
				CORSRules []struct {
					ID             string
					AllowedOrigins []string
					AllowedMethods []string
					AllowedHeaders []string
					ExposeHeaders  []string
					MaxAgeSeconds  int
				}
			}
			a.json(&got, "s3api", "get-bucket-cors", "--bucket", b)
			if len(got.CORSRules) != 1 || got.CORSRules[0].ID != "app" || strings.Join(got.CORSRules[0].AllowedMethods, ",") != "GET,PUT" ||
				got.CORSRules[0].AllowedOrigins[0] != "https://*.example.com" || got.CORSRules[0].MaxAgeSeconds != 300 {
				t.Fatalf("get-bucket-cors: %+v", got)
			}
			req, _ := http.NewRequest(http.MethodOptions, s.URL()+"/"+b+"/k", nil)
			req.Header.Set("Origin", "https://app.example.com")
			req.Header.Set("Access-Control-Request-Method", "PUT")
			resp, err := s.HTTPClient(30 * time.Second).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
				resp.Header.Get("Access-Control-Max-Age") != "300" {
				t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
			}
			a.run("s3api", "delete-bucket-cors", "--bucket", b)
			_, errOut, err := a.try("s3api", "get-bucket-cors", "--bucket", b)
			if err == nil || !strings.Contains(errOut, "NoSuchCORSConfiguration") {
				t.Fatalf("get-bucket-cors after delete-bucket-cors: %v %s", err, errOut)
			}
		})
	}
}

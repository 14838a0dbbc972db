package s3api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// routeLine resolves "METHOD /path?query" as the router sees it.
func routeLine(t *testing.T, rt Router, line, host string, hdr map[string]string) Route {
	t.Helper()
	method, target, ok := strings.Cut(line, " ")
	if !ok {
		t.Fatalf("bad request line %q", line)
	}
	rawPath, rawQuery, _ := strings.Cut(target, "?")
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		t.Fatalf("path %q: %v", rawPath, err)
	}
	q, err := parseQuery(rawQuery)
	if err != nil {
		t.Fatalf("query %q: %v", rawQuery, err)
	}
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	return rt.Route(method, host, path, q, h)
}

// TestRoute checks operation resolution with the request lines of the AWS
// S3 API reference (each case names its operation), path-style.
func TestRoute(t *testing.T) {
	rt := Router{Domains: []string{"s3.example.com"}}
	signed := map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=x"}
	tests := []struct {
		name   string
		line   string
		hdr    map[string]string
		op     Operation
		bucket string
		key    string
		unsup  string
	}{
		// Service.
		{name: "ListBuckets", line: "GET /", op: OpListBuckets},
		{name: "ListBuckets paginated", line: "GET /?max-buckets=10&prefix=a", op: OpListBuckets},
		{name: "ListSnapshots (Tigris)", line: "GET /", hdr: map[string]string{"X-Tigris-Snapshot": "b1"}, op: OpListSnapshots},
		{name: "PUT on the service", line: "PUT /", op: OpMethodNotAllowed, unsup: "PUT"},

		// Buckets.
		{name: "CreateBucket", line: "PUT /examplebucket", op: OpCreateBucket, bucket: "examplebucket"},
		{name: "CreateBucket trailing slash", line: "PUT /examplebucket/", op: OpCreateBucket, bucket: "examplebucket"},
		{name: "CreateBucket x-id", line: "PUT /examplebucket?x-id=CreateBucket", op: OpCreateBucket, bucket: "examplebucket"},
		{name: "ForkBucket (Tigris)", line: "PUT /fork1", hdr: map[string]string{"X-Tigris-Fork-Source-Bucket": "src"}, op: OpForkBucket, bucket: "fork1"},
		{name: "CreateSnapshot (Tigris)", line: "PUT /b1", hdr: map[string]string{"x-tigris-snapshot": "true; name=n"}, op: OpCreateSnapshot, bucket: "b1"},
		{name: "HeadBucket", line: "HEAD /examplebucket", op: OpHeadBucket, bucket: "examplebucket"},
		{name: "DeleteBucket", line: "DELETE /examplebucket", op: OpDeleteBucket, bucket: "examplebucket"},
		{name: "DeleteSnapshot (Tigris)", line: "DELETE /b1", hdr: map[string]string{"X-Tigris-Snapshot-Version": "12"}, op: OpDeleteSnapshot, bucket: "b1"},
		{name: "ListObjects", line: "GET /examplebucket?prefix=N&marker=Ned&max-keys=40", op: OpListObjects, bucket: "examplebucket"},
		{name: "ListObjectsV2", line: "GET /examplebucket?list-type=2&max-keys=3&prefix=E&start-after=ExampleGuide.pdf", op: OpListObjectsV2, bucket: "examplebucket"},
		{name: "ListObjectsV2 encoding", line: "GET /examplebucket?list-type=2&encoding-type=url&delimiter=%2F", op: OpListObjectsV2, bucket: "examplebucket"},
		{name: "ListObjectVersions", line: "GET /examplebucket?versions&key-marker=key2", op: OpListObjectVersions, bucket: "examplebucket"},
		{name: "ListMultipartUploads", line: "GET /examplebucket?uploads&max-uploads=3", op: OpListMultipartUploads, bucket: "examplebucket"},
		{name: "GetBucketLocation", line: "GET /examplebucket?location", op: OpGetBucketLocation, bucket: "examplebucket"},
		{name: "GetBucketVersioning", line: "GET /examplebucket?versioning", op: OpGetBucketVersioning, bucket: "examplebucket"},
		{name: "PutBucketVersioning", line: "PUT /examplebucket?versioning", op: OpPutBucketVersioning, bucket: "examplebucket"},
		{name: "GetBucketAcl", line: "GET /examplebucket?acl", op: OpGetBucketAcl, bucket: "examplebucket"},
		{name: "PutBucketAcl", line: "PUT /examplebucket?acl", op: OpPutBucketAcl, bucket: "examplebucket"},
		{name: "PutBucketAcl with another sub-resource", line: "PUT /examplebucket?acl&policy", op: OpNotImplemented, bucket: "examplebucket", unsup: "policy"},
		{name: "DeleteObjects", line: "POST /examplebucket?delete", op: OpDeleteObjects, bucket: "examplebucket"},
		{name: "POST without a form", line: "POST /examplebucket", op: OpNotImplemented, bucket: "examplebucket", unsup: "POST"},
		{name: "POST Object", line: "POST /examplebucket", hdr: map[string]string{"Content-Type": "multipart/form-data; boundary=xyz"}, op: OpPostObject, bucket: "examplebucket"},
		{name: "POST Object with a sub-resource", line: "POST /examplebucket?policy", hdr: map[string]string{"Content-Type": "multipart/form-data; boundary=xyz"}, op: OpNotImplemented, bucket: "examplebucket", unsup: "policy"},
		{name: "POST form to an object", line: "POST /examplebucket/k", hdr: map[string]string{"Content-Type": "multipart/form-data; boundary=xyz"}, op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "POST"},

		// Bucket sub-resources that must never become CreateBucket,
		// ListObjects or DeleteBucket.
		{name: "PutBucketTagging", line: "PUT /examplebucket?tagging", op: OpPutBucketTagging, bucket: "examplebucket"},
		{name: "GetBucketTagging", line: "GET /examplebucket?tagging", op: OpGetBucketTagging, bucket: "examplebucket"},
		{name: "DeleteBucketTagging", line: "DELETE /examplebucket?tagging", op: OpDeleteBucketTagging, bucket: "examplebucket"},
		{name: "PutBucketPolicy", line: "PUT /examplebucket?policy", op: OpPutBucketPolicy, bucket: "examplebucket"},
		{name: "DeleteBucketPolicy", line: "DELETE /examplebucket?policy", op: OpDeleteBucketPolicy, bucket: "examplebucket"},
		{name: "PostBucketPolicy", line: "POST /examplebucket?policy", op: OpNotImplemented, bucket: "examplebucket", unsup: "policy"},
		{name: "PutBucketPolicyStatus", line: "PUT /examplebucket?policyStatus", op: OpNotImplemented, bucket: "examplebucket", unsup: "policyStatus"},
		{name: "GetBucketPolicyStatus", line: "GET /examplebucket?policyStatus", op: OpGetBucketPolicyStatus, bucket: "examplebucket"},
		{name: "GetBucketCors", line: "GET /examplebucket?cors", op: OpGetBucketCors, bucket: "examplebucket"},
		{name: "PutBucketCors", line: "PUT /examplebucket?cors", op: OpPutBucketCors, bucket: "examplebucket"},
		{name: "DeleteBucketCors", line: "DELETE /examplebucket?cors", op: OpDeleteBucketCors, bucket: "examplebucket"},
		{name: "POST cors", line: "POST /examplebucket?cors", op: OpNotImplemented, bucket: "examplebucket", unsup: "cors"},
		{name: "PutBucketCors with another sub-resource", line: "PUT /examplebucket?cors&tagging", op: OpNotImplemented, bucket: "examplebucket", unsup: "tagging"},
		{name: "preflight on a bucket", line: "OPTIONS /examplebucket", op: OpPreflight, bucket: "examplebucket"},
		{name: "preflight on an object", line: "OPTIONS /examplebucket/a/b?uploads", op: OpPreflight, bucket: "examplebucket", key: "a/b"},
		{name: "OPTIONS on the service", line: "OPTIONS /", op: OpNotImplemented, unsup: "OPTIONS"},
		{name: "GetBucketWebsite", line: "GET /examplebucket?website", op: OpGetBucketConfig, bucket: "examplebucket", unsup: "website"},
		{name: "GetBucketLogging", line: "GET /examplebucket?logging", op: OpNotImplemented, bucket: "examplebucket", unsup: "logging"},
		{name: "PutBucketNotificationConfiguration", line: "PUT /examplebucket?notification", op: OpNotImplemented, bucket: "examplebucket", unsup: "notification"},
		{name: "PutBucketReplication", line: "PUT /examplebucket?replication", op: OpNotImplemented, bucket: "examplebucket", unsup: "replication"},
		{name: "PutBucketEncryption", line: "PUT /examplebucket?encryption", op: OpPutBucketEncryption, bucket: "examplebucket"},
		{name: "DeleteBucketEncryption", line: "DELETE /examplebucket?encryption", op: OpDeleteBucketEncryption, bucket: "examplebucket"},
		{name: "GetObjectLockConfiguration", line: "GET /examplebucket?object-lock", op: OpGetObjectLockConfiguration, bucket: "examplebucket"},
		{name: "PutObjectLockConfiguration", line: "PUT /examplebucket?object-lock", op: OpPutObjectLockConfiguration, bucket: "examplebucket"},
		{name: "DeleteObjectLockConfiguration", line: "DELETE /examplebucket?object-lock", op: OpNotImplemented, bucket: "examplebucket", unsup: "object-lock"},
		{name: "GetBucketPolicy with another parameter (ignored on a read)", line: "GET /examplebucket?policy&x=1", op: OpGetBucketPolicy, bucket: "examplebucket"},
		{name: "GetBucketPolicy with the SDK operation hint", line: "GET /examplebucket?policy&x-id=GetBucketPolicy", op: OpGetBucketPolicy, bucket: "examplebucket"},
		{name: "GetBucketAnalytics (no not-configured answer)", line: "GET /examplebucket?analytics", op: OpNotImplemented, bucket: "examplebucket", unsup: "analytics"},
		{name: "PutBucketAccelerateConfiguration", line: "PUT /examplebucket?accelerate", op: OpNotImplemented, bucket: "examplebucket", unsup: "accelerate"},
		{name: "GetBucketRequestPayment", line: "GET /examplebucket?requestPayment", op: OpGetBucketRequestPayment, bucket: "examplebucket"},
		{name: "PutBucketRequestPayment", line: "PUT /examplebucket?requestPayment", op: OpPutBucketRequestPayment, bucket: "examplebucket"},
		{name: "PutBucketOwnershipControls", line: "PUT /examplebucket?ownershipControls", op: OpPutBucketOwnershipControls, bucket: "examplebucket"},
		{name: "GetBucketOwnershipControls", line: "GET /examplebucket?ownershipControls", op: OpGetBucketOwnershipControls, bucket: "examplebucket"},
		{name: "DeleteBucketOwnershipControls", line: "DELETE /examplebucket?ownershipControls", op: OpDeleteBucketOwnershipControls, bucket: "examplebucket"},
		{name: "POST ownershipControls", line: "POST /examplebucket?ownershipControls", op: OpNotImplemented, bucket: "examplebucket", unsup: "ownershipControls"},
		{name: "object ownershipControls", line: "PUT /examplebucket/k?ownershipControls", op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "ownershipControls"},
		{name: "PutPublicAccessBlock", line: "PUT /examplebucket?publicAccessBlock", op: OpPutPublicAccessBlock, bucket: "examplebucket"},
		{name: "GetPublicAccessBlock", line: "GET /examplebucket?publicAccessBlock", op: OpGetPublicAccessBlock, bucket: "examplebucket"},
		{name: "DeletePublicAccessBlock", line: "DELETE /examplebucket?publicAccessBlock", op: OpDeletePublicAccessBlock, bucket: "examplebucket"},
		{name: "PutBucketInventoryConfiguration", line: "PUT /examplebucket?inventory&id=report1", op: OpNotImplemented, bucket: "examplebucket", unsup: "inventory"},
		{name: "PutBucketAnalyticsConfiguration", line: "PUT /examplebucket?analytics&id=list1", op: OpNotImplemented, bucket: "examplebucket", unsup: "analytics"},
		{name: "PutBucketMetricsConfiguration", line: "PUT /examplebucket?metrics&id=EntireBucket", op: OpNotImplemented, bucket: "examplebucket", unsup: "metrics"},
		{name: "PutBucketIntelligentTieringConfiguration", line: "PUT /examplebucket?intelligent-tiering&id=a", op: OpNotImplemented, bucket: "examplebucket", unsup: "intelligent-tiering"},
		{name: "unknown write parameter", line: "PUT /examplebucket?futureThing", op: OpNotImplemented, bucket: "examplebucket", unsup: "futureThing"},
		{name: "unknown DELETE parameter", line: "DELETE /examplebucket?futureThing", op: OpNotImplemented, bucket: "examplebucket", unsup: "futureThing"},

		// Objects.
		{name: "PutObject", line: "PUT /examplebucket/my-image.jpg", op: OpPutObject, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "PutObject x-id", line: "PUT /examplebucket/my-image.jpg?x-id=PutObject", op: OpPutObject, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "PutObject presigned v4", line: "PUT /examplebucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=ab", op: OpPutObject, bucket: "examplebucket", key: "k"},
		{name: "PutObject presigned v2", line: "PUT /examplebucket/k?AWSAccessKeyId=AKIA&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D", op: OpPutObject, bucket: "examplebucket", key: "k"},
		{name: "PutObject presigned v2 with Content-Type (botocore)", line: "PUT /examplebucket/k?AWSAccessKeyId=AKIA&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D&content-type=application%2Foctet-stream&Expires=1141889120", op: OpPutObject, bucket: "examplebucket", key: "k"},
		{name: "CopyObject", line: "PUT /examplebucket/my-second-image.jpg", hdr: map[string]string{"x-amz-copy-source": "/bucket/my-image.jpg"}, op: OpCopyObject, bucket: "examplebucket", key: "my-second-image.jpg"},
		{name: "GetObject", line: "GET /examplebucket/my-image.jpg", op: OpGetObject, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "GetObject version", line: "GET /examplebucket/my-image.jpg?versionId=3HL4kqCxf3vjVBH40Nrjfkd", op: OpGetObject, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "GetObject overrides", line: "GET /examplebucket/my-image.jpg?response-content-type=text%2Fplain&response-content-disposition=attachment", op: OpGetObject, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "GetObject partNumber", line: "GET /examplebucket/my-image.jpg?partNumber=2", op: OpGetObject, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "HeadObject", line: "HEAD /examplebucket/my-image.jpg", op: OpHeadObject, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "DeleteObject", line: "DELETE /examplebucket/my-second-image.jpg", op: OpDeleteObject, bucket: "examplebucket", key: "my-second-image.jpg"},
		{name: "DeleteObject version", line: "DELETE /examplebucket/my-third-image.jpg?versionId=UIORUnfndfiufdisojhr398493jfdkjFJjkndnqUifhnw89493jJFJ", op: OpDeleteObject, bucket: "examplebucket", key: "my-third-image.jpg"},
		{name: "GetObjectAcl", line: "GET /examplebucket/my-image.jpg?acl", op: OpGetObjectAcl, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "PutObjectAcl", line: "PUT /examplebucket/my-image.jpg?acl", op: OpPutObjectAcl, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "PutObjectAcl of a version", line: "PUT /examplebucket/my-image.jpg?acl&versionId=3", op: OpPutObjectAcl, bucket: "examplebucket", key: "my-image.jpg"},
		{name: "PutObjectAcl with uploadId", line: "PUT /examplebucket/my-image.jpg?acl&uploadId=3", op: OpNotImplemented, bucket: "examplebucket", key: "my-image.jpg", unsup: "uploadId"},
		{name: "CreateMultipartUpload", line: "POST /examplebucket/example-object?uploads", op: OpCreateMultipartUpload, bucket: "examplebucket", key: "example-object"},
		{name: "UploadPart", line: "PUT /examplebucket/my-movie.m2ts?partNumber=1&uploadId=VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR", op: OpUploadPart, bucket: "examplebucket", key: "my-movie.m2ts"},
		{name: "UploadPartCopy", line: "PUT /examplebucket/newobject?partNumber=2&uploadId=VCVsb2Fk", hdr: map[string]string{"X-Amz-Copy-Source": "/source-bucket/sourceobject", "x-amz-copy-source-range": "bytes=500-6291456"}, op: OpUploadPartCopy, bucket: "examplebucket", key: "newobject"},
		{name: "CompleteMultipartUpload", line: "POST /examplebucket/example-object?uploadId=AAAsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIRRwbG9hZA", op: OpCompleteMultipartUpload, bucket: "examplebucket", key: "example-object"},
		{name: "AbortMultipartUpload", line: "DELETE /examplebucket/example-object?uploadId=VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZ", op: OpAbortMultipartUpload, bucket: "examplebucket", key: "example-object"},
		{name: "ListParts", line: "GET /examplebucket/example-object?uploadId=XXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA&max-parts=2&part-number-marker=1", op: OpListParts, bucket: "examplebucket", key: "example-object"},

		// Object sub-resources that must never overwrite, read or delete
		// the object itself (lakeFS #6930).
		{name: "PutObjectTagging", line: "PUT /examplebucket/HappyFace.jpg?tagging", op: OpPutObjectTagging, bucket: "examplebucket", key: "HappyFace.jpg"},
		{name: "GetObjectTagging", line: "GET /examplebucket/HappyFace.jpg?tagging", op: OpGetObjectTagging, bucket: "examplebucket", key: "HappyFace.jpg"},
		{name: "GetObjectTagging with versionId", line: "GET /examplebucket/HappyFace.jpg?tagging&versionId=123", op: OpGetObjectTagging, bucket: "examplebucket", key: "HappyFace.jpg"},
		{name: "tagging read mixed with acl", line: "GET /examplebucket/HappyFace.jpg?tagging&retention", op: OpNotImplemented, bucket: "examplebucket", key: "HappyFace.jpg", unsup: "retention"},
		{name: "DeleteObjectTagging", line: "DELETE /examplebucket/HappyFace.jpg?tagging&versionId=3", op: OpDeleteObjectTagging, bucket: "examplebucket", key: "HappyFace.jpg"},
		{name: "POST tagging", line: "POST /examplebucket/HappyFace.jpg?tagging", op: OpNotImplemented, bucket: "examplebucket", key: "HappyFace.jpg", unsup: "tagging"},
		{name: "PutObjectRetention", line: "PUT /examplebucket/k?retention&versionId=3", op: OpPutObjectRetention, bucket: "examplebucket", key: "k"},
		{name: "GetObjectRetention", line: "GET /examplebucket/k?retention", op: OpGetObjectRetention, bucket: "examplebucket", key: "k"},
		{name: "PutObjectLegalHold", line: "PUT /examplebucket/k?legal-hold", op: OpPutObjectLegalHold, bucket: "examplebucket", key: "k"},
		{name: "GetObjectLegalHold", line: "GET /examplebucket/k?legal-hold&versionId=3", op: OpGetObjectLegalHold, bucket: "examplebucket", key: "k"},
		{name: "DeleteObjectLegalHold", line: "DELETE /examplebucket/k?legal-hold", op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "legal-hold"},
		{name: "retention with acl", line: "PUT /examplebucket/k?retention&acl", op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "acl"},
		{name: "GetObjectTorrent", line: "GET /examplebucket/k?torrent", op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "torrent"},
		{name: "RestoreObject", line: "POST /examplebucket/k?restore", op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "restore"},
		{name: "SelectObjectContent", line: "POST /examplebucket/k?select&select-type=2", op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "select"},
		{name: "GetObjectAttributes", line: "GET /examplebucket/k?attributes", op: OpGetObjectAttributes, bucket: "examplebucket", key: "k"},
		{name: "GetObjectAttributes version", line: "GET /examplebucket/k?attributes&versionId=3", op: OpGetObjectAttributes, bucket: "examplebucket", key: "k"},
		{name: "PUT attributes", line: "PUT /examplebucket/k?attributes", op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "attributes"},
		{name: "unknown object write parameter", line: "PUT /examplebucket/k?futureThing=1", op: OpNotImplemented, bucket: "examplebucket", key: "k", unsup: "futureThing"},

		// Keys are taken as sent: no slash or dot-segment cleaning.
		{name: "key with slashes", line: "GET /b1/a//b/../c", op: OpGetObject, bucket: "b1", key: "a//b/../c"},
		{name: "key with leading slash", line: "GET /b1//x", op: OpGetObject, bucket: "b1", key: "/x"},
		{name: "encoded key", line: "GET /b1/a%2Fb%20c%2Bd", op: OpGetObject, bucket: "b1", key: "a/b c+d"},

		// forkstore's own endpoints.
		{name: "admin", line: "POST /_forkstore/v1/buckets/b1/snapshots", op: OpAdmin},
		{name: "CreateBucket named like the admin prefix", line: "PUT /_forkstore", op: OpCreateBucket, bucket: "_forkstore"},
		{name: "object under the admin bucket name", line: "GET /_forkstore/v2/x", op: OpGetObject, bucket: "_forkstore", key: "v2/x"},
		{name: "health live", line: "GET /health/live", op: OpHealthLive},
		{name: "health ready", line: "GET /health/ready", op: OpHealthReady},
		{name: "signed GET of object live in bucket health", line: "GET /health/live", hdr: signed, op: OpGetObject, bucket: "health", key: "live"},
		{name: "underscore bucket is not admin", line: "GET /_other", op: OpListObjects, bucket: "_other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := routeLine(t, rt, tt.line, "127.0.0.1:9000", tt.hdr)
			if got.Op != tt.op || got.Bucket != tt.bucket || got.Key != tt.key || got.Unsupported != tt.unsup {
				t.Errorf("%s: got %+v, want op=%s bucket=%q key=%q unsupported=%q", tt.line, got, tt.op, tt.bucket, tt.key, tt.unsup)
			}
		})
	}
}

// TestRouteVirtualHost checks virtual-hosted-style requests (Host =
// bucket.<domain>), including bucket names with dots and ports.
func TestRouteVirtualHost(t *testing.T) {
	rt := Router{Domains: []string{"s3.example.com", "localhost"}}
	tests := []struct {
		name   string
		line   string
		host   string
		op     Operation
		bucket string
		key    string
		vhost  bool
	}{
		{name: "GetObject", line: "GET /my-image.jpg", host: "examplebucket.s3.example.com", op: OpGetObject, bucket: "examplebucket", key: "my-image.jpg", vhost: true},
		{name: "GetObject with port", line: "GET /a/b", host: "examplebucket.s3.example.com:9000", op: OpGetObject, bucket: "examplebucket", key: "a/b", vhost: true},
		{name: "dotted bucket", line: "PUT /k", host: "my.bucket.s3.example.com", op: OpPutObject, bucket: "my.bucket", key: "k", vhost: true},
		{name: "ListObjectsV2", line: "GET /?list-type=2", host: "examplebucket.s3.example.com", op: OpListObjectsV2, bucket: "examplebucket", vhost: true},
		{name: "CreateBucket", line: "PUT /", host: "examplebucket.localhost:9000", op: OpCreateBucket, bucket: "examplebucket", vhost: true},
		{name: "HeadBucket upper-case host", line: "HEAD /", host: "ExampleBucket.S3.Example.com", op: OpHeadBucket, bucket: "examplebucket", vhost: true},
		{name: "GetBucketLocation", line: "GET /?location", host: "examplebucket.s3.example.com", op: OpGetBucketLocation, bucket: "examplebucket", vhost: true},
		{name: "domain itself is path-style", line: "GET /examplebucket/k", host: "s3.example.com", op: OpGetObject, bucket: "examplebucket", key: "k"},
		{name: "other host is path-style", line: "GET /examplebucket/k", host: "10.0.0.1:9000", op: OpGetObject, bucket: "examplebucket", key: "k"},
		{name: "IPv6 host is path-style", line: "GET /examplebucket", host: "[::1]:9000", op: OpListObjects, bucket: "examplebucket"},
		{name: "health is an object under a virtual host", line: "GET /health/live", host: "b.localhost", op: OpGetObject, bucket: "b", key: "health/live", vhost: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := routeLine(t, rt, tt.line, tt.host, nil)
			if got.Op != tt.op || got.Bucket != tt.bucket || got.Key != tt.key || got.VirtualHost != tt.vhost {
				t.Errorf("%s (Host %s): got %+v, want op=%s bucket=%q key=%q vhost=%v", tt.line, tt.host, got, tt.op, tt.bucket, tt.key, tt.vhost)
			}
		})
	}
}

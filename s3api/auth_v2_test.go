package s3api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// awsVirtualHost is the virtual hosting of the S3 documentation: a bucket
// in front of s3.amazonaws.com, or a whole CNAME.
func awsVirtualHost(host string) (string, bool) {
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if host == "s3.amazonaws.com" {
		return "", false
	}
	if b, ok := strings.CutSuffix(host, ".s3.amazonaws.com"); ok {
		return b, true
	}
	return host, true
}

// TestSigV2AWSExamples verifies the examples of "Signing and
// authenticating REST requests" (Signature Version 2) of the S3 developer
// guide, bucket johnsmith.
func TestSigV2AWSExamples(t *testing.T) {
	cases := []struct {
		name   string
		req    AuthRequest
		now    string
		header bool
	}{
		{"Object GET", AuthRequest{Method: "GET", Host: "johnsmith.s3.amazonaws.com", RawPath: "/photos/puppy.jpg", Header: header(
			"Date", "Tue, 27 Mar 2007 19:36:42 +0000",
			"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")}, "", true},
		{"Object PUT", AuthRequest{Method: "PUT", Host: "johnsmith.s3.amazonaws.com", RawPath: "/photos/puppy.jpg", Header: header(
			"Content-Type", "image/jpeg",
			"Content-Length", "94328",
			"Date", "Tue, 27 Mar 2007 21:15:45 +0000",
			"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg=")}, "", true},
		{"List", AuthRequest{Method: "GET", Host: "johnsmith.s3.amazonaws.com", RawPath: "/", RawQuery: "prefix=photos&max-keys=50&marker=puppy", Header: header(
			"User-Agent", "Mozilla/5.0",
			"Date", "Tue, 27 Mar 2007 19:42:41 +0000",
			"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:htDYFYduRNen8P9ZfE/s9SuKy0U=")}, "", true},
		{"Fetch", AuthRequest{Method: "GET", Host: "johnsmith.s3.amazonaws.com", RawPath: "/", RawQuery: "acl", Header: header(
			"Date", "Tue, 27 Mar 2007 19:44:46 +0000",
			"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:c2WLPFtWHVgbEmeEG93a4cG37dM=")}, "", true},
		{"Delete", AuthRequest{Method: "DELETE", Host: "s3.amazonaws.com", RawPath: "/johnsmith/photos/puppy.jpg", Header: header(
			"User-Agent", "dotnet",
			"Date", "Tue, 27 Mar 2007 21:20:27 +0000",
			"X-Amz-Date", "Tue, 27 Mar 2007 21:20:26 +0000",
			"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:lx3byBScXR6KzyMaifNkardMwNk=")}, "", true},
		{"Upload", AuthRequest{Method: "PUT", Host: "static.johnsmith.net:8080", RawPath: "/db-backup.dat.gz", Header: header(
			"User-Agent", "curl/7.15.5",
			"Date", "Tue, 27 Mar 2007 21:06:08 +0000",
			"X-Amz-Acl", "public-read",
			"Content-Type", "application/x-download",
			"Content-Md5", "4gJE4saaMU4BqNR0kLY+lw==",
			"X-Amz-Meta-Reviewedby", "joe@johnsmith.net",
			"X-Amz-Meta-Reviewedby", "jane@johnsmith.net",
			"X-Amz-Meta-Filechecksum", "0x02661779",
			"X-Amz-Meta-Checksumalgorithm", "crc32",
			"Content-Disposition", "attachment; filename=database.dat",
			"Content-Encoding", "gzip",
			"Content-Length", "5913339",
			"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:ilyl83RwaSoYIEdixDQcA4OnAnc=")}, "", true},
		{"List all my buckets", AuthRequest{Method: "GET", Host: "s3.amazonaws.com", RawPath: "/", Header: header(
			"Date", "Wed, 28 Mar 2007 01:29:59 +0000",
			"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qGdzdERIC03wnaRNKh6OqZehG9s=")}, "", true},
		{"Unicode keys", AuthRequest{Method: "GET", Host: "s3.amazonaws.com", RawPath: "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", Header: header(
			"Date", "Wed, 28 Mar 2007 01:49:49 +0000",
			"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:DNEZGsoieTZ92F3bUfSPQcbGmlM=")}, "", true},
		{"Query string request authentication", AuthRequest{Method: "GET", Host: "johnsmith.s3.amazonaws.com", RawPath: "/photos/puppy.jpg",
			RawQuery: "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620", Header: http.Header{}},
			"Wed, 28 Mar 2007 01:00:00 +0000", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nowStr := tc.now
			if nowStr == "" {
				nowStr = tc.req.Header.Get("Date")
			}
			now, err := time.Parse(time.RFC1123Z, nowStr)
			if err != nil {
				t.Fatal(err)
			}
			a := testAuthenticator("us-east-1", now.Add(time.Minute))
			a.VirtualHostBucket = awsVirtualHost
			req := tc.req
			res, err := a.Authenticate(&req)
			if err != nil {
				t.Fatal(err)
			}
			if res.AccessKey != exampleAccessKey {
				t.Fatal(res.AccessKey)
			}
			// Another method: SignatureDoesNotMatch.
			req = tc.req
			req.Method = "POST"
			_, err = a.Authenticate(&req)
			wantAPIError(t, err, "SignatureDoesNotMatch")
			// Without virtual hosting, only path-style requests verify.
			a.VirtualHostBucket = nil
			req = tc.req
			_, err = a.Authenticate(&req)
			if pathStyle := req.Host == "s3.amazonaws.com"; pathStyle != (err == nil) {
				t.Fatalf("path style %v, error %v", pathStyle, err)
			}
		})
	}
}

// TestSigV2Errors covers the failures of both SigV2 forms.
func TestSigV2Errors(t *testing.T) {
	now, _ := time.Parse(time.RFC1123Z, "Tue, 27 Mar 2007 19:36:42 +0000")
	get := func(h ...string) *AuthRequest {
		return &AuthRequest{Method: "GET", Host: "s3.amazonaws.com", RawPath: "/johnsmith/photos/puppy.jpg", Header: header(h...)}
	}
	query := func(q string) *AuthRequest {
		return &AuthRequest{Method: "GET", Host: "s3.amazonaws.com", RawPath: "/johnsmith/photos/puppy.jpg", RawQuery: q, Header: http.Header{}}
	}
	cases := []struct {
		name string
		now  time.Time
		req  *AuthRequest
		code string
		msg  string
	}{
		{"header without signature", now, get("Date", "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE"), "InvalidArgument", ""},
		{"header without key", now, get("Date", "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization", "AWS :abc"), "InvalidArgument", ""},
		{"header unknown key", now, get("Date", "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization", "AWS AKIDUNKNOWN:bWq2s1WEIj+Ydj0vQ697zp+IXMU="), "InvalidAccessKeyId", ""},
		{"header no date", now, get("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="), "AccessDenied", ErrMissingDateHeader.Message},
		{"header bad date", now, get("Date", "yesterday", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="), "AccessDenied", ErrMissingDateHeader.Message},
		{"header skewed", now.Add(16 * time.Minute), get("Date", "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="), "RequestTimeTooSkewed", ""},
		{"header bad signature", now, get("Date", "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMV="), "SignatureDoesNotMatch", ""},
		{"query missing signature", now, query("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620"), "AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"},
		{"query missing expires", now, query("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x"), "AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"},
		{"query bad expires", now, query("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x&Expires=soon"), "AccessDenied", "Invalid date (should be seconds since epoch): soon"},
		{"query expired", time.Unix(1175139621, 0), query("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620"), "AccessDenied", "Request has expired"},
		{"query unknown key", now, query("AWSAccessKeyId=AKIDUNKNOWN&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620"), "InvalidAccessKeyId", ""},
		{"query bad signature", now, query("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn9%3D&Expires=1175139620"), "SignatureDoesNotMatch", ""},
		{"query and header", now, &AuthRequest{Method: "GET", RawPath: "/", RawQuery: "AWSAccessKeyId=a&Signature=b&Expires=1", Header: header("Authorization", "AWS a:b")}, "InvalidArgument", ErrMultipleAuthMechanisms.Message},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testAuthenticator("us-east-1", tc.now).Authenticate(tc.req)
			ae := wantAPIError(t, err, tc.code)
			if tc.msg != "" && ae.Message != tc.msg {
				t.Fatalf("message %q, want %q", ae.Message, tc.msg)
			}
		})
	}
}

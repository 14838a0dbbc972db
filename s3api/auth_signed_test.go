package s3api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestMeaningHeadersMustBeSigned: a header that changes what a request does
// (X-Tigris-*, X-Forkstore-*) is honoured only when the signature covers
// it, like an x-amz-* header; otherwise the request is AccessDenied. A
// presigned GET replayed with X-Tigris-Snapshot-Version would read an old
// version the URL never named.
func TestMeaningHeadersMustBeSigned(t *testing.T) {
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	get := func() *AuthRequest {
		return &AuthRequest{Method: "GET", Host: "s3.example.com", RawPath: "/b/doc", Header: http.Header{}}
	}
	cases := []struct {
		name string
		req  func() *AuthRequest
		code string // "" for success
	}{
		{"header auth, signed", func() *AuthRequest {
			r := get()
			r.Header.Set("X-Tigris-Snapshot-Version", "17")
			signHeaderV4(r, now, "us-east-1", "host", "x-amz-content-sha256", "x-amz-date", "x-tigris-snapshot-version")
			return r
		}, ""},
		{"header auth, added after signing", func() *AuthRequest {
			r := get()
			signHeaderV4(r, now, "us-east-1")
			r.Header.Set("X-Tigris-Snapshot-Version", "17")
			return r
		}, "AccessDenied"},
		{"header auth, any letter case", func() *AuthRequest {
			r := get()
			signHeaderV4(r, now, "us-east-1")
			r.Header["x-TIGRIS-fork-source-bucket"] = []string{"src"}
			return r
		}, "AccessDenied"},
		{"header auth, empty value", func() *AuthRequest {
			r := get()
			signHeaderV4(r, now, "us-east-1")
			r.Header.Set("X-Tigris-Fork-Source-Bucket", "")
			return r
		}, "AccessDenied"},
		{"header auth, forkstore header", func() *AuthRequest {
			r := get()
			signHeaderV4(r, now, "us-east-1")
			r.Header.Set("X-Forkstore-Anything", "1")
			return r
		}, "AccessDenied"},
		{"presigned, header signed", func() *AuthRequest {
			r := get()
			r.Header.Set("X-Tigris-Snapshot-Version", "17")
			presignV4(r, now, 60, "host;x-tigris-snapshot-version", nil)
			return r
		}, ""},
		{"presigned, header replayed", func() *AuthRequest {
			r := get()
			presignV4(r, now, 60, "host", nil)
			r.Header.Set("X-Tigris-Snapshot-Version", "17")
			return r
		}, "AccessDenied"},
		{"presigned, in the signed query", func() *AuthRequest {
			r := get()
			presignV4(r, now, 60, "host", url.Values{"X-Tigris-Snapshot-Version": {"17"}})
			return r
		}, ""},
		{"SigV2 header auth cannot sign it", func() *AuthRequest {
			r := get()
			r.Header.Set("Date", now.Format(http.TimeFormat))
			r.Header.Set("X-Tigris-Snapshot", "true")
			r.Header.Set("Authorization", "AWS "+exampleAccessKey+":"+signV2(exampleSecret, "GET\n\n\n"+now.Format(http.TimeFormat)+"\n/b/doc"))
			return r
		}, "AccessDenied"},
		{"SigV2 presigned cannot sign it", func() *AuthRequest {
			r := get()
			exp := now.Add(time.Minute).Unix()
			r.RawQuery = "AWSAccessKeyId=" + exampleAccessKey + "&Expires=" + itoa(exp) + "&Signature=" +
				url.QueryEscape(signV2(exampleSecret, "GET\n\n\n"+itoa(exp)+"\n/b/doc"))
			r.Header.Set("X-Tigris-Snapshot-Version", "17")
			return r
		}, "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testAuthenticator("us-east-1", now).Authenticate(tc.req())
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantAPIError(t, err, tc.code)
		})
	}
}

// TestPresignV4UnsignedContentSHA256: a presigned PUT may carry an
// x-amz-content-sha256 header its signature does not cover; the body must
// then match it (XAmzContentSHA256Mismatch), and a streaming mode there is
// refused: the header is never silently ignored.
func TestPresignV4UnsignedContentSHA256(t *testing.T) {
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	body := []byte("presigned payload")
	for _, tc := range []struct {
		name   string
		header string
		code   string
	}{
		{"matches", sha256Hex(body), ""},
		{"UNSIGNED-PAYLOAD", unsignedPayload, ""},
		{"differs", sha256Hex([]byte("x")), "XAmzContentSHA256Mismatch"},
		{"streaming", streamingPayload, "InvalidArgument"},
		{"not a hash", "abc", "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &AuthRequest{Method: "PUT", Host: "s3.example.com", RawPath: "/b/k", Header: http.Header{}}
			presignV4(r, now, 60, "host", nil)
			r.Header.Set("X-Amz-Content-Sha256", tc.header)
			r.Body, r.ContentLength = bytes.NewReader(body), int64(len(body))
			res, err := testAuthenticator("us-east-1", now).Authenticate(r)
			if err == nil {
				_, err = io.ReadAll(res.Body)
			}
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantAPIError(t, err, tc.code)
		})
	}
}

// signV2 returns the SigV2 signature of a string to sign.
func signV2(secret, sts string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

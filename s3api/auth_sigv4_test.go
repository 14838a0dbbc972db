package s3api

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// getObjectExample is the AWS "GET Object" SigV4 example, signed.
func getObjectExample() *AuthRequest {
	tc := awsExamplesV4()[0]
	r := tc.req
	r.Header = r.Header.Clone()
	r.Header.Set("Authorization", tc.auth)
	return &r
}

// signHeaderV4 signs r in its Authorization header with the example key at
// t for region, over the given headers (host and every x-amz-* header of r
// when signed is empty).
func signHeaderV4(r *AuthRequest, t time.Time, region string, signed ...string) {
	amzDate := t.UTC().Format(iso8601Basic)
	r.Header.Set("X-Amz-Date", amzDate)
	if r.Header.Get("X-Amz-Content-Sha256") == "" {
		r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	}
	if len(signed) == 0 {
		signed = []string{"host"}
		for k := range r.Header {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
				signed = append(signed, lk)
			}
		}
	}
	slices.Sort(signed)
	raw := strings.Join(signed, ";")
	cred := v4Credential{exampleAccessKey, amzDate[:8], region, "s3", "aws4_request"}
	creq := canonicalRequest(r, signed, raw, canonicalQuery(r.RawQuery, false), r.Header.Get("X-Amz-Content-Sha256"))
	sig := signV4(signingKey(exampleSecret, cred.date, region), amzDate, cred.scope(), creq)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+exampleAccessKey+"/"+cred.scope()+", SignedHeaders="+raw+", Signature="+sig)
}

// TestParseAuthorizationTolerant: AWS accepts any spacing around the
// separators and any order of Credential, SignedHeaders and Signature.
func TestParseAuthorizationTolerant(t *testing.T) {
	const (
		cred   = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
		signed = "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"
		sig    = "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	)
	for _, h := range []string{
		"AWS4-HMAC-SHA256 " + cred + "," + signed + "," + sig,
		"AWS4-HMAC-SHA256 " + cred + ", " + signed + ", " + sig,
		"AWS4-HMAC-SHA256  " + cred + " ,  " + signed + " ,\t" + sig + " ",
		"  AWS4-HMAC-SHA256\t" + sig + "," + cred + "," + signed,
		"AWS4-HMAC-SHA256 " + signed + ",, " + sig + ", " + cred + ",",
		"AWS4-HMAC-SHA256 Credential = AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " + signed + ", " + sig,
	} {
		p, err := parseAuthorization(h)
		if err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		if p.cred.accessKey != exampleAccessKey || p.cred.scope() != "20130524/us-east-1/s3/aws4_request" ||
			p.signedRaw != "host;range;x-amz-content-sha256;x-amz-date" || len(p.signedHeaders) != 4 ||
			p.signature != "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41" {
			t.Fatalf("%q: %+v", h, p)
		}
		r := getObjectExample()
		r.Header.Set("Authorization", h)
		if _, err := testAuthenticator("us-east-1", exampleTime).Authenticate(r); err != nil {
			t.Fatalf("%q: %v", h, err)
		}
	}
}

// TestParseAuthorizationMalformed: AuthorizationHeaderMalformed for every
// malformed header, with AWS's message where AWS has one.
func TestParseAuthorizationMalformed(t *testing.T) {
	const (
		cred   = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
		signed = "SignedHeaders=host;x-amz-date"
		sig    = "Signature=abc"
	)
	cases := []struct{ name, header, msg string }{
		{"no components", "AWS4-HMAC-SHA256", ""},
		{"no space", "AWS4-HMAC-SHA256" + cred + "," + signed + "," + sig, ""},
		{"missing signature", "AWS4-HMAC-SHA256 " + cred + "," + signed, "The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature."},
		{"missing credential", "AWS4-HMAC-SHA256 " + signed + "," + sig, ""},
		{"repeated", "AWS4-HMAC-SHA256 " + cred + "," + cred + "," + signed + "," + sig, ""},
		{"unknown component", "AWS4-HMAC-SHA256 " + cred + "," + signed + "," + sig + ",Foo=bar", ""},
		{"component without =", "AWS4-HMAC-SHA256 " + cred + "," + signed + "," + sig + ",Foo", ""},
		{"short credential", "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3," + signed + "," + sig,
			"The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."},
		{"empty access key", "AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request," + signed + "," + sig,
			"The authorization header is malformed; a non-empty Access Key (AKID) must be provided in the credential."},
		{"bad date", "AWS4-HMAC-SHA256 Credential=AKID/2013052/us-east-1/s3/aws4_request," + signed + "," + sig, ""},
		{"impossible date", "AWS4-HMAC-SHA256 Credential=AKID/20131340/us-east-1/s3/aws4_request," + signed + "," + sig, ""},
		{"empty region", "AWS4-HMAC-SHA256 Credential=AKID/20130524//s3/aws4_request," + signed + "," + sig, ""},
		{"wrong service", "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/ec2/aws4_request," + signed + "," + sig,
			"The authorization header is malformed; incorrect service \"ec2\". This endpoint belongs to \"s3\"."},
		{"wrong terminal", "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_reques," + signed + "," + sig,
			"The authorization header is malformed; incorrect terminal \"aws4_reques\". This endpoint uses \"aws4_request\"."},
		{"empty signed headers", "AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=," + sig, ""},
		{"empty signed header name", "AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=host;;x-amz-date," + sig, ""},
		{"bad signed header name", "AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=host;x amz," + sig, ""},
		{"too many signed headers", "AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=" + strings.Repeat("a;", 200) + "host," + sig, ""},
		{"empty signature", "AWS4-HMAC-SHA256 " + cred + "," + signed + ",Signature=", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, aerr := parseAuthorization(tc.header)
			if aerr == nil {
				t.Fatal("parsed")
			}
			r := getObjectExample()
			r.Header.Set("Authorization", tc.header)
			_, err := testAuthenticator("us-east-1", exampleTime).Authenticate(r)
			ae := wantAPIError(t, err, "AuthorizationHeaderMalformed")
			if ae.Status != http.StatusBadRequest || (tc.msg != "" && ae.Message != tc.msg) {
				t.Fatalf("status %d message %q", ae.Status, ae.Message)
			}
		})
	}
}

// TestSigV4HeaderErrors: each failure of header authentication gives the
// S3 error AWS gives.
func TestSigV4HeaderErrors(t *testing.T) {
	cases := []struct {
		name   string
		region string
		now    time.Time
		mutate func(r *AuthRequest)
		code   string
		msg    string
	}{
		{"wrong region", "eu-west-1", exampleTime, nil, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"},
		{"unknown access key", "us-east-1", exampleTime, func(r *AuthRequest) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), exampleAccessKey, "AKIDUNKNOWN", 1))
		}, "InvalidAccessKeyId", ""},
		{"skewed ahead", "us-east-1", exampleTime.Add(-16 * time.Minute), nil, "RequestTimeTooSkewed", ""},
		{"skewed behind", "us-east-1", exampleTime.Add(16 * time.Minute), nil, "RequestTimeTooSkewed", ""},
		{"no date", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Del("X-Amz-Date") }, "AccessDenied", ErrMissingDateHeader.Message},
		{"malformed x-amz-date", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Set("X-Amz-Date", "2013-05-24T00:00:00Z") }, "AccessDenied", ErrMissingDateHeader.Message},
		{"date not the scope date", "us-east-1", exampleTime.Add(24 * time.Hour), func(r *AuthRequest) { r.Header.Set("X-Amz-Date", "20130525T000000Z") },
			"AuthorizationHeaderMalformed", "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date."},
		{"no x-amz-content-sha256", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Del("X-Amz-Content-Sha256") },
			"InvalidRequest", "Missing required header for this request: x-amz-content-sha256"},
		{"bad x-amz-content-sha256", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Set("X-Amz-Content-Sha256", "abc") }, "InvalidArgument", ""},
		{"non-hex x-amz-content-sha256", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("g", 64)) }, "InvalidArgument", ""},
		{"SigV4a payload", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") }, "NotImplemented", ""},
		{"unsigned x-amz header", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Set("X-Amz-Meta-Evil", "1") },
			"AccessDenied", "There were headers present in the request which were not signed: x-amz-meta-evil"},
		{"host not signed", "us-east-1", exampleTime, func(r *AuthRequest) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=", 1))
		}, "AccessDenied", "There were headers present in the request which were not signed: host"},
		{"unsupported scheme", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Set("Authorization", "Bearer abc") }, "InvalidArgument", "Unsupported Authorization Type"},
		{"SigV4a", "us-east-1", exampleTime, func(r *AuthRequest) { r.Header.Set("Authorization", "AWS4-ECDSA-P256-SHA256 Credential=x") }, "NotImplemented", ""},
		{"header and presigned query", "us-east-1", exampleTime, func(r *AuthRequest) { r.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" }, "InvalidArgument", ErrMultipleAuthMechanisms.Message},
		{"bad signature", "us-east-1", exampleTime, func(r *AuthRequest) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Signature=f0e8", "Signature=f0e9", 1))
		}, "SignatureDoesNotMatch", ""},
		{"short signature", "us-east-1", exampleTime, func(r *AuthRequest) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Signature=f0e8", "Signature=", 1))
		}, "SignatureDoesNotMatch", ""},
		{"upper-case signature", "us-east-1", exampleTime, func(r *AuthRequest) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", "F0E8BDB87C964420E857BD35B5D6ED310BD44F0170ABA48DD91039C6036BDB41", 1))
		}, "SignatureDoesNotMatch", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := getObjectExample()
			if tc.mutate != nil {
				tc.mutate(r)
			}
			_, err := testAuthenticator(tc.region, tc.now).Authenticate(r)
			ae := wantAPIError(t, err, tc.code)
			if tc.msg != "" && ae.Message != tc.msg {
				t.Fatalf("message %q, want %q", ae.Message, tc.msg)
			}
		})
	}
	// No secrets configured at all.
	a := &Authenticator{Now: func() time.Time { return exampleTime }}
	_, err := a.Authenticate(getObjectExample())
	wantAPIError(t, err, "InvalidAccessKeyId")
}

// TestSigV4Regions: a credential scope must name the configured region,
// except GetBucketLocation and ListBuckets, which may be signed for
// us-east-1 (minio-go sends them before it knows the region); an empty
// Region accepts any.
func TestSigV4Regions(t *testing.T) {
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, tc := range []struct {
		name, configured, signed, host, path, query string
		ok                                          bool
	}{
		{"same", "eu-west-1", "eu-west-1", "s3.example.com", "/bucket", "", true},
		{"other", "eu-west-1", "us-west-2", "s3.example.com", "/bucket", "", false},
		{"us-east-1", "eu-west-1", "us-east-1", "s3.example.com", "/bucket", "", false},
		{"location us-east-1", "eu-west-1", "us-east-1", "s3.example.com", "/bucket", "location", true},
		{"location other", "eu-west-1", "us-west-2", "s3.example.com", "/bucket", "location", false},
		{"list buckets us-east-1", "eu-west-1", "us-east-1", "s3.amazonaws.com", "/", "", true},
		{"list buckets other", "eu-west-1", "us-west-2", "s3.amazonaws.com", "/", "", false},
		{"virtual-hosted bucket us-east-1", "eu-west-1", "us-east-1", "bucket.s3.amazonaws.com", "/", "", false},
		{"any", "", "xx-custom-9", "s3.example.com", "/bucket", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &AuthRequest{Method: "GET", Host: tc.host, RawPath: tc.path, RawQuery: tc.query, Header: http.Header{}}
			signHeaderV4(r, now, tc.signed)
			a := testAuthenticator(tc.configured, now)
			a.VirtualHostBucket = awsVirtualHost
			_, err := a.Authenticate(r)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				wantAPIError(t, err, "AuthorizationHeaderMalformed")
			}
		})
	}
}

// TestSigV4DateHeader: without x-amz-date the Date header dates the
// request, in any HTTP date format.
func TestSigV4DateHeader(t *testing.T) {
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, date := range []string{"Sat, 03 Feb 2024 04:05:06 GMT", "Saturday, 03-Feb-24 04:05:06 GMT", "Sat Feb  3 04:05:06 2024"} {
		r := &AuthRequest{Method: "GET", Host: "s3.example.com", RawPath: "/b/k", Header: header("Date", date)}
		signHeaderV4(r, now, "us-east-1", "date", "host", "x-amz-content-sha256")
		r.Header.Del("X-Amz-Date")
		if _, err := testAuthenticator("us-east-1", now).Authenticate(r); err != nil {
			t.Fatalf("%q: %v", date, err)
		}
	}
}

// TestCanonicalHeaders: values are trimmed, inner runs of white space
// collapsed, repeated headers joined with commas; host and content-length
// come from the request line when the header map lacks them.
func TestCanonicalHeaders(t *testing.T) {
	r := &AuthRequest{Method: "PUT", Host: "h.example:9000", RawPath: "/b/k", ContentLength: 12, Header: http.Header{
		"X-Amz-Meta-A":  {"  a   b \t c  "},
		"X-Amz-Meta-B":  {"1", " 2 ", "3"},
		"x-amz-meta-lc": {"lower"},
	}}
	got := canonicalRequest(r, []string{"content-length", "host", "x-amz-meta-a", "x-amz-meta-b", "x-amz-meta-lc"}, "content-length;host;x-amz-meta-a;x-amz-meta-b;x-amz-meta-lc", "", unsignedPayload)
	want := "PUT\n/b/k\n\ncontent-length:12\nhost:h.example:9000\nx-amz-meta-a:a b c\nx-amz-meta-b:1,2,3\nx-amz-meta-lc:lower\n\ncontent-length;host;x-amz-meta-a;x-amz-meta-b;x-amz-meta-lc\nUNSIGNED-PAYLOAD"
	if got != want {
		t.Fatalf("canonical request\n%q\nwant\n%q", got, want)
	}
}

// TestCanonicalURI: the canonical URI of S3 is the decoded path encoded
// once with AWS UriEncode, '/' kept.
func TestCanonicalURI(t *testing.T) {
	for raw, want := range map[string]string{
		"":                  "/",
		"/":                 "/",
		"/test$file.text":   "/test%24file.text",
		"test$file.text":    "/test%24file.text",
		"/a b":              "/a%20b",
		"/a%20b":            "/a%20b",
		"/a+b":              "/a%2Bb",
		"/a%2Bb":            "/a%2Bb",
		"/a%2bb":            "/a%2Bb",
		"/100%.csv":         "/100%25.csv",
		"/100%25.csv":       "/100%25.csv",
		"/%7Etilde~":        "/~tilde~",
		"/é":                "/%C3%A9",
		"/%c3%a9":           "/%C3%A9",
		"/a%2Fb":            "/a/b",
		"//double//./..":    "//double//./..",
		"/a%zz%4":           "/a%25zz%254",
		"/-_.~!*'()":        "/-_.~%21%2A%27%28%29",
		"/\x00\xff":         "/%00%FF",
		"/bucket/a=b&c?d#e": "/bucket/a%3Db%26c%3Fd%23e",
	} {
		if got := canonicalURI(raw); got != want {
			t.Errorf("canonicalURI(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestCanonicalQuery: parameters decoded and re-encoded with AWS UriEncode,
// sorted by name then value, empty values kept as "name=".
func TestCanonicalQuery(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		presign bool
		want    string
	}{
		{"", false, ""},
		{"lifecycle", false, "lifecycle="},
		{"max-keys=2&prefix=J", false, "max-keys=2&prefix=J"},
		{"prefix=J&max-keys=2", false, "max-keys=2&prefix=J"},
		{"b=2&a=1&a=0&a", false, "a=&a=0&a=1&b=2"},
		{"prefix=a+b", false, "prefix=a%20b"},
		{"prefix=a%2Bb", false, "prefix=a%2Bb"},
		{"prefix=%7e&x=~", false, "prefix=~&x=~"},
		{"k=v=w", false, "k=v%3Dw"},
		{"&&a=1&", false, "a=1"},
		{"delimiter=%2F&prefix=%C3%A9", false, "delimiter=%2F&prefix=%C3%A9"},
		{"bad=%zz", false, "bad=%25zz"},
		{"B=1&a=1", false, "B=1&a=1"},
		{"X-Amz-Signature=abc&X-Amz-Date=x", true, "X-Amz-Date=x"},
		{"X-Amz-Signature=abc&X-Amz-Date=x", false, "X-Amz-Date=x&X-Amz-Signature=abc"},
	} {
		if got := canonicalQuery(tc.raw, tc.presign); got != tc.want {
			t.Errorf("canonicalQuery(%q, %v) = %q, want %q", tc.raw, tc.presign, got, tc.want)
		}
	}
}

// TestSigV4SpecialPaths signs paths the way each client spells them on the
// wire and checks that every spelling of the same key verifies.
func TestSigV4SpecialPaths(t *testing.T) {
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, spellings := range [][]string{
		{"/b/a%20b", "/b/a b"},
		{"/b/%7Ex", "/b/~x", "/b/%7ex"},
		{"/b/test%24file", "/b/test$file"},
		{"/b/%C3%A9", "/b/é", "/b/%c3%a9"},
		{"/b/a%2Bb", "/b/a+b"},
	} {
		r := &AuthRequest{Method: "GET", Host: "s3.example.com", RawPath: spellings[0], Header: http.Header{}}
		signHeaderV4(r, now, "us-east-1")
		for _, p := range spellings {
			r2 := *r
			r2.RawPath = p
			if _, err := testAuthenticator("us-east-1", now).Authenticate(&r2); err != nil {
				t.Errorf("%q signed as %q: %v", p, spellings[0], err)
			}
		}
	}
}

// presignV4 adds SigV4 query authentication to r with the example key.
func presignV4(r *AuthRequest, t time.Time, expires int, signed string, extra url.Values) {
	amzDate := t.UTC().Format(iso8601Basic)
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Credential", exampleAccessKey+"/"+amzDate[:8]+"/us-east-1/s3/aws4_request")
	q.Set("X-Amz-Date", amzDate)
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	q.Set("X-Amz-SignedHeaders", signed)
	r.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	hashed := unsignedPayload
	if v := q.Get("X-Amz-Content-Sha256"); v != "" {
		hashed = v
	}
	names, _ := parseSignedHeaders(signed)
	creq := canonicalRequest(r, names, signed, canonicalQuery(r.RawQuery, true), hashed)
	sig := signV4(signingKey(exampleSecret, amzDate[:8], "us-east-1"), amzDate, amzDate[:8]+"/us-east-1/s3/aws4_request", creq)
	r.RawQuery += "&X-Amz-Signature=" + sig
}

// TestPresignV4Errors: malformed presigned URLs are
// AuthorizationQueryParametersError with AWS's messages.
func TestPresignV4Errors(t *testing.T) {
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	valid := func() *AuthRequest {
		r := &AuthRequest{Method: "GET", Host: "s3.example.com", RawPath: "/b/k", Header: http.Header{}}
		presignV4(r, now, 3600, "host", nil)
		return r
	}
	set := func(name, value string) func(q url.Values) { return func(q url.Values) { q.Set(name, value) } }
	del := func(name string) func(q url.Values) { return func(q url.Values) { q.Del(name) } }
	cases := []struct {
		name   string
		region string
		mutate func(q url.Values)
		code   string
		msg    string
	}{
		{"no algorithm", "us-east-1", del("X-Amz-Algorithm"), "AuthorizationQueryParametersError",
			"Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."},
		{"no credential", "us-east-1", del("X-Amz-Credential"), "AuthorizationQueryParametersError", ""},
		{"no date", "us-east-1", del("X-Amz-Date"), "AuthorizationQueryParametersError", ""},
		{"no expires", "us-east-1", del("X-Amz-Expires"), "AuthorizationQueryParametersError", ""},
		{"no signed headers", "us-east-1", del("X-Amz-SignedHeaders"), "AuthorizationQueryParametersError", ""},
		{"no signature", "us-east-1", del("X-Amz-Signature"), "AuthorizationQueryParametersError", ""},
		{"empty signature", "us-east-1", set("X-Amz-Signature", ""), "AuthorizationQueryParametersError", ""},
		{"other algorithm", "us-east-1", set("X-Amz-Algorithm", "AWS4-HMAC-SHA1"), "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""},
		{"short credential", "us-east-1", set("X-Amz-Credential", "AKID/20240203/us-east-1/s3"), "AuthorizationQueryParametersError",
			"Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."},
		{"wrong service", "us-east-1", set("X-Amz-Credential", exampleAccessKey+"/20240203/us-east-1/iam/aws4_request"), "AuthorizationQueryParametersError",
			"Error parsing the X-Amz-Credential parameter; incorrect service \"iam\". This endpoint belongs to \"s3\"."},
		{"wrong region", "eu-west-1", nil, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; expecting 'eu-west-1'"},
		{"bad date", "us-east-1", set("X-Amz-Date", "2024-02-03T04:05:06Z"), "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""},
		{"date not the scope date", "us-east-1", set("X-Amz-Date", "20240204T040506Z"), "AuthorizationQueryParametersError", "Invalid credential date. Date is not the same as X-Amz-Date."},
		{"expires too long", "us-east-1", set("X-Amz-Expires", "604801"), "AccessDenied", "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"},
		{"expires negative", "us-east-1", set("X-Amz-Expires", "-1"), "AccessDenied", "X-Amz-Expires must be non-negative"},
		{"expires not a number", "us-east-1", set("X-Amz-Expires", "soon"), "AuthorizationQueryParametersError", "X-Amz-Expires should be a number"},
		{"bad signed headers", "us-east-1", set("X-Amz-SignedHeaders", "host;;"), "AuthorizationQueryParametersError", ""},
		{"host not signed", "us-east-1", set("X-Amz-SignedHeaders", "x-amz-date"), "AccessDenied", "There were headers present in the request which were not signed: host"},
		{"unknown key", "us-east-1", set("X-Amz-Credential", "AKIDUNKNOWN/20240203/us-east-1/s3/aws4_request"), "InvalidAccessKeyId", ""},
		{"streaming payload", "us-east-1", set("X-Amz-Content-Sha256", streamingPayload), "InvalidArgument", ""},
		{"changed expiry", "us-east-1", set("X-Amz-Expires", "7200"), "SignatureDoesNotMatch", ""},
		{"added parameter", "us-east-1", set("versionId", "1"), "SignatureDoesNotMatch", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := valid()
			if tc.mutate != nil {
				q, err := url.ParseQuery(r.RawQuery)
				if err != nil {
					t.Fatal(err)
				}
				tc.mutate(q)
				r.RawQuery = q.Encode()
			}
			_, err := testAuthenticator(tc.region, now).Authenticate(r)
			ae := wantAPIError(t, err, tc.code)
			if tc.msg != "" && ae.Message != tc.msg {
				t.Fatalf("message %q, want %q", ae.Message, tc.msg)
			}
		})
	}
	if _, err := testAuthenticator("us-east-1", now).Authenticate(valid()); err != nil {
		t.Fatal(err)
	}
}

// TestPresignV4Payload: a presigned PUT is UNSIGNED-PAYLOAD unless the URL
// gives X-Amz-Content-Sha256, which the body must then match; so must an
// unsigned x-amz-content-sha256 header (TestPresignV4UnsignedContentSHA256).
func TestPresignV4Payload(t *testing.T) {
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	body := []byte("presigned payload")
	for _, tc := range []struct {
		name   string
		query  url.Values
		header string
		send   []byte
		code   string
	}{
		{"unsigned", nil, "", body, ""},
		{"unsigned, stray header", nil, sha256Hex([]byte("x")), body, "XAmzContentSHA256Mismatch"},
		{"hash matches", url.Values{"X-Amz-Content-Sha256": {sha256Hex(body)}}, "", body, ""},
		{"hash differs", url.Values{"X-Amz-Content-Sha256": {sha256Hex(body)}}, "", []byte("other payload"), "XAmzContentSHA256Mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &AuthRequest{Method: "PUT", Host: "s3.example.com", RawPath: "/b/k", Header: http.Header{}}
			presignV4(r, now, 60, "host", tc.query)
			if tc.header != "" {
				r.Header.Set("X-Amz-Content-Sha256", tc.header)
			}
			r.Body, r.ContentLength = bytes.NewReader(tc.send), int64(len(tc.send))
			res, err := testAuthenticator("us-east-1", now).Authenticate(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			if tc.code != "" {
				wantAPIError(t, err, tc.code)
				return
			}
			if err != nil || !bytes.Equal(got, tc.send) {
				t.Fatalf("%q, %v", got, err)
			}
		})
	}
}

package s3api

import (
	"errors"
	"strings"
	"testing"
)

// PutBucketPolicy: documents S3 refuses with MalformedPolicy, and the
// reason given.
func TestParsePolicyMalformed(t *testing.T) {
	const ok = `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`
	for _, tc := range []struct {
		name, doc, reason string
	}{
		{"not json", `nope`, "valid JSON"},
		{"broken json", `{"Statement":[`, "valid JSON"},
		{"no statement", `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"empty statement", `{"Statement":[]}`, "Statement is empty"},
		{"bad version", `{"Version":"2020-01-01","Statement":[{` + ok + `}]}`, "Invalid policy version"},
		{"unknown field", `{"Statement":[{` + ok + `}],"Foo":1}`, "Unknown field Foo"},
		{"unknown statement field", `{"Statement":[{` + ok + `,"Bar":1}]}`, "Unknown field Bar"},
		{"no effect", `{"Statement":[{"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, "Missing required field Effect"},
		{"bad effect", `{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, "Invalid effect"},
		{"no principal", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, "Missing required field Principal"},
		{"bad principal", `{"Statement":[{"Effect":"Allow","Principal":"someone","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, "Invalid principal"},
		{"bad principal kind", `{"Statement":[{"Effect":"Allow","Principal":{"Who":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, "Invalid principal"},
		{"no action", `{"Statement":[{"Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::b/*"}]}`, "Missing required field Action"},
		{"bad action", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:CreateUser","Resource":"arn:aws:s3:::b/*"}]}`, "invalid action"},
		{"no resource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}`, "Missing required field Resource"},
		{"other bucket", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`, "invalid resource"},
		{"not an s3 arn", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:sqs:::b"}]}`, "invalid resource"},
		{"bad operator", `{"Statement":[{` + ok + `,"Condition":{"StringSortOf":{"aws:Referer":"x"}}}]}`, "Invalid Condition type"},
		{"bad ip", `{"Statement":[{` + ok + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.300/8"}}}]}`, "Invalid value"},
		{"bad date", `{"Statement":[{` + ok + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}]}`, "Invalid value"},
		{"duplicate sid", `{"Statement":[{"Sid":"a",` + ok + `},{"Sid":"a",` + ok + `}]}`, "unique"},
		{"both principals", `{"Statement":[{` + ok + `,"NotPrincipal":"*"}]}`, "both Principal and NotPrincipal"},
		{"too large", `{"Statement":[{` + ok + `,"Sid":"` + strings.Repeat("x", maxPolicySize) + `"}]}`, "20 KB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parsePolicy([]byte(tc.doc), "b")
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != "MalformedPolicy" || !strings.Contains(ae.Message, tc.reason) {
				t.Fatalf("got %v, want MalformedPolicy with %q", err, tc.reason)
			}
		})
	}
	// Valid documents, including what MinIO's mc anonymous set writes.
	for _, doc := range []string{
		`{"Statement":{` + ok + `}}`,
		`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"1",` + ok + `}]}`,
		mcPolicy("b", "public"),
		`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::1:root"]},"NotAction":"s3:Get*","NotResource":"arn:aws:s3:::b/pub/*"}]}`,
		`{"Statement":[{` + ok + `,"Condition":{"ForAnyValue:StringLikeIfExists":{"s3:prefix":["a*",1,true]},"Null":{"aws:Referer":"false"}}}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":["*","arn:aws:s3:::b*"]}]}`,
	} {
		if _, err := parsePolicy([]byte(doc), "b"); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

// mcPolicy is the policy MinIO's "mc anonymous set download|upload|public"
// writes for bucket.
func mcPolicy(bucket, kind string) string {
	var bucketActions, objectActions []string
	switch kind {
	case "download":
		bucketActions = []string{"s3:GetBucketLocation", "s3:ListBucket"}
		objectActions = []string{"s3:GetObject"}
	case "upload":
		bucketActions = []string{"s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}
		objectActions = []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:ListMultipartUploadParts", "s3:PutObject"}
	default:
		bucketActions = []string{"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"}
		objectActions = []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"}
	}
	q := func(l []string) string { return `["` + strings.Join(l, `","`) + `"]` }
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":` + q(bucketActions) +
		`,"Resource":["arn:aws:s3:::` + bucket + `"]},{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":` + q(objectActions) +
		`,"Resource":["arn:aws:s3:::` + bucket + `/*"]}]}`
}

// Policy evaluation as AWS does it: an explicit Deny wins, then an Allow;
// otherwise the policy says nothing.
func TestPolicyEvaluate(t *testing.T) {
	const user = "arn:aws:iam::acct:user/alice"
	ctx := func(kv ...string) func(string) ([]string, bool) {
		return func(k string) ([]string, bool) {
			var out []string
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					out = append(out, kv[i+1])
				}
			}
			return out, len(out) > 0
		}
	}
	type req = policyRequest
	get := func(key string, ids ...string) req {
		return req{identities: ids, action: "s3:GetObject", resource: "arn:aws:s3:::b/" + key}
	}
	for _, tc := range []struct {
		name   string
		doc    string
		req    req
		want   policyDecision
		public bool
	}{
		{"anonymous read allowed", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
			get("k"), policyAllow, true},
		{"other action", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
			req{action: "s3:PutObject", resource: "arn:aws:s3:::b/k"}, policyNone, true},
		{"action wildcard, any case", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"S3:get*","Resource":"arn:aws:s3:::b/*"}]}`,
			get("k"), policyAllow, true},
		{"action ?", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:?etObject","Resource":"arn:aws:s3:::b/*"}]}`,
			get("k"), policyAllow, true},
		{"resource prefix", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/pub/*"}]}`,
			get("priv/k"), policyNone, true},
		{"bucket resource is not its objects", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b"}]}`,
			get("k"), policyNone, true},
		{"deny wins", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret/*"}]}`,
			get("secret/k", user), policyDeny, true},
		{"named principal", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["` + user + `"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
			get("k", user), policyAllow, false},
		{"named principal, anonymous", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"` + user + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
			get("k"), policyNone, false},
		{"canonical user", `{"Statement":[{"Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
			get("k", "abc"), policyAllow, false},
		{"not principal denies everyone else", `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"` + user + `"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}`,
			get("k", "arn:aws:iam::acct:user/bob"), policyDeny, false},
		{"not principal spares the named", `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"` + user + `"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}`,
			get("k", user), policyNone, false},
		{"not action", `{"Statement":[{"Effect":"Deny","Principal":"*","NotAction":"s3:Get*","Resource":"arn:aws:s3:::b/*"}]}`,
			req{action: "s3:PutObject", resource: "arn:aws:s3:::b/k"}, policyDeny, false},
		{"not resource", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::b/pub/*"}]}`,
			get("pub/k"), policyNone, false},
		{"secure transport required", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:securetransport", "false")}, policyDeny, false},
		{"secure transport given", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:securetransport", "true")}, policyNone, false},
		{"source ip in range", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.0/8"]}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:sourceip", "127.0.0.1")}, policyAllow, false},
		{"source ip outside", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.1.0.0/16"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:sourceip", "127.0.0.1")}, policyNone, false},
		{"not ip address", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.1.0.0/16"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:sourceip", "127.0.0.1")}, policyDeny, false},
		{"list prefix like", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"home/*"}}}]}`,
			req{action: "s3:ListBucket", resource: "arn:aws:s3:::b", context: ctx("s3:prefix", "home/x")}, policyAllow, true},
		{"list prefix missing", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringEquals":{"s3:prefix":"home/"}}}]}`,
			req{action: "s3:ListBucket", resource: "arn:aws:s3:::b"}, policyNone, true},
		{"string not equals, key missing", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}`,
			req{action: "s3:PutObject", resource: "arn:aws:s3:::b/k"}, policyDeny, false},
		{"string not equals, key matches", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}`,
			req{action: "s3:PutObject", resource: "arn:aws:s3:::b/k", context: ctx("s3:x-amz-acl", "bucket-owner-full-control")}, policyNone, false},
		{"if exists, missing", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEqualsIfExists":{"aws:Referer":"http://x/"}}}]}`,
			get("k"), policyAllow, true},
		{"referer like", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringLike":{"aws:Referer":["http://www.example.com/*"]}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:referer", "http://www.example.com/page")}, policyAllow, true},
		{"existing object tag", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/Class":"public"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("s3:existingobjecttag/Class", "public")}, policyAllow, true},
		{"existing object tag, other value", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/Class":"public"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("s3:existingobjecttag/Class", "secret")}, policyNone, true},
		{"numeric", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"NumericGreaterThan":{"s3:max-keys":"10"}}}]}`,
			req{action: "s3:ListBucket", resource: "arn:aws:s3:::b", context: ctx("s3:max-keys", "100")}, policyDeny, false},
		{"date", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:currenttime", "2026-12-05T00:00:00Z")}, policyAllow, true},
		{"date passed", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:currenttime", "2026-12-05T00:00:00Z")}, policyNone, true},
		{"null", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Null":{"aws:Referer":"true"}}}]}`,
			get("k"), policyDeny, false},
		{"arn like", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::acct:user/*"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:principalarn", user)}, policyAllow, true},
		{"for all values", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAllValues:StringEquals":{"s3:RequestObjectTagKeys":["a","b"]}}}]}`,
			req{action: "s3:PutObject", resource: "arn:aws:s3:::b/k", context: ctx("s3:requestobjecttagkeys", "a", "s3:requestobjecttagkeys", "c")}, policyNone, true},
		{"user agent", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringLike":{"aws:UserAgent":"*curl*"}}}]}`,
			req{action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx("aws:useragent", "curl/8.0")}, policyDeny, false},
		{"mc download", mcPolicy("b", "download"), get("k"), policyAllow, true},
		{"mc download, no put", mcPolicy("b", "download"), req{action: "s3:PutObject", resource: "arn:aws:s3:::b/k"}, policyNone, true},
		{"mc upload", mcPolicy("b", "upload"), req{action: "s3:PutObject", resource: "arn:aws:s3:::b/k"}, policyAllow, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePolicy([]byte(tc.doc), "b")
			if err != nil {
				t.Fatal(err)
			}
			r := tc.req
			if got := p.evaluate(&r, false); got != tc.want {
				t.Errorf("decision %d, want %d", got, tc.want)
			}
			if got := p.isPublic(); got != tc.public {
				t.Errorf("public %v, want %v", got, tc.public)
			}
			if tc.want == policyAllow && tc.public && p.evaluate(&r, true) != policyNone {
				t.Errorf("RestrictPublicBuckets: the public statement still allows")
			}
		})
	}
	// A policy restricted to a source network is not public.
	p, err := parsePolicy([]byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}`), "b")
	if err != nil || p.isPublic() {
		t.Fatalf("source-ip policy: public %v, %v", p != nil && p.isPublic(), err)
	}
	p, err = parsePolicy([]byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/1"}}}]}`), "b")
	if err != nil || !p.isPublic() {
		t.Fatalf("policy open to half the internet is public: %v", err)
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*", "abc", true}, {"a*c", "abbbc", true}, {"a*c", "abcd", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*b*", "abc", true}, {"", "", true}, {"", "a", false},
		{"a**b", "ab", true}, {"arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", true}, {"arn:aws:s3:::b/*", "arn:aws:s3:::bb/x", false},
	} {
		if got := wildcardMatch(tc.p, tc.s, false); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

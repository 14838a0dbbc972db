package s3api

import (
	"testing"
)

// Policy variables (IAM policy elements: variables and tags): in a
// Version 2012-10-17 policy, ${aws:username} and the other condition keys
// are substituted in Resource and in string and ARN condition values;
// ${*}, ${?}, ${$} are literal; a default applies to a key without a
// value; an unresolved variable matches nothing; with 2008-10-17 (or no
// Version) "${...}" is literal text.
func TestPolicyVariables(t *testing.T) {
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
	alice := ctx("aws:username", "alice", "aws:userid", "c0ffee")
	get := func(key string, c func(string) ([]string, bool)) policyRequest {
		return policyRequest{action: "s3:GetObject", resource: "arn:aws:s3:::shared/" + key, context: c}
	}
	list := func(prefix string, c func(string) ([]string, bool)) policyRequest {
		return policyRequest{action: "s3:ListBucket", resource: "arn:aws:s3:::shared", context: func(k string) ([]string, bool) {
			if k == "s3:prefix" {
				return []string{prefix}, true
			}
			return c(k)
		}}
	}
	const home = `"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/home/${aws:username}/*"`
	for _, tc := range []struct {
		name string
		doc  string
		req  policyRequest
		want policyDecision
	}{
		{"own home", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + home + `}]}`,
			get("home/alice/a.txt", alice), policyAllow},
		{"another's home", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + home + `}]}`,
			get("home/bob/a.txt", alice), policyNone},
		{"anonymous: no username, no match", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + home + `}]}`,
			get("home//a.txt", ctx()), policyNone},
		{"2008-10-17: literal", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow",` + home + `}]}`,
			get("home/alice/a.txt", alice), policyNone},
		{"2008-10-17: the literal text matches", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow",` + home + `}]}`,
			get("home/${aws:username}/a.txt", alice), policyAllow},
		{"no Version: literal", `{"Statement":[{"Effect":"Allow",` + home + `}]}`,
			get("home/alice/a.txt", alice), policyNone},
		{"case of the key name", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${AWS:UserName}/*"}]}`,
			get("alice/k", alice), policyAllow},
		{"userid", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${aws:userid}/*"}]}`,
			get("c0ffee/k", alice), policyAllow},
		{"the substituted value is literal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${aws:username}"}]}`,
			get("anything", ctx("aws:username", "*")), policyNone},
		{"the substituted value, as is", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${aws:username}"}]}`,
			get("*", ctx("aws:username", "*")), policyAllow},
		{"${*} is a literal star", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/a${*}b"}]}`,
			get("axb", alice), policyNone},
		{"${*} matches a star", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/a${*}b"}]}`,
			get("a*b", alice), policyAllow},
		{"${?} and ${$}", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${?}${$}*"}]}`,
			get("?$x", alice), policyAllow},
		{"${?} is not a wildcard", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${?}${$}*"}]}`,
			get("x$x", alice), policyNone},
		{"default value", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${aws:username, 'guest'}/*"}]}`,
			get("guest/k", ctx()), policyAllow},
		{"default value with a quote", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${aws:username, 'it''s'}/*"}]}`,
			get("it's/k", ctx()), policyAllow},
		{"default value unused", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${aws:username, 'guest'}/*"}]}`,
			get("guest/k", alice), policyNone},
		{"malformed variable", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${aws:username/*"}]}`,
			get("alice/k", alice), policyNone},
		{"condition value", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared",
			"Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}}]}`, list("home/alice/docs", alice), policyAllow},
		{"condition value, another's prefix", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared",
			"Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}}]}`, list("home/bob/", alice), policyNone},
		{"condition StringEquals", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared",
			"Condition":{"StringEquals":{"s3:prefix":"${aws:userid}/"}}}]}`, list("c0ffee/", alice), policyAllow},
		{"negated condition, unresolved: matches nothing, so the Deny applies", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared",
			"Condition":{"StringNotLike":{"s3:prefix":"home/${aws:username}/*"}}}]}`, list("home/x/", ctx()), policyDeny},
		{"negated condition, own prefix", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared",
			"Condition":{"StringNotLike":{"s3:prefix":"home/${aws:username}/*"}}}]}`, list("home/alice/", alice), policyNone},
		{"condition, 2008-10-17: literal", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared",
			"Condition":{"StringEquals":{"s3:prefix":"${aws:userid}/"}}}]}`, list("c0ffee/", alice), policyNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePolicy([]byte(tc.doc), "shared")
			if err != nil {
				t.Fatal(err)
			}
			if got := p.evaluate(&tc.req, false); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// A fork reads every object of its source: an Allow of s3:GetObject
// applies only when it covers every key without conditions on the
// object; a Deny applies when it could name any key.
func TestPolicyAllKeys(t *testing.T) {
	all := policyRequest{action: "s3:GetObject", resource: "arn:aws:s3:::src/", allKeys: true,
		context: func(string) ([]string, bool) { return nil, false }}
	for _, tc := range []struct {
		name string
		doc  string
		want policyDecision
	}{
		{"every object", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"}]}`, policyAllow},
		{"every bucket", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, policyAllow},
		{"bucket name wildcard", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::s*"}]}`, policyAllow},
		{"a prefix only", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/pub/*"}]}`, policyNone},
		{"one key only", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/k"}]}`, policyNone},
		{"the bucket, not its objects", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src"}]}`, policyNone},
		{"allow with NotResource of a prefix", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::src/secret/*"}]}`, policyNone},
		{"allow with NotResource of the bucket itself", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::src"}]}`, policyAllow},
		{"allow on an object tag", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*",
			"Condition":{"StringEquals":{"s3:ExistingObjectTag/public":"yes"}}}]}`, policyNone},
		{"deny of a prefix", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/secret/*"}]}`, policyDeny},
		{"deny of one key", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/k?y"}]}`, policyDeny},
		{"deny on an object tag", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/secret":"yes"}}}]}`, policyDeny},
		{"deny of the bucket itself", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src"}]}`, policyAllow},
		{"deny with NotResource of a prefix", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::src/pub/*"}]}`, policyDeny},
		{"deny with NotResource of every object", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::src/*"}]}`, policyAllow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePolicy([]byte(tc.doc), "src")
			if err != nil {
				t.Fatal(err)
			}
			if got := p.evaluate(&all, false); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// The automaton behind coversAll and overlapsAny.
func TestPatternPrefix(t *testing.T) {
	for _, tc := range []struct {
		pattern, prefix  string
		covers, overlaps bool
	}{
		{"a/*", "a/", true, true},
		{"a*", "a/", true, true},
		{"*", "a/", true, true},
		{"a/b*", "a/", false, true},
		{"a/?", "a/", false, true},
		{"b/*", "a/", false, false},
		{"a", "a/", false, false},
		{"a/**", "a/", true, true},
		{"*/x", "a/", false, true},
	} {
		if got := coversAll(tc.pattern, nil, tc.prefix); got != tc.covers {
			t.Errorf("coversAll(%q, %q) = %v", tc.pattern, tc.prefix, got)
		}
		if got := overlapsAny(tc.pattern, nil, tc.prefix); got != tc.overlaps {
			t.Errorf("overlapsAny(%q, %q) = %v", tc.pattern, tc.prefix, got)
		}
	}
	// matchPat agrees with wildcardMatch where nothing is literal.
	for _, tc := range [][2]string{{"a*b", "axxb"}, {"a?b", "ab"}, {"*", ""}, {"a*", "b"}, {"?*?", "ab"}} {
		lit := make([]bool, len(tc[0]))
		if matchPat(tc[0], lit, tc[1]) != wildcardMatch(tc[0], tc[1], false) {
			t.Errorf("matchPat(%q, %q) disagrees", tc[0], tc[1])
		}
	}
}

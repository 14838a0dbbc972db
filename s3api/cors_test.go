package s3api

import (
	"errors"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/meta"
)

func TestCORSWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "http://anything:8080", false, true},
		{"http://a.example", "http://a.example", false, true},
		{"http://a.example", "http://a.example:80", false, false},
		{"http://*.example.com", "http://app.example.com", false, true},
		{"http://*.example.com", "http://example.com", false, false},
		{"http://*.example.com", "https://app.example.com", false, false},
		{"http://127.0.0.1:*", "http://127.0.0.1:40211", false, true},
		{"start*end", "startend", false, true},
		{"start*end", "startXend", false, true},
		{"start*end", "startend2", false, false},
		// The prefix and suffix may not overlap.
		{"ab*ba", "aba", false, false},
		{"x-amz-*", "X-Amz-Date", true, true},
		{"x-amz-*", "X-Amz-Date", false, false},
		{"Content-Type", "content-type", true, true},
	}
	for _, tt := range tests {
		if got := corsWildcardMatch(tt.pattern, tt.s, tt.fold); got != tt.want {
			t.Errorf("corsWildcardMatch(%q, %q, %v) = %v, want %v", tt.pattern, tt.s, tt.fold, got, tt.want)
		}
	}
}

// The first rule matching origin, method and every requested header
// wins; a rule is skipped when any of the three fails.
func TestCORSMatch(t *testing.T) {
	rules := []meta.CORSRule{
		{ID: "get-any", AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "HEAD"}},
		{ID: "app", AllowedOrigins: []string{"http://app.example", "https://*.example.org"}, AllowedMethods: []string{"PUT", "POST", "GET"},
			AllowedHeaders: []string{"content-type", "x-amz-*"}},
		{ID: "delete", AllowedOrigins: []string{"http://admin.example"}, AllowedMethods: []string{"DELETE"}, AllowedHeaders: []string{"*"}},
	}
	id := func(r *meta.CORSRule) string {
		if r == nil {
			return ""
		}
		return r.ID
	}
	tests := []struct {
		origin, method string
		headers        []string
		want           string
	}{
		{"http://evil.example", "GET", nil, "get-any"},
		{"http://app.example", "GET", nil, "get-any"},
		// The first rule does not allow the header: the second does.
		{"http://app.example", "GET", []string{"x-amz-date"}, "app"},
		{"http://app.example", "PUT", []string{"content-type", "x-amz-meta-a"}, "app"},
		{"https://a.b.example.org", "POST", nil, "app"},
		{"http://a.example.org", "POST", nil, ""},
		{"http://app.example", "PUT", []string{"authorization"}, ""},
		{"http://app.example", "DELETE", nil, ""},
		{"http://evil.example", "PUT", nil, ""},
		{"http://admin.example", "DELETE", []string{"authorization", "x-anything"}, "delete"},
		// Methods are case-sensitive, as on S3.
		{"http://admin.example", "delete", nil, ""},
	}
	for _, tt := range tests {
		if got := id(corsMatch(rules, tt.origin, tt.method, tt.headers)); got != tt.want {
			t.Errorf("corsMatch(%q, %q, %q) = rule %q, want %q", tt.origin, tt.method, tt.headers, got, tt.want)
		}
	}
	if got := requestHeaderList(" Content-Type ,X-Amz-Date,, "); strings.Join(got, "|") != "content-type|x-amz-date" {
		t.Errorf("requestHeaderList: %q", got)
	}
}

func TestParseCORS(t *testing.T) {
	doc := `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule><ID>web</ID><AllowedOrigin>http://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>
  <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
</CORSConfiguration>`
	rules, err := parseCORS([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].ID != "web" || rules[0].MaxAgeSeconds != 3000 || strings.Join(rules[0].AllowedMethods, ",") != "PUT,GET" ||
		rules[0].ExposeHeaders[0] != "ETag" || rules[1].MaxAgeSeconds != -1 || rules[1].AllowedHeaders != nil {
		t.Fatalf("rules %+v", rules)
	}

	rule := func(inner string) string {
		return "<CORSConfiguration><CORSRule>" + inner + "</CORSRule></CORSConfiguration>"
	}
	bad := []struct {
		doc, code, msg string
	}{
		{"<CORSConfiguration></CORSConfiguration>", "MalformedXML", ""},
		{"not xml", "MalformedXML", ""},
		{rule("<AllowedMethod>GET</AllowedMethod>"), "MalformedXML", ""},
		{rule("<AllowedOrigin>*</AllowedOrigin>"), "MalformedXML", ""},
		{rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"), "InvalidRequest", "Unsupported method is PATCH"},
		{rule("<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), "InvalidRequest", "more than one wildcard"},
		{rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>a*b*</AllowedHeader>"), "InvalidRequest", "more than one wildcard"},
		{rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>*</ExposeHeader>"), "InvalidRequest", "wildcard"},
		{rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds>"), "MalformedXML", ""},
		{"<CORSConfiguration>" + strings.Repeat("<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>", 101) + "</CORSConfiguration>", "MalformedXML", "at most 100"},
	}
	for _, tt := range bad {
		_, err := parseCORS([]byte(tt.doc))
		var api *APIError
		if !errors.As(err, &api) || api.Code != tt.code || !strings.Contains(api.Message, tt.msg) {
			t.Errorf("parseCORS(%.80q) = %v, want %s %q", tt.doc, err, tt.code, tt.msg)
		}
	}
}

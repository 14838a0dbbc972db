package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/forkstore/forkstore/meta"
)

// CORS as S3 does it. A bucket's rules (PutBucketCors) decide:
//   - a preflight (OPTIONS with Origin and Access-Control-Request-Method,
//     never signed) is answered from the first rule whose AllowedOrigin,
//     AllowedMethod and AllowedHeader match it, or refused with 403
//     AccessForbidden;
//   - an actual request with an Origin header (signed, presigned or
//     anonymous) gets the Access-Control-* headers of the first rule
//     matching its origin and method, whatever its outcome: errors carry
//     them too, so a page can read why its request failed.
//
// Rules only say which pages a browser lets read the answers; they grant
// nothing: every request is authenticated and authorized as without them.
// A fork starts with no CORS configuration (meta/cors.go).

// maxCORSRules is S3's limit on rules per configuration.
const maxCORSRules = 100

// maxCORSBody is S3's limit on a CORS configuration document (64 KB).
const maxCORSBody = 64 << 10

// corsMethods are the methods a rule may allow.
var corsMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "DELETE": true, "HEAD": true}

var (
	errNoSuchCORS     = &APIError{"NoSuchCORSConfiguration", "The CORS configuration does not exist", http.StatusNotFound}
	errCORSNotEnabled = &APIError{"AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", http.StatusForbidden}
	errCORSNotAllowed = &APIError{"AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually because the " +
		"evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers " +
		"are not whitelisted by the resource's CORS spec.", http.StatusForbidden}
	errPreflightNoOrigin = &APIError{"BadRequest", "Insufficient information. Origin request header needed.", http.StatusBadRequest}
)

// CORSConfiguration is the document of Put/GetBucketCors.
type CORSConfiguration struct {
	XMLName xml.Name      `xml:"CORSConfiguration"`
	Rules   []CORSRuleXML `xml:"CORSRule"`
}

// CORSRuleXML is one CORSRule element.
type CORSRuleXML struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds"`
}

// corsResponse is the GetBucketCors answer (with S3's namespace).
type corsResponse struct {
	XMLName xml.Name      `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CORSConfiguration"`
	Rules   []CORSRuleXML `xml:"CORSRule"`
}

// parseCORS reads and validates a CORS configuration document.
func parseCORS(data []byte) ([]meta.CORSRule, error) {
	if len(data) > maxCORSBody {
		return nil, errMaxMessageLength
	}
	var doc CORSConfiguration
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Rules) == 0 {
		return nil, ErrMalformedXML
	}
	if len(doc.Rules) > maxCORSRules {
		return nil, ErrMalformedXML.WithMessage("The CORS configuration may have at most 100 rules.")
	}
	out := make([]meta.CORSRule, 0, len(doc.Rules))
	for _, x := range doc.Rules {
		if len(x.AllowedOrigins) == 0 || len(x.AllowedMethods) == 0 || len(x.ID) > 255 {
			return nil, ErrMalformedXML
		}
		rule := meta.CORSRule{ID: x.ID, MaxAgeSeconds: -1}
		for _, m := range x.AllowedMethods {
			m = strings.TrimSpace(m)
			if !corsMethods[m] {
				return nil, ErrInvalidRequest.WithMessage("Found unsupported HTTP method in CORS config. Unsupported method is " + m)
			}
			rule.AllowedMethods = append(rule.AllowedMethods, m)
		}
		for _, o := range x.AllowedOrigins {
			o = strings.TrimSpace(o)
			if strings.Count(o, "*") > 1 {
				return nil, ErrInvalidRequest.WithMessage(`AllowedOrigin "` + o + `" can not have more than one wildcard.`)
			}
			rule.AllowedOrigins = append(rule.AllowedOrigins, o)
		}
		for _, h := range x.AllowedHeaders {
			h = strings.TrimSpace(h)
			if strings.Count(h, "*") > 1 {
				return nil, ErrInvalidRequest.WithMessage(`AllowedHeader "` + h + `" can not have more than one wildcard.`)
			}
			rule.AllowedHeaders = append(rule.AllowedHeaders, h)
		}
		for _, h := range x.ExposeHeaders {
			h = strings.TrimSpace(h)
			if h == "" || strings.Contains(h, "*") {
				return nil, ErrInvalidRequest.WithMessage(`ExposeHeader "` + h + `" contains wildcard. We currently do not support wildcard for ExposeHeader.`)
			}
			rule.ExposeHeaders = append(rule.ExposeHeaders, h)
		}
		if x.MaxAgeSeconds != nil {
			if *x.MaxAgeSeconds < 0 {
				return nil, ErrMalformedXML
			}
			rule.MaxAgeSeconds = *x.MaxAgeSeconds
		}
		out = append(out, rule)
	}
	return out, nil
}

// corsWildcardMatch matches s against a pattern with at most one '*'
// (any run of characters, empty included).
func corsWildcardMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	pre, suf, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(pre)+len(suf) && strings.HasPrefix(s, pre) && strings.HasSuffix(s, suf)
}

// corsMatch returns the first rule that allows origin to use method with
// the given request headers (lower case), or nil.
func corsMatch(rules []meta.CORSRule, origin, method string, headers []string) *meta.CORSRule {
	for i := range rules {
		rule := &rules[i]
		if !matchesAny(rule.AllowedOrigins, origin, false) || !contains(rule.AllowedMethods, method) {
			continue
		}
		ok := true
		for _, h := range headers {
			if !matchesAny(rule.AllowedHeaders, h, true) {
				ok = false
				break
			}
		}
		if ok {
			return rule
		}
	}
	return nil
}

func matchesAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if corsWildcardMatch(p, s, fold) {
			return true
		}
	}
	return false
}

// requestHeaderList splits Access-Control-Request-Headers into lower-case
// names.
func requestHeaderList(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// setCORSHeaders sets the Access-Control-* headers of a matched rule.
// allowHeaders is what a preflight asked for (nil on actual requests).
func setCORSHeaders(r *request, rule *meta.CORSRule, origin string, preflight bool, allowHeaders []string) {
	if contains(rule.AllowedOrigins, "*") {
		r.set("Access-Control-Allow-Origin", "*")
	} else {
		r.set("Access-Control-Allow-Origin", origin)
		r.set("Access-Control-Allow-Credentials", "true")
	}
	r.set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(rule.ExposeHeaders) > 0 {
		r.set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if preflight {
		if len(allowHeaders) > 0 {
			r.set("Access-Control-Allow-Headers", strings.Join(allowHeaders, ", "))
		}
		if rule.MaxAgeSeconds >= 0 {
			r.set("Access-Control-Max-Age", strconv.Itoa(rule.MaxAgeSeconds))
		}
	}
}

// setVary says that answers for this bucket depend on the CORS headers
// of the request (caches must not serve one origin's answer to another).
func setVary(r *request) {
	r.set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
}

// corsActual adds the Access-Control-* headers to an actual request from
// a browser (one with an Origin header) addressed to a bucket with CORS
// rules. It runs before the handler, so errors carry them as well.
func (s *Server) corsActual(r *request) {
	origin := r.header.Get("Origin")
	if origin == "" || r.route.Bucket == "" || r.route.Op == OpPreflight || r.route.Op == OpAdmin {
		return
	}
	rules, err := s.svc.BucketCORS(r.ctx, r.route.Bucket)
	if err != nil || len(rules) == 0 {
		return
	}
	setVary(r)
	if rule := corsMatch(rules, origin, r.method, nil); rule != nil {
		setCORSHeaders(r, rule, origin, false, nil)
	}
}

// preflight answers a CORS preflight (OPTIONS) from the bucket's rules.
func (s *Server) preflight(r *request) (*response, error) {
	origin := r.header.Get("Origin")
	if origin == "" {
		return nil, errPreflightNoOrigin
	}
	method := r.header.Get("Access-Control-Request-Method")
	if !corsMethods[method] {
		return nil, ErrBadRequest.WithMessage("Invalid Access-Control-Request-Method: " + method)
	}
	rules, err := s.svc.BucketCORS(r.ctx, r.route.Bucket)
	if err != nil && !errors.Is(err, meta.ErrNoSuchBucket) {
		return nil, err
	}
	if len(rules) == 0 {
		// A missing bucket answers as one without rules: unsigned
		// requests cannot probe for bucket names.
		return nil, errCORSNotEnabled
	}
	setVary(r)
	headers := requestHeaderList(r.header.Get("Access-Control-Request-Headers"))
	rule := corsMatch(rules, origin, method, headers)
	if rule == nil {
		return nil, errCORSNotAllowed
	}
	setCORSHeaders(r, rule, origin, true, headers)
	return &response{}, nil
}

// getBucketCors is GetBucketCors.
func (s *Server) getBucketCors(r *request) (*response, error) {
	rules, err := s.svc.BucketCORS(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		return nil, errNoSuchCORS
	}
	doc := corsResponse{}
	for _, rule := range rules {
		x := CORSRuleXML{ID: rule.ID, AllowedHeaders: rule.AllowedHeaders, AllowedMethods: rule.AllowedMethods,
			AllowedOrigins: rule.AllowedOrigins, ExposeHeaders: rule.ExposeHeaders}
		if rule.MaxAgeSeconds >= 0 {
			n := rule.MaxAgeSeconds
			x.MaxAgeSeconds = &n
		}
		doc.Rules = append(doc.Rules, x)
	}
	return &response{xml: doc}, nil
}

// putBucketCors is PutBucketCors: the rules replace the bucket's.
func (s *Server) putBucketCors(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	rules, err := parseCORS(data)
	if err != nil {
		return nil, err
	}
	if err := s.svc.SetBucketCORS(r.ctx, r.route.Bucket, rules); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// deleteBucketCors is DeleteBucketCors (204, with or without rules).
func (s *Server) deleteBucketCors(r *request) (*response, error) {
	if err := s.svc.SetBucketCORS(r.ctx, r.route.Bucket, nil); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

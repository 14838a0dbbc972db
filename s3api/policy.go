package s3api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Bucket policies: the IAM policy language as S3 uses it in a bucket
// policy (PutBucketPolicy). parsePolicy checks a document and answers
// MalformedPolicy with the reason; evaluate decides one request against a
// parsed policy: an explicit Deny wins, then an Allow, else the policy
// says nothing and the other grants (ownership, scope, ACLs) decide
// (authz.go).
//
// Supported: Version (2012-10-17, 2008-10-17), Id, Statement (one or a
// list), Sid, Effect, Principal ("*", {"AWS": ...}, {"CanonicalUser":
// ...}), NotPrincipal, Action/NotAction with * and ? wildcards
// (case-insensitive), Resource/NotResource (arn:aws:s3:::bucket and
// arn:aws:s3:::bucket/key patterns), and Condition with the String*,
// Arn*, IpAddress/NotIpAddress, Bool, Numeric*, Date* and Null
// operators, their ...IfExists forms and the ForAnyValue:/ForAllValues:
// qualifiers. Policy variables (${aws:username}, ${*}, ${?}, ${$}) are
// substituted in Resource, NotResource and the values of string and ARN
// conditions of policies of Version 2012-10-17 (policyvars.go); with
// 2008-10-17 or no Version they are literal text, as on AWS.

// maxPolicySize is AWS's limit on a bucket policy document.
const maxPolicySize = 20 << 10

// policyVersions are the policy language versions S3 accepts.
var policyVersions = map[string]bool{"2012-10-17": true, "2008-10-17": true}

// Policy is a parsed bucket policy.
type Policy struct {
	Version    string
	ID         string
	Statements []PolicyStatement
}

// PolicyStatement is one statement of a policy.
type PolicyStatement struct {
	Sid   string
	Allow bool // Effect: Allow (else Deny)
	// Principal, or NotPrincipal when Not is set.
	Principals   policyPrincipals
	NotPrincipal bool
	// Actions (lower case), or NotAction when NotAction is set.
	Actions   []string
	NotAction bool
	// Resources, or NotResource when NotResource is set.
	Resources   []string
	NotResource bool
	Conditions  []policyCondition
	// vars: the policy's Version (2012-10-17) substitutes policy
	// variables in Resources and condition values.
	vars bool
}

// policyPrincipals are the principals a statement names.
type policyPrincipals struct {
	any bool     // "*" or {"AWS": "*"}
	ids []string // ARNs, account ids, canonical user ids
}

// policyCondition is one operator applied to one key.
type policyCondition struct {
	op       string // base operator, e.g. "stringlike" (lower case, without IfExists)
	ifExists bool
	forAll   bool // ForAllValues:
	forAny   bool // ForAnyValue:
	key      string
	values   []string
	vars     bool // substitute policy variables in values (string and ARN operators)
}

// errMalformedPolicy is MalformedPolicy with a reason.
func errMalformedPolicy(reason string) *APIError {
	return &APIError{"MalformedPolicy", reason, http.StatusBadRequest}
}

// conditionOps are the condition operators (lower case); negated says
// which ones match when no value matches.
var conditionOps = map[string]struct{ negated bool }{
	"stringequals": {}, "stringnotequals": {true}, "stringequalsignorecase": {}, "stringnotequalsignorecase": {true},
	"stringlike": {}, "stringnotlike": {true},
	"arnequals": {}, "arnnotequals": {true}, "arnlike": {}, "arnnotlike": {true},
	"ipaddress": {}, "notipaddress": {true},
	"bool":          {},
	"numericequals": {}, "numericnotequals": {true}, "numericlessthan": {}, "numericlessthanequals": {},
	"numericgreaterthan": {}, "numericgreaterthanequals": {},
	"dateequals": {}, "datenotequals": {true}, "datelessthan": {}, "datelessthanequals": {},
	"dategreaterthan": {}, "dategreaterthanequals": {},
	"null": {},
}

// parsePolicy parses and checks a bucket policy for bucket.
func parsePolicy(data []byte, bucket string) (*Policy, error) {
	if len(data) > maxPolicySize {
		return nil, errMalformedPolicy("Policies must be no larger than 20 KB")
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errMalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &doc); err != nil {
		return nil, errMalformedPolicy("Policies must be valid JSON: " + err.Error())
	}
	p := &Policy{}
	var stmts json.RawMessage
	for _, k := range sortedKeys(doc) {
		v := doc[k]
		switch k {
		case "Version":
			if err := json.Unmarshal(v, &p.Version); err != nil || !policyVersions[p.Version] {
				return nil, errMalformedPolicy("Invalid policy version: " + string(v))
			}
		case "Id":
			if err := json.Unmarshal(v, &p.ID); err != nil {
				return nil, errMalformedPolicy("Id must be a string")
			}
		case "Statement":
			stmts = v
		default:
			return nil, errMalformedPolicy("Unknown field " + k)
		}
	}
	if stmts == nil {
		return nil, errMalformedPolicy("Missing required field Statement")
	}
	var list []map[string]json.RawMessage
	if t := bytes.TrimSpace(stmts); len(t) > 0 && t[0] == '{' {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(t, &one); err != nil {
			return nil, errMalformedPolicy("Statement must be an object or a list of objects")
		}
		list = append(list, one)
	} else if err := json.Unmarshal(stmts, &list); err != nil {
		return nil, errMalformedPolicy("Statement must be an object or a list of objects")
	}
	if len(list) == 0 {
		return nil, errMalformedPolicy("Could not parse the policy: Statement is empty!")
	}
	sids := map[string]bool{}
	for _, raw := range list {
		st, err := parseStatement(raw, bucket)
		if err != nil {
			return nil, err
		}
		if st.Sid != "" {
			if sids[st.Sid] {
				return nil, errMalformedPolicy("Statement IDs (SID) must be unique: " + st.Sid)
			}
			sids[st.Sid] = true
		}
		p.Statements = append(p.Statements, st)
	}
	if p.Version == "2012-10-17" {
		for i := range p.Statements {
			st := &p.Statements[i]
			st.vars = true
			for j := range st.Conditions {
				st.Conditions[j].vars = true
			}
		}
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stringOrList decodes a JSON string or list of strings.
func stringOrList(v json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(v, &one) == nil {
		return []string{one}, true
	}
	var list []string
	if json.Unmarshal(v, &list) == nil && len(list) > 0 {
		return list, true
	}
	return nil, false
}

func parseStatement(raw map[string]json.RawMessage, bucket string) (PolicyStatement, error) {
	var st PolicyStatement
	has := func(k string) bool { _, ok := raw[k]; return ok }
	for _, k := range sortedKeys(raw) {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return st, errMalformedPolicy("Unknown field " + k)
		}
	}
	if has("Sid") {
		if err := json.Unmarshal(raw["Sid"], &st.Sid); err != nil {
			return st, errMalformedPolicy("Sid must be a string")
		}
	}
	var effect string
	if !has("Effect") {
		return st, errMalformedPolicy("Missing required field Effect")
	}
	if err := json.Unmarshal(raw["Effect"], &effect); err != nil || (effect != "Allow" && effect != "Deny") {
		return st, errMalformedPolicy("Invalid effect: " + string(raw["Effect"]))
	}
	st.Allow = effect == "Allow"

	switch {
	case has("Principal") && has("NotPrincipal"):
		return st, errMalformedPolicy("Statement cannot have both Principal and NotPrincipal")
	case has("Principal"):
		p, err := parsePrincipal(raw["Principal"])
		if err != nil {
			return st, err
		}
		st.Principals = p
	case has("NotPrincipal"):
		p, err := parsePrincipal(raw["NotPrincipal"])
		if err != nil {
			return st, err
		}
		st.Principals, st.NotPrincipal = p, true
	default:
		return st, errMalformedPolicy("Missing required field Principal")
	}

	var actions json.RawMessage
	switch {
	case has("Action") && has("NotAction"):
		return st, errMalformedPolicy("Statement cannot have both Action and NotAction")
	case has("Action"):
		actions = raw["Action"]
	case has("NotAction"):
		actions, st.NotAction = raw["NotAction"], true
	default:
		return st, errMalformedPolicy("Missing required field Action")
	}
	list, ok := stringOrList(actions)
	if !ok {
		return st, errMalformedPolicy("Action must be a string or a list of strings")
	}
	for _, a := range list {
		la := strings.ToLower(a)
		if la != "*" && (!strings.HasPrefix(la, "s3:") || len(la) == 3 || strings.ContainsAny(la[3:], ": /")) {
			return st, errMalformedPolicy("Policy has invalid action: " + a)
		}
		st.Actions = append(st.Actions, la)
	}

	var resources json.RawMessage
	switch {
	case has("Resource") && has("NotResource"):
		return st, errMalformedPolicy("Statement cannot have both Resource and NotResource")
	case has("Resource"):
		resources = raw["Resource"]
	case has("NotResource"):
		resources, st.NotResource = raw["NotResource"], true
	default:
		return st, errMalformedPolicy("Missing required field Resource")
	}
	if list, ok = stringOrList(resources); !ok {
		return st, errMalformedPolicy("Resource must be a string or a list of strings")
	}
	for _, r := range list {
		if !validResource(r, bucket) {
			return st, errMalformedPolicy("Policy has invalid resource: " + r)
		}
		st.Resources = append(st.Resources, r)
	}

	if has("Condition") {
		conds, err := parseConditions(raw["Condition"])
		if err != nil {
			return st, err
		}
		st.Conditions = conds
	}
	return st, nil
}

// validResource reports whether a Resource of a policy of bucket can
// name that bucket or its objects, as S3 requires.
func validResource(r, bucket string) bool {
	if r == "*" {
		return true
	}
	rest, ok := strings.CutPrefix(r, "arn:aws:s3:::")
	if !ok || rest == "" {
		return false
	}
	b, _, _ := strings.Cut(rest, "/")
	// A wildcard in the bucket part may cover the bucket; b itself may
	// end in "*" that spans into the key ("arn:aws:s3:::bucket*").
	return wildcardMatch(b, bucket, false) || strings.HasSuffix(b, "*") && wildcardMatch(b, bucket+"/", false)
}

func parsePrincipal(v json.RawMessage) (policyPrincipals, error) {
	var p policyPrincipals
	var s string
	if json.Unmarshal(v, &s) == nil {
		if s != "*" {
			return p, errMalformedPolicy("Invalid principal in policy: " + s)
		}
		p.any = true
		return p, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || len(m) == 0 {
		return p, errMalformedPolicy("Invalid principal in policy")
	}
	for _, k := range sortedKeys(m) {
		ids, ok := stringOrList(m[k])
		if !ok {
			return p, errMalformedPolicy("Invalid principal in policy: " + k)
		}
		switch k {
		case "AWS", "CanonicalUser":
			for _, id := range ids {
				if id == "*" {
					p.any = true
					continue
				}
				if id == "" {
					return p, errMalformedPolicy("Invalid principal in policy: empty " + k)
				}
				p.ids = append(p.ids, id)
			}
		case "Service", "Federated":
			// AWS service and federated principals never sign requests
			// here: they name nobody.
		default:
			return p, errMalformedPolicy("Invalid principal in policy: " + k)
		}
	}
	return p, nil
}

func parseConditions(v json.RawMessage) ([]policyCondition, error) {
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, errMalformedPolicy("Condition must map operators to objects of keys and values")
	}
	var out []policyCondition
	for _, opName := range sortedKeys(m) {
		c := policyCondition{}
		name := opName
		if q, rest, ok := strings.Cut(name, ":"); ok {
			switch strings.ToLower(q) {
			case "forallvalues":
				c.forAll = true
			case "foranyvalue":
				c.forAny = true
			default:
				return nil, errMalformedPolicy("Invalid Condition type : " + opName)
			}
			name = rest
		}
		lower := strings.ToLower(name)
		if base, ok := strings.CutSuffix(lower, "ifexists"); ok && base != "null" {
			c.ifExists, lower = true, base
		}
		if _, ok := conditionOps[lower]; !ok {
			return nil, errMalformedPolicy("Invalid Condition type : " + opName)
		}
		c.op = lower
		for _, key := range sortedKeys(m[opName]) {
			vals, err := conditionValues(m[opName][key])
			if err != nil {
				return nil, err
			}
			cc := c
			cc.key, cc.values = key, vals
			if err := checkConditionValues(&cc); err != nil {
				return nil, err
			}
			out = append(out, cc)
		}
	}
	return out, nil
}

// conditionValues decodes a condition's value: a string, number or bool,
// or a list of those.
func conditionValues(v json.RawMessage) ([]string, error) {
	var any1 any
	if err := json.Unmarshal(v, &any1); err != nil {
		return nil, errMalformedPolicy("Invalid condition value")
	}
	items, ok := any1.([]any)
	if !ok {
		items = []any{any1}
	}
	var out []string
	for _, it := range items {
		switch x := it.(type) {
		case string:
			out = append(out, x)
		case bool:
			out = append(out, strconv.FormatBool(x))
		case float64:
			out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
		default:
			return nil, errMalformedPolicy("Invalid condition value")
		}
	}
	if len(out) == 0 {
		return nil, errMalformedPolicy("Condition values must not be empty")
	}
	return out, nil
}

// checkConditionValues refuses values an operator cannot compare.
func checkConditionValues(c *policyCondition) error {
	for _, v := range c.values {
		var ok bool
		switch {
		case strings.HasPrefix(c.op, "ipaddress"), c.op == "notipaddress":
			_, ok = parseCIDR(v)
		case strings.HasPrefix(c.op, "numeric"):
			_, err := strconv.ParseFloat(v, 64)
			ok = err == nil
		case strings.HasPrefix(c.op, "date"):
			_, ok = parseDate(v)
		case c.op == "bool", c.op == "null":
			ok = v == "true" || v == "false"
		default:
			ok = true
		}
		if !ok {
			return errMalformedPolicy(fmt.Sprintf("Invalid value %q for condition %s of %s", v, c.op, c.key))
		}
	}
	return nil
}

func parseCIDR(v string) (*net.IPNet, bool) {
	if !strings.Contains(v, "/") {
		ip := net.ParseIP(v)
		if ip == nil {
			return nil, false
		}
		bits := 128
		if ip.To4() != nil {
			ip, bits = ip.To4(), 32
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, true
	}
	_, n, err := net.ParseCIDR(v)
	return n, err == nil
}

func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// policyRequest is what a policy is evaluated against.
type policyRequest struct {
	// identities name the requester (ARNs, account id, canonical user
	// id); empty for an anonymous request.
	identities []string
	action     string // "s3:GetObject"
	resource   string // "arn:aws:s3:::bucket" or "arn:aws:s3:::bucket/key"
	// allKeys: the request reads every object of the bucket (a fork of
	// it): resource is "arn:aws:s3:::bucket/" and stands for every key
	// after it (policyvars.go, resourceMatches).
	allKeys bool
	// context returns the values of a condition key (lower case, with
	// the case of a tag key kept after the "/"); ok is false when the
	// request has no value for it.
	context func(key string) (values []string, ok bool)
}

// policyDecision is what a policy says of a request.
type policyDecision int

const (
	policyNone policyDecision = iota // no statement applies
	policyAllow
	policyDeny
)

// evaluate decides req by p: Deny when a Deny statement applies, else
// Allow when an Allow statement applies, else None. skipPublic ignores
// the Allow statements that make the policy public (RestrictPublicBuckets).
func (p *Policy) evaluate(req *policyRequest, skipPublic bool) policyDecision {
	if p == nil {
		return policyNone
	}
	out := policyNone
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.applies(req) {
			continue
		}
		if !st.Allow {
			return policyDeny
		}
		if skipPublic && st.public() {
			continue
		}
		out = policyAllow
	}
	return out
}

// applies reports whether the statement matches the request.
func (st *PolicyStatement) applies(req *policyRequest) bool {
	if st.Principals.matches(req.identities) == st.NotPrincipal {
		return false
	}
	if anyMatch(st.Actions, req.action, true) == st.NotAction {
		return false
	}
	if !st.resourceMatches(req) {
		return false
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if req.allKeys && perObjectKey(c.key) {
			// A condition on each object's own state cannot hold for
			// every object: an Allow does not apply, a Deny may.
			if st.Allow {
				return false
			}
			continue
		}
		if !c.holds(req) {
			return false
		}
	}
	return true
}

func (p policyPrincipals) matches(ids []string) bool {
	if p.any {
		return true
	}
	for _, want := range p.ids {
		for _, id := range ids {
			if want == id {
				return true
			}
		}
	}
	return false
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if wildcardMatch(p, s, fold) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against a pattern where * is any run of
// characters and ? any one character.
func wildcardMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// Iterative matching with backtracking to the last *.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// conditionKey normalizes a condition key: case-insensitive, except the
// tag key after "s3:ExistingObjectTag/" and "s3:RequestObjectTag/".
func conditionKey(k string) string {
	if pre, tag, ok := strings.Cut(k, "/"); ok {
		return strings.ToLower(pre) + "/" + tag
	}
	return strings.ToLower(k)
}

// holds evaluates one condition.
func (c *policyCondition) holds(req *policyRequest) bool {
	var (
		vals []string
		ok   bool
	)
	if req.context != nil {
		vals, ok = req.context(conditionKey(c.key))
	}
	if c.op == "null" {
		// "true": the key must be absent; "false": present.
		return (c.values[0] == "true") == !ok
	}
	negated := conditionOps[c.op].negated
	if !ok || len(vals) == 0 {
		if c.forAll {
			return true
		}
		return c.ifExists || negated && !c.forAny
	}
	if c.forAll {
		for _, v := range vals {
			if !c.matchOne(req, v, negated) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.matchOne(req, v, negated) {
			return true
		}
	}
	return false
}

// matchOne reports whether one request value satisfies the condition.
func (c *policyCondition) matchOne(req *policyRequest, v string, negated bool) bool {
	hit := false
	for _, want := range c.values {
		if c.vars && strings.Contains(want, "${") && c.takesVars() {
			// A value whose variables do not resolve matches nothing.
			if c.compareVars(req, want, v) {
				hit = true
				break
			}
			continue
		}
		if c.compare(want, v) {
			hit = true
			break
		}
	}
	if negated {
		return !hit
	}
	return hit
}

// compare applies the operator (its positive form) to a policy value and
// a request value.
func (c *policyCondition) compare(want, got string) bool {
	switch c.op {
	case "stringequals", "stringnotequals":
		return want == got
	case "stringequalsignorecase", "stringnotequalsignorecase":
		return strings.EqualFold(want, got)
	case "stringlike", "stringnotlike", "arnlike", "arnnotlike":
		return wildcardMatch(want, got, false)
	case "arnequals", "arnnotequals":
		return want == got
	case "ipaddress", "notipaddress":
		n, ok := parseCIDR(want)
		ip := net.ParseIP(got)
		return ok && ip != nil && n.Contains(ip)
	case "bool":
		return strings.EqualFold(want, got)
	}
	if strings.HasPrefix(c.op, "numeric") {
		w, err1 := strconv.ParseFloat(want, 64)
		g, err2 := strconv.ParseFloat(got, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return compareOrdered(strings.TrimPrefix(c.op, "numeric"), g, w)
	}
	if strings.HasPrefix(c.op, "date") {
		w, ok1 := parseDate(want)
		g, ok2 := parseDate(got)
		if !ok1 || !ok2 {
			return false
		}
		return compareOrdered(strings.TrimPrefix(c.op, "date"), float64(g.UnixNano()), float64(w.UnixNano()))
	}
	return false
}

// compareOrdered compares a request value got with a policy value want.
func compareOrdered(rel string, got, want float64) bool {
	switch rel {
	case "equals", "notequals":
		return got == want
	case "lessthan":
		return got < want
	case "lessthanequals":
		return got <= want
	case "greaterthan":
		return got > want
	case "greaterthanequals":
		return got >= want
	}
	return false
}

// restrictingKeys are the condition keys that, with fixed values, limit
// a statement to known requesters (AWS's definition of a non-public
// policy).
var restrictingKeys = map[string]bool{
	"aws:sourceip": true, "aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:sourceaccount": true, "aws:sourceowner": true, "aws:principalaccount": true,
	"aws:principalarn": true, "aws:principalorgid": true, "aws:userid": true, "aws:principalorgpaths": true,
	"s3:dataaccesspointarn": true, "s3:dataaccesspointaccount": true,
}

// public reports whether an Allow statement grants to everyone: any
// principal (or NotPrincipal), without a condition that pins the
// requester to fixed values.
func (st *PolicyStatement) public() bool {
	if !st.Allow || !(st.Principals.any || st.NotPrincipal) {
		return false
	}
	for _, c := range st.Conditions {
		if !restrictingKeys[strings.ToLower(c.key)] || c.ifExists || c.forAll || conditionOps[c.op].negated || c.op == "null" {
			continue
		}
		fixed := true
		for _, v := range c.values {
			if strings.ContainsAny(v, "*?") || st.vars && strings.Contains(v, "${") {
				fixed = false
			}
			if c.op == "ipaddress" {
				if n, ok := parseCIDR(v); !ok || broadNetwork(n) {
					fixed = false
				}
			}
		}
		if fixed {
			return false
		}
	}
	return true
}

// broadNetwork reports an address range too wide to restrict anyone
// (shorter than /8 for IPv4, /32 for IPv6, as AWS counts it).
func broadNetwork(n *net.IPNet) bool {
	ones, bits := n.Mask.Size()
	if bits == 32 {
		return ones < 8
	}
	return ones < 32
}

// isPublic reports whether any statement of p makes it public.
func (p *Policy) isPublic() bool {
	if p == nil {
		return false
	}
	for i := range p.Statements {
		if p.Statements[i].public() {
			return true
		}
	}
	return false
}

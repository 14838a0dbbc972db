package s3api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/checksum"
)

// POST Object: a browser uploads an object with an HTML form
// (multipart/form-data) to the bucket's URL. The form carries the key,
// the object's headers as fields, and, unless the upload is anonymous, a
// policy document (base64 JSON: an expiration and conditions on the
// fields) signed with the uploader's secret, SigV4 (x-amz-algorithm,
// x-amz-credential, x-amz-date, x-amz-signature) or SigV2
// (AWSAccessKeyId, signature). The fields before the file are read; the
// file is the object; anything after it is ignored, as S3 does.
//
// The signer of the policy is then authorized exactly as the signer of a
// PutObject of the same key would be (authorize); an anonymous form only
// where the bucket's ACL lets anybody write.

// maxPostFields bounds the form fields before the file, names and values
// together (S3 refuses more than 20 KB of them).
const maxPostFields = 20 << 10

// maxPostForm is what a POST body may hold beyond the object (the fields
// and the multipart framing), for the declared-size check.
const maxPostForm = 1 << 20

var (
	errMalformedPOST = &APIError{"MalformedPOSTRequest",
		"The body of your POST request is not well-formed multipart/form-data.", http.StatusBadRequest}
	errPostFieldsTooLarge = &APIError{"MaxPostPreDataLengthExceededError",
		"Your POST request fields preceding the upload file were too large.", http.StatusBadRequest}
	errInvalidPolicy = &APIError{"InvalidPolicyDocument", "Invalid Policy", http.StatusBadRequest}
	errPolicyExpired = ErrAccessDenied.WithMessage("Invalid according to Policy: Policy expired.")
	errPostTooSmall  = &APIError{"EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", http.StatusBadRequest}
	errPostTooLarge  = &APIError{"EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", http.StatusBadRequest}
)

func policyError(msg string) error { return errInvalidPolicy.WithMessage("Invalid Policy: " + msg) }

func policyDenied(msg string) error {
	return ErrAccessDenied.WithMessage("Invalid according to Policy: " + msg)
}

// postForm is the fields of a form before its file, by lower-case name
// (S3 matches field names case-insensitively).
type postForm struct {
	fields   map[string]string
	names    []string // lower-case, in the order sent
	filename string
}

func (f *postForm) get(name string) string { return f.fields[name] }

func (f *postForm) has(name string) bool { _, ok := f.fields[name]; return ok }

// postPolicy is a decoded policy document.
type postPolicy struct {
	expiration time.Time
	conditions []postCondition
	// minSize and maxSize are content-length-range's bounds (maxSize -1:
	// none).
	minSize, maxSize int64
}

// postCondition is one condition: op is "eq", "starts-with" or
// "content-length-range"; field is lower case, without '$'.
type postCondition struct {
	op, field, value string
	min, max         int64
	text             string // as in the policy, for the error message
}

// parsePostPolicy decodes a base64 policy document.
func parsePostPolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, policyError("Policy is not base64 encoded.")
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return nil, policyError("Invalid JSON.")
	}
	if doc.Expiration == nil {
		return nil, policyError("Policy missing expiration.")
	}
	p := &postPolicy{maxSize: -1}
	if p.expiration, err = time.Parse(time.RFC3339Nano, *doc.Expiration); err != nil {
		return nil, policyError("Invalid 'expiration' value: '" + *doc.Expiration + "'")
	}
	if doc.Conditions == nil {
		return nil, policyError("Policy missing conditions.")
	}
	for _, c := range doc.Conditions {
		cond, err := parsePostCondition(c)
		if err != nil {
			return nil, err
		}
		if cond[0].op == "content-length-range" {
			p.minSize, p.maxSize = cond[0].min, cond[0].max
		}
		p.conditions = append(p.conditions, cond...)
	}
	return p, nil
}

// parsePostCondition decodes one condition: {"field": "value"} (one or
// more pairs, each an exact match) or [op, "$field", value] or
// ["content-length-range", min, max].
func parsePostCondition(c json.RawMessage) ([]postCondition, error) {
	text := string(c)
	var obj map[string]any
	if json.Unmarshal(c, &obj) == nil {
		if len(obj) == 0 {
			return nil, policyError("Invalid condition: " + text)
		}
		var out []postCondition
		for k, v := range obj {
			s, ok := v.(string)
			if !ok {
				return nil, policyError("Invalid condition: " + text)
			}
			out = append(out, postCondition{op: "eq", field: strings.ToLower(k), value: s, text: text})
		}
		return out, nil
	}
	var arr []any
	d := json.NewDecoder(bytes.NewReader(c))
	d.UseNumber()
	if d.Decode(&arr) != nil || len(arr) != 3 {
		return nil, policyError("Invalid condition: " + text)
	}
	op, _ := arr[0].(string)
	op = strings.ToLower(op)
	switch op {
	case "content-length-range":
		lo, ok1 := jsonInt(arr[1])
		hi, ok2 := jsonInt(arr[2])
		if !ok1 || !ok2 || lo < 0 || hi < lo {
			return nil, policyError("Invalid content-length-range: " + text)
		}
		return []postCondition{{op: op, min: lo, max: hi, text: text}}, nil
	case "eq", "starts-with":
		field, ok1 := arr[1].(string)
		value, ok2 := arr[2].(string)
		if !ok1 || !ok2 || !strings.HasPrefix(field, "$") || len(field) < 2 {
			return nil, policyError("Invalid condition: " + text)
		}
		return []postCondition{{op: op, field: strings.ToLower(field[1:]), value: value, text: text}}, nil
	}
	return nil, policyError("Invalid condition: " + text)
}

// jsonInt reads a JSON number or a decimal string as an int64.
func jsonInt(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || f < math.MinInt64 || f > math.MaxInt64 {
			return 0, false
		}
		n = int64(f)
	}
	return n, true
}

// postExempt are the fields no condition needs to name.
func postExempt(name string) bool {
	switch name {
	case "file", "policy", "x-amz-signature", "signature", "awsaccesskeyid":
		return true
	}
	return strings.HasPrefix(name, "x-ignore-")
}

// check evaluates the policy on the form's fields (key already with
// ${filename} substituted) for an upload into bucket at now: expiration,
// every condition, and every field covered by a condition.
func (p *postPolicy) check(f *postForm, bucket string, now time.Time) error {
	if !now.Before(p.expiration) {
		return errPolicyExpired
	}
	covered := map[string]bool{}
	for _, c := range p.conditions {
		if c.op == "content-length-range" {
			continue
		}
		covered[c.field] = true
		var v string
		if c.field == "bucket" {
			v = bucket
		} else {
			v = f.get(c.field)
		}
		ok := false
		switch c.op {
		case "eq":
			ok = v == c.value
		case "starts-with":
			ok = strings.HasPrefix(v, c.value)
			if !ok && c.field == "content-type" && strings.Contains(v, ",") {
				// Each of several content types must start with it.
				ok = true
				for _, t := range strings.Split(v, ",") {
					ok = ok && strings.HasPrefix(strings.TrimSpace(t), c.value)
				}
			}
		}
		if !ok {
			return policyDenied("Policy Condition failed: " + c.text)
		}
	}
	var extra []string
	for _, name := range f.names {
		if !postExempt(name) && !covered[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		return policyDenied("Extra input fields: " + strings.Join(extra, ", "))
	}
	return nil
}

// readPostForm reads the fields of a multipart/form-data body up to its
// file part, which it returns unread.
func readPostForm(body io.Reader, contentType string) (*postForm, *multipart.Part, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, nil, errMalformedPOST
	}
	mr := multipart.NewReader(body, params["boundary"])
	f := &postForm{fields: map[string]string{}}
	budget := maxPostFields
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			return nil, nil, invalidArg("POST requires exactly one file upload per request.", "file", "0")
		}
		if err != nil {
			return nil, nil, errMalformedPOST
		}
		name := strings.ToLower(part.FormName())
		if name == "" {
			return nil, nil, errMalformedPOST
		}
		if name == "file" {
			f.filename = part.FileName()
			return f, part, nil
		}
		budget -= len(name)
		data, err := io.ReadAll(io.LimitReader(part, int64(max(budget, 0))+1))
		if err != nil {
			return nil, nil, errMalformedPOST
		}
		budget -= len(data)
		if budget < 0 {
			return nil, nil, errPostFieldsTooLarge
		}
		if _, dup := f.fields[name]; dup {
			return nil, nil, invalidArg("Field "+name+" is given more than once.", name, "")
		}
		f.fields[name] = string(data)
		f.names = append(f.names, name)
	}
}

// postSigner authenticates a form: the access key that signed its policy,
// "" for an anonymous form (no policy, no signature).
func (s *Server) postSigner(f *postForm) (string, error) {
	v4 := f.has("x-amz-signature") || f.has("x-amz-credential") || f.has("x-amz-algorithm")
	v2 := f.has("signature") || f.has("awsaccesskeyid")
	switch {
	case v4 && v2:
		return "", ErrMultipleAuthMechanisms
	case !v4 && !v2:
		if f.has("policy") {
			return "", invalidArg("Bucket POST must contain a field named 'AWSAccessKeyId'.  If it is specified, please check the order of the fields.", "AWSAccessKeyId", "")
		}
		return "", nil
	}
	policy := f.get("policy")
	if !f.has("policy") {
		return "", invalidArg("Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields.", "policy", "")
	}
	if v2 {
		ak, sig := f.get("awsaccesskeyid"), f.get("signature")
		if ak == "" || sig == "" {
			missing := "AWSAccessKeyId"
			if ak != "" {
				missing = "Signature"
			}
			return "", invalidArg("Bucket POST must contain a field named '"+missing+"'.  If it is specified, please check the order of the fields.", missing, "")
		}
		secret, aerr := s.auth.secret(ak)
		if aerr != nil {
			return "", aerr
		}
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(policy))
		want := base64.StdEncoding.EncodeToString(m.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(sig)) {
			return "", ErrSignatureDoesNotMatch
		}
		return ak, nil
	}
	for _, name := range []string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"} {
		if f.get(name) == "" {
			return "", invalidArg("Bucket POST must contain a field named '"+name+"'.  If it is specified, please check the order of the fields.", name, "")
		}
	}
	if alg := f.get("x-amz-algorithm"); alg != signV4Algorithm {
		return "", invalidArg("Unsupported algorithm "+alg+"; only AWS4-HMAC-SHA256 is supported.", "x-amz-algorithm", alg)
	}
	cred, bad := parseCredential(f.get("x-amz-credential"))
	if bad != "" {
		return "", invalidArg("Error parsing the X-Amz-Credential parameter; "+bad, "x-amz-credential", f.get("x-amz-credential"))
	}
	if s.auth.Region != "" && cred.region != s.auth.Region {
		return "", invalidArg("Error parsing the X-Amz-Credential parameter; "+wrongRegion(cred.region, s.auth.Region), "x-amz-credential", f.get("x-amz-credential"))
	}
	secret, aerr := s.auth.secret(cred.accessKey)
	if aerr != nil {
		return "", aerr
	}
	want := hex.EncodeToString(hmacSHA256(signingKey(secret, cred.date, cred.region), policy))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(f.get("x-amz-signature")))) {
		return "", ErrSignatureDoesNotMatch
	}
	return cred.accessKey, nil
}

// postHeaders turns the form's fields into the request headers a PutObject
// would have carried (content headers, metadata, ACL, encryption).
func postHeaders(f *postForm) http.Header {
	h := http.Header{}
	for _, name := range f.names {
		switch {
		case name == "content-type", name == "cache-control", name == "content-disposition",
			name == "content-encoding", name == "content-language", name == "expires",
			strings.HasPrefix(name, "x-amz-meta-"), strings.HasPrefix(name, "x-amz-grant-"),
			name == "x-amz-server-side-encryption", strings.HasPrefix(name, "x-amz-server-side-encryption-customer-"):
			h.Set(name, f.get(name))
		case name == "acl":
			h.Set("X-Amz-Acl", f.get(name))
		}
	}
	return h
}

// PostResponse is the answer to a POST Object with success_action_status
// 201.
type PostResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// sizeRange counts a body and holds it to content-length-range.
type sizeRange struct {
	r        io.Reader
	n        int64
	min, max int64 // max -1: none
}

func (z *sizeRange) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	z.n += int64(n)
	if z.max >= 0 && z.n > z.max {
		return n, errPostTooLarge
	}
	return n, err
}

// postObject is POST Object.
func (s *Server) postObject(r *request) (*response, error) {
	form, file, err := readPostForm(r.raw, r.header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	key := form.get("key")
	if !form.has("key") || key == "" {
		return nil, invalidArg("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", "key", "")
	}
	key = strings.ReplaceAll(key, "${filename}", form.filename)
	form.fields["key"] = key
	if len(key) > gateway.MaxKeyLength {
		return nil, errKeyTooLong
	}
	ak, err := s.postSigner(form)
	if err != nil {
		return nil, err
	}
	// Who signed the form (or "": anonymous), for the access line.
	r.auth = &AuthResult{AccessKey: ak, Body: file, Size: -1}
	pol := &postPolicy{maxSize: -1}
	if ak != "" {
		if pol, err = parsePostPolicy(form.get("policy")); err != nil {
			return nil, err
		}
		if err := pol.check(form, r.route.Bucket, time.Now()); err != nil {
			return nil, err
		}
		p, ok := s.principal(r.ctx, ak)
		if !ok {
			return nil, ErrInvalidAccessKeyID
		}
		r.principal = p
	}
	// The signer may do what a PutObject of this key signed by it may.
	r.route.Key = key
	if err := s.authorize(r.ctx, r.principal, access{op: OpPutObject, kind: accessWrite, bucket: r.route.Bucket,
		key: key, hasKey: true, acl: &r.aclCache}); err != nil {
		return nil, err
	}

	r.header = postHeaders(form)
	obj, err := r.objectFromHeaders()
	if err != nil {
		return nil, err
	}
	if t := form.get("tagging"); form.has("tagging") {
		if obj.Tags, err = decodeTagging([]byte(t)); err != nil {
			return nil, err
		}
	}
	if obj.ACL, err = s.objectACL(r); err != nil {
		return nil, err
	}
	var ck []byte
	if obj.SSE, ck, err = s.sseRequest(r); err != nil {
		return nil, err
	}
	body := &sizeRange{r: file, min: pol.minSize, max: pol.maxSize}
	o, err := s.svc.PutObject(r.ctx, &gateway.PutObjectInput{
		Bucket: r.route.Bucket, Key: key, Body: body, Size: -1, Object: obj, CustomerKey: ck, Read: r.aclCache.b,
		Verify: func(*checksum.Digests) error {
			if body.n < body.min {
				return errPostTooSmall
			}
			return nil
		},
	})
	if err != nil {
		var api *APIError
		if errors.As(err, &api) && (api == errPostTooLarge || api == errPostTooSmall) {
			return nil, api
		}
		return nil, err
	}
	setSSEHeaders(r, o)
	setVersionHeader(r, o)
	return s.postAnswer(r, form, o.ETag)
}

// postAnswer is what a successful POST Object answers: a redirect to
// success_action_redirect, or the status success_action_status names
// (204 by default; 201 with a PostResponse document).
func (s *Server) postAnswer(r *request, form *postForm, etag string) (*response, error) {
	bucket, key := r.route.Bucket, r.route.Key
	scheme := "http"
	if r.c.Context().IsTLS() {
		scheme = "https"
	}
	var loc string
	if r.route.VirtualHost {
		loc = scheme + "://" + r.host + "/" + url.PathEscape(key)
	} else {
		loc = scheme + "://" + r.host + "/" + bucket + "/" + url.PathEscape(key)
	}
	r.set("ETag", etag)
	r.set("Location", loc)
	redirect := form.get("success_action_redirect")
	if redirect == "" {
		redirect = form.get("redirect")
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && u.Scheme != "" && u.Host != "" {
		q := u.Query()
		q.Set("bucket", bucket)
		q.Set("key", key)
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		r.set("Location", u.String())
		return &response{status: http.StatusSeeOther}, nil
	}
	switch form.get("success_action_status") {
	case "200":
		return &response{status: http.StatusOK}, nil
	case "201":
		return &response{status: http.StatusCreated, xml: PostResponse{Location: loc, Bucket: bucket, Key: key, ETag: etag}}, nil
	}
	return &response{status: http.StatusNoContent}, nil
}

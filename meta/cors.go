package meta

import "fmt"

// CORS: a bucket's cross-origin resource sharing rules (S3's
// PutBucketCors). meta stores the rules as given and does not interpret
// them: the S3 front end validates them on the way in and matches them
// against browsers' requests.
//
// The configuration belongs to the bucket id, not its name, and is
// current-state only (no history): a read at a snapshot answers with
// today's rules. A fork starts with none, whatever its source has (a
// fork serves other origins than its parent as often as the same ones,
// and nothing a browser may do with a bucket is granted by making a
// fork of it); it gets its own with PutBucketCors. The configuration
// goes when the bucket's record is purged.

// CORSRule is one rule of a bucket's CORS configuration.
type CORSRule struct {
	ID             string
	AllowedOrigins []string
	AllowedMethods []string
	AllowedHeaders []string
	ExposeHeaders  []string
	// MaxAgeSeconds is how long a browser may cache a preflight answer;
	// -1 when the rule does not say.
	MaxAgeSeconds int
}

// SetBucketCORS replaces a bucket's CORS configuration; no Rules deletes
// it.
type SetBucketCORS struct {
	Header
	Bucket string
	Rules  []CORSRule
}

func (e *encoder) strings(list []string) {
	e.uvarint(uint64(len(list)))
	for _, s := range list {
		e.str(s)
	}
}

func (d *decoder) strings() []string {
	n := d.count()
	var out []string
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

func (e *encoder) corsRules(rules []CORSRule) {
	e.uvarint(uint64(len(rules)))
	for i := range rules {
		r := &rules[i]
		e.str(r.ID)
		e.strings(r.AllowedOrigins)
		e.strings(r.AllowedMethods)
		e.strings(r.AllowedHeaders)
		e.strings(r.ExposeHeaders)
		e.int(r.MaxAgeSeconds)
	}
}

func (d *decoder) corsRules() []CORSRule {
	n := d.count()
	var out []CORSRule
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, CORSRule{ID: d.str(), AllowedOrigins: d.strings(), AllowedMethods: d.strings(),
			AllowedHeaders: d.strings(), ExposeHeaders: d.strings(), MaxAgeSeconds: d.int()})
	}
	return out
}

func (a *applier) setBucketCORS(c *SetBucketCORS) (*Result, error) {
	b, err := a.r.liveBucket(c.Bucket)
	if err != nil {
		return nil, err
	}
	if len(c.Rules) == 0 {
		return nil, a.del(keyBucketCORS(b.ID))
	}
	e := encoder{}
	e.u8(fmtV1)
	e.corsRules(c.Rules)
	return nil, a.set(keyBucketCORS(b.ID), e.b)
}

// BucketCORS returns a live bucket's CORS rules; none (nil) when it has no
// configuration.
func (r *Reader) BucketCORS(name string) ([]CORSRule, error) {
	b, err := r.liveBucket(name)
	if err != nil {
		return nil, err
	}
	v, ok, err := getValue(r.txn, keyBucketCORS(b.ID))
	if err != nil || !ok {
		return nil, err
	}
	d := decoder{b: v}
	d.fmtByte()
	rules := d.corsRules()
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("CORS of bucket %q: %w", name, err)
	}
	return rules, nil
}

package s3api

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// Bucket lifecycle (PutBucketLifecycleConfiguration,
// GetBucketLifecycleConfiguration, DeleteBucketLifecycle) and the
// x-amz-expiration header. The rules are checked here as AWS checks them
// and handed to meta, which applies them (meta/lifecycle.go); the
// configuration is kept as this package renders it, so GET returns what
// was set, Transitions included (there is one storage class: they are
// accepted and never acted on).

// maxLifecycleRules is AWS's limit on the rules of one configuration.
const maxLifecycleRules = 1000

var errNoSuchLifecycle = unconfigured["lifecycle"]

// LifecycleConfiguration is the GetBucketLifecycleConfiguration response.
type LifecycleConfiguration struct {
	XMLName xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LifecycleConfiguration"`
	Rules   []lifecycleRule `xml:"Rule"`
}

// lifecycleRequest decodes LifecycleConfiguration in any namespace.
type lifecycleRequest struct {
	XMLName xml.Name        `xml:"LifecycleConfiguration"`
	Rules   []lifecycleRule `xml:"Rule"`
}

type lifecycleRule struct {
	Expiration                     *lifecycleExpiration     `xml:"Expiration,omitempty"`
	ID                             string                   `xml:"ID,omitempty"`
	Prefix                         *string                  `xml:"Prefix,omitempty"`
	Filter                         *lifecycleFilter         `xml:"Filter,omitempty"`
	Status                         string                   `xml:"Status"`
	Transitions                    []lifecycleTransition    `xml:"Transition,omitempty"`
	NoncurrentVersionTransitions   []lifecycleNCTransition  `xml:"NoncurrentVersionTransition,omitempty"`
	NoncurrentVersionExpiration    *lifecycleNCExpiration   `xml:"NoncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *lifecycleAbortMultipart `xml:"AbortIncompleteMultipartUpload,omitempty"`
}

type lifecycleFilter struct {
	Prefix                *string       `xml:"Prefix,omitempty"`
	Tag                   *lifecycleTag `xml:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64        `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64        `xml:"ObjectSizeLessThan,omitempty"`
	And                   *lifecycleAnd `xml:"And,omitempty"`
}

type lifecycleAnd struct {
	Prefix                *string        `xml:"Prefix,omitempty"`
	Tags                  []lifecycleTag `xml:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64         `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64         `xml:"ObjectSizeLessThan,omitempty"`
}

type lifecycleTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type lifecycleExpiration struct {
	Date                      *string `xml:"Date,omitempty"`
	Days                      *int    `xml:"Days,omitempty"`
	ExpiredObjectDeleteMarker *bool   `xml:"ExpiredObjectDeleteMarker,omitempty"`
}

type lifecycleTransition struct {
	Date         *string `xml:"Date,omitempty"`
	Days         *int    `xml:"Days,omitempty"`
	StorageClass string  `xml:"StorageClass"`
}

type lifecycleNCTransition struct {
	NoncurrentDays          *int   `xml:"NoncurrentDays,omitempty"`
	NewerNoncurrentVersions *int   `xml:"NewerNoncurrentVersions,omitempty"`
	StorageClass            string `xml:"StorageClass"`
}

type lifecycleNCExpiration struct {
	NoncurrentDays          *int `xml:"NoncurrentDays,omitempty"`
	NewerNoncurrentVersions *int `xml:"NewerNoncurrentVersions,omitempty"`
}

type lifecycleAbortMultipart struct {
	DaysAfterInitiation *int `xml:"DaysAfterInitiation,omitempty"`
}

// transitionClasses are the storage classes a Transition may name.
var transitionClasses = map[string]bool{
	"GLACIER": true, "STANDARD_IA": true, "ONEZONE_IA": true, "INTELLIGENT_TIERING": true,
	"DEEP_ARCHIVE": true, "GLACIER_IR": true,
}

// parseLifecycle checks a PutBucketLifecycleConfiguration body as AWS
// does and returns the rules for meta, with the document to keep.
func parseLifecycle(data []byte) (*meta.Lifecycle, error) {
	var doc lifecycleRequest
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Rules) == 0 || len(doc.Rules) > maxLifecycleRules {
		return nil, ErrMalformedXML
	}
	l := &meta.Lifecycle{}
	ids := map[string]bool{}
	for i := range doc.Rules {
		x := &doc.Rules[i]
		if len(x.ID) > 255 {
			return nil, ErrInvalidArgument.WithMessage("ID length should not exceed allowed limit of 255")
		}
		if x.ID == "" {
			// AWS names a rule without an ID.
			x.ID = fmt.Sprintf("rule-%d", i+1)
		}
		if ids[x.ID] {
			return nil, ErrInvalidArgument.WithMessage("Rule ID must be unique. Found same ID for more than one rule")
		}
		ids[x.ID] = true
		r, err := parseLifecycleRule(x)
		if err != nil {
			return nil, err
		}
		l.Rules = append(l.Rules, r)
	}
	out, err := xml.Marshal(LifecycleConfiguration{Rules: doc.Rules})
	if err != nil {
		return nil, err
	}
	l.Document = append([]byte(xml.Header), out...)
	return l, nil
}

func positive(v *int, msg string) (int, error) {
	if v == nil {
		return 0, nil
	}
	if *v <= 0 {
		return 0, ErrInvalidArgument.WithMessage(msg)
	}
	return *v, nil
}

func parseLifecycleRule(x *lifecycleRule) (meta.LifecycleRule, error) {
	r := meta.LifecycleRule{ID: x.ID}
	switch x.Status {
	case "Enabled":
		r.Enabled = true
	case "Disabled":
	default:
		return r, ErrMalformedXML
	}
	// The filter: the legacy Prefix or Filter, exactly one.
	switch {
	case x.Prefix != nil && x.Filter != nil:
		return r, ErrMalformedXML
	case x.Prefix != nil:
		r.Prefix = *x.Prefix
	case x.Filter != nil:
		f := x.Filter
		n := 0
		for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.And != nil, f.ObjectSizeGreaterThan != nil || f.ObjectSizeLessThan != nil} {
			if set {
				n++
			}
		}
		if n > 1 {
			return r, ErrMalformedXML
		}
		var tags []lifecycleTag
		gt, lt := f.ObjectSizeGreaterThan, f.ObjectSizeLessThan
		if f.Prefix != nil {
			r.Prefix = *f.Prefix
		}
		if f.Tag != nil {
			tags = append(tags, *f.Tag)
		}
		if a := f.And; a != nil {
			if a.Prefix != nil {
				r.Prefix = *a.Prefix
			}
			tags = a.Tags
			gt, lt = a.ObjectSizeGreaterThan, a.ObjectSizeLessThan
		}
		for _, t := range tags {
			if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
				return r, errInvalidTag
			}
			if r.Tags == nil {
				r.Tags = map[string]string{}
			}
			if _, dup := r.Tags[t.Key]; dup {
				return r, ErrInvalidArgument.WithMessage("Duplicate Tag Keys are not allowed.")
			}
			r.Tags[t.Key] = t.Value
		}
		if gt != nil {
			if *gt < 0 {
				return r, ErrInvalidArgument.WithMessage("'ObjectSizeGreaterThan' should be a non-negative integer")
			}
			r.SizeGreaterThan = *gt
		}
		if lt != nil {
			if *lt <= 0 {
				return r, ErrInvalidArgument.WithMessage("'ObjectSizeLessThan' should be a positive integer")
			}
			r.SizeLessThan = *lt
		}
		if gt != nil && lt != nil && *gt >= *lt {
			return r, ErrInvalidArgument.WithMessage("Invalid Object Size Filter: ObjectSizeLessThan must be greater than ObjectSizeGreaterThan")
		}
	default:
		return r, ErrMalformedXML
	}
	if len(r.Prefix) > 1024 {
		return r, ErrInvalidArgument.WithMessage("The maximum size of a prefix is 1024.")
	}
	actions := 0
	var err error
	if e := x.Expiration; e != nil {
		actions++
		set := 0
		for _, b := range []bool{e.Days != nil, e.Date != nil, e.ExpiredObjectDeleteMarker != nil} {
			if b {
				set++
			}
		}
		if set != 1 {
			return r, ErrMalformedXML
		}
		if r.ExpirationDays, err = positive(e.Days, "'Days' for Expiration action must be a positive integer"); err != nil {
			return r, err
		}
		if e.Date != nil {
			if r.ExpirationDate, err = lifecycleDate(*e.Date); err != nil {
				return r, err
			}
		}
		if e.ExpiredObjectDeleteMarker != nil {
			if len(r.Tags) > 0 {
				return r, invalidRequest("ExpiredObjectDeleteMarker cannot be specified with Tags.")
			}
			r.ExpiredObjectDeleteMarker = *e.ExpiredObjectDeleteMarker
		}
	}
	if n := x.NoncurrentVersionExpiration; n != nil {
		actions++
		if n.NoncurrentDays == nil {
			return r, ErrMalformedXML
		}
		if r.NoncurrentDays, err = positive(n.NoncurrentDays, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"); err != nil {
			return r, err
		}
		if v := n.NewerNoncurrentVersions; v != nil {
			if *v < 1 || *v > 100 {
				return r, ErrInvalidArgument.WithMessage("'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to 100")
			}
			r.NewerNoncurrentVersions = *v
		}
	}
	if a := x.AbortIncompleteMultipartUpload; a != nil {
		actions++
		if len(r.Tags) > 0 {
			return r, invalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
		}
		if a.DaysAfterInitiation == nil {
			return r, ErrMalformedXML
		}
		if r.AbortUploadDays, err = positive(a.DaysAfterInitiation, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"); err != nil {
			return r, err
		}
	}
	// Transitions: checked, kept in the document, never acted on.
	for _, t := range x.Transitions {
		actions++
		if (t.Days == nil) == (t.Date == nil) || !transitionClasses[t.StorageClass] {
			return r, ErrMalformedXML
		}
		if t.Days != nil && *t.Days < 0 {
			return r, ErrInvalidArgument.WithMessage("'Days' in Transition action must be nonnegative")
		}
		if t.Date != nil {
			if _, err := lifecycleDate(*t.Date); err != nil {
				return r, err
			}
		}
	}
	for _, t := range x.NoncurrentVersionTransitions {
		actions++
		if t.NoncurrentDays == nil || *t.NoncurrentDays < 0 || !transitionClasses[t.StorageClass] {
			return r, ErrMalformedXML
		}
	}
	if actions == 0 {
		return r, invalidRequest("At least one action needs to be specified in a rule")
	}
	return r, nil
}

// lifecycleDate parses an ISO 8601 date of a rule, which must be a
// midnight UTC.
func lifecycleDate(s string) (int64, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		return 0, ErrInvalidArgument.WithMessage("'Date' must be at midnight GMT")
	}
	t = t.UTC()
	if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0 {
		return 0, ErrInvalidArgument.WithMessage("'Date' must be at midnight GMT")
	}
	return t.UnixNano(), nil
}

// putBucketLifecycle is PutBucketLifecycleConfiguration.
func (s *Server) putBucketLifecycle(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	l, err := parseLifecycle(data)
	if err != nil {
		return nil, err
	}
	if err := s.svc.PutBucketLifecycle(r.ctx, r.route.Bucket, l); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// getBucketLifecycle is GetBucketLifecycleConfiguration.
func (s *Server) getBucketLifecycle(r *request) (*response, error) {
	l, err := s.svc.BucketLifecycle(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, errNoSuchLifecycle
	}
	r.set("Content-Type", "application/xml")
	return &response{body: bytes.NewReader(l.Document), size: int64(len(l.Document))}, nil
}

// deleteBucketLifecycle is DeleteBucketLifecycle (204 whether or not the
// bucket had a configuration, as AWS answers).
func (s *Server) deleteBucketLifecycle(r *request) (*response, error) {
	if err := s.svc.DeleteBucketLifecycle(r.ctx, r.route.Bucket); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent, noBody: true}, nil
}

// setExpirationHeader sets x-amz-expiration when a lifecycle rule will
// expire o, the current version of its key:
// expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule".
func (s *Server) setExpirationHeader(r *request, o *meta.Object) {
	if o == nil || o.DeleteMarker {
		return
	}
	at, rule, ok := s.svc.ObjectExpiry(r.ctx, r.route.Bucket, o)
	if !ok {
		return
	}
	r.set("X-Amz-Expiration", fmt.Sprintf(`expiry-date="%s", rule-id="%s"`, at.UTC().Format(http.TimeFormat), strings.ReplaceAll(rule, `"`, `\"`)))
}

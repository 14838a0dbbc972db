package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// Object Lock: Put/GetObjectLockConfiguration, Put/GetObjectRetention,
// Put/GetObjectLegalHold, the x-amz-object-lock-* headers of writes and
// reads, and x-amz-bypass-governance-retention (meta/lock.go has the
// rules).

// Object Lock headers.
const (
	hdrLockMode         = "X-Amz-Object-Lock-Mode"
	hdrLockRetainUntil  = "X-Amz-Object-Lock-Retain-Until-Date"
	hdrLockLegalHold    = "X-Amz-Object-Lock-Legal-Hold"
	hdrBypassGovernance = "X-Amz-Bypass-Governance-Retention"
	hdrBucketLock       = "X-Amz-Bucket-Object-Lock-Enabled"
)

var (
	errNoSuchObjectLockConfiguration = &APIError{"NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration", http.StatusNotFound}
	// errInvalidRetentionPeriod is a default retention of zero, negative
	// or too many days or years (the code of ceph's s3-tests and RGW).
	errInvalidRetentionPeriod = &APIError{"InvalidRetentionPeriod", "Default retention period must be a positive integer value of at most 36500 days or 100 years.", http.StatusBadRequest}
)

// ObjectLockConfiguration is the GetObjectLockConfiguration response and
// the PutObjectLockConfiguration request.
type ObjectLockConfiguration struct {
	XMLName           xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ObjectLockConfiguration"`
	ObjectLockEnabled string          `xml:"ObjectLockEnabled,omitempty"`
	Rule              *ObjectLockRule `xml:"Rule,omitempty"`
}

// ObjectLockRule holds a bucket's default retention.
type ObjectLockRule struct {
	DefaultRetention *DefaultRetention `xml:"DefaultRetention,omitempty"`
}

// DefaultRetention is a bucket's default retention: a mode and Days or
// Years.
type DefaultRetention struct {
	Mode  string `xml:"Mode,omitempty"`
	Days  *int   `xml:"Days,omitempty"`
	Years *int   `xml:"Years,omitempty"`
}

// lockConfigRequest decodes an ObjectLockConfiguration in any namespace.
type lockConfigRequest struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled"`
	Rule              *struct {
		DefaultRetention *struct {
			Mode  string  `xml:"Mode"`
			Days  *string `xml:"Days"`
			Years *string `xml:"Years"`
		} `xml:"DefaultRetention"`
	} `xml:"Rule"`
}

// Retention is the GetObjectRetention response.
type Retention struct {
	XMLName         xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Retention"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

type retentionRequest struct {
	XMLName         xml.Name `xml:"Retention"`
	Mode            string   `xml:"Mode"`
	RetainUntilDate string   `xml:"RetainUntilDate"`
}

// LegalHold is the GetObjectLegalHold response.
type LegalHold struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LegalHold"`
	Status  string   `xml:"Status"`
}

type legalHoldRequest struct {
	XMLName xml.Name `xml:"LegalHold"`
	Status  string   `xml:"Status"`
}

// lockTime formats a retain-until date as S3 does.
func lockTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000Z")
}

// parseLockTime parses an ISO 8601 retain-until date (S3 accepts RFC
// 3339 with or without fractional seconds).
func parseLockTime(v string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil || t.Year() > 9999 {
		return 0, false
	}
	return t.UnixNano(), true
}

// parseLegalHold parses "ON" or "OFF".
func parseLegalHold(v string) (bool, bool) {
	switch v {
	case "ON":
		return true, true
	case "OFF":
		return false, true
	}
	return false, false
}

// lockHeaders parses the x-amz-object-lock-* headers of PutObject,
// CopyObject and CreateMultipartUpload into o.
func (r *request) lockHeaders(o *meta.Object) error {
	mode, until := r.header.Get(hdrLockMode), r.header.Get(hdrLockRetainUntil)
	if (mode == "") != (until == "") {
		return invalidArg("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied", hdrLockMode, mode)
	}
	if mode != "" {
		m, ok := meta.ParseLockMode(mode)
		if !ok {
			return invalidArg("Unknown wormMode directive.", hdrLockMode, mode)
		}
		t, ok := parseLockTime(until)
		if !ok {
			return invalidArg("The retain until date must be provided in ISO 8601 format", hdrLockRetainUntil, until)
		}
		if t <= time.Now().UnixNano() {
			return invalidArg("The retain until date must be in the future!", hdrLockRetainUntil, until)
		}
		o.LockMode, o.RetainUntil = m, t
	}
	if v := r.header.Get(hdrLockLegalHold); v != "" {
		hold, ok := parseLegalHold(v)
		if !ok {
			return invalidArg("Legal Hold must be either of 'ON' or 'OFF'", hdrLockLegalHold, v)
		}
		o.LegalHold = hold
	}
	return nil
}

// setLockHeaders sets the Object Lock headers of GET and HEAD.
func setLockHeaders(r *request, o *meta.Object) {
	if o.LockMode != meta.LockNone {
		r.set(hdrLockMode, o.LockMode.String())
		r.set(hdrLockRetainUntil, lockTime(o.RetainUntil))
	}
	if o.LegalHold {
		r.set(hdrLockLegalHold, "ON")
	}
}

// mayBypassGovernance reports whether the request's principal may bypass
// GOVERNANCE retention (s3:BypassGovernanceRetention): the root key.
// Scoped keys never may.
func mayBypassGovernance(p *gateway.Principal) bool { return p != nil && p.Root }

// bypassGovernance reports whether the request asks to bypass GOVERNANCE
// retention; a principal not allowed to is AccessDenied.
func (r *request) bypassGovernance() (bool, error) {
	v := strings.TrimSpace(r.header.Get(hdrBypassGovernance))
	if v == "" || strings.EqualFold(v, "false") {
		return false, nil
	}
	if !strings.EqualFold(v, "true") {
		return false, invalidArg("x-amz-bypass-governance-retention must be true or false", hdrBypassGovernance, v)
	}
	if !mayBypassGovernance(r.principal) {
		return false, ErrAccessDenied
	}
	return true, nil
}

// getObjectLockConfiguration is GetObjectLockConfiguration.
func (s *Server) getObjectLockConfiguration(r *request) (*response, error) {
	l, err := s.svc.ObjectLockConfiguration(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	res := ObjectLockConfiguration{ObjectLockEnabled: "Enabled"}
	if l.Mode != meta.LockNone {
		d := &DefaultRetention{Mode: l.Mode.String()}
		if l.Days > 0 {
			d.Days = &l.Days
		} else {
			d.Years = &l.Years
		}
		res.Rule = &ObjectLockRule{DefaultRetention: d}
	}
	return &response{xml: res}, nil
}

// putObjectLockConfiguration is PutObjectLockConfiguration.
func (s *Server) putObjectLockConfiguration(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var cfg lockConfigRequest
	if err := unmarshalXML(data, &cfg); err != nil {
		return nil, err
	}
	if cfg.ObjectLockEnabled != "Enabled" {
		return nil, ErrMalformedXML
	}
	l := meta.ObjectLock{Enabled: true}
	if cfg.Rule != nil {
		d := cfg.Rule.DefaultRetention
		if d == nil {
			return nil, ErrMalformedXML
		}
		m, ok := meta.ParseLockMode(d.Mode)
		if !ok || (d.Days == nil) == (d.Years == nil) {
			return nil, ErrMalformedXML
		}
		n, v := &l.Days, d.Days
		if d.Years != nil {
			n, v = &l.Years, d.Years
		}
		if *n, err = strconv.Atoi(strings.TrimSpace(*v)); err != nil || *n <= 0 || l.Days > 36500 || l.Years > 100 {
			return nil, errInvalidRetentionPeriod
		}
		l.Mode = m
	}
	if err := s.svc.PutObjectLockConfiguration(r.ctx, r.route.Bucket, l); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// lockedVersion reads the version a retention or legal hold request names.
func (s *Server) lockedVersion(r *request) (*meta.Object, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	if _, err := s.svc.ObjectLockConfiguration(r.ctx, r.route.Bucket); err != nil {
		if errors.Is(err, gateway.ErrNoObjectLockConfiguration) {
			return nil, invalidRequest("Bucket is missing Object Lock Configuration")
		}
		return nil, err
	}
	o, err := s.svc.HeadObject(r.ctx, gateway.GetObjectInput{Bucket: r.route.Bucket, Key: r.route.Key, VersionID: vid})
	if err != nil {
		return nil, err
	}
	setVersionHeader(r, o)
	return o, nil
}

// getObjectRetention is GetObjectRetention.
func (s *Server) getObjectRetention(r *request) (*response, error) {
	o, err := s.lockedVersion(r)
	if err != nil {
		return nil, err
	}
	if o.LockMode == meta.LockNone {
		return nil, errNoSuchObjectLockConfiguration
	}
	return &response{xml: Retention{Mode: o.LockMode.String(), RetainUntilDate: lockTime(o.RetainUntil)}}, nil
}

// putObjectRetention is PutObjectRetention.
func (s *Server) putObjectRetention(r *request) (*response, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	bypass, err := r.bypassGovernance()
	if err != nil {
		return nil, err
	}
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var doc retentionRequest
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	in := gateway.ObjectLockInput{Bucket: r.route.Bucket, Key: r.route.Key, VersionID: vid, SetRetention: true, BypassGovernance: bypass}
	if doc.Mode != "" || doc.RetainUntilDate != "" {
		m, ok := meta.ParseLockMode(doc.Mode)
		if !ok {
			return nil, ErrMalformedXML
		}
		t, ok := parseLockTime(doc.RetainUntilDate)
		if !ok {
			return nil, ErrMalformedXML
		}
		if t <= time.Now().UnixNano() {
			return nil, invalidArg("The retain until date must be in the future!", "RetainUntilDate", doc.RetainUntilDate)
		}
		in.Mode, in.RetainUntil = m, t
	}
	o, err := s.svc.SetObjectLock(r.ctx, in)
	if err != nil {
		return nil, err
	}
	setVersionHeader(r, o)
	return &response{}, nil
}

// getObjectLegalHold is GetObjectLegalHold.
func (s *Server) getObjectLegalHold(r *request) (*response, error) {
	o, err := s.lockedVersion(r)
	if err != nil {
		return nil, err
	}
	status := "OFF"
	if o.LegalHold {
		status = "ON"
	}
	return &response{xml: LegalHold{Status: status}}, nil
}

// putObjectLegalHold is PutObjectLegalHold.
func (s *Server) putObjectLegalHold(r *request) (*response, error) {
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var doc legalHoldRequest
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	hold, ok := parseLegalHold(doc.Status)
	if !ok {
		return nil, ErrMalformedXML
	}
	o, err := s.svc.SetObjectLock(r.ctx, gateway.ObjectLockInput{Bucket: r.route.Bucket, Key: r.route.Key, VersionID: vid,
		SetLegalHold: true, LegalHold: hold})
	if err != nil {
		return nil, err
	}
	setVersionHeader(r, o)
	return &response{}, nil
}

package s3api

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/forkstore/forkstore/meta"
)

// Server-side encryption headers and the bucket encryption configuration
// (gateway/sse.go encrypts). SSE-S3 ("AES256") needs the operator's master
// key; SSE-KMS ("aws:kms", "aws:kms:dsse") is not supported and answers
// InvalidArgument; SSE-C needs TLS, as on S3.

const (
	hdrSSE           = "X-Amz-Server-Side-Encryption"
	hdrSSEBucketKey  = "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"
	hdrSSECAlgorithm = "X-Amz-Server-Side-Encryption-Customer-Algorithm"
	hdrSSECKey       = "X-Amz-Server-Side-Encryption-Customer-Key"
	hdrSSECKeyMD5    = "X-Amz-Server-Side-Encryption-Customer-Key-Md5"
	hdrCopySSECAlg   = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm"
	hdrCopySSECKey   = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key"
	hdrCopySSECMD5   = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key-Md5"
)

var (
	errSSENotConfigured = ErrInvalidArgument.WithMessage("Server-side encryption with S3 managed keys (AES256) is not available: " +
		"the server has no master key (--kms-key-file or FORKSTORE_KMS_KEY).")
	errSSEKMSUnsupported = ErrInvalidArgument.WithMessage("Server-side encryption with AWS KMS keys (aws:kms, aws:kms:dsse) " +
		"is not supported; use AES256.")
	errSSEMethod      = ErrInvalidArgument.WithMessage("The encryption method specified is not supported")
	errSSECNeedsTLS   = ErrInvalidRequest.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.")
	errSSECAlgorithm  = ErrInvalidArgument.WithMessage("The requested encryption algorithm is not valid, must be AES256.")
	errSSECKeyMissing = ErrInvalidArgument.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.")
	errSSECKeyInvalid = ErrInvalidArgument.WithMessage("The secret key was invalid for the specified algorithm.")
	errSSECKeyMD5     = ErrInvalidArgument.WithMessage("The calculated MD5 hash of the key did not match the hash that was provided.")
	errSSECBoth       = ErrInvalidArgument.WithMessage("Server Side Encryption with Customer provided key is incompatible with the encryption method specified")
	errSSECRequired   = ErrInvalidRequest.WithMessage("The object was stored using a form of Server Side Encryption. " +
		"The correct parameters must be provided to retrieve the object.")
	errSSECMismatch      = ErrAccessDenied.WithMessage("The provided encryption key does not match the key the object was encrypted with.")
	errSSECNotApplicable = ErrInvalidRequest.WithMessage("The encryption parameters are not applicable to this object.")
	errSSEConfigNotFound = &APIError{"ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found", http.StatusNotFound}
	errSSEDecrypt        = ErrInternalError
)

// customerKeyHeaders reads one set of SSE-C headers (the object's or the
// copy source's): nil when absent.
func (r *request) customerKeyHeaders(algH, keyH, md5H string) ([]byte, error) {
	alg, key, sum := r.header.Get(algH), r.header.Get(keyH), r.header.Get(md5H)
	if alg == "" && key == "" && sum == "" {
		return nil, nil
	}
	if !r.c.Context().IsTLS() {
		return nil, errSSECNeedsTLS
	}
	if alg == "" {
		return nil, errSSECAlgorithm
	}
	if alg != "AES256" {
		return nil, argError(errSSECAlgorithm, strings.TrimPrefix(algH, "X-Amz-"), alg)
	}
	if key == "" {
		return nil, errSSECKeyMissing
	}
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(k) != 32 {
		return nil, errSSECKeyInvalid
	}
	if sum == "" {
		return nil, errSSECKeyMD5
	}
	got := md5.Sum(k)
	if base64.StdEncoding.EncodeToString(got[:]) != sum {
		return nil, errSSECKeyMD5
	}
	return k, nil
}

// customerKey is the request's SSE-C key (nil: none).
func (r *request) customerKey() ([]byte, error) {
	return r.customerKeyHeaders(hdrSSECAlgorithm, hdrSSECKey, hdrSSECKeyMD5)
}

// copySourceCustomerKey is the SSE-C key of a copy's source (nil: none).
func (r *request) copySourceCustomerKey() ([]byte, error) {
	return r.customerKeyHeaders(hdrCopySSECAlg, hdrCopySSECKey, hdrCopySSECMD5)
}

// sseRequest reads the encryption a write asks for: x-amz-server-side-
// encryption or the SSE-C headers (a zero SSE: the bucket's default).
func (s *Server) sseRequest(r *request) (meta.SSE, []byte, error) {
	ck, err := r.customerKey()
	if err != nil {
		return meta.SSE{}, nil, err
	}
	v := strings.TrimSpace(r.header.Get(hdrSSE))
	if ck != nil {
		if v != "" {
			return meta.SSE{}, nil, errSSECBoth
		}
		return meta.SSE{Algorithm: meta.SSECustomer}, ck, nil
	}
	switch v {
	case "":
		return meta.SSE{}, nil, nil
	case "AES256":
		if !s.svc.SSEAvailable() {
			return meta.SSE{}, nil, errSSENotConfigured
		}
		return meta.SSE{Algorithm: meta.SSEAES256}, nil, nil
	case "aws:kms", "aws:kms:dsse":
		return meta.SSE{}, nil, errSSEKMSUnsupported
	}
	return meta.SSE{}, nil, argError(errSSEMethod, "x-amz-server-side-encryption", v)
}

// setSSEHeaders sets the encryption headers of a version on every answer
// that describes it (PUT, GET, HEAD, copy, multipart).
func setSSEHeaders(r *request, o *meta.Object) {
	switch o.SSE.Algorithm {
	case meta.SSEAES256:
		r.set(hdrSSE, "AES256")
	case meta.SSECustomer:
		r.set(hdrSSECAlgorithm, "AES256")
		r.set(hdrSSECKeyMD5, o.SSE.CustomerKeyMD5)
	}
}

// ServerSideEncryptionConfiguration is the document of
// Put/GetBucketEncryption.
type ServerSideEncryptionConfiguration struct {
	XMLName xml.Name     `xml:"ServerSideEncryptionConfiguration"`
	Rules   []sseRuleXML `xml:"Rule"`
}

type sseRuleXML struct {
	Default *sseDefaultXML `xml:"ApplyServerSideEncryptionByDefault"`
	// BucketKeyEnabled is accepted and echoed; forkstore's data keys are
	// per object either way.
	BucketKeyEnabled *bool `xml:"BucketKeyEnabled"`
}

type sseDefaultXML struct {
	SSEAlgorithm   string `xml:"SSEAlgorithm"`
	KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
}

type sseConfigResponse struct {
	XMLName xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ServerSideEncryptionConfiguration"`
	Rules   []sseRuleXML `xml:"Rule"`
}

// putBucketEncryption is PutBucketEncryption.
func (s *Server) putBucketEncryption(r *request) (*response, error) {
	data, err := r.readSmallBody()
	if err != nil {
		return nil, err
	}
	var doc ServerSideEncryptionConfiguration
	if err := unmarshalXML(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Rules) != 1 || doc.Rules[0].Default == nil {
		return nil, ErrMalformedXML
	}
	rule := doc.Rules[0]
	switch alg := strings.TrimSpace(rule.Default.SSEAlgorithm); alg {
	case "AES256":
		if rule.Default.KMSMasterKeyID != "" {
			return nil, invalidArg("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
				"ApplyServerSideEncryptionByDefault", "")
		}
	case "aws:kms", "aws:kms:dsse":
		return nil, errSSEKMSUnsupported
	case "":
		return nil, ErrMalformedXML
	default:
		return nil, ErrMalformedXML
	}
	if !s.svc.SSEAvailable() {
		return nil, errSSENotConfigured
	}
	bucketKey := rule.BucketKeyEnabled != nil && *rule.BucketKeyEnabled
	if err := s.svc.SetBucketEncryption(r.ctx, r.route.Bucket, meta.SSEAES256, bucketKey); err != nil {
		return nil, err
	}
	return &response{}, nil
}

// getBucketEncryption is GetBucketEncryption.
func (s *Server) getBucketEncryption(r *request) (*response, error) {
	cfg, err := s.svc.BucketEncryption(r.ctx, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, errSSEConfigNotFound
	}
	bk := cfg.BucketKey
	return &response{xml: sseConfigResponse{Rules: []sseRuleXML{{
		Default: &sseDefaultXML{SSEAlgorithm: cfg.Algorithm}, BucketKeyEnabled: &bk,
	}}}}, nil
}

// deleteBucketEncryption is DeleteBucketEncryption.
func (s *Server) deleteBucketEncryption(r *request) (*response, error) {
	if err := s.svc.SetBucketEncryption(r.ctx, r.route.Bucket, "", false); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

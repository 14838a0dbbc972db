package s3api

import "net/http"

// APIError is an S3 error response: its code, HTTP status and message.
// Handlers and the authenticator return these directly; errors from
// gateway and meta are mapped to them in one table (errors.go).
type APIError struct {
	Code    string
	Message string
	Status  int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// WithMessage returns a copy of e with a more specific message.
func (e *APIError) WithMessage(msg string) *APIError {
	c := *e
	c.Message = msg
	return &c
}

// The S3 errors used by the front end (AWS codes, statuses and messages).
var (
	ErrAccessDenied                 = &APIError{"AccessDenied", "Access Denied", http.StatusForbidden}
	ErrSignatureDoesNotMatch        = &APIError{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", http.StatusForbidden}
	ErrInvalidAccessKeyID           = &APIError{"InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", http.StatusForbidden}
	ErrRequestTimeTooSkewed         = &APIError{"RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.", http.StatusForbidden}
	ErrExpiredPresign               = &APIError{"AccessDenied", "Request has expired", http.StatusForbidden}
	ErrAuthorizationHeaderMalformed = &APIError{"AuthorizationHeaderMalformed", "The authorization header is malformed.", http.StatusBadRequest}
	ErrAuthorizationQueryMalformed  = &APIError{"AuthorizationQueryParametersError", "Query-string authentication parameters are malformed.", http.StatusBadRequest}
	ErrXAmzContentSHA256Mismatch    = &APIError{"XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", http.StatusBadRequest}
	ErrInvalidDigest                = &APIError{"InvalidDigest", "The Content-MD5 you specified was invalid.", http.StatusBadRequest}
	ErrBadDigest                    = &APIError{"BadDigest", "The Content-MD5 you specified did not match what we received.", http.StatusBadRequest}
	ErrMissingContentLength         = &APIError{"MissingContentLength", "You must provide the Content-Length HTTP header.", http.StatusLengthRequired}
	ErrIncompleteBody               = &APIError{"IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", http.StatusBadRequest}
	ErrInvalidRequest               = &APIError{"InvalidRequest", "Invalid Request", http.StatusBadRequest}
	ErrInvalidArgument              = &APIError{"InvalidArgument", "Invalid Argument", http.StatusBadRequest}
	ErrMalformedXML                 = &APIError{"MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.", http.StatusBadRequest}
	ErrNotImplemented               = &APIError{"NotImplemented", "A header you provided implies functionality that is not implemented.", http.StatusNotImplemented}
	ErrMethodNotAllowed             = &APIError{"MethodNotAllowed", "The specified method is not allowed against this resource.", http.StatusMethodNotAllowed}
	ErrInternalError                = &APIError{"InternalError", "We encountered an internal error. Please try again.", http.StatusInternalServerError}
	ErrServiceUnavailable           = &APIError{"ServiceUnavailable", "Please reduce your request rate.", http.StatusServiceUnavailable}
	// errNoQuorum is ServiceUnavailable when the metadata shard has no
	// leader: retrying soon is right, reducing the request rate is not.
	errReplicasMoving               = &APIError{"ServiceUnavailable", "The node's metadata shard replicas are being moved off it; the removal goes on: ask again to wait for the rest.", http.StatusServiceUnavailable}
	errNoQuorum                     = &APIError{"ServiceUnavailable", "The metadata shard has no quorum (leader unknown); retry later.", http.StatusServiceUnavailable}
	ErrBadRequest                   = &APIError{"BadRequest", "Bad Request", http.StatusBadRequest}
	ErrEntityTooLarge               = &APIError{"EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", http.StatusBadRequest}
	ErrMetadataTooLarge             = &APIError{"MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.", http.StatusBadRequest}
	ErrRequestHeaderSectionTooLarge = &APIError{"RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum allowed size.", http.StatusBadRequest}
	ErrInvalidChunkSizeError        = &APIError{"InvalidChunkSizeError", "Only the last chunk is allowed to have a size less than 8192 bytes", http.StatusBadRequest}
	ErrBadChecksum                  = &APIError{"BadDigest", "The x-amz-checksum you specified did not match what we received.", http.StatusBadRequest}
	ErrInvalidChecksumRequest       = &APIError{"InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.", http.StatusBadRequest}
)

package s3api

import (
	"context"
	"crypto/subtle"
	"io"
	"net/http"

	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/forkstore/forkstore/gateway"
)

// The web console (package console) is served under /_forkstore/console/
// on the S3 port. It keeps its own sessions, so s3api neither
// authenticates nor authorizes its requests: it hands them over
// (dispatch). What a signed-in key may do there is decided here, by the
// same authorize as its S3 and admin requests (Authorize), and its secret
// is checked against the same keys (SignIn).

// consolePrefix is where the console lives.
const consolePrefix = adminPrefix + "console"

// maxConsoleBody caps a console request's body (a browser upload).
const maxConsoleBody = 64 << 20

var errConsoleBody = &APIError{"EntityTooLarge", "Console uploads are limited to 64 MiB and need a Content-Length; use an S3 client for larger objects.", http.StatusRequestEntityTooLarge}

type consoleHandler struct {
	h http.Handler
}

// SetConsole serves h under /_forkstore/console/ (nil: not served). Call
// it before Serve.
func (s *Server) SetConsole(h http.Handler) {
	if h == nil {
		s.console.Store(nil)
		return
	}
	s.console.Store(&consoleHandler{h: h})
}

// serveConsole hands a console request to the console's handler.
func (s *Server) serveConsole(r *request) error {
	ch := s.console.Load()
	if ch == nil {
		s.writeError(r, errAdminNotFound)
		return nil
	}
	if r.rawLength > 0 {
		// Read the body here, through the request's counting reader (the
		// connection's rate limits apply), and hand it over whole:
		// the adaptor reads bodies into memory anyway.
		data, err := io.ReadAll(io.LimitReader(r.raw, maxConsoleBody+1))
		if err != nil || int64(len(data)) != r.rawLength {
			s.writeError(r, ErrIncompleteBody)
			return nil
		}
		r.c.Request().SetBody(data)
	}
	// The handler gets the server's context (cancelled at shutdown; a
	// download streams past the request deadline, as GetObject does),
	// not fasthttp's request context, whose Done races with Shutdown.
	return adaptor.HTTPHandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		ch.h.ServeHTTP(w, hr.WithContext(s.base))
	})(r.c)
}

// SignIn checks an access key id and its secret as S3 authentication
// does (the same key lookup, a constant-time comparison) and returns who
// the key is. A wrong or unknown key answers InvalidAccessKeyId or
// SignatureDoesNotMatch.
func (s *Server) SignIn(ctx context.Context, accessKey, secret string) (*gateway.Principal, error) {
	want, aerr := s.auth.secret(accessKey)
	if aerr != nil {
		return nil, aerr
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 || secret == "" {
		return nil, ErrSignatureDoesNotMatch
	}
	p, ok := s.principal(ctx, accessKey)
	if !ok {
		return nil, ErrInvalidAccessKeyID
	}
	return p, nil
}

// Principal returns who an access key is now (false once it was deleted
// or expired).
func (s *Server) Principal(ctx context.Context, accessKey string) (*gateway.Principal, bool) {
	return s.principal(ctx, accessKey)
}

// Authorize decides whether p may do the S3 operation op (an Operation
// name: "ListObjectsV2", "GetObject", "PutObject", "DeleteObject", ...)
// on bucket and key (for listings, the prefix), exactly as for a signed
// request. "Admin" is the admin API beyond reading a bucket's lineage and
// diff ("Lineage" and "Diff", reads of the bucket).
func (s *Server) Authorize(ctx context.Context, p *gateway.Principal, op, bucket, key string) error {
	if p == nil {
		return ErrAccessDenied
	}
	o := Operation(op)
	a := access{op: o, bucket: bucket, acl: &aclCache{}}
	switch {
	case op == "Lineage" || op == "Diff":
		a.op, a.kind = OpAdmin, accessRead
	case o == OpAdmin:
		a.kind = accessAdmin
	case o == OpListBuckets:
		a.kind = accessService
	case o == OpCreateBucket:
		a.kind = accessCreate
	case bucketAdminOps[o]:
		a.kind = accessBucketAdmin
	case readOps[o]:
		a.kind = accessRead
	case key == "" && o != OpDeleteObjects:
		a.kind = accessBucketAdmin
	default:
		a.kind = accessWrite
	}
	if listingOps[o] || key != "" {
		a.key, a.hasKey = key, true
	}
	if err := s.authorize(ctx, p, a); err != nil {
		return err
	}
	return nil
}

package s3api

import (
	"bytes"
	"context"
	"fmt"
	"github.com/forkstore/forkstore/gateway"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// A request's head: what it decides before any of the body is read
// (prepare), and the fasthttp hooks through which s3api sees it there
// (headerReceived) and sees a connection between requests (connState).

// headerOffset is the offset of Request.Header in a fasthttp.RequestCtx.
var headerOffset = func() uintptr {
	var ctx fasthttp.RequestCtx
	return uintptr(unsafe.Pointer(&ctx.Request.Header)) - uintptr(unsafe.Pointer(&ctx))
}()

// ctxOfHeader returns the RequestCtx whose Request.Header is h. fasthttp
// calls HeaderReceived with &ctx.Request.Header of the request it serves
// (Server.serveConn, the only caller) and passes nothing else; the request
// state, the connection and the user values all live in the ctx.
// TestHeaderReceivedCtx checks the identity against the handler's ctx.
func ctxOfHeader(h *fasthttp.RequestHeader) *fasthttp.RequestCtx {
	return (*fasthttp.RequestCtx)(unsafe.Add(unsafe.Pointer(h), -int(headerOffset)))
}

// headerReceived runs once a request's head is read and before fasthttp
// reads any of its body or answers Expect: 100-continue. It does all the
// work the head decides (Server.prepare): a request refused here (bad
// framing, bad signature, declared body too large) is answered without
// its body being read, without 100 Continue, and its connection is closed.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	fc := ctxOfHeader(h)
	c := connOf(fc.Conn())
	if c != nil {
		c.startBody()
	}
	r := s.newRequest()
	fc.SetUserValue(localsKey{}, r)
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic reading a request head", "request_id", r.id,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				r.early = ErrInternalError
			}
		}()
		if err := checkFraming(h.RawHeaders()); err != nil {
			// Where the body ends is unknown: never read on.
			r.early, r.refused = err, true
			return
		}
		r.early = s.prepare(r, fc)
	}()
	if r.refused || r.early != nil && (h.ContentLength() > 0 || h.ContentLength() == -1) {
		// Leave the body unread: no 100 Continue, nothing read before
		// the handler answers; the connection cannot be reused.
		r.refused = true
		h.Del("Expect")
		h.SetContentLength(0)
	}
	return fasthttp.RequestConfig{}
}

// connState marks the end of each request on the connection, which then
// waits for the next one.
func (s *Server) connState(nc net.Conn, st fasthttp.ConnState) {
	if st == fasthttp.StateIdle {
		if c := connOf(nc); c != nil {
			c.startHead()
		}
	}
}

var (
	errConflictingLength = ErrBadRequest.WithMessage("The request's framing is ambiguous: more than one Content-Length, " +
		"Content-Length together with Transfer-Encoding, or more than one Transfer-Encoding (RFC 9112, section 6).")
	errTransferCoding = ErrNotImplemented.WithMessage("A header you provided implies functionality that is not implemented: " +
		"Transfer-Encoding other than chunked.")
)

// checkFraming enforces RFC 9112 section 6 on the raw header lines, which
// fasthttp does not: it takes the last of several Content-Length values
// and lets Transfer-Encoding override Content-Length, so a request framed
// one way by a proxy in front would be framed another way here (request
// smuggling). Repeated identical Content-Length values are one value.
func checkFraming(raw []byte) error {
	var length []byte
	var lengths, codings int
	chunked := true
	for len(raw) > 0 {
		var line []byte
		line, raw, _ = bytes.Cut(raw, []byte{'\n'})
		if len(line) == 0 || (line[0]|0x20 != 'c' && line[0]|0x20 != 't') {
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			if lengths > 0 && !bytes.Equal(value, length) {
				return errConflictingLength
			}
			lengths++
			length = value
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			codings++
			chunked = chunked && bytes.EqualFold(value, []byte("chunked"))
		}
	}
	switch {
	case codings > 0 && (lengths > 0 || codings > 1):
		return errConflictingLength
	case codings > 0 && !chunked:
		return errTransferCoding
	}
	return nil
}

// prepare does everything a request's head decides, before any of its
// body is read: parse, route, authenticate (the body is verified as the
// handler reads it), and the checks that need no body.
func (s *Server) prepare(r *request, fc *fasthttp.RequestCtx) error {
	if err := s.parse(r, fc); err != nil {
		return err
	}
	r.remoteIP, r.secure = fc.RemoteIP().String(), fc.IsTLS()
	signedHeader := r.header
	qh, err := r.queryHeaders()
	if err != nil {
		return err
	}
	if qh != nil {
		r.header = qh
	}
	r.route = s.router.Route(r.method, r.host, r.path, r.query, r.header)
	switch {
	case r.route.Op == OpPeer:
		body, err := s.svc.VerifyPeer(r.method, r.rawURI(), r.header.Get)
		if err != nil {
			return err
		}
		// The signed digest names the body's exact length ("-": none);
		// its SHA-256 or MAC is checked as the handler reads it. A
		// chunk copy may come chunked (streamed as it is written): its
		// receiver reads exactly the signed length and then the end.
		_, _, chunkCopy := gateway.ParseChunkBodyDigest(body)
		if n, ok := gateway.PeerBodyLength(body); !ok || (r.chunked && !chunkCopy) || (!r.chunked && n != r.rawLength && (body != "-" || r.rawLength > 0)) {
			return errPeerBody
		}
		r.peerBody = body
	case r.route.Op == OpConsole:
		// The console authenticates with its own sessions (console.go).
		// A body past its limit is refused from the head, unread.
		if r.chunked || r.rawLength > maxConsoleBody {
			return errConsoleBody
		}
		return nil
	case r.route.Op == OpPreflight || r.route.Op == OpPostObject:
		// A preflight is never signed (it grants nothing); a POST
		// Object is authenticated and authorized by its handler, from
		// the signed policy in the form.
	case !ownAccess(r.route.Op):
		res, err := s.auth.Authenticate(&AuthRequest{
			Method: r.method, Host: r.host, RawPath: r.rawPath, RawQuery: r.rawQuery,
			Header: signedHeader, Body: r.raw, ContentLength: r.authLength(),
		})
		if err != nil {
			return err
		}
		r.auth = res
		if r.route.Op == OpAdmin && (r.rawLength > 0 || r.chunked) && !res.PayloadSigned {
			// The body of an admin call decides what it does (which
			// buckets a new key may use): the signature must cover it.
			return errAdminUnsignedPayload
		}
		ctx, cancel := context.WithTimeout(s.base, s.cfg.RequestTimeout)
		defer cancel()
		if res.AccessKey != "" {
			p, ok := s.principal(ctx, res.AccessKey)
			if !ok {
				// Deleted or expired since its secret was looked up.
				return ErrInvalidAccessKeyID
			}
			r.principal = p
		}
		if err := s.authorizeRequest(ctx, r); err != nil {
			return err
		}
	}
	if readOnlyOps[r.route.Op] && r.header.Get(hdrSnapshotVersion) != "" {
		return errSnapshotReadOnly
	}
	return s.checkDeclaredSize(r)
}

// errMaxMessageLength is AWS's answer to a request document that is too
// large.
var errMaxMessageLength = &APIError{"MaxMessageLengthExceeded", "Your request was too big.", http.StatusBadRequest}

// checkDeclaredSize refuses, from its declared length alone, a body longer
// than its operation takes: it is never read.
func (s *Server) checkDeclaredSize(r *request) error {
	n := r.rawLength
	if r.auth != nil && r.auth.Size >= 0 {
		n = r.auth.Size // x-amz-decoded-content-length of aws-chunked
	}
	switch r.route.Op {
	case OpPostObject:
		if n > s.cfg.MaxObjectSize+maxPostForm {
			return ErrEntityTooLarge
		}
	case OpPutBucketCors:
		if r.rawLength > maxCORSBody {
			return errMaxMessageLength
		}
	case OpPutObject, OpUploadPart:
		if n > s.cfg.MaxObjectSize {
			return ErrEntityTooLarge
		}
	case OpAdmin:
		if r.rawLength > maxAdminBody {
			return errAdminBodyTooLarge
		}
	case OpDeleteObjects, OpCompleteMultipartUpload, OpPutBucketVersioning,
		OpCreateBucket, OpForkBucket, OpCreateSnapshot,
		OpPutBucketAcl, OpPutObjectAcl, OpPutBucketOwnershipControls,
		OpPutBucketLifecycle, OpPutBucketPolicy, OpPutPublicAccessBlock, OpPutBucketTagging, OpPutBucketEncryption:
		if r.rawLength > maxXMLBody {
			return errMaxMessageLength
		}
	}
	return nil
}

// queryHeaders returns the request's headers with the X-Tigris-* and
// X-Forkstore-* query parameters added as headers (and removed from the
// query), or nil when there are none. SigV4 signs the whole query, so a
// presigned URL can carry them where a browser cannot add headers; SigV2
// signs only sub-resources, so there they are refused, as an unsigned
// header would be. A parameter also given as a header is ambiguous.
func (r *request) queryHeaders() (http.Header, error) {
	var h http.Header
	for k, vs := range r.query {
		if !mustSign(k) || hasPrefixFold(k, "x-amz-") {
			continue
		}
		if !r.sigV4() {
			return nil, ErrHeadersNotSigned.WithMessage(ErrHeadersNotSigned.Message + ": " + strings.ToLower(k) +
				" (a query parameter: only Signature Version 4 signs the whole query)")
		}
		if h == nil {
			h = r.header.Clone()
		}
		ck := http.CanonicalHeaderKey(k)
		if _, dup := h[ck]; dup || len(vs) != 1 {
			return nil, invalidArg(ck+" is given more than once (as a header or a query parameter).", ck, vs[0])
		}
		h[ck] = vs
		delete(r.query, k)
	}
	return h, nil
}

// sigV4 reports whether the request claims a SigV4 signature (header or
// presigned); Authenticate decides whether it holds.
func (r *request) sigV4() bool {
	if strings.HasPrefix(strings.TrimLeft(r.header.Get(headerAuthorization), " \t"), signV4Algorithm) {
		return true
	}
	return r.query.Has("X-Amz-Algorithm") || r.query.Has("X-Amz-Credential") || r.query.Has("X-Amz-Signature")
}

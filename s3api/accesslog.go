package s3api

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// logAccess writes a request's access line: at Warn for a server error
// (5xx but 501 NotImplemented) or a request slower than Config.SlowRequest, whatever the
// settings; at Info with Config.AccessLog; at Debug otherwise. Nothing is
// built when the line would be dropped. Every line names the access key
// (accessKeyOf).
func (s *Server) logAccess(r *request, dur time.Duration) {
	level, msg := slog.LevelDebug, "request"
	switch {
	case r.status >= 500 && r.status != http.StatusNotImplemented:
		// A 501 is a client probing a feature, not a server problem.
		level = slog.LevelWarn
	case s.cfg.SlowRequest > 0 && dur >= s.cfg.SlowRequest:
		level, msg = slog.LevelWarn, "slow request"
	case s.cfg.AccessLog:
		level = slog.LevelInfo
	}
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", r.id),
		slog.String("op", string(r.route.Op)),
		slog.String("bucket", r.route.Bucket),
		slog.String("key", r.route.Key),
		slog.String("access_key", accessKeyOf(r)),
		slog.Int("status", r.status),
		slog.Int64("bytes_in", r.bytesIn()),
		slog.Int64("bytes_out", r.bytesOut),
		slog.Int64("dur_ms", dur.Milliseconds()),
	}
	if r.errCode != "" {
		attrs = append(attrs, slog.String("code", r.errCode))
	}
	if r.route.Unsupported != "" {
		// The sub-resource or method behind a NotImplemented or
		// MethodNotAllowed answer.
		attrs = append(attrs, slog.String("unsupported", r.route.Unsupported))
	}
	s.log.LogAttrs(ctx, level, msg, attrs...)
}

// accessKeyOf names who made a request in its access line: the access key
// id that signed it (never the secret), "anonymous" for an unsigned one,
// "none" when no signature was verified (health probes, node-to-node
// requests, refused signatures).
func accessKeyOf(r *request) string {
	switch {
	case r.auth == nil:
		return "none"
	case r.auth.AccessKey == "":
		return "anonymous"
	}
	return r.auth.AccessKey
}

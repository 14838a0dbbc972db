package s3api

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
)

// A 501 NotImplemented answer (a client probing a feature) is not a
// server problem: its access line is not at WARN (nor any line of the
// request), at INFO with the access log and at DEBUG otherwise, and still
// names the sub-resource.
func TestAccessLogNotImplementedNotWarn(t *testing.T) {
	for _, accessLog := range []bool{false, true} {
		sink := &logSink{t: t}
		cfg := DefaultConfig()
		cfg.Region = testRegion
		cfg.AccessLog = accessLog
		node := gatewaytest.NewNode(t, gatewaytest.Config(t))
		s := New(cfg, node.Service(), slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug})))
		s.auth.Secret = func(k string) (string, bool) { return testSecretKey, k == testAccessKey }
		s.principal = func(_ context.Context, k string) (*gateway.Principal, bool) {
			return &gateway.Principal{AccessKey: k, Root: true}, k == testAccessKey
		}
		if resp := s.do(t, testReq{method: "PUT", target: "/bucket501"}); resp.StatusCode != 200 {
			t.Fatalf("CreateBucket: %d", resp.StatusCode)
		}
		resp := s.do(t, testReq{method: "GET", target: "/bucket501?analytics"})
		if resp.StatusCode != 501 {
			t.Fatalf("status %d, want 501", resp.StatusCode)
		}
		id := resp.Header.Get("X-Amz-Request-Id")
		want := "level=DEBUG"
		if accessLog {
			want = "level=INFO"
		}
		var found bool
		for _, l := range strings.Split(sink.String(), "\n") {
			if !strings.Contains(l, "request_id="+id) {
				continue
			}
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				t.Errorf("access log %v: a 501 logged %q", accessLog, l)
			}
			if strings.Contains(l, "status=501") {
				found = true
				if !strings.Contains(l, want) || !strings.Contains(l, "unsupported=analytics") {
					t.Errorf("access log %v: access line %q, want %s with unsupported=analytics", accessLog, l, want)
				}
			}
		}
		if !found {
			t.Errorf("access log %v: no access line for the 501", accessLog)
		}
	}
}

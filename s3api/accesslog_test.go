package s3api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
)

// Access lines: by default only server errors and slow requests, at WARN;
// every request at INFO with AccessLog; at DEBUG when the level allows.
func TestAccessLog(t *testing.T) {
	for _, tc := range []struct {
		name      string
		level     slog.Level
		accessLog bool
		slow      time.Duration
		want      map[string]string // request → expected line prefix ("" for none)
	}{
		{"default", slog.LevelInfo, false, time.Hour, map[string]string{
			"ok": "", "4xx": "", "5xx": `level=WARN msg=request`,
		}},
		{"access log", slog.LevelInfo, true, time.Hour, map[string]string{
			"ok": `level=INFO msg=request`, "4xx": `level=INFO msg=request`, "5xx": `level=WARN msg=request`,
		}},
		{"debug", slog.LevelDebug, false, time.Hour, map[string]string{
			"ok": `level=DEBUG msg=request`, "4xx": `level=DEBUG msg=request`, "5xx": `level=WARN msg=request`,
		}},
		{"slow", slog.LevelInfo, false, time.Nanosecond, map[string]string{
			"ok": `level=WARN msg="slow request"`, "4xx": `level=WARN msg="slow request"`, "5xx": `level=WARN msg=request`,
		}},
		{"warn level", slog.LevelWarn, true, time.Hour, map[string]string{
			"ok": "", "4xx": "", "5xx": `level=WARN msg=request`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &logSink{t: t}
			cfg := DefaultConfig()
			cfg.Region = testRegion
			cfg.AccessLog = tc.accessLog
			cfg.SlowRequest = tc.slow
			s := New(cfg, &gateway.Service{}, slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: tc.level})))
			s.auth.Secret = func(k string) (string, bool) { return testSecretKey, k == testAccessKey }
			s.handlers[OpListBuckets] = func(r *request) (*response, error) { return nil, errors.New("disk on fire") }
			reqs := map[string]testReq{
				"ok":  {method: "GET", target: "/health/live", unsigned: true},
				"4xx": {method: "GET", target: "/b/k", unsigned: true},
				"5xx": {method: "GET", target: "/"},
			}
			for _, name := range []string{"ok", "4xx", "5xx"} {
				resp := s.do(t, reqs[name])
				id := resp.Header.Get("X-Amz-Request-Id")
				var line string
				for _, l := range strings.Split(sink.String(), "\n") {
					if strings.Contains(l, "request_id="+id) && strings.Contains(l, "dur_ms=") {
						line = l
					}
				}
				want := tc.want[name]
				switch {
				case want == "" && line != "":
					t.Errorf("%s: logged %q, want no access line", name, line)
				case want != "" && !strings.Contains(line, want):
					t.Errorf("%s: access line %q, want %q", name, line, want)
				case want != "" && !strings.Contains(line, "status="+itoa(int64(resp.StatusCode))):
					t.Errorf("%s: access line %q lacks the status", name, line)
				}
			}
		})
	}
}

// An access line that is not written allocates nothing.
func TestLogAccessDroppedAllocs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Region = testRegion
	s := New(cfg, &gateway.Service{}, slog.New(slog.NewTextHandler(&logSink{t: t}, nil)))
	r := &request{id: "0123456789ABCDEF", status: 200, route: Route{Op: OpGetObject, Bucket: "b", Key: "k"}}
	if n := testing.AllocsPerRun(1000, func() { s.logAccess(r, time.Millisecond) }); n != 0 {
		t.Errorf("a dropped access line allocates %v times", n)
	}
}

// BenchmarkLogAccess: the cost of an access line written (--access-log, a
// text handler) and dropped (the default).
func BenchmarkLogAccess(b *testing.B) {
	for _, on := range []bool{true, false} {
		name := "dropped"
		if on {
			name = "written"
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Region = testRegion
			cfg.AccessLog = on
			s := New(cfg, &gateway.Service{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			r := &request{id: "0123456789ABCDEF", status: 200, route: Route{Op: OpGetObject, Bucket: "photos", Key: "album/cat.jpg"}}
			b.ReportAllocs()
			for b.Loop() {
				s.logAccess(r, time.Millisecond)
			}
		})
	}
}

// Access and slow-request lines name the access key that signed the
// request (never its secret), "anonymous" for an unsigned request and
// "none" when no signature was verified (health probes, node-to-node
// requests, a refused signature), so a scoped key's actions can be traced.
func TestAccessLogNamesTheAccessKey(t *testing.T) {
	for _, slow := range []bool{false, true} {
		name := "access log"
		if slow {
			name = "slow request"
		}
		t.Run(name, func(t *testing.T) {
			sink := &logSink{t: t}
			cfg := DefaultConfig()
			cfg.Region = testRegion
			cfg.AccessLog = !slow
			cfg.SlowRequest = time.Hour
			if slow {
				cfg.SlowRequest = time.Nanosecond
			}
			s := New(cfg, &gateway.Service{}, slog.New(slog.NewTextHandler(sink, nil)))
			s.auth.Secret = func(k string) (string, bool) { return testSecretKey, k == testAccessKey }
			s.principal = func(_ context.Context, k string) (*gateway.Principal, bool) {
				return &gateway.Principal{AccessKey: k, Root: true}, k == testAccessKey
			}
			s.handlers[OpListBuckets] = func(r *request) (*response, error) { return &response{status: 200}, nil }
			for _, tc := range []struct {
				req  testReq
				want string
			}{
				{testReq{method: "GET", target: "/"}, "access_key=" + testAccessKey},
				{testReq{method: "GET", target: "/b/k", unsigned: true}, "access_key=anonymous"},
				{testReq{method: "GET", target: "/health/live", unsigned: true}, "access_key=none"},
			} {
				resp := s.do(t, tc.req)
				id := resp.Header.Get("X-Amz-Request-Id")
				var line string
				for _, l := range strings.Split(sink.String(), "\n") {
					if strings.Contains(l, "request_id="+id) && strings.Contains(l, "dur_ms=") {
						line = l
					}
				}
				if !strings.Contains(line, tc.want) {
					t.Errorf("%s %s: line %q, want %q", tc.req.method, tc.req.target, line, tc.want)
				}
				if slow && !strings.Contains(line, `msg="slow request"`) {
					t.Errorf("%s %s: line %q is not a slow-request line", tc.req.method, tc.req.target, line)
				}
			}
			if strings.Contains(sink.String(), testSecretKey) {
				t.Error("a log line holds the secret key")
			}
		})
	}
}

// Package harness builds the forkstore binary and runs it as a real process
// on loopback for the end-to-end, cluster and benchmark suites.
//
// It owns process lifecycle only: free ports, a private data directory,
// credentials through the environment, readiness polling with a deadline,
// the server's log (printed when a test fails), and Stop (SIGTERM), Kill
// (SIGKILL), Pause/Resume (SIGSTOP/SIGCONT) and Restart on the same data
// directory. It never signals any process it did not start.
//
// The suites can also run against an S3 endpoint that is already running
// (FORKSTORE_E2E_ENDPOINT, see External), which is how the tests themselves
// are checked against a reference implementation.
package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Default credentials of the servers the harness starts.
const (
	DefaultUser     = "forkstore-e2e"
	DefaultPassword = "forkstore-e2e-secret-key"
	DefaultRegion   = "us-east-1"
)

// RepoRoot returns the directory holding the module's go.mod.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("harness: not inside the forkstore module")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles ./gateway/cmd/forkstore into dir and returns the binary's
// path. FORKSTORE_BIN, when set, names a prebuilt binary to use instead.
// FORKSTORE_E2E_RACE=1 builds with the race detector.
func Build(dir string) (string, error) {
	if bin := os.Getenv("FORKSTORE_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("FORKSTORE_BIN: %w", err)
		}
		return abs, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "forkstore")
	args := []string{"build", "-o", bin}
	if os.Getenv("FORKSTORE_E2E_RACE") == "1" {
		args = append(args, "-race")
	}
	args = append(args, "./gateway/cmd/forkstore")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	// Built as `make build` builds the released binary (no cgo), so that
	// tests and benchmarks run what ships: with cgo the Raft log store
	// keeps its memtables in C memory. The race detector needs cgo.
	if os.Getenv("FORKSTORE_E2E_RACE") != "1" {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return bin, nil
}

// FreePort returns a loopback TCP address that was free a moment ago.
//
// The port is drawn below the kernel's ephemeral range (Linux's default
// starts at 32768), not asked of the kernel with port 0: a port the kernel
// hands out that way is in the range it also takes the local ports of
// outgoing connections from, so one of the tests' own connections could
// take it before the server binds it, or while a stopped node is down
// before it restarts on the same address.
func FreePort() (string, error) {
	for range 200 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePortMin+rand.IntN(freePortMax-freePortMin)))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		return addr, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// The ports FreePort draws from: [freePortMin, freePortMax).
const (
	freePortMin = 20000
	freePortMax = 32768
)

// Options configure a server process.
type Options struct {
	User, Password string
	Region         string
	Domain         string // --domain, for virtual-host style requests
	History        string // --history retention window, e.g. "1h"
	NodeID         int
	Args           []string // extra arguments after the standard ones
	Env            []string // extra environment, KEY=VALUE
	// TLSCert and TLSKey are --tls-cert and --tls-key; CAPEM verifies the
	// server's certificate (the harness's readiness checks, HTTPClient).
	TLSCert, TLSKey string
	CAPEM           []byte
	// Prefix runs the server through a command that execs it (same
	// pid), e.g. {"prlimit", "--nofile=512:512", "--"}.
	Prefix       []string
	ReadyTimeout time.Duration
	StopTimeout  time.Duration

	// S3Addr and RaftAddr, when set, are the listen addresses (a cluster
	// needs every member's address before any member starts); otherwise
	// Start picks free loopback ports.
	S3Addr, RaftAddr string
	// NoReadyWait makes Start and Restart return once the process runs
	// (a cluster member is ready only when a quorum runs); WaitReady
	// waits for it.
	NoReadyWait bool
	// DataDir, when set, is the data directory (a filesystem the test
	// mounted, say) instead of one under the test's temporary directory.
	DataDir string
	// Group, when not zero, is the process's group id (the test runs as
	// root): packet filter rules match a process's traffic by its group
	// (iptables -m owner --gid-owner), since loopback connections all
	// come from 127.0.0.1.
	Group uint32
}

// Option changes Options.
type Option func(*Options)

// WithCredentials sets the root user and password.
func WithCredentials(user, password string) Option {
	return func(o *Options) { o.User, o.Password = user, password }
}

// WithRegion sets --region.
func WithRegion(region string) Option { return func(o *Options) { o.Region = region } }

// WithDomain sets --domain.
func WithDomain(domain string) Option { return func(o *Options) { o.Domain = domain } }

// WithHistory sets --history.
func WithHistory(window string) Option { return func(o *Options) { o.History = window } }

// WithArgs appends command-line arguments.
func WithArgs(args ...string) Option {
	return func(o *Options) { o.Args = append(o.Args, args...) }
}

// WithEnv appends environment variables (KEY=VALUE).
func WithEnv(kv ...string) Option { return func(o *Options) { o.Env = append(o.Env, kv...) } }

// WithTLS serves HTTPS with the certificate and key files; caPEM is the
// CA that signed the certificate. URL then starts with https://.
func WithTLS(certFile, keyFile string, caPEM []byte) Option {
	return func(o *Options) { o.TLSCert, o.TLSKey, o.CAPEM = certFile, keyFile, caPEM }
}

// WithPrefix runs the server through a command that execs it, such as
// prlimit.
func WithPrefix(cmd ...string) Option { return func(o *Options) { o.Prefix = cmd } }

// WithReadyTimeout sets how long Start waits for /health/ready.
func WithReadyTimeout(d time.Duration) Option { return func(o *Options) { o.ReadyTimeout = d } }

// WithNodeID sets --node-id.
func WithNodeID(id int) Option { return func(o *Options) { o.NodeID = id } }

// WithAddrs sets the S3 and Raft listen addresses instead of free ports.
func WithAddrs(s3Addr, raftAddr string) Option {
	return func(o *Options) { o.S3Addr, o.RaftAddr = s3Addr, raftAddr }
}

// WithoutReadyWait makes Start and Restart return as soon as the process
// runs, without waiting for /health/ready (see WaitReady).
func WithoutReadyWait() Option { return func(o *Options) { o.NoReadyWait = true } }

// WithDataDir sets --data to dir instead of a fresh temporary directory.
func WithDataDir(dir string) Option { return func(o *Options) { o.DataDir = dir } }

// WithGroup runs the process with group id gid (needs root).
func WithGroup(gid uint32) Option { return func(o *Options) { o.Group = gid } }

// Server is one forkstore server process.
type Server struct {
	t    testing.TB
	bin  string
	opts Options

	DataDir  string
	S3Addr   string // host:port of the S3 listener
	RaftAddr string // host:port of the Raft listener
	LogPath  string

	// external is set when the suite runs against an endpoint that the
	// harness did not start; lifecycle calls then skip the test.
	external bool

	mu      sync.Mutex
	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{} // closed when the current process has exited
	waitErr error
	starts  int
}

// Start launches a server with its own data directory and ports, waits
// until it is ready and registers cleanup (SIGKILL of this process only,
// and the log when the test failed). If FORKSTORE_E2E_ENDPOINT is set, it
// returns the external server instead.
func Start(t testing.TB, bin string, opts ...Option) *Server {
	t.Helper()
	if s := External(t); s != nil {
		return s
	}
	o := Options{
		User:         DefaultUser,
		Password:     DefaultPassword,
		Region:       DefaultRegion,
		NodeID:       1,
		ReadyTimeout: 60 * time.Second,
		StopTimeout:  30 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	dir := t.TempDir() // removed after the cleanup below has run
	s3Addr, raftAddr := o.S3Addr, o.RaftAddr
	var err error
	if s3Addr == "" {
		if s3Addr, err = FreePort(); err != nil {
			t.Fatalf("free port: %v", err)
		}
	}
	if raftAddr == "" {
		if raftAddr, err = FreePort(); err != nil {
			t.Fatalf("free port: %v", err)
		}
	}
	s := &Server{
		t:        t,
		bin:      bin,
		opts:     o,
		DataDir:  filepath.Join(dir, "data"),
		S3Addr:   s3Addr,
		RaftAddr: raftAddr,
		LogPath:  filepath.Join(dir, "server.log"),
	}
	if o.DataDir != "" {
		s.DataDir = o.DataDir
	}
	t.Cleanup(s.cleanup)
	s.start()
	return s
}

// External returns a Server describing FORKSTORE_E2E_ENDPOINT (with
// FORKSTORE_E2E_ACCESS_KEY, FORKSTORE_E2E_SECRET_KEY and
// FORKSTORE_E2E_REGION), or nil when it is not set.
func External(t testing.TB) *Server {
	ep := os.Getenv("FORKSTORE_E2E_ENDPOINT")
	if ep == "" {
		return nil
	}
	ep = strings.TrimPrefix(strings.TrimPrefix(ep, "http://"), "https://")
	o := Options{
		User:     os.Getenv("FORKSTORE_E2E_ACCESS_KEY"),
		Password: os.Getenv("FORKSTORE_E2E_SECRET_KEY"),
		Region:   os.Getenv("FORKSTORE_E2E_REGION"),
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	return &Server{t: t, opts: o, S3Addr: strings.TrimSuffix(ep, "/"), external: true}
}

// IsExternal reports whether the server was not started by the harness.
func (s *Server) IsExternal() bool { return s.external }

// User returns the root access key.
func (s *Server) User() string { return s.opts.User }

// Password returns the root secret key.
func (s *Server) Password() string { return s.opts.Password }

// Region returns the configured region.
func (s *Server) Region() string { return s.opts.Region }

// URL returns the S3 endpoint as http://host:port (https:// with TLS).
func (s *Server) URL() string {
	if s.opts.TLSCert != "" {
		return "https://" + s.S3Addr
	}
	return "http://" + s.S3Addr
}

// TLSCertFile is the server's --tls-cert ("" without TLS).
func (s *Server) TLSCertFile() string { return s.opts.TLSCert }

// CAPEM returns the CA certificate that verifies the server (WithTLS).
func (s *Server) CAPEM() []byte { return s.opts.CAPEM }

// HTTPClient returns a client for URL: it trusts the server's CA.
func (s *Server) HTTPClient(timeout time.Duration) *http.Client {
	c := &http.Client{Timeout: timeout}
	if len(s.opts.CAPEM) > 0 {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(s.opts.CAPEM)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		c.Transport = tr
	}
	return c
}

// Signal sends sig to the server process (SIGHUP reloads its certificate).
func (s *Server) Signal(sig syscall.Signal) { s.t.Helper(); s.needProcess(); s.signal(sig) }

// PID returns the process id of the running server, or 0.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) needProcess() {
	s.t.Helper()
	if s.external {
		s.t.Skip("needs a server started by the harness (FORKSTORE_E2E_ENDPOINT is set)")
	}
}

func (s *Server) args() []string {
	a := []string{
		"server",
		"--data", s.DataDir,
		"--s3-addr", s.S3Addr,
		"--raft-addr", s.RaftAddr,
		"--node-id", strconv.Itoa(s.opts.NodeID),
		"--region", s.opts.Region,
	}
	// FORKSTORE_TEST_META_SHARDS runs the servers over several metadata
	// shards (a node that joins takes its cluster's count).
	if n := os.Getenv("FORKSTORE_TEST_META_SHARDS"); n != "" && !slices.Contains(s.opts.Args, "--join") {
		a = append(a, "--meta-shards", n)
	}
	if s.opts.Domain != "" {
		a = append(a, "--domain", s.opts.Domain)
	}
	if s.opts.History != "" {
		a = append(a, "--history", s.opts.History)
	}
	if s.opts.TLSCert != "" {
		a = append(a, "--tls-cert", s.opts.TLSCert, "--tls-key", s.opts.TLSKey)
	}
	return append(a, s.opts.Args...)
}

func (s *Server) start() {
	s.t.Helper()
	f, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatalf("open server log: %v", err)
	}
	s.starts++
	fmt.Fprintf(f, "=== harness: start #%d: %s %s\n", s.starts, s.bin, strings.Join(s.args(), " "))
	argv := append(append(append([]string(nil), s.opts.Prefix...), s.bin), s.args()...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(cleanEnv(os.Environ()),
		"FORKSTORE_ROOT_USER="+s.opts.User,
		"FORKSTORE_ROOT_PASSWORD="+s.opts.Password,
	)
	cmd.Env = append(cmd.Env, s.opts.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = procAttr()
	if s.opts.Group != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(os.Getuid()), Gid: s.opts.Group, NoSetGroups: true}
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		s.t.Fatalf("start %s: %v", s.bin, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.logFile, s.exited, s.waitErr = cmd, f, exited, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	if s.opts.NoReadyWait {
		return
	}
	if err := s.waitReady(s.opts.ReadyTimeout); err != nil {
		s.t.Fatalf("server did not become ready: %v\n%s", err, s.LogTail(16<<10))
	}
}

// WaitReady waits until GET /health/ready answers 200, the process exits
// or timeout passes.
func (s *Server) WaitReady(timeout time.Duration) error {
	s.needProcess()
	return s.waitReady(timeout)
}

// Wipe deletes the data directory of a stopped server: the disk is lost.
func (s *Server) Wipe() {
	s.t.Helper()
	s.needProcess()
	if s.Running() {
		s.t.Fatalf("wipe: the server (pid %d) is still running", s.PID())
	}
	if err := os.RemoveAll(s.DataDir); err != nil {
		s.t.Fatalf("wipe %s: %v", s.DataDir, err)
	}
}

// cleanEnv drops FORKSTORE_* variables of the calling environment so the
// server sees only what the test sets.
func cleanEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "FORKSTORE_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// waitReady polls GET /health/ready until it answers 200, the process
// exits, or the deadline passes.
func (s *Server) waitReady(timeout time.Duration) error {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	client := s.HTTPClient(2 * time.Second)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("no answer yet")
	for {
		resp, err := client.Get(s.URL() + "/health/ready")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("GET /health/ready: %s", resp.Status)
		} else {
			last = err
		}
		select {
		case <-exited:
			return fmt.Errorf("process exited before it was ready (%v)", s.exitErr())
		case <-deadline.C:
			return fmt.Errorf("not ready after %v: %v", timeout, last)
		case <-tick.C:
		}
	}
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

// Running reports whether the process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(sig)
	}
}

func (s *Server) wait(timeout time.Duration) bool {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return true
	}
	select {
	case <-exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Stop sends SIGTERM and waits for the process to exit. It fails the test
// if the server does not exit within the stop timeout or exits non-zero.
func (s *Server) Stop() {
	s.t.Helper()
	s.needProcess()
	if !s.Running() {
		return
	}
	s.signal(syscall.SIGTERM)
	if !s.wait(s.opts.StopTimeout) {
		// SIGQUIT makes the Go runtime write every goroutine's stack to
		// the log and exit: where the shutdown hung.
		s.signal(syscall.SIGQUIT)
		if !s.wait(10 * time.Second) {
			s.signal(syscall.SIGKILL)
			s.wait(s.opts.StopTimeout)
		}
		s.t.Fatalf("server did not exit within %v of SIGTERM (its goroutines at the end)\n%s", s.opts.StopTimeout, s.LogTail(256<<10))
	}
	s.closeLog()
	if err := s.exitErr(); err != nil {
		s.t.Errorf("server exited with %v after SIGTERM, want status 0\n%s", err, s.LogTail(8<<10))
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	s.t.Helper()
	s.needProcess()
	if !s.Running() {
		return
	}
	s.signal(syscall.SIGKILL)
	s.wait(time.Minute)
	s.closeLog()
}

// Pause stops the process with SIGSTOP.
// It returns once the kernel reports the process stopped: kill(2) returns
// before every thread has stopped, and a request sent in that window may
// still be answered.
func (s *Server) Pause() {
	s.t.Helper()
	s.needProcess()
	s.signal(syscall.SIGSTOP)
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if stopped, ok := allThreadsStopped(pid); stopped || !ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
	s.t.Fatalf("process %d not stopped 10 s after SIGSTOP", pid)
}

// allThreadsStopped reports whether every thread of pid is stopped; ok is
// false where /proc cannot tell (not Linux, or the process is gone).
func allThreadsStopped(pid int) (stopped, ok bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false, false
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue // the thread exited
		}
		// The state follows the parenthesised command name.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
			return false, true
		}
	}
	return true, true
}

// Resume continues a paused process with SIGCONT.
func (s *Server) Resume() { s.t.Helper(); s.needProcess(); s.signal(syscall.SIGCONT) }

// Restart starts the server again on the same data directory and ports,
// stopping it first with SIGTERM if it is running, and waits until ready.
func (s *Server) Restart() {
	s.t.Helper()
	s.needProcess()
	if s.Running() {
		s.Stop()
	}
	s.start()
}

// RestartWith is Restart with options changed first (more environment,
// for example).
func (s *Server) RestartWith(opts ...Option) {
	s.t.Helper()
	s.needProcess()
	if s.Running() {
		s.Stop()
	}
	for _, o := range opts {
		o(&s.opts)
	}
	s.start()
}

func (s *Server) closeLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logFile != nil {
		s.logFile.Close()
		s.logFile = nil
	}
}

func (s *Server) cleanup() {
	if s.external {
		return
	}
	if s.Running() {
		s.signal(syscall.SIGKILL)
		s.wait(time.Minute)
	}
	s.closeLog()
	// A server built with -race (FORKSTORE_E2E_RACE=1) reports data races
	// in its log and keeps running: make them test failures.
	if b, err := os.ReadFile(s.LogPath); err == nil {
		if i := bytes.Index(b, []byte("WARNING: DATA RACE")); i >= 0 {
			end := min(len(b), i+8<<10)
			s.t.Errorf("the server reported a data race:\n%s", b[i:end])
		}
	}
	if s.t.Failed() {
		s.t.Logf("server log (%s, last 32 KiB):\n%s", s.LogPath, s.LogTail(32<<10))
	}
}

// LogTail returns up to n bytes from the end of the server's log.
func (s *Server) LogTail(n int64) string {
	if s.LogPath == "" {
		return ""
	}
	f, err := os.Open(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return err.Error()
	}
	return string(b)
}

// PeakRSS returns the process's peak resident set size in bytes (VmHWM).
func (s *Server) PeakRSS() (int64, error) {
	pid := s.PID()
	if pid == 0 {
		return 0, errors.New("harness: no process")
	}
	return procStatusBytes(pid, "VmHWM")
}

// RSS returns the process's current resident set size in bytes (VmRSS).
func (s *Server) RSS() (int64, error) {
	pid := s.PID()
	if pid == 0 {
		return 0, errors.New("harness: no process")
	}
	return procStatusBytes(pid, "VmRSS")
}

func procStatusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest) // "123456 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("harness: unexpected %s line %q", field, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("harness: %s not in /proc/%d/status", field, pid)
}

// WaitFor polls cond every interval until it returns true or the deadline
// passes, then fails the test with msg.
func WaitFor(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for %s", timeout, msg)
		case <-tick.C:
		}
	}
}

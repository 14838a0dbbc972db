//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forkstore/forkstore/tests/harness"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// s3Error is the body of an S3 error response.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	RequestID string `xml:"RequestId"`
}

// rawCode sends an unsigned request and returns the status and S3 code.
func rawCode(t testing.TB, method, u string, body []byte) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testCtx(t), method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e s3Error
	xml.Unmarshal(b, &e)
	return resp.StatusCode, e.Code
}

// raw builds and sends SigV4-signed requests with minio-go's signer, for
// requests no SDK would send.
type raw struct {
	t testing.TB
	s *harness.Server
}

// rawResp is a response with its body read.
type rawResp struct {
	Status int
	Header http.Header
	Body   []byte
	Err    s3Error // parsed when the body is an S3 error
}

func (r rawResp) String() string {
	b := r.Body
	if len(b) > 512 {
		b = b[:512]
	}
	return fmt.Sprintf("HTTP %d %s: %s", r.Status, r.Err.Code, b)
}

// unsigned returns an unsigned request for path (unescaped,
// "/bucket/key") and query, escaped as minio-go escapes them. The payload
// hash header is the body's SHA-256 unless hdr sets X-Amz-Content-Sha256.
func (c raw) unsigned(method, path string, query url.Values, hdr http.Header, body []byte) *http.Request {
	c.t.Helper()
	u := &url.URL{Scheme: "http", Host: c.s.S3Addr, Path: path, RawPath: s3utils.EncodePath(path)}
	if query != nil {
		u.RawQuery = s3utils.QueryEncode(query)
	}
	req, err := http.NewRequestWithContext(testCtx(c.t), method, u.String(), bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("X-Amz-Content-Sha256") == "" {
		h := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(h[:]))
	}
	return req
}

// request returns the request signed with SigV4 (header auth).
func (c raw) request(method, path string, query url.Values, hdr http.Header, body []byte) *http.Request {
	c.t.Helper()
	req := c.unsigned(method, path, query, hdr, body)
	return signer.SignV4(*req, c.s.User(), c.s.Password(), "", c.s.Region())
}

// streaming returns a PUT of data with a signed aws-chunked body
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, 64 KiB chunks), as minio-go sends.
func (c raw) streaming(path string, data []byte) *http.Request {
	c.t.Helper()
	req := c.unsigned(http.MethodPut, path, nil, nil, nil)
	req.Body = io.NopCloser(bytes.NewReader(data))
	return signer.StreamingSignV4(req, c.s.User(), c.s.Password(), "", c.s.Region(), int64(len(data)), time.Now().UTC(), sha256Hasher{sha256.New()})
}

// sha256Hasher adapts hash.Hash to the hasher the streaming signer takes.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func (c raw) send(req *http.Request) rawResp {
	c.t.Helper()
	out, err := c.trySend(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return out
}

// trySend is send that returns transport errors.
func (c raw) trySend(req *http.Request) (rawResp, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rawResp{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := rawResp{Status: resp.StatusCode, Header: resp.Header, Body: b}
	xml.Unmarshal(b, &out.Err)
	return out, nil
}

func (c raw) do(method, path string, query url.Values, hdr http.Header, body []byte) rawResp {
	c.t.Helper()
	return c.send(c.request(method, path, query, hdr, body))
}

// wantErr asserts an S3 error response with status and code.
func wantErr(t testing.TB, what string, r rawResp, status int, code string) {
	t.Helper()
	if r.Status != status || r.Err.Code != code {
		t.Errorf("%s: %s; want HTTP %d %s", what, r, status, code)
	}
}

// wire renders a request as the bytes a client puts on the wire.
func wire(t testing.TB, req *http.Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatalf("render request: %v", err)
	}
	return buf.Bytes()
}

// sendPartial writes the first n bytes of a rendered request on a fresh
// connection and closes it: a client that disconnects mid-upload.
func sendPartial(t testing.TB, addr string, b []byte, n int) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(b[:n]); err != nil {
		t.Logf("partial write: %v", err)
	}
}

// sendWire writes rendered request bytes and reads one response.
func sendWire(t testing.TB, addr string, b []byte) rawResp {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	go conn.Write(b) // the server may answer before reading everything
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := rawResp{Status: resp.StatusCode, Header: resp.Header, Body: body}
	xml.Unmarshal(body, &out.Err)
	return out
}

func contentMD5(b []byte) string {
	h := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// absent asserts that key does not exist.
func absent(t testing.TB, c *minio.Client, bucket, key, why string) {
	t.Helper()
	_, err := c.StatObject(testCtx(t), bucket, key, minio.StatObjectOptions{})
	if err == nil {
		t.Errorf("%s: object %s/%s exists, want none", why, bucket, key)
	} else if code := minio.ToErrorResponse(err).Code; code != "NoSuchKey" {
		t.Errorf("%s: HeadObject %s: %s, want NoSuchKey", why, key, describe(err))
	}
}

// Request bodies and names that no SDK sends, and how S3 answers them.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newClient(t, s)
	b := bucketName(t, "badinput")
	makeBucket(t, c, b)
	putBytes(t, c, b, "exists", []byte("0123456789"), minio.PutObjectOptions{})

	t.Run("DeleteObjects MalformedXML", func(t *testing.T) {
		r := raw{t, s}
		for name, body := range map[string]string{
			"truncated":   `<Delete><Object><Key>exists</Key></Object>`,
			"not xml":     `this is not xml`,
			"no objects":  `<Delete></Delete>`,
			"unclosed ok": `<Delete><Object><Key>exists</Key></Object><Quiet>true</Quiet>`,
		} {
			hdr := http.Header{"Content-Md5": {contentMD5([]byte(body))}}
			resp := r.do(http.MethodPost, "/"+b, url.Values{"delete": {""}}, hdr, []byte(body))
			wantErr(t, "DeleteObjects "+name, resp, 400, "MalformedXML")
		}
		if _, err := c.StatObject(testCtx(t), b, "exists", minio.StatObjectOptions{}); err != nil {
			t.Errorf("object deleted by a malformed DeleteObjects: %v", describe(err))
		}
		// More than 1000 keys is MalformedXML too.
		var sb strings.Builder
		sb.WriteString("<Delete>")
		for i := 0; i < 1001; i++ {
			fmt.Fprintf(&sb, "<Object><Key>k%d</Key></Object>", i)
		}
		sb.WriteString("</Delete>")
		body := []byte(sb.String())
		resp := r.do(http.MethodPost, "/"+b, url.Values{"delete": {""}}, http.Header{"Content-Md5": {contentMD5(body)}}, body)
		wantErr(t, "DeleteObjects with 1001 keys", resp, 400, "MalformedXML")
	})

	t.Run("DeleteObjects without Content-MD5", func(t *testing.T) {
		// botocore >= 1.36 sends an x-amz-checksum-* header instead of
		// Content-MD5; AWS accepts either (S3-PITFALLS 1).
		r := raw{t, s}
		putBytes(t, c, b, "del-me", []byte("x"), minio.PutObjectOptions{})
		body := []byte(`<Delete><Object><Key>del-me</Key></Object></Delete>`)
		hdr := http.Header{"X-Amz-Checksum-Crc32": {algoByName(t, "CRC32").full(body)}, "X-Amz-Sdk-Checksum-Algorithm": {"CRC32"}}
		resp := r.do(http.MethodPost, "/"+b, url.Values{"delete": {""}}, hdr, body)
		if resp.Status != 200 || !bytes.Contains(resp.Body, []byte("<Deleted>")) {
			t.Errorf("DeleteObjects with x-amz-checksum-crc32 and no Content-MD5: %s; want 200 with <Deleted>", resp)
		}
		absent(t, c, b, "del-me", "DeleteObjects")
	})

	t.Run("CompleteMultipartUpload errors", func(t *testing.T) {
		r := raw{t, s}
		core := minio.Core{Client: c}
		ctx := testCtx(t)
		id, err := core.NewMultipartUpload(ctx, b, "mpu", minio.PutObjectOptions{})
		if err != nil {
			t.Fatalf("CreateMultipartUpload: %v", describe(err))
		}
		part1 := randBytes(21, 5<<20)
		part2 := randBytes(22, 1000)
		p1, err := core.PutObjectPart(ctx, b, "mpu", id, 1, bytes.NewReader(part1), int64(len(part1)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatalf("UploadPart 1: %v", describe(err))
		}
		p2, err := core.PutObjectPart(ctx, b, "mpu", id, 2, bytes.NewReader(part2), int64(len(part2)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatalf("UploadPart 2: %v", describe(err))
		}
		q := url.Values{"uploadId": {id}}
		complete := func(body string) rawResp {
			return r.do(http.MethodPost, "/"+b+"/mpu", q, nil, []byte(body))
		}
		part := func(n int, etag string) string {
			return fmt.Sprintf(`<Part><PartNumber>%d</PartNumber><ETag>"%s"</ETag></Part>`, n, etag)
		}
		wantErr(t, "CompleteMultipartUpload truncated XML", complete(`<CompleteMultipartUpload><Part><PartNumber>1`), 400, "MalformedXML")
		wantErr(t, "CompleteMultipartUpload not XML", complete(`{"parts":[1,2]}`), 400, "MalformedXML")
		// AWS answers MalformedXML for an empty part list; InvalidRequest
		// ("You must specify at least one part") is accepted as well.
		if resp := complete(`<CompleteMultipartUpload></CompleteMultipartUpload>`); resp.Status != 400 || (resp.Err.Code != "MalformedXML" && resp.Err.Code != "InvalidRequest") {
			t.Errorf("CompleteMultipartUpload with no parts: %s; want 400 MalformedXML", resp)
		}
		wantErr(t, "CompleteMultipartUpload parts out of order",
			complete(`<CompleteMultipartUpload>`+part(2, p2.ETag)+part(1, p1.ETag)+`</CompleteMultipartUpload>`), 400, "InvalidPartOrder")
		wantErr(t, "CompleteMultipartUpload wrong ETag",
			complete(`<CompleteMultipartUpload>`+part(1, p1.ETag)+part(2, "00000000000000000000000000000000")+`</CompleteMultipartUpload>`), 400, "InvalidPart")
		wantErr(t, "CompleteMultipartUpload unknown part",
			complete(`<CompleteMultipartUpload>`+part(1, p1.ETag)+part(3, p2.ETag)+`</CompleteMultipartUpload>`), 400, "InvalidPart")
		absent(t, c, b, "mpu", "failed CompleteMultipartUpload")
		// The upload is still usable after the refusals.
		resp := complete(`<CompleteMultipartUpload>` + part(1, p1.ETag) + part(2, p2.ETag) + `</CompleteMultipartUpload>`)
		if resp.Status != 200 || resp.Err.Code != "" {
			t.Fatalf("CompleteMultipartUpload: %s", resp)
		}
		sameBytes(t, "completed upload", getBytes(t, c, b, "mpu", minio.GetObjectOptions{}), append(append([]byte{}, part1...), part2...))
		wantErr(t, "CompleteMultipartUpload of an unknown upload", r.do(http.MethodPost, "/"+b+"/mpu", url.Values{"uploadId": {"no-such-upload"}}, nil,
			[]byte(`<CompleteMultipartUpload>`+part(1, p1.ETag)+`</CompleteMultipartUpload>`)), 404, "NoSuchUpload")
	})

	t.Run("InvalidBucketName", func(t *testing.T) {
		r := raw{t, s}
		for _, name := range []string{
			"ab",                    // too short
			strings.Repeat("a", 64), // too long
			"-leading-hyphen",       // must start with a letter or digit
			"trailing-hyphen-",      // must end with a letter or digit
			".leading-dot",          // must start with a letter or digit
			"UpperCase",             // no upper case
			"under_score",           // no underscores
			"double..dot",           // no adjacent periods
			"192.168.10.20",         // not an IP address
			"_underscore",           // must start with a letter or digit
			"bad%20name",            // a literal percent sign
			"name with space",       // space
			"ünïcødé",               // non-ASCII
		} {
			resp := r.do(http.MethodPut, "/"+name, nil, nil, nil)
			wantErr(t, fmt.Sprintf("CreateBucket %q", name), resp, 400, "InvalidBucketName")
		}
		suffix := bucketName(t, "x")[2:] // 8 hex digits, unique to this run
		for _, name := range []string{"a" + suffix[:2], strings.Repeat("a", 55) + suffix, "with.dots." + suffix, "0digits-" + suffix} {
			resp := r.do(http.MethodPut, "/"+name, nil, nil, nil)
			if resp.Status != 200 {
				t.Errorf("CreateBucket %q (valid): %s", name, resp)
			}
		}
	})
	// AWS general purpose bucket naming rules reserve these prefixes and
	// suffixes for its own features.
	t.Run("InvalidBucketName reserved affixes", func(t *testing.T) {
		r := raw{t, s}
		for _, name := range []string{"xn--punycode", "sthree-prefix", "bucket-s3alias", "bucket--ol-s3", "bucket.mrap", "bucket--x-s3"} {
			resp := r.do(http.MethodPut, "/"+name, nil, nil, nil)
			wantErr(t, fmt.Sprintf("CreateBucket %q", name), resp, 400, "InvalidBucketName")
		}
	})

	t.Run("KeyTooLongError", func(t *testing.T) {
		r := raw{t, s}
		long := strings.Repeat("k", 1025)
		wantErr(t, "PutObject with a 1025-byte key", r.do(http.MethodPut, "/"+b+"/"+long, nil, nil, []byte("x")), 400, "KeyTooLongError")
		// Exactly 1024 bytes is allowed, also in multi-byte UTF-8, whose
		// escaped request line is three times as long.
		for _, k := range []string{strings.Repeat("k", 1024), strings.Repeat("é", 512), strings.Repeat("名", 341) + "x"} {
			if len(k) != 1024 {
				t.Fatalf("test key is %d bytes", len(k))
			}
			resp := r.do(http.MethodPut, "/"+b+"/"+k, nil, nil, []byte("max"))
			if resp.Status != 200 {
				t.Errorf("PutObject with a 1024-byte key (%q...): %s", k[:6], resp)
				continue
			}
			sameBytes(t, "GET 1024-byte key", getBytes(t, c, b, k, minio.GetObjectOptions{}), []byte("max"))
		}
		mb := strings.Repeat("é", 513) // 1026 bytes, 513 characters
		wantErr(t, "PutObject with a 1026-byte UTF-8 key", r.do(http.MethodPut, "/"+b+"/"+mb, nil, nil, []byte("x")), 400, "KeyTooLongError")
	})

	t.Run("payload hash and digest mismatches", func(t *testing.T) {
		r := raw{t, s}
		body := []byte("the real body")
		other := sha256.Sum256([]byte("another body"))
		resp := r.do(http.MethodPut, "/"+b+"/sha-mismatch", nil, http.Header{"X-Amz-Content-Sha256": {hex.EncodeToString(other[:])}}, body)
		wantErr(t, "PutObject with a wrong x-amz-content-sha256", resp, 400, "XAmzContentSHA256Mismatch")
		absent(t, c, b, "sha-mismatch", "x-amz-content-sha256 mismatch")

		resp = r.do(http.MethodPut, "/"+b+"/md5-mismatch", nil, http.Header{"Content-Md5": {contentMD5([]byte("nope"))}}, body)
		wantErr(t, "PutObject with a wrong Content-MD5", resp, 400, "BadDigest")
		absent(t, c, b, "md5-mismatch", "Content-MD5 mismatch")

		resp = r.do(http.MethodPut, "/"+b+"/md5-invalid", nil, http.Header{"Content-Md5": {"not base64!"}}, body)
		wantErr(t, "PutObject with an undecodable Content-MD5", resp, 400, "InvalidDigest")

		resp = r.do(http.MethodPut, "/"+b+"/crc-mismatch", nil, http.Header{"X-Amz-Checksum-Crc32c": {algoByName(t, "CRC32C").full([]byte("nope"))}}, body)
		wantErr(t, "PutObject with a wrong x-amz-checksum-crc32c", resp, 400, "BadDigest")
		absent(t, c, b, "crc-mismatch", "checksum mismatch")

		resp = r.do(http.MethodPut, "/"+b+"/md5-ok", nil, http.Header{"Content-Md5": {contentMD5(body)}}, body)
		if resp.Status != 200 {
			t.Errorf("PutObject with a correct Content-MD5: %s", resp)
		}
	})

	t.Run("UNSIGNED-PAYLOAD and chunked transfer", func(t *testing.T) {
		r := raw{t, s}
		body := randBytes(31, 3<<20+5)
		req := r.request(http.MethodPut, "/"+b+"/unsigned", nil, http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, body)
		if resp := r.send(req); resp.Status != 200 {
			t.Fatalf("PutObject UNSIGNED-PAYLOAD: %s", resp)
		}
		sameBytes(t, "UNSIGNED-PAYLOAD object", getBytes(t, c, b, "unsigned", minio.GetObjectOptions{}), body)

		// No Content-Length: Go sends Transfer-Encoding: chunked.
		req = r.request(http.MethodPut, "/"+b+"/te-chunked", nil, http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, body)
		req.ContentLength = -1
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body)))
		resp := r.send(req)
		if resp.Status != 200 {
			t.Fatalf("PutObject with Transfer-Encoding: chunked: %s", resp)
		}
		sameBytes(t, "chunked-transfer object", getBytes(t, c, b, "te-chunked", minio.GetObjectOptions{}), body)
	})

	t.Run("aws-chunked signature errors", func(t *testing.T) {
		r := raw{t, s}
		data := randBytes(41, 200<<10) // 4 signed chunks of 64 KiB
		render := func(key string) []byte { return wire(t, r.streaming("/"+b+"/"+key, data)) }
		full := render("chunked-ok")
		if resp := sendWire(t, s.S3Addr, full); resp.Status != 200 {
			t.Fatalf("PutObject STREAMING-AWS4-HMAC-SHA256-PAYLOAD: %s", resp)
		}
		sameBytes(t, "aws-chunked object", getBytes(t, c, b, "chunked-ok", minio.GetObjectOptions{}), data)

		// Flip one byte of the second chunk's data: its signature fails.
		bad := render("chunked-bad-data")
		hdrEnd := bytes.Index(bad, []byte("\r\n\r\n")) + 4
		second := hdrEnd + bytes.Index(bad[hdrEnd+100:], []byte(";chunk-signature=")) + 100
		flip := second + 200
		bad[flip] ^= 0xff
		resp := sendWire(t, s.S3Addr, bad)
		wantErr(t, "aws-chunked body with a corrupted chunk", resp, 403, "SignatureDoesNotMatch")
		absent(t, c, b, "chunked-bad-data", "corrupted aws-chunked body")

		// Change one hex digit of the first chunk signature.
		bad = render("chunked-bad-sig")
		i := hdrEnd + bytes.Index(bad[hdrEnd:], []byte(";chunk-signature=")) + len(";chunk-signature=")
		if bad[i] == '0' {
			bad[i] = '1'
		} else {
			bad[i] = '0'
		}
		resp = sendWire(t, s.S3Addr, bad)
		wantErr(t, "aws-chunked body with a wrong chunk signature", resp, 403, "SignatureDoesNotMatch")
		absent(t, c, b, "chunked-bad-sig", "wrong chunk signature")
	})

	t.Run("client disconnects mid-upload", func(t *testing.T) {
		r := raw{t, s}
		// aws-chunked, signed, cut in the middle of the second chunk.
		data := randBytes(51, 1<<20)
		w := wire(t, r.streaming("/"+b+"/cut-chunked", data))
		sendPartial(t, s.S3Addr, w, len(w)/2)

		// Plain body of 10 MiB (several chunks), cut after 6 MiB.
		big := randBytes(52, 10<<20)
		req := r.request(http.MethodPut, "/"+b+"/cut-plain", nil, http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, big)
		w = wire(t, req)
		sendPartial(t, s.S3Addr, w, len(w)-4<<20)

		// Chunked transfer encoding, cut before the last chunk.
		req = r.request(http.MethodPut, "/"+b+"/cut-te", nil, http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, big)
		req.ContentLength = -1
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(big)))
		w = wire(t, req)
		sendPartial(t, s.S3Addr, w, len(w)-1<<20)

		// The server must stay healthy and never show a partial object.
		// A complete upload after the cut ones proves the server has moved on.
		putBytes(t, c, b, "after-cuts", []byte("ok"), minio.PutObjectOptions{})
		for _, k := range []string{"cut-chunked", "cut-plain", "cut-te"} {
			absent(t, c, b, k, "upload cut short by the client")
		}
		for o := range c.ListObjects(testCtx(t), b, minio.ListObjectsOptions{Prefix: "cut-", Recursive: true}) {
			t.Errorf("listing shows %q (err %v) after an interrupted upload", o.Key, o.Err)
		}
	})

	t.Run("huge headers", func(t *testing.T) {
		r := raw{t, s}
		for _, n := range []int{8 << 10, 64 << 10, 1 << 20} {
			key := fmt.Sprintf("huge-header-%d", n)
			hdr := http.Header{"X-Amz-Meta-Big": {strings.Repeat("v", n)}}
			resp, err := r.trySend(r.request(http.MethodPut, "/"+b+"/"+key, nil, hdr, []byte("x")))
			switch {
			case err != nil && n >= 1<<20:
				// A server may answer and close before reading a 1 MiB
				// header; the client then sees the reset, not the answer.
				t.Logf("PUT with a %d-byte header: %v (connection closed by the server)", n, err)
			case err != nil:
				t.Errorf("PUT with a %d-byte header: %v; want a 4xx S3 XML error", n, err)
			case resp.Status < 400 || resp.Status >= 500 || resp.Err.Code == "":
				t.Errorf("PUT with a %d-byte header: %s; want a 4xx S3 XML error (MetadataTooLarge, RequestHeaderSectionTooLarge or 431)", n, resp)
			}
			absent(t, c, b, key, "refused huge header")
		}
		// 2 KB of user metadata is the S3 limit; more is MetadataTooLarge.
		hdr := http.Header{"X-Amz-Meta-A": {strings.Repeat("a", 1500)}, "X-Amz-Meta-B": {strings.Repeat("b", 1500)}}
		wantErr(t, "PutObject with 3 KB of user metadata", r.do(http.MethodPut, "/"+b+"/meta-3k", nil, hdr, []byte("x")), 400, "MetadataTooLarge")
	})

	t.Run("ranges", func(t *testing.T) {
		r := raw{t, s}
		const size = 10 // "exists" holds 0123456789
		whole := []byte("0123456789")
		cases := []struct {
			rng    string
			status int    // 200 (Range ignored), 206 or 416
			body   string // for 200/206
		}{
			{"bytes=0-999999999999", 206, "0123456789"},
			{"bytes=-99999999999", 206, "0123456789"},
			{"bytes=3-3", 206, "3"},
			{"bytes=9-", 206, "9"},
			{"bytes=10-", 416, ""},
			{"bytes=99999999999-", 416, ""},
			{"bytes=10-20", 416, ""},
			{"bytes=5-2", 200, string(whole)},     // invalid: ignored (RFC 9110 14.2)
			{"bytes=abc", 200, string(whole)},     // invalid: ignored
			{"bytes=--5", 200, string(whole)},     // invalid: ignored
			{"items=0-5", 200, string(whole)},     // unknown unit: ignored
			{"bytes=0-1,4-5", 200, string(whole)}, // S3 does not serve multiple ranges
		}
		for _, tc := range cases {
			resp := r.do(http.MethodGet, "/"+b+"/exists", nil, http.Header{"Range": {tc.rng}}, nil)
			switch tc.status {
			case 416:
				wantErr(t, "GET Range: "+tc.rng, resp, 416, "InvalidRange")
				if cr := resp.Header.Get("Content-Range"); cr != "" && cr != fmt.Sprintf("bytes */%d", size) {
					t.Errorf("GET Range: %s: Content-Range %q, want bytes */%d", tc.rng, cr, size)
				}
			default:
				if resp.Status != tc.status || string(resp.Body) != tc.body {
					t.Errorf("GET Range: %s: HTTP %d %q; want %d %q", tc.rng, resp.Status, resp.Body, tc.status, tc.body)
				}
			}
		}
		// Any range of an empty object is unsatisfiable.
		putBytes(t, c, b, "empty", nil, minio.PutObjectOptions{})
		wantErr(t, "GET Range: bytes=0- of an empty object", r.do(http.MethodGet, "/"+b+"/empty", nil, http.Header{"Range": {"bytes=0-"}}, nil), 416, "InvalidRange")
		// An overflowing start is either unsatisfiable or ignored, never a 5xx.
		resp := r.do(http.MethodGet, "/"+b+"/exists", nil, http.Header{"Range": {"bytes=18446744073709551616-"}}, nil)
		if resp.Status != 416 && resp.Status != 200 {
			t.Errorf("GET Range: bytes=18446744073709551616-: %s; want 416 or 200", resp)
		}
	})
}

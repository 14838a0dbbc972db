package s3api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example credentials of the AWS documentation.
const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// exampleTime is the request time of every SigV4 example: 20130524T000000Z.
var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// testAuthenticator knows the example key and sees the clock at now.
func testAuthenticator(region string, now time.Time) *Authenticator {
	return &Authenticator{
		Region: region,
		Secret: func(ak string) (string, bool) {
			if ak == exampleAccessKey {
				return exampleSecret, true
			}
			return "", false
		},
		Now: func() time.Time { return now },
	}
}

// header builds an http.Header from name/value pairs.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// readBody reads an authenticated body to its end.
func readBody(t *testing.T, res *AuthResult) ([]byte, error) {
	t.Helper()
	return io.ReadAll(res.Body)
}

// wantAPIError checks that err is the S3 error code want.
func wantAPIError(t *testing.T, err error, code string) *APIError {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want S3 error %s", err, err, code)
	}
	if ae.Code != code {
		t.Fatalf("error %s (%s), want %s", ae.Code, ae.Message, code)
	}
	return ae
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// awsExamplesV4 are the four examples of "Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk (AWS
// Signature Version 4)", S3 API reference.
func awsExamplesV4() []struct {
	name string
	req  AuthRequest
	body string
	auth string
} {
	return []struct {
		name string
		req  AuthRequest
		body string
		auth string
	}{
		{
			name: "GET Object",
			req: AuthRequest{Method: "GET", Host: "examplebucket.s3.amazonaws.com", RawPath: "/test.txt", Header: header(
				"Range", "bytes=0-9",
				"X-Amz-Content-Sha256", emptySHA256,
				"X-Amz-Date", "20130524T000000Z")},
			auth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name: "PUT Object",
			req: AuthRequest{Method: "PUT", Host: "examplebucket.s3.amazonaws.com", RawPath: "/test$file.text", Header: header(
				"Date", "Fri, 24 May 2013 00:00:00 GMT",
				"X-Amz-Date", "20130524T000000Z",
				"X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")},
			body: "Welcome to Amazon S3.",
			auth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		},
		{
			name: "GET Bucket Lifecycle",
			req: AuthRequest{Method: "GET", Host: "examplebucket.s3.amazonaws.com", RawPath: "/", RawQuery: "lifecycle", Header: header(
				"X-Amz-Date", "20130524T000000Z",
				"X-Amz-Content-Sha256", emptySHA256)},
			auth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name: "GET Bucket (List Objects)",
			req: AuthRequest{Method: "GET", Host: "examplebucket.s3.amazonaws.com", RawPath: "/", RawQuery: "max-keys=2&prefix=J", Header: header(
				"X-Amz-Date", "20130524T000000Z",
				"X-Amz-Content-Sha256", emptySHA256)},
			auth: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	}
}

// TestSigV4AWSExamples verifies the signatures of the AWS examples, and
// that changing any signed part of them breaks the signature.
func TestSigV4AWSExamples(t *testing.T) {
	a := testAuthenticator("us-east-1", exampleTime.Add(time.Minute))
	for _, tc := range awsExamplesV4() {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Header.Set("Authorization", tc.auth)
			req.Body = strings.NewReader(tc.body)
			req.ContentLength = int64(len(tc.body))
			res, err := a.Authenticate(&req)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if res.AccessKey != exampleAccessKey || res.Size != int64(len(tc.body)) {
				t.Fatalf("result %+v", res)
			}
			got, err := readBody(t, res)
			if err != nil || string(got) != tc.body {
				t.Fatalf("body %q, %v", got, err)
			}
			if res.Trailer() != nil {
				t.Fatalf("unexpected trailer")
			}
		})
		t.Run(tc.name+"/tampered", func(t *testing.T) {
			mutations := map[string]func(r *AuthRequest){
				"method": func(r *AuthRequest) { r.Method = "DELETE" },
				"path":   func(r *AuthRequest) { r.RawPath += "x" },
				"query":  func(r *AuthRequest) { r.RawQuery += "&x=1" },
				"host":   func(r *AuthRequest) { r.Host = "other.s3.amazonaws.com" },
				"header": func(r *AuthRequest) { r.Header.Set("X-Amz-Date", "20130524T000001Z") },
				"sig": func(r *AuthRequest) {
					auth := r.Header.Get("Authorization")
					r.Header.Set("Authorization", auth[:len(auth)-1]+"x")
				},
			}
			for name, mutate := range mutations {
				t.Log(name)
				req := tc.req
				req.Header = tc.req.Header.Clone()
				req.Header.Set("Authorization", tc.auth)
				req.Body = strings.NewReader(tc.body)
				mutate(&req)
				_, err := a.Authenticate(&req)
				wantAPIError(t, err, "SignatureDoesNotMatch")
			}
		})
	}
}

// TestSigV4PutObjectPayloadMismatch: the PUT Object example with another
// body fails at the end of the body with XAmzContentSHA256Mismatch.
func TestSigV4PutObjectPayloadMismatch(t *testing.T) {
	a := testAuthenticator("us-east-1", exampleTime)
	tc := awsExamplesV4()[1]
	for _, body := range []string{"Welcome to Amazon S3!", "Welcome to Amazon S3", ""} {
		req := tc.req
		req.Header.Set("Authorization", tc.auth)
		req.Body = strings.NewReader(body)
		req.ContentLength = -1
		res, err := a.Authenticate(&req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = readBody(t, res)
		wantAPIError(t, err, "XAmzContentSHA256Mismatch")
	}
	// A body shorter than Content-Length: IncompleteBody.
	req := tc.req
	req.Header.Set("Authorization", tc.auth)
	req.Body = strings.NewReader("Welcome")
	req.ContentLength = 21
	res, err := a.Authenticate(&req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readBody(t, res)
	wantAPIError(t, err, "IncompleteBody")
}

// TestPresignV4AWSExample verifies the example of "Authenticating Requests:
// Using Query Parameters (AWS Signature Version 4)".
func TestPresignV4AWSExample(t *testing.T) {
	const query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	req := func() *AuthRequest {
		return &AuthRequest{Method: "GET", Host: "examplebucket.s3.amazonaws.com", RawPath: "/test.txt", RawQuery: query, Header: http.Header{}, ContentLength: 0}
	}
	for _, now := range []time.Time{exampleTime, exampleTime.Add(24 * time.Hour), exampleTime.Add(-time.Minute)} {
		res, err := testAuthenticator("us-east-1", now).Authenticate(req())
		if err != nil {
			t.Fatalf("at %v: %v", now, err)
		}
		if res.AccessKey != exampleAccessKey {
			t.Fatal(res.AccessKey)
		}
	}
	// AccessDenied "Request has expired" one second after X-Amz-Expires.
	_, err := testAuthenticator("us-east-1", exampleTime.Add(24*time.Hour+time.Second)).Authenticate(req())
	if ae := wantAPIError(t, err, "AccessDenied"); ae.Message != "Request has expired" {
		t.Fatal(ae.Message)
	}
	// Not valid yet: far in the future.
	_, err = testAuthenticator("us-east-1", exampleTime.Add(-time.Hour)).Authenticate(req())
	wantAPIError(t, err, "AccessDenied")
	// Another path: SignatureDoesNotMatch.
	r := req()
	r.RawPath = "/test.txt2"
	_, err = testAuthenticator("us-east-1", exampleTime).Authenticate(r)
	wantAPIError(t, err, "SignatureDoesNotMatch")
	// An unsigned x-amz-* header: AccessDenied (HeadersNotSigned).
	r = req()
	r.Header.Set("X-Amz-Meta-A", "b")
	_, err = testAuthenticator("us-east-1", exampleTime).Authenticate(r)
	if ae := wantAPIError(t, err, "AccessDenied"); !strings.Contains(ae.Message, "x-amz-meta-a") {
		t.Fatal(ae.Message)
	}
}

// buildChunk returns one aws-chunked chunk with its signature.
func buildChunk(data []byte, sig string) []byte {
	var b bytes.Buffer
	b.WriteString(strconv.FormatInt(int64(len(data)), 16))
	if sig != "" {
		b.WriteString(";chunk-signature=" + sig)
	}
	b.WriteString("\r\n")
	b.Write(data)
	if len(data) > 0 {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// chunkedExample is the example of "Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks (Chunked
// Upload) (AWS Signature Version 4)": 65 KiB of 'a' in chunks of 64 KiB and
// 1 KiB, and its chunk signatures.
func chunkedExample() (AuthRequest, []byte) {
	body := append([]byte{}, buildChunk(bytes.Repeat([]byte("a"), 65536), "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")...)
	body = append(body, buildChunk(bytes.Repeat([]byte("a"), 1024), "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")...)
	body = append(body, buildChunk(nil, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")...)
	body = append(body, "\r\n"...)
	return AuthRequest{
		Method: "PUT", Host: "s3.amazonaws.com", RawPath: "/examplebucket/chunkObject.txt",
		Header: header(
			"X-Amz-Date", "20130524T000000Z",
			"X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
			"Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
			"X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
			"Content-Encoding", "aws-chunked",
			"X-Amz-Decoded-Content-Length", "66560",
			"Content-Length", "66824"),
		ContentLength: 66824,
	}, body
}

// TestChunkedAWSExample verifies the seed and chunk signatures of the AWS
// chunked upload example and decodes its body.
func TestChunkedAWSExample(t *testing.T) {
	req, body := chunkedExample()
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, the example says 66824", len(body))
	}
	req.Body = bytes.NewReader(body)
	res, err := testAuthenticator("us-east-1", exampleTime).Authenticate(&req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != 66560 {
		t.Fatalf("Size %d", res.Size)
	}
	got, err := readBody(t, res)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("decoded %d bytes", len(got))
	}
	// Reads after the end keep returning io.EOF.
	if n, err := res.Body.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read after EOF: %d, %v", n, err)
	}
}

// TestChunkedAWSExampleTampered: every corruption of the example body is an
// S3 error before io.EOF.
func TestChunkedAWSExampleTampered(t *testing.T) {
	_, body := chunkedExample()
	sig1 := bytes.Index(body, []byte("ad80c730"))
	data2 := bytes.Index(body, []byte("400;")) + 86
	final := bytes.LastIndex(body, []byte("0;chunk-signature="))
	cases := []struct {
		name   string
		mutate func(b []byte) []byte
		code   string
	}{
		{"data byte of chunk 1", func(b []byte) []byte { b[200] = 'b'; return b }, "SignatureDoesNotMatch"},
		{"data byte of chunk 2", func(b []byte) []byte { b[data2] = 'b'; return b }, "SignatureDoesNotMatch"},
		{"chunk signature", func(b []byte) []byte { b[sig1] = 'b'; return b }, "SignatureDoesNotMatch"},
		{"final signature", func(b []byte) []byte { b[final+20] = '0'; return b }, "SignatureDoesNotMatch"},
		{"truncated in data", func(b []byte) []byte { return b[:1000] }, "IncompleteBody"},
		{"truncated in header", func(b []byte) []byte { return b[:20] }, "IncompleteBody"},
		{"no final chunk", func(b []byte) []byte { return b[:final] }, "IncompleteBody"},
		{"empty", func(b []byte) []byte { return nil }, "IncompleteBody"},
		{"garbage after end", func(b []byte) []byte { return append(b, "xyz"...) }, "InvalidRequest"},
		{"missing CRLF after data", func(b []byte) []byte { return append(b[:data2+1024], b[data2+1026:]...) }, "InvalidRequest"},
		{"bad hex size", func(b []byte) []byte { b[0] = 'g'; return b }, "InvalidRequest"},
		{"bare LF after header", func(b []byte) []byte { i := bytes.IndexByte(b, '\r'); return append(b[:i], b[i+1:]...) }, "InvalidRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, body := chunkedExample()
			req.Body = bytes.NewReader(tc.mutate(body))
			res, err := testAuthenticator("us-east-1", exampleTime).Authenticate(&req)
			if err != nil {
				t.Fatal(err)
			}
			_, err = readBody(t, res)
			wantAPIError(t, err, tc.code)
		})
	}
}

// TestChunkedAWSExampleDecodedLength: x-amz-decoded-content-length that
// does not match the chunks is an error, however it lies.
func TestChunkedAWSExampleDecodedLength(t *testing.T) {
	for _, tc := range []struct {
		decoded string
		code    string
	}{
		{"66559", "InvalidRequest"},
		{"1", "InvalidRequest"},
		{"0", "InvalidRequest"},
		{"66561", "IncompleteBody"},
		{"999999999", "IncompleteBody"},
	} {
		req, _ := chunkedExample()
		req.Header.Set("X-Amz-Decoded-Content-Length", tc.decoded)
		// The header is signed: re-signing is needed to reach the decoder.
		seed := resignHeaderV4(t, &req)
		req.Body = bytes.NewReader(signedChunks(exampleSigner(seed), bytes.Repeat([]byte("a"), 66560), []int{65536}))
		res, err := testAuthenticator("us-east-1", exampleTime).Authenticate(&req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = readBody(t, res)
		wantAPIError(t, err, tc.code)
	}
}

// resignHeaderV4 recomputes the seed signature of a SigV4 request with the
// example key, keeping its signed headers.
func resignHeaderV4(t *testing.T, r *AuthRequest) string {
	t.Helper()
	p, aerr := parseAuthorization(r.Header.Get("Authorization"))
	if aerr != nil {
		t.Fatal(aerr)
	}
	key := signingKey(exampleSecret, p.cred.date, p.cred.region)
	creq := canonicalRequest(r, p.signedHeaders, p.signedRaw, canonicalQuery(r.RawQuery, false), r.Header.Get("X-Amz-Content-Sha256"))
	sig := signV4(key, r.Header.Get("X-Amz-Date"), p.cred.scope(), creq)
	auth := r.Header.Get("Authorization")
	r.Header.Set("Authorization", auth[:strings.Index(auth, "Signature=")]+"Signature="+sig)
	return sig
}

// exampleSigner signs chunks with the example key at the example time,
// chained from seed.
func exampleSigner(seed string) *chunkSigner {
	key := signingKey(exampleSecret, "20130524", "us-east-1")
	return newChunkSigner(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seed)
}

// signedChunks encodes data in chunks of the given sizes (the rest in a last
// chunk), each signed, then the final zero-size chunk. trailers, if any,
// follow it with their signature; otherwise the body ends with CRLF.
func signedChunks(s *chunkSigner, data []byte, sizes []int, trailers ...string) []byte {
	var body []byte
	for _, n := range append(sizes, len(data)) {
		n = min(n, len(data))
		if n == 0 {
			continue
		}
		sum := sha256.Sum256(data[:n])
		s.nextChunk(sum[:], nil)
		body = append(body, buildChunk(data[:n], string(s.prev[:]))...)
		data = data[n:]
	}
	s.nextChunk(emptySum[:], nil)
	body = append(body, buildChunk(nil, string(s.prev[:]))...)
	if len(trailers) == 0 {
		return append(body, "\r\n"...)
	}
	var canon []byte
	for _, tr := range trailers {
		canon = append(canon, tr+"\n"...)
		body = append(body, tr+"\r\n"...)
	}
	sum := sha256.Sum256(canon)
	s.trailer(sum[:], nil)
	return append(body, "x-amz-trailer-signature:"+string(s.prev[:])+"\r\n\r\n"...)
}

// TestTrailerSignatureAWSExample checks the trailer step of "Signature
// calculations for trailing headers (chunked uploads)": after the final
// chunk signature e05ab64f..., the trailer "x-amz-checksum-crc32c:wdBDMA=="
// is signed 41e14ac6....
func TestTrailerSignatureAWSExample(t *testing.T) {
	s := exampleSigner("e05ab64fe1dfdbf0b5870abbaabdb063c371d4e96f2767e6934d90529c5ae850")
	sum := sha256.Sum256([]byte("x-amz-checksum-crc32c:wdBDMA==\n"))
	if !s.trailer(sum[:], []byte("41e14ac611e27a8bb3d66c3bad6856f209297767d5dd4fc87d8fa9e422e03faf")) {
		t.Fatalf("trailer signature %s", s.prev[:])
	}
}

// trailerExample is the request of the trailing-header example: its seed
// signature is the example's 106e2a8a....
func trailerExample() AuthRequest {
	return AuthRequest{
		Method: "PUT", Host: "s3.amazonaws.com", RawPath: "/examplebucket/chunkObject.txt",
		Header: header(
			"X-Amz-Date", "20130524T000000Z",
			"X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
			"Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
			"X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
			"Content-Encoding", "aws-chunked",
			"X-Amz-Decoded-Content-Length", "66560",
			"X-Amz-Trailer", "x-amz-checksum-crc32c"),
		ContentLength: -1,
	}
}

const trailerExampleSeed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"

// TestChunkedTrailerAWSExample decodes a signed upload with a trailing
// checksum on the request of the AWS trailing-header example.
func TestChunkedTrailerAWSExample(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 66560)
	body := signedChunks(exampleSigner(trailerExampleSeed), data, []int{65536}, "x-amz-checksum-crc32c:wdBDMA==")
	req := trailerExample()
	req.Body = bytes.NewReader(body)
	res, err := testAuthenticator("us-east-1", exampleTime).Authenticate(&req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Trailer() != nil {
		t.Fatal("trailer before EOF")
	}
	got, err := readBody(t, res)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	if v := res.Trailer().Get("X-Amz-Checksum-Crc32c"); v != "wdBDMA==" || len(res.Trailer()) != 1 {
		t.Fatalf("trailer %v", res.Trailer())
	}

	cases := []struct {
		name, old, new, code string
	}{
		{"changed trailer value", "wdBDMA==", "wdBDMB==", "SignatureDoesNotMatch"},
		{"changed trailer signature", "x-amz-trailer-signature:", "x-amz-trailer-signature:0", "MalformedTrailerError"},
		{"no trailer signature", "x-amz-trailer-signature:", "x-amz-meta-x:", "MalformedTrailerError"},
		{"undeclared trailer", "x-amz-checksum-crc32c:", "x-amz-checksum-crc32:", "MalformedTrailerError"},
		{"line after signature", "\r\n\r\n", "\r\nx-amz-meta-a:b\r\n\r\n", "MalformedTrailerError"},
		{"truncated trailer", "\r\n\r\n", "", "IncompleteBody"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i := bytes.LastIndex(body, []byte("0;chunk-signature="))
			tail := bytes.Replace(body[i:], []byte(tc.old), []byte(tc.new), 1)
			req := trailerExample()
			req.Body = bytes.NewReader(append(append([]byte{}, body[:i]...), tail...))
			res, err := testAuthenticator("us-east-1", exampleTime).Authenticate(&req)
			if err != nil {
				t.Fatal(err)
			}
			_, err = readBody(t, res)
			wantAPIError(t, err, tc.code)
			if res.Trailer() != nil {
				t.Fatal("trailer after an error")
			}
		})
	}
	// The signature line may also be missing altogether.
	i := bytes.Index(body, []byte("x-amz-trailer-signature:"))
	req = trailerExample()
	req.Body = bytes.NewReader(append(append([]byte{}, body[:i]...), "\r\n"...))
	res, err = testAuthenticator("us-east-1", exampleTime).Authenticate(&req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readBody(t, res)
	wantAPIError(t, err, "IncompleteBody")
}

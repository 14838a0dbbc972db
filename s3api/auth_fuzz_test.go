package s3api

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fuzz targets of request authentication: whatever a client sends, parsing
// and verification return an S3 error, never panic. The seed corpora under
// testdata/fuzz/<FuzzName> run on every go test; regenerate them from the
// seeds below with
//
//	go test ./s3api -run TestWriteAuthFuzzCorpus -update-fuzz-corpus

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz seed corpora of the auth fuzz targets")

// addSeeds adds seed inputs, each the arguments of one call of the target.
func addSeeds(f *testing.F, seeds [][]any) {
	for _, s := range seeds {
		f.Add(s...)
	}
}

// isAPIError reports whether err is an *APIError.
func isAPIError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae)
}

func parseAuthorizationSeeds() [][]any {
	var seeds [][]any
	for _, tc := range awsExamplesV4() {
		seeds = append(seeds, []any{tc.auth})
	}
	return append(seeds,
		[]any{"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"},
		[]any{"AWS4-HMAC-SHA256\tSignature=x ,Credential = a/b/c/d/e/f,SignedHeaders=host"},
		[]any{"AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request,SignedHeaders=;,Signature="},
		[]any{"AWS4-HMAC-SHA256 Credential=AKID/20131340/us-east-1/ec2/aws4_reques,SignedHeaders=host,Signature=s,Signature=t"},
		[]any{"AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
		[]any{"AWS :"},
		[]any{"AWS4-ECDSA-P256-SHA256 Credential=x"},
		[]any{"Bearer token"},
		[]any{""},
	)
}

// FuzzParseAuthorization: parsing any Authorization header returns a result
// or AuthorizationHeaderMalformed, and a parsed header prints back to the
// same fields; authenticating with it never panics.
func FuzzParseAuthorization(f *testing.F) {
	addSeeds(f, parseAuthorizationSeeds())
	a := testAuthenticator("us-east-1", exampleTime)
	f.Fuzz(func(t *testing.T, h string) {
		p, aerr := parseAuthorization(h)
		if aerr != nil {
			if aerr.Code != "AuthorizationHeaderMalformed" {
				t.Fatalf("error %v", aerr)
			}
		} else {
			again := "AWS4-HMAC-SHA256 Credential=" + p.cred.accessKey + "/" + p.cred.scope() + ", SignedHeaders=" + p.signedRaw + ", Signature=" + p.signature
			q, aerr := parseAuthorization(again)
			if aerr != nil || q.cred != p.cred || q.signedRaw != p.signedRaw || q.signature != p.signature || len(q.signedHeaders) != len(p.signedHeaders) {
				t.Fatalf("%q printed as %q: %+v, %v", h, again, q, aerr)
			}
		}
		r := getObjectExample()
		r.Header.Set("Authorization", h)
		if _, err := a.Authenticate(r); err != nil && !isAPIError(err) {
			t.Fatalf("error %T %v", err, err)
		}
	})
}

func presignQuerySeeds() [][]any {
	r := &AuthRequest{Method: "GET", Host: "s3.example.com", RawPath: "/b/k", Header: http.Header{}}
	presignV4(r, time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC), 3600, "host", nil)
	return [][]any{
		{"/test.txt", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"},
		{r.RawPath, r.RawQuery},
		{"/b/k", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Date=x&X-Amz-Expires=-1&X-Amz-SignedHeaders=&X-Amz-Signature="},
		{"/b/k", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host%3Bx-amz-date&X-Amz-Signature=0&X-Amz-Content-Sha256=STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
		{"/photos/puppy.jpg", "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620"},
		{"/b/a%20b", "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x&Expires=99999999999&uploads&partNumber=1&response-content-type=a%2Bb&x-amz-meta-a=1&content-type=text%2Fplain"},
		{"/", "Signature=a&Expires=b"},
		{"%", "%zz=%&=&&X-Amz-Algorithm"},
	}
}

// FuzzPresignQuery: any query string on a presigned request (SigV4 or SigV2)
// authenticates or fails with an S3 error.
func FuzzPresignQuery(f *testing.F) {
	addSeeds(f, presignQuerySeeds())
	a := testAuthenticator("us-east-1", time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC))
	a.VirtualHostBucket = awsVirtualHost
	f.Fuzz(func(t *testing.T, rawPath, rawQuery string) {
		r := &AuthRequest{Method: "PUT", Host: "b.s3.amazonaws.com", RawPath: rawPath, RawQuery: rawQuery,
			Header: header("Content-Type", "text/plain", "X-Amz-Content-Sha256", "abc"), Body: strings.NewReader("body"), ContentLength: 4}
		res, err := a.Authenticate(r)
		if err != nil {
			if !isAPIError(err) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if _, err := io.ReadAll(res.Body); err != nil && !isAPIError(err) {
			t.Fatalf("body error %T %v", err, err)
		}
	})
}

func canonicalRequestSeeds() [][]any {
	return [][]any{
		{"GET", "/test.txt", "", "bytes=0-9"},
		{"PUT", "test$file.text", "max-keys=2&prefix=J", " a  b "},
		{"GET", "/a%20b+c%25~%C3%A9/%7e/%2F", "prefix=a+b&x=%2B&lifecycle&&k=v=w", "\t x \t"},
		{"POST", "/%zz%4%", "%zz=%&=", "\xff\x00 é"},
		{"", "", "", ""},
	}
}

// FuzzCanonicalRequest: canonicalisation never panics and is idempotent:
// the canonical URI and query, read back as raw ones, are already
// canonical; header values come out trimmed.
func FuzzCanonicalRequest(f *testing.F) {
	addSeeds(f, canonicalRequestSeeds())
	f.Fuzz(func(t *testing.T, method, rawPath, rawQuery, value string) {
		uri := canonicalURI(rawPath)
		if again := canonicalURI(uri); again != uri {
			t.Fatalf("canonicalURI(%q) = %q, then %q", rawPath, uri, again)
		}
		for i := 0; i < len(uri); i++ {
			c := uri[i]
			switch {
			case c == '/' || isUnreserved(c):
			case c == '%' && i+2 < len(uri) && strings.IndexByte(upperHex, uri[i+1]) >= 0 && strings.IndexByte(upperHex, uri[i+2]) >= 0:
				i += 2
			default:
				t.Fatalf("canonicalURI(%q) = %q: byte %q", rawPath, uri, c)
			}
		}
		q := canonicalQuery(rawQuery, false)
		if again := canonicalQuery(q, false); again != q {
			t.Fatalf("canonicalQuery(%q) = %q, then %q", rawQuery, q, again)
		}
		trimmed := string(appendTrimAll(nil, value))
		if strings.TrimSpace(trimmed) != trimmed || strings.Contains(trimmed, "  ") {
			t.Fatalf("trimall(%q) = %q", value, trimmed)
		}
		r := &AuthRequest{Method: method, Host: "h", RawPath: rawPath, RawQuery: rawQuery, Header: header("X-Amz-Meta-A", value), ContentLength: -1}
		creq := canonicalRequest(r, []string{"content-length", "host", "x-amz-meta-a", "x-amz-meta-missing"}, "content-length;host;x-amz-meta-a;x-amz-meta-missing", q, unsignedPayload)
		if !strings.HasSuffix(creq, "\nx-amz-meta-a:"+trimmed+"\nx-amz-meta-missing:\n\ncontent-length;host;x-amz-meta-a;x-amz-meta-missing\nUNSIGNED-PAYLOAD") {
			t.Fatalf("canonical request %q", creq)
		}
	})
}

const fuzzSeed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

// Decoder modes of FuzzChunkedDecoder.
const (
	fuzzUnsigned = iota
	fuzzUnsignedTrailer
	fuzzSigned
	fuzzSignedTrailer
	fuzzModes
)

func chunkedDecoderSeeds() [][]any {
	data := []byte("The quick brown fox jumps over the lazy dog")
	return [][]any{
		{[]byte("5\r\nhello\r\n0\r\n\r\n"), byte(fuzzUnsigned), int64(5)},
		{[]byte("3\r\nabc\r\nA;x=y\r\n0123456789\r\n0\r\n"), byte(fuzzUnsigned), int64(-1)},
		{[]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), byte(fuzzUnsignedTrailer), int64(5)},
		{[]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\n\r\n\r\n"), byte(fuzzUnsignedTrailer), int64(-1)},
		{signedChunks(exampleSigner(fuzzSeed), data, []int{10}), byte(fuzzSigned), int64(len(data))},
		{signedChunks(exampleSigner(fuzzSeed), nil, nil), byte(fuzzSigned), int64(0)},
		{signedChunks(exampleSigner(fuzzSeed), data, nil, "x-amz-checksum-crc32:NhCmhg=="), byte(fuzzSignedTrailer), int64(-1)},
		{[]byte("ffffffffffffffff\r\n"), byte(fuzzUnsigned), int64(-1)},
		{[]byte("0;chunk-signature=\r\n\r\n"), byte(fuzzSigned), int64(0)},
	}
}

// FuzzChunkedDecoder: decoding any body, signed or not, with or without
// trailers, ends in io.EOF with exactly the declared length, or in an S3
// error, never a panic.
func FuzzChunkedDecoder(f *testing.F) {
	addSeeds(f, chunkedDecoderSeeds())
	f.Fuzz(func(t *testing.T, body []byte, mode byte, decoded int64) {
		mode %= fuzzModes
		cfg := chunkedConfig{decodedLength: max(decoded, -1)}
		if mode == fuzzSigned || mode == fuzzSignedTrailer {
			cfg.signer = exampleSigner(fuzzSeed)
		}
		if mode == fuzzUnsignedTrailer || mode == fuzzSignedTrailer {
			cfg.trailer = true
			cfg.declared = []string{"x-amz-checksum-crc32"}
		}
		cr := newChunkedReader(bytes.NewReader(body), cfg)
		var n int64
		buf := make([]byte, 7)
		for {
			m, err := cr.Read(buf)
			n += int64(m)
			if m > len(buf) || m < 0 {
				t.Fatalf("read %d", m)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				if !isAPIError(err) {
					t.Fatalf("error %T %v", err, err)
				}
				if cr.Trailer() != nil {
					t.Fatal("trailer after an error")
				}
				return
			}
		}
		if cfg.decodedLength >= 0 && n != cfg.decodedLength {
			t.Fatalf("decoded %d bytes, declared %d", n, cfg.decodedLength)
		}
		if int64(len(body)) < n {
			t.Fatalf("decoded %d bytes from %d", n, len(body))
		}
	})
}

// TestWriteAuthFuzzCorpus rewrites the seed corpora under testdata/fuzz
// when -update-fuzz-corpus is given.
func TestWriteAuthFuzzCorpus(t *testing.T) {
	if !*updateFuzzCorpus {
		t.Skip("run with -update-fuzz-corpus to rewrite the seed corpora")
	}
	for name, seeds := range map[string][][]any{
		"FuzzParseAuthorization": parseAuthorizationSeeds(),
		"FuzzPresignQuery":       presignQuerySeeds(),
		"FuzzCanonicalRequest":   canonicalRequestSeeds(),
		"FuzzChunkedDecoder":     chunkedDecoderSeeds(),
		"FuzzRequestHead":        requestHeadSeeds(),
	} {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, seed := range seeds {
			var b strings.Builder
			b.WriteString("go test fuzz v1\n")
			for _, v := range seed {
				switch v := v.(type) {
				case string:
					fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
				case []byte:
					fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
				case byte:
					fmt.Fprintf(&b, "byte(%s)\n", strconv.QuoteRune(rune(v)))
				case int64:
					fmt.Fprintf(&b, "int64(%d)\n", v)
				default:
					t.Fatalf("seed type %T", v)
				}
			}
			sum := sha256.Sum256([]byte(b.String()))
			file := filepath.Join(dir, fmt.Sprintf("seed-%x", sum[:8]))
			if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

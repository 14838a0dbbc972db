package s3api

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

var update = flag.Bool("update", false, "rewrite testdata/xml/*.golden")

// golden compares data with testdata/xml/<name>.golden byte for byte.
func golden(t *testing.T, name string, data []byte) {
	t.Helper()
	path := filepath.Join("testdata", "xml", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s differs from %s:\n got: %s\nwant: %s", name, path, data, want)
	}
}

// ts is the timestamp of the AWS examples, in Unix nanoseconds.
func ts(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// TestXMLGolden renders each response document from the data of the AWS
// API reference examples and compares it with its golden file.
func TestXMLGolden(t *testing.T) {
	owner := Owner{ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", DisplayName: "webfile"}
	plain := &listParams{maxKeys: 1000}
	urlp := &listParams{maxKeys: 1000, url: true, delimiter: "/", prefix: "a b/"}
	obj := func(key, etag string, size int64, when string) meta.Object {
		return meta.Object{Key: key, ETag: etag, Size: size, LastModified: ts(when),
			Checksum: meta.Checksum{Algorithm: "CRC64NVME", Type: "FULL_OBJECT", Value: "AAAAAAAAAAA="}}
	}
	o1 := obj("my-image.jpg", `"fba9dede5f27731c9771645a39863328"`, 434234, "2009-10-12T17:50:30.000Z")
	o2 := obj("my-third-image.jpg", `"1b2cf535f27731c974343645a3985328"`, 64994, "2009-10-12T17:50:30.000Z")
	tests := []struct {
		name string
		doc  any
	}{
		{"ListBuckets", ListAllMyBucketsResult{Owner: owner, Buckets: []BucketXML{
			{Name: "examplebucket", CreationDate: xmlTime(ts("2019-12-11T23:32:47Z")), BucketRegion: "us-east-1"},
			{Name: "examplebucket2", CreationDate: xmlTime(ts("2019-11-10T23:32:13.123Z")), BucketRegion: "us-east-1"},
		}}},
		{"ListBucketsEmpty", ListAllMyBucketsResult{Owner: owner, Buckets: []BucketXML{}}},
		{"ListSnapshots", ListAllMyBucketsResult{Owner: owner, Buckets: []BucketXML{
			{Name: "1751631910169675092", CreationDate: xmlTime(1751631910169675092)},
			{Name: "1751631999000000000; name=before-migration", CreationDate: xmlTime(1751631999000000000)},
		}}},
		{"GetBucketLocation", LocationConstraint{Location: "eu-west-1"}},
		{"GetBucketLocationUSEast1", LocationConstraint{}},
		{"GetBucketVersioning", VersioningConfiguration{Status: "Enabled"}},
		{"GetBucketVersioningNever", VersioningConfiguration{}},
		{"GetBucketAcl", (&Server{owner: owner}).policyOf("", true)},
		{"GetObjectAclPublicRead", (&Server{owner: owner}).policyOf("public-read", true)},
		{"GetBucketOwnershipControls", OwnershipControls{Rules: []OwnershipControlRule{{ObjectOwnership: "BucketOwnerEnforced"}}}},
		{"GetObjectLockConfiguration", ObjectLockConfiguration{ObjectLockEnabled: "Enabled",
			Rule: &ObjectLockRule{DefaultRetention: &DefaultRetention{Mode: "GOVERNANCE", Days: func() *int { n := 30; return &n }()}}}},
		{"GetObjectLockConfigurationNoRule", ObjectLockConfiguration{ObjectLockEnabled: "Enabled"}},
		{"GetObjectRetention", Retention{Mode: "COMPLIANCE", RetainUntilDate: lockTime(ts("2030-01-01T00:00:00.000Z"))}},
		{"GetObjectLegalHold", LegalHold{Status: "ON"}},
		{"ListObjects", ListBucketResult{Name: "bucket", Prefix: "", Marker: "", MaxKeys: 1000, IsTruncated: false,
			Contents: []ObjectXML{plain.objectEntry(&o1, &owner), plain.objectEntry(&o2, &owner)}}},
		{"ListObjectsDelimiter", ListBucketResult{Name: "example-bucket", Prefix: "photos/2006/", MaxKeys: 1000,
			Delimiter: "/", IsTruncated: true, NextMarker: "photos/2006/feb/",
			CommonPrefixes: plain.commonPrefixes([]string{"photos/2006/feb/"})}},
		{"ListObjectsV2", ListBucketResultV2{Name: "bucket", Prefix: "", KeyCount: 2, MaxKeys: 1000, IsTruncated: false,
			Contents: []ObjectXML{plain.objectEntry(&o1, nil), plain.objectEntry(&o2, nil)}}},
		{"ListObjectsV2Continuation", ListBucketResultV2{Name: "bucket", Prefix: "", KeyCount: 1, MaxKeys: 1, IsTruncated: true,
			ContinuationToken: encodeToken("ExampleGuide.pdf"), NextContinuationToken: encodeToken("my-image.jpg"),
			StartAfter: "ExampleGuide.pdf", Contents: []ObjectXML{plain.objectEntry(&o1, &owner)}}},
		{"ListObjectsV2EncodingURL", ListBucketResultV2{Name: "bucket", Prefix: urlp.enc(urlp.prefix), KeyCount: 4, MaxKeys: 1000,
			Delimiter: urlp.enc("/"), EncodingType: urlp.encodingType(), StartAfter: urlp.enc("a b/0"),
			Contents: []ObjectXML{
				urlp.objectEntry(&meta.Object{Key: "a b/a+b.txt", ETag: `"d41d8cd98f00b204e9800998ecf8427e"`, LastModified: ts("2024-01-02T03:04:05.678Z")}, nil),
				urlp.objectEntry(&meta.Object{Key: "a b/100%.csv", ETag: `"d41d8cd98f00b204e9800998ecf8427e"`, LastModified: ts("2024-01-02T03:04:05.678Z")}, nil),
				urlp.objectEntry(&meta.Object{Key: "a b/café ~x.txt", ETag: `"d41d8cd98f00b204e9800998ecf8427e"`, LastModified: ts("2024-01-02T03:04:05.678Z")}, nil),
			},
			CommonPrefixes: urlp.commonPrefixes([]string{"a b/c&d/"}),
		}},
		{"ListObjectVersions", ListVersionsResult{Name: "bucket", Prefix: "my", KeyMarker: "", VersionIDMarker: "", MaxKeys: 5, IsTruncated: false,
			Entries: []any{
				&VersionXML{Key: "my-image.jpg", VersionID: "1700000000000000003", IsLatest: true, LastModified: xmlTime(ts("2009-10-12T17:50:30.000Z")),
					ETag: `"fba9dede5f27731c9771645a39863328"`, ChecksumAlgorithm: "CRC64NVME", ChecksumType: "FULL_OBJECT", Size: 434234, StorageClass: storageClass, Owner: owner},
				&DeleteMarkerXML{Key: "my-second-image.jpg", VersionID: "1700000000000000002", IsLatest: true, LastModified: xmlTime(ts("2009-11-12T17:50:30.000Z")), Owner: owner},
				&VersionXML{Key: "my-second-image.jpg", VersionID: "null", IsLatest: false, LastModified: xmlTime(ts("2009-10-10T17:50:30.000Z")),
					ETag: `"9b2cf535f27731c974343645a3985328"`, Size: 166434, StorageClass: storageClass, Owner: owner},
			}}},
		{"CreateMultipartUpload", InitiateMultipartUploadResult{Bucket: "example-bucket", Key: "example-object", UploadID: "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"}},
		{"CompleteMultipartUpload", CompleteMultipartUploadResult{Location: "http://example-bucket.s3.example.com/Example-Object", Bucket: "example-bucket",
			Key: "Example-Object", ETag: `"3858f62230ac3c915f300c664312c11f-9"`,
			checksumXML: newChecksumXML("CRC32", "i9ZJ7A==-9"), ChecksumType: "COMPOSITE"}},
		{"ListParts", ListPartsResult{Bucket: "example-bucket", Key: "example-object", UploadID: "XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA",
			PartNumberMarker: 1, NextPartNumberMarker: 3, MaxParts: 2, IsTruncated: true,
			Parts: []PartXML{
				{PartNumber: 2, LastModified: xmlTime(ts("2010-11-10T20:48:34.000Z")), ETag: `"7778aef83f66abc1fa1e8477f296d394"`, Size: 10485760, checksumXML: newChecksumXML("CRC32", "AAAAAA==")},
				{PartNumber: 3, LastModified: xmlTime(ts("2010-11-10T20:48:33.000Z")), ETag: `"aaaa18db4cc2f85cedef654fccc4a4x8"`, Size: 10485760, checksumXML: newChecksumXML("CRC32", "AAAAAQ==")},
			},
			Initiator: owner, Owner: owner, StorageClass: storageClass, ChecksumAlgorithm: "CRC32", ChecksumType: "COMPOSITE"}},
		{"ListMultipartUploads", ListMultipartUploadsResult{Bucket: "bucket", KeyMarker: "", UploadIDMarker: "",
			NextKeyMarker: "my-movie.m2ts", NextUploadIDMarker: "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ", MaxUploads: 3, IsTruncated: true,
			Uploads: []UploadXML{
				{Key: "my-divisor", UploadID: "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw", Initiator: owner, Owner: owner, StorageClass: storageClass,
					Initiated: xmlTime(ts("2010-11-10T20:48:33.000Z")), ChecksumAlgorithm: "CRC64NVME", ChecksumType: "FULL_OBJECT"},
				{Key: "my-movie.m2ts", UploadID: "VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA", Initiator: owner, Owner: owner, StorageClass: storageClass,
					Initiated: xmlTime(ts("2010-11-10T20:48:33.000Z"))},
			}}},
		{"CopyObject", CopyObjectResult{ETag: `"6805f2cfc46c0f04559748bb039d69ae"`, LastModified: xmlTime(ts("2016-12-15T17:38:53.000Z")),
			checksumXML: newChecksumXML("CRC64NVME", "AAAAAAAAAAA="), ChecksumType: "FULL_OBJECT"}},
		{"UploadPartCopy", CopyPartResult{ETag: `"b0c6f0e7e054ab8fa2536a2677f8734d"`, LastModified: xmlTime(ts("2016-12-29T21:24:43.000Z"))}},
		{"DeleteObjects", DeleteResult{
			Deleted: []DeletedXML{{Key: "sample1.txt"}, {Key: "sample2.txt", DeleteMarker: true, DeleteMarkerVersionID: "1700000000000000004"}},
			Errors:  []DeleteErrorXML{{Key: "sample3.txt", VersionID: "x", Code: "InvalidArgument", Message: "Invalid version id specified"}},
		}},
		{"DeleteObjectsQuiet", DeleteResult{}},
		{"Error", ErrorXML{Code: "NoSuchKey", Message: "The specified key does not exist.", Key: "a/b.txt",
			Resource: "/mybucket/a/b.txt", RequestID: "4442587FB7D0A2F9", HostID: "eftixk72aD6Ap51TnqcoF8eFidJG9Z/2mkiDFu8yU9AS1ed4OpIszj7UDNEHGran"}},
		{"ErrorInvalidRange", ErrorXML{Code: "InvalidRange", Message: "The requested range is not satisfiable",
			RangeRequested: "bytes=100-200", ActualObjectSize: "10",
			Resource: "/mybucket/small", RequestID: "4442587FB7D0A2FA", HostID: "eftixk72aD6Ap51TnqcoF8eFidJG9Z/2mkiDFu8yU9AS1ed4OpIszj7UDNEHGran"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := marshalXML(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, data)
		})
	}
}

// TestS3URLEncode checks encoding-type=url as AWS answers it: space is
// %20 (never '+'), '+' is %2B, '%' is %25, '/' stays, UTF-8 is %XX.
func TestS3URLEncode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"space", "a b.txt", "a%20b.txt"},
		{"plus", "a+b.txt", "a%2Bb.txt"},
		{"percent", "100%.csv", "100%25.csv"},
		{"slash kept", "photos/2006/", "photos/2006/"},
		{"utf8", "café", "caf%C3%A9"},
		{"tilde", "~x", "%7Ex"},
		{"unreserved", "a-b_c.d*e", "a-b_c.d*e"},
		{"control", "a\x01b", "a%01b"},
		{"ampersand and equals", "a&b=c?", "a%26b%3Dc%3F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s3URLEncode(tt.in); got != tt.want {
				t.Errorf("s3URLEncode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestDecodeClientBodies decodes request documents as real clients send
// them (namespaces, element order, whitespace).
func TestDecodeClientBodies(t *testing.T) {
	t.Run("DeleteObjects boto3", func(t *testing.T) {
		body := `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a b</Key></Object><Object><Key>c&amp;d</Key><VersionId>17</VersionId></Object><Quiet>true</Quiet></Delete>`
		d, err := decodeDelete([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if !d.quiet || len(d.Objects) != 2 || d.Objects[0].Key != "a b" || d.Objects[1].Key != "c&d" || d.Objects[1].VersionID != "17" {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("DeleteObjects minio-go", func(t *testing.T) {
		body := "<Delete><Quiet>false</Quiet><Object><Key>x</Key></Object></Delete>"
		d, err := decodeDelete([]byte(body))
		if err != nil || d.quiet || len(d.Objects) != 1 {
			t.Errorf("got %+v, %v", d, err)
		}
	})
	t.Run("DeleteObjects too many keys", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString("<Delete>")
		for range maxDeleteObjects + 1 {
			b.WriteString("<Object><Key>k</Key></Object>")
		}
		b.WriteString("</Delete>")
		if _, err := decodeDelete(b.Bytes()); !errors.Is(err, ErrMalformedXML) {
			t.Errorf("1001 keys: got %v, want MalformedXML", err)
		}
	})
	t.Run("DeleteObjects malformed", func(t *testing.T) {
		for _, body := range []string{"", "<Delete>", "<Delete></Delete>", "<Delete><Quiet>maybe</Quiet><Object><Key>k</Key></Object></Delete>", "<Delete><Object><Key></Key></Object></Delete>", "not xml"} {
			if _, err := decodeDelete([]byte(body)); !errors.Is(err, ErrMalformedXML) {
				t.Errorf("%q: got %v, want MalformedXML", body, err)
			}
		}
	})
	t.Run("CompleteMultipartUpload aws-cli", func(t *testing.T) {
		body := `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"a54357aff0632cce46d942af68356b38"</ETag><ChecksumCRC32>i9ZJ7A==</ChecksumCRC32><PartNumber>1</PartNumber></Part><Part><ETag>0c78aef83f66abc1fa1e8477f296d394</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`
		parts, err := decodeCompleteMultipart([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		want := []gateway.CompletePartInput{
			{Number: 1, ETag: `"a54357aff0632cce46d942af68356b38"`, Checksum: "i9ZJ7A=="},
			{Number: 2, ETag: `"0c78aef83f66abc1fa1e8477f296d394"`},
		}
		if len(parts) != 2 || parts[0] != want[0] || parts[1] != want[1] {
			t.Errorf("got %+v, want %+v", parts, want)
		}
	})
	t.Run("CompleteMultipartUpload errors", func(t *testing.T) {
		tests := []struct {
			name, body string
			want       error
		}{
			{"empty", "<CompleteMultipartUpload></CompleteMultipartUpload>", ErrMalformedXML},
			{"not xml", "{", ErrMalformedXML},
			{"bad number", "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>", ErrMalformedXML},
			{"no etag", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>", ErrMalformedXML},
			{"order", "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>e</ETag></Part><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>", errInvalidPartOrder},
			{"duplicate", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>", errInvalidPartOrder},
			{"range", "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>", errInvalidPartNumberArg},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := decodeCompleteMultipart([]byte(tt.body)); !errors.Is(err, tt.want) {
					t.Errorf("got %v, want %v", err, tt.want)
				}
			})
		}
	})
	t.Run("CreateBucketConfiguration minio-go", func(t *testing.T) {
		var c createBucketConfiguration
		body := `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`
		if err := unmarshalXML([]byte(body), &c); err != nil || c.LocationConstraint != "eu-west-1" {
			t.Errorf("got %+v, %v", c, err)
		}
	})
	t.Run("VersioningConfiguration boto3", func(t *testing.T) {
		var v versioningRequest
		body := `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status></VersioningConfiguration>`
		if err := unmarshalXML([]byte(body), &v); err != nil || v.Status != "Suspended" {
			t.Errorf("got %+v, %v", v, err)
		}
	})
	t.Run("wrong root element", func(t *testing.T) {
		var v versioningRequest
		if err := unmarshalXML([]byte("<Delete/>"), &v); !errors.Is(err, ErrMalformedXML) {
			t.Errorf("got %v, want MalformedXML", err)
		}
	})
}

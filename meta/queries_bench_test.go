package meta

import (
	"fmt"
	"testing"
)

// benchObject is an object as a GetObject returns it: a chunked body,
// user metadata and a checksum.
func benchObject(key string) *Object {
	o := &Object{Key: key, Version: 1796540571320736396, Size: 4 << 20, ETag: `"9b2cf535f27731c974343645a3985328"`,
		LastModified: 1796540571320736396, ContentType: "application/octet-stream",
		Checksum: Checksum{Algorithm: "CRC32C", Type: "FULL_OBJECT", Value: "yZRlqg=="},
		UserMeta: map[string]string{"owner": "build-42"}}
	for i := range 4 {
		o.Chunks = append(o.Chunks, Chunk{ID: fmt.Sprintf("%032x", i), Size: 1 << 20, CRC32C: uint32(i)})
	}
	return o
}

// roundTrip is the codec's work for one read sent to another node: the
// query there and back, its result back.
func roundTrip(b *testing.B, q Q, v any) int {
	qb, err := EncodeQuery(q)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := DecodeQuery(qb); err != nil {
		b.Fatal(err)
	}
	rb, err := EncodeQueryResult(v, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := DecodeQueryResult(rb); err != nil {
		b.Fatal(err)
	}
	return len(qb) + len(rb)
}

// BenchmarkQueryCodecGetObject: a GetObjectQuery and its ObjectRead.
func BenchmarkQueryCodecGetObject(b *testing.B) {
	q := GetObjectQuery{Bucket: "photos", Key: "2026/12/06/img-0001.jpg"}
	v := &ObjectRead{Object: benchObject(q.Key)}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = roundTrip(b, q, v)
	}
	b.ReportMetric(float64(n), "wire-bytes")
}

// BenchmarkQueryCodecList1000: a ListQuery and a page of 1,000 keys.
func BenchmarkQueryCodecList1000(b *testing.B) {
	q := ListQuery{Bucket: "photos", Opts: ListOptions{Prefix: "2026/", MaxKeys: 1000}}
	res := &ListResult{IsTruncated: true}
	for i := range 1000 {
		o := benchObject(fmt.Sprintf("2026/12/06/img-%04d.jpg", i))
		o.Chunks, o.UserMeta = nil, nil // a listing carries no body or metadata
		res.Objects = append(res.Objects, *o)
	}
	res.Next = res.Objects[999].Key
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = roundTrip(b, q, res)
	}
	b.ReportMetric(float64(n), "wire-bytes")
}

// BenchmarkQueryCodecBucketObject: the read that authorizes an object
// request (a bucket with its access settings, and the object).
func BenchmarkQueryCodecBucketObject(b *testing.B) {
	q := BucketObjectQuery{Bucket: "photos", Key: "2026/12/06/img-0001.jpg"}
	v := &BucketObject{
		Bucket: &Bucket{ID: 1 << 48, Name: "photos", Region: "us-east-1", Created: 1796540571320736396,
			Versioning: VersioningEnabled, Ownership: OwnershipEnforced, ACL: "private",
			Parent: &Parent{BucketID: 7, Version: 1796540571320736000}, ParentName: "base"},
		Object: &ObjectRead{Object: benchObject(q.Key)},
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = roundTrip(b, q, v)
	}
	b.ReportMetric(float64(n), "wire-bytes")
}

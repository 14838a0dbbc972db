package meta

import (
	"errors"
	"reflect"
	"testing"
)

func (tf *testFSM) cors(bucket string) []CORSRule {
	tf.t.Helper()
	rules, _ := tf.read(func(r *Reader) (any, error) { return r.BucketCORS(bucket) }).([]CORSRule)
	return rules
}

// A bucket's CORS rules are replaced and deleted as a whole, survive a
// restart, are not inherited by a fork, and go with the purged bucket.
func TestBucketCORS(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("b")
	if got := tf.cors("b"); got != nil {
		t.Fatalf("new bucket has CORS rules %+v", got)
	}
	rules := []CORSRule{
		{ID: "app", AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag", "x-amz-version-id"}, MaxAgeSeconds: 600},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: -1},
	}
	tf.must(&SetBucketCORS{Bucket: "b", Rules: rules})
	if got := tf.cors("b"); !reflect.DeepEqual(got, rules) {
		t.Fatalf("rules %+v, want %+v", got, rules)
	}
	tf.reopen()
	if got := tf.cors("b"); !reflect.DeepEqual(got, rules) {
		t.Fatalf("after reopen: rules %+v, want %+v", got, rules)
	}

	// A fork has its own configuration, starting with none.
	tf.fork("f", "b")
	if got := tf.cors("f"); got != nil {
		t.Fatalf("fork inherited CORS rules %+v", got)
	}
	tf.must(&SetBucketCORS{Bucket: "f", Rules: rules[1:]})
	if got := tf.cors("b"); !reflect.DeepEqual(got, rules) {
		t.Fatalf("fork's PutBucketCors changed the parent: %+v", got)
	}

	tf.must(&SetBucketCORS{Bucket: "b"})
	if got := tf.cors("b"); got != nil {
		t.Fatalf("deleted rules still there: %+v", got)
	}
	tf.mustFail(&SetBucketCORS{Bucket: "absent", Rules: rules}, ErrNoSuchBucket)
	if _, err := tf.readErr(func(r *Reader) (any, error) { return r.BucketCORS("absent") }); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("CORS of a missing bucket: %v", err)
	}

	// The configuration goes with the bucket's record.
	c := tf.createBucket("c")
	tf.must(&SetBucketCORS{Bucket: "c", Rules: rules})
	tf.must(&DeleteBucket{Name: "c"})
	tf.must(&GCBucket{Bucket: c.ID, Limit: 100})
	if n := tf.countPrefix(pfxBucketCORS); n != 1 {
		t.Fatalf("%d CORS records, want the fork's only", n)
	}
}

package meta

import (
	"errors"
	"testing"
)

// bucketQuery is a query value for the test.
type bucketQuery struct{ Name string }

func (q bucketQuery) Run(r *Reader) (any, error) { return r.Bucket(q.Name) }

func init() { RegisterQuery(bucketQuery{}, &Bucket{}) }

func TestQueryWire(t *testing.T) {
	b, err := EncodeQuery(bucketQuery{Name: "b1"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodeQuery(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := q.(bucketQuery); !ok || got.Name != "b1" {
		t.Fatalf("decoded %#v", q)
	}
	if _, err := EncodeQuery(Query(func(*Reader) (any, error) { return nil, nil })); !errors.Is(err, ErrLocalQuery) {
		t.Fatalf("closure encoded: %v", err)
	}

	// A value, a sentinel error and another error come back as they went.
	raw, err := EncodeQueryResult(&Bucket{Name: "b1", ID: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeQueryResult(raw)
	if bk, ok := v.(*Bucket); err != nil || !ok || bk.Name != "b1" || bk.ID != 7 {
		t.Fatalf("value: %#v, %v", v, err)
	}
	raw, _ = EncodeQueryResult(nil, errors.Join(ErrNoSuchBucket, errors.New("b2")))
	if _, err := DecodeQueryResult(raw); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("sentinel: %v", err)
	}
	raw, _ = EncodeQueryResult(nil, errors.New("disk on fire"))
	if _, err := DecodeQueryResult(raw); !errors.Is(err, ErrQueryFailed) || err.Error() != "meta: query failed: disk on fire" {
		t.Fatalf("other: %v", err)
	}
	raw, _ = EncodeQueryResult(nil, nil)
	if v, err := DecodeQueryResult(raw); v != nil || err != nil {
		t.Fatalf("nil: %v %v", v, err)
	}
	raw, err = EncodeQueryResult((*Bucket)(nil), nil)
	if v, derr := DecodeQueryResult(raw); err != nil || derr != nil || v != nil {
		t.Fatalf("nil pointer: %v %v %v", v, err, derr)
	}
	if _, err := DecodeQueryResult([]byte{0x80}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated: %v", err)
	}
}

package meta

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// wireUnsafe lists what gob would not carry faithfully in t: unexported
// fields (dropped silently), interfaces, funcs and channels, maps keyed
// by structs.
func wireUnsafe(t reflect.Type, path string, seen map[reflect.Type]bool, out *[]string) {
	if seen[t] {
		return
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		wireUnsafe(t.Elem(), path+"[]", seen, out)
	case reflect.Map:
		if t.Key().Kind() == reflect.Struct {
			*out = append(*out, path+": a map keyed by a struct")
		}
		wireUnsafe(t.Key(), path+"{key}", seen, out)
		wireUnsafe(t.Elem(), path+"{}", seen, out)
	case reflect.Interface, reflect.Func, reflect.Chan:
		*out = append(*out, path+": "+t.Kind().String())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				if t == reflect.TypeOf(Bucket{}) && f.Name == "annotations" {
					// A hint of the stored record for the reads on the
					// shard (annotation.go); a bucket that crossed the
					// wire is never read again by a Reader.
					continue
				}
				*out = append(*out, path+"."+f.Name+": unexported")
				continue
			}
			wireUnsafe(f.Type, path+"."+f.Name, seen, out)
		}
	}
}

// TestQueryTypesCrossTheWire checks every registered query and result
// type for what gob would drop or refuse.
func TestQueryTypesCrossTheWire(t *testing.T) {
	var out []string
	for _, ty := range append(append([]reflect.Type{}, queryTypes...), resultTypes...) {
		wireUnsafe(ty, ty.String(), map[reflect.Type]bool{}, &out)
	}
	for _, s := range out {
		t.Error(s)
	}
}

// sameValue is reflect.DeepEqual on exported fields, with nil and empty
// slices and maps the same (gob sends an empty one as nil).
func sameValue(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !sameValue(a.MapIndex(k), b.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if a.Type().Field(i).IsExported() && !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

// overTheWire runs q as a node that holds no replica of the shard has it
// run: encoded, decoded, run, its result encoded and decoded.
func overTheWire(t *testing.T, tf *testFSM, q Q) (any, error) {
	t.Helper()
	b, err := EncodeQuery(q)
	if err != nil {
		t.Fatalf("%T: %v", q, err)
	}
	dq, err := DecodeQuery(b)
	if err != nil {
		t.Fatalf("%T: %v", q, err)
	}
	raw, err := EncodeQueryResult(tf.fsm.Lookup(dq))
	if err != nil {
		t.Fatalf("%T: %v", q, err)
	}
	return DecodeQueryResult(raw)
}

// TestQueriesOverTheWire runs every registered query on a shard with
// buckets, a fork, versions, a delete marker and 1,000 keys, directly and
// over the wire, and compares the outcomes: the same value, or the same
// error (message, sentinel, *RemoteRead).
func TestQueriesOverTheWire(t *testing.T) {
	tf := openTestFSM(t)
	b := tf.createBucket("b")
	tf.must(&SetVersioning{Bucket: "b", Status: VersioningEnabled})
	cmds := make([]any, 0, 1000)
	for i := range 1000 {
		cmds = append(cmds, &PutObject{Bucket: "b", Object: obj(fmt.Sprintf("k%04d", i), "body")})
	}
	tf.applyBatch(cmds...)
	rich := obj("rich", "x")
	rich.UserMeta = map[string]string{"a": "1"}
	rich.Tags = map[string]string{"t": "v"}
	rich.Checksum = Checksum{Algorithm: "CRC32", Type: "FULL_OBJECT", Value: "AAAAAA=="}
	tf.must(&PutObject{Bucket: "b", Object: rich})
	tf.must(&PutObject{Bucket: "b", Object: obj("gone", "x")})
	del := tf.must(&DeleteObject{Bucket: "b", Key: "gone"})
	at := tf.must(&PutObject{Bucket: "b", Object: obj("k0000", "again")}).Version
	f := tf.must(&CreateBucket{Name: "f", ForkSource: "b"}).Bucket
	tf.must(&PutObject{Bucket: "f", Object: obj("own", "mine")})
	marker := fmt.Sprint(del.Deleted[0].VersionID)
	tf.must(&SetPlacement{Shard: 2, Replicas: []ShardReplica{{Node: 1, ID: 1}, {Node: 4, ID: 1<<32 | 4}}})
	tf.must(&SetLeaving{Node: 3, Leaving: true})

	queries := []Q{
		NodesQuery{}, MetaShardsQuery{}, NameShardQuery{Name: "b"}, PingQuery{}, PlacementQuery{},
		UsersQuery{}, UserQuery{Name: "nobody"}, BucketOwnerQuery{Bucket: "b"},
		AccessKeysQuery{}, KeyLookupQuery{ID: "AKNONE", Directory: true},
		BucketsQuery{}, BucketsOwnedByQuery{Owner: "nobody"},
		BucketQuery{Name: "b"}, BucketQuery{Name: "missing"}, BucketAtQuery{Name: "f"},
		BucketByIDQuery{ID: b.ID}, BucketLiveQuery{Name: "b"}, BucketLiveQuery{Name: "missing"},
		LiveBucketsByIDQuery{IDs: []uint64{b.ID, f.ID, 999}},
		SnapshotsQuery{Bucket: "b"}, LineageQuery{Bucket: "f"}, DiffQuery{Bucket: "f", Max: 10},
		BucketCORSQuery{Bucket: "b"}, BucketEncryptionQuery{Bucket: "b"}, LifecycleQuery{Bucket: "b"},
		GetObjectQuery{Bucket: "b", Key: "rich"}, GetObjectQuery{Bucket: "b", Key: "gone"},
		GetObjectQuery{Bucket: "b", Key: "gone", VersionID: marker}, GetObjectQuery{Bucket: "b", Key: "nokey"},
		GetObjectQuery{Bucket: "f", Key: "k0000"}, GetObjectQuery{Bucket: "b", Key: "k0000", At: at - 1},
		BucketObjectQuery{Bucket: "b", Key: "rich", Encryption: true}, BucketObjectQuery{Bucket: "b"},
		BucketObjectQuery{Bucket: "b", Key: "gone"},
		ListQuery{Bucket: "b", Opts: ListOptions{MaxKeys: 1000}}, ListQuery{Bucket: "f", Opts: ListOptions{MaxKeys: 5, Delimiter: "0"}},
		ListVersionsQuery{Bucket: "b", Opts: VersionListOptions{MaxKeys: 50}},
		UploadQuery{Bucket: "b", Key: "k", UploadID: "u"}, CompletedUploadQuery{Bucket: "b", Key: "k", UploadID: "u", Parts: []CompletedPart{{Number: 1, ETag: "e"}}},
		PartsQuery{UploadID: "u", Max: 10}, UploadsQuery{Bucket: "b", Opts: UploadListOptions{MaxUploads: 10}},
		MergePlanQuery{Fork: "f"}, RemoteMergeChangesQuery{ID: f.ID, Limit: 10},
		RemoteMergePlanQuery{Parent: b.ID, Fork: f.ID, Base: f.Parent.Version, Report: MergeReport{Fork: "f", Conflicts: []string{"a"}}},
		GetInheritedQuery{ID: b.ID, Key: "rich", At: at}, GetInheritedQuery{ID: b.ID, Key: "gone", At: at},
		InheritedReadsQuery{Reads: []InheritedRead{{BucketID: b.ID, Key: "rich", At: at}, {BucketID: b.ID, Key: "gone", At: at}}},
		InheritedObjectsQuery{ID: b.ID, At: at, Keys: []string{"rich", "gone", "k0001"}},
		InheritedEntriesQuery{ID: b.ID, At: at, Limit: 20}, LocalEntriesQuery{Bucket: "f", Limit: 20},
		LocalVersionEntriesQuery{Bucket: "f", Limit: 20}, RemoteOfQuery{Bucket: "f"},
		ForkDepthQuery{ID: f.ID}, ForkDepthQuery{ID: 999},
		InheritedAnnotationQuery{Bucket: "f", Key: "rich", Version: at, At: 0},
		PinIntentsQuery{Max: 10}, PinReleasesQuery{Max: 10}, PinReleaseQuery{Child: f.ID},
		StatsQuery{}, GCQueueQuery{Limit: 10}, KeysGenerationQuery{},
		ChunksQuery{Limit: 10}, ChunkQuery{ID: "none"}, ChunksReferencedQuery{IDs: []string{"none", "other"}},
	}
	covered := map[reflect.Type]bool{reflect.TypeOf(bucketQuery{}): true}
	for _, q := range queries {
		covered[reflect.TypeOf(q)] = true
		want, werr := tf.fsm.Lookup(q)
		got, gerr := overTheWire(t, tf, q)
		switch {
		case werr != nil:
			var wr, gr *RemoteRead
			if gerr == nil || gerr.Error() != werr.Error() || errors.As(werr, &wr) != errors.As(gerr, &gr) ||
				(wr != nil && *wr != *gr) {
				t.Errorf("%#v: error %v over the wire, %v here", q, gerr, werr)
			}
			if code, ok := businessCode(werr); ok && !errors.Is(gerr, errOfCode(code)) {
				t.Errorf("%#v: %v is not %v over the wire", q, gerr, errOfCode(code))
			}
		case gerr != nil:
			t.Errorf("%#v: error %v over the wire", q, gerr)
		case !sameValue(reflect.ValueOf(want), reflect.ValueOf(got)) && !(isNil(want) && got == nil):
			t.Errorf("%#v:\nover the wire %.1000v\nhere         %.1000v", q, fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want))
		}
	}
	for _, ty := range queryTypes {
		if !covered[ty] {
			t.Errorf("query %v is not run over the wire here", ty)
		}
	}

	// What the gateway reads from the results.
	x, err := overTheWire(t, tf, GetObjectQuery{Bucket: "b", Key: "gone"})
	if o, err := x.(*ObjectRead).Result(); err == nil || !errors.Is(err, ErrNoSuchKey) || o == nil || !o.DeleteMarker {
		t.Fatalf("delete marker: %#v %v", o, err)
	}
	x, _ = overTheWire(t, tf, GetObjectQuery{Bucket: "f", Key: "k0000"})
	if o, err := x.(*ObjectRead).Result(); o == nil || err != nil || o.Key != "k0000" {
		t.Fatalf("a key the fork inherits on its shard: %#v %v", o, err)
	}
	l, err := overTheWire(t, tf, ListQuery{Bucket: "b", Opts: ListOptions{MaxKeys: 1000}})
	if lr, ok := l.(*ListResult); err != nil || !ok || len(lr.Objects) != 1000 || !lr.IsTruncated {
		t.Fatalf("list: %v", err)
	}
}

// TestRemoteReadCrossesTheWire: the error that sends a read on to another
// shard keeps its fields (errors.As) and stays an ErrRemoteParent.
func TestRemoteReadCrossesTheWire(t *testing.T) {
	raw, err := EncodeQueryResult(nil, fmt.Errorf("list: %w", &RemoteRead{BucketID: 1 << 50, At: 77, Annotated: true}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeQueryResult(raw)
	var rr *RemoteRead
	if !errors.As(err, &rr) || rr.BucketID != 1<<50 || rr.At != 77 || !rr.Annotated || !errors.Is(err, ErrRemoteParent) {
		t.Fatalf("%v", err)
	}
	if _, err := DecodeQueryResult(raw[:len(raw)-1]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated: %v", err)
	}
}

// fill sets every field of v, recursively, to a value other than its zero.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}

// TestObjectCrossesTheWire: every field of an Object comes back from each
// form that carries one (a field the codec forgets fails here), and an
// empty Inline or Parts stays empty, not nil.
func TestObjectCrossesTheWire(t *testing.T) {
	var v ObjectVersion
	fill(reflect.ValueOf(&v).Elem())
	o := v.Object
	remote := &RemoteRead{BucketID: 9, At: 8, Annotated: true}
	for _, c := range []struct {
		v    any
		get  func(any) any
		want any
	}{
		{&ObjectRead{Object: &o, Code: 3, Msg: "m"}, func(x any) any { return x.(*ObjectRead) }, &ObjectRead{Object: &o, Code: 3, Msg: "m"}},
		{&ObjectRead{Remote: remote}, func(x any) any { return x.(*ObjectRead) }, &ObjectRead{Remote: remote}},
		{&ListResult{Objects: []Object{o}, CommonPrefixes: []string{"p/"}, IsTruncated: true, Next: "n"},
			func(x any) any { return x.(*ListResult) }, &ListResult{Objects: []Object{o}, CommonPrefixes: []string{"p/"}, IsTruncated: true, Next: "n"}},
		{&VersionListResult{Versions: []ObjectVersion{v}}, func(x any) any { return x.(*VersionListResult).Versions[0] }, v},
		{&EntryPage{Entries: []Object{o}}, func(x any) any { return x.(*EntryPage).Entries[0] }, o},
		{map[string]*Object{"k": &o}, func(x any) any { return *x.(map[string]*Object)["k"] }, o},
	} {
		raw, err := EncodeQueryResult(c.v, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeQueryResult(raw)
		if err != nil || !reflect.DeepEqual(c.get(got), c.want) {
			t.Errorf("%T: %v\n got %+v\nwant %+v", c.v, err, c.get(got), c.want)
		}
	}
	// An *Object result, in JSON and in its binary form: both decode the
	// same, and the binary one is the smaller.
	js, err := EncodeQueryResult(&o, nil)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := EncodeQueryResultBinary(&o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bin) >= len(js) || bytes.Equal(bin, js) {
		t.Errorf("the binary form of an object (%d bytes) is not the smaller than its JSON (%d)", len(bin), len(js))
	}
	for _, raw := range [][]byte{js, bin} {
		got, err := DecodeQueryResult(raw)
		if err != nil || !reflect.DeepEqual(got, &o) {
			t.Errorf("object: %v\n got %+v\nwant %+v", err, got, &o)
		}
	}
	if got, err := DecodeQueryResult(bin[:len(bin)-1]); err == nil {
		t.Errorf("a truncated binary object decoded: %+v", got)
	}
	e := &Object{Key: "empty", Inline: []byte{}, Parts: []PartInfo{}}
	for i, v := range []any{&ObjectRead{Object: e}, &EntryPage{Entries: []Object{*e}}, e, e} {
		encode := EncodeQueryResult
		if i == 3 {
			encode = EncodeQueryResultBinary
		}
		raw, _ := encode(v, nil)
		x, err := DecodeQueryResult(raw)
		var g *Object
		switch x := x.(type) {
		case *ObjectRead:
			g = x.Object
		case *EntryPage:
			g = &x.Entries[0]
		case *Object:
			g = x
		}
		if err != nil || g.Inline == nil || g.Parts == nil {
			t.Errorf("%T: %v %#v", v, err, g)
		}
	}
}

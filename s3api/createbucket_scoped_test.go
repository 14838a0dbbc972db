package s3api

import (
	"testing"

	"github.com/forkstore/forkstore/gateway"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestLiveScopedKeyCreatesOwnBucket: tools check a bucket with a
// CreateBucket before writing (rclone does, unless --s3-no-check-bucket).
// With a key that may write the bucket, it answers as AWS answers the
// owner (200 in us-east-1, BucketAlreadyOwnedByYou elsewhere) and creates
// or changes nothing; a bucket outside the scope, a new name, a read-only
// key, or a bucket in scope that no longer exists stay AccessDenied.
func TestLiveScopedKeyCreatesOwnBucket(t *testing.T) {
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		t.Run(region, func(t *testing.T) {
			ls := newLiveServerConfig(t, func(c *Config) { c.Region = region })
			ctx := t.Context()
			root, err := minio.New(ls.addr, &minio.Options{Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: region})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []string{"mine", "other", "gone"} {
				if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: region}); err != nil {
					t.Fatal(err)
				}
			}
			if err := put(t, root, "mine", "a", "root"); err != nil {
				t.Fatal(err)
			}
			key := func(in gateway.KeyInput) *minio.Client {
				k, err := ls.node.Service().CreateKey(ctx, in)
				if err != nil {
					t.Fatalf("create key %+v: %v", in, err)
				}
				mc, err := minio.New(ls.addr, &minio.Options{Creds: credentials.NewStaticV4(k.Key.ID, k.Secret, ""), Region: region})
				if err != nil {
					t.Fatal(err)
				}
				return mc
			}
			rw := key(gateway.KeyInput{Buckets: []string{"mine", "gone"}})
			prefixed := key(gateway.KeyInput{Buckets: []string{"mine"}, Prefix: "agent/"})
			ro := key(gateway.KeyInput{Buckets: []string{"mine"}, ReadOnly: true})
			if err := root.RemoveBucket(ctx, "gone"); err != nil {
				t.Fatal(err)
			}

			for name, mc := range map[string]*minio.Client{"scoped": rw, "prefixed": prefixed} {
				err := mc.MakeBucket(ctx, "mine", minio.MakeBucketOptions{Region: region})
				if region == "us-east-1" {
					if err != nil {
						t.Fatalf("%s key: CreateBucket of its own bucket: %v", name, err)
					}
				} else {
					mustCode(t, err, "BucketAlreadyOwnedByYou")
				}
			}
			mustCode(t, ro.MakeBucket(ctx, "mine", minio.MakeBucketOptions{Region: region}), "AccessDenied")
			mustCode(t, rw.MakeBucket(ctx, "other", minio.MakeBucketOptions{Region: region}), "AccessDenied")
			mustCode(t, rw.MakeBucket(ctx, "newbucket", minio.MakeBucketOptions{Region: region}), "AccessDenied")
			mustCode(t, rw.MakeBucket(ctx, "gone", minio.MakeBucketOptions{Region: region}), "AccessDenied")
			// A wrong location constraint is still refused as AWS does.
			if err := rw.MakeBucket(ctx, "mine", minio.MakeBucketOptions{Region: "ap-south-1"}); err == nil {
				t.Fatal("CreateBucket with another region's constraint succeeded")
			}

			// Nothing was created or changed.
			for _, b := range []string{"gone", "newbucket"} {
				if ok, err := root.BucketExists(ctx, b); err != nil || ok {
					t.Fatalf("bucket %s exists after scoped CreateBucket: %v %v", b, ok, err)
				}
			}
			if got, err := get(t, rw, "mine", "a"); err != nil || got != "root" {
				t.Fatalf("own bucket after CreateBucket: %q %v", got, err)
			}
			// And the key still writes its bucket.
			if err := put(t, rw, "mine", "b", "agent"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

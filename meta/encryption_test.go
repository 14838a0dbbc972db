package meta

import "testing"

// A PutObject that carries the default encryption its writer assumed
// (read from a replica without a leader round) is refused, with nothing
// written, when the bucket's default in force (its own or its nearest
// ancestor's) is another, and applied when it is that one.
func TestPutObjectChecksDefaultEncryption(t *testing.T) {
	tf := openTestFSM(t)
	tf.createBucket("enc")
	put := func(bucket, key, assumed string) *PutObject {
		return &PutObject{Bucket: bucket, Object: obj(key, "x"), CheckDefault: true, DefaultAssumed: assumed}
	}
	tf.must(put("enc", "a", ""))
	tf.mustFail(put("enc", "b", SSEAES256), ErrDefaultEncryptionChanged)
	tf.mustMiss("enc", "b", 0)

	tf.must(&SetBucketEncryption{Bucket: "enc", Algorithm: SSEAES256})
	tf.mustFail(put("enc", "c", ""), ErrDefaultEncryptionChanged)
	tf.mustMiss("enc", "c", 0)
	tf.must(put("enc", "c", SSEAES256))
	tf.mustGet("enc", "c", 0, "x")
	// A write that assumed nothing is not checked.
	tf.must(&PutObject{Bucket: "enc", Object: obj("d", "x")})

	// A fork takes its parent's default until it sets its own.
	tf.fork("agent", "enc")
	tf.mustFail(put("agent", "e", ""), ErrDefaultEncryptionChanged)
	tf.must(put("agent", "e", SSEAES256))
	tf.must(&SetBucketEncryption{Bucket: "agent"})
	tf.must(put("agent", "f", ""))
	tf.mustFail(put("agent", "g", SSEAES256), ErrDefaultEncryptionChanged)
	tf.mustMiss("agent", "g", 0)
}

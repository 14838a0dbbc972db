"""Server-side encryption through boto3, over HTTPS (SSE-C needs it).

Run by tests/e2e/sse_test.go against a server with a master key, with
AWS_CA_BUNDLE (the server's CA), FORKSTORE_BUCKET, FORKSTORE_SSE_SECRET (a
marker that every encrypted body here contains, and that the test then
looks for in the chunk files) and FORKSTORE_SSE_PLAIN (the marker of one
plaintext object, which it must find there). Covers SSE-S3 on
put/get/head/copy, range reads across 64 KiB block edges, bucket default
encryption (Put/Get/DeleteBucketEncryption and its errors), SSE-C with the
right key, the wrong key and none, CopyObject between modes, and a fork
reading an inherited encrypted object."""

import base64
import hashlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import common  # noqa: E402
from common import check, equal, expect_error, main  # noqa: E402

SECRET = os.environ["FORKSTORE_SSE_SECRET"].encode()
PLAIN = os.environ["FORKSTORE_SSE_PLAIN"].encode()
BLOCK = 64 << 10
DEFAULT = common.BUCKET[:50] + "-dflt"
FORK = common.BUCKET[:50] + "-fork"


def body(n, marker=SECRET):
    """n bytes made of the secret marker and a counter."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += marker + b"%08d|" % i
        i += 1
    return bytes(out[:n])


def ssec_key(seed):
    k = hashlib.sha256(b"ssec-%d" % seed).digest()
    return k, base64.b64encode(hashlib.md5(k).digest()).decode()


def ssec(seed):
    k, _ = ssec_key(seed)
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": k}


def get(s3, bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


def sse_s3_object(s3):
    b = common.BUCKET
    for key, n in [("small", 1000), ("large", 5 * BLOCK + 123)]:
        data = body(n)
        put = s3.put_object(Bucket=b, Key=key, Body=data, ServerSideEncryption="AES256")
        equal(put.get("ServerSideEncryption"), "AES256", "PutObject SSE header of %s" % key)
        equal(put["ETag"], '"%s"' % common.md5_hex(data), "ETag of %s is the plaintext's MD5" % key)
        head = s3.head_object(Bucket=b, Key=key)
        equal(head.get("ServerSideEncryption"), "AES256", "HeadObject SSE of %s" % key)
        equal(head["ContentLength"], n, "HeadObject size of %s" % key)
        got = s3.get_object(Bucket=b, Key=key)
        equal(got.get("ServerSideEncryption"), "AES256", "GetObject SSE of %s" % key)
        check(got["Body"].read() == data, "GetObject bytes of %s", key)
    data = body(5 * BLOCK + 123)
    for first, last in [(0, 0), (BLOCK - 1, BLOCK), (BLOCK, 2 * BLOCK - 1), (BLOCK - 10, 3 * BLOCK + 10),
                        (5 * BLOCK, 5 * BLOCK + 122), (17, 17)]:
        got = get(s3, b, "large", Range="bytes=%d-%d" % (first, last))
        check(got == data[first : last + 1], "range %d-%d", first, last)
    got = get(s3, b, "large", Range="bytes=-100")
    check(got == data[-100:], "suffix range")
    # A plaintext object, for the test's check that the scan of the chunk
    # files can find a marker at all.
    s3.put_object(Bucket=b, Key="plain", Body=PLAIN * (2 * BLOCK // len(PLAIN)))
    check("ServerSideEncryption" not in s3.head_object(Bucket=b, Key="plain"), "plaintext object reported encrypted")
    expect_error("InvalidArgument", s3.put_object, Bucket=b, Key="kms", Body=b"x", ServerSideEncryption="aws:kms")


def copies(s3):
    b = common.BUCKET
    # Stored in plaintext too (before and after the encrypted copies), so
    # not made of the secret marker.
    data = body(3 * BLOCK + 5, b"copied-in-the-clear")
    s3.put_object(Bucket=b, Key="src-plain", Body=data)
    c = s3.copy_object(Bucket=b, Key="plain-to-sse", CopySource={"Bucket": b, "Key": "src-plain"}, ServerSideEncryption="AES256")
    equal(c.get("ServerSideEncryption"), "AES256", "CopyObject SSE header")
    equal(s3.head_object(Bucket=b, Key="plain-to-sse").get("ServerSideEncryption"), "AES256", "copy encrypted")
    check(get(s3, b, "plain-to-sse") == data, "plain -> SSE-S3 copy bytes")
    c = s3.copy_object(Bucket=b, Key="sse-to-sse", CopySource={"Bucket": b, "Key": "plain-to-sse"}, ServerSideEncryption="AES256")
    check(get(s3, b, "sse-to-sse", Range="bytes=100-70000") == data[100:70001], "SSE-S3 -> SSE-S3 copy range")
    s3.copy_object(Bucket=b, Key="sse-to-plain", CopySource={"Bucket": b, "Key": "plain-to-sse"})
    check("ServerSideEncryption" not in s3.head_object(Bucket=b, Key="sse-to-plain"), "SSE -> plain copy reports no encryption")
    check(get(s3, b, "sse-to-plain") == data, "SSE -> plain copy bytes")
    # Encrypting an object in place (the same key, only the encryption
    # changes) is allowed.
    s3.copy_object(Bucket=b, Key="src-plain", CopySource={"Bucket": b, "Key": "src-plain"}, ServerSideEncryption="AES256")
    equal(s3.head_object(Bucket=b, Key="src-plain").get("ServerSideEncryption"), "AES256", "in-place encryption")
    check(get(s3, b, "src-plain") == data, "in-place encrypted bytes")


def bucket_default(s3):
    s3.create_bucket(Bucket=DEFAULT)
    expect_error("ServerSideEncryptionConfigurationNotFoundError", s3.get_bucket_encryption, Bucket=DEFAULT)
    expect_error("MalformedXML", s3.put_bucket_encryption, Bucket=DEFAULT,
                 ServerSideEncryptionConfiguration={"Rules": []})
    expect_error("InvalidArgument", s3.put_bucket_encryption, Bucket=DEFAULT,
                 ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    expect_error("NoSuchBucket", s3.get_bucket_encryption, Bucket=DEFAULT + "-none")
    s3.put_bucket_encryption(Bucket=DEFAULT, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    got = s3.get_bucket_encryption(Bucket=DEFAULT)["ServerSideEncryptionConfiguration"]["Rules"]
    equal(got[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256", "GetBucketEncryption")
    data = body(2 * BLOCK + 1)
    put = s3.put_object(Bucket=DEFAULT, Key="by-default", Body=data)
    equal(put.get("ServerSideEncryption"), "AES256", "PutObject in a bucket with default encryption")
    check(get(s3, DEFAULT, "by-default") == data, "default-encrypted bytes")
    s3.put_object(Bucket=DEFAULT, Key="small-by-default", Body=SECRET * 10)
    equal(s3.head_object(Bucket=DEFAULT, Key="small-by-default").get("ServerSideEncryption"), "AES256", "inline object by default")


def forks(s3):
    # The fork is made of DEFAULT after bucket_default wrote to it: it reads
    # the inherited encrypted objects (sharing their chunks) and encrypts
    # its own writes with the configuration it inherits.
    common.create_fork(s3, FORK, DEFAULT)
    data = body(2 * BLOCK + 1)
    got = s3.get_object(Bucket=FORK, Key="by-default")
    equal(got.get("ServerSideEncryption"), "AES256", "inherited object's SSE in the fork")
    check(got["Body"].read() == data, "inherited encrypted bytes through the fork")
    check(get(s3, FORK, "by-default", Range="bytes=65530-65546") == data[65530:65547], "range of an inherited object")
    equal(s3.get_bucket_encryption(Bucket=FORK)["ServerSideEncryptionConfiguration"]["Rules"][0]
          ["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256", "fork inherits default encryption")
    put = s3.put_object(Bucket=FORK, Key="own", Body=body(BLOCK + 7))
    equal(put.get("ServerSideEncryption"), "AES256", "fork's own write encrypted by default")
    s3.delete_bucket_encryption(Bucket=FORK)
    expect_error("ServerSideEncryptionConfigurationNotFoundError", s3.get_bucket_encryption, Bucket=FORK)
    equal(s3.get_bucket_encryption(Bucket=DEFAULT)["ServerSideEncryptionConfiguration"]["Rules"][0]
          ["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256", "parent keeps its configuration")
    put = s3.put_object(Bucket=FORK, Key="own-plain", Body=b"not secret")
    check("ServerSideEncryption" not in put, "fork write after DeleteBucketEncryption is plaintext")


def sse_c(s3):
    b = common.BUCKET
    data = body(2 * BLOCK + 99)
    k1, md5_1 = ssec_key(1)
    put = s3.put_object(Bucket=b, Key="ssec", Body=data, **ssec(1))
    equal(put.get("SSECustomerKeyMD5"), md5_1, "PutObject SSE-C key MD5")
    got = s3.get_object(Bucket=b, Key="ssec", **ssec(1))
    equal(got.get("SSECustomerAlgorithm"), "AES256", "GetObject SSE-C algorithm")
    check(got["Body"].read() == data, "SSE-C bytes")
    check(get(s3, b, "ssec", Range="bytes=65535-65537", **ssec(1)) == data[65535:65538], "SSE-C range")
    head = s3.head_object(Bucket=b, Key="ssec", **ssec(1))
    equal(head.get("SSECustomerKeyMD5"), md5_1, "HeadObject SSE-C key MD5")
    expect_error("AccessDenied", s3.get_object, Bucket=b, Key="ssec", **ssec(2))
    expect_error("InvalidRequest", s3.get_object, Bucket=b, Key="ssec")
    expect_error("400", s3.head_object, Bucket=b, Key="ssec")
    expect_error("403", s3.head_object, Bucket=b, Key="ssec", **ssec(2))
    # Copies: SSE-C -> SSE-S3 and SSE-S3 -> SSE-C.
    c = s3.copy_object(Bucket=b, Key="ssec-to-s3", CopySource={"Bucket": b, "Key": "ssec"},
                       CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=k1, ServerSideEncryption="AES256")
    equal(c.get("ServerSideEncryption"), "AES256", "SSE-C -> SSE-S3 copy")
    check(get(s3, b, "ssec-to-s3") == data, "SSE-C -> SSE-S3 bytes")
    expect_error("InvalidRequest", s3.copy_object, Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "ssec"})
    s3.copy_object(Bucket=b, Key="s3-to-ssec", CopySource={"Bucket": b, "Key": "ssec-to-s3"}, **ssec(2))
    check(get(s3, b, "s3-to-ssec", **ssec(2)) == data, "SSE-S3 -> SSE-C bytes")
    expect_error("AccessDenied", s3.get_object, Bucket=b, Key="s3-to-ssec", **ssec(1))


def multipart(s3):
    b = common.BUCKET
    part = 5 << 20
    data = body(2 * part + 3 * BLOCK + 11)
    pieces = [data[:part], data[part : 2 * part], data[2 * part :]]
    for key, extra in [("mp-s3", {"ServerSideEncryption": "AES256"}), ("mp-c", ssec(3))]:
        up = s3.create_multipart_upload(Bucket=b, Key=key, **extra)
        if "ServerSideEncryption" in extra:
            equal(up.get("ServerSideEncryption"), "AES256", "CreateMultipartUpload SSE")
        else:
            equal(up.get("SSECustomerKeyMD5"), ssec_key(3)[1], "CreateMultipartUpload SSE-C key MD5")
        part_extra = {} if "ServerSideEncryption" in extra else ssec(3)
        if not part_extra:
            # A part number uploaded twice: the second one counts.
            s3.upload_part(Bucket=b, Key=key, UploadId=up["UploadId"], PartNumber=1, Body=pieces[1])
        etags = []
        for i, p in enumerate(pieces):
            r = s3.upload_part(Bucket=b, Key=key, UploadId=up["UploadId"], PartNumber=i + 1, Body=p, **part_extra)
            if not part_extra:
                equal(r.get("ServerSideEncryption"), "AES256", "UploadPart SSE")
            etags.append({"PartNumber": i + 1, "ETag": r["ETag"]})
        if part_extra:
            expect_error("InvalidRequest", s3.upload_part, Bucket=b, Key=key, UploadId=up["UploadId"], PartNumber=9, Body=b"x")
        done = s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=up["UploadId"], MultipartUpload={"Parts": etags})
        if not part_extra:
            equal(done.get("ServerSideEncryption"), "AES256", "CompleteMultipartUpload SSE")
        check(get(s3, b, key, **part_extra) == data, "multipart %s bytes", key)
        for first, last in [(part - 5, part + 5), (2 * part - 1, 2 * part + BLOCK + 1), (0, 2 * part + 3 * BLOCK + 10)]:
            got = get(s3, b, key, Range="bytes=%d-%d" % (first, last), **part_extra)
            check(got == data[first : last + 1], "multipart %s range %d-%d", key, first, last)
        got = s3.get_object(Bucket=b, Key=key, PartNumber=2, **part_extra)["Body"].read()
        check(got == pieces[1], "multipart %s partNumber=2", key)
    # In a bucket with default encryption, without asking.
    up = s3.create_multipart_upload(Bucket=DEFAULT, Key="mp-default")
    equal(up.get("ServerSideEncryption"), "AES256", "CreateMultipartUpload under default encryption")
    r = s3.upload_part(Bucket=DEFAULT, Key="mp-default", UploadId=up["UploadId"], PartNumber=1, Body=pieces[2])
    s3.complete_multipart_upload(Bucket=DEFAULT, Key="mp-default", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]})
    check(get(s3, DEFAULT, "mp-default") == pieces[2], "default-encrypted multipart bytes")


if __name__ == "__main__":
    main([sse_s3_object, copies, bucket_default, forks, sse_c, multipart])

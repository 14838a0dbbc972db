"""S3 behaviour that real programs rely on, through boto3: encoding-type=url
listings (a space is %20), non-ASCII user metadata (RFC 2047 as S3 returns
it), a wrong x-amz-checksum-* (BadDigest), partNumber reads of parts an
object does not have (InvalidPart), UploadPartCopy beyond the source
(InvalidRange), presigned URLs with an out-of-range expiry (403), a
CopyObject onto itself that changes only the storage class,
GetBucketRequestPayment, DeleteBucket with in-progress uploads, and a
retried CompleteMultipartUpload (in a fork too)."""

import email.header
import urllib.error
import urllib.request

from common import BUCKET, check, client, create_fork, data, equal, expect_error, main

SPACE_KEYS = ["sp ace/a b.txt", "sp ace/c+d.txt", "sp ace/sub dir/x"]


def raw_body(s3, operation, fn, **kwargs):
    """Calls fn(**kwargs) and returns the response body as sent."""
    seen = {}

    def grab(http_response, **_):
        seen["body"] = http_response.content

    event = "after-call.s3.%s" % operation
    s3.meta.events.register(event, grab)
    try:
        parsed = fn(**kwargs)
    finally:
        s3.meta.events.unregister(event, grab)
    return parsed, seen["body"].decode()


def listing_encoding(s3):
    for k in SPACE_KEYS:
        s3.put_object(Bucket=BUCKET, Key=k, Body=b"x")
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="sp ace/up load")["UploadId"]
    try:
        r, body = raw_body(s3, "ListObjectsV2", s3.list_objects_v2, Bucket=BUCKET, Prefix="sp ace/", Delimiter="/", StartAfter="sp ace/")
        equal([o["Key"] for o in r["Contents"]], ["sp ace/a b.txt", "sp ace/c+d.txt"], "decoded keys (v2)")
        equal([p["Prefix"] for p in r["CommonPrefixes"]], ["sp ace/sub dir/"], "decoded common prefixes (v2)")
        for want in ("<Key>sp%20ace/a%20b.txt</Key>", "<Key>sp%20ace/c%2Bd.txt</Key>", "<Prefix>sp%20ace/</Prefix>",
                     "<StartAfter>sp%20ace/</StartAfter>", "<Prefix>sp%20ace/sub%20dir/</Prefix>"):
            check(want in body, "ListObjectsV2 body lacks %s: %s", want, body)
        check("+" not in body.replace("%2B", ""), "ListObjectsV2 encodes a space as '+': %s", body)
        r, body = raw_body(s3, "ListObjects", s3.list_objects, Bucket=BUCKET, Prefix="sp ace/", Delimiter="/", Marker="sp ace/a b.txt", MaxKeys=1)
        equal([o["Key"] for o in r["Contents"]], ["sp ace/c+d.txt"], "decoded keys (v1)")
        for want in ("<Marker>sp%20ace/a%20b.txt</Marker>", "<NextMarker>sp%20ace/c%2Bd.txt</NextMarker>"):
            check(want in body, "ListObjects body lacks %s: %s", want, body)
        r, body = raw_body(s3, "ListObjectVersions", s3.list_object_versions, Bucket=BUCKET, Prefix="sp ace/", KeyMarker="sp ace/a b.txt")
        equal([v["Key"] for v in r["Versions"]], ["sp ace/c+d.txt", "sp ace/sub dir/x"], "decoded keys (versions)")
        check("<KeyMarker>sp%20ace/a%20b.txt</KeyMarker>" in body, "ListObjectVersions body: %s", body)
        r, body = raw_body(s3, "ListMultipartUploads", s3.list_multipart_uploads, Bucket=BUCKET, Prefix="sp ace/", EncodingType="url")
        for want in ("<Key>sp%20ace/up%20load</Key>", "<Prefix>sp%20ace/</Prefix>"):
            check(want in body, "ListMultipartUploads body lacks %s: %s", want, body)
    finally:
        s3.abort_multipart_upload(Bucket=BUCKET, Key="sp ace/up load", UploadId=up)


def unicode_metadata(s3):
    # botocore sends the header value as UTF-8; S3 returns a non-ASCII
    # value as an RFC 2047 encoded word, which decodes to the same text.
    def set_value(value):
        def add(params, **_):
            params["headers"]["x-amz-meta-meta1"] = value
        return add

    for value in ("Hello World\xe9", "caf\xe9 \u20ac \u4e2d\u6587"):
        hook = set_value(value)
        s3.meta.events.register("before-call.s3.PutObject", hook)
        try:
            s3.put_object(Bucket=BUCKET, Key="meta/unicode", Body=b"bar")
        finally:
            s3.meta.events.unregister("before-call.s3.PutObject", hook)
        got = s3.get_object(Bucket=BUCKET, Key="meta/unicode")["Metadata"]["meta1"]
        check(got.startswith("=?UTF-8?B?"), "non-ASCII metadata not RFC 2047 encoded: %r", got)
        text, charset = email.header.decode_header(got)[0]
        equal(text.decode(charset), value, "decoded metadata value")
    # An RFC 2047 value sent by the client is stored decoded; ASCII comes
    # back as is.
    s3.put_object(Bucket=BUCKET, Key="meta/ascii", Body=b"x", Metadata={"a": "=?UTF-8?B?SGk=?=", "b": "plain"})
    equal(s3.head_object(Bucket=BUCKET, Key="meta/ascii")["Metadata"], {"a": "Hi", "b": "plain"}, "metadata")


def bad_checksum(s3):
    body = b"A" * 1024
    good = "arcu6553sHVAiX4MjW0j7I7vD4w6R+Gz9Ok0Q9lTa+0="
    r = s3.put_object(Bucket=BUCKET, Key="sum/a", Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=good)
    equal(r["ChecksumSHA256"], good, "ChecksumSHA256")
    for bad in ("/" + good, "bm90IHRoZSBzdW0gb2YgdGhlIGJvZHkgYXQgYWxsIQ=="):
        e = expect_error("BadDigest", s3.put_object, Bucket=BUCKET, Key="sum/b", Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=bad)
        equal(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, "status of a wrong checksum")
    expect_error("404", s3.head_object, Bucket=BUCKET, Key="sum/b")


def multipart_object(s3, key, parts):
    up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        done.append({"PartNumber": i, "ETag": s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=i, Body=p)["ETag"]})
    return up, done


def part_numbers(s3):
    s3.put_object(Bucket=BUCKET, Key="part/plain", Body=b"abc")
    r = s3.get_object(Bucket=BUCKET, Key="part/plain", PartNumber=1)
    equal(r["Body"].read(), b"abc", "partNumber=1 of a non-multipart object")
    for n in (2, 3):
        e = expect_error("InvalidPart", s3.get_object, Bucket=BUCKET, Key="part/plain", PartNumber=n)
        equal(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, "status of GET partNumber=%d" % n)
    big = data(7, 5 << 20)
    up, done = multipart_object(s3, "part/multi", [big, b"tail"])
    s3.complete_multipart_upload(Bucket=BUCKET, Key="part/multi", UploadId=up, MultipartUpload={"Parts": done})
    equal(s3.get_object(Bucket=BUCKET, Key="part/multi", PartNumber=2)["Body"].read(), b"tail", "part 2")
    expect_error("InvalidPart", s3.get_object, Bucket=BUCKET, Key="part/multi", PartNumber=3)
    e = expect_error("400", s3.head_object, Bucket=BUCKET, Key="part/multi", PartNumber=3)
    equal(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, "status of HEAD partNumber=3")
    expect_error("InvalidArgument", s3.get_object, Bucket=BUCKET, Key="part/multi", PartNumber=10001)


def copy_source_range(s3):
    s3.put_object(Bucket=BUCKET, Key="range/src", Body=b"12345")
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="range/dst")["UploadId"]
    src = {"Bucket": BUCKET, "Key": "range/src"}
    e = expect_error("InvalidRange", s3.upload_part_copy, Bucket=BUCKET, Key="range/dst", UploadId=up, PartNumber=1,
                     CopySource=src, CopySourceRange="bytes=0-21")
    equal(e.response["ResponseMetadata"]["HTTPStatusCode"], 416, "status of a range beyond the source")
    for bad in ("0-2", "bytes=0", "bytes=hello-world", "bytes=0-bar", "bytes=hello-", "bytes=0-2,3-5"):
        expect_error("InvalidArgument", s3.upload_part_copy, Bucket=BUCKET, Key="range/dst", UploadId=up, PartNumber=1,
                     CopySource=src, CopySourceRange=bad)
    r = s3.upload_part_copy(Bucket=BUCKET, Key="range/dst", UploadId=up, PartNumber=1, CopySource=src, CopySourceRange="bytes=1-3")
    check(r["CopyPartResult"]["ETag"], "UploadPartCopy answered no ETag")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="range/dst", UploadId=up)


def presign_expiry(s3):
    s3.put_object(Bucket=BUCKET, Key="presign/k", Body=b"p")
    v4 = client(signature_version="s3v4")
    ok = v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/k"}, ExpiresIn=600)
    equal(urllib.request.urlopen(ok).read(), b"p", "GET through a valid presigned URL")
    for expires in (609901, -7, 0):
        url = v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/k"}, ExpiresIn=expires)
        try:
            urllib.request.urlopen(url)
        except urllib.error.HTTPError as e:
            equal(e.code, 403, "status of X-Amz-Expires=%d" % expires)
            continue
        raise AssertionError("presigned URL with X-Amz-Expires=%d worked" % expires)


def copy_storage_class(s3):
    s3.put_object(Bucket=BUCKET, Key="tier/k", Body=b"tier")
    src = {"Bucket": BUCKET, "Key": "tier/k"}
    expect_error("InvalidRequest", s3.copy_object, Bucket=BUCKET, Key="tier/k", CopySource=src)
    r = s3.copy_object(Bucket=BUCKET, Key="tier/k", CopySource=src, StorageClass="STANDARD_IA")
    check(r["CopyObjectResult"]["ETag"], "copy answered no ETag")
    equal(s3.get_object(Bucket=BUCKET, Key="tier/k")["Body"].read(), b"tier", "body after a storage-class copy")
    expect_error("InvalidStorageClass", s3.copy_object, Bucket=BUCKET, Key="tier/k", CopySource=src, StorageClass="COLD")


def request_payment(s3):
    equal(s3.get_bucket_request_payment(Bucket=BUCKET)["Payer"], "BucketOwner", "Payer")
    s3.put_bucket_request_payment(Bucket=BUCKET, RequestPaymentConfiguration={"Payer": "BucketOwner"})
    expect_error("NotImplemented", s3.put_bucket_request_payment, Bucket=BUCKET, RequestPaymentConfiguration={"Payer": "Requester"})
    expect_error("NoSuchBucket", s3.get_bucket_request_payment, Bucket=BUCKET + "-missing")


def delete_bucket_with_uploads(s3):
    other = BUCKET[:50] + "-mpu"
    s3.create_bucket(Bucket=other)
    up = s3.create_multipart_upload(Bucket=other, Key="pending")["UploadId"]
    s3.upload_part(Bucket=other, Key="pending", UploadId=up, PartNumber=1, Body=b"part")
    s3.delete_bucket(Bucket=other)
    expect_error("404", s3.head_bucket, Bucket=other)
    s3.create_bucket(Bucket=other)
    equal(s3.list_multipart_uploads(Bucket=other).get("Uploads", []), [], "uploads of a recreated bucket")
    expect_error("NoSuchUpload", s3.list_parts, Bucket=other, Key="pending", UploadId=up)
    s3.delete_bucket(Bucket=other)


def complete_retry_in(s3, bucket):
    big = data(8, 5 << 20)
    up = s3.create_multipart_upload(Bucket=bucket, Key="retry/obj")["UploadId"]
    done = []
    for i, p in enumerate([big, b"end"], 1):
        done.append({"PartNumber": i, "ETag": s3.upload_part(Bucket=bucket, Key="retry/obj", UploadId=up, PartNumber=i, Body=p)["ETag"]})
    first = s3.complete_multipart_upload(Bucket=bucket, Key="retry/obj", UploadId=up, MultipartUpload={"Parts": done})
    # The answer was lost; the SDK retries the same request.
    again = s3.complete_multipart_upload(Bucket=bucket, Key="retry/obj", UploadId=up, MultipartUpload={"Parts": done})
    equal(again["ResponseMetadata"]["HTTPStatusCode"], 200, "status of a retried completion")
    equal(again["ETag"], first["ETag"], "ETag of a retried completion")
    expect_error("NoSuchUpload", s3.complete_multipart_upload, Bucket=bucket, Key="retry/obj", UploadId=up,
                 MultipartUpload={"Parts": done[:1]})
    equal(s3.get_object(Bucket=bucket, Key="retry/obj")["Body"].read(), big + b"end", "completed object")


def complete_retry(s3):
    complete_retry_in(s3, BUCKET)
    fork = BUCKET[:50] + "-fk"
    create_fork(s3, fork, BUCKET)
    complete_retry_in(s3, fork)


ALL_ATTRS = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def object_attributes(s3):
    r = s3.put_object(Bucket=BUCKET, Key="attr/single", Body=b"A" * 1024, ChecksumAlgorithm="SHA256")
    a = s3.get_object_attributes(Bucket=BUCKET, Key="attr/single", ObjectAttributes=ALL_ATTRS)
    equal(a["ETag"], r["ETag"].strip('"'), "ETag (unquoted)")
    equal(a["Checksum"]["ChecksumSHA256"], r["ChecksumSHA256"], "ChecksumSHA256")
    equal(a["ObjectSize"], 1024, "ObjectSize")
    equal(a["StorageClass"], "STANDARD", "StorageClass")
    check("ObjectParts" not in a, "ObjectParts of a single-part object: %r", a.get("ObjectParts"))
    only = s3.get_object_attributes(Bucket=BUCKET, Key="attr/single", ObjectAttributes=["ObjectSize"])
    check("ETag" not in only and only["ObjectSize"] == 1024, "only ObjectSize asked: %r", only)

    key = "attr/multi"
    up = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="CRC32")["UploadId"]
    bodies = [data(11, 5 << 20), data(12, 5 << 20), b"last"]
    parts = []
    for i, b in enumerate(bodies, 1):
        p = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=i, Body=b, ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": i, "ETag": p["ETag"], "ChecksumCRC32": p["ChecksumCRC32"]})
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up, MultipartUpload={"Parts": parts})
    a = s3.get_object_attributes(Bucket=BUCKET, Key=key, ObjectAttributes=ALL_ATTRS)
    equal(a["ETag"], done["ETag"].strip('"'), "multipart ETag")
    equal(a["Checksum"]["ChecksumType"], "COMPOSITE", "ChecksumType")
    equal(a["ObjectSize"], sum(len(b) for b in bodies), "multipart ObjectSize")
    op = a["ObjectParts"]
    equal(op["TotalPartsCount"], 3, "TotalPartsCount")
    equal([(p["PartNumber"], p["Size"], p["ChecksumCRC32"]) for p in op["Parts"]],
          [(p["PartNumber"], len(b), p["ChecksumCRC32"]) for p, b in zip(parts, bodies)], "Parts")
    page = s3.get_object_attributes(Bucket=BUCKET, Key=key, ObjectAttributes=["ObjectParts"], MaxParts=1, PartNumberMarker=1)["ObjectParts"]
    equal([p["PartNumber"] for p in page["Parts"]], [2], "paged Parts")
    check(page["IsTruncated"] and page["NextPartNumberMarker"] == 2 and page["MaxParts"] == 1, "page %r", page)

    # Versions, a delete marker, and a snapshot of the bucket.
    other = BUCKET[:50] + "-attr"
    s3.create_bucket(Bucket=other)
    s3.put_bucket_versioning(Bucket=other, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=other, Key="k", Body=b"one")["VersionId"]

    def snap(request, **_):
        request.headers["X-Tigris-Snapshot"] = "true"

    s3.meta.events.register("before-sign.s3.CreateBucket", snap)
    seen = {}

    def grab(http_response, **_):
        seen["v"] = http_response.headers.get("x-tigris-snapshot-version")

    s3.meta.events.register("after-call.s3.CreateBucket", grab)
    try:
        s3.create_bucket(Bucket=other)
    finally:
        s3.meta.events.unregister("before-sign.s3.CreateBucket", snap)
        s3.meta.events.unregister("after-call.s3.CreateBucket", grab)
    s3.put_object(Bucket=other, Key="k", Body=b"second")
    equal(s3.get_object_attributes(Bucket=other, Key="k", ObjectAttributes=["ObjectSize"])["ObjectSize"], 6, "latest size")
    equal(s3.get_object_attributes(Bucket=other, Key="k", VersionId=v1, ObjectAttributes=["ObjectSize"])["ObjectSize"], 3, "size of v1")

    def at(request, **_):
        request.headers["X-Tigris-Snapshot-Version"] = seen["v"]

    s3.meta.events.register("before-sign.s3.GetObjectAttributes", at)
    try:
        a = s3.get_object_attributes(Bucket=other, Key="k", ObjectAttributes=["ObjectSize"])
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObjectAttributes", at)
    equal(a["ObjectSize"], 3, "size at the snapshot")
    s3.delete_object(Bucket=other, Key="k")
    expect_error("NoSuchKey", s3.get_object_attributes, Bucket=other, Key="k", ObjectAttributes=["ETag"])
    expect_error("InvalidArgument", s3.get_object_attributes, Bucket=BUCKET, Key="attr/single", ObjectAttributes=["Color"])


def tag_set(s3, bucket, key, **kw):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key, **kw)["TagSet"]}


def with_header(s3, operation, name, value):
    def add(request, **_):
        request.headers[name] = value

    s3.meta.events.register("before-sign.s3.%s" % operation, add)
    return lambda: s3.meta.events.unregister("before-sign.s3.%s" % operation, add)


def tags_after_write(s3):
    other = BUCKET[:50] + "-tag"
    s3.create_bucket(Bucket=other)
    s3.put_bucket_versioning(Bucket=other, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=other, Key="k", Body=b"one", Tagging="stage=written")["VersionId"]
    r = s3.put_object_tagging(Bucket=other, Key="k", Tagging={"TagSet": [{"Key": "stage", "Value": "tagged"}, {"Key": "a b", "Value": "c+d"}]})
    equal(r["VersionId"], v1, "VersionId of PutObjectTagging")
    equal(tag_set(s3, other, "k"), {"stage": "tagged", "a b": "c+d"}, "tags after PutObjectTagging")
    equal(s3.head_object(Bucket=other, Key="k")["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count"), "2", "x-amz-tagging-count")
    # A snapshot keeps the tags it saw.
    undo = with_header(s3, "CreateBucket", "X-Tigris-Snapshot", "true; name=tags-1")
    try:
        s3.create_bucket(Bucket=other)
    finally:
        undo()
    v2 = s3.put_object(Bucket=other, Key="k", Body=b"two")["VersionId"]
    s3.put_object_tagging(Bucket=other, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "stage", "Value": "old"}]})
    s3.put_object_tagging(Bucket=other, Key="k", Tagging={"TagSet": [{"Key": "stage", "Value": "v2"}]})
    equal(tag_set(s3, other, "k", VersionId=v1), {"stage": "old"}, "tags of v1 by version id")
    equal(tag_set(s3, other, "k"), {"stage": "v2"}, "tags of v2")
    undo = with_header(s3, "GetObjectTagging", "X-Tigris-Snapshot-Version", "tags-1")
    try:
        equal(tag_set(s3, other, "k"), {"stage": "tagged", "a b": "c+d"}, "tags at the snapshot")
    finally:
        undo()
    # A fork reads its parent's tags and keeps its own changes.
    fork = BUCKET[:50] + "-tgf"
    create_fork(s3, fork, other)
    equal(tag_set(s3, fork, "k"), {"stage": "v2"}, "inherited tags in the fork")
    s3.put_object_tagging(Bucket=fork, Key="k", Tagging={"TagSet": [{"Key": "stage", "Value": "fork"}]})
    equal(tag_set(s3, fork, "k"), {"stage": "fork"}, "fork tags")
    equal(tag_set(s3, other, "k"), {"stage": "v2"}, "parent tags after the fork's change")
    r = s3.delete_object_tagging(Bucket=other, Key="k", VersionId=v2)
    equal(r["ResponseMetadata"]["HTTPStatusCode"], 204, "status of DeleteObjectTagging")
    equal(tag_set(s3, other, "k"), {}, "tags after DeleteObjectTagging")
    equal(tag_set(s3, fork, "k"), {"stage": "fork"}, "fork tags after the parent's delete")
    expect_error("InvalidTag", s3.put_object_tagging, Bucket=other, Key="k",
                 Tagging={"TagSet": [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]})
    expect_error("NoSuchKey", s3.put_object_tagging, Bucket=other, Key="absent", Tagging={"TagSet": []})
    expect_error("NoSuchVersion", s3.delete_object_tagging, Bucket=other, Key="k", VersionId="123")


if __name__ == "__main__":
    main([
        listing_encoding,
        unicode_metadata,
        bad_checksum,
        part_numbers,
        copy_source_range,
        presign_expiry,
        copy_storage_class,
        request_payment,
        delete_bucket_with_uploads,
        complete_retry,
        object_attributes,
        tags_after_write,
    ])

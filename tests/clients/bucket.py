"""Bucket-level calls and object copies through boto3: head_bucket and
its region header, get_bucket_location, copy_object (COPY and REPLACE),
versioning with list_object_versions, and error codes."""

from common import BUCKET, REGION, check, data, equal, expect_error, main


def head_bucket(s3):
    r = s3.head_bucket(Bucket=BUCKET)
    headers = r["ResponseMetadata"]["HTTPHeaders"]
    equal(headers.get("x-amz-bucket-region"), REGION, "x-amz-bucket-region of HeadBucket")
    e = expect_error("404", s3.head_bucket, Bucket=BUCKET + "-missing")
    equal(e.response["ResponseMetadata"]["HTTPStatusCode"], 404, "HeadBucket status of a missing bucket")


def bucket_location(s3):
    r = s3.get_bucket_location(Bucket=BUCKET)
    want = None if REGION == "us-east-1" else REGION
    equal(r.get("LocationConstraint"), want, "LocationConstraint")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check(BUCKET in names, "ListBuckets lacks %s: %r", BUCKET, names)


def copy_object(s3):
    body = data(3, 70 * 1024)
    s3.put_object(Bucket=BUCKET, Key="copy/src", Body=body, ContentType="text/x-src", Metadata={"origin": "src"})
    r = s3.copy_object(Bucket=BUCKET, Key="copy/dst", CopySource={"Bucket": BUCKET, "Key": "copy/src"})
    check("ETag" in r["CopyObjectResult"], "CopyObjectResult without ETag: %r", r)
    h = s3.head_object(Bucket=BUCKET, Key="copy/dst")
    equal(h["ContentType"], "text/x-src", "ContentType of a COPY copy")
    equal(h["Metadata"], {"origin": "src"}, "Metadata of a COPY copy")
    s3.copy_object(
        Bucket=BUCKET,
        Key="copy/replaced",
        CopySource="%s/copy/src" % BUCKET,
        MetadataDirective="REPLACE",
        ContentType="application/x-new",
        Metadata={"fresh": "yes"},
    )
    h = s3.head_object(Bucket=BUCKET, Key="copy/replaced")
    equal(h["ContentType"], "application/x-new", "ContentType after REPLACE")
    equal(h["Metadata"], {"fresh": "yes"}, "Metadata after REPLACE")
    equal(s3.get_object(Bucket=BUCKET, Key="copy/replaced")["Body"].read(), body, "body of the copy")
    expect_error("NoSuchKey", s3.copy_object, Bucket=BUCKET, Key="copy/x", CopySource={"Bucket": BUCKET, "Key": "copy/missing"})


def versioning(s3):
    equal(s3.get_bucket_versioning(Bucket=BUCKET).get("Status"), None, "versioning of a new bucket")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    equal(s3.get_bucket_versioning(Bucket=BUCKET).get("Status"), "Enabled", "versioning after enabling")
    v1 = s3.put_object(Bucket=BUCKET, Key="ver/doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=BUCKET, Key="ver/doc", Body=b"two")["VersionId"]
    check(v1 and v2 and v1 != v2, "version ids %r %r", v1, v2)
    equal(s3.get_object(Bucket=BUCKET, Key="ver/doc", VersionId=v1)["Body"].read(), b"one", "GET v1")
    d = s3.delete_object(Bucket=BUCKET, Key="ver/doc")
    check(d.get("DeleteMarker") is True, "DeleteObject on a versioned bucket: DeleteMarker %r", d.get("DeleteMarker"))
    expect_error("NoSuchKey", s3.get_object, Bucket=BUCKET, Key="ver/doc")
    r = s3.list_object_versions(Bucket=BUCKET, Prefix="ver/")
    equal([v["VersionId"] for v in r.get("Versions", [])], [v2, v1], "Versions, newest first")
    markers = r.get("DeleteMarkers", [])
    check(len(markers) == 1 and markers[0]["IsLatest"], "one latest delete marker: %r", markers)
    s3.delete_object(Bucket=BUCKET, Key="ver/doc", VersionId=markers[0]["VersionId"])
    equal(s3.get_object(Bucket=BUCKET, Key="ver/doc")["Body"].read(), b"two", "latest after removing the marker")


def errors(s3):
    expect_error("NoSuchKey", s3.get_object, Bucket=BUCKET, Key="no/such/key")
    expect_error("NoSuchBucket", s3.list_objects_v2, Bucket=BUCKET + "-missing")
    if REGION == "us-east-1":
        # CreateBucket of a bucket you own: 200 in us-east-1 (legacy S3).
        s3.create_bucket(Bucket=BUCKET)
    else:
        expect_error("BucketAlreadyOwnedByYou", s3.create_bucket, Bucket=BUCKET)
    expect_error("InvalidRange", s3.get_object, Bucket=BUCKET, Key="copy/src", Range="bytes=999999-")
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=BUCKET)


if __name__ == "__main__":
    main([head_bucket, bucket_location, copy_object, versioning, errors])

"""Bucket lifecycle through boto3: Put/Get/DeleteBucketLifecycleConfiguration
(Filter with Prefix, Tag, And and object sizes; Expiration Days and Date;
NoncurrentVersionExpiration; AbortIncompleteMultipartUpload; Transitions
kept and ignored), AWS's errors for bad rules, and x-amz-expiration
(boto3's Expiration) on PutObject, HeadObject, GetObject, CopyObject and
CompleteMultipartUpload. Expiry itself
needs a moved clock: tests/e2e/lifecycle_test.go."""

import datetime
import re

from common import BUCKET, create_fork, equal, check, expect_error, main

RULES = [
    {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 3}},
    {"ID": "tagged", "Filter": {"And": {"Prefix": "t/", "Tags": [{"Key": "class", "Value": "scratch"}],
                                        "ObjectSizeGreaterThan": 1, "ObjectSizeLessThan": 1000}},
     "Status": "Enabled", "Expiration": {"Days": 1}},
    {"ID": "dated", "Filter": {"Tag": {"Key": "until", "Value": "2031"}}, "Status": "Enabled",
     "Expiration": {"Date": datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)}},
    {"ID": "old-versions", "Filter": {}, "Status": "Enabled",
     "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2},
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
    {"ID": "archive", "Filter": {"Prefix": "archive/"}, "Status": "Disabled",
     "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]},
]


def configuration(s3):
    expect_error("NoSuchLifecycleConfiguration", s3.get_bucket_lifecycle_configuration, Bucket=BUCKET)
    expect_error("NoSuchBucket", s3.get_bucket_lifecycle_configuration, Bucket=BUCKET + "-absent")
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": RULES})
    got = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    equal([r["ID"] for r in got], [r["ID"] for r in RULES], "rule ids")
    equal(got[0]["Filter"], {"Prefix": "tmp/"}, "filter of tmp")
    equal(got[0]["Expiration"], {"Days": 3}, "expiration of tmp")
    equal(got[1]["Filter"]["And"]["Tags"], [{"Key": "class", "Value": "scratch"}], "tags of tagged")
    equal(got[1]["Filter"]["And"]["ObjectSizeLessThan"], 1000, "size filter of tagged")
    equal(got[2]["Expiration"]["Date"].year, 2031, "date of dated")
    equal(got[3]["NoncurrentVersionExpiration"], {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2}, "noncurrent")
    equal(got[3]["AbortIncompleteMultipartUpload"], {"DaysAfterInitiation": 2}, "abort")
    equal(got[4]["Status"], "Disabled", "status of archive")
    equal(got[4]["Transitions"][0]["StorageClass"], "GLACIER", "transition kept")
    # A fork has its own configuration: none.
    fork = BUCKET[:50] + "-lf"
    create_fork(s3, fork, BUCKET)
    expect_error("NoSuchLifecycleConfiguration", s3.get_bucket_lifecycle_configuration, Bucket=fork)


def bad_rules(s3):
    def put(rules):
        return s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": rules})

    e = expect_error("InvalidArgument", put, [{"ID": "x", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 0}}])
    equal(e.response["Error"]["Message"], "'Days' for Expiration action must be a positive integer", "message")
    e = expect_error("InvalidArgument", put, [{"ID": "x", "Filter": {}, "Status": "Enabled",
                                               "Expiration": {"Date": datetime.datetime(2031, 1, 1, 12, tzinfo=datetime.timezone.utc)}}])
    equal(e.response["Error"]["Message"], "'Date' must be at midnight GMT", "message")
    expect_error("InvalidArgument", put, [{"ID": "x", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}},
                                          {"ID": "x", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 2}}])
    expect_error("MalformedXML", put, [{"ID": "x", "Filter": {}, "Status": "Maybe", "Expiration": {"Days": 1}}])
    expect_error("MalformedXML", put, [{"ID": "x", "Filter": {"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}},
                                        "Status": "Enabled", "Expiration": {"Days": 1}}])
    expect_error("MalformedXML", put, [])
    # The configuration set before is unchanged.
    equal(len(s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]), len(RULES), "rules after refusals")


EXPIRATION = re.compile(r'^expiry-date="([^"]+)", rule-id="([^"]+)"$')


def expiration(resp, what):
    v = resp.get("Expiration")
    check(v is not None, "%s: no x-amz-expiration", what)
    m = EXPIRATION.match(v)
    check(m is not None, "%s: x-amz-expiration %r", what, v)
    return datetime.datetime.strptime(m.group(1), "%a, %d %b %Y %H:%M:%S GMT"), m.group(2)


def expiration_headers(s3):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    s3.put_object(Bucket=BUCKET, Key="keep-src", Body=b"src")
    r = s3.put_object(Bucket=BUCKET, Key="tmp/a", Body=b"a")
    at, rule = expiration(r, "PutObject tmp/a")
    equal(rule, "tmp", "rule-id")
    # Creation + 3 days, rounded up to the next midnight UTC.
    check(at.hour == 0 and at.minute == 0 and 3 <= (at - now).days <= 4, "expiry date %s (now %s)", at, now)
    equal(expiration(s3.head_object(Bucket=BUCKET, Key="tmp/a"), "HeadObject")[1], "tmp", "rule-id on HEAD")
    equal(expiration(s3.get_object(Bucket=BUCKET, Key="tmp/a"), "GetObject")[1], "tmp", "rule-id on GET")
    # Tags and sizes: the And rule needs all of them.
    r = s3.put_object(Bucket=BUCKET, Key="t/x", Body=b"xyz", Tagging="class=scratch")
    equal(expiration(r, "PutObject t/x")[1], "tagged", "rule-id of the tagged rule")
    r = s3.put_object(Bucket=BUCKET, Key="t/y", Body=b"xyz", Tagging="class=keep")
    check("Expiration" not in r, "an object the filter does not select has x-amz-expiration %r", r.get("Expiration"))
    r = s3.put_object(Bucket=BUCKET, Key="t/z", Body=b"x", Tagging="class=scratch")
    check("Expiration" not in r, "an object at the size bound has x-amz-expiration %r", r.get("Expiration"))
    # CopyObject and CompleteMultipartUpload report it too.
    equal(expiration(s3.copy_object(Bucket=BUCKET, Key="tmp/copy", CopySource={"Bucket": BUCKET, "Key": "keep-src"}),
                     "CopyObject")[1], "tmp", "rule-id on CopyObject")
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="tmp/mpu")["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key="tmp/mpu", UploadId=up, PartNumber=1, Body=b"part")["ETag"]
    r = s3.complete_multipart_upload(Bucket=BUCKET, Key="tmp/mpu", UploadId=up,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    equal(expiration(r, "CompleteMultipartUpload")[1], "tmp", "rule-id on CompleteMultipartUpload")
    # A date rule reports its date.
    at, rule = expiration(s3.put_object(Bucket=BUCKET, Key="d", Body=b"d", Tagging="until=2031"), "PutObject d")
    equal((at, rule), (datetime.datetime(2031, 1, 1), "dated"), "date rule")
    check("Expiration" not in s3.head_object(Bucket=BUCKET, Key="t/y"), "HEAD of an unselected object")
    # Delete the configuration: no more header, GET answers NoSuchLifecycleConfiguration.
    r = s3.delete_bucket_lifecycle(Bucket=BUCKET)
    equal(r["ResponseMetadata"]["HTTPStatusCode"], 204, "DeleteBucketLifecycle status")
    expect_error("NoSuchLifecycleConfiguration", s3.get_bucket_lifecycle_configuration, Bucket=BUCKET)
    check("Expiration" not in s3.head_object(Bucket=BUCKET, Key="tmp/a"), "HEAD after DeleteBucketLifecycle")
    s3.delete_bucket_lifecycle(Bucket=BUCKET)


if __name__ == "__main__":
    main([configuration, bad_rules, expiration_headers])

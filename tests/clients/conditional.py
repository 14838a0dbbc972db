"""Conditional writes and deletes through boto3: If-Match and If-None-Match
(an ETag or *) on PutObject, CompleteMultipartUpload and CopyObject;
If-Match, IfMatchLastModifiedTime and IfMatchSize on DeleteObject and per
object in DeleteObjects; concurrent If-None-Match: * creators of one key
(exactly one wins), in a bucket and in a fork reading through to it."""

import threading

import boto3

from common import BUCKET, ENDPOINT, REGION, create_fork, equal, expect_error, main


def status(e):
    return e.response["ResponseMetadata"]["HTTPStatusCode"]


def put_conditions(s3):
    etag = s3.put_object(Bucket=BUCKET, Key="c/put", Body=b"one", IfNoneMatch="*")["ETag"]
    e = expect_error("PreconditionFailed", s3.put_object, Bucket=BUCKET, Key="c/put", Body=b"two", IfNoneMatch="*")
    equal(status(e), 412, "status of If-None-Match: * on an existing key")
    expect_error("PreconditionFailed", s3.put_object, Bucket=BUCKET, Key="c/put", Body=b"two", IfNoneMatch=etag)
    expect_error("PreconditionFailed", s3.put_object, Bucket=BUCKET, Key="c/put", Body=b"two", IfMatch='"0123456789abcdef0123456789abcdef"')
    expect_error("NoSuchKey", s3.put_object, Bucket=BUCKET, Key="c/absent", Body=b"x", IfMatch=etag)
    etag2 = s3.put_object(Bucket=BUCKET, Key="c/put", Body=b"two", IfMatch=etag)["ETag"]
    s3.put_object(Bucket=BUCKET, Key="c/put", Body=b"three", IfMatch="*")
    s3.put_object(Bucket=BUCKET, Key="c/put", Body=b"four", IfNoneMatch=etag2)
    equal(s3.get_object(Bucket=BUCKET, Key="c/put")["Body"].read(), b"four", "body after conditional writes")
    # A deleted key may be created again with If-None-Match: *.
    s3.delete_object(Bucket=BUCKET, Key="c/put")
    s3.put_object(Bucket=BUCKET, Key="c/put", Body=b"again", IfNoneMatch="*")


def complete_conditions(s3):
    s3.put_object(Bucket=BUCKET, Key="c/mpu", Body=b"exists")
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="c/mpu")["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key="c/mpu", UploadId=up, PartNumber=1, Body=b"part")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    expect_error("PreconditionFailed", s3.complete_multipart_upload, Bucket=BUCKET, Key="c/mpu", UploadId=up, MultipartUpload=parts, IfNoneMatch="*")
    expect_error("PreconditionFailed", s3.complete_multipart_upload, Bucket=BUCKET, Key="c/mpu", UploadId=up, MultipartUpload=parts,
                 IfMatch='"0123456789abcdef0123456789abcdef"')
    cur = s3.head_object(Bucket=BUCKET, Key="c/mpu")["ETag"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="c/mpu", UploadId=up, MultipartUpload=parts, IfMatch=cur)
    equal(s3.get_object(Bucket=BUCKET, Key="c/mpu")["Body"].read(), b"part", "completed object")


def copy_conditions(s3):
    s3.put_object(Bucket=BUCKET, Key="c/src", Body=b"src")
    s3.put_object(Bucket=BUCKET, Key="c/dst", Body=b"dst")
    src = {"Bucket": BUCKET, "Key": "c/src"}
    expect_error("PreconditionFailed", s3.copy_object, Bucket=BUCKET, Key="c/dst", CopySource=src, IfNoneMatch="*")
    expect_error("PreconditionFailed", s3.copy_object, Bucket=BUCKET, Key="c/dst", CopySource=src, IfMatch='"0123456789abcdef0123456789abcdef"')
    cur = s3.head_object(Bucket=BUCKET, Key="c/dst")["ETag"]
    s3.copy_object(Bucket=BUCKET, Key="c/dst", CopySource=src, IfMatch=cur)
    s3.copy_object(Bucket=BUCKET, Key="c/new", CopySource=src, IfNoneMatch="*")
    equal(s3.get_object(Bucket=BUCKET, Key="c/dst")["Body"].read(), b"src", "copy destination")


def delete_conditions(s3):
    etag = s3.put_object(Bucket=BUCKET, Key="c/del", Body=b"12345")["ETag"]
    head = s3.head_object(Bucket=BUCKET, Key="c/del")
    lm = head["LastModified"]
    e = expect_error("PreconditionFailed", s3.delete_object, Bucket=BUCKET, Key="c/del", IfMatch='"0123456789abcdef0123456789abcdef"')
    equal(status(e), 412, "status of a failed conditional delete")
    expect_error("PreconditionFailed", s3.delete_object, Bucket=BUCKET, Key="c/del", IfMatchSize=4)
    expect_error("PreconditionFailed", s3.delete_object, Bucket=BUCKET, Key="c/del", IfMatchLastModifiedTime=lm.replace(year=lm.year - 1))
    equal(s3.get_object(Bucket=BUCKET, Key="c/del")["Body"].read(), b"12345", "object after failed conditional deletes")
    r = s3.delete_object(Bucket=BUCKET, Key="c/del", IfMatch=etag, IfMatchSize=5, IfMatchLastModifiedTime=lm)
    equal(r["ResponseMetadata"]["HTTPStatusCode"], 204, "status of a conditional delete")
    expect_error("404", s3.head_object, Bucket=BUCKET, Key="c/del")
    e = expect_error("NoSuchKey", s3.delete_object, Bucket=BUCKET, Key="c/del", IfMatch="*")
    equal(status(e), 404, "If-Match on a deleted key")
    # Size and time alone do not fail on an absent key.
    s3.delete_object(Bucket=BUCKET, Key="c/del", IfMatchSize=5)

    e1 = s3.put_object(Bucket=BUCKET, Key="c/m1", Body=b"m1")["ETag"]
    s3.put_object(Bucket=BUCKET, Key="c/m2", Body=b"m2")
    r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [
        {"Key": "c/m1", "ETag": e1},
        {"Key": "c/m2", "ETag": '"0123456789abcdef0123456789abcdef"'},
        {"Key": "c/m2", "Size": 3},
        {"Key": "c/gone", "ETag": e1},
    ]})
    equal(sorted(d["Key"] for d in r.get("Deleted", [])), ["c/m1"], "Deleted")
    errs = sorted((x["Key"], x["Code"]) for x in r.get("Errors", []))
    equal(errs, [("c/gone", "NoSuchKey"), ("c/m2", "PreconditionFailed"), ("c/m2", "PreconditionFailed")], "Errors")
    equal(s3.get_object(Bucket=BUCKET, Key="c/m2")["Body"].read(), b"m2", "object kept by failed conditions")


def race(bucket, key, n=8):
    """n clients create key with If-None-Match: * at once; returns the
    number of winners and the bodies of the winners."""
    clients = [boto3.session.Session().client("s3", endpoint_url=ENDPOINT, region_name=REGION) for _ in range(n)]
    barrier = threading.Barrier(n)
    wins, losses, other = [], [], []

    def writer(i):
        barrier.wait()
        try:
            clients[i].put_object(Bucket=bucket, Key=key, Body=b"writer %d" % i, IfNoneMatch="*")
            wins.append(b"writer %d" % i)
        except Exception as e:  # noqa: BLE001
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            (losses if code == "PreconditionFailed" else other).append(repr(e))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    equal(other, [], "unexpected errors of racing writers")
    equal(len(wins) + len(losses), n, "writers that finished")
    return wins


def concurrent_creators(s3):
    for round_ in range(3):
        key = "c/lock-%d" % round_
        wins = race(BUCKET, key)
        equal(len(wins), 1, "winners of If-None-Match: * on %s" % key)
        equal(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), wins[0], "the winner's body")
    fork = BUCKET[:50] + "-cf"
    create_fork(s3, fork, BUCKET)
    # In the fork, the inherited key exists: nobody wins.
    equal(len(race(fork, "c/lock-0")), 0, "winners on a key the fork inherits")
    wins = race(fork, "c/fork-lock")
    equal(len(wins), 1, "winners in the fork")
    expect_error("NoSuchKey", s3.get_object, Bucket=BUCKET, Key="c/fork-lock")


if __name__ == "__main__":
    main([put_conditions, complete_conditions, copy_conditions, delete_conditions, concurrent_creators])

"""Snapshots and forks through boto3 with the Tigris headers, injected as
Tigris documents it: a handler on botocore's before-sign event of the
operation. BUCKET is the base; ten forks of it are created and mutated in
parallel threads and each is checked for isolation; a fork is snapshotted,
read at its snapshot versions (get_object, head_object,
list_objects_v2), its snapshots listed with list_buckets and one deleted;
head_bucket answers the fork headers."""

import threading
from concurrent.futures import ThreadPoolExecutor

import botocore

import common
from common import check, content, equal, error_code, expect_error, listing, main, new_client, with_headers

# The runner derives the bucket name from this file's name; "_" is not
# allowed in bucket names.
BUCKET = common.BUCKET.replace("_", "-")
common.BUCKET = BUCKET

FORKS = 10
SOURCE = "X-Tigris-Fork-Source-Bucket"
SOURCE_SNAPSHOT = "X-Tigris-Fork-Source-Bucket-Snapshot"
SNAPSHOT = "X-Tigris-Snapshot"
SNAPSHOT_VERSION = "X-Tigris-Snapshot-Version"

BASE = {"shared": b"base shared", "keep/a": b"keep a", "keep/b": b"keep b"}
for _i in range(FORKS):
    BASE["del-%d" % _i] = b"base del %d" % _i

state = {}


def fork_name(i):
    return "%s-f%d" % (BUCKET[:50], i)


def at_version(version):
    """A client whose reads carry X-Tigris-Snapshot-Version."""
    s3 = new_client()
    for op in ("GetObject", "HeadObject", "ListObjectsV2", "ListObjects"):
        with_headers(s3, op, {SNAPSHOT_VERSION: version})
    return s3


def base_objects(s3):
    for k, v in BASE.items():
        s3.put_object(Bucket=BUCKET, Key=k, Body=v)
    equal(content(s3, BUCKET), BASE, "base content")


def parallel_forks(s3):
    # One client per fork, created before the threads start.
    clients = [with_headers(new_client(), "CreateBucket", {SOURCE: BUCKET}) for _ in range(FORKS)]
    barrier = threading.Barrier(FORKS, timeout=60)

    def work(i):
        c = clients[i]
        barrier.wait()  # all forks are created at the same time
        c.create_bucket(Bucket=fork_name(i))
        barrier.wait()  # then all are written at the same time
        c.put_object(Bucket=fork_name(i), Key="only-%d" % i, Body=b"only %d" % i)
        c.put_object(Bucket=fork_name(i), Key="shared", Body=b"fork %d" % i)
        c.delete_object(Bucket=fork_name(i), Key="del-%d" % i)
        return i

    with ThreadPoolExecutor(max_workers=FORKS) as pool:
        done = sorted(pool.map(work, range(FORKS), timeout=300))
    equal(done, list(range(FORKS)), "forks done")

    for i in range(FORKS):
        want = dict(BASE)
        del want["del-%d" % i]
        want["shared"] = b"fork %d" % i
        want["only-%d" % i] = b"only %d" % i
        equal(content(s3, fork_name(i)), want, "content of fork %d" % i)
        expect_error("NoSuchKey", s3.get_object, Bucket=fork_name(i), Key="del-%d" % i)
        for j in range(FORKS):
            if j != i:
                expect_error("NoSuchKey", s3.get_object, Bucket=fork_name(i), Key="only-%d" % j)
    equal(content(s3, BUCKET), BASE, "base content after the forks were written")


def head_bucket_headers(s3):
    for i in range(FORKS):
        h = s3.head_bucket(Bucket=fork_name(i))["ResponseMetadata"]["HTTPHeaders"]
        equal(h.get("x-tigris-fork-source-bucket"), BUCKET, "fork source of fork %d" % i)
        v = h.get("x-tigris-fork-source-bucket-snapshot", "")
        check(v.isdigit() and int(v) > 0, "fork %d: base version %r", i, v)
        check("x-tigris-is-fork-parent" not in h, "fork %d claims to be a fork parent: %r", i, h)
    h = s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPHeaders"]
    equal(h.get("x-tigris-is-fork-parent"), "true", "X-Tigris-Is-Fork-Parent of the base")
    check("x-tigris-fork-source-bucket" not in h, "the base claims a fork source: %r", h)


def snapshot_of_fork(s3):
    f = fork_name(0)
    named = with_headers(new_client(), "CreateBucket", {SNAPSHOT: "true; name=first"})
    r = named.create_bucket(Bucket=f)
    v1 = r["ResponseMetadata"]["HTTPHeaders"].get("x-tigris-snapshot-version", "")
    check(v1.isdigit(), "snapshot version %r", v1)
    before = content(s3, f)

    s3.put_object(Bucket=f, Key="shared", Body=b"after the snapshot")
    s3.delete_object(Bucket=f, Key="keep/a")
    s3.put_object(Bucket=f, Key="new", Body=b"new")
    unnamed = with_headers(new_client(), "CreateBucket", {SNAPSHOT: "true"})
    v2 = unnamed.create_bucket(Bucket=f)["ResponseMetadata"]["HTTPHeaders"].get("x-tigris-snapshot-version", "")
    check(v2.isdigit() and v2 != v1, "second snapshot version %r (first %r)", v2, v1)
    after = content(s3, f)
    s3.put_object(Bucket=f, Key="shared", Body=b"latest")

    for version, want in ((v1, before), ("first", before), (v2, after)):
        r = at_version(version)
        equal(listing(r, f), sorted(want), "list_objects_v2 of %s at %s" % (f, version))
        equal(listing(r, f, Prefix="keep/"), sorted(k for k in want if k.startswith("keep/")), "prefix listing at %s" % version)
        for k, body in want.items():
            equal(r.get_object(Bucket=f, Key=k)["Body"].read(), body, "get_object %s at %s" % (k, version))
        h = r.head_object(Bucket=f, Key="shared")
        equal(h["ContentLength"], len(want["shared"]), "head_object shared at %s" % version)
    expect_error("NoSuchKey", at_version(v2).get_object, Bucket=f, Key="keep/a")
    equal(s3.get_object(Bucket=f, Key="shared")["Body"].read(), b"latest", "latest shared")
    # The parent and the sibling forks are not affected.
    equal(content(s3, BUCKET), BASE, "base content after snapshots of a fork")
    state["snapshots"] = (v1, v2)


def list_snapshots(s3):
    v1, v2 = state["snapshots"]
    lister = with_headers(new_client(), "ListBuckets", {SNAPSHOT: fork_name(0)})
    names = [b["Name"] for b in lister.list_buckets()["Buckets"]]
    equal(names, ["%s; name=first" % v1, v2], "snapshots of %s" % fork_name(0))
    lister = with_headers(new_client(), "ListBuckets", {SNAPSHOT: fork_name(1)})
    equal(lister.list_buckets()["Buckets"], [], "snapshots of a fork without any")
    # Without the header it is the plain bucket list.
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check(BUCKET in names and fork_name(0) in names, "ListBuckets: %r", names)


def fork_of_snapshot(s3):
    v1, _ = state["snapshots"]
    name = "%s-fs" % BUCKET[:50]
    c = with_headers(new_client(), "CreateBucket", {SOURCE: fork_name(0), SOURCE_SNAPSHOT: v1})
    r = c.create_bucket(Bucket=name)
    equal(r["ResponseMetadata"]["HTTPHeaders"].get("x-tigris-fork-source-bucket-snapshot"), v1, "base version of a fork of a snapshot")
    want = dict(BASE)
    del want["del-0"]
    want["shared"] = b"fork 0"
    want["only-0"] = b"only 0"
    equal(content(s3, name), want, "fork of snapshot %s" % v1)
    h = s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]
    equal(h.get("x-tigris-fork-source-bucket"), fork_name(0), "source of a fork of a fork's snapshot")
    equal(h.get("x-tigris-fork-source-bucket-snapshot"), v1, "base of a fork of a fork's snapshot")
    # A fork whose name exists is refused.
    expect_error("BucketAlreadyExists", c.create_bucket, Bucket=fork_name(1))


def delete_snapshot(s3):
    v1, v2 = state["snapshots"]
    f = fork_name(0)
    deleter = with_headers(new_client(), "DeleteBucket", {SNAPSHOT_VERSION: v1})
    r = deleter.delete_bucket(Bucket=f)
    equal(r["ResponseMetadata"]["HTTPStatusCode"], 204, "status of deleting a snapshot")
    s3.head_bucket(Bucket=f)  # the bucket itself is still there
    lister = with_headers(new_client(), "ListBuckets", {SNAPSHOT: f})
    equal([b["Name"] for b in lister.list_buckets()["Buckets"]], [v2], "snapshots after deleting one")
    try:
        at_version(v1).get_object(Bucket=f, Key="shared")
        raise AssertionError("get_object at a deleted snapshot succeeded")
    except botocore.exceptions.ClientError as e:
        equal(error_code(e), "NoSuchSnapshot", "get_object at a deleted snapshot")
    # A write that names a version is refused and writes nothing.
    writer = with_headers(new_client(), "PutObject", {SNAPSHOT_VERSION: v2})
    expect_error("InvalidRequest", writer.put_object, Bucket=f, Key="shared", Body=b"must not land")
    equal(s3.get_object(Bucket=f, Key="shared")["Body"].read(), b"latest", "shared after a refused write")


if __name__ == "__main__":
    main([base_objects, parallel_forks, head_bucket_headers, snapshot_of_fork, list_snapshots, fork_of_snapshot, delete_snapshot])

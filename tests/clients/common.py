"""Shared setup for the boto3 client scripts.

Each script in this directory is run by tests/e2e/boto3_test.go with:

    FORKSTORE_ENDPOINT      http://127.0.0.1:PORT of a running server
    AWS_ACCESS_KEY_ID       credentials
    AWS_SECRET_ACCESS_KEY
    AWS_DEFAULT_REGION      us-east-1
    FORKSTORE_BUCKET        a bucket name unique to the run (the script creates it)

It uses boto3 with its default settings (checksums, retries, transfer
configuration) apart from the endpoint, asserts what S3 would answer, and
exits non-zero with a message on the first failure.
"""

import hashlib
import os
import sys
import time
import traceback

import boto3
import botocore
from botocore.config import Config

ENDPOINT = os.environ["FORKSTORE_ENDPOINT"]
BUCKET = os.environ["FORKSTORE_BUCKET"]
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def client(**config):
    """A boto3 S3 client for the server; config goes to botocore's Config."""
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        config=Config(**config) if config else None,
    )


def new_client():
    """A client of its own session: sessions are not shared across threads."""
    return boto3.session.Session().client("s3", endpoint_url=ENDPOINT, region_name=REGION)


def with_headers(s3, operation, headers):
    """Adds headers to every `operation` request of client s3 (before
    signing, so they are signed)."""

    def add(request, **kwargs):
        for k, v in headers.items():
            request.headers[k] = v

    s3.meta.events.register("before-sign.s3.%s" % operation, add)
    return s3


class Failure(Exception):
    pass


def check(cond, msg, *args):
    if not cond:
        raise Failure(msg % args if args else msg)


def equal(got, want, what):
    if got != want:
        g, w = repr(got), repr(want)
        if len(g) > 300:
            g = g[:300] + "..."
        if len(w) > 300:
            w = w[:300] + "..."
        raise Failure("%s: got %s, want %s" % (what, g, w))


def error_code(exc):
    """The S3 error code of a botocore ClientError."""
    return exc.response.get("Error", {}).get("Code", "")


def expect_error(code, fn, *args, **kwargs):
    """Calls fn and requires a ClientError with the given code."""
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        equal(error_code(e), code, "error code of %s" % getattr(fn, "__name__", fn))
        return e
    raise Failure("%s succeeded, want error %s" % (getattr(fn, "__name__", fn), code))


def data(seed, n):
    """n reproducible pseudo-random bytes."""
    out = bytearray()
    block = hashlib.sha256(b"seed-%d" % seed).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 32
    return bytes(out[:n])


def md5_hex(b):
    return hashlib.md5(b).hexdigest()


def multipart_etag(b, part_size):
    sums = b""
    n = 0
    for off in range(0, len(b), part_size):
        sums += hashlib.md5(b[off : off + part_size]).digest()
        n += 1
    return '"%s-%d"' % (hashlib.md5(sums).hexdigest(), n)


def _crc_table(poly):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc_table(0x82F63B78)
_CRC64NVME = _crc_table(0x9A6C9329AC4BC9B5)


def crc32c(b):
    """CRC-32C (Castagnoli), for checks without botocore's CRT extra."""
    c = 0xFFFFFFFF
    for x in b:
        c = _CRC32C[(c ^ x) & 0xFF] ^ (c >> 8)
    return (c ^ 0xFFFFFFFF).to_bytes(4, "big")


def crc64nvme(b):
    """CRC-64/NVME, for checks without botocore's CRT extra."""
    c = 0xFFFFFFFFFFFFFFFF
    for x in b:
        c = _CRC64NVME[(c ^ x) & 0xFF] ^ (c >> 8)
    return (c ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def listing(s3, bucket, **kw):
    """Every key of bucket (list_objects_v2, all pages)."""
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kw):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def content(s3, bucket):
    """key -> body of every object of bucket."""
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in listing(s3, bucket)}


def create_fork(s3, name, source):
    """Creates bucket name as a fork of source (X-Tigris-Fork-Source-Bucket)."""

    def add(request, **_):
        request.headers["X-Tigris-Fork-Source-Bucket"] = source

    s3.meta.events.register("before-sign.s3.CreateBucket", add)
    try:
        s3.create_bucket(Bucket=name)
    finally:
        s3.meta.events.unregister("before-sign.s3.CreateBucket", add)


def versions():
    return "boto3 %s, botocore %s, python %s" % (
        boto3.__version__,
        botocore.__version__,
        sys.version.split()[0],
    )


def main(steps):
    """Runs each step(s3) in order, reporting every failing step; exits 1
    if any failed."""
    print(versions(), flush=True)
    s3 = client()
    s3.create_bucket(Bucket=BUCKET)
    failed = []
    for step in steps:
        start = time.monotonic()
        try:
            step(s3)
            print("-- %s ok (%.2fs)" % (step.__name__, time.monotonic() - start), flush=True)
            continue
        except Failure as e:
            msg = str(e)
        except botocore.exceptions.ClientError as e:
            traceback.print_exc()
            meta = e.response.get("ResponseMetadata", {})
            msg = "unexpected S3 error %s (HTTP %s, request %s): %s" % (
                error_code(e),
                meta.get("HTTPStatusCode"),
                meta.get("RequestId"),
                e,
            )
        except Exception as e:  # noqa: BLE001 - report anything else too
            traceback.print_exc()
            msg = "%s: %s" % (type(e).__name__, e)
        print("-- %s FAILED" % step.__name__, flush=True)
        print("FAIL %s: %s" % (step.__name__, msg), file=sys.stderr, flush=True)
        failed.append(step.__name__)
    if failed:
        print("failed steps: %s" % ", ".join(failed), file=sys.stderr, flush=True)
        sys.exit(1)
    print("ok", flush=True)

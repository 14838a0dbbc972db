"""put_object with each ChecksumAlgorithm and get_object/head_object with
ChecksumMode='ENABLED', with botocore's default integrity settings (it
sends and validates CRC checksums on its own since 1.36). CRC32C and
CRC64NVME need botocore's CRT extra; without it their values are
computed here and sent explicitly."""

import base64
import hashlib
import zlib

from botocore.compat import HAS_CRT

from common import BUCKET, check, client, crc32c, crc64nvme, data, equal, main

BODY = data(7, 256 * 1024 + 3)
NO_RETRY = client(retries={"max_attempts": 1, "mode": "standard"})


def digest(algorithm, b):
    if algorithm == "CRC32":
        raw = zlib.crc32(b).to_bytes(4, "big")
    elif algorithm == "CRC32C":
        raw = crc32c(b)
    elif algorithm == "CRC64NVME":
        raw = crc64nvme(b)
    elif algorithm == "SHA1":
        raw = hashlib.sha1(b).digest()
    else:
        raw = hashlib.sha256(b).digest()
    return base64.b64encode(raw).decode()


def put_with(s3, algorithm):
    key = "checksum/" + algorithm
    want = digest(algorithm, BODY)
    kw = {"ChecksumAlgorithm": algorithm}
    if algorithm in ("CRC32C", "CRC64NVME") and not HAS_CRT:
        kw["Checksum" + algorithm] = want
    r = s3.put_object(Bucket=BUCKET, Key=key, Body=BODY, **kw)
    equal(r.get("Checksum" + algorithm), want, "PutObject response Checksum%s" % algorithm)

    h = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    equal(h.get("Checksum" + algorithm), want, "HeadObject Checksum%s" % algorithm)
    check(h.get("ChecksumType") in (None, "FULL_OBJECT"), "ChecksumType %r", h.get("ChecksumType"))
    g = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    got = g["Body"].read()  # botocore validates CRC32/SHA* here
    check(got == BODY, "GetObject body differs")
    equal(g.get("Checksum" + algorithm), want, "GetObject Checksum%s" % algorithm)

    # A wrong value is BadDigest and stores nothing. botocore retries
    # BadDigest, so this call goes out once.
    bad_key = key + "-bad"
    try:
        NO_RETRY.put_object(Bucket=BUCKET, Key=bad_key, Body=BODY, **{"Checksum" + algorithm: digest(algorithm, b"other")})
    except NO_RETRY.exceptions.ClientError as e:
        equal(e.response["Error"]["Code"], "BadDigest", "error for a wrong x-amz-checksum-%s" % algorithm.lower())
    else:
        raise AssertionError("PutObject with a wrong Checksum%s succeeded" % algorithm)
    try:
        s3.head_object(Bucket=BUCKET, Key=bad_key)
        raise AssertionError("object stored despite a wrong checksum")
    except s3.exceptions.ClientError as e:
        equal(e.response["Error"]["Code"], "404", "HeadObject after a refused upload")


def crc32(s3):
    put_with(s3, "CRC32")


def crc32c_(s3):
    put_with(s3, "CRC32C")


def sha1(s3):
    put_with(s3, "SHA1")


def sha256(s3):
    put_with(s3, "SHA256")


def crc64nvme_(s3):
    put_with(s3, "CRC64NVME")


def default_checksum(s3):
    # No ChecksumAlgorithm: botocore >= 1.36 adds CRC32 by itself.
    seen = {}
    c = client()
    c.meta.events.register("before-send.s3.PutObject", lambda request, **_: seen.update(request.headers))
    c.put_object(Bucket=BUCKET, Key="checksum/default", Body=BODY)
    sent = sorted(k.lower() for k in seen if k.lower().startswith("x-amz-checksum-"))
    print("   default PutObject sent: %s" % sent)
    g = c.get_object(Bucket=BUCKET, Key="checksum/default", ChecksumMode="ENABLED")
    check(g["Body"].read() == BODY, "body differs")
    for name in sent:
        alg = name[len("x-amz-checksum-"):].upper()
        equal(g.get("Checksum" + alg), digest(alg, BODY), "stored %s" % name)


def response_validation(s3):
    # get_object without ChecksumMode still works, and a ranged GET of an
    # object with a full-object checksum is not validated against it.
    g = s3.get_object(Bucket=BUCKET, Key="checksum/CRC32", Range="bytes=0-9")
    equal(g["Body"].read(), BODY[:10], "ranged body")


if __name__ == "__main__":
    main([crc32, crc32c_, sha1, sha256, crc64nvme_, default_checksum, response_validation])

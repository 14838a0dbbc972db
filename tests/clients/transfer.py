"""boto3's managed transfers with the default TransferConfig: a 20 MiB file
goes up in 8 MiB parts (multipart threshold 8 MiB) and comes down with
ranged GETs; a small file is one PutObject."""

import io
import os
import tempfile

from common import BUCKET, check, data, equal, main, md5_hex, multipart_etag

BIG = 20 * 1024 * 1024


def upload_download_file(s3):
    body = data(1, BIG)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "big.bin")
        with open(src, "wb") as f:
            f.write(body)
        s3.upload_file(src, BUCKET, "transfer/big.bin")
        head = s3.head_object(Bucket=BUCKET, Key="transfer/big.bin")
        equal(head["ContentLength"], BIG, "ContentLength")
        equal(head["ETag"], multipart_etag(body, 8 * 1024 * 1024), "ETag of a 20 MiB upload_file (3 parts of 8 MiB)")
        dst = os.path.join(d, "big.down")
        s3.download_file(BUCKET, "transfer/big.bin", dst)
        with open(dst, "rb") as f:
            got = f.read()
        check(got == body, "download_file: %d bytes differ from the %d uploaded", len(got), len(body))


def small_file(s3):
    body = data(2, 3000)
    s3.upload_fileobj(io.BytesIO(body), BUCKET, "transfer/small.bin")
    head = s3.head_object(Bucket=BUCKET, Key="transfer/small.bin")
    equal(head["ETag"], '"%s"' % md5_hex(body), "ETag of a single PutObject")
    out = io.BytesIO()
    s3.download_fileobj(BUCKET, "transfer/small.bin", out)
    check(out.getvalue() == body, "download_fileobj: bytes differ")


def ranged_get(s3):
    body = data(1, BIG)
    r = s3.get_object(Bucket=BUCKET, Key="transfer/big.bin", Range="bytes=8388600-8388615")
    equal(r["ContentRange"], "bytes 8388600-8388615/%d" % BIG, "ContentRange")
    equal(r["Body"].read(), body[8388600:8388616], "ranged body across a part boundary")


if __name__ == "__main__":
    main([upload_download_file, small_file, ranged_get])

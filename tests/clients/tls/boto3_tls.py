"""boto3 against a forkstore server over HTTPS with a private CA.

Run by tests/e2e/tls_test.go with FORKSTORE_ENDPOINT (https://...),
FORKSTORE_CA_BUNDLE (the CA's PEM file), FORKSTORE_BUCKET and the AWS_*
credentials. Without verify= the certificate is refused; with
verify=FORKSTORE_CA_BUNDLE a multipart upload, a download, a listing and a
presigned URL (fetched with urllib trusting the same CA) work.
"""

import io
import os
import ssl
import sys
import urllib.request

import boto3
import botocore
from botocore.config import Config

ENDPOINT = os.environ["FORKSTORE_ENDPOINT"]
CA = os.environ["FORKSTORE_CA_BUNDLE"]
BUCKET = os.environ["FORKSTORE_BUCKET"]
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def client(verify):
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        verify=verify,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def main():
    assert ENDPOINT.startswith("https://"), ENDPOINT
    try:
        client(True).list_buckets()
    except botocore.exceptions.SSLError:
        pass
    else:
        raise AssertionError("the system's CAs accepted the test CA's certificate")

    s3 = client(CA)
    s3.create_bucket(Bucket=BUCKET)
    body = os.urandom(9 << 20)  # over the 8 MiB threshold: multipart
    s3.upload_fileobj(io.BytesIO(body), BUCKET, "big")
    got = s3.get_object(Bucket=BUCKET, Key="big")["Body"].read()
    assert got == body, "download differs (%d bytes, want %d)" % (len(got), len(body))
    head = s3.head_object(Bucket=BUCKET, Key="big")
    assert head["ETag"].endswith('-2"'), head["ETag"]
    s3.put_object(Bucket=BUCKET, Key="small", Body=b"hello")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["big", "small"], keys
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "small"})
    assert url.startswith("https://"), url
    ctx = ssl.create_default_context(cafile=CA)
    with urllib.request.urlopen(url, context=ctx, timeout=30) as r:
        assert r.read() == b"hello"
    print("boto3 over TLS: ok")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the Go driver's report
        print("FAIL: %r" % (e,), file=sys.stderr)
        raise

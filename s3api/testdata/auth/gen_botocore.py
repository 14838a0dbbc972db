#!/usr/bin/env python3
"""Records requests signed by botocore (the signer of boto3 and the aws CLI)
for the authentication tests: s3api/testdata/auth/botocore.json.

Each request is captured at the last moment before it would be sent (the
"before-send" event), so headers and body are exactly what goes on the
wire; nothing is sent. Regenerate with:

    python3 s3api/testdata/auth/gen_botocore.py > s3api/testdata/auth/botocore.json
"""
import base64
import json
import sys

import boto3
import botocore
from botocore.config import Config

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEYS = ["plain.txt", "a b+c%~é.txt", "dir/sub/ü ñ/x", "x=y&z?#.txt", "!$'()*,;:@[]", "~tilde/ast*er"]

captured = []


class Done(Exception):
    pass


def client(endpoint, sigv, **kw):
    c = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=Config(signature_version=sigv, s3={"addressing_style": "path"}, **kw),
    )

    def before_send(request, **_):
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if body is None:
            body = b""
        if isinstance(body, str):
            body = body.encode()
        captured.append({
            "method": request.method,
            "url": request.url,
            "headers": [[k, v.decode() if isinstance(v, bytes) else v] for k, v in request.headers.items() if k.lower() != "user-agent"],  # not signed
            "body": base64.b64encode(body).decode(),
        })
        raise Done()

    c.meta.events.register("before-send.s3", before_send)
    return c


def call(name, fn):
    try:
        fn()
    except Done:
        captured[-1]["name"] = name
        return
    raise SystemExit("request not captured: " + name)


def main():
    out = []
    for sigv in ("s3v4", "s3"):
        http = client("http://127.0.0.1:9000", sigv)
        https = client("https://s3.example.test", sigv)
        for i, key in enumerate(KEYS):
            call(f"{sigv} get {key}", lambda: http.get_object(Bucket="bucket", Key=key, Range="bytes=0-9"))
            call(f"{sigv} put {key}", lambda: http.put_object(Bucket="bucket", Key=key, Body=b"hello world " * (i + 1), ContentType="text/plain", Metadata={"m": "v  w"}))
        call(f"{sigv} list", lambda: http.list_objects_v2(Bucket="bucket", Prefix="a b+c/é", Delimiter="/", StartAfter="x~y"))
        call(f"{sigv} list-uploads", lambda: http.list_multipart_uploads(Bucket="bucket"))
        call(f"{sigv} create-upload", lambda: http.create_multipart_upload(Bucket="bucket", Key=KEYS[1]))
        call(f"{sigv} upload-part", lambda: http.upload_part(Bucket="bucket", Key=KEYS[1], UploadId="u/1+2=", PartNumber=3, Body=b"part"))
        call(f"{sigv} delete-objects", lambda: http.delete_objects(Bucket="bucket", Delete={"Objects": [{"Key": "a"}]}))
        call(f"{sigv} head-bucket", lambda: http.head_bucket(Bucket="bucket"))
        call(f"{sigv} get-location", lambda: http.get_bucket_location(Bucket="bucket"))
        if sigv == "s3v4":
            for i, key in enumerate(KEYS[:3]):
                call(f"{sigv} https put trailer {key}", lambda: https.put_object(Bucket="bucket", Key=key, Body=b"x" * (9000 * i + 5)))
        for key in KEYS:
            out.append({"name": f"{sigv} presign get {key}", "method": "GET",
                        "url": http.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": key, "ResponseContentType": "text/plain; x=1"}, ExpiresIn=3600),
                        "headers": [], "body": ""})
        out.append({"name": f"{sigv} presign put", "method": "PUT",
                    "url": http.generate_presigned_url("put_object", Params={"Bucket": "bucket", "Key": KEYS[1], "ContentType": "text/plain"}, ExpiresIn=3600),
                    "headers": [["Content-Type", "text/plain"]], "body": base64.b64encode(b"presigned body").decode()})
        if sigv == "s3":
            # SigV2 carries Content-Type in the query; SigV4 signs the header.
            out.append({"name": f"{sigv} presign put no content-type header", "method": "PUT",
                        "url": http.generate_presigned_url("put_object", Params={"Bucket": "bucket", "Key": KEYS[2], "ContentType": "text/plain"}, ExpiresIn=3600),
                        "headers": [], "body": base64.b64encode(b"presigned body").decode()})
    # The default client: SigV2 presigned URLs for us-east-1 (S3-PITFALLS 10).
    default = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",
                           aws_access_key_id=AK, aws_secret_access_key=SK)
    out.append({"name": "default presign get", "method": "GET",
                "url": default.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": KEYS[1]}),
                "headers": [], "body": ""})
    json.dump({"botocore": botocore.__version__, "requests": captured + out}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


main()

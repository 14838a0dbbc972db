"""CORS and POST Object with boto3: put_bucket_cors / get_bucket_cors /
delete_bucket_cors, preflights and Access-Control-* headers seen by a
plain HTTP client (what a browser sends), and browser form uploads from
generate_presigned_post, SigV4 (s3v4) and SigV2 (botocore's 's3' post
signer), with conditions, metadata, tagging, success_action_status and
success_action_redirect."""

import http.client
import uuid
import urllib.parse

import botocore
from common import BUCKET, ENDPOINT, Failure, check, client, equal, error_code, expect_error, main

ORIGIN = "http://127.0.0.1:8123"


def request(method, url, headers=None, body=None):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    path = u.path + ("?" + u.query if u.query else "")
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def preflight(key, origin, method, headers=""):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return request("OPTIONS", "%s/%s/%s" % (ENDPOINT, BUCKET, key), h)


def cors_configuration(s3):
    e = expect_error("NoSuchCORSConfiguration", s3.get_bucket_cors, Bucket=BUCKET)
    equal(e.response["ResponseMetadata"]["HTTPStatusCode"], 404, "status of NoSuchCORSConfiguration")
    rules = [
        {
            "ID": "app",
            "AllowedOrigins": [ORIGIN, "http://*.example.com"],
            "AllowedMethods": ["GET", "PUT", "POST"],
            "AllowedHeaders": ["Content-Type", "x-amz-*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 120,
        },
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
    ]
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": rules})
    got = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    equal(got, rules, "get_bucket_cors")
    bad = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}
    expect_error("InvalidRequest", s3.put_bucket_cors, Bucket=BUCKET, CORSConfiguration=bad)
    bad = {"CORSRules": [{"AllowedOrigins": ["http://*.*.example"], "AllowedMethods": ["GET"]}]}
    expect_error("InvalidRequest", s3.put_bucket_cors, Bucket=BUCKET, CORSConfiguration=bad)


def cors_requests(s3):
    s3.put_object(Bucket=BUCKET, Key="cors.txt", Body=b"cors body")
    status, h, body = preflight("cors.txt", ORIGIN, "PUT", "content-type,x-amz-meta-a")
    equal(status, 200, "preflight status (%r)" % body[:300])
    equal(h.get("access-control-allow-origin"), ORIGIN, "Access-Control-Allow-Origin")
    equal(h.get("access-control-allow-methods"), "GET, PUT, POST", "Access-Control-Allow-Methods")
    equal(h.get("access-control-allow-headers"), "content-type, x-amz-meta-a", "Access-Control-Allow-Headers")
    equal(h.get("access-control-max-age"), "120", "Access-Control-Max-Age")
    equal(h.get("access-control-expose-headers"), "ETag", "Access-Control-Expose-Headers")
    status, h, body = preflight("cors.txt", "http://api.example.com", "GET")
    equal(status, 200, "wildcard-origin preflight")
    status, h, body = preflight("cors.txt", "http://evil.example", "PUT")
    equal(status, 403, "preflight matching no rule")
    check(b"<Code>AccessForbidden</Code>" in body and b"This CORS request is not allowed" in body, "body %r", body[:400])
    check("access-control-allow-origin" not in h, "a refused preflight allows an origin: %r", h)
    status, h, body = preflight("cors.txt", ORIGIN, "DELETE")
    equal(status, 403, "preflight of a method no rule allows")

    # Actual requests: presigned (both signature forms) and errors.
    for cfg in ({}, {"signature_version": "s3v4"}):
        c = client(**cfg)
        url = c.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "cors.txt"}, ExpiresIn=300)
        status, h, body = request("GET", url, {"Origin": ORIGIN})
        equal((status, body), (200, b"cors body"), "presigned GET %r" % cfg)
        equal(h.get("access-control-allow-origin"), ORIGIN, "Allow-Origin of a presigned GET %r" % cfg)
        equal(h.get("access-control-expose-headers"), "ETag", "Expose-Headers of a presigned GET")
        url = c.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "cors-put.txt"}, ExpiresIn=300)
        status, h, body = request("PUT", url, {"Origin": ORIGIN}, b"put from a page")
        equal(status, 200, "presigned PUT %r (%r)" % (cfg, body[:300]))
        equal(h.get("access-control-allow-origin"), ORIGIN, "Allow-Origin of a presigned PUT")
    status, h, body = request("GET", "%s/%s/no-such-key" % (ENDPOINT, BUCKET), {"Origin": "http://anyone.example"})
    equal(status, 403, "anonymous GET of a private bucket")
    equal(h.get("access-control-allow-origin"), "*", "Allow-Origin on an error")
    check("origin" in h.get("vary", "").lower(), "no Vary: Origin: %r", h)

    s3.delete_bucket_cors(Bucket=BUCKET)
    expect_error("NoSuchCORSConfiguration", s3.get_bucket_cors, Bucket=BUCKET)
    status, h, body = preflight("cors.txt", ORIGIN, "GET")
    equal(status, 403, "preflight after delete_bucket_cors")
    check(b"CORS is not enabled" in body, "body %r", body[:300])


def post_form(url, fields, filename, content):
    """multipart/form-data with the fields in order, then the file."""
    boundary = "----forkstore" + uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(
            ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary, k, v)).encode()
        )
    parts.append(
        (
            "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" % (boundary, filename)
        ).encode()
        + content
        + b"\r\n"
    )
    parts.append(("--%s--\r\n" % boundary).encode())
    return request(
        "POST", url, {"Content-Type": "multipart/form-data; boundary=%s" % boundary}, b"".join(parts)
    )


def post_object(s3):
    tagging = "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
    for label, cfg in (("v4", {"signature_version": "s3v4"}), ("v2", {"signature_version": "s3"})):
        c = client(**cfg)
        post = c.generate_presigned_post(
            BUCKET,
            "form/%s/${filename}" % label,
            Fields={
                "Content-Type": "text/plain",
                "x-amz-meta-origin": "form",
                "success_action_status": "201",
                "tagging": tagging,
            },
            Conditions=[
                ["starts-with", "$key", "form/%s/" % label],
                {"Content-Type": "text/plain"},
                {"x-amz-meta-origin": "form"},
                {"success_action_status": "201"},
                {"tagging": tagging},
                ["content-length-range", 1, 1024],
            ],
            ExpiresIn=300,
        )
        if label == "v2":
            check("AWSAccessKeyId" in post["fields"] and "signature" in post["fields"], "not a SigV2 form: %r", post)
        else:
            check("x-amz-signature" in post["fields"], "not a SigV4 form: %r", post)
        status, h, body = post_form(post["url"], post["fields"], "hello.txt", b"hello form")
        equal(status, 201, "%s POST status (%r)" % (label, body[:400]))
        check(b"<Key>form/%s/hello.txt</Key>" % label.encode() in body, "%s PostResponse %r", label, body)
        key = "form/%s/hello.txt" % label
        got = s3.get_object(Bucket=BUCKET, Key=key)
        equal(got["Body"].read(), b"hello form", "%s body" % label)
        equal(got["ContentType"], "text/plain", "%s Content-Type" % label)
        equal(got["Metadata"], {"origin": "form"}, "%s metadata" % label)
        equal(s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"], [{"Key": "k", "Value": "v"}], "%s tags" % label)

        # Failed conditions, a bad signature.
        status, h, body = post_form(post["url"], post["fields"], "big.txt", b"x" * 1025)
        equal(status, 400, "%s too large (%r)" % (label, body[:300]))
        check(b"EntityTooLarge" in body, "%s body %r", label, body[:300])
        fields = dict(post["fields"], **{"Content-Type": "text/html"})
        status, h, body = post_form(post["url"], fields, "a.html", b"<p>")
        equal(status, 403, "%s failed condition" % label)
        check(b"Invalid according to Policy: Policy Condition failed" in body, "%s body %r", label, body[:300])
        fields = dict(post["fields"])
        sig = "x-amz-signature" if label == "v4" else "signature"
        fields[sig] = fields[sig][:-4] + ("0000" if not fields[sig].endswith("0000") else "1111")
        status, h, body = post_form(post["url"], fields, "a.txt", b"a")
        equal(status, 403, "%s bad signature" % label)
        check(b"SignatureDoesNotMatch" in body, "%s body %r", label, body[:300])

    # success_action_redirect.
    post = client(signature_version="s3v4").generate_presigned_post(
        BUCKET,
        "form/redirect.txt",
        Fields={"success_action_redirect": "http://127.0.0.1:8123/done"},
        Conditions=[{"success_action_redirect": "http://127.0.0.1:8123/done"}],
    )
    status, h, body = post_form(post["url"], post["fields"], "r.txt", b"redirected")
    equal(status, 303, "redirect status (%r)" % body[:300])
    loc = urllib.parse.urlsplit(h.get("location", ""))
    q = urllib.parse.parse_qs(loc.query)
    equal((loc.netloc, loc.path, q.get("key"), q.get("bucket")), ("127.0.0.1:8123", "/done", ["form/redirect.txt"], [BUCKET]), "Location")
    # An expired policy.
    post = client(signature_version="s3v4").generate_presigned_post(BUCKET, "form/late.txt", ExpiresIn=-10)
    status, h, body = post_form(post["url"], post["fields"], "late.txt", b"late")
    equal(status, 403, "expired policy")
    check(b"Policy expired" in body, "body %r", body[:300])
    try:
        s3.head_object(Bucket=BUCKET, Key="form/late.txt")
        raise Failure("an expired form stored its object")
    except botocore.exceptions.ClientError as e:
        equal(error_code(e), "404", "head of the refused upload")


if __name__ == "__main__":
    main([cors_configuration, cors_requests, post_object])

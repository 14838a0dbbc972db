"""Presigned URLs from generate_presigned_url used by plain HTTP clients:
with default settings (for us-east-1 botocore signs the old query form,
AWSAccessKeyId/Signature/Expires) and with signature_version='s3v4'."""

import http.client
import urllib.error
import urllib.parse
import urllib.request

from common import BUCKET, Failure, check, client, data, equal, main, md5_hex


def http_put_no_content_type(url, body):
    """PUT with http.client: no Content-Type header at all."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("PUT", u.path + "?" + u.query, body=body)
    resp = conn.getresponse()
    return resp.status, resp.read(), dict(resp.getheaders())


def urllib_get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def roundtrip(s3, label, query_marker):
    """Presigned GET, PUT (urllib, with the signed Content-Type), PUT with
    no Content-Type (http.client) and a tampered signature; every case
    runs and all failures are reported together."""
    key = "presign/%s/object with spaces+plus.bin" % label
    body = data(len(label), 100 * 1024)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    problems = []

    def case(name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - collect and go on
            problems.append("%s %s: %s" % (label, name, e))

    def get():
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=900)
        check(query_marker in url, "URL lacks %s: %s", query_marker, url)
        status, got = urllib_get(url)
        equal(status, 200, "status (body %r)" % got[:300])
        check(got == body, "%d bytes differ from the %d stored", len(got), len(body))

    def put_urllib():
        k = key + ".urllib"
        url = s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": BUCKET, "Key": k, "ContentType": "application/octet-stream"},
            ExpiresIn=900,
        )
        print("   %s PUT %s" % (label, url.split("?")[1][:160]))
        check(query_marker in url, "URL lacks %s: %s", query_marker, url)
        req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, etag = resp.status, resp.headers.get("ETag")
        except urllib.error.HTTPError as e:
            raise Failure("HTTP %d %s" % (e.code, e.read()[:400]))
        equal(status, 200, "status")
        equal(etag, '"%s"' % md5_hex(body), "ETag")
        equal(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read(), body, "stored body")

    def put_no_content_type():
        k = key + ".httpclient"
        url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": k}, ExpiresIn=900)
        status, rbody, _ = http_put_no_content_type(url, body)
        equal(status, 200, "status (body %r)" % rbody[:400])
        equal(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read(), body, "stored body")

    def tampered():
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=900)
        u = urllib.parse.urlsplit(url)
        q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        name = "Signature" if "Signature" in dict(q) else "X-Amz-Signature"
        q = [(k, ("0" + v[1:] if v[0] != "0" else "1" + v[1:]) if k == name else v) for k, v in q]
        bad = urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))
        status, rbody = urllib_get(bad)
        equal(status, 403, "status")
        check(b"SignatureDoesNotMatch" in rbody, "body %r", rbody[:300])

    case("presigned GET (urllib)", get)
    case("presigned PUT with Content-Type (urllib)", put_urllib)
    case("presigned PUT without Content-Type (http.client)", put_no_content_type)
    case("presigned GET with a tampered signature", tampered)
    if problems:
        raise Failure("; ".join(problems))


def default_settings(s3):
    # botocore's default for S3 presigning in us-east-1 is the SigV2 query
    # form; either way the URL must work.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "x"}, ExpiresIn=60)
    marker = "Signature=" if "AWSAccessKeyId=" in url else "X-Amz-Signature="
    print("   default presigned form: %s" % ("SigV2 query (AWSAccessKeyId, Signature, Expires)" if marker == "Signature=" else "SigV4"))
    roundtrip(s3, "default", marker)


def sigv4(_):
    roundtrip(client(signature_version="s3v4"), "s3v4", "X-Amz-Signature=")


if __name__ == "__main__":
    main([default_settings, sigv4])

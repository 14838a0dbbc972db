"""Presigned URLs from generate_presigned_url used by plain HTTP clients:
with default settings (for us-east-1 botocore signs the old query form,
AWSAccessKeyId/Signature/Expires) and with signature_version='s3v4'."""

import http.client
import urllib.error
import urllib.parse
import urllib.request

from common import BUCKET, check, client, data, equal, main, md5_hex


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
    key = "presign/%s/object with spaces+plus.bin" % label
    body = data(len(label), 100 * 1024)

    # PUT with urllib; the signed Content-Type is sent as signed.
    url = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": BUCKET, "Key": key, "ContentType": "application/octet-stream"},
        ExpiresIn=900,
    )
    print("   %s PUT %s" % (label, url.split("?")[1][:120]))
    check(query_marker in url, "%s presigned PUT URL lacks %s: %s", label, query_marker, url)
    req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, etag = resp.status, resp.headers.get("ETag")
    except urllib.error.HTTPError as e:
        raise AssertionError("%s presigned PUT (urllib): HTTP %d %s" % (label, e.code, e.read()[:500]))
    equal(status, 200, "%s presigned PUT status" % label)
    equal(etag, '"%s"' % md5_hex(body), "%s presigned PUT ETag" % label)

    # GET with urllib.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=900)
    check(query_marker in url, "%s presigned GET URL lacks %s: %s", label, query_marker, url)
    status, got = urllib_get(url)
    equal(status, 200, "%s presigned GET status (body %r)" % (label, got[:300]))
    check(got == body, "%s presigned GET: %d bytes differ from the %d uploaded", label, len(got), len(body))

    # PUT without any Content-Type (http.client), then GET again.
    key2 = key + ".2"
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key2}, ExpiresIn=900)
    status, rbody, _ = http_put_no_content_type(url, body)
    equal(status, 200, "%s presigned PUT without Content-Type (body %r)" % (label, rbody[:300]))
    status, got = urllib_get(s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key2}, ExpiresIn=900))
    equal(status, 200, "%s presigned GET of the second object" % label)
    check(got == body, "%s second object differs", label)

    # A tampered signature is refused with 403.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=900)
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    name = "Signature" if "Signature" in dict(q) else "X-Amz-Signature"
    q = [(k, ("0" + v[1:] if v[0] != "0" else "1" + v[1:]) if k == name else v) for k, v in q]
    bad = urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))
    status, rbody = urllib_get(bad)
    equal(status, 403, "%s presigned GET with a tampered signature" % label)
    check(b"SignatureDoesNotMatch" in rbody, "%s tampered signature: body %r", label, rbody[:300])


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

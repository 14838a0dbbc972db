"""ListObjectsV2 through boto3's paginator over 1,500 keys, with a
delimiter and with awkward key names. botocore always sends
EncodingType=url and decodes keys only when the response says so
(S3-PITFALLS 3); then DeleteObjects, which botocore sends without
Content-MD5 since 1.36."""

from concurrent.futures import ThreadPoolExecutor

from common import BUCKET, check, client, equal, main

SPECIAL = [
    "odd/a b.txt",
    "odd/a+b.txt",
    "odd/100%.csv",
    "odd/%2F-not-a-slash",
    "odd/ünïcødé/ключ.txt",
    "odd/名前/ファイル.txt",
    "odd/emoji-😀",
    "odd/tab\there",
    "odd/amp&lt;xml>",
    "odd/quote\"'",
    "odd/trailing space ",
    "odd/q?x=1#frag",
]
MANY = ["many/d%02d/k%04d" % (i % 15, i) for i in range(1500)]


def put_all(s3, keys):
    def put(k):
        s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())

    with ThreadPoolExecutor(16) as ex:
        list(ex.map(put, keys))


def upload(s3):
    put_all(s3, MANY + SPECIAL)


def paginate(s3, **kw):
    keys, prefixes, pages = [], [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, **kw):
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        check(page.get("EncodingType") == "url", "response does not echo EncodingType=url (botocore will not decode keys): %r", page.get("EncodingType"))
    return keys, prefixes, pages


def recursive_pages(s3):
    keys, prefixes, pages = paginate(s3, Prefix="many/", PaginationConfig={"PageSize": 400})
    equal(keys, sorted(MANY), "keys of a paginated listing (pages of 400)")
    equal(prefixes, [], "common prefixes without a delimiter")
    equal(pages, 4, "pages of 400 for 1500 keys")


def delimiter(s3):
    keys, prefixes, _ = paginate(s3, Prefix="many/", Delimiter="/", PaginationConfig={"PageSize": 7})
    equal(keys, [], "keys under many/ with a delimiter")
    equal(sorted(prefixes), ["many/d%02d/" % i for i in range(15)], "common prefixes")
    keys, prefixes, _ = paginate(s3, Delimiter="/")
    equal(sorted(prefixes), ["many/", "odd/"], "root common prefixes")
    keys, prefixes, _ = paginate(s3, Prefix="many/d03/", Delimiter="/")
    equal(keys, sorted(k for k in MANY if k.startswith("many/d03/")), "keys under many/d03/")


def special_keys(s3):
    keys, prefixes, _ = paginate(s3, Prefix="odd/")
    equal(keys, sorted(SPECIAL), "awkward keys (decoded from EncodingType=url)")
    keys, prefixes, _ = paginate(s3, Prefix="odd/", Delimiter="/")
    equal(sorted(prefixes), ["odd/ünïcødé/", "odd/名前/"], "awkward common prefixes")
    for k in SPECIAL:
        got = s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()
        equal(got, k.encode(), "body of %r" % k)
    # V1 listing with a marker in the middle of the awkward keys.
    r = s3.list_objects(Bucket=BUCKET, Prefix="odd/", Marker="odd/a b.txt")
    equal([o["Key"] for o in r.get("Contents", [])], sorted(k for k in SPECIAL if k > "odd/a b.txt"), "ListObjects V1 after a marker")


def start_after(s3):
    r = s3.list_objects_v2(Bucket=BUCKET, Prefix="many/", StartAfter="many/d07/k0997", MaxKeys=5)
    want = sorted(k for k in MANY if k > "many/d07/k0997")[:5]
    equal([o["Key"] for o in r["Contents"]], want, "StartAfter")
    equal(r["KeyCount"], 5, "KeyCount")
    check(r["IsTruncated"], "IsTruncated with more keys left")


def delete_objects(s3):
    client_ = client()
    seen = {}

    def capture(request, **_):
        seen.update(request.headers)

    client_.meta.events.register("before-send.s3.DeleteObjects", capture)
    batch = [{"Key": k} for k in MANY[:1000]]
    r = client_.delete_objects(Bucket=BUCKET, Delete={"Objects": batch, "Quiet": False})
    check("Content-MD5" not in seen, "this botocore sent Content-MD5; the case under test is its absence")
    equal(len(r.get("Deleted", [])), 1000, "Deleted entries")
    equal(r.get("Errors", []), [], "Errors")
    r = client_.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in SPECIAL + ["odd/never-existed"]], "Quiet": True})
    equal(r.get("Errors", []), [], "Errors of a quiet delete")
    check(not r.get("Deleted"), "a quiet delete lists no Deleted entries")
    keys, _, _ = paginate(s3)
    equal(keys, sorted(MANY[1000:]), "keys left after DeleteObjects")


if __name__ == "__main__":
    main([upload, recursive_pages, delimiter, special_keys, start_after, delete_objects])

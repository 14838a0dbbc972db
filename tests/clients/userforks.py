"""Forks between users and policy variables, through boto3: a user forks
another user's bucket (CreateBucket with X-Tigris-Fork-Source-Bucket)
when the source's policy allows s3:GetObject on all its objects and
s3:ListBucket on it (or its ACL grants the user READ, which stands for
the listing only); without them it is AccessDenied, and so it is when an explicit Deny names some object of
the source. The fork is the forking user's, with no policy and a new
bucket's ACL. A user forks through the admin API too, with a lease. A
policy of the root account's bucket gives every user its home
(arn:aws:s3:::shared/home/${aws:username}/*)."""

import json
import urllib.error
import urllib.request

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from common import BUCKET, ENDPOINT, REGION, create_fork, equal, expect_error, main
from users import admin, as_user

A = BUCKET[:36] + "-fa"
B = BUCKET[:36] + "-fb"
C = BUCKET[:36] + "-fc"


def admin_as(u, method, path, body=None):
    """A call of the admin API signed with a user's key."""
    data = json.dumps(body).encode() if body is not None else b""
    req = AWSRequest(method=method, url=ENDPOINT + "/_forkstore/v1/" + path, data=data,
                     headers={"Content-Type": "application/json"})
    S3SigV4Auth(Credentials(u["access_key_id"], u["secret_access_key"]), "s3", REGION).add_auth(req)
    r = urllib.request.Request(req.url, data=data or None, method=method, headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def forks(s3):
    alice, bob, carol = ({}, {}, {})
    for name, out in ((A, alice), (B, bob), (C, carol)):
        st, u = admin("POST", "users", {"name": name})
        equal(st, 201, "create user %s: %s" % (name, u))
        out.update(u)
    ca, cb, cc = as_user(alice), as_user(bob), as_user(carol)
    src = A + "-src"
    ca.create_bucket(Bucket=src)
    ca.put_object(Bucket=src, Key="k", Body=b"alice's")
    ca.put_object(Bucket=src, Key="secret/s", Body=b"hidden")

    # Without a grant.
    expect_error("AccessDenied", create_fork, cb, B + "-f0", src)

    bob_arn = "arn:aws:iam::%s:user/%s" % (bob["canonical_id"], B)

    def read_policy(extra=()):
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": bob_arn}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::" + src},
            {"Effect": "Allow", "Principal": {"AWS": bob_arn}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + src + "/*"},
        ] + list(extra)})

    # Allowed by a policy: the fork is bob's.
    ca.put_bucket_policy(Bucket=src, Policy=read_policy())
    f1 = B + "-f1"
    create_fork(cb, f1, src)
    equal(cb.get_object(Bucket=f1, Key="k")["Body"].read(), b"alice's", "bob's fork reads the source")
    cb.put_object(Bucket=f1, Key="mine", Body=b"bob's")
    equal([b["Name"] for b in cb.list_buckets()["Buckets"]], [f1], "bob's buckets")
    expect_error("AccessDenied", ca.get_object, Bucket=f1, Key="mine")
    expect_error("NoSuchBucketPolicy", cb.get_bucket_policy, Bucket=f1)
    expect_error("AccessDenied", create_fork, cc, C + "-f", src)

    # An explicit Deny of part of the source.
    ca.put_bucket_policy(Bucket=src, Policy=read_policy([
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + src + "/secret/*"}]))
    expect_error("AccessDenied", create_fork, cb, B + "-f2", src)
    ca.delete_bucket_policy(Bucket=src)
    expect_error("AccessDenied", create_fork, cb, B + "-f2", src)

    # A bucket ACL grant of READ lists the bucket: with a policy allowing
    # the objects it allows a fork, alone it does not.
    ca.put_bucket_ownership_controls(Bucket=src, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    ca.put_bucket_acl(Bucket=src, GrantFullControl='id="%s"' % alice["canonical_id"], GrantRead='id="%s"' % bob["canonical_id"])
    f3 = B + "-f3"
    expect_error("AccessDenied", create_fork, cb, f3, src)
    ca.put_bucket_policy(Bucket=src, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": bob_arn}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + src + "/*"}]}))
    create_fork(cb, f3, src)
    acl = cb.get_bucket_acl(Bucket=f3)
    equal(acl["Owner"]["ID"], bob["canonical_id"], "the fork's owner")
    equal([g["Grantee"].get("ID") for g in acl["Grants"]], [bob["canonical_id"]], "the fork's ACL")
    equal(cb.get_bucket_ownership_controls(Bucket=f3)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
          "BucketOwnerEnforced", "the fork's ownership")
    expect_error("AccessDenied", create_fork, cc, C + "-f", src)

    # The admin API as bob: a fork with a lease.
    st, fb = admin_as(bob, "POST", "buckets/%s/forks" % src, {"name": B + "-f4", "ttl": "1h"})
    equal((st, bool(fb.get("expires"))), (201, True), "bob's admin fork with a lease: %s" % fb)
    equal(cb.get_object(Bucket=B + "-f4", Key="k")["Body"].read(), b"alice's", "bob's leased fork")
    st, _ = admin_as(carol, "POST", "buckets/%s/forks" % src, {"name": C + "-f4"})
    equal(st, 403, "carol's admin fork")

    for u in (A, B, C):
        equal(admin("DELETE", "users/%s?force=true" % u)[0], 200, "delete " + u)
    for b in (f1, f3, B + "-f4"):
        for o in s3.list_objects_v2(Bucket=b).get("Contents", []):
            s3.delete_object(Bucket=b, Key=o["Key"])
        s3.delete_bucket(Bucket=b)
    for o in s3.list_objects_v2(Bucket=src).get("Contents", []):
        s3.delete_object(Bucket=src, Key=o["Key"])
    s3.delete_bucket(Bucket=src)


def homes(s3):
    """Every user gets its home in the root's bucket, by one policy."""
    shared = BUCKET[:40] + "-shared"
    s3.create_bucket(Bucket=shared)
    s3.put_bucket_policy(Bucket=shared, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": "arn:aws:s3:::%s/home/${aws:username}/*" % shared},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::" + shared,
         "Condition": {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}}]}))
    d, e = BUCKET[:36] + "-hd", BUCKET[:36] + "-he"
    users = {}
    for name in (d, e):
        st, u = admin("POST", "users", {"name": name})
        equal(st, 201, "create user " + name)
        users[name] = as_user(u)
    cd, ce = users[d], users[e]
    cd.put_object(Bucket=shared, Key="home/%s/notes" % d, Body=b"d's")
    equal(cd.get_object(Bucket=shared, Key="home/%s/notes" % d)["Body"].read(), b"d's", "a user reads its home")
    equal([o["Key"] for o in cd.list_objects_v2(Bucket=shared, Prefix="home/%s/" % d)["Contents"]],
          ["home/%s/notes" % d], "a user lists its home")
    expect_error("AccessDenied", ce.get_object, Bucket=shared, Key="home/%s/notes" % d)
    expect_error("AccessDenied", ce.put_object, Bucket=shared, Key="home/%s/x" % d, Body=b"x")
    expect_error("AccessDenied", ce.list_objects_v2, Bucket=shared, Prefix="home/%s/" % d)
    expect_error("AccessDenied", cd.list_objects_v2, Bucket=shared)
    ce.put_object(Bucket=shared, Key="home/%s/notes" % e, Body=b"e's")
    # The same policy with Version 2008-10-17: the variable is literal text.
    s3.put_bucket_policy(Bucket=shared, Policy=json.dumps({"Version": "2008-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::%s/home/${aws:username}/*" % shared}]}))
    expect_error("AccessDenied", cd.get_object, Bucket=shared, Key="home/%s/notes" % d)
    for name in (d, e):
        equal(admin("DELETE", "users/" + name)[0], 200, "delete " + name)
    for k in ("home/%s/notes" % d, "home/%s/notes" % e):
        s3.delete_object(Bucket=shared, Key=k)
    s3.delete_bucket(Bucket=shared)


if __name__ == "__main__":
    main([forks, homes])

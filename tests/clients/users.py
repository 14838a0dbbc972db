"""Users through boto3, as the "alt" and "tenant" identities of S3 test
suites use them: the script creates two users through the admin API
(signed by botocore), then a user owns the buckets it creates and lists
only those; the other user is AccessDenied there until a bucket policy
names it (by user ARN); a name taken by another user is
BucketAlreadyExists; a user's public-read ACL and an Allow to "*" reach
everyone; a grant by e-mail address reaches the user with that address,
READ_ACP lets a user read an ACL and not change it;
ExpectedSourceBucketOwner must name the source's owner; deleting the users (with force) gives their buckets to the root
account."""

import json
import urllib.error
import urllib.request

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest

from common import BUCKET, ENDPOINT, REGION, equal, expect_error, main

A = BUCKET[:40] + "-alice"
B = BUCKET[:40] + "-bob"


def admin(method, path, body=None):
    """A call of the admin API signed with the root credentials."""
    data = json.dumps(body).encode() if body is not None else b""
    req = AWSRequest(method=method, url=ENDPOINT + "/_forkstore/v1/" + path, data=data,
                     headers={"Content-Type": "application/json"})
    S3SigV4Auth(boto3.session.Session().get_credentials(), "s3", REGION).add_auth(req)
    r = urllib.request.Request(req.url, data=data or None, method=method, headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def as_user(u):
    return boto3.session.Session().client("s3", endpoint_url=ENDPOINT, region_name=REGION,
                                          aws_access_key_id=u["access_key_id"], aws_secret_access_key=u["secret_access_key"])


def users(s3):
    st, alice = admin("POST", "users", {"name": A})
    equal(st, 201, "create user %s: %s" % (A, alice))
    email = B + "@example.com"
    st, bob = admin("POST", "users", {"name": B, "email": email})
    equal(st, 201, "create user %s" % B)
    ca, cb = as_user(alice), as_user(bob)
    mine = A + "-b"
    ca.create_bucket(Bucket=mine)
    ca.put_object(Bucket=mine, Key="k", Body=b"alice's")
    lb = ca.list_buckets()
    equal([b["Name"] for b in lb["Buckets"]], [mine], "alice's buckets")
    equal(lb["Owner"]["ID"], alice["canonical_id"], "ListBuckets owner")
    equal(cb.list_buckets()["Buckets"], [], "bob's buckets")
    expect_error("AccessDenied", cb.get_object, Bucket=mine, Key="k")
    expect_error("AccessDenied", cb.list_objects_v2, Bucket=mine)
    expect_error("AccessDenied", cb.put_bucket_policy, Bucket=mine, Policy="{}")
    expect_error("BucketAlreadyExists", cb.create_bucket, Bucket=mine)
    # The root's buckets are not theirs either.
    expect_error("AccessDenied", ca.get_object, Bucket=BUCKET, Key="absent")

    bob_arn = "arn:aws:iam::%s:user/%s" % (bob["canonical_id"], B)
    ca.put_bucket_policy(Bucket=mine, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [bob_arn]}, "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::" + mine, "arn:aws:s3:::" + mine + "/*"]}]}))
    equal(cb.get_object(Bucket=mine, Key="k")["Body"].read(), b"alice's", "bob reading under alice's policy")
    equal([o["Key"] for o in cb.list_objects_v2(Bucket=mine)["Contents"]], ["k"], "bob listing under alice's policy")
    expect_error("AccessDenied", cb.put_object, Bucket=mine, Key="k", Body=b"bob's")
    # An explicit Deny binds the owner too.
    ca.put_bucket_policy(Bucket=mine, Policy=json.dumps({"Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::" + mine + "/*"}]}))
    expect_error("AccessDenied", ca.delete_object, Bucket=mine, Key="k")
    ca.delete_bucket_policy(Bucket=mine)

    # ACLs between users: authenticated-read.
    ca.put_bucket_ownership_controls(Bucket=mine, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    ca.put_object(Bucket=mine, Key="shared", Body=b"s", ACL="authenticated-read")
    equal(cb.get_object(Bucket=mine, Key="shared")["Body"].read(), b"s", "bob reading an authenticated-read object")
    # A grant by e-mail address; READ_ACP.
    own = 'id="%s"' % alice["canonical_id"]
    ca.put_object(Bucket=mine, Key="mailed", Body=b"m")
    expect_error("AccessDenied", cb.get_object, Bucket=mine, Key="mailed")
    ca.put_object_acl(Bucket=mine, Key="mailed", GrantFullControl=own, GrantRead='emailAddress="%s"' % email.upper())
    equal(cb.get_object(Bucket=mine, Key="mailed")["Body"].read(), b"m", "bob reading with a grant by e-mail")
    expect_error("UnresolvableGrantByEmailAddress", ca.put_object_acl, Bucket=mine, Key="mailed",
                 GrantFullControl=own, GrantRead='emailAddress="nobody-%s"' % email)
    expect_error("AccessDenied", cb.get_bucket_acl, Bucket=mine)
    ca.put_bucket_acl(Bucket=mine, GrantFullControl=own, GrantReadACP='id="%s"' % bob["canonical_id"])
    grantees = [g["Grantee"].get("ID") for g in cb.get_bucket_acl(Bucket=mine)["Grants"]]
    equal(bob["canonical_id"] in grantees, True, "bob reading the bucket's ACL with READ_ACP")
    expect_error("AccessDenied", cb.put_bucket_acl, Bucket=mine, GrantFullControl='id="%s"' % bob["canonical_id"])
    # x-amz-source-expected-bucket-owner.
    expect_error("AccessDenied", ca.copy_object, Bucket=mine, Key="c", CopySource={"Bucket": mine, "Key": "k"},
                 ExpectedSourceBucketOwner=bob["canonical_id"])
    ca.copy_object(Bucket=mine, Key="c", CopySource={"Bucket": mine, "Key": "k"}, ExpectedSourceBucketOwner=alice["canonical_id"])

    st, err = admin("DELETE", "users/" + A)
    equal((st, err.get("code")), (409, "UserOwnsBuckets"), "deleting a user that owns buckets")
    equal(admin("DELETE", "users/%s?force=true" % A)[0], 200, "forced delete")
    equal(admin("DELETE", "users/" + B)[0], 200, "delete")
    expect_error("InvalidAccessKeyId", ca.list_buckets)
    equal(s3.get_object(Bucket=mine, Key="k")["Body"].read(), b"alice's", "the root account has alice's bucket")
    s3.delete_object(Bucket=mine, Key="k")
    s3.delete_object(Bucket=mine, Key="shared")
    s3.delete_object(Bucket=mine, Key="mailed")
    s3.delete_object(Bucket=mine, Key="c")
    s3.delete_bucket(Bucket=mine)


if __name__ == "__main__":
    main([users])

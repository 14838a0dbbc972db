"""Bucket policies, public access blocks and bucket tags through boto3, as
on AWS S3: PutBucketPolicy (MalformedPolicy with a reason for a bad
document, NoSuchBucketPolicy without one), what a policy lets unsigned
requests (botocore's UNSIGNED client) do, an explicit Deny, the policies
MinIO's "mc anonymous set download|upload" writes, GetBucketPolicyStatus,
the public access block's four settings, PutBucketTagging and a fork's
tags (its parent's at the fork point, then its own) and policy (none)."""

import json

import boto3
import botocore
from botocore.config import Config

from common import BUCKET, ENDPOINT, REGION, create_fork, equal, expect_error, main

UP = BUCKET[:50] + "-u"  # upload-only bucket
ACLB = BUCKET[:50] + "-a"  # bucket with ACLs
FORK = BUCKET[:50] + "-f"


def anonymous():
    return boto3.session.Session().client(
        "s3", endpoint_url=ENDPOINT, region_name=REGION, config=Config(signature_version=botocore.UNSIGNED)
    )


def mc_policy(bucket, kind):
    """What "mc anonymous set KIND" writes."""
    if kind == "download":
        b, o = ["s3:GetBucketLocation", "s3:ListBucket"], ["s3:GetObject"]
    else:
        b = ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
        o = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:ListMultipartUploadParts", "s3:PutObject"]
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": b, "Resource": ["arn:aws:s3:::" + bucket]},
        {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": o, "Resource": ["arn:aws:s3:::" + bucket + "/*"]}]})


def policies(s3):
    expect_error("NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=BUCKET)
    expect_error("NoSuchBucketPolicy", s3.get_bucket_policy_status, Bucket=BUCKET)
    e = expect_error("MalformedPolicy", s3.put_bucket_policy, Bucket=BUCKET, Policy='{"Statement": []}')
    equal("Statement is empty" in e.response["Error"]["Message"], True, "reason of MalformedPolicy")
    expect_error("MalformedPolicy", s3.put_bucket_policy, Bucket=BUCKET, Policy="not json")
    expect_error("MalformedPolicy", s3.put_bucket_policy, Bucket=BUCKET, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::another-bucket/*"}]}))
    expect_error("NoSuchBucket", s3.put_bucket_policy, Bucket=BUCKET + "-absent", Policy=mc_policy(BUCKET + "-absent", "download"))

    s3.put_object(Bucket=BUCKET, Key="pub/a", Body=b"public")
    s3.put_object(Bucket=BUCKET, Key="secret/a", Body=b"secret")
    anon = anonymous()
    expect_error("AccessDenied", anon.get_object, Bucket=BUCKET, Key="pub/a")

    s3.put_bucket_policy(Bucket=BUCKET, Policy=mc_policy(BUCKET, "download"))
    equal(json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]), json.loads(mc_policy(BUCKET, "download")), "GetBucketPolicy")
    equal(s3.get_bucket_policy_status(Bucket=BUCKET)["PolicyStatus"]["IsPublic"], True, "IsPublic")
    equal(anon.get_object(Bucket=BUCKET, Key="pub/a")["Body"].read(), b"public", "anonymous GET under mc download")
    keys = [o["Key"] for o in anon.list_objects_v2(Bucket=BUCKET)["Contents"]]
    equal(sorted(keys), ["pub/a", "secret/a"], "anonymous listing under mc download")
    expect_error("AccessDenied", anon.put_object, Bucket=BUCKET, Key="pub/b", Body=b"x")

    # An explicit Deny beats the Allow.
    doc = json.loads(mc_policy(BUCKET, "download"))
    doc["Statement"].append({"Sid": "nosecret", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::%s/secret/*" % BUCKET})
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(doc))
    expect_error("AccessDenied", anon.get_object, Bucket=BUCKET, Key="secret/a")
    equal(anon.get_object(Bucket=BUCKET, Key="pub/a")["Body"].read(), b"public", "anonymous GET beside a Deny")
    # A condition: only from another network.
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % BUCKET,
         "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}]}))
    equal(s3.get_bucket_policy_status(Bucket=BUCKET)["PolicyStatus"]["IsPublic"], False, "IsPublic with a source network")
    expect_error("AccessDenied", anon.get_object, Bucket=BUCKET, Key="pub/a")
    s3.delete_bucket_policy(Bucket=BUCKET)
    expect_error("NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=BUCKET)
    expect_error("AccessDenied", anon.get_object, Bucket=BUCKET, Key="pub/a")

    # mc anonymous set upload: anonymous uploads, no reads.
    s3.create_bucket(Bucket=UP)
    s3.put_bucket_policy(Bucket=UP, Policy=mc_policy(UP, "upload"))
    anon.put_object(Bucket=UP, Key="in/a", Body=b"uploaded")
    equal(s3.get_object(Bucket=UP, Key="in/a")["Body"].read(), b"uploaded", "object uploaded anonymously")
    expect_error("AccessDenied", anon.get_object, Bucket=UP, Key="in/a")
    anon.delete_object(Bucket=UP, Key="in/a")
    expect_error("NoSuchKey", s3.get_object, Bucket=UP, Key="in/a")


def public_access_block(s3):
    expect_error("NoSuchPublicAccessBlockConfiguration", s3.get_public_access_block, Bucket=BUCKET)
    anon = anonymous()
    s3.put_bucket_policy(Bucket=BUCKET, Policy=mc_policy(BUCKET, "download"))
    cfg = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=cfg)
    equal(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"], cfg, "GetPublicAccessBlock")
    expect_error("AccessDenied", anon.get_object, Bucket=BUCKET, Key="pub/a")
    cfg = dict(cfg, RestrictPublicBuckets=False, BlockPublicPolicy=True)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=cfg)
    equal(anon.get_object(Bucket=BUCKET, Key="pub/a")["Body"].read(), b"public", "public policy in force under BlockPublicPolicy")
    expect_error("AccessDenied", s3.put_bucket_policy, Bucket=BUCKET, Policy=mc_policy(BUCKET, "upload"))
    s3.delete_public_access_block(Bucket=BUCKET)
    expect_error("NoSuchPublicAccessBlockConfiguration", s3.get_public_access_block, Bucket=BUCKET)
    s3.delete_bucket_policy(Bucket=BUCKET)

    # ACLs: created with one (ACLs enabled), then blocked and ignored.
    s3.create_bucket(Bucket=ACLB, ACL="public-read")
    s3.put_object(Bucket=ACLB, Key="k", Body=b"acl", ACL="public-read")
    equal(anon.get_object(Bucket=ACLB, Key="k")["Body"].read(), b"acl", "public-read object")
    s3.put_public_access_block(Bucket=ACLB, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    expect_error("AccessDenied", s3.put_object, Bucket=ACLB, Key="k2", Body=b"x", ACL="public-read")
    expect_error("AccessDenied", s3.put_bucket_acl, Bucket=ACLB, ACL="public-read-write")
    s3.put_public_access_block(Bucket=ACLB, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    expect_error("AccessDenied", anon.get_object, Bucket=ACLB, Key="k")
    s3.delete_public_access_block(Bucket=ACLB)
    equal(anon.get_object(Bucket=ACLB, Key="k")["Body"].read(), b"acl", "public-read object again")


def tagging(s3):
    expect_error("NoSuchTagSet", s3.get_bucket_tagging, Bucket=BUCKET)
    tags = [{"Key": "team", "Value": "data"}, {"Key": "cost-center", "Value": "42"}]
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": tags})
    got = sorted(s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"], key=lambda t: t["Key"])
    equal(got, sorted(tags, key=lambda t: t["Key"]), "GetBucketTagging")
    expect_error("InvalidTag", s3.put_bucket_tagging, Bucket=BUCKET, Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]})
    expect_error("InvalidTag", s3.put_bucket_tagging, Bucket=BUCKET, Tagging={"TagSet": [{"Key": "k%d" % i, "Value": "v"} for i in range(51)]})
    expect_error("NoSuchBucket", s3.get_bucket_tagging, Bucket=BUCKET + "-absent")

    # A fork starts with the parent's tags and no policy, then has its own.
    s3.put_bucket_policy(Bucket=BUCKET, Policy=mc_policy(BUCKET, "download"))
    create_fork(s3, FORK, BUCKET)
    equal(sorted(s3.get_bucket_tagging(Bucket=FORK)["TagSet"], key=lambda t: t["Key"]), sorted(tags, key=lambda t: t["Key"]), "fork tags")
    expect_error("NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=FORK)
    expect_error("AccessDenied", anonymous().get_object, Bucket=FORK, Key="pub/a")
    s3.put_bucket_tagging(Bucket=FORK, Tagging={"TagSet": [{"Key": "team", "Value": "fork"}]})
    s3.delete_bucket_tagging(Bucket=BUCKET)
    equal(s3.get_bucket_tagging(Bucket=FORK)["TagSet"], [{"Key": "team", "Value": "fork"}], "fork tags after changes")
    expect_error("NoSuchTagSet", s3.get_bucket_tagging, Bucket=BUCKET)
    s3.delete_bucket_policy(Bucket=BUCKET)


if __name__ == "__main__":
    main([policies, public_access_block, tagging])

"""Object Ownership and canned ACLs through boto3, as on AWS S3: ownership
controls (BucketOwnerEnforced by default, OwnershipControlsNotFoundError
after a delete); AccessControlListNotSupported for ACLs other than
private / bucket-owner-full-control where ACLs are disabled; canned ACLs
and equivalent grants stored and shown where they are enabled; what
public-read and public-read-write let unsigned requests (botocore's
UNSIGNED client) do, and nothing more; the owner-only PutObjectAcl that
s3cmd sends after every copy, in every mode; forks reading their parent's
object ACLs through, and snapshots showing the ACL they saw."""

import boto3
import botocore
from botocore.config import Config

from common import BUCKET, ENDPOINT, REGION, check, create_fork, equal, expect_error, main, new_client, with_headers

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
READER = BUCKET[:50] + "-r"  # ObjectWriter, bucket ACL public-read
WRITER = BUCKET[:50] + "-w"  # BucketOwnerPreferred, bucket ACL public-read-write
FORK = BUCKET[:50] + "-f"


def anonymous():
    """An unsigned client: what anybody on the network can do."""
    return boto3.session.Session().client(
        "s3", endpoint_url=ENDPOINT, region_name=REGION, config=Config(signature_version=botocore.UNSIGNED)
    )


def grants(policy):
    """The grants of an ACL as a set of (grantee, permission)."""
    out = set()
    for g in policy["Grants"]:
        who = g["Grantee"].get("URI") or g["Grantee"].get("ID")
        out.add((who, g["Permission"]))
    return out


def owner_only(s3, policy):
    return {(policy["Owner"]["ID"], "FULL_CONTROL")}


def ownership(s3, bucket):
    return s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]


def ownership_controls(s3):
    equal(ownership(s3, BUCKET), "BucketOwnerEnforced", "ownership of a new bucket")
    for value in ("ObjectWriter", "BucketOwnerPreferred", "BucketOwnerEnforced"):
        s3.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": value}]})
        equal(ownership(s3, BUCKET), value, "ownership after setting it")
    s3.delete_bucket_ownership_controls(Bucket=BUCKET)
    expect_error("OwnershipControlsNotFoundError", s3.get_bucket_ownership_controls, Bucket=BUCKET)
    # Without controls, ACLs are in force.
    s3.put_object(Bucket=BUCKET, Key="nocontrols", Body=b"x", ACL="public-read")
    s3.put_object_acl(Bucket=BUCKET, Key="nocontrols", ACL="private")
    s3.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    expect_error("MalformedXML", s3.put_bucket_ownership_controls, Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "Nobody"}]})
    expect_error("NoSuchBucket", s3.get_bucket_ownership_controls, Bucket=BUCKET + "-absent")


def acls_disabled(s3):
    # BucketOwnerEnforced: only owner-only ACLs.
    for acl in ("public-read", "public-read-write", "authenticated-read", "bucket-owner-read"):
        e = expect_error("AccessControlListNotSupported", s3.put_object, Bucket=BUCKET, Key="e/k", Body=b"x", ACL=acl)
        equal(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, "status of AccessControlListNotSupported")
    expect_error("NoSuchKey", s3.get_object, Bucket=BUCKET, Key="e/k")
    expect_error("AccessControlListNotSupported", s3.put_object, Bucket=BUCKET, Key="e/k", Body=b"x", GrantRead='uri="%s"' % ALL_USERS)
    expect_error("AccessControlListNotSupported", s3.create_multipart_upload, Bucket=BUCKET, Key="e/k", ACL="public-read")
    expect_error("AccessControlListNotSupported", s3.put_bucket_acl, Bucket=BUCKET, ACL="public-read")
    s3.put_object(Bucket=BUCKET, Key="e/k", Body=b"x", ACL="private")
    s3.put_object(Bucket=BUCKET, Key="e/k2", Body=b"x", ACL="bucket-owner-full-control")
    expect_error("AccessControlListNotSupported", s3.copy_object, Bucket=BUCKET, Key="e/k3", CopySource={"Bucket": BUCKET, "Key": "e/k"}, ACL="public-read")
    expect_error("AccessControlListNotSupported", s3.put_object_acl, Bucket=BUCKET, Key="e/k", ACL="public-read")
    # Reads show the owner's full control.
    policy = s3.get_object_acl(Bucket=BUCKET, Key="e/k")
    equal(grants(policy), owner_only(s3, policy), "object ACL with ACLs disabled")
    policy = s3.get_bucket_acl(Bucket=BUCKET)
    equal(grants(policy), owner_only(s3, policy), "bucket ACL with ACLs disabled")
    # Creating a bucket with an ACL and BucketOwnerEnforced is refused.
    expect_error("InvalidBucketAclWithObjectOwnership", s3.create_bucket, Bucket=BUCKET[:50] + "-x", ACL="public-read",
                 ObjectOwnership="BucketOwnerEnforced")
    expect_error("NoSuchBucket", s3.get_bucket_acl, Bucket=BUCKET[:50] + "-x")
    # Without an ownership setting, as older tools send it, the bucket
    # gets ACLs (ObjectWriter) and the ACL, as on Ceph RGW and MinIO.
    s3.create_bucket(Bucket=BUCKET[:50] + "-y", ACL="public-read")
    equal(ownership(s3, BUCKET[:50] + "-y"), "ObjectWriter", "ownership of a bucket created with an ACL")
    check((ALL_USERS, "READ") in grants(s3.get_bucket_acl(Bucket=BUCKET[:50] + "-y")), "bucket created public-read lacks AllUsers READ")
    s3.delete_bucket(Bucket=BUCKET[:50] + "-y")


def owner_full_control_everywhere(s3):
    """What s3cmd does after cp, mv and remote copies in sync: put back
    the ACL it just read. It succeeds whatever the ownership."""
    s3.put_object(Bucket=BUCKET, Key="s3cmd", Body=b"x")
    for value in ("BucketOwnerEnforced", "ObjectWriter", "BucketOwnerPreferred", None):
        if value:
            s3.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": value}]})
        else:
            s3.delete_bucket_ownership_controls(Bucket=BUCKET)
        policy = s3.get_object_acl(Bucket=BUCKET, Key="s3cmd")
        s3.put_object_acl(Bucket=BUCKET, Key="s3cmd", AccessControlPolicy={"Owner": policy["Owner"], "Grants": policy["Grants"]})
        owner = policy["Owner"]["ID"]
        s3.put_object_acl(Bucket=BUCKET, Key="s3cmd", GrantFullControl='id="%s"' % owner)
        bpolicy = s3.get_bucket_acl(Bucket=BUCKET)
        s3.put_bucket_acl(Bucket=BUCKET, AccessControlPolicy={"Owner": bpolicy["Owner"], "Grants": bpolicy["Grants"]})
        s3.put_bucket_acl(Bucket=BUCKET, ACL="private")
        equal(grants(s3.get_object_acl(Bucket=BUCKET, Key="s3cmd")), {(owner, "FULL_CONTROL")}, "object ACL (%s)" % value)
    s3.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    # A grant to somebody else is refused.
    expect_error("InvalidArgument", s3.put_object_acl, Bucket=BUCKET, Key="s3cmd", GrantRead='id="%s"' % ("0" * 64))
    expect_error("NoSuchKey", s3.put_object_acl, Bucket=BUCKET, Key="absent", ACL="private")


def public_read(s3):
    s3.create_bucket(Bucket=READER, ObjectOwnership="ObjectWriter", ACL="public-read")
    equal(ownership(s3, READER), "ObjectWriter", "ownership of a bucket created with ObjectWriter")
    check((ALL_USERS, "READ") in grants(s3.get_bucket_acl(Bucket=READER)), "bucket ACL of %s lacks AllUsers READ", READER)
    s3.put_object(Bucket=READER, Key="pub", Body=b"public", ACL="public-read")
    s3.put_object(Bucket=READER, Key="priv", Body=b"private")
    policy = s3.get_object_acl(Bucket=READER, Key="pub")
    equal(grants(policy), {(policy["Owner"]["ID"], "FULL_CONTROL"), (ALL_USERS, "READ")}, "ACL of a public-read object")
    equal(grants(s3.get_object_acl(Bucket=READER, Key="priv")), owner_only(s3, policy), "ACL of a private object")

    anon = anonymous()
    equal(anon.get_object(Bucket=READER, Key="pub")["Body"].read(), b"public", "anonymous GET of a public-read object")
    equal(anon.head_object(Bucket=READER, Key="pub")["ContentLength"], 6, "anonymous HEAD of a public-read object")
    keys = [o["Key"] for o in anon.list_objects_v2(Bucket=READER).get("Contents", [])]
    equal(keys, ["priv", "pub"], "anonymous listing of a public-read bucket")
    expect_error("AccessDenied", anon.get_object, Bucket=READER, Key="priv")
    expect_error("NoSuchKey", anon.get_object, Bucket=READER, Key="absent")
    expect_error("AccessDenied", anon.put_object, Bucket=READER, Key="anon", Body=b"x")
    expect_error("AccessDenied", anon.delete_object, Bucket=READER, Key="pub")
    expect_error("AccessDenied", anon.get_object_acl, Bucket=READER, Key="pub")
    expect_error("AccessDenied", anon.get_object_tagging, Bucket=READER, Key="pub")
    expect_error("AccessDenied", anon.get_bucket_acl, Bucket=READER)
    expect_error("AccessDenied", anon.put_object_acl, Bucket=READER, Key="priv", ACL="public-read")
    expect_error("AccessDenied", anon.list_buckets)
    expect_error("AccessDenied", anon.create_bucket, Bucket=BUCKET[:50] + "-anon")
    expect_error("AccessDenied", anon.list_objects_v2, Bucket=BUCKET)
    # A bucket that does not exist looks like one that grants nothing.
    expect_error("AccessDenied", anon.get_object, Bucket=BUCKET[:50] + "-nobucket", Key="k")

    # Copies and multipart uploads take the ACL they are given.
    s3.copy_object(Bucket=READER, Key="copy", CopySource={"Bucket": READER, "Key": "priv"}, ACL="public-read")
    equal(anon.get_object(Bucket=READER, Key="copy")["Body"].read(), b"private", "anonymous GET of a public-read copy")
    s3.copy_object(Bucket=READER, Key="copy2", CopySource={"Bucket": READER, "Key": "pub"})
    expect_error("AccessDenied", anon.get_object, Bucket=READER, Key="copy2")
    up = s3.create_multipart_upload(Bucket=READER, Key="mpu", ACL="public-read")["UploadId"]
    etag = s3.upload_part(Bucket=READER, Key="mpu", UploadId=up, PartNumber=1, Body=b"multipart")["ETag"]
    s3.complete_multipart_upload(Bucket=READER, Key="mpu", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    equal(anon.get_object(Bucket=READER, Key="mpu")["Body"].read(), b"multipart", "anonymous GET of a public-read upload")

    # PutObjectAcl: canned, grant headers, grant body.
    s3.put_object_acl(Bucket=READER, Key="pub", ACL="private")
    expect_error("AccessDenied", anon.get_object, Bucket=READER, Key="pub")
    owner = policy["Owner"]["ID"]
    s3.put_object_acl(Bucket=READER, Key="pub", GrantRead='uri="%s"' % ALL_USERS, GrantFullControl='id="%s"' % owner)
    equal(anon.get_object(Bucket=READER, Key="pub")["Body"].read(), b"public", "GET after grant headers")
    s3.put_object_acl(Bucket=READER, Key="priv", AccessControlPolicy={"Owner": policy["Owner"], "Grants": policy["Grants"]})
    equal(anon.get_object(Bucket=READER, Key="priv")["Body"].read(), b"private", "GET after a grant body")
    s3.put_object_acl(Bucket=READER, Key="priv", ACL="private")
    # A grant list no canned ACL equals is not implemented.
    expect_error("NotImplemented", s3.put_object_acl, Bucket=READER, Key="priv", GrantWrite='uri="%s"' % ALL_USERS, GrantFullControl='id="%s"' % owner)

    # Disabling ACLs takes every object ACL out of force; a public bucket
    # ACL must go first.
    expect_error("InvalidBucketAclWithObjectOwnership", s3.put_bucket_ownership_controls, Bucket=READER,
                 OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.put_bucket_acl(Bucket=READER, ACL="private")
    s3.put_bucket_ownership_controls(Bucket=READER, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    expect_error("AccessDenied", anon.get_object, Bucket=READER, Key="pub")
    expect_error("AccessDenied", anon.list_objects_v2, Bucket=READER)
    policy = s3.get_object_acl(Bucket=READER, Key="pub")
    equal(grants(policy), owner_only(s3, policy), "object ACL shown with ACLs disabled")
    # ...and enabling them again brings the object ACLs back.
    s3.put_bucket_ownership_controls(Bucket=READER, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    s3.put_bucket_acl(Bucket=READER, ACL="public-read")
    equal(anon.get_object(Bucket=READER, Key="pub")["Body"].read(), b"public", "GET once ACLs are enabled again")


def public_read_write(s3):
    s3.create_bucket(Bucket=WRITER, ObjectOwnership="BucketOwnerPreferred")
    s3.put_bucket_acl(Bucket=WRITER, ACL="public-read-write")
    got = grants(s3.get_bucket_acl(Bucket=WRITER))
    check({(ALL_USERS, "READ"), (ALL_USERS, "WRITE")} <= got, "bucket ACL of %s: %s", WRITER, got)
    anon = anonymous()
    anon.put_object(Bucket=WRITER, Key="dropped", Body=b"from nobody")
    equal(s3.get_object(Bucket=WRITER, Key="dropped")["Body"].read(), b"from nobody", "owner GET of an anonymous write")
    # The bucket lets anybody write and list, not read what is private.
    expect_error("AccessDenied", anon.get_object, Bucket=WRITER, Key="dropped")
    keys = [o["Key"] for o in anon.list_objects_v2(Bucket=WRITER).get("Contents", [])]
    equal(keys, ["dropped"], "anonymous listing of a public-read-write bucket")
    up = anon.create_multipart_upload(Bucket=WRITER, Key="anon-mpu")["UploadId"]
    etag = anon.upload_part(Bucket=WRITER, Key="anon-mpu", UploadId=up, PartNumber=1, Body=b"parts")["ETag"]
    anon.complete_multipart_upload(Bucket=WRITER, Key="anon-mpu", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    anon.put_object(Bucket=WRITER, Key="shared", Body=b"readable", ACL="public-read")
    equal(anon.get_object(Bucket=WRITER, Key="shared")["Body"].read(), b"readable", "anonymous GET of a public-read object")
    anon.delete_object(Bucket=WRITER, Key="dropped")
    expect_error("NoSuchKey", s3.get_object, Bucket=WRITER, Key="dropped")
    r = anon.delete_objects(Bucket=WRITER, Delete={"Objects": [{"Key": "anon-mpu"}, {"Key": "shared", "VersionId": "null"}]})
    equal([d["Key"] for d in r.get("Deleted", [])], ["anon-mpu"], "anonymous DeleteObjects")
    equal([(e["Key"], e["Code"]) for e in r.get("Errors", [])], [("shared", "AccessDenied")], "anonymous delete of a version")
    # What the bucket ACL does not grant stays the owner's.
    expect_error("AccessDenied", anon.put_bucket_acl, Bucket=WRITER, ACL="private")
    expect_error("AccessDenied", anon.delete_bucket, Bucket=WRITER)
    expect_error("AccessDenied", anon.put_bucket_ownership_controls, Bucket=WRITER,
                 OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    # Writes only with public-read-write: once private, nothing.
    s3.put_bucket_acl(Bucket=WRITER, ACL="private")
    expect_error("AccessDenied", anon.put_object, Bucket=WRITER, Key="late", Body=b"x")
    expect_error("AccessDenied", anon.list_objects_v2, Bucket=WRITER)


def forks_and_snapshots(s3):
    """A fork starts with its source's ownership and bucket ACL; inherited
    objects keep their ACLs; changes stay where they are made. A snapshot
    shows the ACL it saw."""
    snap = with_headers(new_client(), "CreateBucket", {"X-Tigris-Snapshot": "true"})
    v = snap.create_bucket(Bucket=READER)["ResponseMetadata"]["HTTPHeaders"]["x-tigris-snapshot-version"]
    create_fork(s3, FORK, READER)
    equal(ownership(s3, FORK), "ObjectWriter", "ownership of the fork")
    anon = anonymous()
    equal(anon.get_object(Bucket=FORK, Key="pub")["Body"].read(), b"public", "anonymous GET through the fork")
    expect_error("AccessDenied", anon.get_object, Bucket=FORK, Key="priv")
    s3.put_object_acl(Bucket=FORK, Key="pub", ACL="private")
    expect_error("AccessDenied", anon.get_object, Bucket=FORK, Key="pub")
    equal(anon.get_object(Bucket=READER, Key="pub")["Body"].read(), b"public", "the parent is unchanged")
    s3.put_object_acl(Bucket=READER, Key="priv", ACL="public-read")
    expect_error("AccessDenied", anon.get_object, Bucket=FORK, Key="priv")
    # Snapshot reads of the ACL (signed: anonymous requests cannot name a
    # snapshot).
    at = with_headers(new_client(), "GetObjectAcl", {"X-Tigris-Snapshot-Version": v})
    equal(grants(at.get_object_acl(Bucket=READER, Key="priv")), owner_only(s3, s3.get_object_acl(Bucket=READER, Key="priv")),
          "ACL of priv at the snapshot")
    check((ALL_USERS, "READ") in grants(s3.get_object_acl(Bucket=READER, Key="priv")), "priv is public-read now")
    expect_error("AccessDenied", with_headers(anonymous(), "GetObject", {"X-Tigris-Snapshot-Version": v}).get_object,
                 Bucket=READER, Key="pub")


if __name__ == "__main__":
    main([ownership_controls, acls_disabled, owner_full_control_everywhere, public_read, public_read_write, forks_and_snapshots])

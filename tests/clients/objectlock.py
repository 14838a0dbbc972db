"""Object Lock through boto3: CreateBucket with ObjectLockEnabledForBucket
(versioning on, cannot be suspended), Put/GetObjectLockConfiguration with a
default retention, the lock of a PutObject, CopyObject and multipart upload
read back with HeadObject and GetObjectRetention, PutObjectRetention that
may only extend COMPLIANCE, legal holds, DeleteObject(s) of a locked
version refused (AccessDenied) unless GOVERNANCE is bypassed, DeleteBucket
refused while a locked version remains, the Content-MD5/checksum rule of
retained writes, and what a fork of a locked bucket inherits."""

import datetime

import botocore

import common
from common import check, client, equal, expect_error, main

LOCKED = common.BUCKET[:50] + "-lock"
FORK = common.BUCKET[:50] + "-lfork"


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def vid(res):
    return res["VersionId"]


def create_locked_bucket(s3):
    s3.create_bucket(Bucket=LOCKED, ObjectLockEnabledForBucket=True)
    equal(s3.get_bucket_versioning(Bucket=LOCKED).get("Status"), "Enabled", "versioning of a locked bucket")
    expect_error(
        "InvalidBucketState",
        s3.put_bucket_versioning,
        Bucket=LOCKED,
        VersioningConfiguration={"Status": "Suspended"},
    )
    got = s3.get_object_lock_configuration(Bucket=LOCKED)["ObjectLockConfiguration"]
    equal(got, {"ObjectLockEnabled": "Enabled"}, "configuration without a rule")
    # A bucket created without Object Lock has no configuration, and its
    # objects take no retention.
    expect_error("ObjectLockConfigurationNotFoundError", s3.get_object_lock_configuration, Bucket=common.BUCKET)
    s3.put_object(Bucket=common.BUCKET, Key="plain", Body=b"x")
    expect_error(
        "InvalidRequest",
        s3.put_object_retention,
        Bucket=common.BUCKET,
        Key="plain",
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": now() + datetime.timedelta(hours=1)},
    )
    expect_error(
        "InvalidRequest",
        s3.put_object,
        Bucket=common.BUCKET,
        Key="plain2",
        Body=b"x",
        ObjectLockLegalHoldStatus="ON",
    )


def default_retention(s3):
    s3.put_object_lock_configuration(
        Bucket=LOCKED,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    got = s3.get_object_lock_configuration(Bucket=LOCKED)["ObjectLockConfiguration"]
    equal(got["Rule"]["DefaultRetention"], {"Mode": "GOVERNANCE", "Days": 1}, "default retention")
    expect_error(
        "MalformedXML",
        s3.put_object_lock_configuration,
        Bucket=LOCKED,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}},
        },
    )
    expect_error(
        "InvalidRetentionPeriod",
        s3.put_object_lock_configuration,
        Bucket=LOCKED,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}},
        },
    )
    before = now()
    v = vid(s3.put_object(Bucket=LOCKED, Key="gov", Body=b"governed"))
    h = s3.head_object(Bucket=LOCKED, Key="gov", VersionId=v)
    equal(h["ObjectLockMode"], "GOVERNANCE", "mode from the default rule")
    until = h["ObjectLockRetainUntilDate"]
    check(
        before + datetime.timedelta(hours=23) < until < before + datetime.timedelta(hours=25),
        "retain-until %s is not a day after %s",
        until,
        before,
    )
    r = s3.get_object_retention(Bucket=LOCKED, Key="gov", VersionId=v)["Retention"]
    equal(r["Mode"], "GOVERNANCE", "GetObjectRetention mode")
    # A delete without a version id writes a marker; the version stays.
    s3.delete_object(Bucket=LOCKED, Key="gov")
    expect_error("AccessDenied", s3.delete_object, Bucket=LOCKED, Key="gov", VersionId=v)
    res = s3.delete_objects(Bucket=LOCKED, Delete={"Objects": [{"Key": "gov", "VersionId": v}]})
    equal([e["Code"] for e in res.get("Errors", [])], ["AccessDenied"], "DeleteObjects of a locked version")
    s3.head_object(Bucket=LOCKED, Key="gov", VersionId=v)
    # Root may bypass governance.
    s3.delete_object(Bucket=LOCKED, Key="gov", VersionId=v, BypassGovernanceRetention=True)
    expect_error("404", s3.head_object, Bucket=LOCKED, Key="gov", VersionId=v)


def checksum_required(s3):
    # boto3 sends a CRC by default; without it (and without Content-MD5)
    # a write the default rule retains is refused, as on AWS.
    bare = client(request_checksum_calculation="when_required")
    expect_error("InvalidRequest", bare.put_object, Bucket=LOCKED, Key="bare", Body=b"x")
    bare.put_object(Bucket=LOCKED, Key="md5", Body=b"x", ContentMD5="ndTkYSaMgDT1yFZOFVxnpg==")


def compliance(s3):
    until = (now() + datetime.timedelta(hours=1)).replace(microsecond=0)
    v = vid(
        s3.put_object(
            Bucket=LOCKED, Key="comp", Body=b"compliant", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until
        )
    )
    r = s3.get_object_retention(Bucket=LOCKED, Key="comp", VersionId=v)["Retention"]
    equal((r["Mode"], r["RetainUntilDate"]), ("COMPLIANCE", until), "retention of the PUT")
    # Shorter, or GOVERNANCE: refused even to root with a bypass.
    for mode, date in (("COMPLIANCE", until - datetime.timedelta(minutes=1)), ("GOVERNANCE", until)):
        expect_error(
            "AccessDenied",
            s3.put_object_retention,
            Bucket=LOCKED,
            Key="comp",
            VersionId=v,
            Retention={"Mode": mode, "RetainUntilDate": date},
            BypassGovernanceRetention=True,
        )
    later = until + datetime.timedelta(hours=1)
    s3.put_object_retention(
        Bucket=LOCKED, Key="comp", VersionId=v, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later}
    )
    equal(s3.head_object(Bucket=LOCKED, Key="comp", VersionId=v)["ObjectLockRetainUntilDate"], later, "extended")
    expect_error(
        "AccessDenied", s3.delete_object, Bucket=LOCKED, Key="comp", VersionId=v, BypassGovernanceRetention=True
    )


def legal_hold(s3):
    v = vid(s3.put_object(Bucket=LOCKED, Key="held", Body=b"held", ObjectLockLegalHoldStatus="ON"))
    equal(s3.get_object_legal_hold(Bucket=LOCKED, Key="held", VersionId=v)["LegalHold"]["Status"], "ON", "hold")
    equal(s3.head_object(Bucket=LOCKED, Key="held")["ObjectLockLegalHoldStatus"], "ON", "HEAD legal hold")
    expect_error(
        "AccessDenied", s3.delete_object, Bucket=LOCKED, Key="held", VersionId=v, BypassGovernanceRetention=True
    )
    s3.put_object_legal_hold(Bucket=LOCKED, Key="held", VersionId=v, LegalHold={"Status": "OFF"})
    equal(s3.get_object_legal_hold(Bucket=LOCKED, Key="held", VersionId=v)["LegalHold"]["Status"], "OFF", "released")
    # The default rule still retains it (governance): bypass.
    s3.delete_object(Bucket=LOCKED, Key="held", VersionId=v, BypassGovernanceRetention=True)


def copy_and_multipart(s3):
    until = (now() + datetime.timedelta(hours=2)).replace(microsecond=0)
    s3.copy_object(
        Bucket=LOCKED,
        Key="copy",
        CopySource={"Bucket": common.BUCKET, "Key": "plain"},
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )
    h = s3.head_object(Bucket=LOCKED, Key="copy")
    equal((h["ObjectLockMode"], h["ObjectLockRetainUntilDate"]), ("COMPLIANCE", until), "copy's lock")
    up = s3.create_multipart_upload(Bucket=LOCKED, Key="mp", ObjectLockLegalHoldStatus="ON")
    part = s3.upload_part(Bucket=LOCKED, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"part")
    s3.complete_multipart_upload(
        Bucket=LOCKED,
        Key="mp",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    h = s3.head_object(Bucket=LOCKED, Key="mp")
    equal((h["ObjectLockLegalHoldStatus"], h["ObjectLockMode"]), ("ON", "GOVERNANCE"), "multipart's lock")


def delete_bucket_refused(s3):
    # Every key's latest version a delete marker: still not deletable.
    for key in ("comp", "copy", "mp", "md5"):
        s3.delete_object(Bucket=LOCKED, Key=key)
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=LOCKED)
    s3.head_bucket(Bucket=LOCKED)


def fork_inherits(s3):
    iv = vid(s3.put_object(Bucket=LOCKED, Key="inherited", Body=b"inherited"))
    common.create_fork(s3, FORK, LOCKED)
    got = s3.get_object_lock_configuration(Bucket=FORK)["ObjectLockConfiguration"]
    equal(got["Rule"]["DefaultRetention"], {"Mode": "GOVERNANCE", "Days": 1}, "fork's configuration")
    # The fork's own writes follow the fork's rule.
    v = vid(s3.put_object(Bucket=FORK, Key="own", Body=b"own"))
    equal(s3.head_object(Bucket=FORK, Key="own", VersionId=v)["ObjectLockMode"], "GOVERNANCE", "fork write")
    expect_error("AccessDenied", s3.delete_object, Bucket=FORK, Key="own", VersionId=v)
    # The parent's versions stay locked where they live: the fork cannot
    # change the lock of the version it inherits, nor delete them by
    # version id.
    expect_error(
        "InvalidRequest",
        s3.put_object_legal_hold,
        Bucket=FORK,
        Key="inherited",
        VersionId=iv,
        LegalHold={"Status": "ON"},
    )
    # A version that was no longer current at the fork point is not the
    # fork's at all (its history starts there).
    pv = [x for x in s3.list_object_versions(Bucket=LOCKED, Prefix="comp")["Versions"] if x["Key"] == "comp"][0]
    expect_error(
        "NoSuchVersion",
        s3.put_object_legal_hold,
        Bucket=FORK,
        Key="comp",
        VersionId=pv["VersionId"],
        LegalHold={"Status": "ON"},
    )
    try:
        s3.delete_object(Bucket=FORK, Key="comp", VersionId=pv["VersionId"])
    except botocore.exceptions.ClientError:
        pass
    s3.head_object(Bucket=LOCKED, Key="comp", VersionId=pv["VersionId"])
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=FORK)


if __name__ == "__main__":
    main(
        [
            create_locked_bucket,
            default_retention,
            checksum_required,
            compliance,
            legal_hold,
            copy_and_multipart,
            delete_bucket_refused,
            fork_inherits,
        ]
    )

"""Agent sandboxes through boto3: BUCKET is the base; one create-many makes
20 forks with a key scoped to each (the admin API, signed with botocore's
SigV4 like any S3 request); 20 agents, each with a plain boto3 client on its
own key, write in parallel; no agent can read, list or write another
agent's fork or the base; one agent's fork is merged and the base then
shows exactly that agent's changes; a conflicting merge changes nothing;
deleting a key stops it."""

import io
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import boto3.s3.transfer
import botocore.auth
import botocore.awsrequest
import botocore.session

import common
from common import ENDPOINT, REGION, check, content, equal, error_code, expect_error, listing, main

BUCKET = common.BUCKET.replace("_", "-")
common.BUCKET = BUCKET
AGENTS = 20
PREFIX = BUCKET[:40] + "-agent-"
BASE = {"data/%02d.csv" % i: b"base row %d\n" % i for i in range(30)}
BASE["config.json"] = b'{"version": 1}'

state = {}


def admin(method, path, body=None):
    """A signed admin API call with the root credentials; returns (status,
    decoded JSON answer)."""
    creds = botocore.session.Session().get_credentials()
    data = json.dumps(body).encode() if body is not None else b""
    req = botocore.awsrequest.AWSRequest(
        method=method,
        url=ENDPOINT + "/_forkstore/v1/" + path,
        data=data,
        headers={"Content-Type": "application/json"},
    )
    botocore.auth.S3SigV4Auth(creds, "s3", REGION).add_auth(req)
    prepared = req.prepare()
    http = urllib.request.Request(prepared.url, data=data or None, method=method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(http) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def agent_client(fork):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=fork["access_key_id"],
        aws_secret_access_key=fork["secret_access_key"],
    )


def base_and_forks(s3):
    for k, v in BASE.items():
        s3.put_object(Bucket=BUCKET, Key=k, Body=v)
    status, batch = admin(
        "POST",
        "buckets/%s/forks/batch" % BUCKET,
        {"count": AGENTS, "prefix": PREFIX, "with_keys": True, "ttl": "2h"},
    )
    equal(status, 201, "create-many status (%s)" % batch)
    forks = batch["forks"]
    equal([f["bucket"] for f in forks], [PREFIX + str(i + 1) for i in range(AGENTS)], "fork names")
    for f in forks:
        check(f["access_key_id"] and f["secret_access_key"] and f["expires"], "fork without key or lease: %s", f)
    state["forks"] = forks
    # Every fork starts at the same point: the base as it was.
    s3.put_object(Bucket=BUCKET, Key="after-the-batch", Body=b"not in any fork")
    for f in forks[:3]:
        equal(content(s3, f["bucket"]), BASE, "content of %s" % f["bucket"])


def agent_work(i, fork):
    """What agent i does in its own fork."""
    s3 = agent_client(fork)
    mine = fork["bucket"]
    equal(content(s3, mine), BASE, "agent %d sees the base in its fork" % i)
    s3.put_object(Bucket=mine, Key="config.json", Body=b'{"version": 2, "agent": %d}' % i)
    s3.put_object(Bucket=mine, Key="results/agent-%d.txt" % i, Body=b"result of agent %d" % i)
    s3.delete_object(Bucket=mine, Key="data/%02d.csv" % i)
    s3.upload_fileobj(
        io.BytesIO(common.data(i, 6 << 20)),
        mine,
        "big/%d.bin" % i,
        Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20),
    )
    # Nothing outside its fork: not another agent's, not the base.
    other = state["forks"][(i + 1) % AGENTS]["bucket"]
    for bucket in (other, BUCKET):
        expect_error("AccessDenied", s3.get_object, Bucket=bucket, Key="config.json")
        expect_error("AccessDenied", s3.put_object, Bucket=bucket, Key="x", Body=b"x")
        expect_error("AccessDenied", s3.delete_object, Bucket=bucket, Key="config.json")
        expect_error("AccessDenied", s3.list_objects_v2, Bucket=bucket)
        expect_error("403", s3.head_bucket, Bucket=bucket)  # HEAD answers carry no body
    expect_error(
        "AccessDenied", s3.copy_object, Bucket=mine, Key="stolen", CopySource={"Bucket": other, "Key": "config.json"}
    )
    expect_error("AccessDenied", s3.create_bucket, Bucket=mine + "-new")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    equal(names, [mine], "agent %d's ListBuckets" % i)
    # A presigned URL of the agent's key works for its fork only.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": mine, "Key": "results/agent-%d.txt" % i})
    with urllib.request.urlopen(url) as resp:
        equal(resp.read(), b"result of agent %d" % i, "presigned GET")
    return i


def agents_in_parallel(s3):
    with ThreadPoolExecutor(max_workers=AGENTS) as pool:
        done = list(pool.map(lambda a: agent_work(*a), enumerate(state["forks"])))
    equal(done, list(range(AGENTS)), "agents done")
    # The base is untouched by all of them.
    want = dict(BASE)
    want["after-the-batch"] = b"not in any fork"
    equal(content(s3, BUCKET), want, "base after the agents")
    state["base"] = want


def merge_the_best(s3):
    best = 7
    fork = state["forks"][best]["bucket"]
    status, plan = admin("POST", "buckets/%s/merge" % fork, {"dry_run": True})
    equal(status, 200, "dry run status (%s)" % plan)
    equal((plan["puts"], plan["deletes"], plan["conflict_count"]), (3, 1, 0), "dry run")
    equal(content(s3, BUCKET), state["base"], "base after a dry run")

    before = s3.list_objects_v2(Bucket=BUCKET)["KeyCount"]
    status, rep = admin("POST", "buckets/%s/merge" % fork, {"delete_fork": True})
    equal(status, 200, "merge status (%s)" % rep)
    check(rep["fork_deleted"], "fork not deleted: %s", rep)
    want = dict(state["base"])
    want["config.json"] = b'{"version": 2, "agent": %d}' % best
    want["results/agent-%d.txt" % best] = b"result of agent %d" % best
    del want["data/%02d.csv" % best]
    got = content(s3, BUCKET)
    big = got.pop("big/%d.bin" % best)
    equal(big, common.data(best, 6 << 20), "merged multipart object")
    equal(got, want, "base after the merge: exactly agent %d's changes" % best)
    equal(s3.list_objects_v2(Bucket=BUCKET)["KeyCount"], before + 1, "key count after the merge (2 new, 1 deleted)")
    # The merged fork and its key are gone.
    expect_error("404", s3.head_bucket, Bucket=fork)
    deadline = time.time() + 10
    while True:
        try:
            agent_client(state["forks"][best]).list_buckets()
        except Exception as e:  # noqa: BLE001
            if getattr(e, "response", None) and error_code(e) == "InvalidAccessKeyId":
                break
        check(time.time() < deadline, "the merged fork's key still works")
        time.sleep(0.05)
    # The other agents' forks still show their own work.
    other = state["forks"][3]
    got = content(agent_client(other), other["bucket"])
    equal(got["config.json"], b'{"version": 2, "agent": 3}', "agent 3's fork after the merge")


def conflicting_merge(s3):
    fork = state["forks"][3]["bucket"]
    before = content(s3, BUCKET)
    status, rep = admin("POST", "buckets/%s/merge" % fork, {})
    equal(status, 409, "conflicting merge status (%s)" % rep)
    equal(rep["code"], "MergeConflict", "conflict code")
    equal(rep["conflicts"], ["config.json"], "conflicting keys")
    equal(content(s3, BUCKET), before, "base after a refused merge")
    status, rep = admin("POST", "buckets/%s/merge" % fork, {"strategy": "sideways"})
    equal(status, 400, "unknown strategy")


def keys_and_leases(s3):
    fork = state["forks"][5]
    status, renewed = admin("POST", "buckets/%s/renew" % fork["bucket"], {"ttl": "1h"})
    equal(status, 200, "renew (%s)" % renewed)
    head = s3.head_bucket(Bucket=fork["bucket"])
    check("x-forkstore-expires" in head["ResponseMetadata"]["HTTPHeaders"], "HeadBucket without X-Forkstore-Expires")
    status, listed = admin("GET", "keys?bucket=%s" % fork["bucket"])
    equal([k["access_key_id"] for k in listed["keys"]], [fork["access_key_id"]], "keys of the fork")
    check("secret_access_key" not in listed["keys"][0], "key list shows a secret")
    status, _ = admin("DELETE", "keys/%s" % fork["access_key_id"])
    equal(status, 200, "delete key")
    deadline = time.time() + 10
    while True:
        try:
            agent_client(fork).get_object(Bucket=fork["bucket"], Key="config.json")
        except Exception as e:  # noqa: BLE001
            if getattr(e, "response", None) and error_code(e) == "InvalidAccessKeyId":
                break
        check(time.time() < deadline, "a deleted key still works")
        time.sleep(0.05)


if __name__ == "__main__":
    main([base_and_forks, agents_in_parallel, merge_the_best, conflicting_merge, keys_and_leases])

"""S3 Object Lock on object versions, as AWS enforces it: retention (GOVERNANCE and
COMPLIANCE) and legal holds set at upload, by a bucket's default retention or by
PutObjectRetention / PutObjectLegalHold, read back through HeadObject, GetObject,
GetObjectRetention and GetObjectLegalHold, and enforced on DeleteObject / DeleteObjects
with a VersionId (x-amz-bypass-governance-retention lifts GOVERNANCE only) and on
PutObjectRetention (COMPLIANCE can be extended, never shortened or downgraded; shortening
GOVERNANCE needs the bypass header). A delete without a VersionId only adds a delete
marker and an overwrite only adds a version, so locked versions stay readable.

Sources of the expected answers (recorded from AWS or published by AWS):
- LocalStack's `tests/aws/services/s3/test_s3.snapshot.json`, TestS3ObjectLockRetention and
  TestS3ObjectLockLegalHold (recorded against AWS, August 2023): 404
  NoSuchObjectLockConfiguration "The specified object does not have a ObjectLock
  configuration" for an unset retention or legal hold; 400 InvalidRequest "Bucket is
  missing Object Lock Configuration" for the four calls on a bucket without Object Lock;
  403 AccessDenied for deleting a GOVERNANCE version without the bypass header (204 with
  it), for shortening GOVERNANCE retention without it, for deleting a version under legal
  hold, and as a DeleteObjects `Errors` entry carrying Key and VersionId; HeadObject
  answers ObjectLockLegalHoldStatus OFF once a hold is released; a bucket's default
  retention shows on HeadObject; 404 NoSuchKey for a lock call on a missing key.
- moto's `tests/test_s3/test_s3_lock.py`, tests marked aws_verified: a legal hold blocks a
  version delete even with BypassGovernanceRetention=True and the delete works once the
  hold is OFF; DeleteObjects refuses a COMPLIANCE version even with the bypass header;
  a DeleteObjects entry without a VersionId always succeeds (a delete marker). The
  DeleteObjects error message differs between recordings ("Access Denied" in 2023,
  "Access Denied because object protected by object lock." later), so only the code is
  asserted for delete refusals.
- ceph/s3-tests object lock tests: PutObject with ObjectLockMode, RetainUntilDate and
  LegalHoldStatus read back by HeadObject; 403 AccessDenied for changing COMPLIANCE to
  GOVERNANCE; per-version PutObjectRetention with VersionId.
- A run of marmotitude/s3-specs against AWS us-east-1: a default GOVERNANCE retention
  applies only to versions written after it was configured; a delete without VersionId
  succeeds (204) on a locked object; a delete of the locked version is AccessDenied.
- The S3 user guide ("Locking objects with Object Lock", "Object Lock considerations"): a
  COMPLIANCE version's mode can't be changed and its period can't be shortened by anyone;
  a legal hold prevents deletion until removed, independently of retention; delete markers
  aren't protected by retention or legal holds.
- PutObject's lock-header errors (InvalidRequest without Object Lock, InvalidArgument for
  a mode without a date or a date without a mode, InvalidArgument "The retain until date
  must be in the future!") are the answers S3-compatible servers that copy AWS give
  (Scality CloudServer's header validation, IBM COS acceptance tests).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from s3_helpers import s3  # noqa: F401  (fixture)
from sqs_helpers import unique

pytestmark = pytest.mark.stratus_only

NO_LOCK_CONFIG_MESSAGE = "The specified object does not have a ObjectLock configuration"
MISSING_BUCKET_LOCK_MESSAGE = "Bucket is missing Object Lock Configuration"
PAST_DATE_MESSAGE = "The retain until date must be in the future!"
LOCK_FIELDS = ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus")


def err(e) -> tuple[str, int]:
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def message(e) -> str:
    return e.value.response["Error"].get("Message", "")


def status(resp: dict) -> int:
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def future(**delta) -> datetime:
    """A retain-until date `delta` from now, in whole seconds so it reads back exactly."""
    return (datetime.now(timezone.utc) + timedelta(**delta)).replace(microsecond=0)


def lock_bucket(s3) -> str:
    name = unique("lock").lower()
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def plain_bucket(s3) -> str:
    name = unique("nolock").lower()
    s3.create_bucket(Bucket=name)
    return name


def put(s3, b: str, key: str, body: bytes = b"data", **kw) -> str:
    resp = s3.put_object(Bucket=b, Key=key, Body=body, **kw)
    assert status(resp) == 200
    assert resp.get("VersionId") not in (None, "", "null")
    return resp["VersionId"]


def body_of(s3, b: str, key: str, version: str | None = None) -> bytes:
    kw = {"VersionId": version} if version else {}
    return s3.get_object(Bucket=b, Key=key, **kw)["Body"].read()


def assert_version_gone(s3, b: str, key: str, version: str) -> None:
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=b, Key=key, VersionId=version)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    versions = s3.list_object_versions(Bucket=b, Prefix=key).get("Versions", [])
    assert version not in [v["VersionId"] for v in versions if v["Key"] == key]


def assert_delete_refused(s3, b: str, key: str, version: str, **kw) -> None:
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=b, Key=key, VersionId=version, **kw)
    assert err(e) == ("AccessDenied", 403)


def retention_of(s3, b: str, key: str, version: str | None = None) -> dict:
    kw = {"VersionId": version} if version else {}
    return s3.get_object_retention(Bucket=b, Key=key, **kw)["Retention"]


def test_put_object_lock_settings_read_back_by_head_and_get(s3):
    b = lock_bucket(s3)
    until = future(hours=6)
    v = put(s3, b, "held", b"one", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until,
            ObjectLockLegalHoldStatus="ON")
    head = s3.head_object(Bucket=b, Key="held")
    assert head["VersionId"] == v
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"] == until
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    got = s3.get_object(Bucket=b, Key="held", VersionId=v)
    assert got["Body"].read() == b"one"
    assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"], got["ObjectLockLegalHoldStatus"]) == (
        "GOVERNANCE", until, "ON")
    assert retention_of(s3, b, "held") == {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    assert s3.get_object_legal_hold(Bucket=b, Key="held")["LegalHold"] == {"Status": "ON"}

    until_c = future(hours=2)
    vc = put(s3, b, "strict", b"two", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until_c)
    head = s3.head_object(Bucket=b, Key="strict", VersionId=vc)
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until_c)
    assert retention_of(s3, b, "strict", vc) == {"Mode": "COMPLIANCE", "RetainUntilDate": until_c}

    # A hold put as OFF locks nothing: the version deletes without any bypass.
    vo = put(s3, b, "released", b"three", ObjectLockLegalHoldStatus="OFF")
    assert "ObjectLockMode" not in s3.head_object(Bucket=b, Key="released")
    assert status(s3.delete_object(Bucket=b, Key="released", VersionId=vo)) == 204
    assert_version_gone(s3, b, "released", vo)


def test_put_object_lock_headers_are_validated(s3):
    b = lock_bucket(s3)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE")
    assert err(e) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockRetainUntilDate=future(hours=1))
    assert err(e) == ("InvalidArgument", 400)
    for mode in ("GOVERNANCE", "COMPLIANCE"):
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockMode=mode,
                          ObjectLockRetainUntilDate=datetime.now(timezone.utc) - timedelta(days=1))
        assert err(e) == ("InvalidArgument", 400)
        assert message(e) == PAST_DATE_MESSAGE
    # Nothing refused was stored.
    assert "Versions" not in s3.list_object_versions(Bucket=b, Prefix="k")


def test_object_lock_calls_on_a_bucket_without_object_lock(s3):
    b = plain_bucket(s3)
    for kw in ({"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": future(hours=1)},
               {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": future(hours=1)},
               {"ObjectLockLegalHoldStatus": "ON"}):
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=b, Key="locked", Body=b"x", **kw)
        assert err(e) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=b, Key="locked")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    s3.put_object(Bucket=b, Key="k", Body=b"x")
    for call in (
        lambda: s3.put_object_retention(Bucket=b, Key="k",
                                        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": future(hours=1)}),
        lambda: s3.get_object_retention(Bucket=b, Key="k"),
        lambda: s3.put_object_legal_hold(Bucket=b, Key="k", LegalHold={"Status": "ON"}),
        lambda: s3.get_object_legal_hold(Bucket=b, Key="k"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert err(e) == ("InvalidRequest", 400)
        assert message(e) == MISSING_BUCKET_LOCK_MESSAGE
    # The plain object is still an ordinary object.
    assert status(s3.delete_object(Bucket=b, Key="k")) == 204


def test_default_retention_applies_to_versions_written_after_it(s3):
    b = lock_bucket(s3)
    v_before = put(s3, b, "before", b"old")
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})

    v_after = put(s3, b, "after", b"new")
    head = s3.head_object(Bucket=b, Key="after")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    expected = head["LastModified"] + timedelta(days=1)
    assert abs(head["ObjectLockRetainUntilDate"] - expected) < timedelta(hours=1)
    r = retention_of(s3, b, "after")
    assert r["Mode"] == "GOVERNANCE" and r["RetainUntilDate"] == head["ObjectLockRetainUntilDate"]
    assert_delete_refused(s3, b, "after", v_after)

    # The version written before the rule carries no retention and deletes freely.
    head = s3.head_object(Bucket=b, Key="before")
    assert not any(f in head for f in LOCK_FIELDS)
    with pytest.raises(ClientError) as e:
        s3.get_object_retention(Bucket=b, Key="before")
    assert err(e) == ("NoSuchObjectLockConfiguration", 404)

    # Retention named on the upload wins over the default.
    until = future(hours=3)
    v_own = put(s3, b, "own", b"mine", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    assert retention_of(s3, b, "own", v_own) == {"Mode": "COMPLIANCE", "RetainUntilDate": until}
    assert_delete_refused(s3, b, "own", v_own, BypassGovernanceRetention=True)

    assert status(s3.delete_object(Bucket=b, Key="before", VersionId=v_before)) == 204
    assert status(s3.delete_object(Bucket=b, Key="after", VersionId=v_after, BypassGovernanceRetention=True)) == 204
    assert_version_gone(s3, b, "after", v_after)


def test_retention_and_legal_hold_are_set_per_version(s3):
    b = lock_bucket(s3)
    v1 = put(s3, b, "doc", b"v1")
    v2 = put(s3, b, "doc", b"v2")
    head = s3.head_object(Bucket=b, Key="doc")
    assert not any(f in head for f in LOCK_FIELDS)
    for call in (lambda: s3.get_object_retention(Bucket=b, Key="doc"),
                 lambda: s3.get_object_legal_hold(Bucket=b, Key="doc", VersionId=v1)):
        with pytest.raises(ClientError) as e:
            call()
        assert err(e) == ("NoSuchObjectLockConfiguration", 404)
        assert message(e) == NO_LOCK_CONFIG_MESSAGE

    until = future(hours=4)
    resp = s3.put_object_retention(Bucket=b, Key="doc", VersionId=v1,
                                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    assert status(resp) == 200
    assert retention_of(s3, b, "doc", v1) == {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    head = s3.head_object(Bucket=b, Key="doc", VersionId=v1)
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("GOVERNANCE", until)
    # The latest version (v2) got nothing.
    with pytest.raises(ClientError) as e:
        s3.get_object_retention(Bucket=b, Key="doc")
    assert err(e) == ("NoSuchObjectLockConfiguration", 404)
    assert "ObjectLockMode" not in s3.head_object(Bucket=b, Key="doc")

    assert status(s3.put_object_legal_hold(Bucket=b, Key="doc", VersionId=v2, LegalHold={"Status": "ON"})) == 200
    assert s3.get_object_legal_hold(Bucket=b, Key="doc", VersionId=v2)["LegalHold"] == {"Status": "ON"}
    assert s3.get_object_legal_hold(Bucket=b, Key="doc")["LegalHold"] == {"Status": "ON"}
    assert s3.head_object(Bucket=b, Key="doc")["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(ClientError) as e:
        s3.get_object_legal_hold(Bucket=b, Key="doc", VersionId=v1)
    assert err(e) == ("NoSuchObjectLockConfiguration", 404)

    # Without a VersionId the calls act on the latest version.
    until2 = future(hours=5)
    s3.put_object_retention(Bucket=b, Key="doc", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until2})
    assert retention_of(s3, b, "doc", v2) == {"Mode": "COMPLIANCE", "RetainUntilDate": until2}
    assert retention_of(s3, b, "doc", v1) == {"Mode": "GOVERNANCE", "RetainUntilDate": until}

    for call in (
        lambda: s3.put_object_retention(Bucket=b, Key="missing",
                                        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}),
        lambda: s3.put_object_legal_hold(Bucket=b, Key="missing", LegalHold={"Status": "ON"}),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert err(e) == ("NoSuchKey", 404)


def test_governance_version_is_deleted_only_with_bypass(s3):
    b = lock_bucket(s3)
    v = put(s3, b, "gov", b"keep", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=future(hours=1))
    assert_delete_refused(s3, b, "gov", v)
    assert_delete_refused(s3, b, "gov", v, BypassGovernanceRetention=False)
    assert body_of(s3, b, "gov", v) == b"keep"

    resp = s3.delete_object(Bucket=b, Key="gov", VersionId=v, BypassGovernanceRetention=True)
    assert status(resp) == 204
    assert resp["VersionId"] == v
    assert_version_gone(s3, b, "gov", v)


def test_compliance_version_is_not_deleted_even_with_bypass(s3):
    b = lock_bucket(s3)
    until = future(hours=1)
    v = put(s3, b, "comp", b"keep", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    assert_delete_refused(s3, b, "comp", v)
    assert_delete_refused(s3, b, "comp", v, BypassGovernanceRetention=True)
    got = s3.get_object(Bucket=b, Key="comp", VersionId=v)
    assert got["Body"].read() == b"keep"
    assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until)
    assert [x["VersionId"] for x in s3.list_object_versions(Bucket=b, Prefix="comp")["Versions"]] == [v]


def test_legal_hold_blocks_version_delete_until_released(s3):
    b = lock_bucket(s3)
    v = put(s3, b, "held", b"evidence")
    s3.put_object_legal_hold(Bucket=b, Key="held", VersionId=v, LegalHold={"Status": "ON"})
    assert_delete_refused(s3, b, "held", v)
    assert_delete_refused(s3, b, "held", v, BypassGovernanceRetention=True)
    assert body_of(s3, b, "held", v) == b"evidence"

    assert status(s3.put_object_legal_hold(Bucket=b, Key="held", VersionId=v, LegalHold={"Status": "OFF"})) == 200
    assert s3.get_object_legal_hold(Bucket=b, Key="held", VersionId=v)["LegalHold"] == {"Status": "OFF"}
    assert s3.head_object(Bucket=b, Key="held", VersionId=v)["ObjectLockLegalHoldStatus"] == "OFF"
    resp = s3.delete_object(Bucket=b, Key="held", VersionId=v)
    assert status(resp) == 204
    assert_version_gone(s3, b, "held", v)

    # A hold on top of GOVERNANCE retention: the bypass lifts the retention, not the hold.
    v2 = put(s3, b, "both", b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=future(hours=1),
             ObjectLockLegalHoldStatus="ON")
    assert_delete_refused(s3, b, "both", v2, BypassGovernanceRetention=True)
    s3.put_object_legal_hold(Bucket=b, Key="both", VersionId=v2, LegalHold={"Status": "OFF"})
    assert_delete_refused(s3, b, "both", v2)
    assert status(s3.delete_object(Bucket=b, Key="both", VersionId=v2, BypassGovernanceRetention=True)) == 204
    assert_version_gone(s3, b, "both", v2)


def test_delete_without_version_only_adds_a_marker_over_locked_versions(s3):
    b = lock_bucket(s3)
    v = put(s3, b, "doc", b"locked", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=future(hours=1))
    resp = s3.delete_object(Bucket=b, Key="doc")
    assert status(resp) == 204
    assert resp["DeleteMarker"] is True
    marker = resp["VersionId"]
    assert marker != v
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="doc")
    assert err(e) == ("NoSuchKey", 404)
    assert body_of(s3, b, "doc", v) == b"locked"
    listing = s3.list_object_versions(Bucket=b, Prefix="doc")
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [(marker, True)]
    assert [(x["VersionId"], x["IsLatest"]) for x in listing["Versions"]] == [(v, False)]

    # Delete markers carry no lock: removing the marker brings the locked version back.
    resp = s3.delete_object(Bucket=b, Key="doc", VersionId=marker)
    assert status(resp) == 204
    assert resp["DeleteMarker"] is True and resp["VersionId"] == marker
    assert body_of(s3, b, "doc") == b"locked"


def test_delete_objects_refuses_locked_versions_entry_by_entry(s3):
    b = lock_bucket(s3)
    vg = put(s3, b, "gov", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=future(hours=1))
    vc = put(s3, b, "comp", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=future(hours=1))
    vh = put(s3, b, "held", ObjectLockLegalHoldStatus="ON")
    vf = put(s3, b, "free")

    resp = s3.delete_objects(Bucket=b, Delete={"Objects": [
        {"Key": "gov", "VersionId": vg}, {"Key": "comp", "VersionId": vc},
        {"Key": "held", "VersionId": vh}, {"Key": "free", "VersionId": vf}]})
    assert status(resp) == 200
    assert [(d["Key"], d.get("VersionId")) for d in resp.get("Deleted", [])] == [("free", vf)]
    assert sorted((x["Key"], x.get("VersionId"), x["Code"]) for x in resp["Errors"]) == [
        ("comp", vc, "AccessDenied"), ("gov", vg, "AccessDenied"), ("held", vh, "AccessDenied")]
    assert_version_gone(s3, b, "free", vf)

    # An entry without a VersionId is a delete marker, allowed whatever the lock.
    resp = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "comp"}]})
    assert "Errors" not in resp or resp["Errors"] == []
    [deleted] = resp["Deleted"]
    assert deleted["Key"] == "comp" and deleted["DeleteMarker"] is True and deleted["DeleteMarkerVersionId"]

    resp = s3.delete_objects(Bucket=b, BypassGovernanceRetention=True, Delete={"Objects": [
        {"Key": "gov", "VersionId": vg}, {"Key": "comp", "VersionId": vc}, {"Key": "held", "VersionId": vh}]})
    assert [(d["Key"], d.get("VersionId")) for d in resp.get("Deleted", [])] == [("gov", vg)]
    assert sorted((x["Key"], x.get("VersionId"), x["Code"]) for x in resp["Errors"]) == [
        ("comp", vc, "AccessDenied"), ("held", vh, "AccessDenied")]
    left = s3.list_object_versions(Bucket=b)
    assert sorted((x["Key"], x["VersionId"]) for x in left["Versions"]) == [("comp", vc), ("held", vh)]
    assert body_of(s3, b, "comp", vc) == b"data" and body_of(s3, b, "held", vh) == b"data"


def test_compliance_retention_can_only_be_extended(s3):
    b = lock_bucket(s3)
    until = future(hours=2)
    v = put(s3, b, "comp", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    for retention, kw in [
        ({"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(hours=1)}, {}),
        ({"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(hours=1)}, {"BypassGovernanceRetention": True}),
        ({"Mode": "GOVERNANCE", "RetainUntilDate": until}, {}),
        ({"Mode": "GOVERNANCE", "RetainUntilDate": until + timedelta(hours=1)}, {"BypassGovernanceRetention": True}),
    ]:
        with pytest.raises(ClientError) as e:
            s3.put_object_retention(Bucket=b, Key="comp", VersionId=v, Retention=retention, **kw)
        assert err(e) == ("AccessDenied", 403), (retention, kw)
        assert retention_of(s3, b, "comp", v) == {"Mode": "COMPLIANCE", "RetainUntilDate": until}

    longer = until + timedelta(days=1)
    resp = s3.put_object_retention(Bucket=b, Key="comp", VersionId=v,
                                   Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer})
    assert status(resp) == 200
    assert retention_of(s3, b, "comp", v) == {"Mode": "COMPLIANCE", "RetainUntilDate": longer}
    head = s3.head_object(Bucket=b, Key="comp", VersionId=v)
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", longer)
    assert_delete_refused(s3, b, "comp", v, BypassGovernanceRetention=True)


def test_governance_retention_is_shortened_only_with_bypass(s3):
    b = lock_bucket(s3)
    until = future(hours=2)
    v = put(s3, b, "gov", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)

    longer = until + timedelta(hours=3)
    assert status(s3.put_object_retention(Bucket=b, Key="gov", VersionId=v,
                                          Retention={"Mode": "GOVERNANCE", "RetainUntilDate": longer})) == 200
    assert retention_of(s3, b, "gov", v) == {"Mode": "GOVERNANCE", "RetainUntilDate": longer}

    shorter = future(minutes=30)
    for kw in ({}, {"BypassGovernanceRetention": False}):
        with pytest.raises(ClientError) as e:
            s3.put_object_retention(Bucket=b, Key="gov", VersionId=v,
                                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": shorter}, **kw)
        assert err(e) == ("AccessDenied", 403)
        assert retention_of(s3, b, "gov", v) == {"Mode": "GOVERNANCE", "RetainUntilDate": longer}

    resp = s3.put_object_retention(Bucket=b, Key="gov", VersionId=v, BypassGovernanceRetention=True,
                                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": shorter})
    assert status(resp) == 200
    assert retention_of(s3, b, "gov", v) == {"Mode": "GOVERNANCE", "RetainUntilDate": shorter}
    assert s3.head_object(Bucket=b, Key="gov", VersionId=v)["ObjectLockRetainUntilDate"] == shorter
    assert_delete_refused(s3, b, "gov", v)


def test_overwriting_a_locked_key_adds_a_version_and_keeps_the_locked_one(s3):
    b = lock_bucket(s3)
    until = future(hours=1)
    v1 = put(s3, b, "doc", b"first", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    v2 = put(s3, b, "doc", b"second")
    assert v2 != v1

    latest = s3.get_object(Bucket=b, Key="doc")
    assert latest["VersionId"] == v2 and latest["Body"].read() == b"second"
    assert not any(f in latest for f in LOCK_FIELDS)
    old = s3.get_object(Bucket=b, Key="doc", VersionId=v1)
    assert old["Body"].read() == b"first"
    assert (old["ObjectLockMode"], old["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until)
    listing = s3.list_object_versions(Bucket=b, Prefix="doc")["Versions"]
    assert [(x["VersionId"], x["IsLatest"]) for x in listing] == [(v2, True), (v1, False)]

    # The new, unlocked version deletes; the locked one stays and is current again.
    assert status(s3.delete_object(Bucket=b, Key="doc", VersionId=v2)) == 204
    assert_delete_refused(s3, b, "doc", v1, BypassGovernanceRetention=True)
    assert body_of(s3, b, "doc") == b"first"


def test_multipart_upload_takes_its_lock_settings_to_the_object(s3):
    # Object Lock headers of CreateMultipartUpload apply to the completed object.
    b = lock_bucket(s3)
    until = future(hours=3)
    up = s3.create_multipart_upload(Bucket=b, Key="mp", ObjectLockMode="GOVERNANCE",
                                    ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")
    part = s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"locked parts")
    done = s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    head = s3.head_object(Bucket=b, Key="mp")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"], head["ObjectLockLegalHoldStatus"]) == \
        ("GOVERNANCE", until, "ON")
    assert_delete_refused(s3, b, "mp", done["VersionId"], BypassGovernanceRetention=True)
    # Lock headers on a bucket without Object Lock are refused before any part is sent.
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(Bucket=plain_bucket(s3), Key="mp", ObjectLockMode="GOVERNANCE",
                                   ObjectLockRetainUntilDate=until)
    assert err(e)[1] == 400

"""S3 bucket configurations that infrastructure tools read on every refresh (Terraform's
aws_s3_bucket reads ACL, CORS, website, versioning, logging, lifecycle, replication,
encryption, Object Lock, acceleration and request payment): AWS's defaults and "not found"
errors on a new bucket, and each configuration put and read back with its validation."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, unique

pytestmark = pytest.mark.stratus_only


@pytest.fixture(scope="module")
def s3(target):
    return boto3.client("s3", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")


def code(e) -> str:
    return e.value.response["Error"]["Code"]


def new_bucket(s3, **kw) -> str:
    name = unique("cfg").lower()
    s3.create_bucket(Bucket=name, **kw)
    return name


def test_a_terraform_refresh_of_a_new_bucket(s3):
    b = new_bucket(s3)
    acl = s3.get_bucket_acl(Bucket=b)
    owner = acl["Owner"]["ID"]
    assert len(owner) == 64
    assert acl["Grants"] == [{"Grantee": {"ID": owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}]
    enc = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"} and enc["BucketKeyEnabled"] is False
    assert s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_request_payment(Bucket=b)["Payer"] == "BucketOwner"
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=b)
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=b)
    assert "Status" not in s3.get_bucket_versioning(Bucket=b)
    for call, expected in [
        (lambda: s3.get_bucket_cors(Bucket=b), "NoSuchCORSConfiguration"),
        (lambda: s3.get_bucket_website(Bucket=b), "NoSuchWebsiteConfiguration"),
        (lambda: s3.get_bucket_lifecycle_configuration(Bucket=b), "NoSuchLifecycleConfiguration"),
        (lambda: s3.get_bucket_replication(Bucket=b), "ReplicationConfigurationNotFoundError"),
        (lambda: s3.get_object_lock_configuration(Bucket=b), "ObjectLockConfigurationNotFoundError"),
        (lambda: s3.get_bucket_tagging(Bucket=b), "NoSuchTagSet"),
        (lambda: s3.get_bucket_policy(Bucket=b), "NoSuchBucketPolicy"),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == expected
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.get_bucket_acl(Bucket="no-such-bucket-" + b[-8:])
    assert code(e) == "NoSuchBucket"


def test_encryption_website_logging_lifecycle_round_trips(s3):
    b = new_bucket(s3)
    logs = new_bucket(s3)
    s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/my-key"},
         "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/my-key"}
    assert rule["BucketKeyEnabled"] is True
    s3.delete_bucket_encryption(Bucket=b)
    assert s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    s3.put_bucket_website(Bucket=b, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"},
        "RoutingRules": [{"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}}]})
    w = s3.get_bucket_website(Bucket=b)
    assert w["IndexDocument"] == {"Suffix": "index.html"} and w["ErrorDocument"] == {"Key": "error.html"}
    assert w["RoutingRules"][0]["Redirect"] == {"ReplaceKeyPrefixWith": "documents/"}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_website(Bucket=b, WebsiteConfiguration={"ErrorDocument": {"Key": "e.html"}})
    assert code(e) == "InvalidArgument"
    s3.delete_bucket_website(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_website(Bucket=b)
    assert code(e) == "NoSuchWebsiteConfiguration"

    s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": logs, "TargetPrefix": "b/"}})
    assert s3.get_bucket_logging(Bucket=b)["LoggingEnabled"] == {"TargetBucket": logs, "TargetPrefix": "b/"}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": "no-such-" + logs[-10:], "TargetPrefix": ""}})
    assert code(e) == "InvalidTargetBucketForLogging"
    s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=b)

    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        {"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}},
        {"ID": "abort", "Status": "Disabled", "Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]})
    rules = s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
    assert [r["ID"] for r in rules] == ["expire-tmp", "abort"]
    assert rules[0]["Expiration"] == {"Days": 7} and rules[0]["Filter"] == {"Prefix": "tmp/"}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "same", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}},
            {"ID": "same", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 2}}]})
    assert code(e) == "InvalidArgument"
    s3.delete_bucket_lifecycle(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=b)
    assert code(e) == "NoSuchLifecycleConfiguration"


def test_replication_object_lock_acceleration_payment(s3):
    b, dest = new_bucket(s3), new_bucket(s3)
    replication = {"Role": "arn:aws:iam::000000000000:role/replication", "Rules": [
        {"ID": "all", "Status": "Enabled", "Priority": 1, "Filter": {}, "DeleteMarkerReplication": {"Status": "Disabled"},
         "Destination": {"Bucket": f"arn:aws:s3:::{dest}"}}]}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_replication(Bucket=b, ReplicationConfiguration=replication)
    assert code(e) == "InvalidRequest"
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=b, ReplicationConfiguration=replication)
    got = s3.get_bucket_replication(Bucket=b)["ReplicationConfiguration"]
    assert got["Role"] == replication["Role"] and got["Rules"][0]["Destination"]["Bucket"] == f"arn:aws:s3:::{dest}"
    s3.delete_bucket_replication(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_replication(Bucket=b)
    assert code(e) == "ReplicationConfigurationNotFoundError"

    locked = new_bucket(s3, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled"}
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]["Rule"] == {
        "DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    plain = new_bucket(s3)
    with pytest.raises(ClientError) as e:
        s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert code(e) == "InvalidBucketState"

    s3.put_bucket_accelerate_configuration(Bucket=b, AccelerateConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_accelerate_configuration(Bucket=b)["Status"] == "Enabled"
    dotted = unique("cfg.dots").lower()
    s3.create_bucket(Bucket=dotted)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_accelerate_configuration(Bucket=dotted, AccelerateConfiguration={"Status": "Enabled"})
    assert code(e) == "InvalidRequest"
    s3.put_bucket_request_payment(Bucket=b, RequestPaymentConfiguration={"Payer": "Requester"})
    assert s3.get_bucket_request_payment(Bucket=b)["Payer"] == "Requester"


def test_acls_follow_object_ownership(s3):
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    # BucketOwnerEnforced (the default): ACLs that grant others are refused, private is fine.
    with pytest.raises(ClientError) as e:
        s3.put_bucket_acl(Bucket=b, ACL="public-read")
    assert code(e) == "AccessControlListNotSupported"
    with pytest.raises(ClientError) as e:
        s3.put_object_acl(Bucket=b, Key="k", ACL="public-read")
    assert code(e) == "AccessControlListNotSupported"
    s3.put_bucket_acl(Bucket=b, ACL="private")
    owner = s3.get_object_acl(Bucket=b, Key="k")["Owner"]["ID"]
    assert s3.get_object_acl(Bucket=b, Key="k")["Grants"][0]["Permission"] == "FULL_CONTROL"
    with pytest.raises(ClientError) as e:
        s3.get_object_acl(Bucket=b, Key="missing")
    assert code(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=unique("cfg").lower(), ACL="public-read")
    assert code(e) == "InvalidBucketAclWithObjectOwnership"

    s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    assert s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "ObjectWriter"}]
    s3.put_bucket_acl(Bucket=b, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=b)["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in grants
    s3.put_object_acl(Bucket=b, Key="k", AccessControlPolicy={
        "Owner": {"ID": owner},
        "Grants": [{"Grantee": {"ID": owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"},
                   {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
                    "Permission": "READ"}]})
    assert len(s3.get_object_acl(Bucket=b, Key="k")["Grants"]) == 2
    s3.delete_bucket_ownership_controls(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_ownership_controls(Bucket=b)
    assert code(e) == "OwnershipControlsNotFoundError"
    made = unique("cfg").lower()
    s3.create_bucket(Bucket=made, ObjectOwnership="BucketOwnerPreferred", ACL="public-read")
    assert s3.get_bucket_ownership_controls(Bucket=made)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerPreferred"}]
    assert len(s3.get_bucket_acl(Bucket=made)["Grants"]) == 2


def test_inventory_analytics_metrics_and_tiering_configurations(s3):
    from botocore.exceptions import ClientError

    b = unique("reports").lower()
    s3.create_bucket(Bucket=b)
    inventory = {"Id": "weekly", "IsEnabled": True, "IncludedObjectVersions": "Current",
                 "Destination": {"S3BucketDestination": {"Bucket": f"arn:aws:s3:::{b}", "Format": "CSV",
                                                         "Prefix": "inv"}},
                 "Schedule": {"Frequency": "Weekly"}, "OptionalFields": ["Size", "ETag"]}
    s3.put_bucket_inventory_configuration(Bucket=b, Id="weekly", InventoryConfiguration=inventory)
    got = s3.get_bucket_inventory_configuration(Bucket=b, Id="weekly")["InventoryConfiguration"]
    assert got["Destination"]["S3BucketDestination"]["Prefix"] == "inv" and got["OptionalFields"] == ["Size", "ETag"]
    listed = s3.list_bucket_inventory_configurations(Bucket=b)
    assert [c["Id"] for c in listed["InventoryConfigurationList"]] == ["weekly"] and listed["IsTruncated"] is False
    with pytest.raises(ClientError) as e:  # the id in the query and in the body must agree
        s3.put_bucket_inventory_configuration(Bucket=b, Id="other", InventoryConfiguration=inventory)
    assert e.value.response["Error"]["Code"] == "InvalidArgument"

    for n in range(3):
        s3.put_bucket_metrics_configuration(Bucket=b, Id=f"m{n}", MetricsConfiguration={
            "Id": f"m{n}", "Filter": {"Prefix": f"p{n}/"}})
    assert s3.get_bucket_metrics_configuration(Bucket=b, Id="m1")["MetricsConfiguration"]["Filter"]["Prefix"] == "p1/"
    assert [c["Id"] for c in s3.list_bucket_metrics_configurations(Bucket=b)["MetricsConfigurationList"]] == \
        ["m0", "m1", "m2"]
    s3.delete_bucket_metrics_configuration(Bucket=b, Id="m1")
    with pytest.raises(ClientError) as e:
        s3.get_bucket_metrics_configuration(Bucket=b, Id="m1")
    assert e.value.response["Error"]["Code"] == "NoSuchConfiguration"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.delete_bucket_metrics_configuration(Bucket=b, Id="m1")
    assert e.value.response["Error"]["Code"] == "NoSuchConfiguration"

    s3.put_bucket_analytics_configuration(Bucket=b, Id="a", AnalyticsConfiguration={
        "Id": "a", "StorageClassAnalysis": {}})
    assert s3.get_bucket_analytics_configuration(Bucket=b, Id="a")["AnalyticsConfiguration"]["Id"] == "a"
    s3.put_bucket_intelligent_tiering_configuration(Bucket=b, Id="t", IntelligentTieringConfiguration={
        "Id": "t", "Status": "Enabled", "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]})
    tiering = s3.get_bucket_intelligent_tiering_configuration(Bucket=b, Id="t")["IntelligentTieringConfiguration"]
    assert tiering["Tierings"] == [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]
    assert [c["Id"] for c in s3.list_bucket_intelligent_tiering_configurations(Bucket=b)[
        "IntelligentTieringConfigurationList"]] == ["t"]
    s3.delete_bucket_intelligent_tiering_configuration(Bucket=b, Id="t")
    assert "IntelligentTieringConfigurationList" not in s3.list_bucket_intelligent_tiering_configurations(Bucket=b)


def test_replication_copies_new_versions_between_buckets(s3):
    import time

    src, dst, plain = (unique(n).lower() for n in ("repl-src", "repl-dst", "repl-plain"))
    for b in (src, dst, plain):
        s3.create_bucket(Bucket=b)
    for b in (src, dst):
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=src, ReplicationConfiguration={
        "Role": "arn:aws:iam::000000000000:role/replication",
        "Rules": [{"ID": "docs", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "docs/"},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{dst}", "StorageClass": "STANDARD_IA"}}]})
    put = s3.put_object(Bucket=src, Key="docs/a.txt", Body=b"replicate me", Metadata={"k": "v"})
    s3.put_object(Bucket=src, Key="other/b.txt", Body=b"stays")

    deadline = time.time() + 10
    while s3.head_object(Bucket=src, Key="docs/a.txt").get("ReplicationStatus") != "COMPLETED":
        assert time.time() < deadline, s3.head_object(Bucket=src, Key="docs/a.txt")
        time.sleep(0.1)
    replica = s3.head_object(Bucket=dst, Key="docs/a.txt")
    assert replica["ReplicationStatus"] == "REPLICA" and replica["VersionId"] == put["VersionId"]
    assert replica["Metadata"] == {"k": "v"} and replica["StorageClass"] == "STANDARD_IA"
    assert replica["ETag"] == put["ETag"]
    assert s3.get_object(Bucket=dst, Key="docs/a.txt")["Body"].read() == b"replicate me"
    assert "ReplicationStatus" not in s3.head_object(Bucket=src, Key="other/b.txt")
    assert "Contents" not in s3.list_objects_v2(Bucket=dst, Prefix="other/")

    # A destination that is not versioned fails the replication.
    s3.put_bucket_replication(Bucket=src, ReplicationConfiguration={
        "Role": "arn:aws:iam::000000000000:role/replication",
        "Rules": [{"ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{plain}"}}]})
    s3.put_object(Bucket=src, Key="x.txt", Body=b"x")
    deadline = time.time() + 10
    while s3.head_object(Bucket=src, Key="x.txt").get("ReplicationStatus") != "FAILED":
        assert time.time() < deadline, s3.head_object(Bucket=src, Key="x.txt")
        time.sleep(0.1)


def test_replication_of_delete_markers_follows_the_rule(s3):
    import time

    src, dst = unique("dm-src").lower(), unique("dm-dst").lower()
    for b in (src, dst):
        s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=src, ReplicationConfiguration={
        "Role": "arn:aws:iam::000000000000:role/replication",
        "Rules": [{"ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Enabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{dst}"}}]})
    s3.put_object(Bucket=src, Key="k", Body=b"v")
    marker = s3.delete_object(Bucket=src, Key="k")["VersionId"]
    deadline = time.time() + 10
    while True:
        markers = s3.list_object_versions(Bucket=dst).get("DeleteMarkers", [])
        if [m["VersionId"] for m in markers] == [marker]:
            break
        assert time.time() < deadline, s3.list_object_versions(Bucket=dst)
        time.sleep(0.1)
    assert markers[0]["IsLatest"] is True
    versions = s3.list_object_versions(Bucket=dst)["Versions"]
    assert len(versions) == 1 and versions[0]["IsLatest"] is False


def test_acls_on_writes(s3):
    # ACL headers of PutObject, CopyObject and CreateMultipartUpload are applied, or refused
    # where the bucket's ownership disables ACLs — never ignored.
    b = new_bucket(s3)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="public-read")
    assert code(e) == "AccessControlListNotSupported"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=b, Key="k")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404  # nothing was written
    s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="bucket-owner-full-control")  # allowed when enforced

    s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    all_users = {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}
    s3.put_object(Bucket=b, Key="public", Body=b"x", ACL="public-read")
    assert {"Grantee": all_users, "Permission": "READ"} in s3.get_object_acl(Bucket=b, Key="public")["Grants"]
    s3.copy_object(Bucket=b, Key="copied", CopySource={"Bucket": b, "Key": "k"}, ACL="public-read")
    assert {"Grantee": all_users, "Permission": "READ"} in s3.get_object_acl(Bucket=b, Key="copied")["Grants"]
    owner = s3.get_object_acl(Bucket=b, Key="k")["Owner"]["ID"]
    s3.put_object(Bucket=b, Key="granted", Body=b"x", GrantRead=f'uri="{all_users["URI"]}"',
                  GrantFullControl=f'id="{owner}"')
    grants = s3.get_object_acl(Bucket=b, Key="granted")["Grants"]
    assert {"Grantee": all_users, "Permission": "READ"} in grants
    assert {"Grantee": {"ID": owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"} in grants
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=b, Key="both", Body=b"x", ACL="private", GrantRead=f'id="{owner}"')
    assert code(e) == "InvalidRequest"
    up = s3.create_multipart_upload(Bucket=b, Key="mp", ACL="public-read")
    p = s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"part")
    s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    assert {"Grantee": all_users, "Permission": "READ"} in s3.get_object_acl(Bucket=b, Key="mp")["Grants"]

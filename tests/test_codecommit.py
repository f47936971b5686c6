"""CodeCommit through the real binary: the repository, branch and content APIs with boto3's
`codecommit` client, the real `git` CLI cloning, pushing and pulling over smart HTTP at
`cloneUrlHttp` (with ids that agree between git and the API), and repository triggers
delivered to a Lambda function and to an SNS topic, across a `kill -9` too."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, unique, wait_until
from test_lambda import create, zip_of

pytestmark = pytest.mark.stratus_only

ACCOUNT = "000000000000"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SHA1 = re.compile(r"^[0-9a-f]{40}$")
GIT_DATE = re.compile(r"^\d+ [+-]\d{4}$")

# Sends every event it gets to the queue in $QUEUE.
RECORDER = zip_of({"app.py": """
import json, os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["QUEUE"], MessageBody=json.dumps(event))
"""})

# The seed's case: on a push, publish the pushed commit's index.html to an S3 bucket.
PUBLISHER = zip_of({"app.py": """
import os
import boto3
from botocore.config import Config

codecommit = boto3.client("codecommit")
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))

def handler(event, context):
    for record in event["Records"]:
        repo = record["eventSourceARN"].split(":")[5]
        for ref in record["codecommit"]["references"]:
            f = codecommit.get_file(repositoryName=repo, commitSpecifier=ref["commit"], filePath="index.html")
            s3.put_object(Bucket=os.environ["BUCKET"], Key="index.html", Body=f["fileContent"],
                          ContentType="text/html", Metadata={"commit": ref["commit"]})
"""})


# ----------------------------------------------------------------------------- clients and helpers

def make_clients(endpoint: str, port: int):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    s = boto3.session.Session()
    return SimpleNamespace(
        codecommit=s.client("codecommit", config=client_config(), **kw),
        lam=s.client("lambda", config=client_config(read_timeout=60), **kw),
        sqs=s.client("sqs", config=client_config(), **kw),
        sns=s.client("sns", config=client_config(), **kw),
        s3=s.client("s3", config=client_config(s3={"addressing_style": "path"}), **kw),
        endpoint=endpoint,
        port=port,
    )


@pytest.fixture(scope="module")
def cc(target):
    return make_clients(target.endpoint, target.port)


def code(e) -> str:
    return e.value.response["Error"]["Code"]


def blob_id(data: bytes) -> str:
    """git's object id of a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def new_repo(cc, prefix="repo", **kw) -> dict:
    return cc.codecommit.create_repository(repositoryName=unique(prefix), **kw)["repositoryMetadata"]


def merge_base(cc, repo: str, source: str, destination: str) -> str:
    """The merge base of two commits, as GetMergeCommit answers it (`baseCommitId`)."""
    r = cc.codecommit.get_merge_commit(repositoryName=repo, sourceCommitSpecifier=source,
                                       destinationCommitSpecifier=destination)
    assert len(r["sourceCommitId"]) == 40 and len(r["destinationCommitId"]) == 40
    return r["baseCommitId"]


def branch_tip(cc, repo: str, branch: str) -> str:
    return cc.codecommit.get_branch(repositoryName=repo, branchName=branch)["branch"]["commitId"]


def branches(cc, repo: str) -> list[str]:
    return sorted(cc.codecommit.list_branches(repositoryName=repo)["branches"])


# git sees neither the user's nor the system's configuration (credential helpers, url rewrites,
# autocrlf), never prompts, speaks English, and goes to the server directly.
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
GIT_ENV = {k: v for k, v in os.environ.items()
           if k.lower() not in _PROXY_VARS and not k.startswith("GIT_") and k != "SSH_ASKPASS"}
GIT_ENV.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "LC_ALL": "C", "LANG": "C", "NO_PROXY": "*", "no_proxy": "*"})


class GitError(Exception):
    def __init__(self, args, returncode: int, stdout: str, stderr: str):
        super().__init__(f"git {' '.join(args)} exited {returncode}\n--- stderr ---\n{stderr.strip()[:3000]}")
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def git(*args: str, cwd=None, check: bool = True, timeout: float = 60):
    """Runs the git CLI: its stdout, or GitError (with stderr) on a non-zero exit. With
    check=False, the CompletedProcess whatever the exit code."""
    p = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, timeout=timeout)
    if not check:
        return p
    if p.returncode != 0:
        raise GitError(args, p.returncode, p.stdout, p.stderr)
    return p.stdout


def clone(url: str, dest: Path, branch: str | None = None) -> Path:
    """A clone with a committer identity; `branch` names the unborn branch of an empty clone."""
    git("clone", "-q", url, str(dest))
    git("config", "user.name", "Grace Hopper", cwd=dest)
    git("config", "user.email", "grace@example.com", cwd=dest)
    if branch:
        git("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=dest)
    return dest


def commit(work: Path, files: dict[str, str | bytes], message: str) -> str:
    """Writes the files, commits everything, and returns the new HEAD."""
    for path, content in files.items():
        p = work / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    return rev(work)


def rev(work: Path, spec: str = "HEAD") -> str:
    return git("rev-parse", spec, cwd=work).strip()


def subscribed_queue(cc, topic_arn: str) -> str:
    """A new queue subscribed to the topic (SNS envelope, raw delivery off)."""
    url = cc.sqs.create_queue(QueueName=unique("cc-sns"))["QueueUrl"]
    arn = cc.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    cc.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def recorder(cc, repo_arn: str) -> tuple[str, str]:
    """(function ARN, queue URL): a function that records its events in the queue, and lets
    CodeCommit invoke it for this repository."""
    q = cc.sqs.create_queue(QueueName=unique("cc-events"))["QueueUrl"]
    name, r = create(cc.lam, RECORDER, Timeout=30, Environment={"Variables": {"QUEUE": q}})
    cc.lam.add_permission(FunctionName=name, StatementId="codecommit", Action="lambda:InvokeFunction",
                          Principal="codecommit.amazonaws.com", SourceArn=repo_arn)
    return r["FunctionArn"], q


def trigger_records(bodies: list[dict]) -> list[dict]:
    """The ReferenceChanges records in the queue's message bodies: events as the recorder function
    got them ({"Records": [...]}), or SNS envelopes whose Message carries them."""
    out = []
    for body in bodies:
        if body.get("Type") == "Notification":
            body = json.loads(body["Message"])
        recs = body["Records"] if "Records" in body else [body]
        out += [r for r in recs if r.get("eventName") == "ReferenceChanges"]
    return out


def references(bodies: list[dict]) -> list[tuple[dict, dict]]:
    return [(rec, ref) for rec in trigger_records(bodies) for ref in rec["codecommit"]["references"]]


def saw_commit(sha: str):
    return lambda bodies: any(ref["commit"] == sha for _, ref in references(bodies))


def receive_bodies(sqs, url: str, until, timeout: float = 30.0, quiet: float = 0.0) -> list[dict]:
    """Parsed message bodies from the queue until `until(bodies)` holds (AssertionError after
    `timeout` seconds), then whatever else arrives within `quiet` seconds."""
    bodies: list[dict] = []

    def drain():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    deadline = time.monotonic() + timeout
    while not until(bodies):
        if time.monotonic() > deadline:
            raise AssertionError(f"expected deliveries not seen within {timeout}s; got {bodies}")
        drain()
    end = time.monotonic() + quiet
    while time.monotonic() < end:
        drain()
    return bodies


# ----------------------------------------------------------------------------- repositories

def test_create_and_get_repository(cc):
    name = unique("repo")
    meta = cc.codecommit.create_repository(repositoryName=name, repositoryDescription="the web site",
                                           tags={"team": "web"})["repositoryMetadata"]
    arn = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{name}"
    assert meta["accountId"] == ACCOUNT
    assert UUID.match(meta["repositoryId"]), meta["repositoryId"]
    assert meta["repositoryName"] == name
    assert meta["repositoryDescription"] == "the web site"
    assert meta["Arn"] == arn
    assert meta["cloneUrlHttp"] == f"http://git-codecommit.{REGION}.localhost:{cc.port}/v1/repos/{name}"
    assert meta["cloneUrlSsh"].startswith("ssh://") and meta["cloneUrlSsh"].endswith(f"/v1/repos/{name}")
    assert isinstance(meta["creationDate"], datetime) and isinstance(meta["lastModifiedDate"], datetime)
    assert "defaultBranch" not in meta  # none until something is committed

    got = cc.codecommit.get_repository(repositoryName=name)["repositoryMetadata"]
    for key in ("accountId", "repositoryId", "repositoryName", "repositoryDescription", "Arn",
                "cloneUrlHttp", "cloneUrlSsh"):
        assert got[key] == meta[key], key
    assert "defaultBranch" not in got
    assert cc.codecommit.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "web"}

    with pytest.raises(ClientError) as e:
        cc.codecommit.create_repository(repositoryName=name)
    assert code(e) == "RepositoryNameExistsException"
    with pytest.raises(ClientError) as e:
        cc.codecommit.create_repository(repositoryName="bad name!")
    assert code(e) == "InvalidRepositoryNameException"
    with pytest.raises(ClientError) as e:
        cc.codecommit.get_repository(repositoryName=unique("missing"))
    assert code(e) == "RepositoryDoesNotExistException"


def test_list_and_batch_get_repositories(cc):
    suffix = unique("r")
    ids = {}
    for prefix in ("c", "a", "b"):  # created out of order
        name = f"{prefix}-{suffix}"
        ids[name] = cc.codecommit.create_repository(repositoryName=name)["repositoryMetadata"]["repositoryId"]
    listed = cc.codecommit.list_repositories(sortBy="repositoryName", order="ascending")["repositories"]
    ours = [r for r in listed if r["repositoryName"].endswith(suffix)]
    assert [r["repositoryName"] for r in ours] == [f"a-{suffix}", f"b-{suffix}", f"c-{suffix}"]
    assert all(r["repositoryId"] == ids[r["repositoryName"]] for r in ours)

    missing = unique("missing")
    got = cc.codecommit.batch_get_repositories(repositoryNames=[f"b-{suffix}", missing, f"a-{suffix}"])
    assert sorted(r["repositoryName"] for r in got["repositories"]) == [f"a-{suffix}", f"b-{suffix}"]
    assert all(r["repositoryId"] == ids[r["repositoryName"]] for r in got["repositories"])
    assert got["repositoriesNotFound"] == [missing]


def test_update_rename_tag_and_delete_repository(cc):
    meta = new_repo(cc, repositoryDescription="old")
    name, arn, repo_id = meta["repositoryName"], meta["Arn"], meta["repositoryId"]
    cc.codecommit.update_repository_description(repositoryName=name, repositoryDescription="new words")
    assert cc.codecommit.get_repository(repositoryName=name)["repositoryMetadata"]["repositoryDescription"] == "new words"

    cc.codecommit.tag_resource(resourceArn=arn, tags={"env": "dev", "team": "api"})
    assert cc.codecommit.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev", "team": "api"}
    cc.codecommit.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert cc.codecommit.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev"}

    renamed = unique("renamed")
    cc.codecommit.update_repository_name(oldName=name, newName=renamed)
    with pytest.raises(ClientError) as e:
        cc.codecommit.get_repository(repositoryName=name)
    assert code(e) == "RepositoryDoesNotExistException"
    got = cc.codecommit.get_repository(repositoryName=renamed)["repositoryMetadata"]
    assert got["repositoryId"] == repo_id
    assert got["repositoryDescription"] == "new words"
    assert got["Arn"] == f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{renamed}"
    assert got["cloneUrlHttp"] == f"http://git-codecommit.{REGION}.localhost:{cc.port}/v1/repos/{renamed}"

    assert cc.codecommit.delete_repository(repositoryName=renamed)["repositoryId"] == repo_id
    with pytest.raises(ClientError) as e:
        cc.codecommit.get_repository(repositoryName=renamed)
    assert code(e) == "RepositoryDoesNotExistException"
    assert renamed not in [r["repositoryName"] for r in cc.codecommit.list_repositories()["repositories"]]


# ----------------------------------------------------------------------------- content through the API

def test_put_file_get_file_folder_blob_and_commit(cc):
    repo = new_repo(cc)["repositoryName"]
    c = cc.codecommit
    readme = b"# Hello\n"
    first = c.put_file(repositoryName=repo, branchName="main", fileContent=readme, filePath="README.md",
                       commitMessage="add readme", name="Ada Lovelace", email="ada@example.com")
    assert SHA1.match(first["commitId"]) and SHA1.match(first["treeId"])
    assert first["blobId"] == blob_id(readme)
    assert branches(cc, repo) == ["main"]
    assert branch_tip(cc, repo, "main") == first["commitId"]
    assert c.get_repository(repositoryName=repo)["repositoryMetadata"]["defaultBranch"] == "main"

    with pytest.raises(ClientError) as e:
        c.put_file(repositoryName=repo, branchName="main", fileContent=b"x", filePath="x.txt")
    assert code(e) == "ParentCommitIdRequiredException"
    with pytest.raises(ClientError) as e:
        c.put_file(repositoryName=repo, branchName="main", fileContent=readme, filePath="README.md",
                   parentCommitId=first["commitId"])
    assert code(e) == "SameFileContentException"

    script = b"#!/bin/sh\necho hi\n"
    second = c.put_file(repositoryName=repo, branchName="main", fileContent=script, filePath="bin/run.sh",
                        fileMode="EXECUTABLE", parentCommitId=first["commitId"], commitMessage="add script",
                        name="Ada Lovelace", email="ada@example.com")
    assert second["blobId"] == blob_id(script)
    assert branch_tip(cc, repo, "main") == second["commitId"]
    with pytest.raises(ClientError) as e:  # the tip moved on
        c.put_file(repositoryName=repo, branchName="main", fileContent=b"late", filePath="late.txt",
                   parentCommitId=first["commitId"])
    assert code(e) == "ParentCommitIdOutdatedException"

    f = c.get_file(repositoryName=repo, filePath="bin/run.sh", commitSpecifier="main")
    assert f["commitId"] == second["commitId"]
    assert f["blobId"] == blob_id(script)
    assert f["filePath"] == "bin/run.sh"
    assert f["fileMode"] == "EXECUTABLE"
    assert f["fileSize"] == len(script)
    assert f["fileContent"] == script
    f = c.get_file(repositoryName=repo, filePath="README.md")  # default branch
    assert (f["fileContent"], f["fileMode"], f["commitId"]) == (readme, "NORMAL", second["commitId"])
    with pytest.raises(ClientError) as e:  # not there yet in the first commit
        c.get_file(repositoryName=repo, filePath="bin/run.sh", commitSpecifier=first["commitId"])
    assert code(e) == "FileDoesNotExistException"
    with pytest.raises(ClientError) as e:
        c.get_file(repositoryName=repo, filePath="nope.txt")
    assert code(e) == "FileDoesNotExistException"

    root = c.get_folder(repositoryName=repo, folderPath="/", commitSpecifier=second["commitId"])
    assert root["commitId"] == second["commitId"]
    assert root["treeId"] == second["treeId"]
    assert [(x["absolutePath"], x["relativePath"], x["blobId"], x["fileMode"]) for x in root["files"]] == [
        ("README.md", "README.md", blob_id(readme), "NORMAL")]
    assert [(x["absolutePath"], x["relativePath"]) for x in root["subFolders"]] == [("bin", "bin")]
    assert root["symbolicLinks"] == [] and root["subModules"] == []
    sub = c.get_folder(repositoryName=repo, folderPath="bin")
    assert sub["folderPath"] == "bin"
    assert sub["treeId"] == root["subFolders"][0]["treeId"]
    assert [(x["absolutePath"], x["relativePath"], x["blobId"], x["fileMode"]) for x in sub["files"]] == [
        ("bin/run.sh", "run.sh", blob_id(script), "EXECUTABLE")]

    assert c.get_blob(repositoryName=repo, blobId=blob_id(script))["content"] == script

    got = c.get_commit(repositoryName=repo, commitId=second["commitId"])["commit"]
    assert got["commitId"] == second["commitId"]
    assert got["treeId"] == second["treeId"]
    assert got["parents"] == [first["commitId"]]
    assert got["message"].strip() == "add script"
    assert (got["author"]["name"], got["author"]["email"]) == ("Ada Lovelace", "ada@example.com")
    assert GIT_DATE.match(got["author"]["date"]), got["author"]["date"]
    assert GIT_DATE.match(got["committer"]["date"]), got["committer"]["date"]
    assert c.get_commit(repositoryName=repo, commitId=first["commitId"])["commit"]["parents"] == []


def test_create_commit_and_get_differences(cc):
    repo = new_repo(cc)["repositoryName"]
    c = cc.codecommit
    c1 = c.put_file(repositoryName=repo, branchName="main", fileContent=b"v1\n", filePath="README.md")["commitId"]
    c2 = c.put_file(repositoryName=repo, branchName="main", fileContent=b"old\n", filePath="old.txt",
                    parentCommitId=c1)["commitId"]
    c3 = c.put_file(repositoryName=repo, branchName="main", fileContent=b"echo tool\n", filePath="tool.sh",
                    parentCommitId=c2)["commitId"]

    r = c.create_commit(repositoryName=repo, branchName="main", parentCommitId=c3,
                        authorName="Linus", email="linus@example.com", commitMessage="many changes",
                        putFiles=[{"filePath": "docs/a.txt", "fileContent": b"aaa\n"},
                                  {"filePath": "README.md", "fileContent": b"v2\n", "fileMode": "NORMAL"}],
                        deleteFiles=[{"filePath": "old.txt"}],
                        setFileModes=[{"filePath": "tool.sh", "fileMode": "EXECUTABLE"}])
    c4 = r["commitId"]
    assert SHA1.match(c4) and SHA1.match(r["treeId"])
    assert [(x["absolutePath"], x["blobId"], x["fileMode"]) for x in r["filesAdded"]] == [
        ("docs/a.txt", blob_id(b"aaa\n"), "NORMAL")]
    updated = {x["absolutePath"]: x for x in r["filesUpdated"]}
    assert updated["README.md"]["blobId"] == blob_id(b"v2\n")
    assert [x["absolutePath"] for x in r["filesDeleted"]] == ["old.txt"]
    assert branch_tip(cc, repo, "main") == c4

    got = c.get_commit(repositoryName=repo, commitId=c4)["commit"]
    assert got["parents"] == [c3] and got["treeId"] == r["treeId"]
    assert got["message"].strip() == "many changes"
    assert (got["author"]["name"], got["author"]["email"]) == ("Linus", "linus@example.com")
    assert c.get_file(repositoryName=repo, filePath="tool.sh")["fileMode"] == "EXECUTABLE"
    assert c.get_file(repositoryName=repo, filePath="README.md")["fileContent"] == b"v2\n"
    with pytest.raises(ClientError) as e:
        c.get_file(repositoryName=repo, filePath="old.txt")
    assert code(e) == "FileDoesNotExistException"

    diffs = c.get_differences(repositoryName=repo, beforeCommitSpecifier=c3, afterCommitSpecifier=c4)["differences"]
    by_path = {(d.get("afterBlob") or d.get("beforeBlob"))["path"]: d for d in diffs}
    assert sorted(by_path) == ["README.md", "docs/a.txt", "old.txt", "tool.sh"]
    added = by_path["docs/a.txt"]
    assert added["changeType"] == "A" and "beforeBlob" not in added
    assert added["afterBlob"] == {"blobId": blob_id(b"aaa\n"), "path": "docs/a.txt", "mode": "100644"}
    modified = by_path["README.md"]
    assert modified["changeType"] == "M"
    assert modified["beforeBlob"]["blobId"] == blob_id(b"v1\n")
    assert modified["afterBlob"]["blobId"] == blob_id(b"v2\n")
    deleted = by_path["old.txt"]
    assert deleted["changeType"] == "D" and "afterBlob" not in deleted
    assert deleted["beforeBlob"] == {"blobId": blob_id(b"old\n"), "path": "old.txt", "mode": "100644"}
    mode = by_path["tool.sh"]
    assert mode["changeType"] == "M"
    assert (mode["beforeBlob"]["mode"], mode["afterBlob"]["mode"]) == ("100644", "100755")
    assert mode["beforeBlob"]["blobId"] == mode["afterBlob"]["blobId"] == blob_id(b"echo tool\n")

    # Without a before commit: everything in the after commit is added.
    first = c.get_differences(repositoryName=repo, afterCommitSpecifier=c1)["differences"]
    assert [(d["changeType"], d["afterBlob"]["path"], d["afterBlob"]["blobId"]) for d in first] == [
        ("A", "README.md", blob_id(b"v1\n"))]


def test_branches_default_branch_and_merge_base(cc):
    repo = new_repo(cc)["repositoryName"]
    c = cc.codecommit
    c1 = c.put_file(repositoryName=repo, branchName="main", fileContent=b"1", filePath="f.txt")["commitId"]
    c2 = c.put_file(repositoryName=repo, branchName="main", fileContent=b"2", filePath="f.txt",
                    parentCommitId=c1)["commitId"]

    c.create_branch(repositoryName=repo, branchName="dev", commitId=c1)
    assert c.get_branch(repositoryName=repo, branchName="dev")["branch"] == {"branchName": "dev", "commitId": c1}
    assert branches(cc, repo) == ["dev", "main"]
    with pytest.raises(ClientError) as e:
        c.create_branch(repositoryName=repo, branchName="dev", commitId=c2)
    assert code(e) == "BranchNameExistsException"
    assert branch_tip(cc, repo, "dev") == c1
    with pytest.raises(ClientError) as e:
        c.get_branch(repositoryName=repo, branchName="nope")
    assert code(e) == "BranchDoesNotExistException"
    # DeleteBranch does not raise for a branch that is not there (its model lists no such
    # error): nothing was deleted.
    assert "deletedBranch" not in c.delete_branch(repositoryName=repo, branchName="nope")

    # A commit on dev diverges from main: their merge base is c1.
    d1 = c.put_file(repositoryName=repo, branchName="dev", fileContent=b"dev", filePath="dev.txt",
                    parentCommitId=c1)["commitId"]
    assert branch_tip(cc, repo, "dev") == d1 and branch_tip(cc, repo, "main") == c2
    assert merge_base(cc, repo, "dev", "main") == c1
    assert merge_base(cc, repo, d1, c2) == c1
    assert merge_base(cc, repo, c2, c1) == c1  # an ancestor is its own merge base

    c.update_default_branch(repositoryName=repo, defaultBranchName="dev")
    assert c.get_repository(repositoryName=repo)["repositoryMetadata"]["defaultBranch"] == "dev"
    assert c.get_file(repositoryName=repo, filePath="dev.txt")["commitId"] == d1  # the default branch
    with pytest.raises(ClientError) as e:
        c.delete_branch(repositoryName=repo, branchName="dev")
    assert code(e) == "DefaultBranchCannotBeDeletedException"
    c.update_default_branch(repositoryName=repo, defaultBranchName="main")
    deleted = c.delete_branch(repositoryName=repo, branchName="dev")["deletedBranch"]
    assert deleted == {"branchName": "dev", "commitId": d1}
    assert branches(cc, repo) == ["main"]


# ----------------------------------------------------------------------------- git over HTTP

def test_git_clone_push_and_read_through_the_api(cc, tmp_path):
    meta = new_repo(cc)
    repo, url = meta["repositoryName"], meta["cloneUrlHttp"]
    work = clone(url, tmp_path / "a", branch="trunk")  # an empty repository
    html = "<h1>hello from git</h1>\n"
    (work / "bin").mkdir()
    (work / "bin" / "build.sh").write_text("#!/bin/sh\nexit 0\n")
    (work / "bin" / "build.sh").chmod(0o755)
    os.symlink("index.html", work / "link.html")
    sha = commit(work, {"index.html": html}, "first page")
    git("push", "-q", "origin", "trunk", cwd=work)

    assert branches(cc, repo) == ["trunk"]
    assert branch_tip(cc, repo, "trunk") == sha
    assert cc.codecommit.get_repository(repositoryName=repo)["repositoryMetadata"]["defaultBranch"] == "trunk"
    assert git("ls-remote", "--symref", url, "HEAD").splitlines() == ["ref: refs/heads/trunk\tHEAD", f"{sha}\tHEAD"]

    f = cc.codecommit.get_file(repositoryName=repo, filePath="index.html")
    assert f["commitId"] == sha
    assert f["fileContent"] == html.encode()
    assert f["blobId"] == git("hash-object", "index.html", cwd=work).strip() == blob_id(html.encode())
    assert cc.codecommit.get_file(repositoryName=repo, filePath="bin/build.sh")["fileMode"] == "EXECUTABLE"
    root = cc.codecommit.get_folder(repositoryName=repo, folderPath="/")
    assert root["treeId"] == rev(work, "HEAD^{tree}")
    assert [x["absolutePath"] for x in root["files"]] == ["index.html"]
    assert [(x["absolutePath"], x["treeId"]) for x in root["subFolders"]] == [("bin", rev(work, "HEAD:bin"))]
    assert [(x["absolutePath"], x["blobId"], x["fileMode"]) for x in root["symbolicLinks"]] == [
        ("link.html", blob_id(b"index.html"), "SYMLINK")]

    got = cc.codecommit.get_commit(repositoryName=repo, commitId=sha)["commit"]
    assert got["treeId"] == rev(work, "HEAD^{tree}")
    assert got["parents"] == []
    assert got["message"].strip() == "first page"
    assert (got["author"]["name"], got["author"]["email"]) == ("Grace Hopper", "grace@example.com")
    assert GIT_DATE.match(got["author"]["date"]), got["author"]["date"]
    assert got["author"]["date"] == git("log", "-1", "--format=%ad", "--date=raw", cwd=work).strip()

    # A fresh clone checks out the default branch with the pushed files.
    other = clone(url, tmp_path / "b")
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=other).strip() == "trunk"
    assert rev(other) == sha
    assert (other / "index.html").read_text() == html
    assert os.readlink(other / "link.html") == "index.html"


def test_api_commits_are_pulled_by_git(cc, tmp_path):
    meta = new_repo(cc)
    repo = meta["repositoryName"]
    work = clone(meta["cloneUrlHttp"], tmp_path / "w", branch="main")
    base = commit(work, {"a.txt": "a\n", "gone.txt": "bye\n"}, "base")
    git("push", "-q", "origin", "main", cwd=work)

    put = cc.codecommit.put_file(repositoryName=repo, branchName="main", fileContent=b"from the api\n",
                                 filePath="api/put.txt", parentCommitId=base, commitMessage="put from api",
                                 name="Api User", email="api@example.com")
    git("pull", "-q", "--ff-only", "origin", "main", cwd=work)
    assert rev(work) == put["commitId"]
    assert rev(work, "HEAD^{tree}") == put["treeId"]
    assert (work / "api" / "put.txt").read_bytes() == b"from the api\n"
    assert git("hash-object", "api/put.txt", cwd=work).strip() == put["blobId"]
    assert git("log", "-1", "--format=%an <%ae>|%P|%s", cwd=work).strip() == \
        f"Api User <api@example.com>|{base}|put from api"

    made = cc.codecommit.create_commit(repositoryName=repo, branchName="main", parentCommitId=put["commitId"],
                                       authorName="Api User", email="api@example.com", commitMessage="batch",
                                       putFiles=[{"filePath": "a.txt", "fileContent": b"A\n"}],
                                       deleteFiles=[{"filePath": "gone.txt"}])
    git("pull", "-q", "--ff-only", "origin", "main", cwd=work)
    assert rev(work) == made["commitId"]
    assert rev(work, "HEAD^{tree}") == made["treeId"]
    assert (work / "a.txt").read_text() == "A\n"
    assert not (work / "gone.txt").exists()

    # And back: a commit pushed on top of the API's commits.
    pushed = commit(work, {"a.txt": "again\n"}, "on top")
    git("push", "-q", "origin", "main", cwd=work)
    assert branch_tip(cc, repo, "main") == pushed
    assert cc.codecommit.get_commit(repositoryName=repo, commitId=pushed)["commit"]["parents"] == [made["commitId"]]


def test_non_fast_forward_is_rejected_and_force_push_wins(cc, tmp_path):
    meta = new_repo(cc)
    repo, url = meta["repositoryName"], meta["cloneUrlHttp"]
    a = clone(url, tmp_path / "a", branch="main")
    commit(a, {"f.txt": "base\n"}, "base")
    git("push", "-q", "origin", "main", cwd=a)
    b = clone(url, tmp_path / "b")

    ahead = commit(a, {"f.txt": "from a\n"}, "a's change")
    git("push", "-q", "origin", "main", cwd=a)
    diverged = commit(b, {"f.txt": "from b\n"}, "b's change")
    with pytest.raises(GitError) as e:
        git("push", "origin", "main", cwd=b)
    assert "rejected" in e.value.stderr or "non-fast-forward" in e.value.stderr, e.value.stderr
    assert branch_tip(cc, repo, "main") == ahead
    assert cc.codecommit.get_file(repositoryName=repo, filePath="f.txt")["fileContent"] == b"from a\n"

    git("push", "-q", "--force", "origin", "main", cwd=b)
    assert branch_tip(cc, repo, "main") == diverged
    assert cc.codecommit.get_file(repositoryName=repo, filePath="f.txt")["fileContent"] == b"from b\n"
    assert git("ls-remote", url, "refs/heads/main").split() == [diverged, "refs/heads/main"]


def test_pushing_and_deleting_branches_with_git(cc, tmp_path):
    meta = new_repo(cc)
    repo, url = meta["repositoryName"], meta["cloneUrlHttp"]
    work = clone(url, tmp_path / "w", branch="main")
    main = commit(work, {"f.txt": "main\n"}, "on main")
    git("push", "-q", "origin", "main", cwd=work)

    git("checkout", "-q", "-b", "feature", cwd=work)
    feature = commit(work, {"g.txt": "feature\n"}, "on feature")
    git("push", "-q", "origin", "feature", cwd=work)
    assert branches(cc, repo) == ["feature", "main"]
    assert branch_tip(cc, repo, "feature") == feature
    # The first branch pushed stays the default.
    assert cc.codecommit.get_repository(repositoryName=repo)["repositoryMetadata"]["defaultBranch"] == "main"
    assert merge_base(cc, repo, "feature", "main") == main

    git("push", "-q", "origin", "--delete", "feature", cwd=work)
    assert branches(cc, repo) == ["main"]
    with pytest.raises(ClientError) as e:
        cc.codecommit.get_branch(repositoryName=repo, branchName="feature")
    assert code(e) == "BranchDoesNotExistException"
    assert "refs/heads/feature" not in git("ls-remote", url)
    # A branch created through the API is fetched by git.
    cc.codecommit.create_branch(repositoryName=repo, branchName="from-api", commitId=feature)
    git("fetch", "-q", "origin", cwd=work)
    assert rev(work, "origin/from-api") == feature


# ----------------------------------------------------------------------------- triggers

def test_repository_triggers_api(cc):
    meta = new_repo(cc)
    repo = meta["repositoryName"]
    fn, _ = recorder(cc, meta["Arn"])
    topic = cc.sns.create_topic(Name=unique("cc-topic"))["TopicArn"]
    triggers = [
        {"name": "to-lambda", "destinationArn": fn, "customData": "build please", "branches": [], "events": ["all"]},
        {"name": "to-sns", "destinationArn": topic, "branches": ["main", "release"],
         "events": ["updateReference", "createReference", "deleteReference"]},
    ]
    config_id = cc.codecommit.put_repository_triggers(repositoryName=repo, triggers=triggers)["configurationId"]
    assert isinstance(config_id, str) and config_id

    def stored():
        got = cc.codecommit.get_repository_triggers(repositoryName=repo)
        return got["configurationId"], sorted(got["triggers"], key=lambda t: t["name"])

    got_id, got = stored()
    assert got_id == config_id
    assert [t["name"] for t in got] == ["to-lambda", "to-sns"]
    for sent, back in zip(triggers, got):
        for key, value in sent.items():
            assert back[key] == value, (key, back)

    too_many = [{"name": f"t{i}", "destinationArn": topic, "branches": [], "events": ["all"]} for i in range(11)]
    with pytest.raises(ClientError) as e:
        cc.codecommit.put_repository_triggers(repositoryName=repo, triggers=too_many)
    assert code(e) == "MaximumRepositoryTriggersExceededException"
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('not-a-destination')}"
    with pytest.raises(ClientError) as e:
        cc.codecommit.put_repository_triggers(repositoryName=repo, triggers=[
            {"name": "to-sqs", "destinationArn": queue_arn, "branches": [], "events": ["all"]}])
    assert code(e) == "InvalidRepositoryTriggerDestinationArnException"
    # The failed calls stored nothing.
    got_id, got = stored()
    assert got_id == config_id and [t["name"] for t in got] == ["to-lambda", "to-sns"]

    tested = cc.codecommit.test_repository_triggers(repositoryName=repo, triggers=triggers)
    assert sorted(tested["successfulExecutions"]) == ["to-lambda", "to-sns"]
    assert tested["failedExecutions"] == []


def test_push_invokes_a_lambda_trigger_with_the_codecommit_event(cc, tmp_path):
    meta = new_repo(cc)
    repo, arn = meta["repositoryName"], meta["Arn"]
    fn, q = recorder(cc, arn)
    config_id = cc.codecommit.put_repository_triggers(repositoryName=repo, triggers=[
        {"name": "record-it", "destinationArn": fn, "customData": "hello data", "branches": [],
         "events": ["all"]}])["configurationId"]

    work = clone(meta["cloneUrlHttp"], tmp_path / "w", branch="main")
    first = commit(work, {"index.html": "one\n"}, "one")
    git("push", "-q", "origin", "main", cwd=work)
    bodies = receive_bodies(cc.sqs, q, saw_commit(first))
    [(rec, ref)] = [(rec, ref) for rec, ref in references(bodies) if ref["commit"] == first]
    assert ref == {"commit": first, "ref": "refs/heads/main", "created": True}
    assert rec["awsRegion"] == REGION
    assert rec["eventName"] == "ReferenceChanges"
    assert rec["eventPartNumber"] == 1 and rec["eventTotalParts"] == 1
    assert rec["eventSource"] == "aws:codecommit"
    assert rec["eventSourceARN"] == arn
    assert rec["eventTriggerConfigId"] == config_id
    assert rec["eventTriggerName"] == "record-it"
    assert rec["eventVersion"] == "1.0"
    assert rec["customData"] == "hello data"
    assert isinstance(rec["eventId"], str) and rec["eventId"]
    assert isinstance(rec["eventTime"], str) and rec["eventTime"]
    assert isinstance(rec["userIdentityARN"], str) and rec["userIdentityARN"].startswith("arn:aws:")

    second = commit(work, {"index.html": "two\n"}, "two")
    git("push", "-q", "origin", "main", cwd=work)
    bodies = receive_bodies(cc.sqs, q, saw_commit(second))
    [(rec2, ref2)] = [(rec, ref) for rec, ref in references(bodies) if ref["commit"] == second]
    assert ref2 == {"commit": second, "ref": "refs/heads/main"}  # an update: no "created"
    assert rec2["eventTriggerName"] == "record-it" and rec2["eventSourceARN"] == arn
    assert rec2["eventId"] != rec["eventId"]


def test_sns_trigger_with_a_branch_filter(cc, tmp_path):
    meta = new_repo(cc)
    repo, arn = meta["repositoryName"], meta["Arn"]
    topic = cc.sns.create_topic(Name=unique("cc-topic"))["TopicArn"]
    q = subscribed_queue(cc, topic)
    config_id = cc.codecommit.put_repository_triggers(repositoryName=repo, triggers=[
        {"name": "main-only", "destinationArn": topic, "branches": ["main"], "events": ["all"]}])["configurationId"]

    work = clone(meta["cloneUrlHttp"], tmp_path / "w", branch="main")
    first = commit(work, {"a.txt": "1\n"}, "1")
    git("push", "-q", "origin", "main", cwd=work)
    bodies = receive_bodies(cc.sqs, q, saw_commit(first))
    assert all(b["Type"] == "Notification" and b["TopicArn"] == topic for b in bodies), bodies
    [(rec, ref)] = references(bodies)
    assert ref == {"commit": first, "ref": "refs/heads/main", "created": True}
    assert rec["eventSourceARN"] == arn
    assert rec["eventTriggerName"] == "main-only" and rec["eventTriggerConfigId"] == config_id

    # A push to another branch is not delivered; the next push to main is.
    git("checkout", "-q", "-b", "other", cwd=work)
    other = commit(work, {"b.txt": "other\n"}, "other")
    git("push", "-q", "origin", "other", cwd=work)
    git("checkout", "-q", "main", cwd=work)
    second = commit(work, {"a.txt": "2\n"}, "2")
    git("push", "-q", "origin", "main", cwd=work)
    bodies = receive_bodies(cc.sqs, q, saw_commit(second), quiet=2)
    assert [(ref["ref"], ref["commit"]) for _, ref in references(bodies)] == [("refs/heads/main", second)]
    assert other not in json.dumps(bodies)


def test_push_publishes_index_html_to_s3_through_a_function(cc, tmp_path):
    meta = new_repo(cc, prefix="site")
    repo, arn = meta["repositoryName"], meta["Arn"]
    bucket = unique("site-bucket")
    cc.s3.create_bucket(Bucket=bucket)
    name, fn = create(cc.lam, PUBLISHER, Timeout=30, Environment={"Variables": {"BUCKET": bucket}})
    cc.lam.add_permission(FunctionName=name, StatementId="codecommit", Action="lambda:InvokeFunction",
                          Principal="codecommit.amazonaws.com", SourceArn=arn)
    cc.codecommit.put_repository_triggers(repositoryName=repo, triggers=[
        {"name": "publish", "destinationArn": fn["FunctionArn"], "branches": ["main"],
         "events": ["createReference", "updateReference"]}])

    def published(sha):
        def check():
            try:
                obj = cc.s3.get_object(Bucket=bucket, Key="index.html")
            except ClientError as e:
                if e.response["Error"]["Code"] in ("NoSuchKey", "404"):
                    return None
                raise
            return obj if obj["Metadata"].get("commit") == sha else None
        return wait_until(check, timeout=30, interval=0.2, message=f"index.html of {sha} in s3://{bucket}")

    work = clone(meta["cloneUrlHttp"], tmp_path / "site", branch="main")
    v1 = "<html><body>version one</body></html>\n"
    sha1 = commit(work, {"index.html": v1, "style.css": "body {}\n"}, "site v1")
    git("push", "-q", "origin", "main", cwd=work)
    obj = published(sha1)
    assert obj["Body"].read() == v1.encode()
    assert obj["ContentType"] == "text/html"

    v2 = "<html><body>version two</body></html>\n"
    sha2 = commit(work, {"index.html": v2}, "site v2")
    git("push", "-q", "origin", "main", cwd=work)
    assert published(sha2)["Body"].read() == v2.encode()


def test_trigger_delivery_survives_kill9_right_after_push(server_factory, tmp_path):
    srv = server_factory()
    c = make_clients(srv.endpoint, srv.port)
    meta = c.codecommit.create_repository(repositoryName=unique("crash"))["repositoryMetadata"]
    repo = meta["repositoryName"]
    topic = c.sns.create_topic(Name=unique("cc-crash"))["TopicArn"]
    q = subscribed_queue(c, topic)
    c.codecommit.put_repository_triggers(repositoryName=repo, triggers=[
        {"name": "durable", "destinationArn": topic, "branches": [], "events": ["all"]}])

    work = clone(meta["cloneUrlHttp"], tmp_path / "w", branch="main")
    sha = commit(work, {"index.html": "survive\n"}, "before the crash")
    git("push", "-q", "origin", "main", cwd=work)
    srv.kill()  # as soon as the push was acknowledged
    srv.start(timeout=10)
    c = make_clients(srv.endpoint, srv.port)

    assert branch_tip(c, repo, "main") == sha  # the acknowledged push is durable
    bodies = receive_bodies(c.sqs, q, saw_commit(sha), timeout=30)
    # At least once: a delivery cut off by the kill may be repeated after the restart.
    got = [(rec, ref) for rec, ref in references(bodies) if ref["commit"] == sha]
    rec, ref = got[0]
    assert ref["ref"] == "refs/heads/main"
    assert rec["eventTriggerName"] == "durable" and rec["eventSourceARN"] == meta["Arn"]
    assert git("ls-remote", meta["cloneUrlHttp"], "refs/heads/main").split() == [sha, "refs/heads/main"]


# ----------------------------------------------------------------------------- git sign-in under IAM

ROOT = ("AKIDGITROOT000000001", "git-root-secret", "123456789012")


@pytest.fixture
def enforced(tmp_path):
    """A server in enforce mode with one root credential; the root's IAM and CodeCommit clients
    and a repository with one commit on main."""
    import tempfile

    from sqs_helpers import ServerProcess

    cfg = tmp_path / "stratus.toml"
    cfg.write_text("\n".join(["[[credentials]]", f'access_key_id = "{ROOT[0]}"', f'secret_access_key = "{ROOT[1]}"',
                              f'account = "{ROOT[2]}"', ""]))
    srv = ServerProcess(in_memory=True, log_dir=tempfile.mkdtemp(prefix="stratus-git-iam-"),
                        extra_args=["--auth", "enforce", "--config", str(cfg)])
    srv.start()
    try:
        kw = dict(endpoint_url=srv.endpoint, region_name=REGION, aws_access_key_id=ROOT[0],
                  aws_secret_access_key=ROOT[1])
        iam, cc = boto3.client("iam", **kw), boto3.client("codecommit", **kw)
        repo = cc.create_repository(repositoryName=unique("locked"))["repositoryMetadata"]
        cc.put_file(repositoryName=repo["repositoryName"], branchName="main", fileContent=b"hello\n",
                    filePath="README.md")
        yield SimpleNamespace(iam=iam, cc=cc, repo=repo)
    finally:
        srv.kill()


def test_git_needs_a_service_specific_credential_and_iam_decides_pull_and_push(tmp_path, enforced):
    import urllib.parse

    iam, cc, repo = enforced.iam, enforced.cc, enforced.repo
    user = iam.create_user(UserName=unique("dev"))["User"]["UserName"]
    cred = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    cred = cred["ServiceSpecificCredential"]
    url = repo["cloneUrlHttp"]
    assert url.startswith("http://git-codecommit.")

    # No credentials: git is asked for them (401) and, unable to prompt, gives up.
    p = git("clone", "-q", url, str(tmp_path / "anon"), check=False)
    assert p.returncode != 0 and "could not read Username" in p.stderr, p.stderr
    # A wrong password is refused the same way.
    scheme, rest = url.split("://", 1)
    bad = f"{scheme}://{urllib.parse.quote(cred['ServiceUserName'])}:wrong@{rest}"
    assert git("clone", "-q", bad, str(tmp_path / "bad"), check=False).returncode != 0
    good = (f"{scheme}://{urllib.parse.quote(cred['ServiceUserName'])}:"
            f"{urllib.parse.quote(cred['ServicePassword'], safe='')}@{rest}")
    # The user has no policy: IAM denies GitPull.
    p = git("clone", "-q", good, str(tmp_path / "denied"), check=False)
    assert p.returncode != 0 and "403" in p.stderr, p.stderr
    iam.put_user_policy(UserName=user, PolicyName="pull", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": repo["Arn"]}]}))
    work = tmp_path / "work"
    git("clone", "-q", good, str(work))
    assert (work / "README.md").read_text() == "hello\n"
    git("config", "user.name", "Dev", cwd=work)
    git("config", "user.email", "dev@example.com", cwd=work)
    (work / "new.txt").write_text("new\n")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "new", cwd=work)
    p = git("push", "-q", "origin", "main", cwd=work, check=False)
    assert p.returncode != 0 and "403" in p.stderr, "GitPush is not allowed yet"
    iam.put_user_policy(UserName=user, PolicyName="push", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "codecommit:GitPush", "Resource": repo["Arn"]}]}))
    git("push", "-q", "origin", "main", cwd=work)
    head = git("rev-parse", "HEAD", cwd=work).strip()
    assert cc.get_branch(repositoryName=repo["repositoryName"], branchName="main")["branch"]["commitId"] == head


# ----------------------------------------------------------------------------- merges and pull requests

CALLER_ARN = re.compile(rf"^arn:aws:(iam|sts)::{ACCOUNT}:")
ALL_MERGE_OPTIONS = ["FAST_FORWARD_MERGE", "SQUASH_MERGE", "THREE_WAY_MERGE"]


def put(cc, repo: str, branch: str, path: str, content: bytes, parent: str | None = None) -> str:
    """PutFile on the branch (after `parent`, when the branch has commits): the new commit's id."""
    kw = {"parentCommitId": parent} if parent else {}
    return cc.codecommit.put_file(repositoryName=repo, branchName=branch, fileContent=content, filePath=path,
                                  commitMessage=f"{path} on {branch}", **kw)["commitId"]


def file_at(cc, repo: str, spec: str, path: str) -> bytes:
    return cc.codecommit.get_file(repositoryName=repo, commitSpecifier=spec, filePath=path)["fileContent"]


def parents(cc, repo: str, commit_id: str) -> list[str]:
    return cc.codecommit.get_commit(repositoryName=repo, commitId=commit_id)["commit"]["parents"]


def forked(cc, *names: str, files: dict[str, bytes] | None = None) -> tuple[str, str]:
    """(repository, base commit): main holds `files` (a README by default) in its base commit, and
    each named branch starts at that commit."""
    repo = new_repo(cc, prefix="merge")["repositoryName"]
    base = None
    for path, content in (files or {"README.md": b"# merges\n"}).items():
        base = put(cc, repo, "main", path, content, parent=base)
    for name in names:
        cc.codecommit.create_branch(repositoryName=repo, branchName=name, commitId=base)
    return repo, base


def open_pull_request(cc, repo: str, source: str, title: str = "a change", **kw) -> dict:
    return cc.codecommit.create_pull_request(title=title, targets=[
        {"repositoryName": repo, "sourceReference": source, "destinationReference": "main"}], **kw)["pullRequest"]


def assert_merged(pr: dict, option: str) -> dict:
    """The merge metadata of a pull request merged with `option`."""
    assert pr["pullRequestStatus"] == "CLOSED"
    meta = pr["pullRequestTargets"][0]["mergeMetadata"]
    assert meta["isMerged"] is True
    assert meta["mergeOption"] == option
    assert CALLER_ARN.match(meta["mergedBy"]), meta["mergedBy"]
    assert SHA1.match(meta["mergeCommitId"]), meta["mergeCommitId"]
    return meta


def test_merge_options_and_fast_forward(cc):
    c = cc.codecommit
    repo, base = forked(cc, "feature", "release")
    f1 = put(cc, repo, "feature", "a.txt", b"a\n", parent=base)
    f2 = put(cc, repo, "feature", "b.txt", b"b\n", parent=f1)

    opts = c.get_merge_options(repositoryName=repo, sourceCommitSpecifier="feature", destinationCommitSpecifier="main")
    assert sorted(opts["mergeOptions"]) == ALL_MERGE_OPTIONS
    assert (opts["sourceCommitId"], opts["destinationCommitId"], opts["baseCommitId"]) == (f2, base, base)

    r = c.merge_branches_by_fast_forward(repositoryName=repo, sourceCommitSpecifier="feature",
                                         destinationCommitSpecifier="main")
    assert r["commitId"] == f2
    assert r["treeId"] == c.get_commit(repositoryName=repo, commitId=f2)["commit"]["treeId"]
    assert branch_tip(cc, repo, "main") == f2
    assert branch_tip(cc, repo, "feature") == f2
    assert file_at(cc, repo, "main", "b.txt") == b"b\n"

    # Commit ids for both sides, and the branch to move named by targetBranch.
    r = c.merge_branches_by_fast_forward(repositoryName=repo, sourceCommitSpecifier=f1,
                                         destinationCommitSpecifier=base, targetBranch="release")
    assert r["commitId"] == f1
    assert branch_tip(cc, repo, "release") == f1
    assert branch_tip(cc, repo, "main") == f2

    # release and main diverge from f1: no fast-forward either way.
    r2 = put(cc, repo, "release", "r.txt", b"r\n", parent=f1)
    m3 = put(cc, repo, "main", "m.txt", b"m\n", parent=f2)
    opts = c.get_merge_options(repositoryName=repo, sourceCommitSpecifier="release", destinationCommitSpecifier="main")
    assert sorted(opts["mergeOptions"]) == ["SQUASH_MERGE", "THREE_WAY_MERGE"]
    assert (opts["sourceCommitId"], opts["destinationCommitId"], opts["baseCommitId"]) == (r2, m3, f1)
    with pytest.raises(ClientError) as e:
        c.merge_branches_by_fast_forward(repositoryName=repo, sourceCommitSpecifier="release",
                                         destinationCommitSpecifier="main")
    assert code(e) == "ManualMergeRequiredException"
    assert branch_tip(cc, repo, "main") == m3
    assert branch_tip(cc, repo, "release") == r2


def test_squash_and_three_way_merges(cc):
    c = cc.codecommit
    notes = b"1\n2\n3\n4\n5\n6\n7\n"
    repo, base = forked(cc, "feature", "topic", files={"notes.txt": notes})
    f1 = put(cc, repo, "feature", "feature.txt", b"first try\n", parent=base)
    f2 = put(cc, repo, "feature", "feature.txt", b"second try\n", parent=f1)
    m1 = put(cc, repo, "main", "main.txt", b"main\n", parent=base)

    sq = c.merge_branches_by_squash(repositoryName=repo, sourceCommitSpecifier="feature",
                                    destinationCommitSpecifier="main", commitMessage="squash feature",
                                    authorName="Squash Author", email="squash@example.com")
    assert SHA1.match(sq["commitId"]) and sq["commitId"] not in (f1, f2, m1)
    assert branch_tip(cc, repo, "main") == sq["commitId"]
    assert branch_tip(cc, repo, "feature") == f2
    got = c.get_commit(repositoryName=repo, commitId=sq["commitId"])["commit"]
    assert got["parents"] == [m1]  # one parent: the feature's commits are squashed away
    assert got["treeId"] == sq["treeId"]
    assert got["message"].strip() == "squash feature"
    assert (got["author"]["name"], got["author"]["email"]) == ("Squash Author", "squash@example.com")
    assert file_at(cc, repo, "main", "feature.txt") == b"second try\n"
    assert file_at(cc, repo, "main", "main.txt") == b"main\n"
    assert file_at(cc, repo, "main", "notes.txt") == notes

    # Both sides change notes.txt, far apart: the three-way merge takes both changes.
    t1 = put(cc, repo, "topic", "notes.txt", b"one from topic\n2\n3\n4\n5\n6\n7\n", parent=base)
    m2 = put(cc, repo, "main", "notes.txt", b"1\n2\n3\n4\n5\n6\nseven from main\n", parent=sq["commitId"])
    opts = c.get_merge_options(repositoryName=repo, sourceCommitSpecifier="topic", destinationCommitSpecifier="main")
    assert sorted(opts["mergeOptions"]) == ["SQUASH_MERGE", "THREE_WAY_MERGE"]
    assert opts["baseCommitId"] == base

    tw = c.merge_branches_by_three_way(repositoryName=repo, sourceCommitSpecifier="topic",
                                       destinationCommitSpecifier="main", commitMessage="merge topic",
                                       authorName="Merge Author", email="merge@example.com")
    assert SHA1.match(tw["commitId"]) and tw["commitId"] not in (t1, m2)
    assert branch_tip(cc, repo, "main") == tw["commitId"]
    assert branch_tip(cc, repo, "topic") == t1
    got = c.get_commit(repositoryName=repo, commitId=tw["commitId"])["commit"]
    assert got["parents"] == [m2, t1]
    assert got["treeId"] == tw["treeId"]
    assert got["message"].strip() == "merge topic"
    assert (got["author"]["name"], got["author"]["email"]) == ("Merge Author", "merge@example.com")
    assert file_at(cc, repo, "main", "notes.txt") == b"one from topic\n2\n3\n4\n5\n6\nseven from main\n"
    assert file_at(cc, repo, "main", "feature.txt") == b"second try\n"
    # topic is now an ancestor of main: topic could be fast-forwarded to main.
    assert merge_base(cc, repo, "main", "topic") == t1
    opts = c.get_merge_options(repositoryName=repo, sourceCommitSpecifier="main", destinationCommitSpecifier="topic")
    assert "FAST_FORWARD_MERGE" in opts["mergeOptions"]


def test_conflicts_are_reported_and_block_merges(cc):
    c = cc.codecommit
    repo, base = forked(cc, "feature", "clean", files={"shared.txt": b"one\ntwo\nthree\n", "other.txt": b"x\n"})
    f1 = c.create_commit(repositoryName=repo, branchName="feature", parentCommitId=base, commitMessage="feature",
                         putFiles=[{"filePath": "shared.txt", "fileContent": b"one\ntwo on feature\nthree\n"},
                                   {"filePath": "feature-only.txt", "fileContent": b"f\n"}])["commitId"]
    m1 = put(cc, repo, "main", "shared.txt", b"one\ntwo on main\nthree\n", parent=base)

    r = c.get_merge_conflicts(repositoryName=repo, destinationCommitSpecifier="main", sourceCommitSpecifier="feature",
                              mergeOption="THREE_WAY_MERGE")
    assert r["mergeable"] is False
    assert (r["destinationCommitId"], r["sourceCommitId"], r["baseCommitId"]) == (m1, f1, base)
    assert [x["filePath"] for x in r["conflictMetadataList"]] == ["shared.txt"]  # not feature-only.txt
    assert r["conflictMetadataList"][0]["contentConflict"] is True

    # The options are still listed, but every merge needs a person.
    opts = c.get_merge_options(repositoryName=repo, sourceCommitSpecifier="feature", destinationCommitSpecifier="main")
    assert sorted(opts["mergeOptions"]) == ["SQUASH_MERGE", "THREE_WAY_MERGE"]
    assert opts["baseCommitId"] == base
    for merge in (c.merge_branches_by_squash, c.merge_branches_by_three_way, c.merge_branches_by_fast_forward):
        with pytest.raises(ClientError) as e:
            merge(repositoryName=repo, sourceCommitSpecifier="feature", destinationCommitSpecifier="main")
        assert code(e) == "ManualMergeRequiredException", merge
    assert branch_tip(cc, repo, "main") == m1
    assert branch_tip(cc, repo, "feature") == f1
    assert file_at(cc, repo, "main", "shared.txt") == b"one\ntwo on main\nthree\n"

    # A branch that touches other files merges cleanly.
    k1 = put(cc, repo, "clean", "clean.txt", b"clean\n", parent=base)
    r = c.get_merge_conflicts(repositoryName=repo, destinationCommitSpecifier="main", sourceCommitSpecifier="clean",
                              mergeOption="THREE_WAY_MERGE")
    assert r["mergeable"] is True
    assert r["conflictMetadataList"] == []
    assert (r["destinationCommitId"], r["sourceCommitId"], r["baseCommitId"]) == (m1, k1, base)
    tw = c.merge_branches_by_three_way(repositoryName=repo, sourceCommitSpecifier="clean",
                                       destinationCommitSpecifier="main")
    assert parents(cc, repo, tw["commitId"]) == [m1, k1]
    # The conflict with feature is still there after main moved on.
    r = c.get_merge_conflicts(repositoryName=repo, destinationCommitSpecifier="main", sourceCommitSpecifier="feature",
                              mergeOption="THREE_WAY_MERGE")
    assert r["mergeable"] is False and [x["filePath"] for x in r["conflictMetadataList"]] == ["shared.txt"]


def test_pull_request_lifecycle(cc):
    c = cc.codecommit
    repo, base = forked(cc, "feature", "other")
    f1 = put(cc, repo, "feature", "feature.txt", b"feature\n", parent=base)
    o1 = put(cc, repo, "other", "other.txt", b"other\n", parent=base)
    token = unique("token")

    pr = open_pull_request(cc, repo, "feature", title="Add the feature", description="It does things.",
                           clientRequestToken=token)
    pr_id = pr["pullRequestId"]
    assert re.match(r"^\d+$", pr_id), pr_id
    assert pr["title"] == "Add the feature"
    assert pr["description"] == "It does things."
    assert pr["pullRequestStatus"] == "OPEN"
    assert CALLER_ARN.match(pr["authorArn"]), pr["authorArn"]
    assert isinstance(pr["creationDate"], datetime) and isinstance(pr["lastActivityDate"], datetime)
    assert isinstance(pr["revisionId"], str) and pr["revisionId"]
    [target] = pr["pullRequestTargets"]
    assert target["repositoryName"] == repo
    assert target["sourceReference"] == "refs/heads/feature"
    assert target["destinationReference"] == "refs/heads/main"
    assert (target["sourceCommit"], target["destinationCommit"], target["mergeBase"]) == (f1, base, base)
    assert target["mergeMetadata"]["isMerged"] is False

    # The same token is the same request.
    again = open_pull_request(cc, repo, "feature", title="Add the feature", description="It does things.",
                              clientRequestToken=token)
    assert again["pullRequestId"] == pr_id

    got = c.get_pull_request(pullRequestId=pr_id)["pullRequest"]
    for key in ("pullRequestId", "title", "description", "pullRequestStatus", "authorArn", "revisionId",
                "creationDate"):
        assert got[key] == pr[key], key
    [got_target] = got["pullRequestTargets"]
    for key in ("repositoryName", "sourceReference", "destinationReference", "sourceCommit", "destinationCommit",
                "mergeBase"):
        assert got_target[key] == target[key], key

    second = open_pull_request(cc, repo, "other", title="Other things")
    assert second["pullRequestId"] != pr_id
    assert second["pullRequestTargets"][0]["sourceCommit"] == o1
    assert c.list_pull_requests(repositoryName=repo)["pullRequestIds"] == [second["pullRequestId"], pr_id]

    updated = c.update_pull_request_title(pullRequestId=pr_id, title="Add the feature, v2")["pullRequest"]
    assert updated["title"] == "Add the feature, v2" and updated["description"] == "It does things."
    updated = c.update_pull_request_description(pullRequestId=pr_id, description="Now with words.")["pullRequest"]
    assert updated["title"] == "Add the feature, v2" and updated["description"] == "Now with words."
    assert updated["lastActivityDate"] >= pr["lastActivityDate"]
    closed = c.update_pull_request_status(pullRequestId=pr_id, pullRequestStatus="CLOSED")["pullRequest"]
    assert closed["pullRequestStatus"] == "CLOSED"
    assert closed["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is False
    got = c.get_pull_request(pullRequestId=pr_id)["pullRequest"]
    assert (got["title"], got["description"], got["pullRequestStatus"]) == (
        "Add the feature, v2", "Now with words.", "CLOSED")
    assert c.list_pull_requests(repositoryName=repo, pullRequestStatus="OPEN")["pullRequestIds"] == [
        second["pullRequestId"]]
    assert c.list_pull_requests(repositoryName=repo, pullRequestStatus="CLOSED")["pullRequestIds"] == [pr_id]
    reopened = c.update_pull_request_status(pullRequestId=pr_id, pullRequestStatus="OPEN")["pullRequest"]
    assert reopened["pullRequestStatus"] == "OPEN"
    assert c.list_pull_requests(repositoryName=repo, pullRequestStatus="OPEN")["pullRequestIds"] == [
        second["pullRequestId"], pr_id]
    assert c.list_pull_requests(repositoryName=repo, pullRequestStatus="CLOSED")["pullRequestIds"] == []

    # A push to the source branch shows in the pull request.
    f2 = put(cc, repo, "feature", "feature.txt", b"feature, better\n", parent=f1)
    target = c.get_pull_request(pullRequestId=pr_id)["pullRequest"]["pullRequestTargets"][0]
    assert (target["sourceCommit"], target["destinationCommit"]) == (f2, base)

    with pytest.raises(ClientError) as e:
        open_pull_request(cc, repo, "no-such-branch")
    assert code(e) == "ReferenceDoesNotExistException"
    with pytest.raises(ClientError) as e:
        open_pull_request(cc, repo, "main")
    assert code(e) == "SourceAndDestinationAreSameException"
    with pytest.raises(ClientError) as e:
        open_pull_request(cc, unique("missing"), "feature")
    assert code(e) == "RepositoryDoesNotExistException"
    with pytest.raises(ClientError) as e:
        c.get_pull_request(pullRequestId="987654321")
    assert code(e) == "PullRequestDoesNotExistException"
    # The failed requests made no pull requests.
    assert c.list_pull_requests(repositoryName=repo)["pullRequestIds"] == [second["pullRequestId"], pr_id]


def test_merge_pull_requests_three_ways(cc):
    c = cc.codecommit
    repo, base = forked(cc, "ff", "sq", "tw", "abandoned")
    ff1 = put(cc, repo, "ff", "ff.txt", b"ff\n", parent=base)
    sq1 = put(cc, repo, "sq", "sq.txt", b"sq 1\n", parent=base)
    sq2 = put(cc, repo, "sq", "sq.txt", b"sq 2\n", parent=sq1)
    tw1 = put(cc, repo, "tw", "tw.txt", b"tw\n", parent=base)
    put(cc, repo, "abandoned", "nope.txt", b"nope\n", parent=base)
    ff_pr, sq_pr, tw_pr, gone_pr = (open_pull_request(cc, repo, b)["pullRequestId"]
                                    for b in ("ff", "sq", "tw", "abandoned"))

    # Fast-forward, only at the source tip the caller saw.
    with pytest.raises(ClientError) as e:
        c.merge_pull_request_by_fast_forward(pullRequestId=ff_pr, repositoryName=repo, sourceCommitId=base)
    assert code(e) == "TipOfSourceReferenceIsDifferentException"
    assert c.get_pull_request(pullRequestId=ff_pr)["pullRequest"]["pullRequestStatus"] == "OPEN"
    assert branch_tip(cc, repo, "main") == base
    pr = c.merge_pull_request_by_fast_forward(pullRequestId=ff_pr, repositoryName=repo,
                                              sourceCommitId=ff1)["pullRequest"]
    meta = assert_merged(pr, "FAST_FORWARD_MERGE")
    assert meta["mergeCommitId"] == ff1
    assert branch_tip(cc, repo, "main") == ff1
    got = c.get_pull_request(pullRequestId=ff_pr)["pullRequest"]
    assert got["pullRequestStatus"] == "CLOSED"
    assert got["pullRequestTargets"][0]["mergeMetadata"] == meta
    with pytest.raises(ClientError) as e:
        c.merge_pull_request_by_fast_forward(pullRequestId=ff_pr, repositoryName=repo)
    assert code(e) == "PullRequestAlreadyClosedException"

    # Squash: one new commit on main after ff1.
    pr = c.merge_pull_request_by_squash(pullRequestId=sq_pr, repositoryName=repo, commitMessage="squash sq",
                                        authorName="Squash Author", email="squash@example.com")["pullRequest"]
    squashed = assert_merged(pr, "SQUASH_MERGE")["mergeCommitId"]
    assert squashed not in (sq1, sq2)
    assert branch_tip(cc, repo, "main") == squashed
    got = c.get_commit(repositoryName=repo, commitId=squashed)["commit"]
    assert got["parents"] == [ff1]
    assert got["message"].strip() == "squash sq"
    assert got["author"]["name"] == "Squash Author"
    assert file_at(cc, repo, "main", "ff.txt") == b"ff\n"
    assert file_at(cc, repo, "main", "sq.txt") == b"sq 2\n"
    assert branch_tip(cc, repo, "sq") == sq2

    # Three-way: a merge commit of main's tip and the source's.
    pr = c.merge_pull_request_by_three_way(pullRequestId=tw_pr, repositoryName=repo, sourceCommitId=tw1)["pullRequest"]
    merged = assert_merged(pr, "THREE_WAY_MERGE")["mergeCommitId"]
    assert branch_tip(cc, repo, "main") == merged
    assert parents(cc, repo, merged) == [squashed, tw1]
    assert [file_at(cc, repo, "main", p) for p in ("ff.txt", "sq.txt", "tw.txt")] == [b"ff\n", b"sq 2\n", b"tw\n"]

    # A pull request closed without merging cannot be merged.
    c.update_pull_request_status(pullRequestId=gone_pr, pullRequestStatus="CLOSED")
    for merge in (c.merge_pull_request_by_fast_forward, c.merge_pull_request_by_squash,
                  c.merge_pull_request_by_three_way):
        with pytest.raises(ClientError) as e:
            merge(pullRequestId=gone_pr, repositoryName=repo)
        assert code(e) == "PullRequestAlreadyClosedException", merge
    assert branch_tip(cc, repo, "main") == merged
    with pytest.raises(ClientError) as e:
        c.get_file(repositoryName=repo, filePath="nope.txt")
    assert code(e) == "FileDoesNotExistException"
    gone = c.get_pull_request(pullRequestId=gone_pr)["pullRequest"]
    assert gone["pullRequestStatus"] == "CLOSED"
    assert gone["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is False
    assert c.list_pull_requests(repositoryName=repo, pullRequestStatus="OPEN")["pullRequestIds"] == []


def test_pull_request_follows_git_pushes_and_its_merge_reaches_git(cc, tmp_path):
    meta = new_repo(cc)
    repo, url = meta["repositoryName"], meta["cloneUrlHttp"]
    work = clone(url, tmp_path / "w", branch="main")
    base = commit(work, {"index.html": "<p>v1</p>\n"}, "base")
    git("push", "-q", "origin", "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    f1 = commit(work, {"feature.html": "<p>feature</p>\n"}, "feature, first")
    git("push", "-q", "origin", "feature", cwd=work)

    pr = open_pull_request(cc, repo, "feature", title="A feature page")
    pr_id = pr["pullRequestId"]
    assert pr["pullRequestTargets"][0]["sourceCommit"] == f1
    assert pr["pullRequestTargets"][0]["mergeBase"] == base

    f2 = commit(work, {"feature.html": "<p>feature, reviewed</p>\n"}, "feature, second")
    git("push", "-q", "origin", "feature", cwd=work)
    target = cc.codecommit.get_pull_request(pullRequestId=pr_id)["pullRequest"]["pullRequestTargets"][0]
    assert (target["sourceCommit"], target["destinationCommit"]) == (f2, base)

    m1 = put(cc, repo, "main", "main.txt", b"main moved\n", parent=base)
    with pytest.raises(ClientError) as e:  # the reviewer saw f1, but f2 was pushed since
        cc.codecommit.merge_pull_request_by_three_way(pullRequestId=pr_id, repositoryName=repo, sourceCommitId=f1)
    assert code(e) == "TipOfSourceReferenceIsDifferentException"
    assert branch_tip(cc, repo, "main") == m1
    pr = cc.codecommit.merge_pull_request_by_three_way(pullRequestId=pr_id, repositoryName=repo,
                                                       sourceCommitId=f2)["pullRequest"]
    merged = assert_merged(pr, "THREE_WAY_MERGE")["mergeCommitId"]
    assert branch_tip(cc, repo, "main") == merged

    git("checkout", "-q", "main", cwd=work)
    git("pull", "-q", "--ff-only", "origin", "main", cwd=work)
    assert rev(work) == merged
    assert git("log", "-1", "--format=%P", cwd=work).split() == [m1, f2]
    assert (work / "feature.html").read_text() == "<p>feature, reviewed</p>\n"
    assert (work / "main.txt").read_text() == "main moved\n"
    assert (work / "index.html").read_text() == "<p>v1</p>\n"
    assert git("ls-remote", url, "refs/heads/main").split() == [merged, "refs/heads/main"]


def test_pull_request_comments(cc):
    c = cc.codecommit
    repo, base = forked(cc, "feature")
    f1 = put(cc, repo, "feature", "feature.txt", b"line one\nline two\n", parent=base)
    pr = open_pull_request(cc, repo, "feature")
    pr_id = pr["pullRequestId"]
    target = pr["pullRequestTargets"][0]
    before, after = target["destinationCommit"], target["sourceCommit"]
    assert (before, after) == (base, f1)
    location = {"filePath": "feature.txt", "filePosition": 2, "relativeFileVersion": "AFTER"}

    r = c.post_comment_for_pull_request(pullRequestId=pr_id, repositoryName=repo, beforeCommitId=before,
                                        afterCommitId=after, location=location, content="Why line two?")
    assert (r["repositoryName"], r["pullRequestId"], r["beforeCommitId"], r["afterCommitId"]) == (
        repo, pr_id, before, after)
    assert r["location"] == location
    first = r["comment"]
    assert isinstance(first["commentId"], str) and first["commentId"]
    assert first["content"] == "Why line two?"
    assert CALLER_ARN.match(first["authorArn"]), first["authorArn"]
    assert isinstance(first["creationDate"], datetime)
    assert first["deleted"] is False
    assert "inReplyTo" not in first

    general = c.post_comment_for_pull_request(pullRequestId=pr_id, repositoryName=repo, beforeCommitId=before,
                                              afterCommitId=after, content="Looks fine overall.")["comment"]
    assert general["commentId"] != first["commentId"]
    reply = c.post_comment_reply(inReplyTo=first["commentId"], content="Because it is needed.")["comment"]
    assert reply["inReplyTo"] == first["commentId"]
    assert reply["content"] == "Because it is needed."
    assert reply["commentId"] not in (first["commentId"], general["commentId"])
    assert reply["deleted"] is False

    got = c.get_comment(commentId=first["commentId"])["comment"]
    assert (got["commentId"], got["content"], got["authorArn"], got["deleted"]) == (
        first["commentId"], "Why line two?", first["authorArn"], False)

    data = c.get_comments_for_pull_request(pullRequestId=pr_id)["commentsForPullRequestData"]
    assert data, "no comments listed"
    for entry in data:
        assert (entry["pullRequestId"], entry["repositoryName"], entry["beforeCommitId"], entry["afterCommitId"]) == (
            pr_id, repo, before, after)
    listed = {x["commentId"]: x for entry in data for x in entry["comments"]}
    assert sorted(listed) == sorted([first["commentId"], general["commentId"], reply["commentId"]])
    assert listed[first["commentId"]]["content"] == "Why line two?"
    assert listed[general["commentId"]]["content"] == "Looks fine overall."
    assert listed[reply["commentId"]]["inReplyTo"] == first["commentId"]

    edited = c.update_comment(commentId=general["commentId"], content="Looks good, ship it.")["comment"]
    assert edited["commentId"] == general["commentId"]
    assert edited["content"] == "Looks good, ship it."
    assert c.get_comment(commentId=general["commentId"])["comment"]["content"] == "Looks good, ship it."

    gone = c.delete_comment_content(commentId=first["commentId"])["comment"]
    assert gone["commentId"] == first["commentId"]
    assert gone["deleted"] is True
    assert not gone.get("content")
    got = c.get_comment(commentId=first["commentId"])["comment"]
    assert got["deleted"] is True and not got.get("content")
    # The reply outlives the deleted content it answered.
    got = c.get_comment(commentId=reply["commentId"])["comment"]
    assert (got["content"], got["inReplyTo"], got["deleted"]) == ("Because it is needed.", first["commentId"], False)

    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ClientError) as e:
        c.get_comment(commentId=missing)
    assert code(e) == "CommentDoesNotExistException"
    with pytest.raises(ClientError) as e:
        c.update_comment(commentId=missing, content="nobody")
    assert code(e) == "CommentDoesNotExistException"


def test_describe_merge_conflicts_gives_the_hunks(cc):
    c = cc.codecommit
    repo = new_repo(cc, "hunks")["repositoryName"]
    base = c.put_file(repositoryName=repo, branchName="main", filePath="shared.txt",
                      fileContent=b"one\ntwo\nthree\n")["commitId"]
    c.create_branch(repositoryName=repo, branchName="feature", commitId=base)
    c.put_file(repositoryName=repo, branchName="main", filePath="shared.txt", fileContent=b"one\nTWO main\nthree\n",
               parentCommitId=base)
    c.put_file(repositoryName=repo, branchName="feature", filePath="shared.txt",
               fileContent=b"one\ntwo feature\nthree\n", parentCommitId=base)
    d = c.describe_merge_conflicts(repositoryName=repo, destinationCommitSpecifier="main",
                                   sourceCommitSpecifier="feature", mergeOption="THREE_WAY_MERGE",
                                   filePath="shared.txt")
    assert d["conflictMetadata"]["filePath"] == "shared.txt" and d["conflictMetadata"]["numberOfConflicts"] == 1
    assert d["conflictMetadata"]["fileSizes"] == {"source": 22, "destination": 19, "base": 14}
    hunk = d["mergeHunks"][0]
    assert hunk["isConflict"] is True
    assert hunk["destination"] == {"startLine": 2, "endLine": 2, "hunkContent": "TWO main\n"}
    assert hunk["source"]["hunkContent"] == "two feature\n" and hunk["base"]["hunkContent"] == "two\n"
    assert d["baseCommitId"] == base
    with pytest.raises(ClientError) as e:
        c.describe_merge_conflicts(repositoryName=repo, destinationCommitSpecifier="main",
                                   sourceCommitSpecifier="feature", mergeOption="THREE_WAY_MERGE",
                                   filePath="nope.txt")
    assert code(e) == "FileDoesNotExistException"


def test_git_remote_codecommit_sigv4_password(tmp_path, enforced):
    """The password git-remote-codecommit derives from access keys: SigV4 of `GIT {path}`."""
    import datetime
    import hmac

    iam, repo = enforced.iam, enforced.repo
    user = iam.create_user(UserName=unique("grc"))["User"]["UserName"]
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="pull", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": repo["Arn"]}]}))
    scheme, rest = repo["cloneUrlHttp"].split("://", 1)
    host, path = rest.split("/", 1)
    path = "/" + path

    def password(secret: str, when: datetime.datetime) -> str:
        stamp = when.strftime("%Y%m%dT%H%M%S")
        canonical = f"GIT\n{path}\n\nhost:{host}\n\nhost\n"
        scope = f"{stamp[:8]}/{REGION}/codecommit/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}Z\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        k = ("AWS4" + secret).encode()
        for part in (stamp[:8], REGION, "codecommit", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        return f"{stamp}Z{hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()}"

    now = datetime.datetime.now(datetime.timezone.utc)
    good = f"{scheme}://{key['AccessKeyId']}:{password(key['SecretAccessKey'], now)}@{rest}"
    work = tmp_path / "work"
    git("clone", "-q", good, str(work))
    assert (work / "README.md").read_text() == "hello\n"
    wrong = f"{scheme}://{key['AccessKeyId']}:{password('not-the-secret', now)}@{rest}"
    assert git("clone", "-q", wrong, str(tmp_path / "wrong"), check=False).returncode != 0
    old = now - datetime.timedelta(hours=1)
    stale = f"{scheme}://{key['AccessKeyId']}:{password(key['SecretAccessKey'], old)}@{rest}"
    assert git("clone", "-q", stale, str(tmp_path / "stale"), check=False).returncode != 0


def test_both_git_protocol_versions(cc, tmp_path):
    """Smart HTTP protocol v0 and v2 (the `Git-Protocol` header), for clone, fetch and push."""
    meta = new_repo(cc, "proto")
    url = meta["cloneUrlHttp"]
    tips = {}
    for version in ("0", "2"):
        work = tmp_path / f"v{version}"
        git("-c", f"protocol.version={version}", "clone", "-q", url, str(work))
        git("config", "user.name", "V", cwd=work)
        git("config", "user.email", "v@example.com", cwd=work)
        if version == "0":  # the repository is still empty: name the branch to make
            git("symbolic-ref", "HEAD", "refs/heads/main", cwd=work)
        tips[version] = commit(work, {f"v{version}.txt": version}, f"protocol {version}")
        git("-c", f"protocol.version={version}", "push", "-q", "origin", "HEAD:main", cwd=work)
        listed = git("-c", f"protocol.version={version}", "ls-remote", url, "refs/heads/main")
        assert listed.split()[0] == tips[version]
    fresh = tmp_path / "fresh"
    git("-c", "protocol.version=0", "clone", "-q", url, str(fresh))
    assert (fresh / "v0.txt").read_text() == "0" and (fresh / "v2.txt").read_text() == "2"

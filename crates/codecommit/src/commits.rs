//! Writing through the API: PutFile, DeleteFile and CreateCommit make a commit on a branch
//! with git's plumbing (blobs, a tree from a temporary index, `commit-tree`) and move the
//! branch with a compare-and-swap, so a concurrent push or commit makes this one fail with
//! ParentCommitIdOutdatedException instead of being lost. The first commit of an empty
//! repository needs no parent and makes its branch the default branch.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::branches::{check_branch_name, user_arn};
use crate::content::clean_path;
use crate::errors::{err, git_failed};
use crate::git::{self, Repo, ZERO};
use crate::store::RepoDoc;
use crate::{Inner, repos, s, triggers};

/// Largest file the API takes (6 MB).
const MAX_FILE: usize = 6 << 20;

fn content(v: &Value, field: &str) -> Result<Vec<u8>, AwsError> {
    let data = STANDARD
        .decode(v.get(field).and_then(Value::as_str).unwrap_or(""))
        .map_err(|_| err("InvalidFileContentException", "The file content is not valid base64"))?;
    if data.is_empty() {
        return Err(err(
            "FileContentRequiredException",
            "The file is empty. Empty files cannot be added to a repository.",
        ));
    }
    if data.len() > MAX_FILE {
        return Err(err(
            "FileContentSizeLimitExceededException",
            "The file cannot be added because it is too large (6 MB at most).",
        ));
    }
    Ok(data)
}

fn mode_of(v: &Value) -> Result<&'static str, AwsError> {
    let m = s(v, "fileMode");
    git::git_mode(m).ok_or_else(|| err("InvalidFileModeException", format!("The file mode {m} is not valid")))
}

fn path_of(v: &Value) -> Result<String, AwsError> {
    let p = clean_path(s(v, "filePath"));
    if p.is_empty() {
        return Err(err("PathRequiredException", "A file path is required."));
    }
    if p.split('/').any(|seg| seg.is_empty() || seg == "." || seg == ".." || seg == ".git") {
        return Err(err("InvalidPathException", format!("The path {p} is not valid")));
    }
    Ok(p)
}

/// Where a new commit on `branch` goes: its parent (None for the first commit of an empty
/// repository) and the value the branch must still have when it moves (ZERO: not there).
async fn base_of(repo: &Repo, branch: &str, parent: &str) -> Result<(Option<String>, String), AwsError> {
    let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
    let tip = branches.get(&format!("refs/heads/{branch}")).cloned();
    if !parent.is_empty() && repo.commit_of(parent).await.map_err(|e| git_failed(e.0))?.is_none() {
        return Err(err("ParentCommitDoesNotExistException", format!("The parent commit ID {parent} does not exist")));
    }
    match tip {
        Some(tip) if parent.is_empty() => {
            let _ = tip;
            Err(err(
                "ParentCommitIdRequiredException",
                "A parent commit ID is required. To view the full commit ID of a branch in a repository, use GetBranch or a Git command (for example, git pull or git log).",
            ))
        }
        Some(tip) => {
            let full = repo.commit_of(parent).await.map_err(|e| git_failed(e.0))?.unwrap_or_default();
            if full != tip {
                return Err(err(
                    "ParentCommitIdOutdatedException",
                    "The file could not be added because the provided parent commit ID is not the current tip of the specified branch. To view the full commit ID of the current head of the branch, use GetBranch.",
                ));
            }
            Ok((Some(tip.clone()), tip))
        }
        None if branches.is_empty() => {
            if !parent.is_empty() {
                return Err(err(
                    "ParentCommitDoesNotExistException",
                    format!("The parent commit ID {parent} does not exist"),
                ));
            }
            Ok((None, ZERO.to_string()))
        }
        None if parent.is_empty() => Err(err(
            "ParentCommitIdRequiredException",
            "A parent commit ID is required to create a branch in a repository that has commits.",
        )),
        None => {
            let full = repo.commit_of(parent).await.map_err(|e| git_failed(e.0))?.unwrap_or_default();
            Ok((Some(full), ZERO.to_string()))
        }
    }
}

/// A commit of `changes` on `branch`; answers (commit, tree).
#[allow(clippy::too_many_arguments)]
async fn commit(
    i: &Inner,
    ctx: &RequestContext,
    doc: &RepoDoc,
    repo: &Repo,
    branch: &str,
    base: Option<&str>,
    expected: &str,
    changes: &[(String, Option<(String, String)>)],
    message: &str,
    name: &str,
    email: &str,
) -> Result<(String, String), AwsError> {
    let tree = repo.tree_with(base, changes, &repo.dir).await.map_err(|e| git_failed(e.0))?;
    let parents: Vec<String> = base.map(str::to_string).into_iter().collect();
    let message = if message.is_empty() { "\n".to_string() } else { format!("{}\n", message.trim_end_matches('\n')) };
    let id = repo.commit_tree(&tree, &parents, &message, name, email).await.map_err(|e| git_failed(e.0))?;
    if !repo.update_ref(&format!("refs/heads/{branch}"), &id, expected).await.map_err(|e| git_failed(e.0))? {
        return Err(err(
            "ParentCommitIdOutdatedException",
            "The branch moved while the commit was being made: its parent is no longer the tip of the branch.",
        ));
    }
    triggers::sync(i, &doc.account, &doc.region, doc.name(), &user_arn(ctx)).await?;
    Ok((id, tree))
}

fn author(input: &Value, name_field: &str) -> (String, String) {
    let name = s(input, name_field);
    let name = if name.is_empty() { "AWS CodeCommit" } else { name };
    (name.to_string(), s(input, "email").to_string())
}

pub async fn put_file(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let branch = s(&input, "branchName").to_string();
    check_branch_name(&branch)?;
    let path = path_of(&input)?;
    let data = content(&input, "fileContent")?;
    let mode = mode_of(&input)?;
    let _guard = i.lock(doc.id()).await;
    let (base, expected) = base_of(&repo, &branch, s(&input, "parentCommitId")).await?;
    let blob = repo.write_blob(&data).await.map_err(|e| git_failed(e.0))?;
    if let Some(b) = &base {
        match repo.entry(b, &path).await.map_err(|e| git_failed(e.0))? {
            Some((m, _, id)) if id == blob && m == mode => {
                return Err(err(
                    "SameFileContentException",
                    "The file was not added or updated because the content of the file is exactly the same as the content of that file in the repository and branch that you specified.",
                ));
            }
            Some((_, kind, _)) if kind == "tree" => {
                return Err(err("FilePathConflictsWithSubmodulePathException", format!("{path} is a folder")));
            }
            _ => {}
        }
    }
    let message = s(&input, "commitMessage");
    let (name, email) = author(&input, "name");
    let changes = vec![(path, Some((mode.to_string(), blob.clone())))];
    let (commit_id, tree) =
        commit(i, ctx, &doc, &repo, &branch, base.as_deref(), &expected, &changes, message, &name, &email).await?;
    Ok(json!({ "commitId": commit_id, "blobId": blob, "treeId": tree }))
}

pub async fn delete_file(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let branch = s(&input, "branchName").to_string();
    check_branch_name(&branch)?;
    let path = path_of(&input)?;
    if s(&input, "parentCommitId").is_empty() {
        return Err(err("ParentCommitIdRequiredException", "A parent commit ID is required."));
    }
    let _guard = i.lock(doc.id()).await;
    let (base, expected) = base_of(&repo, &branch, s(&input, "parentCommitId")).await?;
    let Some(b) = base.clone() else { return Err(err("FileDoesNotExistException", format!("{path} does not exist"))) };
    let blob = match repo.entry(&b, &path).await.map_err(|e| git_failed(e.0))? {
        Some((_, kind, id)) if kind == "blob" => id,
        _ => {
            return Err(err(
                "FileDoesNotExistException",
                format!(
                    "The specified file {path} does not exist. Verify that you have used the correct file name, full path, and extension."
                ),
            ));
        }
    };
    let message = s(&input, "commitMessage");
    let (name, email) = author(&input, "name");
    let changes = vec![(path.clone(), None)];
    let (commit_id, tree) =
        commit(i, ctx, &doc, &repo, &branch, base.as_deref(), &expected, &changes, message, &name, &email).await?;
    Ok(json!({ "commitId": commit_id, "blobId": blob, "treeId": tree, "filePath": path }))
}

pub async fn create_commit(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let branch = s(&input, "branchName").to_string();
    check_branch_name(&branch)?;
    let list = |k: &str| input.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let (puts, deletes, modes) = (list("putFiles"), list("deleteFiles"), list("setFileModes"));
    if puts.len() + deletes.len() + modes.len() > 100 {
        return Err(err("MaximumFileEntriesExceededException", "At most 100 file entries can be given."));
    }
    let _guard = i.lock(doc.id()).await;
    let (base, expected) = base_of(&repo, &branch, s(&input, "parentCommitId")).await?;
    let existing = |p: String| {
        let (repo, base) = (repo.clone(), base.clone());
        async move {
            match base {
                Some(b) => repo.entry(&b, &p).await.map_err(|e| git_failed(e.0)),
                None => Ok(None),
            }
        }
    };
    let mut changes: Vec<(String, Option<(String, String)>)> = Vec::new();
    let (mut added, mut updated, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    for f in &puts {
        let path = path_of(f)?;
        if !seen.insert(path.clone()) {
            return Err(err("SamePathRequestException", format!("The path {path} is named more than once")));
        }
        let mode = mode_of(f)?;
        let data = match f.get("sourceFile") {
            Some(src) => {
                let src_path = path_of(src)?;
                let Some((_, kind, id)) = existing(src_path.clone()).await? else {
                    return Err(err("FileDoesNotExistException", format!("{src_path} does not exist")));
                };
                if kind != "blob" {
                    return Err(err("FileDoesNotExistException", format!("{src_path} is not a file")));
                }
                if src.get("isMove").and_then(Value::as_bool) == Some(true) {
                    changes.push((src_path.clone(), None));
                    deleted.push(json!({"absolutePath": src_path, "blobId": id, "fileMode": "NORMAL"}));
                }
                repo.cat("blob", &id).await.map_err(|e| git_failed(e.0))?
            }
            None => content(f, "fileContent")?,
        };
        let blob = repo.write_blob(&data).await.map_err(|e| git_failed(e.0))?;
        let entry = json!({"absolutePath": path, "blobId": blob, "fileMode": git::file_mode(mode)});
        match existing(path.clone()).await? {
            Some((m, _, id)) if id == blob && m == mode => {
                return Err(err(
                    "SameFileContentException",
                    format!(
                        "The file {path} was not added or updated because its content is the same as in the repository."
                    ),
                ));
            }
            Some(_) => updated.push(entry),
            None => added.push(entry),
        }
        changes.push((path, Some((mode.to_string(), blob))));
    }
    for f in &deletes {
        let path = path_of(f)?;
        if !seen.insert(path.clone()) {
            return Err(err("SamePathRequestException", format!("The path {path} is named more than once")));
        }
        match existing(path.clone()).await? {
            Some((m, kind, id)) if kind == "blob" => {
                deleted.push(json!({"absolutePath": path, "blobId": id, "fileMode": git::file_mode(&m)}));
                changes.push((path, None));
            }
            _ => return Err(err("FileDoesNotExistException", format!("The specified file {path} does not exist."))),
        }
    }
    for f in &modes {
        let path = path_of(f)?;
        let mode = mode_of(f)?;
        match existing(path.clone()).await? {
            Some((m, kind, id)) if kind == "blob" => {
                if m == mode {
                    return Err(err(
                        "FileModeRequiredException",
                        format!("The file {path} already has mode {}", s(f, "fileMode")),
                    ));
                }
                updated.push(json!({"absolutePath": path, "blobId": id, "fileMode": git::file_mode(mode)}));
                changes.push((path, Some((mode.to_string(), id))));
            }
            _ => return Err(err("FileDoesNotExistException", format!("The specified file {path} does not exist."))),
        }
    }
    if changes.is_empty() {
        return Err(err(
            "NoChangeException",
            "The commit cannot be created because no changes will be made to the repository as a result of this commit.",
        ));
    }
    let message = s(&input, "commitMessage");
    let (name, email) = author(&input, "authorName");
    let (commit_id, tree) =
        commit(i, ctx, &doc, &repo, &branch, base.as_deref(), &expected, &changes, message, &name, &email).await?;
    Ok(json!({
        "commitId": commit_id,
        "treeId": tree,
        "filesAdded": added,
        "filesUpdated": updated,
        "filesDeleted": deleted,
    }))
}

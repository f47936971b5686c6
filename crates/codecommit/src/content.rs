//! Reading a repository: commits (GetCommit, BatchGetCommits), files and folders at a commit
//! (GetFile, GetFolder), blobs (GetBlob), the differences between two commits (GetDifferences)
//! and their merge base (GetMergeCommit). A commit specifier is a branch, a commit id or any revision git understands; without
//! one, the default branch.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{err, git_failed};
use crate::git::{self, Repo};
use crate::store::RepoDoc;
use crate::{Inner, repos, s};

/// The commit a specifier names, or the default branch's tip.
pub async fn resolve(doc: &RepoDoc, repo: &Repo, spec: &str) -> Result<String, AwsError> {
    let spec = if spec.is_empty() {
        doc.default_branch().ok_or_else(|| {
            err(
                "CommitDoesNotExistException",
                "The specified commit does not exist or no commit was specified, and the specified repository has no default branch.",
            )
        })?
    } else {
        spec
    };
    repo.commit_of(spec)
        .await
        .map_err(|e| git_failed(e.0))?
        .ok_or_else(|| err("CommitDoesNotExistException", format!("The specified commit {spec} does not exist")))
}

/// A path as CodeCommit takes them: no leading or trailing `/`.
pub fn clean_path(path: &str) -> String {
    path.trim_matches('/').to_string()
}

fn user(line: &str) -> Value {
    let (name, email, date) = git::person(line);
    json!({"name": name, "email": email, "date": date})
}

pub fn commit_json(c: &git::Commit) -> Value {
    json!({
        "commitId": c.id,
        "treeId": c.tree,
        "parents": c.parents,
        "message": c.message,
        "author": user(&c.author),
        "committer": user(&c.committer),
        "additionalData": "",
    })
}

pub async fn get_commit(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (_, repo) = repos::open(i, ctx, &input).await?;
    let id = s(&input, "commitId");
    if id.is_empty() {
        return Err(err("CommitIdRequiredException", "A commit ID is required."));
    }
    let c =
        repo.commit(id).await.map_err(|e| git_failed(e.0))?.ok_or_else(|| {
            err("CommitIdDoesNotExistException", format!("The specified commit ID {id} does not exist"))
        })?;
    Ok(json!({ "commit": commit_json(&c) }))
}

pub async fn batch_get_commits(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (_, repo) = repos::open(i, ctx, &input).await?;
    let ids: Vec<String> = input
        .get("commitIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(err("CommitIdsListRequiredException", "A list of commit IDs is required."));
    }
    if ids.len() > 100 {
        return Err(err("CommitIdsLimitExceededException", "At most 100 commit IDs can be given."));
    }
    let (mut commits, mut errors) = (Vec::new(), Vec::new());
    for id in ids {
        match repo.commit(&id).await.map_err(|e| git_failed(e.0))? {
            Some(c) => commits.push(commit_json(&c)),
            None => errors.push(json!({"commitId": id, "errorCode": "CommitDoesNotExistException",
                                      "errorMessage": "The specified commit does not exist."})),
        }
    }
    Ok(json!({ "commits": commits, "errors": errors }))
}

pub async fn get_file(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let path = clean_path(s(&input, "filePath"));
    if path.is_empty() {
        return Err(err("PathRequiredException", "The filePath for a location cannot be null."));
    }
    let commit = resolve(&doc, &repo, s(&input, "commitSpecifier")).await?;
    let not_found = || {
        err(
            "FileDoesNotExistException",
            format!(
                "The specified file {path} does not exist. Verify that you have used the correct file name, full path, and extension."
            ),
        )
    };
    let (mode, kind, blob) = repo.entry(&commit, &path).await.map_err(|e| git_failed(e.0))?.ok_or_else(not_found)?;
    if kind != "blob" {
        return Err(not_found());
    }
    let content = repo.cat("blob", &blob).await.map_err(|e| git_failed(e.0))?;
    Ok(json!({
        "commitId": commit,
        "blobId": blob,
        "filePath": path,
        "fileMode": git::file_mode(&mode),
        "fileSize": content.len(),
        "fileContent": STANDARD.encode(&content),
    }))
}

pub async fn get_folder(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    if input.get("folderPath").is_none() {
        return Err(err("PathRequiredException", "The folderPath for a location cannot be null."));
    }
    let folder = clean_path(s(&input, "folderPath"));
    let commit = resolve(&doc, &repo, s(&input, "commitSpecifier")).await?;
    let not_found = || {
        err(
            "FolderDoesNotExistException",
            format!(
                "The specified folder {folder} does not exist. Either the folder name is not correct, or you did not enter the full path to the folder."
            ),
        )
    };
    let tree = if folder.is_empty() {
        repo.commit(&commit).await.map_err(|e| git_failed(e.0))?.map(|c| c.tree).ok_or_else(not_found)?
    } else {
        match repo.entry(&commit, &folder).await.map_err(|e| git_failed(e.0))? {
            Some((_, kind, id)) if kind == "tree" => id,
            _ => return Err(not_found()),
        }
    };
    let entries = repo.ls_tree(&tree).await.map_err(|e| git_failed(e.0))?.ok_or_else(not_found)?;
    let absolute = |name: &str| if folder.is_empty() { name.to_string() } else { format!("{folder}/{name}") };
    let (mut folders, mut files, mut links, mut modules) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (mode, kind, id, name) in entries {
        match (kind.as_str(), mode.as_str()) {
            ("tree", _) => folders.push(json!({"treeId": id, "absolutePath": absolute(&name), "relativePath": name})),
            ("commit", _) => {
                modules.push(json!({"commitId": id, "absolutePath": absolute(&name), "relativePath": name}))
            }
            (_, "120000") => links.push(json!({"blobId": id, "absolutePath": absolute(&name), "relativePath": name,
                                               "fileMode": "SYMLINK"})),
            _ => files.push(json!({"blobId": id, "absolutePath": absolute(&name), "relativePath": name,
                                   "fileMode": git::file_mode(&mode)})),
        }
    }
    Ok(json!({
        "commitId": commit,
        "folderPath": folder,
        "treeId": tree,
        "subFolders": folders,
        "files": files,
        "symbolicLinks": links,
        "subModules": modules,
    }))
}

pub async fn get_blob(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (_, repo) = repos::open(i, ctx, &input).await?;
    let id = s(&input, "blobId");
    if id.is_empty() {
        return Err(err("BlobIdRequiredException", "A blob ID is required."));
    }
    if repo.object_type(id).await.map_err(|e| git_failed(e.0))?.as_deref() != Some("blob") {
        return Err(err("BlobIdDoesNotExistException", format!("The specified blob {id} does not exist")));
    }
    let content = repo.cat("blob", id).await.map_err(|e| git_failed(e.0))?;
    Ok(json!({ "content": STANDARD.encode(content) }))
}

pub async fn get_differences(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let after_spec = s(&input, "afterCommitSpecifier");
    if after_spec.is_empty() {
        return Err(err("CommitRequiredException", "A commit specifier is required."));
    }
    let after = resolve(&doc, &repo, after_spec).await?;
    let before = match s(&input, "beforeCommitSpecifier") {
        "" => None,
        spec => Some(resolve(&doc, &repo, spec).await?),
    };
    let before_path = clean_path(s(&input, "beforePath"));
    let after_path = clean_path(s(&input, "afterPath"));
    let changes = repo.diff(before.as_deref(), &after).await.map_err(|e| git_failed(e.0))?;
    let under = |p: &str, prefix: &str| prefix.is_empty() || p == prefix || p.starts_with(&format!("{prefix}/"));
    let mut all: Vec<Value> = Vec::new();
    for c in changes {
        if !(under(&c.path, &before_path) || under(&c.path, &after_path)) {
            continue;
        }
        let blob = |id: &str, mode: &str| json!({"blobId": id, "path": c.path, "mode": mode});
        let mut d = json!({ "changeType": match c.status { 'A' => "A", 'D' => "D", _ => "M" } });
        if c.status != 'A' {
            d["beforeBlob"] = blob(&c.old_id, &c.old_mode);
        }
        if c.status != 'D' {
            d["afterBlob"] = blob(&c.new_id, &c.new_mode);
        }
        all.push(d);
    }
    let max = input.get("MaxResults").and_then(Value::as_u64).unwrap_or(100).clamp(1, 1000) as usize;
    let start = match input.get("NextToken").and_then(Value::as_str) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| err("InvalidContinuationTokenException", "The continuation token is not valid."))?,
        None => 0,
    };
    let total = all.len();
    let mut out = json!({ "differences": all.into_iter().skip(start).take(max).collect::<Vec<_>>() });
    if start + max < total {
        out["NextToken"] = json!((start + max).to_string());
    }
    Ok(out)
}

/// GetMergeCommit: the two commits and their merge base (the common ancestor a merge of them
/// starts from).
pub async fn get_merge_commit(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let source = resolve(&doc, &repo, s(&input, "sourceCommitSpecifier")).await?;
    let destination = resolve(&doc, &repo, s(&input, "destinationCommitSpecifier")).await?;
    let base = repo.merge_base(&source, &destination).await.map_err(|e| git_failed(e.0))?;
    let mut out = json!({ "sourceCommitId": source, "destinationCommitId": destination });
    if let Some(b) = base {
        out["baseCommitId"] = json!(b);
    }
    Ok(out)
}

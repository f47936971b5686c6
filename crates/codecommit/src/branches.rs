//! Branches: create at a commit, read, list, delete, and the default branch (also the bare
//! repository's HEAD, so `git clone` checks it out). Every change is recorded with the triggers
//! it fires (`triggers::sync`).

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{branch_not_found, commit_not_found, err, git_failed};
use crate::git::ZERO;
use crate::{Inner, repos, s, triggers};

pub fn check_branch_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() {
        return Err(err("BranchNameRequiredException", "A branch name is required."));
    }
    let bad = name.len() > 256
        || name.starts_with('-')
        || name.starts_with('/')
        || name.ends_with('/')
        || name.ends_with(".lock")
        || name.ends_with('.')
        || name.contains("..")
        || name.contains("//")
        || name.contains("@{")
        || name.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c));
    if bad {
        return Err(err("InvalidBranchNameException", format!("{name} is not a valid branch name")));
    }
    Ok(())
}

/// The ARN that changes made through the API are recorded as.
pub fn user_arn(ctx: &RequestContext) -> String {
    format!("arn:aws:iam::{}:root", ctx.account)
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let branch = s(&input, "branchName").to_string();
    check_branch_name(&branch)?;
    let spec = s(&input, "commitId");
    if spec.is_empty() {
        return Err(err("CommitIdRequiredException", "A commit ID is required."));
    }
    let commit = repo.commit_of(spec).await.map_err(|e| git_failed(e.0))?.ok_or_else(|| commit_not_found(spec))?;
    let _guard = i.lock(doc.id()).await;
    let created = repo.update_ref(&format!("refs/heads/{branch}"), &commit, ZERO).await.map_err(|e| git_failed(e.0))?;
    if !created {
        return Err(err("BranchNameExistsException", format!("Branch {branch} already exists")));
    }
    triggers::sync(i, &doc.account, &doc.region, doc.name(), &user_arn(ctx)).await?;
    Ok(json!({}))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (_, repo) = repos::open(i, ctx, &input).await?;
    let branch = s(&input, "branchName");
    check_branch_name(branch)?;
    let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
    let commit = branches.get(&format!("refs/heads/{branch}")).ok_or_else(|| branch_not_found(branch))?;
    Ok(json!({ "branch": { "branchName": branch, "commitId": commit } }))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (_, repo) = repos::open(i, ctx, &input).await?;
    let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
    let names: Vec<String> =
        branches.keys().filter_map(|r| r.strip_prefix("refs/heads/")).map(str::to_string).collect();
    const PAGE: usize = 100;
    let start = match input.get("nextToken").and_then(Value::as_str) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| err("InvalidContinuationTokenException", "The continuation token is not valid."))?,
        None => 0,
    };
    let mut out = json!({ "branches": names.iter().skip(start).take(PAGE).collect::<Vec<_>>() });
    if start + PAGE < names.len() {
        out["nextToken"] = json!((start + PAGE).to_string());
    }
    Ok(out)
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let branch = s(&input, "branchName").to_string();
    check_branch_name(&branch)?;
    if doc.default_branch() == Some(branch.as_str()) {
        return Err(err(
            "DefaultBranchCannotBeDeletedException",
            format!("The default branch {branch} cannot be deleted. Choose another default branch first."),
        ));
    }
    let _guard = i.lock(doc.id()).await;
    let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
    let Some(commit) = branches.get(&format!("refs/heads/{branch}")).cloned() else {
        return Ok(json!({}));
    };
    if !repo.delete_ref(&format!("refs/heads/{branch}"), &commit).await.map_err(|e| git_failed(e.0))? {
        return Err(err("ConcurrentReferenceUpdateException", "The branch changed while it was being deleted."));
    }
    triggers::sync(i, &doc.account, &doc.region, doc.name(), &user_arn(ctx)).await?;
    Ok(json!({ "deletedBranch": { "branchName": branch, "commitId": commit } }))
}

pub async fn update_default(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let branch = s(&input, "defaultBranchName").to_string();
    check_branch_name(&branch)?;
    let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
    if !branches.contains_key(&format!("refs/heads/{branch}")) {
        return Err(branch_not_found(&branch));
    }
    repo.set_head(&branch).await.map_err(|e| git_failed(e.0))?;
    let now = i.now();
    repos::modify(i, &doc.account, &doc.region, doc.name(), move |d| {
        d.metadata["defaultBranch"] = json!(branch);
        d.metadata["lastModifiedDate"] = crate::store::secs(now);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names() {
        for ok in ["main", "feature/x", "v1.0"] {
            assert!(check_branch_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a..b", "x.lock", "-x", "a b", "a:b", "/a", "a/"] {
            assert!(check_branch_name(bad).is_err(), "{bad}");
        }
    }
}

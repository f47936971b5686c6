//! Merging: GetMergeOptions, GetMergeConflicts, GetMergeCommit's neighbours, and
//! MergeBranchesByFastForward / BySquash / ByThreeWay. The merged tree is git's own
//! (`merge-tree --write-tree`); a conflict is AWS's ManualMergeRequiredException. The target
//! branch moves by compare-and-swap under the repository's lock, and the move fires triggers.

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::branches::{check_branch_name, user_arn};
use crate::content::resolve;
use crate::errors::{err, git_failed};
use crate::git::Repo;
use crate::store::RepoDoc;
use crate::{Inner, repos, s, triggers};

pub const FAST_FORWARD: &str = "FAST_FORWARD_MERGE";
pub const SQUASH: &str = "SQUASH_MERGE";
pub const THREE_WAY: &str = "THREE_WAY_MERGE";

fn manual() -> AwsError {
    err(
        "ManualMergeRequiredException",
        "The merge cannot be completed automatically because the source and destination have conflicting changes. Merge them manually.",
    )
}

/// How a merge is done, and who and what its commit says.
pub struct Merge<'a> {
    pub option: &'a str,
    pub source: String,
    pub destination: String,
    /// The branch that moves.
    pub target: String,
    pub message: String,
    pub name: String,
    pub email: String,
}

/// Merges under the repository's lock; answers (commit, tree).
pub async fn merge(
    i: &Inner,
    ctx: &RequestContext,
    doc: &RepoDoc,
    repo: &Repo,
    m: Merge<'_>,
) -> Result<(String, String), AwsError> {
    let _guard = i.lock(doc.id()).await;
    let target_ref = format!("refs/heads/{}", m.target);
    let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
    let Some(tip) = branches.get(&target_ref).cloned() else { return Err(crate::errors::branch_not_found(&m.target)) };
    let (commit, tree) = match m.option {
        FAST_FORWARD => {
            if !repo.is_ancestor(&m.destination, &m.source).await.map_err(|e| git_failed(e.0))? {
                return Err(manual());
            }
            let tree = repo.commit(&m.source).await.map_err(|e| git_failed(e.0))?.map(|c| c.tree).unwrap_or_default();
            (m.source.clone(), tree)
        }
        _ => {
            let merged = repo.merge_tree(&m.destination, &m.source).await.map_err(|e| git_failed(e.0))?;
            if !merged.conflicts.is_empty() {
                return Err(manual());
            }
            let parents = if m.option == SQUASH {
                vec![m.destination.clone()]
            } else {
                vec![m.destination.clone(), m.source.clone()]
            };
            let message = if m.message.is_empty() {
                format!("Merged {} into {}\n", short(&m.source), m.target)
            } else {
                format!("{}\n", m.message.trim_end_matches('\n'))
            };
            let id = repo
                .commit_tree(&merged.tree, &parents, &message, &m.name, &m.email)
                .await
                .map_err(|e| git_failed(e.0))?;
            (id, merged.tree)
        }
    };
    if !repo.update_ref(&target_ref, &commit, &tip).await.map_err(|e| git_failed(e.0))? {
        return Err(err("ConcurrentReferenceUpdateException", "The branch moved while the merge was being made."));
    }
    triggers::sync(i, &doc.account, &doc.region, doc.name(), &user_arn(ctx)).await?;
    Ok((commit, tree))
}

fn short(id: &str) -> &str {
    &id[..id.len().min(7)]
}

/// The source and destination commits of an input, their merge base, and the branch to move.
async fn sides(doc: &RepoDoc, repo: &Repo, input: &Value) -> Result<(String, String, Option<String>), AwsError> {
    let (src, dst) = (s(input, "sourceCommitSpecifier"), s(input, "destinationCommitSpecifier"));
    if src.is_empty() || dst.is_empty() {
        return Err(err("CommitRequiredException", "A source and a destination commit specifier are required."));
    }
    let source = resolve(doc, repo, src).await?;
    let destination = resolve(doc, repo, dst).await?;
    let base = repo.merge_base(&source, &destination).await.map_err(|e| git_failed(e.0))?;
    Ok((source, destination, base))
}

fn author(input: &Value) -> (String, String) {
    let name = s(input, "authorName");
    (if name.is_empty() { "AWS CodeCommit".to_string() } else { name.to_string() }, s(input, "email").to_string())
}

pub async fn get_merge_options(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let (source, destination, base) = sides(&doc, &repo, &input).await?;
    let mut options = Vec::new();
    if repo.is_ancestor(&destination, &source).await.map_err(|e| git_failed(e.0))? {
        options.push(FAST_FORWARD);
    }
    options.extend([SQUASH, THREE_WAY]);
    let mut out = json!({ "mergeOptions": options, "sourceCommitId": source, "destinationCommitId": destination });
    if let Some(b) = base {
        out["baseCommitId"] = json!(b);
    }
    Ok(out)
}

pub async fn get_merge_conflicts(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let (source, destination, base) = sides(&doc, &repo, &input).await?;
    let merged = repo.merge_tree(&destination, &source).await.map_err(|e| git_failed(e.0))?;
    let fast_forward = s(&input, "mergeOption") == FAST_FORWARD;
    let ff_ok = repo.is_ancestor(&destination, &source).await.map_err(|e| git_failed(e.0))?;
    let conflicts: Vec<Value> = merged
        .conflicts
        .iter()
        .map(|p| {
            json!({
                "filePath": p,
                "numberOfConflicts": 1,
                "contentConflict": true,
                "fileModeConflict": false,
                "objectTypeConflict": false,
                "isBinaryFile": {"source": false, "destination": false, "base": false},
                "mergeOperations": {"source": "M", "destination": "M"},
            })
        })
        .collect();
    let mergeable = if fast_forward { ff_ok } else { conflicts.is_empty() };
    let mut out = json!({
        "mergeable": mergeable,
        "destinationCommitId": destination,
        "sourceCommitId": source,
        "conflictMetadataList": conflicts,
    });
    if let Some(b) = base {
        out["baseCommitId"] = json!(b);
    }
    Ok(out)
}

async fn merge_branches(i: &Inner, ctx: &RequestContext, input: Value, option: &str) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let (source, destination, _) = sides(&doc, &repo, &input).await?;
    let target = match s(&input, "targetBranch") {
        "" => {
            let dst = s(&input, "destinationCommitSpecifier");
            let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
            if !branches.contains_key(&format!("refs/heads/{dst}")) {
                return Err(err(
                    "BranchNameRequiredException",
                    "A target branch is required when the destination is not a branch.",
                ));
            }
            dst.to_string()
        }
        t => t.to_string(),
    };
    check_branch_name(&target)?;
    let (name, email) = author(&input);
    let m = Merge { option, source, destination, target, message: s(&input, "commitMessage").to_string(), name, email };
    let (commit, tree) = merge(i, ctx, &doc, &repo, m).await?;
    Ok(json!({ "commitId": commit, "treeId": tree }))
}

pub async fn by_fast_forward(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    merge_branches(i, ctx, input, FAST_FORWARD).await
}

pub async fn by_squash(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    merge_branches(i, ctx, input, SQUASH).await
}

pub async fn by_three_way(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    merge_branches(i, ctx, input, THREE_WAY).await
}

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

/// One side of a conflicting hunk: its lines (1-based, inclusive) and text.
fn hunk_side(start: usize, lines: &[&str]) -> Value {
    let end = if lines.is_empty() { start } else { start + lines.len() - 1 };
    json!({"startLine": start, "endLine": end, "hunkContent": lines.iter().map(|l| format!("{l}\n")).collect::<String>()})
}

/// The conflicting hunks of git's diff3 merge output (`<<<<<<<` destination, `|||||||` base,
/// `=======` source, `>>>>>>>`), with line numbers in each version.
pub fn hunks(merged: &str) -> Vec<Value> {
    let (mut dst_line, mut base_line, mut src_line) = (1usize, 1usize, 1usize);
    let mut out = Vec::new();
    let mut lines = merged.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.starts_with("<<<<<<<") {
            dst_line += 1;
            base_line += 1;
            src_line += 1;
            continue;
        }
        let (mut dst, mut base, mut src) = (Vec::new(), Vec::new(), Vec::new());
        let mut part = 0;
        for l in lines.by_ref() {
            if l.starts_with("|||||||") {
                part = 1;
            } else if l.starts_with("=======") {
                part = 2;
            } else if l.starts_with(">>>>>>>") {
                break;
            } else {
                match part {
                    0 => dst.push(l),
                    1 => base.push(l),
                    _ => src.push(l),
                }
            }
        }
        out.push(json!({
            "isConflict": true,
            "destination": hunk_side(dst_line, &dst),
            "base": hunk_side(base_line, &base),
            "source": hunk_side(src_line, &src),
        }));
        dst_line += dst.len();
        base_line += base.len();
        src_line += src.len();
    }
    out
}

/// DescribeMergeConflicts: one file's conflicts, as hunks of the three versions.
pub async fn describe_merge_conflicts(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (doc, repo) = repos::open(i, ctx, &input).await?;
    let (source, destination, base) = sides(&doc, &repo, &input).await?;
    let path = crate::content::clean_path(s(&input, "filePath"));
    if path.is_empty() {
        return Err(err("PathRequiredException", "A file path is required."));
    }
    let merged = repo.merge_tree(&destination, &source).await.map_err(|e| git_failed(e.0))?;
    if !merged.conflicts.iter().any(|c| c == &path) {
        return Err(err("FileDoesNotExistException", format!("The file {path} has no merge conflict.")));
    }
    let blob_at = |commit: Option<String>| {
        let (repo, path) = (repo.clone(), path.clone());
        async move {
            match commit {
                Some(c) => Ok::<_, AwsError>(
                    repo.entry(&c, &path).await.map_err(|e| git_failed(e.0))?.filter(|(_, k, _)| k == "blob"),
                ),
                None => Ok(None),
            }
        }
    };
    let (dst, bas, src) =
        (blob_at(Some(destination.clone())).await?, blob_at(base.clone()).await?, blob_at(Some(source.clone())).await?);
    let empty = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391".to_string();
    let id = |b: &Option<(String, String, String)>| b.as_ref().map(|x| x.2.clone()).unwrap_or_else(|| empty.clone());
    let out = repo
        .run(&["merge-file", "-p", "--diff3", "--object-id", &id(&dst), &id(&bas), &id(&src)], None, &[])
        .await
        .map_err(|e| git_failed(e.0))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut found = hunks(&text);
    let max = input.get("maxMergeHunks").and_then(Value::as_u64).unwrap_or(1000) as usize;
    found.truncate(max.max(1));
    let mut sizes = Vec::new();
    for b in [&src, &dst, &bas] {
        let n = match b {
            Some((_, _, id)) => {
                let out = repo.run(&["cat-file", "-s", id], None, &[]).await.map_err(|e| git_failed(e.0))?;
                String::from_utf8_lossy(&out.stdout).trim().parse::<u64>().unwrap_or(0)
            }
            None => 0,
        };
        sizes.push(n);
    }
    let mode =
        |b: &Option<(String, String, String)>| b.as_ref().map(|x| crate::git::file_mode(&x.0)).unwrap_or("NORMAL");
    let mut out = json!({
        "conflictMetadata": {
            "filePath": path,
            "fileSizes": {"source": sizes[0], "destination": sizes[1], "base": sizes[2]},
            "fileModes": {"source": mode(&src), "destination": mode(&dst), "base": mode(&bas)},
            "objectTypes": {"source": "FILE", "destination": "FILE", "base": "FILE"},
            "numberOfConflicts": found.len(),
            "isBinaryFile": {"source": false, "destination": false, "base": false},
            "contentConflict": true,
            "fileModeConflict": false,
            "objectTypeConflict": false,
            "mergeOperations": {"source": if src.is_some() { "M" } else { "D" }, "destination": if dst.is_some() { "M" } else { "D" }},
        },
        "mergeHunks": found,
        "destinationCommitId": destination,
        "sourceCommitId": source,
    });
    if let Some(b) = base {
        out["baseCommitId"] = json!(b);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff3_hunks() {
        let merged = "a\n<<<<<<< ours\nmine\n||||||| base\nold\n=======\ntheirs\n>>>>>>> theirs\nz\n";
        let h = hunks(merged);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0]["destination"]["startLine"], 2);
        assert_eq!(h[0]["destination"]["hunkContent"], "mine\n");
        assert_eq!(h[0]["base"]["hunkContent"], "old\n");
        assert_eq!(h[0]["source"]["hunkContent"], "theirs\n");
    }
}

//! Pull requests and their comments. A pull request asks to merge a source branch into a
//! destination branch of one repository; while it is open its source and destination commits
//! and merge base follow the branches. Merging it (fast-forward, squash or three-way, as
//! `merges::merge` does for branches) moves the destination and closes it.
//!
//! Keys: `codecommit-pr/{account}/{region}/{id, 12 digits}` → the pull request (ids count up per
//! account and region from 1); `codecommit-comment/{account}/{region}/{commentId}` → a comment
//! with what it is about.

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::branches::user_arn;
use crate::errors::{err, git_failed};
use crate::git::Repo;
use crate::merges::{self, FAST_FORWARD, Merge, SQUASH, THREE_WAY};
use crate::store::{self, RepoDoc};
use crate::{Inner, repos, s};

fn pr_key(account: &str, region: &str, id: u64) -> String {
    format!("codecommit-pr/{account}/{region}/{id:012}")
}

fn prs_prefix(account: &str, region: &str) -> String {
    format!("codecommit-pr/{account}/{region}/")
}

fn comment_key(account: &str, region: &str, id: &str) -> String {
    format!("codecommit-comment/{account}/{region}/{id}")
}

fn pr_not_found(id: &str) -> AwsError {
    err("PullRequestDoesNotExistException", format!("The pull request ID {id} could not be found."))
}

fn pr_id(input: &Value) -> Result<u64, AwsError> {
    let raw = s(input, "pullRequestId");
    if raw.is_empty() {
        return Err(err("PullRequestIdRequiredException", "A pull request ID is required."));
    }
    raw.parse::<u64>()
        .map_err(|_| err("InvalidPullRequestIdException", format!("The pull request ID {raw} is not valid.")))
}

async fn load(i: &Inner, ctx: &RequestContext, id: u64) -> Result<Value, AwsError> {
    let key = pr_key(&ctx.account, &ctx.region, id);
    i.store.read(move |r| store::get_json::<Value>(r, &key)).await?.ok_or_else(|| pr_not_found(&id.to_string()))
}

async fn save(i: &Inner, ctx: &RequestContext, id: u64, pr: Value) -> Result<(), AwsError> {
    let key = pr_key(&ctx.account, &ctx.region, id);
    i.store.write(move |t| store::put_json(t, &key, &pr)).await
}

/// An open pull request's target with its commits as the branches are now.
async fn refresh(i: &Inner, ctx: &RequestContext, pr: &mut Value) -> Result<(), AwsError> {
    if s(pr, "pullRequestStatus") != "OPEN" {
        return Ok(());
    }
    let Some(target) = pr.pointer_mut("/pullRequestTargets/0") else { return Ok(()) };
    let Ok(doc) = repos::load(i, &ctx.account, &ctx.region, s(target, "repositoryName")).await else { return Ok(()) };
    let repo = Repo::new(doc.dir(&i.root));
    let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
    let (src, dst) =
        (branches.get(s(target, "sourceReference")).cloned(), branches.get(s(target, "destinationReference")).cloned());
    if let (Some(src), Some(dst)) = (src, dst) {
        let base = repo.merge_base(&src, &dst).await.map_err(|e| git_failed(e.0))?;
        target["sourceCommit"] = json!(src);
        target["destinationCommit"] = json!(dst);
        if let Some(b) = base {
            target["mergeBase"] = json!(b);
        }
    }
    Ok(())
}

fn full_ref(r: &str) -> String {
    if r.starts_with("refs/") { r.to_string() } else { format!("refs/heads/{r}") }
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let title = s(&input, "title").to_string();
    if title.is_empty() {
        return Err(err("TitleRequiredException", "A pull request title is required."));
    }
    let targets = input.get("targets").and_then(Value::as_array).cloned().unwrap_or_default();
    let Some(t) = targets.first() else {
        return Err(err("TargetsRequiredException", "An array of target objects is required."));
    };
    if targets.len() > 1 {
        return Err(err("MultipleRepositoriesInPullRequestException", "A pull request can name one repository."));
    }
    let token = s(&input, "clientRequestToken").to_string();
    if !token.is_empty() {
        let prefix = prs_prefix(&ctx.account, &ctx.region);
        let existing: Vec<Value> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
        if let Some(mut pr) = existing.into_iter().find(|p| s(p, "clientRequestToken") == token) {
            refresh(i, ctx, &mut pr).await?;
            return Ok(json!({ "pullRequest": pr }));
        }
    }
    let doc = repos::load(i, &ctx.account, &ctx.region, s(t, "repositoryName")).await?;
    let repo = Repo::new(doc.dir(&i.root));
    let (source_ref, dest_ref) = (full_ref(s(t, "sourceReference")), full_ref(s(t, "destinationReference")));
    let dest_ref = if s(t, "destinationReference").is_empty() {
        match doc.default_branch() {
            Some(b) => format!("refs/heads/{b}"),
            None => return Err(err("ReferenceDoesNotExistException", "The repository has no default branch.")),
        }
    } else {
        dest_ref
    };
    if source_ref == dest_ref {
        return Err(err(
            "SourceAndDestinationAreSameException",
            "The source branch and destination branch for the pull request are the same.",
        ));
    }
    let branches = repo.branches().await.map_err(|e| git_failed(e.0))?;
    let missing =
        |r: &str| err("ReferenceDoesNotExistException", format!("The specified reference {r} does not exist."));
    let src = branches.get(&source_ref).cloned().ok_or_else(|| missing(&source_ref))?;
    let dst = branches.get(&dest_ref).cloned().ok_or_else(|| missing(&dest_ref))?;
    let base = repo.merge_base(&src, &dst).await.map_err(|e| git_failed(e.0))?;
    let now = store::secs(i.now());
    let mut target = json!({
        "repositoryName": doc.name(),
        "sourceReference": source_ref,
        "destinationReference": dest_ref,
        "sourceCommit": src,
        "destinationCommit": dst,
        "mergeMetadata": {"isMerged": false},
    });
    if let Some(b) = base {
        target["mergeBase"] = json!(b);
    }
    let mut pr = json!({
        "title": title,
        "lastActivityDate": now,
        "creationDate": now,
        "pullRequestStatus": "OPEN",
        "authorArn": user_arn(ctx),
        "pullRequestTargets": [target],
        "revisionId": i.env.ids.uuid(),
        "approvalRules": [],
    });
    if let Some(d) = input.get("description").and_then(Value::as_str) {
        pr["description"] = json!(d);
    }
    if !token.is_empty() {
        pr["clientRequestToken"] = json!(token);
    }
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let stored = pr.clone();
    let id = i
        .store
        .write(move |t| {
            let id = stratus_storage::next_sequence(t, &format!("codecommit-pr/{account}/{region}"))
                .map_err(AwsError::from)?;
            let mut pr = stored;
            pr["pullRequestId"] = json!(id.to_string());
            store::put_json(t, &pr_key(&account, &region, id), &pr)?;
            Ok::<_, AwsError>(id)
        })
        .await?;
    pr["pullRequestId"] = json!(id.to_string());
    Ok(json!({ "pullRequest": pr }))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = pr_id(&input)?;
    let mut pr = load(i, ctx, id).await?;
    refresh(i, ctx, &mut pr).await?;
    Ok(json!({ "pullRequest": pr }))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let repo = s(&input, "repositoryName").to_string();
    repos::load(i, &ctx.account, &ctx.region, &repo).await?;
    let prefix = prs_prefix(&ctx.account, &ctx.region);
    let mut all: Vec<Value> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    all.reverse();
    let status = s(&input, "pullRequestStatus");
    if !status.is_empty() && status != "OPEN" && status != "CLOSED" {
        return Err(err(
            "InvalidPullRequestStatusException",
            format!("The pull request status {status} is not valid."),
        ));
    }
    let author = s(&input, "authorArn");
    let ids: Vec<String> = all
        .iter()
        .filter(|p| p.pointer("/pullRequestTargets/0/repositoryName").and_then(Value::as_str) == Some(repo.as_str()))
        .filter(|p| status.is_empty() || s(p, "pullRequestStatus") == status)
        .filter(|p| author.is_empty() || s(p, "authorArn") == author)
        .map(|p| s(p, "pullRequestId").to_string())
        .collect();
    let max = input.get("maxResults").and_then(Value::as_u64).unwrap_or(100).clamp(1, 100) as usize;
    let start = match input.get("nextToken").and_then(Value::as_str) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| err("InvalidContinuationTokenException", "The continuation token is not valid."))?,
        None => 0,
    };
    let mut out = json!({ "pullRequestIds": ids.iter().skip(start).take(max).collect::<Vec<_>>() });
    if start + max < ids.len() {
        out["nextToken"] = json!((start + max).to_string());
    }
    Ok(out)
}

async fn update(
    i: &Inner,
    ctx: &RequestContext,
    input: &Value,
    f: impl FnOnce(&mut Value) -> Result<(), AwsError>,
) -> Result<Value, AwsError> {
    let id = pr_id(input)?;
    let mut pr = load(i, ctx, id).await?;
    refresh(i, ctx, &mut pr).await?;
    f(&mut pr)?;
    pr["lastActivityDate"] = store::secs(i.now());
    pr["revisionId"] = json!(i.env.ids.uuid());
    save(i, ctx, id, pr.clone()).await?;
    Ok(json!({ "pullRequest": pr }))
}

pub async fn update_title(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let title = s(&input, "title").to_string();
    if title.is_empty() {
        return Err(err("TitleRequiredException", "A pull request title is required."));
    }
    update(i, ctx, &input, |pr| {
        if s(pr, "pullRequestStatus") != "OPEN" {
            return Err(err(
                "PullRequestAlreadyClosedException",
                "The pull request status cannot be updated because it is already closed.",
            ));
        }
        pr["title"] = json!(title);
        Ok(())
    })
    .await
}

pub async fn update_description(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let description = s(&input, "description").to_string();
    update(i, ctx, &input, |pr| {
        if s(pr, "pullRequestStatus") != "OPEN" {
            return Err(err(
                "PullRequestAlreadyClosedException",
                "The pull request status cannot be updated because it is already closed.",
            ));
        }
        pr["description"] = json!(description);
        Ok(())
    })
    .await
}

pub async fn update_status(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let status = s(&input, "pullRequestStatus").to_string();
    if status != "OPEN" && status != "CLOSED" {
        return Err(err(
            "InvalidPullRequestStatusUpdateException",
            format!("The pull request status update {status} is not valid."),
        ));
    }
    update(i, ctx, &input, |pr| {
        if pr.pointer("/pullRequestTargets/0/mergeMetadata/isMerged").and_then(Value::as_bool) == Some(true) {
            return Err(err("PullRequestAlreadyClosedException", "A merged pull request cannot be reopened."));
        }
        pr["pullRequestStatus"] = json!(status);
        Ok(())
    })
    .await
}

async fn merge_pr(i: &Inner, ctx: &RequestContext, input: Value, option: &str) -> Result<Value, AwsError> {
    let id = pr_id(&input)?;
    let mut pr = load(i, ctx, id).await?;
    if s(&pr, "pullRequestStatus") != "OPEN" {
        return Err(err(
            "PullRequestAlreadyClosedException",
            "The pull request status cannot be updated because it is already closed.",
        ));
    }
    refresh(i, ctx, &mut pr).await?;
    let target = pr.pointer("/pullRequestTargets/0").cloned().unwrap_or_default();
    let repo_name = s(&input, "repositoryName");
    if repo_name.is_empty() || repo_name != s(&target, "repositoryName") {
        return Err(err(
            "RepositoryNotAssociatedWithPullRequestException",
            "The repository is not associated with the pull request.",
        ));
    }
    let doc: RepoDoc = repos::load(i, &ctx.account, &ctx.region, repo_name).await?;
    let repo = Repo::new(doc.dir(&i.root));
    let source = s(&target, "sourceCommit").to_string();
    let given = s(&input, "sourceCommitId");
    if !given.is_empty() && given != source {
        return Err(err(
            "TipOfSourceReferenceIsDifferentException",
            "The tip of the source branch in the destination repository does not match the tip of the source branch specified in your request.",
        ));
    }
    let name = s(&input, "authorName");
    let m = Merge {
        option,
        source,
        destination: s(&target, "destinationCommit").to_string(),
        target: s(&target, "destinationReference").trim_start_matches("refs/heads/").to_string(),
        message: s(&input, "commitMessage").to_string(),
        name: if name.is_empty() { "AWS CodeCommit".into() } else { name.into() },
        email: s(&input, "email").to_string(),
    };
    let (commit, _) = merges::merge(i, ctx, &doc, &repo, m).await?;
    pr["pullRequestStatus"] = json!("CLOSED");
    pr["lastActivityDate"] = store::secs(i.now());
    pr["revisionId"] = json!(i.env.ids.uuid());
    pr["pullRequestTargets"][0]["mergeMetadata"] =
        json!({"isMerged": true, "mergedBy": user_arn(ctx), "mergeCommitId": commit, "mergeOption": option});
    save(i, ctx, id, pr.clone()).await?;
    Ok(json!({ "pullRequest": pr }))
}

pub async fn merge_by_fast_forward(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    merge_pr(i, ctx, input, FAST_FORWARD).await
}

pub async fn merge_by_squash(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    merge_pr(i, ctx, input, SQUASH).await
}

pub async fn merge_by_three_way(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    merge_pr(i, ctx, input, THREE_WAY).await
}

// ------------------------------------------------------------------------- comments

fn comment_not_found() -> AwsError {
    err(
        "CommentDoesNotExistException",
        "No comment exists with the provided ID. Verify that you have used the correct ID, and then try again.",
    )
}

fn content_of(input: &Value) -> Result<String, AwsError> {
    let c = s(input, "content");
    if c.is_empty() {
        return Err(err(
            "CommentContentRequiredException",
            "The comment is empty. You must provide some content for a comment.",
        ));
    }
    if c.len() > 10240 {
        return Err(err(
            "CommentContentSizeLimitExceededException",
            "The comment is too large. Comments are limited to 10,240 characters.",
        ));
    }
    Ok(c.to_string())
}

/// A comment as answered (without what it is about).
fn shown(c: &Value) -> Value {
    let mut out = c.clone();
    if let Some(o) = out.as_object_mut() {
        for k in ["pullRequestId", "repositoryName", "beforeCommitId", "afterCommitId", "location"] {
            o.remove(k);
        }
    }
    out
}

async fn load_comment(i: &Inner, ctx: &RequestContext, id: &str) -> Result<Value, AwsError> {
    if id.is_empty() {
        return Err(err("CommentIdRequiredException", "The comment ID is missing or null."));
    }
    let key = comment_key(&ctx.account, &ctx.region, id);
    i.store.read(move |r| store::get_json::<Value>(r, &key)).await?.ok_or_else(comment_not_found)
}

async fn save_comment(i: &Inner, ctx: &RequestContext, c: Value) -> Result<(), AwsError> {
    let key = comment_key(&ctx.account, &ctx.region, s(&c, "commentId"));
    i.store.write(move |t| store::put_json(t, &key, &c)).await
}

fn new_comment(i: &Inner, ctx: &RequestContext, content: String, token: &str) -> Value {
    let now = store::secs(i.now());
    let mut c = json!({
        "commentId": i.env.ids.uuid(),
        "content": content,
        "creationDate": now,
        "lastModifiedDate": now,
        "authorArn": user_arn(ctx),
        "deleted": false,
        "callerReactions": [],
        "reactionCounts": {},
    });
    if !token.is_empty() {
        c["clientRequestToken"] = json!(token);
    }
    c
}

pub async fn post_for_pull_request(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = pr_id(&input)?;
    let pr = load(i, ctx, id).await?;
    let content = content_of(&input)?;
    let repo_name = s(&input, "repositoryName");
    if repo_name != pr.pointer("/pullRequestTargets/0/repositoryName").and_then(Value::as_str).unwrap_or("") {
        return Err(err(
            "RepositoryNotAssociatedWithPullRequestException",
            "The repository is not associated with the pull request.",
        ));
    }
    let (before, after) = (s(&input, "beforeCommitId").to_string(), s(&input, "afterCommitId").to_string());
    if before.is_empty() || after.is_empty() {
        return Err(err("CommitIdRequiredException", "The before and after commit IDs are required."));
    }
    let mut c = new_comment(i, ctx, content, s(&input, "clientRequestToken"));
    for (k, v) in [
        ("pullRequestId", json!(id.to_string())),
        ("repositoryName", json!(repo_name)),
        ("beforeCommitId", json!(before)),
        ("afterCommitId", json!(after)),
    ] {
        c[k] = v;
    }
    if let Some(l) = input.get("location") {
        c["location"] = l.clone();
    }
    save_comment(i, ctx, c.clone()).await?;
    let mut out = json!({
        "repositoryName": repo_name,
        "pullRequestId": id.to_string(),
        "beforeCommitId": before,
        "afterCommitId": after,
        "comment": shown(&c),
    });
    if let Some(l) = input.get("location") {
        out["location"] = l.clone();
    }
    Ok(out)
}

pub async fn get_for_pull_request(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = pr_id(&input)?;
    load(i, ctx, id).await?;
    let prefix = format!("codecommit-comment/{}/{}/", ctx.account, ctx.region);
    let all: Vec<Value> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    let mine: Vec<&Value> = all.iter().filter(|c| s(c, "pullRequestId") == id.to_string()).collect();
    let mut groups: Vec<(String, String, Value, Vec<Value>)> = Vec::new();
    let mut sorted = mine.clone();
    sorted.sort_by(|a, b| {
        let t = |c: &Value| c.get("creationDate").and_then(Value::as_f64).unwrap_or(0.0);
        t(a).total_cmp(&t(b))
    });
    for c in sorted {
        let key = (
            s(c, "beforeCommitId").to_string(),
            s(c, "afterCommitId").to_string(),
            c.get("location").cloned().unwrap_or(Value::Null),
        );
        match groups.iter_mut().find(|g| g.0 == key.0 && g.1 == key.1 && g.2 == key.2) {
            Some(g) => g.3.push(shown(c)),
            None => groups.push((key.0, key.1, key.2, vec![shown(c)])),
        }
    }
    let data: Vec<Value> = groups
        .into_iter()
        .map(|(before, after, location, comments)| {
            let repo = mine.first().map(|c| s(c, "repositoryName")).unwrap_or("");
            let mut d = json!({"pullRequestId": id.to_string(), "repositoryName": repo, "beforeCommitId": before,
                               "afterCommitId": after, "comments": comments});
            if !location.is_null() {
                d["location"] = location;
            }
            d
        })
        .collect();
    Ok(json!({ "commentsForPullRequestData": data }))
}

pub async fn reply(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let parent = load_comment(i, ctx, s(&input, "inReplyTo")).await?;
    let content = content_of(&input)?;
    let mut c = new_comment(i, ctx, content, s(&input, "clientRequestToken"));
    c["inReplyTo"] = json!(s(&parent, "commentId"));
    for k in ["pullRequestId", "repositoryName", "beforeCommitId", "afterCommitId", "location"] {
        if let Some(v) = parent.get(k) {
            c[k] = v.clone();
        }
    }
    save_comment(i, ctx, c.clone()).await?;
    Ok(json!({ "comment": shown(&c) }))
}

pub async fn get_comment(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let c = load_comment(i, ctx, s(&input, "commentId")).await?;
    Ok(json!({ "comment": shown(&c) }))
}

pub async fn update_comment(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let mut c = load_comment(i, ctx, s(&input, "commentId")).await?;
    if c.get("deleted").and_then(Value::as_bool) == Some(true) {
        return Err(err(
            "CommentDeletedException",
            "This comment has already been deleted. You cannot edit or delete a deleted comment.",
        ));
    }
    c["content"] = json!(content_of(&input)?);
    c["lastModifiedDate"] = store::secs(i.now());
    save_comment(i, ctx, c.clone()).await?;
    Ok(json!({ "comment": shown(&c) }))
}

pub async fn delete_content(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let mut c = load_comment(i, ctx, s(&input, "commentId")).await?;
    if let Some(o) = c.as_object_mut() {
        o.remove("content");
    }
    c["deleted"] = json!(true);
    c["lastModifiedDate"] = store::secs(i.now());
    save_comment(i, ctx, c.clone()).await?;
    Ok(json!({ "comment": shown(&c) }))
}

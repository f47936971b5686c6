//! AWS CodeCommit (JSON 1.1, `CodeCommit_20150413`): repositories kept as real bare git
//! repositories on disk, with git itself doing every git operation (`git`); the CodeCommit API
//! over them; git's smart HTTP protocol through `git http-backend` (`http`); and repository
//! triggers, whose records go out through the storage outbox (topic [`EVENTS_TOPIC`]) for the
//! binary's trigger engine to deliver to SNS topics and Lambda functions.
//!
//! - `store`: what is stored where; `errors`: AWS's exceptions; `git`: the git commands.
//! - `repos` (repositories and tags), `branches`, `content` (commits, files, folders, blobs,
//!   differences), `commits` (PutFile, DeleteFile, CreateCommit), `merges` (merge options,
//!   conflicts, merging branches), `pulls` (pull requests and their comments), `triggers` (the
//!   triggers and the records every branch change fires): the operations.
//! - `http`: `git clone`/`fetch`/`push` over HTTP.
//!
//! Operations of the model not listed in [`SUPPORTED`] (approval rules and templates, comments
//! on compared commits, reactions, CreateUnreferencedMergeCommit, BatchDescribeMergeConflicts, encryption keys) answer
//! `UnknownOperationException`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::{AwsError, BoxFuture, Operation, Service, ServiceModel};
use stratus_storage::Store;

mod branches;
mod commits;
mod content;
mod errors;
pub mod git;
mod http;
mod merges;
mod pulls;
mod repos;
mod store;
mod triggers;

pub use http::{GitRequest, GitResponse};

/// The outbox topic of trigger records: `{"destination", "event", "principal", "source",
/// "source_account"}`.
pub const EVENTS_TOPIC: &str = "codecommit-triggers";

static MODEL: LazyLock<Result<ServiceModel, String>> = LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../../models/codecommit.json"), None).map_err(|e| e.to_string())
});

/// The operations this server implements.
pub const SUPPORTED: &[&str] = &[
    "CreateRepository",
    "GetRepository",
    "ListRepositories",
    "BatchGetRepositories",
    "DeleteRepository",
    "UpdateRepositoryName",
    "UpdateRepositoryDescription",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "CreateBranch",
    "GetBranch",
    "ListBranches",
    "DeleteBranch",
    "UpdateDefaultBranch",
    "GetCommit",
    "BatchGetCommits",
    "GetFile",
    "GetFolder",
    "GetBlob",
    "GetDifferences",
    "GetMergeCommit",
    "PutFile",
    "DeleteFile",
    "CreateCommit",
    "PutRepositoryTriggers",
    "GetRepositoryTriggers",
    "TestRepositoryTriggers",
    "GetMergeOptions",
    "GetMergeConflicts",
    "MergeBranchesByFastForward",
    "MergeBranchesBySquash",
    "MergeBranchesByThreeWay",
    "CreatePullRequest",
    "GetPullRequest",
    "ListPullRequests",
    "UpdatePullRequestTitle",
    "UpdatePullRequestDescription",
    "UpdatePullRequestStatus",
    "MergePullRequestByFastForward",
    "MergePullRequestBySquash",
    "MergePullRequestByThreeWay",
    "PostCommentForPullRequest",
    "GetCommentsForPullRequest",
    "PostCommentReply",
    "GetComment",
    "UpdateComment",
    "DeleteCommentContent",
    "DescribeMergeConflicts",
];

/// The CodeCommit service.
#[derive(Clone)]
pub struct CodeCommit {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    model: &'static ServiceModel,
    /// Where the bare repositories are.
    pub root: PathBuf,
    /// One lock per repository: branch changes (pushes, API commits) are serialized, so each
    /// is recorded with exactly the triggers it fires.
    locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Inner {
    pub fn now(&self) -> u64 {
        self.env.clock.now_millis()
    }

    pub async fn lock(&self, repository_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(repository_id.to_string()).or_default().clone()
        };
        m.lock_owned().await
    }
}

impl CodeCommit {
    /// `root`: the directory of the bare repositories (under the data directory).
    pub fn new(store: Store, env: Env, root: PathBuf) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Self { inner: Arc::new(Inner { store, env, model, root, locks: Default::default() }) })
    }

    /// At start: branches git changed without their triggers being recorded (the server died
    /// between the two) are recorded now, and their triggers fire.
    pub async fn start(&self) -> Result<(), String> {
        triggers::reconcile(&self.inner).await.map_err(|e| format!("CodeCommit reconciliation: {}", e.message))
    }

    /// Forgets every repository's git data (the store was wiped).
    pub fn reset(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.inner.root) {
            for e in entries.flatten() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// Whether `git` is installed (CodeCommit needs it), and its version.
    pub async fn git_version() -> Option<String> {
        git::version().await
    }

    /// A git smart-HTTP request to a repository (`/v1/repos/{name}/…`).
    pub async fn git_http(&self, req: GitRequest) -> GitResponse {
        http::serve(&self.inner, req).await
    }
}

/// A string member of an input.
pub(crate) fn s<'a>(input: &'a Value, name: &str) -> &'a str {
    input.get(name).and_then(Value::as_str).unwrap_or("")
}

impl Service for CodeCommit {
    fn model(&self) -> &ServiceModel {
        self.inner.model
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &self.inner;
            match op.name.as_str() {
                "CreateRepository" => repos::create(i, ctx, input).await,
                "GetRepository" => repos::get(i, ctx, input).await,
                "ListRepositories" => repos::list(i, ctx, input).await,
                "BatchGetRepositories" => repos::batch_get(i, ctx, input).await,
                "DeleteRepository" => repos::delete(i, ctx, input).await,
                "UpdateRepositoryName" => repos::rename(i, ctx, input).await,
                "UpdateRepositoryDescription" => repos::describe(i, ctx, input).await,
                "TagResource" => repos::tag(i, ctx, input).await,
                "UntagResource" => repos::untag(i, ctx, input).await,
                "ListTagsForResource" => repos::list_tags(i, ctx, input).await,
                "CreateBranch" => branches::create(i, ctx, input).await,
                "GetBranch" => branches::get(i, ctx, input).await,
                "ListBranches" => branches::list(i, ctx, input).await,
                "DeleteBranch" => branches::delete(i, ctx, input).await,
                "UpdateDefaultBranch" => branches::update_default(i, ctx, input).await,
                "GetCommit" => content::get_commit(i, ctx, input).await,
                "BatchGetCommits" => content::batch_get_commits(i, ctx, input).await,
                "GetFile" => content::get_file(i, ctx, input).await,
                "GetFolder" => content::get_folder(i, ctx, input).await,
                "GetBlob" => content::get_blob(i, ctx, input).await,
                "GetDifferences" => content::get_differences(i, ctx, input).await,
                "GetMergeCommit" => content::get_merge_commit(i, ctx, input).await,
                "PutFile" => commits::put_file(i, ctx, input).await,
                "DeleteFile" => commits::delete_file(i, ctx, input).await,
                "CreateCommit" => commits::create_commit(i, ctx, input).await,
                "PutRepositoryTriggers" => triggers::put(i, ctx, input).await,
                "GetRepositoryTriggers" => triggers::get(i, ctx, input).await,
                "TestRepositoryTriggers" => triggers::test(i, ctx, input).await,
                "GetMergeOptions" => merges::get_merge_options(i, ctx, input).await,
                "GetMergeConflicts" => merges::get_merge_conflicts(i, ctx, input).await,
                "MergeBranchesByFastForward" => merges::by_fast_forward(i, ctx, input).await,
                "MergeBranchesBySquash" => merges::by_squash(i, ctx, input).await,
                "MergeBranchesByThreeWay" => merges::by_three_way(i, ctx, input).await,
                "CreatePullRequest" => pulls::create(i, ctx, input).await,
                "GetPullRequest" => pulls::get(i, ctx, input).await,
                "ListPullRequests" => pulls::list(i, ctx, input).await,
                "UpdatePullRequestTitle" => pulls::update_title(i, ctx, input).await,
                "UpdatePullRequestDescription" => pulls::update_description(i, ctx, input).await,
                "UpdatePullRequestStatus" => pulls::update_status(i, ctx, input).await,
                "MergePullRequestByFastForward" => pulls::merge_by_fast_forward(i, ctx, input).await,
                "MergePullRequestBySquash" => pulls::merge_by_squash(i, ctx, input).await,
                "MergePullRequestByThreeWay" => pulls::merge_by_three_way(i, ctx, input).await,
                "PostCommentForPullRequest" => pulls::post_for_pull_request(i, ctx, input).await,
                "GetCommentsForPullRequest" => pulls::get_for_pull_request(i, ctx, input).await,
                "PostCommentReply" => pulls::reply(i, ctx, input).await,
                "GetComment" => pulls::get_comment(i, ctx, input).await,
                "UpdateComment" => pulls::update_comment(i, ctx, input).await,
                "DeleteCommentContent" => pulls::delete_content(i, ctx, input).await,
                "DescribeMergeConflicts" => merges::describe_merge_conflicts(i, ctx, input).await,
                other => Err(errors::unsupported(other)),
            }
        })
    }
}

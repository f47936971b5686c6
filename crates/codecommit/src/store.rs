//! What is stored, and under which keys. A repository's git data is a bare repository on
//! disk, `{root}/{account}/{region}/{repositoryId}.git` (by id, so a rename moves nothing);
//! everything else is one document ([`RepoDoc`]) in storage:
//!
//! - `codecommit/{account}/{region}/repo/{name}` → [`RepoDoc`]
//!
//! The document also keeps the branches as last recorded (`refs`): every change of them is
//! recorded together with the trigger records it fires (the outbox, topic
//! [`crate::EVENTS_TOPIC`]) in one transaction, so what git changed and what was announced
//! are compared at start and nothing is lost between them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const PREFIX: &str = "codecommit/";

pub fn repo_key(account: &str, region: &str, name: &str) -> String {
    format!("{PREFIX}{account}/{region}/repo/{name}")
}

pub fn repos_prefix(account: &str, region: &str) -> String {
    format!("{PREFIX}{account}/{region}/repo/")
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RepoDoc {
    pub account: String,
    pub region: String,
    /// `repositoryMetadata` as answered, without the clone URLs (made from the request's host).
    pub metadata: Value,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub triggers: Vec<Value>,
    #[serde(default)]
    pub triggers_id: String,
    /// `refs/heads/{branch}` → commit, as last recorded.
    #[serde(default)]
    pub refs: BTreeMap<String, String>,
}

impl RepoDoc {
    pub fn name(&self) -> &str {
        self.metadata.get("repositoryName").and_then(Value::as_str).unwrap_or("")
    }

    pub fn id(&self) -> &str {
        self.metadata.get("repositoryId").and_then(Value::as_str).unwrap_or("")
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:{partition}:codecommit:{}:{}:{}",
            self.region,
            self.account,
            self.name(),
            partition = stratus_core::partition(&self.region)
        )
    }

    pub fn default_branch(&self) -> Option<&str> {
        self.metadata.get("defaultBranch").and_then(Value::as_str)
    }

    /// The bare repository's directory.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(&self.account).join(&self.region).join(format!("{}.git", self.id()))
    }
}

pub use stratus_storage::json::{get as get_json, list as list_json, put as put_json};

/// Seconds since the epoch, as the JSON protocol writes timestamps.
pub fn secs(ms: u64) -> Value {
    serde_json::json!(ms as f64 / 1000.0)
}

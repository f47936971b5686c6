//! Repository triggers and the records branch changes fire.
//!
//! PutRepositoryTriggers replaces a repository's triggers (at most 10; events `all` alone or
//! any of `createReference`, `updateReference`, `deleteReference`; branches empty for all;
//! destinations SNS topics and Lambda functions of the repository's region). [`sync`] runs
//! after every change of branches — a push, an API commit, a branch created or deleted — with
//! the repository locked: it compares git's branches with the ones last recorded and, in one
//! transaction, records the new ones and pushes one outbox record per matching trigger (the
//! binary's trigger engine delivers them: Lambda functions asynchronously, SNS topics as a
//! publish). [`reconcile`] runs it for every repository at start, so a change git made just
//! before the server died still fires.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{err, git_failed};
use crate::git::Repo;
use crate::store::{self, RepoDoc};
use crate::{EVENTS_TOPIC, Inner, repos, s};

const EVENTS: &[&str] = &["all", "createReference", "updateReference", "deleteReference"];

fn valid_trigger_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn check(doc: &RepoDoc, triggers: &[Value]) -> Result<(), AwsError> {
    if triggers.len() > 10 {
        return Err(err(
            "MaximumRepositoryTriggersExceededException",
            "The number of triggers allowed for the repository was exceeded.",
        ));
    }
    let mut names = std::collections::HashSet::new();
    for t in triggers {
        let name = s(t, "name");
        if name.is_empty() {
            return Err(err(
                "RepositoryTriggerNameRequiredException",
                "A name for the trigger is required, but was not specified.",
            ));
        }
        if !valid_trigger_name(name) || !names.insert(name) {
            return Err(err(
                "InvalidRepositoryTriggerNameException",
                format!("The name of the trigger is not valid: {name}"),
            ));
        }
        let dest = s(t, "destinationArn");
        if dest.is_empty() {
            return Err(err(
                "RepositoryTriggerDestinationArnRequiredException",
                "A destination ARN for the target service for the trigger is required, but was not specified.",
            ));
        }
        let arn = stratus_core::Arn::parse(dest).filter(|a| {
            (a.service == "sns" && !a.resource.contains(':'))
                || (a.service == "lambda" && a.resource.starts_with("function:"))
        });
        let Some(arn) = arn else {
            return Err(err(
                "InvalidRepositoryTriggerDestinationArnException",
                format!(
                    "The Amazon Resource Name (ARN) {dest} is not valid for the specified destination: use an SNS topic or a Lambda function"
                ),
            ));
        };
        if arn.region != doc.region {
            return Err(err(
                "InvalidRepositoryTriggerRegionException",
                format!("The region of {dest} is not the repository's ({})", doc.region),
            ));
        }
        let events: Vec<&str> = t
            .get("events")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if events.is_empty() {
            return Err(err(
                "RepositoryTriggerEventsListRequiredException",
                "At least one event for the trigger is required, but was not specified.",
            ));
        }
        if events.iter().any(|e| !EVENTS.contains(e)) || (events.contains(&"all") && events.len() > 1) {
            return Err(err(
                "InvalidRepositoryTriggerEventsException",
                "One or more events specified for the trigger is not valid: use all alone, or createReference, updateReference and deleteReference.",
            ));
        }
        let Some(branches) = t.get("branches").and_then(Value::as_array) else {
            return Err(err(
                "RepositoryTriggerBranchNameListRequiredException",
                "At least one branch name is required, but was not specified in the trigger configuration.",
            ));
        };
        if branches.len() > 10 {
            return Err(err(
                "MaximumBranchesExceededException",
                "The number of branches for the trigger was exceeded.",
            ));
        }
        if t.get("customData").and_then(Value::as_str).is_some_and(|c| c.chars().count() > 1000) {
            return Err(err(
                "InvalidRepositoryTriggerCustomDataException",
                "Custom data is limited to 1000 characters.",
            ));
        }
    }
    Ok(())
}

pub async fn put(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let Some(triggers) = input.get("triggers").and_then(Value::as_array).cloned() else {
        return Err(err(
            "RepositoryTriggersListRequiredException",
            "The list of triggers for the repository is required, but was not specified.",
        ));
    };
    let doc = repos::load(i, &ctx.account, &ctx.region, s(&input, "repositoryName")).await?;
    check(&doc, &triggers)?;
    let id = i.env.ids.uuid();
    let out = id.clone();
    repos::modify(i, &ctx.account, &ctx.region, doc.name(), move |d| {
        d.triggers = triggers;
        d.triggers_id = id;
        Ok(())
    })
    .await?;
    Ok(json!({ "configurationId": out }))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = repos::load(i, &ctx.account, &ctx.region, s(&input, "repositoryName")).await?;
    let mut out = json!({ "triggers": doc.triggers });
    if !doc.triggers_id.is_empty() {
        out["configurationId"] = json!(doc.triggers_id);
    }
    Ok(out)
}

/// `2023-07-31T16:46:25.647+0000`.
fn event_time(ms: u64) -> String {
    stratus_core::time::iso8601_millis(ms).trim_end_matches('Z').to_string() + "+0000"
}

/// One reference change: the branch ref, its commit before and after.
#[derive(Debug, Clone)]
pub struct RefChange {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl RefChange {
    fn event(&self) -> &'static str {
        match (&self.before, &self.after) {
            (None, _) => "createReference",
            (_, None) => "deleteReference",
            _ => "updateReference",
        }
    }

    fn reference(&self) -> Value {
        let commit = self.after.as_ref().or(self.before.as_ref()).cloned().unwrap_or_default();
        let mut r = json!({ "commit": commit, "ref": self.name });
        match (&self.before, &self.after) {
            (None, _) => r["created"] = json!(true),
            (_, None) => r["deleted"] = json!(true),
            _ => {}
        }
        r
    }
}

pub fn changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<RefChange> {
    let mut out = Vec::new();
    for (name, sha) in after {
        if before.get(name) != Some(sha) {
            out.push(RefChange { name: name.clone(), before: before.get(name).cloned(), after: Some(sha.clone()) });
        }
    }
    for (name, sha) in before {
        if !after.contains_key(name) {
            out.push(RefChange { name: name.clone(), before: Some(sha.clone()), after: None });
        }
    }
    out
}

fn matches(trigger: &Value, change: &RefChange) -> bool {
    let events: Vec<&str> = trigger
        .get("events")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !(events.contains(&"all") || events.contains(&change.event())) {
        return false;
    }
    let branches: Vec<&str> = trigger
        .get("branches")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let branch = change.name.strip_prefix("refs/heads/").unwrap_or(&change.name);
    branches.is_empty() || branches.contains(&branch)
}

/// The outbox record of one trigger for some references.
#[allow(clippy::too_many_arguments)]
fn record(i: &Inner, doc: &RepoDoc, trigger: &Value, references: Vec<Value>, user: &str, event_name: &str) -> Value {
    let event = json!({
        "Records": [{
            "awsRegion": doc.region,
            "codecommit": { "references": references },
            "customData": trigger.get("customData").cloned().unwrap_or(Value::Null),
            "eventId": i.env.ids.uuid(),
            "eventName": event_name,
            "eventPartNumber": 1,
            "eventSource": "aws:codecommit",
            "eventSourceARN": doc.arn(),
            "eventTime": event_time(i.now()),
            "eventTotalParts": 1,
            "eventTriggerConfigId": doc.triggers_id,
            "eventTriggerName": s(trigger, "name"),
            "eventVersion": "1.0",
            "userIdentityARN": user,
        }]
    });
    json!({
        "destination": s(trigger, "destinationArn"),
        "event": event,
        "principal": "codecommit.amazonaws.com",
        "source": doc.arn(),
        "source_account": doc.account,
    })
}

/// Records git's branches of a repository (the caller holds its lock) and fires the triggers
/// their changes match; the first branch of a repository becomes its default branch.
pub async fn sync(i: &Inner, account: &str, region: &str, name: &str, user: &str) -> Result<(), AwsError> {
    let doc = repos::load(i, account, region, name).await?;
    let repo = Repo::new(doc.dir(&i.root));
    let now_refs = repo.branches().await.map_err(|e| git_failed(e.0))?;
    if now_refs == doc.refs && (doc.default_branch().is_some() || now_refs.is_empty()) {
        return Ok(());
    }
    let found = changes(&doc.refs, &now_refs);
    let mut records: Vec<Value> = Vec::new();
    for t in &doc.triggers {
        let refs: Vec<Value> = found.iter().filter(|c| matches(t, c)).map(RefChange::reference).collect();
        if !refs.is_empty() {
            records.push(record(i, &doc, t, refs, user, "ReferenceChanges"));
        }
    }
    // The first branch becomes the default branch (the created one, `main` or `master` first
    // when several came at once).
    let default = match doc.default_branch() {
        Some(d) if now_refs.contains_key(&format!("refs/heads/{d}")) => None,
        _ => {
            let created: Vec<&str> =
                found.iter().filter(|c| c.after.is_some()).filter_map(|c| c.name.strip_prefix("refs/heads/")).collect();
            let pick =
                ["main", "master"].into_iter().find(|b| created.contains(b)).or_else(|| created.first().copied());
            match (doc.default_branch(), pick) {
                (None, Some(p)) => Some(p.to_string()),
                _ => None,
            }
        }
    };
    let key = store::repo_key(account, region, name);
    let (refs, default_set, now) = (now_refs.clone(), default.clone(), i.now());
    i.store
        .write_signalling(move |t| {
            let mut d: RepoDoc =
                store::get_json(t, &key)?.ok_or_else(|| crate::errors::repo_not_found("repository"))?;
            d.refs = refs;
            if let Some(b) = default_set {
                d.metadata["defaultBranch"] = json!(b);
            }
            d.metadata["lastModifiedDate"] = store::secs(now);
            for r in &records {
                let bytes = serde_json::to_vec(r).map_err(|e| AwsError::internal(e.to_string()))?;
                stratus_storage::outbox_push(t, EVENTS_TOPIC, &bytes).map_err(AwsError::from)?;
            }
            store::put_json(t, &key, &d)
        })
        .await?;
    if let Some(b) = default {
        repo.set_head(&b).await.map_err(|e| git_failed(e.0))?;
    }
    Ok(())
}

/// At start: every repository's branches compared with the recorded ones.
pub async fn reconcile(i: &Inner) -> Result<(), AwsError> {
    let docs: Vec<RepoDoc> = i.store.read(|r| store::list_json(r, store::PREFIX)).await?;
    for doc in docs {
        let _guard = i.lock(doc.id()).await;
        let user = format!("arn:aws:iam::{}:root", doc.account);
        if let Err(e) = sync(i, &doc.account, &doc.region, doc.name(), &user).await {
            tracing::warn!(repository = %doc.name(), error = %e.message, "cannot reconcile a repository's branches");
        }
    }
    Ok(())
}

/// TestRepositoryTriggers: each trigger is sent a test record (`TriggerEventTest`, the default
/// branch's tip or zeros) through the outbox, as a real change would be.
pub async fn test(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let Some(triggers) = input.get("triggers").and_then(Value::as_array).cloned() else {
        return Err(err(
            "RepositoryTriggersListRequiredException",
            "The list of triggers for the repository is required, but was not specified.",
        ));
    };
    let doc = repos::load(i, &ctx.account, &ctx.region, s(&input, "repositoryName")).await?;
    check(&doc, &triggers)?;
    let repo = Repo::new(doc.dir(&i.root));
    let (branch, commit) = match doc.default_branch() {
        Some(b) => (
            format!("refs/heads/{b}"),
            repo.commit_of(b).await.map_err(|e| git_failed(e.0))?.unwrap_or_else(|| crate::git::ZERO.to_string()),
        ),
        None => ("refs/heads/all".to_string(), crate::git::ZERO.to_string()),
    };
    let user = crate::branches::user_arn(ctx);
    let records: Vec<Value> = triggers
        .iter()
        .map(|t| record(i, &doc, t, vec![json!({"commit": commit, "ref": branch})], &user, "TriggerEventTest"))
        .collect();
    i.store
        .write_signalling(move |t| {
            for r in &records {
                let bytes = serde_json::to_vec(r).map_err(|e| AwsError::internal(e.to_string()))?;
                stratus_storage::outbox_push(t, EVENTS_TOPIC, &bytes).map_err(AwsError::from)?;
            }
            Ok::<_, AwsError>(())
        })
        .await?;
    let names: Vec<&str> = triggers.iter().map(|t| s(t, "name")).collect();
    Ok(json!({ "successfulExecutions": names, "failedExecutions": [] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_and_filters() {
        let before: BTreeMap<String, String> =
            [("refs/heads/main".to_string(), "a".to_string()), ("refs/heads/old".to_string(), "b".to_string())].into();
        let after: BTreeMap<String, String> =
            [("refs/heads/main".to_string(), "c".to_string()), ("refs/heads/new".to_string(), "d".to_string())].into();
        let c = changes(&before, &after);
        let kinds: Vec<&str> = c.iter().map(RefChange::event).collect();
        assert_eq!(kinds, vec!["updateReference", "createReference", "deleteReference"]);
        assert_eq!(c[1].reference()["created"], json!(true));
        assert_eq!(c[2].reference()["commit"], json!("b"));
        let only_main = json!({"events": ["all"], "branches": ["main"]});
        assert!(matches(&only_main, &c[0]) && !matches(&only_main, &c[1]));
        let creations = json!({"events": ["createReference"], "branches": []});
        assert!(!matches(&creations, &c[0]) && matches(&creations, &c[1]));
        assert_eq!(event_time(1_690_822_000_647), "2023-07-31T16:46:40.647+0000");
    }
}

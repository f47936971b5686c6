//! Repositories: create (an empty bare repository and its document), read, list (sorted, in
//! pages), batch read, delete (the document, then the directory), rename, describe, and tags by
//! ARN.

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{err, repo_exists, repo_not_found};
use crate::git::Repo;
use crate::store::{self, RepoDoc};
use crate::{Inner, s};

const PAGE: usize = 1000;

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !name.ends_with(".git")
        && name != "."
        && name != ".."
}

fn check_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() {
        return Err(err("RepositoryNameRequiredException", "A repository name is required."));
    }
    if !valid_name(name) {
        return Err(err(
            "InvalidRepositoryNameException",
            format!(
                "{name} is not a valid repository name: use at most 100 letters, digits, '.', '_' and '-', not ending in .git"
            ),
        ));
    }
    Ok(())
}

/// `http://git-codecommit.{region}.localhost:{port}/v1/repos/{name}`, from the Host the
/// request came to (`*.localhost` resolves to this machine; git's libcurl knows that).
pub fn clone_url(ctx: &RequestContext, region: &str, name: &str) -> String {
    let port =
        ctx.host.rsplit_once(':').map(|(_, p)| p).filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    match port {
        Some(p) => format!("http://git-codecommit.{region}.localhost:{p}/v1/repos/{name}"),
        None => format!("http://git-codecommit.{region}.localhost/v1/repos/{name}"),
    }
}

/// `repositoryMetadata` as answered.
pub fn metadata(ctx: &RequestContext, doc: &RepoDoc) -> Value {
    let mut m = doc.metadata.clone();
    m["cloneUrlHttp"] = json!(clone_url(ctx, &doc.region, doc.name()));
    m["cloneUrlSsh"] = json!(format!("ssh://git-codecommit.{}.localhost/v1/repos/{}", doc.region, doc.name()));
    m
}

pub async fn load(i: &Inner, account: &str, region: &str, name: &str) -> Result<RepoDoc, AwsError> {
    if name.is_empty() {
        return Err(err("RepositoryNameRequiredException", "A repository name is required."));
    }
    let key = store::repo_key(account, region, name);
    let name = name.to_string();
    i.store.read(move |r| store::get_json::<RepoDoc>(r, &key)).await?.ok_or_else(|| repo_not_found(&name))
}

/// The repository an input names, and its git directory.
pub async fn open(i: &Inner, ctx: &RequestContext, input: &Value) -> Result<(RepoDoc, Repo), AwsError> {
    let doc = load(i, &ctx.account, &ctx.region, s(input, "repositoryName")).await?;
    let repo = Repo::new(doc.dir(&i.root));
    Ok((doc, repo))
}

/// Changes a repository's document in one transaction.
pub async fn modify<T: Send + 'static>(
    i: &Inner,
    account: &str,
    region: &str,
    name: &str,
    f: impl FnOnce(&mut RepoDoc) -> Result<T, AwsError> + Send + 'static,
) -> Result<T, AwsError> {
    let key = store::repo_key(account, region, name);
    let name = name.to_string();
    i.store
        .write(move |t| {
            let mut doc: RepoDoc = store::get_json(t, &key)?.ok_or_else(|| repo_not_found(&name))?;
            let out = f(&mut doc)?;
            store::put_json(t, &key, &doc)?;
            Ok(out)
        })
        .await
}

fn tags_of(input: &Value) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(t) = input.get("tags").and_then(Value::as_object) {
        for (k, v) in t {
            if k.is_empty() || k.len() > 128 || k.starts_with("aws:") {
                return Err(err("InvalidTagKeysListException", format!("Invalid tag key {k}")));
            }
            out.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    if out.len() > 50 {
        return Err(err("TooManyTagsException", "A resource can have at most 50 tags"));
    }
    Ok(out)
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "repositoryName").to_string();
    check_name(&name)?;
    let description = s(&input, "repositoryDescription");
    if description.chars().count() > 1000 {
        return Err(err("InvalidRepositoryDescriptionException", "The description is longer than 1000 characters"));
    }
    let tags = tags_of(&input)?;
    let id = i.env.ids.uuid();
    let now = i.now();
    let mut meta = json!({
        "accountId": ctx.account,
        "repositoryId": id,
        "repositoryName": name,
        "lastModifiedDate": store::secs(now),
        "creationDate": store::secs(now),
        "Arn": format!("arn:{partition}:codecommit:{}:{}:{name}", ctx.region, ctx.account, partition = stratus_core::partition(&ctx.region)),
    });
    if !description.is_empty() {
        meta["repositoryDescription"] = json!(description);
    }
    if let Some(k) = input.get("kmsKeyId").and_then(Value::as_str) {
        meta["kmsKeyId"] = json!(k);
    }
    let doc = RepoDoc {
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        metadata: meta,
        tags,
        ..Default::default()
    };
    let dir = doc.dir(&i.root);
    let key = store::repo_key(&ctx.account, &ctx.region, &name);
    let exists_key = key.clone();
    let taken = i.store.read(move |r| r.get(exists_key.as_bytes()).map_err(AwsError::from)).await?;
    if taken.is_some() {
        return Err(repo_exists(&name));
    }
    Repo::init(&dir).await.map_err(|e| crate::errors::git_failed(e.to_string()))?;
    let stored = doc.clone();
    let n = name.clone();
    let written = i
        .store
        .write(move |t| {
            if t.get(key.as_bytes()).map_err(AwsError::from)?.is_some() {
                return Err(repo_exists(&n));
            }
            store::put_json(t, &key, &stored)
        })
        .await;
    if let Err(e) = written {
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Err(e);
    }
    Ok(json!({ "repositoryMetadata": metadata(ctx, &doc) }))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, &ctx.account, &ctx.region, s(&input, "repositoryName")).await?;
    Ok(json!({ "repositoryMetadata": metadata(ctx, &doc) }))
}

async fn all(i: &Inner, ctx: &RequestContext) -> Result<Vec<RepoDoc>, AwsError> {
    let prefix = store::repos_prefix(&ctx.account, &ctx.region);
    i.store.read(move |r| store::list_json(r, &prefix)).await
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let mut docs = all(i, ctx).await?;
    match s(&input, "sortBy") {
        "lastModifiedDate" => docs.sort_by(|a, b| {
            let t = |d: &RepoDoc| d.metadata.get("lastModifiedDate").and_then(Value::as_f64).unwrap_or(0.0);
            t(a).total_cmp(&t(b))
        }),
        "" | "repositoryName" => docs.sort_by(|a, b| a.name().cmp(b.name())),
        other => return Err(err("InvalidSortByException", format!("Invalid sortBy {other}"))),
    }
    match s(&input, "order") {
        "descending" => docs.reverse(),
        "" | "ascending" => {}
        other => return Err(err("InvalidOrderException", format!("Invalid order {other}"))),
    }
    let start = match input.get("nextToken").and_then(Value::as_str) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| err("InvalidContinuationTokenException", "The continuation token is not valid."))?,
        None => 0,
    };
    let page: Vec<Value> = docs
        .iter()
        .skip(start)
        .take(PAGE)
        .map(|d| json!({"repositoryName": d.name(), "repositoryId": d.id()}))
        .collect();
    let mut out = json!({ "repositories": page });
    if start + PAGE < docs.len() {
        out["nextToken"] = json!((start + PAGE).to_string());
    }
    Ok(out)
}

pub async fn batch_get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let names: Vec<String> = input
        .get("repositoryNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if names.len() > 25 {
        return Err(err("MaximumRepositoryNamesExceededException", "At most 25 repository names can be given"));
    }
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for n in names {
        match load(i, &ctx.account, &ctx.region, &n).await {
            Ok(d) => found.push(metadata(ctx, &d)),
            Err(e) if e.code == "RepositoryDoesNotExistException" => missing.push(json!(n)),
            Err(e) => return Err(e),
        }
    }
    Ok(json!({ "repositories": found, "repositoriesNotFound": missing, "errors": [] }))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "repositoryName").to_string();
    check_name(&name)?;
    let key = store::repo_key(&ctx.account, &ctx.region, &name);
    let removed: Option<RepoDoc> = i
        .store
        .write(move |t| {
            let doc: Option<RepoDoc> = store::get_json(t, &key)?;
            if doc.is_some() {
                t.delete(key.as_bytes()).map_err(AwsError::from)?;
            }
            Ok::<_, AwsError>(doc)
        })
        .await?;
    // AWS answers success without an id for a repository that does not exist.
    let Some(doc) = removed else { return Ok(json!({})) };
    let _guard = i.lock(doc.id()).await;
    if let Err(e) = tokio::fs::remove_dir_all(doc.dir(&i.root)).await {
        tracing::warn!(repository = %name, error = %e, "cannot remove a deleted repository's directory");
    }
    Ok(json!({ "repositoryId": doc.id() }))
}

pub async fn rename(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (old, new) = (s(&input, "oldName").to_string(), s(&input, "newName").to_string());
    check_name(&new)?;
    let (old_key, new_key) =
        (store::repo_key(&ctx.account, &ctx.region, &old), store::repo_key(&ctx.account, &ctx.region, &new));
    let (region, account, now) = (ctx.region.clone(), ctx.account.clone(), i.now());
    i.store
        .write(move |t| {
            let mut doc: RepoDoc = store::get_json(t, &old_key)?.ok_or_else(|| repo_not_found(&old))?;
            if old_key != new_key && t.get(new_key.as_bytes()).map_err(AwsError::from)?.is_some() {
                return Err(repo_exists(&new));
            }
            doc.metadata["repositoryName"] = json!(new);
            doc.metadata["Arn"] = json!(format!(
                "arn:{partition}:codecommit:{region}:{account}:{new}",
                partition = stratus_core::partition(&region)
            ));
            doc.metadata["lastModifiedDate"] = store::secs(now);
            t.delete(old_key.as_bytes()).map_err(AwsError::from)?;
            store::put_json(t, &new_key, &doc)
        })
        .await?;
    Ok(json!({}))
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let description = s(&input, "repositoryDescription").to_string();
    if description.chars().count() > 1000 {
        return Err(err("InvalidRepositoryDescriptionException", "The description is longer than 1000 characters"));
    }
    let now = i.now();
    modify(i, &ctx.account, &ctx.region, s(&input, "repositoryName"), move |doc| {
        doc.metadata["repositoryDescription"] = json!(description);
        doc.metadata["lastModifiedDate"] = store::secs(now);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

/// The repository an ARN names (`arn:aws:codecommit:{region}:{account}:{name}`).
fn of_arn(ctx: &RequestContext, arn: &str) -> Result<(String, String, String), AwsError> {
    let a = stratus_core::Arn::parse(arn)
        .filter(|a| a.service == "codecommit" && !a.resource.is_empty())
        .ok_or_else(|| err("InvalidResourceArnException", format!("The ARN {arn} is not valid")))?;
    let _ = ctx;
    Ok((a.account.to_string(), a.region.to_string(), a.resource.to_string()))
}

pub async fn tag(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, name) = of_arn(ctx, s(&input, "resourceArn"))?;
    let tags = tags_of(&input)?;
    modify(i, &account, &region, &name, move |doc| {
        doc.tags.extend(tags);
        if doc.tags.len() > 50 {
            return Err(err("TooManyTagsException", "A resource can have at most 50 tags"));
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn untag(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, name) = of_arn(ctx, s(&input, "resourceArn"))?;
    let keys: Vec<String> = input
        .get("tagKeys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    modify(i, &account, &region, &name, move |doc| {
        for k in keys {
            doc.tags.remove(&k);
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn list_tags(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, name) = of_arn(ctx, s(&input, "resourceArn"))?;
    let doc = load(i, &account, &region, &name).await?;
    Ok(json!({ "tags": doc.tags }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert!(valid_name("my-repo_1.0"));
        assert!(!valid_name("bad name!") && !valid_name("x.git") && !valid_name("") && !valid_name(".."));
        let mut ctx = RequestContext::internal("000000000000", "us-east-1", "r".into());
        ctx.host = "localhost:4566".into();
        assert_eq!(clone_url(&ctx, "us-east-1", "r"), "http://git-codecommit.us-east-1.localhost:4566/v1/repos/r");
    }
}

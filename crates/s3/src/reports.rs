//! The bucket configurations named by an id — inventory, analytics, metrics and
//! intelligent-tiering — kept as they were put (their XML, in the bucket's `configs` under
//! `{kind}/{id}`) and answered back by Get, List (a page of 100, by id) and Delete, with
//! AWS's errors. The reports and tiering they describe need AWS's analytics pipeline; what
//! a client configures is real and comes back unchanged.

use s3s::dto::*;
use s3s::xml::{Deserialize, Serialize};
use s3s::{S3Error, S3Request, S3Response, S3Result};

use crate::S3;
use crate::configs::{from_xml, to_xml};
use crate::errors::{Fail, invalid_argument};
use crate::objects::{self, load_bucket, save_bucket};

/// How many configurations of one kind a bucket holds.
const MAX_PER_KIND: usize = 1000;
const PAGE: usize = 100;

fn no_such_configuration() -> S3Error {
    let mut e = S3Error::with_message(
        s3s::S3ErrorCode::Custom("NoSuchConfiguration".into()),
        "The specified configuration does not exist.",
    );
    e.set_status_code(http::StatusCode::NOT_FOUND);
    e
}

fn check_id(query_id: &str, body_id: &str) -> S3Result<()> {
    let ok = !query_id.is_empty()
        && query_id.len() <= 64
        && query_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !ok {
        return Err(invalid_argument("The Id is not valid."));
    }
    if query_id != body_id {
        return Err(invalid_argument("The Id in the query string and in the configuration do not match."));
    }
    Ok(())
}

fn key(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

async fn put<T: Serialize>(s3: &S3, bucket: String, kind: &'static str, id: String, c: &T) -> S3Result<()> {
    let xml = to_xml(c)?;
    s3.store()
        .write(move |t| {
            let mut b = load_bucket(t, &bucket)?;
            let prefix = format!("{kind}/");
            let k = key(kind, &id);
            let count = b.configs.keys().filter(|n| n.starts_with(&prefix)).count();
            if !b.configs.contains_key(&k) && count >= MAX_PER_KIND {
                return Err(Fail(S3Error::with_message(
                    s3s::S3ErrorCode::Custom("TooManyConfigurations".into()),
                    "You are attempting to create a new configuration but have already reached the 1,000-configuration limit.",
                )));
            }
            b.configs.insert(k, xml);
            save_bucket(t, &b)?;
            Ok::<_, Fail>(())
        })
        .await
        .map_err(|f: Fail| f.0)
}

async fn get<T>(s3: &S3, bucket: &str, kind: &str, id: &str) -> S3Result<T>
where
    T: for<'x> Deserialize<'x>,
{
    let b = objects::bucket_exists(s3, bucket).await?;
    let x = b.configs.get(&key(kind, id)).ok_or_else(no_such_configuration)?;
    from_xml(x)
}

async fn delete(s3: &S3, bucket: String, kind: &'static str, id: String) -> S3Result<()> {
    s3.store()
        .write(move |t| {
            let mut b = load_bucket(t, &bucket)?;
            if b.configs.remove(&key(kind, &id)).is_none() {
                return Err(Fail(no_such_configuration()));
            }
            save_bucket(t, &b)?;
            Ok::<_, Fail>(())
        })
        .await
        .map_err(|f: Fail| f.0)
}

/// One page of a kind's configurations after the continuation token (an id): (items, next).
async fn list<T>(s3: &S3, bucket: &str, kind: &str, token: Option<&str>) -> S3Result<(Vec<T>, Option<String>)>
where
    T: for<'x> Deserialize<'x>,
{
    let b = objects::bucket_exists(s3, bucket).await?;
    let prefix = format!("{kind}/");
    let ids: Vec<&String> = b
        .configs
        .keys()
        .filter(|n| n.starts_with(&prefix))
        .filter(|n| token.is_none_or(|t| n[prefix.len()..] > *t))
        .collect();
    let mut items = Vec::new();
    for k in ids.iter().take(PAGE) {
        if let Some(x) = b.configs.get(*k) {
            items.push(from_xml(x)?);
        }
    }
    let next = (ids.len() > PAGE).then(|| ids[PAGE - 1][prefix.len()..].to_string());
    Ok((items, next))
}

const INVENTORY: &str = "inventory";
const ANALYTICS: &str = "analytics";
const METRICS: &str = "metrics";
const TIERING: &str = "intelligent-tiering";

pub async fn put_inventory(
    s3: &S3,
    req: S3Request<PutBucketInventoryConfigurationInput>,
) -> S3Result<S3Response<PutBucketInventoryConfigurationOutput>> {
    let i = req.input;
    check_id(&i.id, &i.inventory_configuration.id)?;
    put(s3, i.bucket, INVENTORY, i.id, &i.inventory_configuration).await?;
    Ok(S3Response::new(PutBucketInventoryConfigurationOutput {}))
}

pub async fn get_inventory(
    s3: &S3,
    req: S3Request<GetBucketInventoryConfigurationInput>,
) -> S3Result<S3Response<GetBucketInventoryConfigurationOutput>> {
    let i = req.input;
    let c = get(s3, &i.bucket, INVENTORY, &i.id).await?;
    Ok(S3Response::new(GetBucketInventoryConfigurationOutput { inventory_configuration: Some(c) }))
}

pub async fn delete_inventory(
    s3: &S3,
    req: S3Request<DeleteBucketInventoryConfigurationInput>,
) -> S3Result<S3Response<DeleteBucketInventoryConfigurationOutput>> {
    let i = req.input;
    delete(s3, i.bucket, INVENTORY, i.id).await?;
    Ok(S3Response::new(DeleteBucketInventoryConfigurationOutput {}))
}

pub async fn list_inventory(
    s3: &S3,
    req: S3Request<ListBucketInventoryConfigurationsInput>,
) -> S3Result<S3Response<ListBucketInventoryConfigurationsOutput>> {
    let i = req.input;
    let (items, next) = list(s3, &i.bucket, INVENTORY, i.continuation_token.as_deref()).await?;
    Ok(S3Response::new(ListBucketInventoryConfigurationsOutput {
        continuation_token: i.continuation_token,
        inventory_configuration_list: (!items.is_empty()).then_some(items),
        is_truncated: Some(next.is_some()),
        next_continuation_token: next,
    }))
}

pub async fn put_analytics(
    s3: &S3,
    req: S3Request<PutBucketAnalyticsConfigurationInput>,
) -> S3Result<S3Response<PutBucketAnalyticsConfigurationOutput>> {
    let i = req.input;
    check_id(&i.id, &i.analytics_configuration.id)?;
    put(s3, i.bucket, ANALYTICS, i.id, &i.analytics_configuration).await?;
    Ok(S3Response::new(PutBucketAnalyticsConfigurationOutput {}))
}

pub async fn get_analytics(
    s3: &S3,
    req: S3Request<GetBucketAnalyticsConfigurationInput>,
) -> S3Result<S3Response<GetBucketAnalyticsConfigurationOutput>> {
    let i = req.input;
    let c = get(s3, &i.bucket, ANALYTICS, &i.id).await?;
    Ok(S3Response::new(GetBucketAnalyticsConfigurationOutput { analytics_configuration: Some(c) }))
}

pub async fn delete_analytics(
    s3: &S3,
    req: S3Request<DeleteBucketAnalyticsConfigurationInput>,
) -> S3Result<S3Response<DeleteBucketAnalyticsConfigurationOutput>> {
    let i = req.input;
    delete(s3, i.bucket, ANALYTICS, i.id).await?;
    Ok(S3Response::new(DeleteBucketAnalyticsConfigurationOutput {}))
}

pub async fn list_analytics(
    s3: &S3,
    req: S3Request<ListBucketAnalyticsConfigurationsInput>,
) -> S3Result<S3Response<ListBucketAnalyticsConfigurationsOutput>> {
    let i = req.input;
    let (items, next) = list(s3, &i.bucket, ANALYTICS, i.continuation_token.as_deref()).await?;
    Ok(S3Response::new(ListBucketAnalyticsConfigurationsOutput {
        continuation_token: i.continuation_token,
        analytics_configuration_list: (!items.is_empty()).then_some(items),
        is_truncated: Some(next.is_some()),
        next_continuation_token: next,
    }))
}

pub async fn put_metrics(
    s3: &S3,
    req: S3Request<PutBucketMetricsConfigurationInput>,
) -> S3Result<S3Response<PutBucketMetricsConfigurationOutput>> {
    let i = req.input;
    check_id(&i.id, &i.metrics_configuration.id)?;
    put(s3, i.bucket, METRICS, i.id, &i.metrics_configuration).await?;
    Ok(S3Response::new(PutBucketMetricsConfigurationOutput {}))
}

pub async fn get_metrics(
    s3: &S3,
    req: S3Request<GetBucketMetricsConfigurationInput>,
) -> S3Result<S3Response<GetBucketMetricsConfigurationOutput>> {
    let i = req.input;
    let c = get(s3, &i.bucket, METRICS, &i.id).await?;
    Ok(S3Response::new(GetBucketMetricsConfigurationOutput { metrics_configuration: Some(c) }))
}

pub async fn delete_metrics(
    s3: &S3,
    req: S3Request<DeleteBucketMetricsConfigurationInput>,
) -> S3Result<S3Response<DeleteBucketMetricsConfigurationOutput>> {
    let i = req.input;
    delete(s3, i.bucket, METRICS, i.id).await?;
    Ok(S3Response::new(DeleteBucketMetricsConfigurationOutput {}))
}

pub async fn list_metrics(
    s3: &S3,
    req: S3Request<ListBucketMetricsConfigurationsInput>,
) -> S3Result<S3Response<ListBucketMetricsConfigurationsOutput>> {
    let i = req.input;
    let (items, next) = list(s3, &i.bucket, METRICS, i.continuation_token.as_deref()).await?;
    Ok(S3Response::new(ListBucketMetricsConfigurationsOutput {
        continuation_token: i.continuation_token,
        metrics_configuration_list: (!items.is_empty()).then_some(items),
        is_truncated: Some(next.is_some()),
        next_continuation_token: next,
    }))
}

pub async fn put_tiering(
    s3: &S3,
    req: S3Request<PutBucketIntelligentTieringConfigurationInput>,
) -> S3Result<S3Response<PutBucketIntelligentTieringConfigurationOutput>> {
    let i = req.input;
    check_id(&i.id, &i.intelligent_tiering_configuration.id)?;
    put(s3, i.bucket, TIERING, i.id, &i.intelligent_tiering_configuration).await?;
    Ok(S3Response::new(PutBucketIntelligentTieringConfigurationOutput {}))
}

pub async fn get_tiering(
    s3: &S3,
    req: S3Request<GetBucketIntelligentTieringConfigurationInput>,
) -> S3Result<S3Response<GetBucketIntelligentTieringConfigurationOutput>> {
    let i = req.input;
    let c = get(s3, &i.bucket, TIERING, &i.id).await?;
    Ok(S3Response::new(GetBucketIntelligentTieringConfigurationOutput { intelligent_tiering_configuration: Some(c) }))
}

pub async fn delete_tiering(
    s3: &S3,
    req: S3Request<DeleteBucketIntelligentTieringConfigurationInput>,
) -> S3Result<S3Response<DeleteBucketIntelligentTieringConfigurationOutput>> {
    let i = req.input;
    delete(s3, i.bucket, TIERING, i.id).await?;
    Ok(S3Response::new(DeleteBucketIntelligentTieringConfigurationOutput {}))
}

pub async fn list_tiering(
    s3: &S3,
    req: S3Request<ListBucketIntelligentTieringConfigurationsInput>,
) -> S3Result<S3Response<ListBucketIntelligentTieringConfigurationsOutput>> {
    let i = req.input;
    let (items, next) = list(s3, &i.bucket, TIERING, i.continuation_token.as_deref()).await?;
    Ok(S3Response::new(ListBucketIntelligentTieringConfigurationsOutput {
        continuation_token: i.continuation_token,
        intelligent_tiering_configuration_list: (!items.is_empty()).then_some(items),
        is_truncated: Some(next.is_some()),
        next_continuation_token: next,
    }))
}

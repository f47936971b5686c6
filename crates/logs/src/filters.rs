//! Metric filters (kept with their log group; TestMetricFilter runs a pattern over sample
//! messages; the metrics themselves wait for a CloudWatch to record them) and account-level
//! resource policies (kept, as CloudWatch Logs lets other services write to log groups).

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::{invalid_filter_pattern, invalid_parameter};
use crate::group::{GroupRef, save_group};
use crate::pattern::FilterPattern;

/// AWS's limit of metric filters per log group.
const MAX_METRIC_FILTERS: usize = 100;
/// AWS's limit of resource policies per account and region.
const MAX_POLICIES: usize = 10;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn not_found(what: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", what).with_status(400)
}

fn limit() -> AwsError {
    AwsError::new("LimitExceededException", "Resource limit exceeded.").with_status(400)
}

pub async fn put_metric_filter(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "filterName").to_string();
    if name.is_empty() || name.len() > 512 || name.contains(':') || name.contains('*') {
        return Err(invalid_parameter("Invalid filterName"));
    }
    let pattern = s(&input, "filterPattern").to_string();
    FilterPattern::parse(&pattern).map_err(|e| invalid_filter_pattern(&e.0))?;
    let transformations = input.get("metricTransformations").and_then(Value::as_array).cloned().unwrap_or_default();
    if transformations.len() != 1 {
        return Err(invalid_parameter("metricTransformations must hold exactly one transformation"));
    }
    for t in &transformations {
        for k in ["metricName", "metricNamespace", "metricValue"] {
            if s(t, k).is_empty() {
                return Err(invalid_parameter(format!("{k} is required")));
            }
        }
    }
    let mut filter = json!({
        "filterName": name,
        "filterPattern": pattern,
        "metricTransformations": transformations,
        "creationTime": i.now(),
        "applyOnTransformedLogs": input.get("applyOnTransformedLogs").and_then(Value::as_bool).unwrap_or(false),
    });
    for k in ["fieldSelectionCriteria", "emitSystemFieldDimensions"] {
        if let Some(v) = input.get(k) {
            filter[k] = v.clone();
        }
    }
    let group = GroupRef::named(ctx, s(&input, "logGroupName"));
    i.store
        .write(move |t| {
            let mut g = group.load(t)?;
            filter["logGroupName"] = json!(g.name);
            let full = g.metric_filters.len() >= MAX_METRIC_FILTERS;
            match g.metric_filters.iter_mut().find(|f| s(f, "filterName") == s(&filter, "filterName")) {
                Some(existing) => *existing = filter,
                None if full => return Err(limit()),
                None => g.metric_filters.push(filter),
            }
            save_group(t, &g)
        })
        .await?;
    Ok(json!({}))
}

pub async fn describe_metric_filters(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = s(&input, "filterNamePrefix").to_string();
    let group_name = s(&input, "logGroupName").to_string();
    if !prefix.is_empty() && group_name.is_empty() {
        return Err(invalid_parameter("filterNamePrefix requires logGroupName"));
    }
    let (metric, namespace) = (s(&input, "metricName").to_string(), s(&input, "metricNamespace").to_string());
    if metric.is_empty() != namespace.is_empty() {
        return Err(invalid_parameter("metricName and metricNamespace go together"));
    }
    let groups = if group_name.is_empty() {
        let (account, region) = (ctx.account.clone(), ctx.region.clone());
        i.read(move |r| crate::group::all_groups_of(r, &account, &region)).await?
    } else {
        let group = GroupRef::named(ctx, &group_name);
        vec![i.read(move |r| group.load(r)).await?]
    };
    let mut out: Vec<Value> = groups
        .iter()
        .flat_map(|g| g.metric_filters.iter().cloned())
        .filter(|f| s(f, "filterName").starts_with(&prefix))
        .filter(|f| {
            metric.is_empty()
                || f.get("metricTransformations").and_then(Value::as_array).is_some_and(|ts| {
                    ts.iter().any(|t| s(t, "metricName") == metric && s(t, "metricNamespace") == namespace)
                })
        })
        .collect();
    out.sort_by(|a, b| s(a, "filterName").cmp(s(b, "filterName")));
    Ok(json!({ "metricFilters": out }))
}

pub async fn delete_metric_filter(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let group = GroupRef::named(ctx, s(&input, "logGroupName"));
    let name = s(&input, "filterName").to_string();
    i.store
        .write(move |t| {
            let mut g = group.load(t)?;
            let before = g.metric_filters.len();
            g.metric_filters.retain(|f| s(f, "filterName") != name);
            if g.metric_filters.len() == before {
                return Err(not_found("The specified metric filter does not exist."));
            }
            save_group(t, &g)
        })
        .await?;
    Ok(json!({}))
}

pub async fn test_metric_filter(input: Value) -> Result<Value, AwsError> {
    let pattern = FilterPattern::parse(s(&input, "filterPattern")).map_err(|e| invalid_filter_pattern(&e.0))?;
    let messages = input.get("logEventMessages").and_then(Value::as_array).cloned().unwrap_or_default();
    if messages.is_empty() || messages.len() > 50 {
        return Err(invalid_parameter("logEventMessages must hold 1 to 50 messages"));
    }
    let matches: Vec<Value> = messages
        .iter()
        .enumerate()
        .filter_map(|(n, m)| {
            let text = m.as_str().unwrap_or("");
            pattern.matches(text).then(|| json!({"eventNumber": n + 1, "eventMessage": text, "extractedValues": {}}))
        })
        .collect();
    Ok(json!({ "matches": matches }))
}

fn policy_key(account: &str, region: &str, name: &str) -> String {
    format!("logs/rp/{account}/{region}/{name}")
}

pub async fn put_resource_policy(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "policyName").to_string();
    if name.is_empty() {
        return Err(invalid_parameter("policyName is required"));
    }
    let document = s(&input, "policyDocument").to_string();
    if document.len() > 5120 || !serde_json::from_str::<Value>(&document).is_ok_and(|v| v.is_object()) {
        return Err(AwsError::new(
            "MalformedPolicyDocumentException",
            "Policy document is not valid JSON or is too long.",
        )
        .with_status(400));
    }
    if !s(&input, "resourceArn").is_empty() {
        return Err(invalid_parameter("Resource-scoped policies (resourceArn) are not served by this server"));
    }
    let policy = json!({
        "policyName": name,
        "policyDocument": document,
        "lastUpdatedTime": i.now(),
        "policyScope": "ACCOUNT",
        "revisionId": i.env.ids.uuid(),
    });
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let stored = policy.clone();
    i.store
        .write(move |t| {
            let key = policy_key(&account, &region, &name);
            let exists = t.get(key.as_bytes())?.is_some();
            let count =
                stratus_storage::scan_prefix(t, format!("logs/rp/{account}/{region}/").as_bytes(), usize::MAX)?.len();
            if !exists && count >= MAX_POLICIES {
                return Err(limit());
            }
            let bytes = serde_json::to_vec(&stored).map_err(|e| AwsError::internal(e.to_string()))?;
            t.put(key.as_bytes(), &bytes)?;
            Ok(())
        })
        .await?;
    Ok(json!({ "resourcePolicy": policy, "revisionId": policy["revisionId"] }))
}

pub async fn describe_resource_policies(i: &Inner, ctx: &RequestContext, _input: Value) -> Result<Value, AwsError> {
    let prefix = format!("logs/rp/{}/{}/", ctx.account, ctx.region);
    let rows = i.read(move |r| Ok(stratus_storage::scan_prefix(r, prefix.as_bytes(), usize::MAX)?)).await?;
    let policies: Vec<Value> = rows.iter().filter_map(|(_, v)| serde_json::from_slice(v).ok()).collect();
    Ok(json!({ "resourcePolicies": policies }))
}

pub async fn delete_resource_policy(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "policyName").to_string();
    let key = policy_key(&ctx.account, &ctx.region, &name);
    i.store
        .write(move |t| {
            if t.get(key.as_bytes())?.is_none() {
                return Err(not_found(&format!("Policy with name [{name}] does not exist")));
            }
            t.delete(key.as_bytes())?;
            Ok(())
        })
        .await?;
    Ok(json!({}))
}

//! Log group operations: create, delete, describe, retention, tags.

use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, next_sequence, prefix_end};

use crate::errors::{constraint, group_exists, group_not_found, invalid_parameter};
use crate::group::{GroupRecord, GroupRef, RETENTION_DAYS, load_group, save_group, validate_group_name};
use crate::tokens::{decode_list_token, encode_list_token};
use crate::types::*;
use crate::{Inner, keys};

const MAX_TAGS: usize = 50;
const DESCRIBE_LIMIT: usize = 50;

fn check_tags(tags: &Tags) -> Result<(), AwsError> {
    for k in tags.keys() {
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_parameter("Tag keys starting with 'aws:' are reserved for AWS use."));
        }
    }
    Ok(())
}

pub(crate) fn new_group(
    t: &mut dyn Txn,
    account: &str,
    region: &str,
    name: &str,
    now: u64,
) -> Result<GroupRecord, AwsError> {
    Ok(GroupRecord {
        id: next_sequence(t, keys::GROUP_IDS)?,
        name: name.to_string(),
        account: account.to_string(),
        region: region.to_string(),
        created: now,
        retention_days: None,
        tags: Tags::new(),
        class: "STANDARD".into(),
        kms_key_id: None,
        deletion_protection: false,
        bearer_token: false,
        stored_bytes: 0,
        subscriptions: Vec::new(),
        metric_filters: Vec::new(),
    })
}

pub(crate) async fn create(i: &Inner, ctx: &RequestContext, input: CreateLogGroupInput) -> Result<(), AwsError> {
    let name = input.log_group_name;
    validate_group_name("logGroupName", &name)?;
    if name.to_ascii_lowercase().starts_with("aws/") {
        return Err(invalid_parameter("Log groups starting with AWS/ are reserved for AWS."));
    }
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let class = input.log_group_class.unwrap_or_else(|| "STANDARD".into());
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let now = i.now();
    i.store
        .write(move |t| {
            if load_group(t, &account, &region, &name)?.is_some() {
                return Err(group_exists());
            }
            let mut g = new_group(t, &account, &region, &name, now)?;
            g.tags = tags;
            g.class = class;
            g.kms_key_id = input.kms_key_id;
            g.deletion_protection = input.deletion_protection_enabled.unwrap_or(false);
            save_group(t, &g)
        })
        .await
}

/// Deletes a group's record, streams and events.
pub(crate) fn remove(t: &mut dyn Txn, g: &GroupRecord) -> Result<(), AwsError> {
    t.delete(&keys::group(&g.account, &g.region, &g.name))?;
    for prefix in [keys::streams(g.id), keys::group_events(g.id)] {
        let end = prefix_end(&prefix);
        t.delete_range(&prefix, end.as_deref())?;
    }
    Ok(())
}

pub(crate) async fn delete(i: &Inner, ctx: &RequestContext, input: LogGroupNameInput) -> Result<(), AwsError> {
    let group = GroupRef::named(ctx, &input.log_group_name);
    i.store
        .write(move |t| {
            let g = group.load(t)?;
            if g.deletion_protection {
                return Err(AwsError::new(
                    "ValidationException",
                    "Cannot delete log group with deletion protection enabled. Disable deletion protection first.",
                ));
            }
            remove(t, &g)
        })
        .await
}

fn describe_limit(limit: Option<i64>) -> usize {
    limit.map_or(DESCRIBE_LIMIT, |l| l.clamp(1, DESCRIBE_LIMIT as i64) as usize)
}

pub(crate) fn group_output(g: &GroupRecord, with_stored_bytes: bool) -> LogGroupOutput {
    LogGroupOutput {
        log_group_name: g.name.clone(),
        creation_time: g.created,
        retention_in_days: g.retention_days,
        metric_filter_count: g.metric_filters.len() as u64,
        arn: g.arn(),
        stored_bytes: with_stored_bytes.then_some(g.stored_bytes),
        kms_key_id: g.kms_key_id.clone(),
        log_group_class: g.class.clone(),
        log_group_arn: g.group_arn(),
        deletion_protection_enabled: with_stored_bytes.then_some(g.deletion_protection),
        bearer_token_authentication_enabled: with_stored_bytes.then_some(g.bearer_token),
    }
}

pub(crate) async fn describe(
    i: &Inner,
    ctx: &RequestContext,
    input: DescribeLogGroupsInput,
) -> Result<DescribeLogGroupsOutput, AwsError> {
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(invalid_parameter(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    if input.log_group_identifiers.is_some()
        && (input.log_group_name_prefix.is_some() || input.log_group_name_pattern.is_some())
    {
        return Err(invalid_parameter(
            "LogGroup identifiers and LogGroup name prefix or pattern are mutually exclusive parameters.",
        ));
    }
    let limit = describe_limit(input.limit);
    let after = input.next_token.as_deref().map(|t| decode_list_token("groups", t)).transpose()?;
    // Identifiers name groups of this account and region, by name or ARN.
    let wanted: Option<Vec<String>> = input.log_group_identifiers.as_ref().map(|ids| {
        ids.iter()
            .filter_map(|id| {
                if id.starts_with("arn:") {
                    GroupRef::from_arn(id)
                        .filter(|g| g.account == ctx.account && g.region == ctx.region)
                        .map(|g| g.name)
                } else {
                    Some(id.clone())
                }
            })
            .collect()
    });
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let prefix = input.log_group_name_prefix.unwrap_or_default();
    let pattern = input.log_group_name_pattern.filter(|p| !p.is_empty());
    let with_pattern = pattern.is_some();
    let class = input.log_group_class;
    let (groups, more) = i
        .read(move |r| {
            scan_groups(
                r,
                &keys::groups(&account, &region),
                &prefix,
                after.as_deref(),
                limit,
                |name| {
                    !(pattern.as_ref().is_some_and(|p| !name.contains(p.as_str()))
                        || wanted.as_ref().is_some_and(|w| !w.iter().any(|x| x == name)))
                },
                |g| class.as_ref().is_none_or(|c| *c == g.class),
            )
        })
        .await?;
    let next_token = if more { groups.last().map(|g| encode_list_token("groups", &g.name)) } else { None };
    Ok(DescribeLogGroupsOutput {
        log_groups: groups.iter().map(|g| group_output(g, !with_pattern)).collect(),
        next_token,
    })
}

/// Up to `limit` groups under `base` whose names start with `prefix` (after the name `after`),
/// that `name_ok` (checked before decoding) and `group_ok` take; and whether there are more.
fn scan_groups(
    r: &mut dyn ReadTxn,
    base: &[u8],
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    name_ok: impl Fn(&str) -> bool,
    group_ok: impl Fn(&GroupRecord) -> bool,
) -> Result<(Vec<GroupRecord>, bool), AwsError> {
    let mut start = stratus_storage::listing_start(base, prefix, after);
    let end = prefix_end(base);
    let mut found = Vec::new();
    // Scan in pages: names past the prefix end the scan.
    loop {
        let rows = r.scan(&start, end.as_deref(), 1000)?;
        let n = rows.len();
        for (k, v) in rows {
            let name = String::from_utf8_lossy(&k[base.len()..]).into_owned();
            if !name.starts_with(prefix) {
                return Ok((found, false));
            }
            start = k;
            start.push(0);
            if !name_ok(&name) {
                continue;
            }
            let g: GroupRecord =
                serde_json::from_slice(&v).map_err(|e| AwsError::internal(format!("corrupt log group record: {e}")))?;
            if !group_ok(&g) {
                continue;
            }
            if found.len() == limit {
                return Ok((found, true));
            }
            found.push(g);
        }
        if n < 1000 {
            return Ok((found, false));
        }
    }
}

/// ListLogGroups: summaries (name, ARN, class) of the groups whose names match
/// `logGroupNamePattern` — up to five `|`-separated patterns, each a case-sensitive substring,
/// or a prefix when it starts with `^` — and `logGroupClass`; 50 a page unless `limit` says
/// otherwise (up to 1,000).
pub(crate) async fn list(
    i: &Inner,
    ctx: &RequestContext,
    input: serde_json::Value,
) -> Result<serde_json::Value, AwsError> {
    use serde_json::{Value, json};
    let text = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
    let patterns: Vec<String> = text("logGroupNamePattern")
        .map(|p| p.split('|').filter(|x| !x.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    if patterns.len() > 5 {
        return Err(invalid_parameter("logGroupNamePattern can hold at most 5 patterns separated by |."));
    }
    if patterns.iter().any(|p| p.strip_prefix('^').unwrap_or(p).contains('^')) {
        return Err(crate::errors::constraint(
            "logGroupNamePattern",
            text("logGroupNamePattern").as_deref().unwrap_or_default(),
            "Member must satisfy regular expression pattern: (\\^?[\\.\\-_\\/#A-Za-z0-9]{3,24})(\\|\\^?[\\.\\-_\\/#A-Za-z0-9]{3,24}){0,4}",
        ));
    }
    let class = text("logGroupClass");
    let limit = input.get("limit").and_then(Value::as_i64).map_or(50, |l| l.clamp(1, 1000) as usize);
    let after = text("nextToken").map(|t| decode_list_token("list-groups", &t)).transpose()?;
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let (groups, more) = i
        .read(move |r| {
            scan_groups(
                r,
                &keys::groups(&account, &region),
                "",
                after.as_deref(),
                limit,
                |name| {
                    patterns.is_empty()
                        || patterns.iter().any(|p| match p.strip_prefix('^') {
                            Some(prefix) => name.starts_with(prefix),
                            None => name.contains(p.as_str()),
                        })
                },
                |g| class.as_ref().is_none_or(|c| *c == g.class),
            )
        })
        .await?;
    let mut out = json!({
        "logGroups": groups
            .iter()
            .map(|g| json!({"logGroupName": g.name, "logGroupArn": g.group_arn(), "logGroupClass": g.class}))
            .collect::<Vec<_>>(),
    });
    if more && let Some(g) = groups.last() {
        out["nextToken"] = json!(encode_list_token("list-groups", &g.name));
    }
    Ok(out)
}

/// AssociateKmsKey (`kmsKeyId` replaces any key the group had) and DisassociateKmsKey
/// (`kms_key` None), by `logGroupName` or `resourceIdentifier`.
pub(crate) async fn set_kms_key(
    i: &Inner,
    ctx: &RequestContext,
    input: serde_json::Value,
    associate: bool,
) -> Result<serde_json::Value, AwsError> {
    use serde_json::Value;
    let text = |k: &str| input.get(k).and_then(Value::as_str);
    let group = match (text("logGroupName"), text("resourceIdentifier")) {
        (Some(n), None) => GroupRef::resolve(ctx, Some(n), None)?,
        (None, Some(id)) if id.contains(":log-group:") => GroupRef::resolve(ctx, None, Some(id))?,
        (None, Some(id)) => {
            return Err(invalid_parameter(format!(
                "resourceIdentifier {id} is not a log group: this server keeps KMS keys on log groups only"
            )));
        }
        (Some(_), Some(_)) => {
            return Err(invalid_parameter("logGroupName and resourceIdentifier are mutually exclusive parameters."));
        }
        (None, None) => return Err(invalid_parameter("Should provide either logGroupName or resourceIdentifier.")),
    };
    let key = if associate {
        let k = text("kmsKeyId").unwrap_or_default().to_string();
        if !k.starts_with("arn:") || !k.contains(":kms:") {
            return Err(invalid_parameter(format!("Specified KMS key ARN {k} is not a valid KMS key ARN.")));
        }
        Some(k)
    } else {
        None
    };
    update(i, group, move |g| {
        g.kms_key_id = key;
        Ok(())
    })
    .await?;
    Ok(Value::Null)
}

/// PutBearerTokenAuthentication: the group's setting, kept and reported by DescribeLogGroups.
pub(crate) async fn put_bearer_token(
    i: &Inner,
    ctx: &RequestContext,
    input: serde_json::Value,
) -> Result<serde_json::Value, AwsError> {
    let id = input.get("logGroupIdentifier").and_then(serde_json::Value::as_str).unwrap_or_default();
    let enabled = input.get("bearerTokenAuthenticationEnabled").and_then(serde_json::Value::as_bool).unwrap_or(false);
    let group = GroupRef::resolve(ctx, None, Some(id))?;
    update(i, group, move |g| {
        g.bearer_token = enabled;
        Ok(())
    })
    .await?;
    Ok(serde_json::Value::Null)
}

/// Loads, changes and saves a group in one transaction.
async fn update(
    i: &Inner,
    group: GroupRef,
    f: impl FnOnce(&mut GroupRecord) -> Result<(), AwsError> + Send + 'static,
) -> Result<(), AwsError> {
    i.store
        .write(move |t| {
            let mut g = group.load(t)?;
            f(&mut g)?;
            save_group(t, &g)
        })
        .await
}

pub(crate) async fn put_deletion_protection(
    i: &Inner,
    ctx: &RequestContext,
    input: PutLogGroupDeletionProtectionInput,
) -> Result<(), AwsError> {
    let group = GroupRef::resolve(ctx, None, Some(&input.log_group_identifier))?;
    update(i, group, move |g| {
        g.deletion_protection = input.deletion_protection_enabled;
        Ok(())
    })
    .await
}

pub(crate) async fn put_retention(
    i: &Inner,
    ctx: &RequestContext,
    input: PutRetentionPolicyInput,
) -> Result<(), AwsError> {
    let days = input.retention_in_days;
    if !RETENTION_DAYS.contains(&days) {
        let allowed = RETENTION_DAYS.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        return Err(constraint("retentionInDays", days, &format!("Member must satisfy enum value set: [{allowed}]")));
    }
    update(i, GroupRef::named(ctx, &input.log_group_name), move |g| {
        g.retention_days = Some(days);
        Ok(())
    })
    .await
}

pub(crate) async fn delete_retention(
    i: &Inner,
    ctx: &RequestContext,
    input: LogGroupNameInput,
) -> Result<(), AwsError> {
    update(i, GroupRef::named(ctx, &input.log_group_name), |g| {
        g.retention_days = None;
        Ok(())
    })
    .await
}

fn add_tags(g: &mut GroupRecord, tags: Tags, too_many: impl FnOnce(&GroupRecord) -> AwsError) -> Result<(), AwsError> {
    check_tags(&tags)?;
    let mut merged = g.tags.clone();
    merged.extend(tags);
    if merged.len() > MAX_TAGS {
        return Err(too_many(g));
    }
    g.tags = merged;
    Ok(())
}

pub(crate) async fn tag_log_group(i: &Inner, ctx: &RequestContext, input: TagLogGroupInput) -> Result<(), AwsError> {
    update(i, GroupRef::named(ctx, &input.log_group_name), move |g| {
        add_tags(g, input.tags, |_| invalid_parameter("A resource can have no more than 50 tags."))
    })
    .await
}

pub(crate) async fn untag_log_group(
    i: &Inner,
    ctx: &RequestContext,
    input: UntagLogGroupInput,
) -> Result<(), AwsError> {
    update(i, GroupRef::named(ctx, &input.log_group_name), move |g| {
        for k in &input.tags {
            g.tags.remove(k);
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_tags_log_group(
    i: &Inner,
    ctx: &RequestContext,
    input: LogGroupNameInput,
) -> Result<TagsOutput, AwsError> {
    let group = GroupRef::named(ctx, &input.log_group_name);
    i.read(move |r| Ok(TagsOutput { tags: group.load(r)?.tags })).await
}

/// The group a tagging ARN names (`arn:aws:logs:{region}:{account}:log-group:{name}`).
fn arn_group(ctx: &RequestContext, arn: &str) -> Result<GroupRef, AwsError> {
    let g = GroupRef::from_arn(arn).ok_or_else(|| {
        if arn.starts_with("arn:") && arn.contains(":logs:") {
            AwsError::new("ResourceNotFoundException", format!("The specified resource does not exist: {arn}"))
        } else {
            invalid_parameter(format!("Invalid ARN: {arn}"))
        }
    })?;
    if g.account != ctx.account || g.region != ctx.region {
        return Err(group_not_found());
    }
    Ok(g)
}

pub(crate) async fn tag_resource(i: &Inner, ctx: &RequestContext, input: TagResourceInput) -> Result<(), AwsError> {
    let group = arn_group(ctx, &input.resource_arn)?;
    update(i, group, move |g| {
        add_tags(g, input.tags, |g| {
            AwsError::new(
                "TooManyTagsException",
                format!("A resource can have no more than 50 tags. Resource: {}", g.group_arn()),
            )
        })
    })
    .await
}

pub(crate) async fn untag_resource(i: &Inner, ctx: &RequestContext, input: UntagResourceInput) -> Result<(), AwsError> {
    let group = arn_group(ctx, &input.resource_arn)?;
    update(i, group, move |g| {
        for k in &input.tag_keys {
            g.tags.remove(k);
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_tags_for_resource(
    i: &Inner,
    ctx: &RequestContext,
    input: ResourceArnInput,
) -> Result<TagsOutput, AwsError> {
    let group = arn_group(ctx, &input.resource_arn)?;
    i.read(move |r: &mut dyn ReadTxn| Ok(TagsOutput { tags: group.load(r)?.tags })).await
}

//! Table operations: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable, tags,
//! time to live, continuous backups, DescribeLimits and DescribeEndpoints.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, scan_prefix};

use crate::errors::{in_use, invalid, limit_exceeded, table_not_found, validation};
use crate::table::{IndexRecord, KeySchema, Projection, StreamSettings, TableRecord};
use crate::value::item_from_json;
use crate::{Inner, keys};

fn s<'a>(v: &'a Json, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Json::as_str)
}

fn req<'a>(v: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    s(v, member).ok_or_else(|| validation(format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")))
}

/// The table `name`, decoded once per thread while its stored bytes are unchanged.
pub fn load(r: &mut dyn ReadTxn, ctx: &RequestContext, name: &str) -> Result<Option<TableRecord>, AwsError> {
    let key = keys::table(&ctx.account, &ctx.region, name);
    let Some(bytes) = r.get(&key)? else { return Ok(None) };
    stratus_storage::decoded(&key, bytes, |b| serde_json::from_slice(b).map_err(|e| AwsError::internal(e.to_string())))
        .map(Some)
}

/// The table with its live counts (DescribeTable and the table operations' answers).
fn counted(r: &mut dyn ReadTxn, mut table: TableRecord) -> Result<TableRecord, AwsError> {
    if let Some((n, b)) = crate::items::counts(r, &keys::counts(table.id, None))? {
        (table.item_count, table.size_bytes) = (n, b);
    }
    let id = table.id;
    for index in table.gsis.iter_mut().chain(table.lsis.iter_mut()) {
        if let Some((n, b)) = crate::items::counts(r, &keys::counts(id, Some(index.number)))? {
            (index.item_count, index.size_bytes) = (n, b);
        }
    }
    Ok(table)
}

pub fn must_load(r: &mut dyn ReadTxn, ctx: &RequestContext, name: &str) -> Result<TableRecord, AwsError> {
    load(r, ctx, name)?.ok_or_else(|| table_not_found(name))
}

pub fn save(t: &mut dyn Txn, table: &TableRecord) -> Result<(), AwsError> {
    let bytes = serde_json::to_vec(table).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&keys::table(&table.account, &table.region, &table.name), &bytes)?;
    Ok(())
}

/// The context a request acts in: a `TableName` given as an ARN names the table's account and
/// region (another account's table is reached through its resource policy).
pub fn scoped(ctx: &RequestContext, input: &Json) -> RequestContext {
    let mut c = ctx.clone();
    if let Some(a) = s(input, "TableName").and_then(stratus_core::Arn::parse).filter(|a| a.service == "dynamodb") {
        c.account = a.account.to_string();
        c.region = a.region.to_string();
    }
    c
}

/// The table a request names by `TableName` (a name or a table ARN).
pub fn table_name(input: &Json) -> Result<String, AwsError> {
    let name = req(input, "TableName")?;
    Ok(name.rsplit_once(":table/").map_or(name, |(_, n)| n).to_string())
}

fn key_schema(v: Option<&Json>, what: &str) -> Result<KeySchema, AwsError> {
    let list = v.and_then(Json::as_array).ok_or_else(|| validation(format!("{what}: KeySchema must not be null")))?;
    let element = |i: usize| {
        list.get(i).map(|e| (s(e, "AttributeName").unwrap_or_default(), s(e, "KeyType").unwrap_or_default()))
    };
    match (element(0), element(1), list.len()) {
        (Some((hash, "HASH")), None, 1) => Ok(KeySchema { hash: hash.into(), range: None }),
        (Some((hash, "HASH")), Some((range, "RANGE")), 2) if hash != range => {
            Ok(KeySchema { hash: hash.into(), range: Some(range.into()) })
        }
        (Some((_, "HASH")), Some((_, "RANGE")), 2) => Err(validation(format!(
            "Invalid {what}: Both the Hash Key and the Range Key element in the KeySchema have the same name"
        ))),
        (Some((_, k)), _, _) if k != "HASH" => {
            Err(validation(format!("Invalid {what}: The first KeySchemaElement is not a HASH key type")))
        }
        (Some(_), Some(_), 2) => {
            Err(validation(format!("Invalid {what}: The second KeySchemaElement is not a RANGE key type")))
        }
        _ => Err(validation(format!("Invalid {what}: KeySchema must have one or two elements"))),
    }
}

fn projection(v: Option<&Json>) -> Result<Projection, AwsError> {
    let kind = v.and_then(|p| s(p, "ProjectionType")).unwrap_or("ALL").to_string();
    let non_key: Vec<String> = v
        .and_then(|p| p.get("NonKeyAttributes"))
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if kind != "INCLUDE" && !non_key.is_empty() {
        return Err(invalid("ProjectionType is not INCLUDE, but NonKeyAttributes is specified"));
    }
    if !matches!(kind.as_str(), "ALL" | "KEYS_ONLY" | "INCLUDE") {
        return Err(invalid(format!("Unknown ProjectionType: {kind}")));
    }
    Ok(Projection { kind, non_key })
}

/// `(read, write)` capacity units, checked against the billing mode.
fn throughput(v: Option<&Json>, billing: &str, what: &str) -> Result<(u64, u64), AwsError> {
    let units = |m: &str| v.and_then(|t| t.get(m)).and_then(Json::as_u64);
    match (billing, v) {
        ("PAY_PER_REQUEST", Some(_)) => Err(invalid(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        ("PAY_PER_REQUEST", None) => Ok((0, 0)),
        (_, None) => Err(validation(format!(
            "One or more parameter values were invalid: ProvisionedThroughput must be specified for {what} when BillingMode is PROVISIONED"
        ))),
        (_, Some(_)) => match (units("ReadCapacityUnits"), units("WriteCapacityUnits")) {
            (Some(r), Some(w)) if r >= 1 && w >= 1 => Ok((r, w)),
            _ => Err(invalid("ReadCapacityUnits and WriteCapacityUnits must both be specified and at least 1")),
        },
    }
}

fn index_records(
    list: Option<&Json>,
    billing: &str,
    table_key: &KeySchema,
    local: bool,
    next: &mut u8,
) -> Result<Vec<IndexRecord>, AwsError> {
    let mut out: Vec<IndexRecord> = Vec::new();
    for i in list.and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default() {
        let name = req(i, "IndexName")?.to_string();
        let key = key_schema(i.get("KeySchema"), "KeySchema")?;
        if local {
            if key.hash != table_key.hash {
                return Err(invalid(format!(
                    "Index KeySchema does not have the same leading hash key as table KeySchema for index: {name}. index hash key: {}, table hash key: {}",
                    key.hash, table_key.hash
                )));
            }
            if key.range.is_none() {
                return Err(invalid(format!("Index KeySchema does not have a range key for index: {name}")));
            }
        }
        let (r, w) =
            if local { (0, 0) } else { throughput(i.get("ProvisionedThroughput"), billing, &format!("index {name}"))? };
        if out.iter().any(|o| o.name == name) {
            return Err(invalid(format!("Duplicate index name: {name}")));
        }
        out.push(IndexRecord {
            name,
            number: *next,
            key,
            projection: projection(i.get("Projection"))?,
            read_capacity: r,
            write_capacity: w,
            item_count: 0,
            size_bytes: 0,
        });
        *next = next.wrapping_add(1);
    }
    Ok(out)
}

fn stream_settings(v: Option<&Json>, now_ms: u64) -> Result<Option<StreamSettings>, AwsError> {
    let Some(spec) = v else { return Ok(None) };
    let enabled = spec.get("StreamEnabled").and_then(Json::as_bool).unwrap_or(false);
    if !enabled {
        return Ok(None);
    }
    let view_type = s(spec, "StreamViewType")
        .ok_or_else(|| validation("One or more parameter values were invalid: StreamViewType must be specified when StreamEnabled is true"))?
        .to_string();
    Ok(Some(StreamSettings {
        enabled,
        view_type,
        label: stratus_core::time::iso8601_millis(now_ms).trim_end_matches('Z').to_string(),
    }))
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = req(&input, "TableName")?.to_string();
    let key = key_schema(input.get("KeySchema"), "KeySchema")?;
    let mut attributes = BTreeMap::new();
    for d in input.get("AttributeDefinitions").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default() {
        let t = req(d, "AttributeType")?;
        if !matches!(t, "S" | "N" | "B") {
            return Err(validation(format!(
                "1 validation error detected: Value '{t}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
            )));
        }
        attributes.insert(req(d, "AttributeName")?.to_string(), t.to_string());
    }
    let billing = s(&input, "BillingMode").unwrap_or("PROVISIONED").to_string();
    let (read_capacity, write_capacity) = throughput(input.get("ProvisionedThroughput"), &billing, "the table")?;
    let mut next = 0u8;
    let gsis = index_records(input.get("GlobalSecondaryIndexes"), &billing, &key, false, &mut next)?;
    let lsis = index_records(input.get("LocalSecondaryIndexes"), &billing, &key, true, &mut next)?;
    if !lsis.is_empty() && key.range.is_none() {
        return Err(invalid(
            "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
        ));
    }
    if gsis.len() > 20 {
        return Err(limit_exceeded(
            "Subscriber limit exceeded: The number of global secondary indexes exceeds the maximum of 20",
        ));
    }
    if lsis.len() > 5 {
        return Err(limit_exceeded(
            "Subscriber limit exceeded: The number of local secondary indexes exceeds the maximum of 5",
        ));
    }
    check_definitions(&attributes, &key, gsis.iter().chain(lsis.iter()))?;
    let now = i.now();
    let mut table = TableRecord {
        name: name.clone(),
        id: 0,
        table_id: i.env.ids.uuid(),
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        key,
        attributes,
        billing,
        read_capacity,
        write_capacity,
        created_ms: now,
        item_count: 0,
        size_bytes: 0,
        gsis,
        lsis,
        stream: stream_settings(input.get("StreamSpecification"), now)?,
        deletion_protection: input.get("DeletionProtectionEnabled").and_then(Json::as_bool).unwrap_or(false),
        table_class: s(&input, "TableClass").map(str::to_string),
        sse: input.get("SSESpecification").filter(|v| v.get("Enabled").and_then(Json::as_bool) == Some(true)).map(
            |v| {
                json!({"Status": "ENABLED", "SSEType": s(v, "SSEType").unwrap_or("KMS"),
                   "KMSMasterKeyArn": format!("arn:{partition}:kms:{}:{}:key/{}", ctx.region, ctx.account, "aws-dynamodb", partition = stratus_core::partition(&ctx.region))})
            },
        ),
        tags: tags_of(&input)?,
        ttl: None,
        point_in_time_recovery: false,
        policy: None,
        stream_policy: None,
    };
    let ctx2 = ctx.clone();
    let table = i
        .store
        .write(move |t| {
            if load(t, &ctx2, &name)?.is_some() {
                return Err(in_use(format!("Table already exists: {name}")));
            }
            table.id = stratus_storage::next_sequence(t, keys::TABLE_IDS)?;
            save(t, &table)?;
            Ok(table)
        })
        .await?;
    Ok(json!({"TableDescription": table.describe("CREATING")}))
}

/// Every key attribute (table and indexes) is defined, and every definition is used.
fn check_definitions<'a>(
    attributes: &BTreeMap<String, String>,
    key: &KeySchema,
    indexes: impl Iterator<Item = &'a IndexRecord>,
) -> Result<(), AwsError> {
    let mut used: BTreeSet<&str> = key.names().into_iter().collect();
    for i in indexes {
        used.extend(i.key.names());
    }
    let defined: BTreeSet<&str> = attributes.keys().map(String::as_str).collect();
    let missing: Vec<&str> = used.difference(&defined).copied().collect();
    if !missing.is_empty() {
        return Err(invalid(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            missing.join(", "),
            defined.iter().copied().collect::<Vec<_>>().join(", ")
        )));
    }
    if defined.len() != used.len() {
        return Err(invalid(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    Ok(())
}

fn tags_of(input: &Json) -> Result<BTreeMap<String, String>, AwsError> {
    let mut out = BTreeMap::new();
    for t in input.get("Tags").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default() {
        out.insert(req(t, "Key")?.to_string(), req(t, "Value")?.to_string());
    }
    Ok(out)
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let ctx = ctx.clone();
    let table = i
        .read(move |r| {
            let t = must_load(r, &ctx, &name)?;
            counted(r, t)
        })
        .await?;
    Ok(json!({"Table": table.describe("ACTIVE")}))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let limit = input.get("Limit").and_then(Json::as_u64).unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
        )));
    }
    let prefix = keys::tables(&ctx.account, &ctx.region);
    let after = s(&input, "ExclusiveStartTableName").map(str::to_string);
    let names: Vec<String> = i
        .read(move |r| {
            let start = match &after {
                // Just past the named table.
                Some(a) => {
                    let mut k = prefix.clone();
                    k.extend_from_slice(a.as_bytes());
                    k.push(0);
                    k
                }
                None => prefix.clone(),
            };
            let end = stratus_storage::prefix_end(&prefix);
            Ok(r.scan(&start, end.as_deref(), limit as usize + 1)?
                .into_iter()
                .map(|(k, _)| String::from_utf8_lossy(&k[prefix.len()..]).into_owned())
                .collect())
        })
        .await?;
    let more = names.len() > limit as usize;
    let page: Vec<String> = names.into_iter().take(limit as usize).collect();
    let last = page.last().cloned();
    let mut out = json!({"TableNames": page});
    if let (true, Some(o), Some(last)) = (more, out.as_object_mut(), last) {
        o.insert("LastEvaluatedTableName".into(), json!(last));
    }
    Ok(out)
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let ctx = ctx.clone();
    let table = i
        .store
        .write(move |t| {
            let table = must_load(t, &ctx, &name)?;
            if table.deletion_protection {
                return Err(validation(
                    "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
                ));
            }
            let items = keys::items(table.id);
            t.delete_range(&items, stratus_storage::prefix_end(&items).as_deref())?;
            for index in table.indexes() {
                let p = keys::index(table.id, index.number);
                t.delete_range(&p, stratus_storage::prefix_end(&p).as_deref())?;
            }
            let table = counted(t, table)?;
            let counts = keys::counts(table.id, None);
            t.delete_range(&counts, stratus_storage::prefix_end(&counts).as_deref())?;
            t.delete(&keys::table(&table.account, &table.region, &table.name))?;
            Ok(table)
        })
        .await?;
    Ok(json!({"TableDescription": table.describe("DELETING")}))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let ctx = ctx.clone();
    let now = i.now();
    let table = i
        .store
        .write(move |t| {
            let mut table = must_load(t, &ctx, &name)?;
            if let Some(b) = s(&input, "BillingMode") {
                table.billing = b.to_string();
                if b == "PAY_PER_REQUEST" {
                    (table.read_capacity, table.write_capacity) = (0, 0);
                }
            }
            if let Some(p) = input.get("ProvisionedThroughput") {
                (table.read_capacity, table.write_capacity) = throughput(Some(p), &table.billing, "the table")?;
            }
            if let Some(d) = input.get("DeletionProtectionEnabled").and_then(Json::as_bool) {
                table.deletion_protection = d;
            }
            if let Some(c) = s(&input, "TableClass") {
                table.table_class = Some(c.to_string());
            }
            if let Some(spec) = input.get("StreamSpecification") {
                let enabled = table.stream.as_ref().is_some_and(|s| s.enabled);
                let wants = spec.get("StreamEnabled").and_then(Json::as_bool).unwrap_or(false);
                if enabled && wants {
                    return Err(validation(format!("Table already has an enabled stream: {}", table.arn())));
                }
                table.stream = stream_settings(Some(spec), now)?;
            }
            for def in input.get("AttributeDefinitions").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default()
            {
                table.attributes.insert(req(def, "AttributeName")?.to_string(), req(def, "AttributeType")?.to_string());
            }
            for u in
                input.get("GlobalSecondaryIndexUpdates").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default()
            {
                if let Some(c) = u.get("Create") {
                    create_index(t, &mut table, c)?;
                } else if let Some(d) = u.get("Delete") {
                    let index = req(d, "IndexName")?;
                    let Some(pos) = table.gsis.iter().position(|g| g.name == index) else {
                        return Err(AwsError::new(
                            "ResourceNotFoundException",
                            format!("Requested resource not found: Index: {index} not found"),
                        ));
                    };
                    let gone = table.gsis.remove(pos);
                    let p = keys::index(table.id, gone.number);
                    t.delete_range(&p, stratus_storage::prefix_end(&p).as_deref())?;
                    t.delete(&keys::counts(table.id, Some(gone.number)))?;
                } else if let Some(u) = u.get("Update") {
                    let index = req(u, "IndexName")?;
                    let billing = table.billing.clone();
                    let g = table.gsis.iter_mut().find(|g| g.name == index).ok_or_else(|| {
                        AwsError::new(
                            "ResourceNotFoundException",
                            format!("Requested resource not found: Index: {index} not found"),
                        )
                    })?;
                    (g.read_capacity, g.write_capacity) =
                        throughput(u.get("ProvisionedThroughput"), &billing, &format!("index {index}"))?;
                }
            }
            save(t, &table)?;
            counted(t, table)
        })
        .await?;
    Ok(json!({"TableDescription": table.describe("ACTIVE")}))
}

/// A new global secondary index, backfilled from the table's items at once.
fn create_index(t: &mut dyn Txn, table: &mut TableRecord, spec: &Json) -> Result<(), AwsError> {
    let billing = table.billing.clone();
    let mut next = table.indexes().map(|i| i.number).max().map_or(0, |n| n.wrapping_add(1));
    let mut made = index_records(Some(&Json::Array(vec![spec.clone()])), &billing, &table.key, false, &mut next)?;
    let Some(index) = made.pop() else { return Ok(()) };
    if table.index(&index.name).is_some() {
        return Err(validation(format!("Attempting to create an index which already exists: {}", index.name)));
    }
    if table.gsis.len() >= 20 {
        return Err(limit_exceeded(
            "Subscriber limit exceeded: The number of global secondary indexes exceeds the maximum of 20",
        ));
    }
    for name in index.key.names() {
        if !table.attributes.contains_key(name) {
            return Err(invalid(format!(
                "Global Secondary Index hash key or range key attribute {name} is not defined in AttributeDefinitions"
            )));
        }
    }
    let items = keys::items(table.id);
    let (mut count, mut bytes) = (0, 0);
    for (_, v) in scan_prefix(t, &items, usize::MAX)? {
        let item = crate::items::decode(&v)?;
        if let Some((k, kept)) = table.index_entry(&index, &item) {
            count += 1;
            bytes += crate::value::item_size(&kept) as u64;
            t.put(&k, &crate::items::encode(&kept))?;
        }
    }
    crate::items::set_counts(t, &keys::counts(table.id, Some(index.number)), (count, bytes))?;
    table.gsis.push(index);
    Ok(())
}

/// The table an ARN names (`arn:aws:dynamodb:{region}:{account}:table/{name}`).
fn table_of_arn(ctx: &RequestContext, arn: &str) -> Result<(RequestContext, String), AwsError> {
    let a = stratus_core::Arn::parse(arn)
        .filter(|a| a.service == "dynamodb")
        .ok_or_else(|| validation(format!("Invalid TableArn: Invalid ResourceArn provided as input {arn}")))?;
    let name = a.resource.strip_prefix("table/").map(|n| n.split('/').next().unwrap_or(n)).unwrap_or(a.resource);
    let mut c = ctx.clone();
    c.account = a.account.to_string();
    c.region = a.region.to_string();
    Ok((c, name.to_string()))
}

pub async fn tag(i: &Inner, ctx: &RequestContext, input: Json, add: bool) -> Result<(), AwsError> {
    let (ctx, name) = table_of_arn(ctx, req(&input, "ResourceArn")?)?;
    let tags = tags_of(&input)?;
    let remove: Vec<String> = input
        .get("TagKeys")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    i.store
        .write(move |t| {
            let mut table = load(t, &ctx, &name)?.ok_or_else(|| {
                AwsError::new(
                    "ResourceNotFoundException",
                    format!(
                        "Requested resource not found: ResourcArn: {} not found",
                        crate::table::table_arn(&ctx.region, &ctx.account, &name)
                    ),
                )
            })?;
            if add {
                table.tags.extend(tags);
                if table.tags.len() > 50 {
                    return Err(validation("One or more parameter values were invalid: Too many tags"));
                }
            } else {
                for k in &remove {
                    table.tags.remove(k);
                }
            }
            save(t, &table)
        })
        .await
}

pub async fn list_tags(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let (ctx, name) = table_of_arn(ctx, req(&input, "ResourceArn")?)?;
    let table = i.read(move |r| must_load(r, &ctx, &name)).await?;
    let tags: Vec<Json> = table.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    Ok(json!({"Tags": tags}))
}

pub async fn update_ttl(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let spec = input.get("TimeToLiveSpecification").cloned().unwrap_or(Json::Null);
    let enabled = spec.get("Enabled").and_then(Json::as_bool).unwrap_or(false);
    let attribute = req(&spec, "AttributeName")?.to_string();
    let ctx = ctx.clone();
    let attr = attribute.clone();
    i.store
        .write(move |t| {
            let mut table = must_load(t, &ctx, &name)?;
            match (&table.ttl, enabled) {
                (Some((_, true)), true) => return Err(validation("TimeToLive is already enabled")),
                (None | Some((_, false)), false) => return Err(validation("TimeToLive is already disabled")),
                _ => {}
            }
            table.ttl = Some((attr, enabled));
            save(t, &table)
        })
        .await?;
    Ok(json!({"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}))
}

pub async fn describe_ttl(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let ctx = ctx.clone();
    let table = i.read(move |r| must_load(r, &ctx, &name)).await?;
    Ok(match table.ttl {
        Some((attr, true)) => json!({"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": attr}}),
        _ => json!({"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}),
    })
}

fn backups_json(table: &TableRecord) -> Json {
    let pitr = if table.point_in_time_recovery { "ENABLED" } else { "DISABLED" };
    json!({"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": pitr}}})
}

pub async fn describe_backups(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let ctx = ctx.clone();
    let table = i
        .read(move |r| {
            load(r, &ctx, &name)?
                .ok_or_else(|| AwsError::new("TableNotFoundException", format!("Table not found: {name}")))
        })
        .await?;
    Ok(backups_json(&table))
}

pub async fn update_backups(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let on = input
        .get("PointInTimeRecoverySpecification")
        .and_then(|p| p.get("PointInTimeRecoveryEnabled"))
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let ctx = ctx.clone();
    let table = i
        .store
        .write(move |t| {
            let mut table = load(t, &ctx, &name)?
                .ok_or_else(|| AwsError::new("TableNotFoundException", format!("Table not found: {name}")))?;
            table.point_in_time_recovery = on;
            save(t, &table)?;
            Ok::<_, AwsError>(table)
        })
        .await?;
    Ok(backups_json(&table))
}

pub fn describe_limits() -> Json {
    json!({"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
           "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000})
}

pub fn describe_endpoints(ctx: &RequestContext) -> Json {
    json!({"Endpoints": [{"Address": ctx.host, "CachePeriodInMinutes": 1440}]})
}

/// Items of a `Key` parameter (also used by item operations).
pub fn key_item(input: &Json, member: &str) -> Result<crate::value::Item, AwsError> {
    let v = input.get(member).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            member.to_lowercase()
        ))
    })?;
    item_from_json(v).map_err(validation)
}

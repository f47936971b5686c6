//! On-demand backups: CreateBackup copies a table's definition and items in one transaction
//! (so a backup is a consistent snapshot), DescribeBackup, ListBackups and DeleteBackup manage
//! them, and RestoreTableFromBackup makes a new table from one — its indexes rebuilt and counts
//! kept by the same write path as any item.
//!
//! - `ddb/b/{account}/{region}/{backup id}` → backup record (JSON: the table as it was)
//! - `ddb/bi/{backup id}\0{item key suffix}` → an item of the backup

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, prefix_end, scan_prefix};

use crate::errors::validation;
use crate::table::TableRecord;
use crate::tables::{load, save, table_name};
use crate::{Inner, items, keys};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BackupRecord {
    id: String,
    arn: String,
    name: String,
    created_ms: u64,
    size_bytes: u64,
    item_count: u64,
    /// The table as it was.
    table: TableRecord,
}

fn backup_key(account: &str, region: &str, id: &str) -> Vec<u8> {
    format!("ddb/b/{account}/{region}/{id}").into_bytes()
}

fn items_prefix(id: &str) -> Vec<u8> {
    let mut k = format!("ddb/bi/{id}").into_bytes();
    k.push(0);
    k
}

fn not_found(arn: &str) -> AwsError {
    AwsError::new("BackupNotFoundException", format!("Backup not found: {arn}"))
}

fn s<'a>(v: &'a Json, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Json::as_str)
}

fn secs(ms: u64) -> Json {
    json!(ms as f64 / 1000.0)
}

impl BackupRecord {
    fn details(&self, status: &str) -> Json {
        json!({"BackupArn": self.arn, "BackupName": self.name, "BackupSizeBytes": self.size_bytes,
               "BackupStatus": status, "BackupType": "USER", "BackupCreationDateTime": secs(self.created_ms)})
    }

    fn description(&self, status: &str) -> Json {
        let t = &self.table;
        let described = t.describe("ACTIVE");
        let mut features = json!({});
        if let Some(o) = features.as_object_mut() {
            for (from, to) in [
                ("GlobalSecondaryIndexes", "GlobalSecondaryIndexes"),
                ("LocalSecondaryIndexes", "LocalSecondaryIndexes"),
                ("StreamSpecification", "StreamDescription"),
                ("SSEDescription", "SSEDescription"),
            ] {
                if let Some(v) = described.get(from) {
                    o.insert(to.into(), v.clone());
                }
            }
        }
        json!({"BackupDetails": self.details(status),
               "SourceTableDetails": {"TableName": t.name, "TableId": t.table_id, "TableArn": t.arn(),
                   "TableSizeBytes": self.size_bytes, "KeySchema": described["KeySchema"],
                   "TableCreationDateTime": secs(t.created_ms), "ItemCount": self.item_count,
                   "ProvisionedThroughput": {"ReadCapacityUnits": t.read_capacity, "WriteCapacityUnits": t.write_capacity},
                   "BillingMode": t.billing},
               "SourceTableFeatureDetails": features})
    }
}

/// `(account, region, id)` of a backup ARN (`…:table/{name}/backup/{id}`).
fn parse_arn(arn: &str) -> Option<(String, String, String)> {
    let a = stratus_core::Arn::parse(arn).filter(|a| a.service == "dynamodb")?;
    let (_, id) = a.resource.split_once("/backup/")?;
    Some((a.account.to_string(), a.region.to_string(), id.to_string()))
}

fn load_backup(r: &mut dyn ReadTxn, arn: &str) -> Result<BackupRecord, AwsError> {
    let (account, region, id) = parse_arn(arn).ok_or_else(|| not_found(arn))?;
    let bytes = r.get(&backup_key(&account, &region, &id))?.ok_or_else(|| not_found(arn))?;
    serde_json::from_slice(&bytes).map_err(|e| AwsError::internal(e.to_string()))
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let backup_name = s(&input, "BackupName").ok_or_else(|| validation("BackupName must be specified"))?.to_string();
    let now = i.now();
    let id = format!("{now:013}-{}", &i.env.ids.uuid().replace('-', "")[..8]);
    let ctx = ctx.clone();
    let record = i
        .store
        .write(move |t| {
            let table = load(t, &ctx, &name)?
                .ok_or_else(|| AwsError::new("TableNotFoundException", format!("Table not found: {name}")))?;
            let prefix = keys::items(table.id);
            let (mut count, mut size) = (0, 0);
            for (k, v) in scan_prefix(t, &prefix, usize::MAX)? {
                let mut key = items_prefix(&id);
                key.extend_from_slice(&k[prefix.len()..]);
                t.put(&key, &v)?;
                count += 1;
                size += crate::value::item_size(&items::decode(&v)?) as u64;
            }
            let record = BackupRecord {
                arn: format!("{}/backup/{id}", table.arn()),
                id: id.clone(),
                name: backup_name,
                created_ms: now,
                size_bytes: size,
                item_count: count,
                table,
            };
            let bytes = serde_json::to_vec(&record).map_err(|e| AwsError::internal(e.to_string()))?;
            t.put(&backup_key(&ctx.account, &ctx.region, &id), &bytes)?;
            Ok::<_, AwsError>(record)
        })
        .await?;
    Ok(json!({"BackupDetails": record.details("AVAILABLE")}))
}

pub async fn describe(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let arn = s(&input, "BackupArn").unwrap_or_default().to_string();
    let record = i.read(move |r| load_backup(r, &arn)).await?;
    Ok(json!({"BackupDescription": record.description("AVAILABLE")}))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let only = s(&input, "TableName").map(str::to_string);
    let limit = input.get("Limit").and_then(Json::as_u64).unwrap_or(100).clamp(1, 100) as usize;
    let after = s(&input, "ExclusiveStartBackupArn").map(str::to_string);
    let prefix = format!("ddb/b/{}/{}/", ctx.account, ctx.region).into_bytes();
    let all: Vec<BackupRecord> = i
        .read(move |r| {
            scan_prefix(r, &prefix, usize::MAX)?
                .iter()
                .map(|(_, v)| serde_json::from_slice(v).map_err(|e| AwsError::internal(e.to_string())))
                .collect()
        })
        .await?;
    let mut list: Vec<&BackupRecord> =
        all.iter().filter(|b| only.as_deref().is_none_or(|n| n == b.table.name)).collect();
    if let Some(a) = after {
        let pos = list.iter().position(|b| b.arn == a).map_or(0, |p| p + 1);
        list.drain(..pos);
    }
    let more = list.len() > limit;
    list.truncate(limit);
    let summaries: Vec<Json> = list
        .iter()
        .map(|b| {
            json!({"TableName": b.table.name, "TableId": b.table.table_id, "TableArn": b.table.arn(),
                   "BackupArn": b.arn, "BackupName": b.name, "BackupCreationDateTime": secs(b.created_ms),
                   "BackupStatus": "AVAILABLE", "BackupType": "USER", "BackupSizeBytes": b.size_bytes})
        })
        .collect();
    let mut out = json!({"BackupSummaries": summaries});
    if let (true, Some(last), Some(o)) = (more, list.last(), out.as_object_mut()) {
        o.insert("LastEvaluatedBackupArn".into(), json!(last.arn));
    }
    Ok(out)
}

pub async fn delete(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let arn = s(&input, "BackupArn").unwrap_or_default().to_string();
    let record = i
        .store
        .write(move |t| {
            let record = load_backup(t, &arn)?;
            let p = items_prefix(&record.id);
            t.delete_range(&p, prefix_end(&p).as_deref())?;
            if let Some((account, region, id)) = parse_arn(&arn) {
                t.delete(&backup_key(&account, &region, &id))?;
            }
            Ok::<_, AwsError>(record)
        })
        .await?;
    Ok(json!({"BackupDescription": record.description("DELETED")}))
}

pub async fn restore(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let arn = s(&input, "BackupArn").unwrap_or_default().to_string();
    let target =
        s(&input, "TargetTableName").ok_or_else(|| validation("TargetTableName must be specified"))?.to_string();
    let billing = s(&input, "BillingModeOverride").map(str::to_string);
    let now = i.now();
    let table_id = i.env.ids.uuid();
    let ctx = ctx.clone();
    let table = i
        .store
        .write(move |t| {
            let backup = load_backup(t, &arn)?;
            if load(t, &ctx, &target)?.is_some() {
                return Err(AwsError::new("TableAlreadyExistsException", format!("Table already exists: {target}")));
            }
            let mut table = backup.table.clone();
            table.name = target;
            table.table_id = table_id;
            table.account = ctx.account.clone();
            table.region = ctx.region.clone();
            table.id = stratus_storage::next_sequence(t, keys::TABLE_IDS)?;
            table.created_ms = now;
            table.stream = None;
            if let Some(b) = billing {
                table.billing = b;
            }
            save(t, &table)?;
            let p = items_prefix(&backup.id);
            for (k, v) in scan_prefix(t, &p, usize::MAX)? {
                let mut key = keys::items(table.id);
                key.extend_from_slice(&k[p.len()..]);
                let item = items::decode(&v)?;
                items::apply(t, &table, &key, None, Some(&item), now)?;
            }
            Ok((table, backup.arn, backup.table.arn()))
        })
        .await?;
    let (table, backup_arn, source) = table;
    let mut d = table.describe("CREATING");
    if let Some(o) = d.as_object_mut() {
        o.insert(
            "RestoreSummary".into(),
            json!({"SourceBackupArn": backup_arn, "SourceTableArn": source, "RestoreDateTime": secs(now), "RestoreInProgress": false}),
        );
    }
    Ok(json!({"TableDescription": d}))
}

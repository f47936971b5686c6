//! Export tasks: CreateExportTask writes a log group's events of a time range to an S3 bucket
//! as AWS lays them out — `{destinationPrefix}/{taskId}/{stream}/000000.gz`, gzipped lines
//! `{ISO-8601 timestamp} {message}` — after the `aws-logs-write-test` object AWS writes to
//! check its access. The task record and an outbox record (topic [`EXPORTS_TOPIC`]) are written
//! in one transaction; the trigger engine (which alone sees S3) asks [`Logs::export_files`] for
//! the objects, puts them, and reports with [`Logs::finish_export`], so an acknowledged task is
//! carried out at least once, also across restarts. DescribeExportTasks and CancelExportTask
//! read and stop tasks; one task per account and region runs at a time, as on AWS.
//!
//! - `logs/x/{account}/{region}/{task id}` → task record (JSON)

use std::io::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::errors::invalid_parameter;
use crate::group::{GroupRef, decode_stream};
use crate::{Inner, Logs, keys};

/// The outbox topic of export tasks: `{"destination": bucket ARN, "task": {account, region,
/// id}}`.
pub const EXPORTS_TOPIC: &str = "logs-exports";

/// What AWS writes first to check that it may write to the bucket.
pub const WRITE_TEST: (&str, &str) = ("aws-logs-write-test", "Permission Check Successful");

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    id: String,
    name: Option<String>,
    account: String,
    region: String,
    group: String,
    stream_prefix: Option<String>,
    from: u64,
    to: u64,
    bucket: String,
    prefix: String,
    status: String,
    message: Option<String>,
    created: u64,
    completed: Option<u64>,
}

fn task_key(account: &str, region: &str, id: &str) -> Vec<u8> {
    format!("logs/x/{account}/{region}/{id}").into_bytes()
}

fn decode(b: &[u8]) -> Result<Task, AwsError> {
    serde_json::from_slice(b).map_err(|e| AwsError::internal(format!("corrupt export task: {e}")))
}

fn encode(t: &Task) -> Result<Vec<u8>, AwsError> {
    serde_json::to_vec(t).map_err(|e| AwsError::internal(e.to_string()))
}

fn s<'a>(v: &'a Json, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Json::as_str)
}

fn running(status: &str) -> bool {
    matches!(status, "PENDING" | "RUNNING")
}

impl Task {
    fn describe(&self) -> Json {
        let mut status = json!({"code": self.status});
        if let (Some(m), Some(o)) = (&self.message, status.as_object_mut()) {
            o.insert("message".into(), json!(m));
        }
        let mut info = json!({"creationTime": self.created});
        if let (Some(c), Some(o)) = (self.completed, info.as_object_mut()) {
            o.insert("completionTime".into(), json!(c));
        }
        let mut v = json!({
            "taskId": self.id, "logGroupName": self.group, "from": self.from, "to": self.to,
            "destination": self.bucket, "destinationPrefix": self.prefix, "status": status, "executionInfo": info,
        });
        if let (Some(n), Some(o)) = (&self.name, v.as_object_mut()) {
            o.insert("taskName".into(), json!(n));
        }
        v
    }
}

/// Whether an S3 bucket exists: the binary answers (only it sees S3).
pub trait Buckets: Send + Sync {
    fn exists<'a>(&'a self, bucket: &'a str) -> stratus_proto::BoxFuture<'a, bool>;
    /// Writes an object (scheduled queries' results).
    fn put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Vec<u8>,
    ) -> stratus_proto::BoxFuture<'a, Result<(), String>>;
}

pub(crate) async fn create(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let group = s(&input, "logGroupName").unwrap_or_default().to_string();
    let from = input.get("from").and_then(Json::as_u64).unwrap_or(0);
    let to = input.get("to").and_then(Json::as_u64).unwrap_or(0);
    if to < from {
        return Err(invalid_parameter("The value of parameter 'to' must be greater than or equal to 'from'."));
    }
    let bucket = s(&input, "destination").unwrap_or_default().to_string();
    let prefix = s(&input, "destinationPrefix").filter(|p| !p.is_empty()).unwrap_or("exportedlogs").to_string();
    let exists = match i.buckets.get() {
        Some(b) => b.exists(&bucket).await,
        None => false,
    };
    if !exists {
        return Err(invalid_parameter("The given bucket does not exist. Please make sure the bucket is valid."));
    }
    let task = Task {
        id: i.env.ids.uuid(),
        name: s(&input, "taskName").map(str::to_string),
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        group: group.clone(),
        stream_prefix: s(&input, "logStreamNamePrefix").map(str::to_string),
        from,
        to,
        bucket,
        prefix,
        status: "PENDING".into(),
        message: Some("Pending.".into()),
        created: i.now(),
        completed: None,
    };
    let gref = GroupRef::named(ctx, &group);
    let id = task.id.clone();
    i.store
        .write_signalling(move |t| {
            gref.load(t)?;
            let prefix = format!("logs/x/{}/{}/", task.account, task.region).into_bytes();
            for (_, v) in scan_prefix(t, &prefix, usize::MAX)? {
                if running(&decode(&v)?.status) {
                    return Err(AwsError::new("LimitExceededException", "Resource limit exceeded."));
                }
            }
            t.put(&task_key(&task.account, &task.region, &task.id), &encode(&task)?)?;
            let record = json!({
                "destination": format!("arn:aws:s3:::{}", task.bucket),
                "task": {"account": task.account, "region": task.region, "id": task.id},
            });
            stratus_storage::outbox_push(t, EXPORTS_TOPIC, record.to_string().as_bytes())?;
            Ok(())
        })
        .await?;
    Ok(json!({"taskId": id}))
}

pub(crate) async fn describe(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let prefix = format!("logs/x/{}/{}/", ctx.account, ctx.region).into_bytes();
    let mut all: Vec<Task> =
        i.read(move |r| scan_prefix(r, &prefix, usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()).await?;
    if let Some(id) = s(&input, "taskId") {
        all.retain(|t| t.id == id);
    }
    if let Some(code) = s(&input, "statusCode") {
        all.retain(|t| t.status == code);
    }
    all.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    let limit = input.get("limit").and_then(Json::as_u64).unwrap_or(50).clamp(1, 50) as usize;
    let start = match s(&input, "nextToken") {
        Some(t) => all.iter().position(|x| x.id == t).ok_or_else(crate::errors::invalid_token)?,
        None => 0,
    };
    let tasks: Vec<Json> = all.iter().skip(start).take(limit).map(Task::describe).collect();
    let mut out = json!({"exportTasks": tasks});
    if let (Some(next), Some(o)) = (all.get(start + limit), out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next.id));
    }
    Ok(out)
}

pub(crate) async fn cancel(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let key = task_key(&ctx.account, &ctx.region, s(&input, "taskId").unwrap_or_default());
    let now = i.now();
    i.store
        .write(move |t| {
            let b = t.get(&key)?.ok_or_else(|| {
                AwsError::new("ResourceNotFoundException", "The specified export task does not exist.")
            })?;
            let mut task = decode(&b)?;
            if !running(&task.status) {
                return Err(AwsError::new(
                    "InvalidOperationException",
                    format!("The specified export task has already finished. Task status: {}", task.status),
                ));
            }
            task.status = "CANCELLED".into();
            task.message = Some("Cancelled by user".into());
            task.completed = Some(now);
            t.put(&key, &encode(&task)?)?;
            Ok(())
        })
        .await?;
    Ok(Json::Null)
}

/// One object an export writes: (bucket, key, bytes).
pub type ExportObject = (String, String, Vec<u8>);

impl Logs {
    /// The objects a pending export task writes (marking it RUNNING), or None when the task is
    /// gone or no longer wants running (cancelled, finished).
    pub async fn export_files(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<Vec<ExportObject>>, AwsError> {
        let key = task_key(account, region, id);
        let task = self
            .inner
            .store
            .write(move |t| -> Result<Option<Task>, AwsError> {
                let Some(b) = t.get(&key)? else { return Ok(None) };
                let mut task = decode(&b)?;
                if !running(&task.status) {
                    return Ok(None);
                }
                task.status = "RUNNING".into();
                task.message = Some("Started successfully".into());
                t.put(&key, &encode(&task)?)?;
                Ok(Some(task))
            })
            .await?;
        let Some(task) = task else { return Ok(None) };
        let inner = self.inner.clone();
        let files = inner
            .read(move |r| {
                let gref =
                    GroupRef { account: task.account.clone(), region: task.region.clone(), name: task.group.clone() };
                let g = gref.load(r)?;
                let mut out = vec![(
                    task.bucket.clone(),
                    format!("{}/{}", task.prefix, WRITE_TEST.0),
                    WRITE_TEST.1.as_bytes().to_vec(),
                )];
                for (_, sb) in scan_prefix(r, &keys::streams(g.id), usize::MAX)? {
                    let stream = decode_stream(&sb)?;
                    if task.stream_prefix.as_ref().is_some_and(|p| !stream.name.starts_with(p.as_str())) {
                        continue;
                    }
                    let lo = keys::event(g.id, stream.id, task.from, 0);
                    let hi = keys::event(g.id, stream.id, task.to.saturating_add(1), 0);
                    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    let mut any = false;
                    for (k, v) in r.scan(&lo, Some(&hi), usize::MAX)? {
                        let (Some((ts, _)), Some((_, message))) = (keys::parse_event(&k), keys::parse_event_value(&v))
                        else {
                            continue;
                        };
                        any = true;
                        let line = format!("{} {message}\n", stratus_core::time::iso8601_millis(ts));
                        gz.write_all(line.as_bytes()).map_err(|e| AwsError::internal(e.to_string()))?;
                    }
                    if any {
                        let bytes = gz.finish().map_err(|e| AwsError::internal(e.to_string()))?;
                        out.push((
                            task.bucket.clone(),
                            format!("{}/{}/{}/000000.gz", task.prefix, task.id, stream.name),
                            bytes,
                        ));
                    }
                }
                Ok(out)
            })
            .await;
        match files {
            Ok(f) => Ok(Some(f)),
            // The group went away meanwhile: the task fails.
            Err(e) if e.code == "ResourceNotFoundException" => {
                self.finish_export(account, region, id, Err("The log group was deleted.".into())).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Marks an export task COMPLETED, or FAILED with a reason.
    pub async fn finish_export(
        &self,
        account: &str,
        region: &str,
        id: &str,
        outcome: Result<(), String>,
    ) -> Result<(), AwsError> {
        let key = task_key(account, region, id);
        let now = self.inner.now();
        self.inner
            .store
            .write(move |t| -> Result<(), AwsError> {
                let Some(b) = t.get(&key)? else { return Ok(()) };
                let mut task = decode(&b)?;
                if task.status != "RUNNING" {
                    return Ok(());
                }
                match outcome {
                    Ok(()) => {
                        task.status = "COMPLETED".into();
                        task.message = Some("Completed successfully".into());
                    }
                    Err(why) => {
                        task.status = "FAILED".into();
                        task.message = Some(why);
                    }
                }
                task.completed = Some(now);
                t.put(&key, &encode(&task)?)?;
                Ok(())
            })
            .await
    }

    /// Connects the bucket check CreateExportTask makes (once, at start).
    pub fn set_buckets(&self, b: std::sync::Arc<dyn Buckets>) {
        let _ = self.inner.buckets.set(b);
    }
}

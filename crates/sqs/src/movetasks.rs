//! Message move tasks: moving messages out of a dead-letter queue, back to the queues they
//! came from or to a chosen destination, at an optional rate. A task is stored, so one left
//! running by a stopped server is resumed when it starts again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::errors::{invalid_parameter, invalid_value};
use crate::messages::{move_to, remove_message, visible_messages};
use crate::queue::{QueueRecord, parse_queue_arn};
use crate::queues::load_arn;
use crate::types::*;
use crate::{Inner, keys};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MoveTask {
    id: String,
    account: String,
    region: String,
    source_arn: String,
    destination_arn: Option<String>,
    rate: Option<i64>,
    status: String,
    moved: u64,
    to_move: u64,
    failure: Option<String>,
    started: u64,
}

fn handle(t: &MoveTask) -> String {
    STANDARD.encode(json!({"taskId": t.id, "sourceArn": t.source_arn}).to_string())
}

fn not_found(what: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("The resource that you specified for the {what} parameter doesn't exist."),
    )
}

fn load_tasks(r: &mut dyn stratus_storage::ReadTxn, prefix: &[u8]) -> Result<Vec<MoveTask>, AwsError> {
    Ok(scan_prefix(r, prefix, usize::MAX)?.into_iter().filter_map(|(_, v)| serde_json::from_slice(&v).ok()).collect())
}

fn save(t: &mut dyn stratus_storage::Txn, task: &MoveTask) -> Result<(), AwsError> {
    let bytes = serde_json::to_vec(task).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&keys::task(&task.account, &task.region, &task.id), &bytes)?;
    Ok(())
}

/// Whether any queue uses `arn` as its dead-letter queue.
fn is_dead_letter_queue(r: &mut dyn stratus_storage::ReadTxn, dlq: &QueueRecord) -> Result<bool, AwsError> {
    let arn = dlq.arn();
    Ok(scan_prefix(r, &keys::queues(&dlq.account, &dlq.region), usize::MAX)?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice::<QueueRecord>(&v).ok())
        .any(|q| q.redrive().is_some_and(|(target, _)| target == arn)))
}

pub(crate) async fn start(
    i: &Inner,
    _ctx: &RequestContext,
    input: StartMessageMoveTaskInput,
) -> Result<TaskHandleOutput, AwsError> {
    if let Some(rate) = input.max_number_of_messages_per_second
        && !(1..=500).contains(&rate)
    {
        return Err(invalid_value("MaxNumberOfMessagesPerSecond", rate, "Must be between 1 and 500."));
    }
    let (account, region, _) = parse_queue_arn(&input.source_arn).ok_or_else(|| not_found("SourceArn"))?;
    let now = i.now();
    let id = i.env.ids.uuid();
    let task = i
        .store
        .write(move |t| {
            let source = load_arn(t, &input.source_arn)?.ok_or_else(|| not_found("SourceArn"))?;
            if !is_dead_letter_queue(t, &source)? {
                return Err(invalid_parameter("Source queue must be configured as a Dead Letter Queue."));
            }
            if let Some(dest) = &input.destination_arn
                && load_arn(t, dest)?.is_none()
            {
                return Err(not_found("DestinationArn"));
            }
            let existing = load_tasks(t, &keys::tasks(&account, &region))?;
            if existing.iter().any(|x| x.source_arn == input.source_arn && x.status == "RUNNING") {
                return Err(invalid_parameter("There is already a task running. Only one active task is allowed for a source queue arn at a given time."));
            }
            let to_move = visible_messages(t, &source, now, usize::MAX)?.len() as u64;
            let task = MoveTask {
                id,
                account,
                region,
                source_arn: input.source_arn,
                destination_arn: input.destination_arn,
                rate: input.max_number_of_messages_per_second,
                status: "RUNNING".into(),
                moved: 0,
                to_move,
                failure: None,
                started: now,
            };
            save(t, &task)?;
            Ok(task)
        })
        .await?;
    let out = TaskHandleOutput { task_handle: handle(&task) };
    spawn(i, task);
    Ok(out)
}

fn spawn(i: &Inner, task: MoveTask) {
    // The runner needs the shared state; `Inner` lives in an Arc owned by `Sqs`, reached here
    // through the store and env clones it needs.
    let runner = Runner { store: i.store.clone(), env: i.env.clone(), wake: i.wake_handle() };
    tokio::spawn(async move { runner.run(task).await });
}

struct Runner {
    store: stratus_storage::Store,
    env: stratus_core::Env,
    wake: crate::Waker,
}

impl Runner {
    async fn run(self, task: MoveTask) {
        let key = keys::task(&task.account, &task.region, &task.id);
        loop {
            let now = self.env.clock.now_millis();
            let key2 = key.clone();
            let step = self
                .store
                .write(move |t| {
                    let Some(bytes) = t.get(&key2)? else { return Ok::<_, AwsError>((0, Vec::new(), false, None)) };
                    let mut task: MoveTask =
                        serde_json::from_slice(&bytes).map_err(|e| AwsError::internal(e.to_string()))?;
                    if task.status != "RUNNING" {
                        return Ok((0, Vec::new(), false, task.rate));
                    }
                    let Some(source) = load_arn(t, &task.source_arn)? else {
                        task.status = "FAILED".into();
                        task.failure = Some("AWS.SimpleQueueService.NonExistentQueue".into());
                        save(t, &task)?;
                        return Ok((0, Vec::new(), false, task.rate));
                    };
                    let left = task.to_move.saturating_sub(task.moved);
                    let batch = left.min(task.rate.map_or(100, |r| r as u64)).min(100) as usize;
                    let msgs = if batch == 0 { Vec::new() } else { visible_messages(t, &source, now, batch)? };
                    let mut dests: HashMap<String, Option<QueueRecord>> = HashMap::new();
                    let mut woken = Vec::new();
                    let mut moved = 0u64;
                    for (seq, mut m) in msgs {
                        let Some(dest_arn) = task.destination_arn.clone().or_else(|| m.dlq_source.clone()) else {
                            continue;
                        };
                        if !dests.contains_key(&dest_arn) {
                            let d = load_arn(t, &dest_arn)?;
                            dests.insert(dest_arn.clone(), d);
                        }
                        let Some(Some(dest)) = dests.get(&dest_arn) else {
                            task.status = "FAILED".into();
                            task.failure = Some("AWS.SimpleQueueService.NonExistentQueue".into());
                            break;
                        };
                        remove_message(t, source.id, seq, &m)?;
                        m.dlq_source = None;
                        move_to(t, dest, m, None, now)?;
                        woken.push(dest.id);
                        moved += 1;
                    }
                    task.moved += moved;
                    let more = task.status == "RUNNING" && moved > 0 && task.moved < task.to_move;
                    if task.status == "RUNNING" && !more {
                        task.status = "COMPLETED".into();
                    }
                    save(t, &task)?;
                    Ok((moved, woken, more, task.rate))
                })
                .await;
            match step {
                Ok((moved, woken, more, rate)) => {
                    for id in woken {
                        self.wake.wake(id);
                    }
                    if !more {
                        return;
                    }
                    let pause = match rate {
                        Some(r) if r > 0 => Duration::from_millis(moved * 1000 / r as u64),
                        _ => Duration::from_millis(1),
                    };
                    tokio::time::sleep(pause).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "message move task step failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

/// Resumes tasks that were running when the server stopped.
pub(crate) async fn resume_all(i: Arc<Inner>) {
    match i.read(|r| load_tasks(r, &keys::all_tasks())).await {
        Ok(tasks) => {
            for t in tasks.into_iter().filter(|t| t.status == "RUNNING") {
                spawn(&i, t);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not resume message move tasks"),
    }
}

fn parse_handle(h: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(&STANDARD.decode(h).ok()?).ok()?;
    Some((v.get("taskId")?.as_str()?.to_string(), v.get("sourceArn")?.as_str()?.to_string()))
}

pub(crate) async fn cancel(
    i: &Inner,
    _ctx: &RequestContext,
    input: CancelMessageMoveTaskInput,
) -> Result<CancelMessageMoveTaskOutput, AwsError> {
    let bad = || invalid_value("TaskHandle", &input.task_handle, "The task handle is not valid.");
    let (id, source) = parse_handle(&input.task_handle).ok_or_else(bad)?;
    let (account, region, _) = parse_queue_arn(&source).ok_or_else(bad)?;
    i.store
        .write(move |t| {
            let key = keys::task(&account, &region, &id);
            let bytes = t.get(&key)?.ok_or_else(|| not_found("TaskHandle"))?;
            let mut task: MoveTask = serde_json::from_slice(&bytes).map_err(|e| AwsError::internal(e.to_string()))?;
            if task.status != "RUNNING" {
                return Err(AwsError::new(
                    "ResourceNotFoundException",
                    format!("Task does not exist or is not running. Status: {}.", task.status),
                ));
            }
            task.status = "CANCELLED".into();
            save(t, &task)?;
            Ok(CancelMessageMoveTaskOutput { approximate_number_of_messages_moved: task.moved })
        })
        .await
}

pub(crate) async fn list(
    i: &Inner,
    _ctx: &RequestContext,
    input: ListMessageMoveTasksInput,
) -> Result<ListMessageMoveTasksOutput, AwsError> {
    let max = input.max_results.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(invalid_value("MaxResults", max, "Must be between 1 and 10."));
    }
    let (account, region, _) = parse_queue_arn(&input.source_arn).ok_or_else(|| not_found("SourceArn"))?;
    let source = input.source_arn;
    let mut tasks = i
        .read(move |r| {
            load_arn(r, &source)?.ok_or_else(|| not_found("SourceArn"))?;
            Ok(load_tasks(r, &keys::tasks(&account, &region))?
                .into_iter()
                .filter(|t| t.source_arn == source)
                .collect::<Vec<_>>())
        })
        .await?;
    tasks.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.id.cmp(&a.id)));
    Ok(ListMessageMoveTasksOutput {
        results: tasks
            .into_iter()
            .take(max as usize)
            .map(|t| MoveTaskEntry {
                task_handle: (t.status == "RUNNING").then(|| handle(&t)),
                status: t.status,
                source_arn: t.source_arn,
                destination_arn: t.destination_arn,
                max_number_of_messages_per_second: t.rate,
                approximate_number_of_messages_moved: t.moved,
                approximate_number_of_messages_to_move: t.to_move,
                failure_reason: t.failure,
                started_timestamp: t.started,
            })
            .collect(),
    })
}

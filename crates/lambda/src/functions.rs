//! Function operations: create, read, list, update, delete, versions, aliases, concurrency,
//! tags, resource policies and account settings.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, scan_prefix};

use crate::errors::{conflict, invalid, not_found, precondition, validation};
use crate::types::*;
use crate::{Inner, keys};

/// Account limits Lambda reports.
pub const ACCOUNT_CONCURRENCY: u32 = 1000;
const MIN_UNRESERVED: u32 = 100;
const CODE_SIZE_ZIPPED: u64 = 52_428_800;
const CODE_SIZE_UNZIPPED: u64 = 262_144_000;
const TOTAL_CODE_SIZE: u64 = 80_530_636_800;

/// A function as stored: its `$LATEST` configuration and everything unversioned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub latest: FunctionConfiguration,
    /// The highest published version number.
    pub last_version: u64,
    pub tags: BTreeMap<String, String>,
    /// Resource policies by qualifier ("" for the unqualified function).
    #[serde(default)]
    pub policies: BTreeMap<String, Value>,
    pub reserved_concurrency: Option<u32>,
    /// Layer zips by layer version ARN are resolved at invoke time; code by sha.
    pub code_sha_hex: String,
    #[serde(default)]
    pub version_code: BTreeMap<String, String>,
    /// Asynchronous invocation settings by qualifier (`$LATEST`, a version or an alias).
    #[serde(default)]
    pub event_invoke_configs: BTreeMap<String, crate::types::EventInvokeConfig>,
}

/// Where a function name points: account, region, name and qualifier.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionName {
    pub account: String,
    pub region: String,
    pub name: String,
    pub qualifier: Option<String>,
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads a function name, partial ARN (`123456789012:function:name`) or ARN, with an optional
/// `:qualifier`.
pub fn parse_function_name(input: &str, ctx: &RequestContext) -> Result<FunctionName, AwsError> {
    let bad = || {
        validation(format!(
            "Value '{input}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ))
    };
    let parts: Vec<&str> = input.split(':').collect();
    let (account, region, rest) = match parts.as_slice() {
        ["arn", _partition, "lambda", region, account, "function", rest @ ..] => {
            (account.to_string(), region.to_string(), rest.to_vec())
        }
        [account, "function", rest @ ..] if stratus_core::is_account_id(account) => {
            (account.to_string(), ctx.region.clone(), rest.to_vec())
        }
        rest => (ctx.account.clone(), ctx.region.clone(), rest.to_vec()),
    };
    let (name, qualifier) = match rest.as_slice() {
        [name] => (*name, None),
        [name, q] if !q.is_empty() => (*name, Some(q.to_string())),
        _ => return Err(bad()),
    };
    if !valid_name(name) {
        return Err(bad());
    }
    Ok(FunctionName { account, region, name: name.to_string(), qualifier })
}

pub fn function_arn(account: &str, region: &str, name: &str) -> String {
    format!("arn:{partition}:lambda:{region}:{account}:function:{name}", partition = stratus_core::partition(region))
}

/// `2026-11-26T15:04:05.123+0000`, the form Lambda uses for LastModified.
pub(crate) fn load(r: &mut dyn ReadTxn, f: &FunctionName) -> Result<Option<FunctionRecord>, AwsError> {
    match r.get(&keys::function(&f.account, &f.region, &f.name))? {
        Some(b) => {
            serde_json::from_slice(&b).map(Some).map_err(|e| AwsError::internal(format!("corrupt function: {e}")))
        }
        None => Ok(None),
    }
}

pub(crate) fn save(t: &mut dyn Txn, f: &FunctionName, rec: &FunctionRecord) -> Result<(), AwsError> {
    let b = serde_json::to_vec(rec).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&keys::function(&f.account, &f.region, &f.name), &b)?;
    Ok(())
}

pub(crate) fn must_load(r: &mut dyn ReadTxn, f: &FunctionName) -> Result<FunctionRecord, AwsError> {
    load(r, f)?.ok_or_else(|| not_found(&function_arn(&f.account, &f.region, &f.name)))
}

pub(crate) fn load_version(
    r: &mut dyn ReadTxn,
    f: &FunctionName,
    version: u64,
) -> Result<Option<FunctionConfiguration>, AwsError> {
    match r.get(&keys::version(&f.account, &f.region, &f.name, version))? {
        Some(b) => {
            serde_json::from_slice(&b).map(Some).map_err(|e| AwsError::internal(format!("corrupt version: {e}")))
        }
        None => Ok(None),
    }
}

pub(crate) fn load_alias(
    r: &mut dyn ReadTxn,
    f: &FunctionName,
    alias: &str,
) -> Result<Option<AliasConfiguration>, AwsError> {
    match r.get(&keys::alias(&f.account, &f.region, &f.name, alias))? {
        Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| AwsError::internal(format!("corrupt alias: {e}"))),
        None => Ok(None),
    }
}

/// The configuration a qualifier names: `$LATEST` (or none), a version number, or an alias
/// (its primary version). Also returns the alias, if one was named.
pub(crate) fn resolve_config(
    r: &mut dyn ReadTxn,
    f: &FunctionName,
    rec: &FunctionRecord,
) -> Result<(FunctionConfiguration, Option<AliasConfiguration>), AwsError> {
    let arn =
        || format!("{}:{}", function_arn(&f.account, &f.region, &f.name), f.qualifier.as_deref().unwrap_or_default());
    match f.qualifier.as_deref() {
        None | Some("$LATEST") => Ok((rec.latest.clone(), None)),
        Some(q) if q.bytes().all(|b| b.is_ascii_digit()) => {
            let v = q.parse::<u64>().map_err(|_| not_found(&arn()))?;
            Ok((load_version(r, f, v)?.ok_or_else(|| not_found(&arn()))?, None))
        }
        Some(alias) => {
            let a = load_alias(r, f, alias)?.ok_or_else(|| not_found(&arn()))?;
            let cfg = match a.function_version.as_str() {
                "$LATEST" => rec.latest.clone(),
                v => load_version(r, f, v.parse().unwrap_or(0))?.ok_or_else(|| not_found(&arn()))?,
            };
            Ok((cfg, Some(a)))
        }
    }
}

fn check_role(role: &str) -> Result<(), AwsError> {
    let ok = stratus_core::arn_without_partition(role)
        .and_then(|r| r.strip_prefix("iam::"))
        .and_then(|r| r.split_once(":role/"))
        .is_some_and(|(acct, name)| stratus_core::is_account_id(acct) && !name.is_empty());
    if !ok {
        return Err(validation(format!(
            "Value '{role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        )));
    }
    Ok(())
}

fn check_limits(timeout: Option<i64>, memory: Option<i64>) -> Result<(), AwsError> {
    if let Some(t) = timeout
        && !(1..=900).contains(&t)
    {
        return Err(validation(format!(
            "Value '{t}' at 'timeout' failed to satisfy constraint: Member must have value {} 900",
            if t < 1 { "greater than or equal to 1, less than or equal to" } else { "less than or equal to" }
        )));
    }
    if let Some(m) = memory
        && !(128..=10_240).contains(&m)
    {
        return Err(invalid(format!(
            "'{m}' at 'MemorySize' failed to satisfy constraint: Member must have value {}",
            if m < 128 { "greater than or equal to 128" } else { "less than or equal to 10240" }
        )));
    }
    Ok(())
}

fn check_environment(env: &Option<Environment>) -> Result<(), AwsError> {
    let Some(env) = env else { return Ok(()) };
    let size: usize = env.variables.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > 4096 {
        return Err(invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {size}"
        )));
    }
    for k in env.variables.keys() {
        let ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(validation(
                "Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
            ));
        }
        if matches!(
            k.as_str(),
            "_HANDLER"
                | "_X_AMZN_TRACE_ID"
                | "AWS_REGION"
                | "AWS_EXECUTION_ENV"
                | "AWS_LAMBDA_FUNCTION_NAME"
                | "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
                | "AWS_LAMBDA_FUNCTION_VERSION"
                | "AWS_LAMBDA_INITIALIZATION_TYPE"
                | "AWS_LAMBDA_LOG_GROUP_NAME"
                | "AWS_LAMBDA_LOG_STREAM_NAME"
                | "AWS_ACCESS_KEY"
                | "AWS_ACCESS_KEY_ID"
                | "AWS_SECRET_ACCESS_KEY"
                | "AWS_SESSION_TOKEN"
                | "AWS_LAMBDA_RUNTIME_API"
                | "LAMBDA_TASK_ROOT"
                | "LAMBDA_RUNTIME_DIR"
        ) {
            return Err(invalid(format!(
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {k}"
            )));
        }
    }
    Ok(())
}

/// Where a deployment package comes from: inline (base64) or an S3 object.
pub(crate) struct CodeRef<'a> {
    pub zip_file: Option<&'a str>,
    pub s3_bucket: Option<&'a str>,
    pub s3_key: Option<&'a str>,
    pub s3_object_version: Option<&'a str>,
}

/// Reads a package named by `S3Bucket`/`S3Key`; S3's errors are reported the way Lambda
/// reports them (`InvalidParameterValueException` quoting the S3 error).
/// Decodes and checks a deployment package: returns (bytes, sha256 hex, CodeSha256 base64).
/// `op` names the operation in the size error.
async fn take_code(
    i: &Inner,
    code: CodeRef<'_>,
    image: Option<&str>,
    op: &str,
) -> Result<(Vec<u8>, String, String), AwsError> {
    if image.is_some() {
        return Err(invalid("Container image functions are not supported by this server; deploy a .zip file archive."));
    }
    let zip = if let Some(bucket) = code.s3_bucket {
        // Packages from S3 are not bound by the direct-upload size (only the unzipped size).
        crate::source::fetch_from_s3(i, bucket, code.s3_key, code.s3_object_version).await?
    } else {
        let Some(b64) = code.zip_file else {
            return Err(invalid("Please provide a source for function code."));
        };
        let zip = STANDARD.decode(b64).map_err(|_| invalid("Could not decode the ZipFile parameter."))?;
        if zip.len() as u64 > CODE_SIZE_ZIPPED {
            return Err(AwsError::new(
                "RequestEntityTooLargeException",
                format!("Request must be smaller than {CODE_SIZE_ZIPPED} bytes for the {op} operation"),
            )
            .with_status(413));
        }
        zip
    };
    i.executor.check_code(&zip).map_err(|e| {
        invalid(format!("Could not unzip uploaded file. Please check your file, then try to upload again. {e}"))
    })?;
    let digest = sha2::Sha256::digest(&zip);
    Ok((zip, hex::encode(digest), STANDARD.encode(digest)))
}

fn store_code(i: &Inner, zip: &[u8], sha_hex: &str) -> Result<(), AwsError> {
    let name = keys::code_blob(sha_hex);
    if i.store.blobs().get(&name)?.is_none() {
        i.store.blobs().put(&name, zip)?;
    }
    Ok(())
}

fn new_revision(i: &Inner) -> String {
    i.env.ids.uuid()
}

pub(crate) async fn create(
    i: &Inner,
    ctx: &RequestContext,
    input: CreateFunctionInput,
) -> Result<FunctionConfiguration, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    if f.qualifier.is_some() {
        return Err(invalid("FunctionName cannot be a qualified ARN when creating a function."));
    }
    check_role(&input.role)?;
    if let Some(roles) = i.roles.get() {
        roles.check(&input.role).await?;
    }
    check_limits(input.timeout, input.memory_size)?;
    check_environment(&input.environment)?;
    if input.package_type.as_deref().is_some_and(|p| p != "Zip") {
        return Err(invalid("Container image functions are not supported by this server; deploy a .zip file archive."));
    }
    let runtime =
        input.runtime.clone().ok_or_else(|| invalid("Runtime is required for .zip file archive functions."))?;
    i.executor.check_runtime(&runtime).map_err(invalid)?;
    let handler =
        input.handler.clone().ok_or_else(|| invalid("Handler is required for .zip file archive functions."))?;
    let code = CodeRef {
        zip_file: input.code.zip_file.as_deref(),
        s3_bucket: input.code.s3_bucket.as_deref(),
        s3_key: input.code.s3_key.as_deref(),
        s3_object_version: input.code.s3_object_version.as_deref(),
    };
    let (zip, sha_hex, sha_b64) = take_code(i, code, input.code.image_uri.as_deref(), "CreateFunction").await?;
    let layer_arns = input.layers.clone();
    store_code(i, &zip, &sha_hex)?;
    let now = i.now();
    let arn = function_arn(&f.account, &f.region, &f.name);
    let mut config = FunctionConfiguration {
        function_name: f.name.clone(),
        function_arn: arn.clone(),
        runtime: Some(runtime),
        role: input.role,
        handler: Some(handler),
        code_size: zip.len() as u64,
        description: input.description.unwrap_or_default(),
        timeout: input.timeout.unwrap_or(3) as u32,
        memory_size: input.memory_size.unwrap_or(128) as u32,
        last_modified: last_modified(now),
        code_sha256: sha_b64,
        version: "$LATEST".into(),
        environment: input.environment.map(|e| EnvironmentResponse { variables: e.variables }),
        tracing_config: input.tracing_config.unwrap_or(TracingConfig { mode: "PassThrough".into() }),
        revision_id: new_revision(i),
        layers: Vec::new(),
        state: "Active".into(),
        state_reason: None,
        state_reason_code: None,
        last_update_status: "Successful".into(),
        last_update_status_reason: None,
        last_update_status_reason_code: None,
        package_type: "Zip".into(),
        architectures: if input.architectures.is_empty() { vec!["x86_64".into()] } else { input.architectures },
        ephemeral_storage: input.ephemeral_storage.unwrap_or_else(|| json!({"Size": 512})),
        snap_start: json!({"ApplyOn": "None", "OptimizationStatus": "Off"}),
        logging_config: input
            .logging_config
            .unwrap_or_else(|| json!({"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", f.name)})),
        dead_letter_config: input.dead_letter_config,
        vpc_config: input.vpc_config,
        kms_key_arn: input.kms_key_arn,
    };
    let rec = FunctionRecord {
        latest: config.clone(),
        last_version: 0,
        tags: input.tags,
        policies: BTreeMap::new(),
        reserved_concurrency: None,
        code_sha_hex: sha_hex,
        version_code: BTreeMap::new(),
        event_invoke_configs: BTreeMap::new(),
    };
    let publish = input.publish;
    let f2 = f.clone();
    let published = i
        .store
        .write(move |t| {
            if load(t, &f2)?.is_some() {
                return Err(conflict(format!("Function already exist: {}", f2.name)));
            }
            let mut rec = rec;
            rec.latest.layers = crate::layers::references(t, &layer_arns)?;
            let layers_out = rec.latest.layers.clone();
            let published = if publish { Some(publish_in(t, &f2, &mut rec, None)?) } else { None };
            save(t, &f2, &rec)?;
            Ok::<_, AwsError>((published, layers_out))
        })
        .await?;
    let (published, layers_out) = published;
    config.layers = layers_out;
    // AWS answers while the function is still being created; it is usable once Active.
    config.state = "Pending".into();
    config.state_reason = Some("The function is being created.".into());
    config.state_reason_code = Some("Creating".into());
    if let Some(v) = published {
        config.version = v.version.clone();
        config.function_arn = v.function_arn.clone();
    }
    Ok(config)
}

/// Publishes `$LATEST` as the next version (or returns the latest published one when nothing
/// changed since, as AWS does).
fn publish_in(
    t: &mut dyn Txn,
    f: &FunctionName,
    rec: &mut FunctionRecord,
    description: Option<String>,
) -> Result<FunctionConfiguration, AwsError> {
    if rec.last_version > 0
        && let Some(last) = load_version(t, f, rec.last_version)?
        && same_config(&last, &rec.latest)
    {
        return Ok(last);
    }
    rec.last_version += 1;
    let v = rec.last_version;
    let mut cfg = rec.latest.clone();
    cfg.version = v.to_string();
    cfg.function_arn = format!("{}:{v}", function_arn(&f.account, &f.region, &f.name));
    if let Some(d) = description {
        cfg.description = d;
    }
    cfg.state = "Active".into();
    cfg.last_update_status = "Successful".into();
    rec.version_code.insert(v.to_string(), rec.code_sha_hex.clone());
    let b = serde_json::to_vec(&cfg).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&keys::version(&f.account, &f.region, &f.name, v), &b)?;
    Ok(cfg)
}

/// Whether a published version already captures `$LATEST` (code and configuration).
fn same_config(a: &FunctionConfiguration, latest: &FunctionConfiguration) -> bool {
    let strip = |c: &FunctionConfiguration| {
        let mut c = c.clone();
        c.version = String::new();
        c.function_arn = String::new();
        c.revision_id = String::new();
        c.last_modified = String::new();
        c.description = String::new();
        c.state = String::new();
        c.last_update_status = String::new();
        c
    };
    strip(a) == strip(latest)
}

pub(crate) async fn get(i: &Inner, ctx: &RequestContext, input: FunctionRef) -> Result<GetFunctionOutput, AwsError> {
    let mut f = parse_function_name(&input.function_name, ctx)?;
    if input.qualifier.is_some() {
        f.qualifier = input.qualifier;
    }
    let host = ctx.host.clone();
    let urls = i.code_urls();
    i.read(move |r| {
        let rec = must_load(r, &f)?;
        let (configuration, _) = resolve_config(r, &f, &rec)?;
        let sha = match configuration.version.as_str() {
            "$LATEST" => rec.code_sha_hex.clone(),
            v => rec.version_code.get(v).cloned().unwrap_or_else(|| rec.code_sha_hex.clone()),
        };
        Ok(GetFunctionOutput {
            configuration,
            code: CodeLocation { repository_type: "S3".into(), location: urls.url(&host, &sha) },
            tags: (!rec.tags.is_empty() || f.qualifier.is_none()).then(|| rec.tags.clone()),
            concurrency: rec.reserved_concurrency.map(|n| Concurrency { reserved_concurrent_executions: n }),
        })
    })
    .await
}

pub(crate) async fn get_configuration(
    i: &Inner,
    ctx: &RequestContext,
    input: FunctionRef,
) -> Result<FunctionConfiguration, AwsError> {
    let mut f = parse_function_name(&input.function_name, ctx)?;
    if input.qualifier.is_some() {
        f.qualifier = input.qualifier;
    }
    i.read(move |r| {
        let rec = must_load(r, &f)?;
        Ok(resolve_config(r, &f, &rec)?.0)
    })
    .await
}

fn page_size(max: Option<i64>) -> Result<usize, AwsError> {
    match max {
        None => Ok(50),
        Some(n) if (1..=10_000).contains(&n) => Ok(n as usize),
        Some(n) => Err(validation(format!(
            "Value '{n}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000"
        ))),
    }
}

pub(crate) async fn list(
    i: &Inner,
    ctx: &RequestContext,
    input: ListFunctionsInput,
) -> Result<ListFunctionsOutput, AwsError> {
    let size = page_size(input.max_items)?;
    let all_versions = match input.function_version.as_deref() {
        None => false,
        Some("ALL") => true,
        Some(v) => {
            return Err(validation(format!(
                "Value '{v}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"
            )));
        }
    };
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let after = input.marker.clone();
    let all = i
        .read(move |r| {
            let mut out = Vec::new();
            for (_, v) in scan_prefix(r, &keys::functions(&account, &region), usize::MAX)? {
                let Ok(rec) = serde_json::from_slice::<FunctionRecord>(&v) else { continue };
                out.push(rec.latest.clone());
                if all_versions {
                    let f = FunctionName {
                        account: account.clone(),
                        region: region.clone(),
                        name: rec.latest.function_name.clone(),
                        qualifier: None,
                    };
                    for (_, v) in scan_prefix(r, &keys::versions(&account, &region, &f.name), usize::MAX)? {
                        if let Ok(c) = serde_json::from_slice::<FunctionConfiguration>(&v) {
                            out.push(c);
                        }
                    }
                }
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    let (page, next) = paginate(all, after.as_deref(), size, |c| format!("{}:{}", c.function_name, c.version))?;
    Ok(ListFunctionsOutput { functions: page, next_marker: next })
}

/// Marker-based pages over an ordered list: the marker is the key of the last item returned.
fn paginate<T>(
    items: Vec<T>,
    marker: Option<&str>,
    size: usize,
    key: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match marker {
        None => 0,
        Some(m) => {
            let m = String::from_utf8(STANDARD.decode(m).map_err(|_| invalid("Invalid marker"))?)
                .map_err(|_| invalid("Invalid marker"))?;
            items.iter().position(|x| key(x) == m).map(|p| p + 1).ok_or_else(|| invalid("Invalid marker"))?
        }
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let next = if rest.len() > size {
        rest.truncate(size);
        rest.last().map(|x| STANDARD.encode(key(x)))
    } else {
        None
    };
    Ok((rest, next))
}

pub(crate) async fn delete(i: &Inner, ctx: &RequestContext, input: FunctionRef) -> Result<(), AwsError> {
    let mut f = parse_function_name(&input.function_name, ctx)?;
    if input.qualifier.is_some() {
        f.qualifier = input.qualifier;
    }
    let f2 = f.clone();
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f2)?;
            match f2.qualifier.as_deref() {
                None => {
                    t.delete(&keys::function(&f2.account, &f2.region, &f2.name))?;
                    for prefix in [
                        keys::versions(&f2.account, &f2.region, &f2.name),
                        keys::aliases(&f2.account, &f2.region, &f2.name),
                    ] {
                        let end = stratus_storage::prefix_end(&prefix);
                        t.delete_range(&prefix, end.as_deref())?;
                    }
                }
                Some("$LATEST") => {
                    return Err(invalid("$LATEST version cannot be deleted without deleting the function."));
                }
                Some(q) => {
                    let v: u64 = q
                        .parse()
                        .map_err(|_| invalid(format!("Deletion of aliases is not supported by DeleteFunction: {q}")))?;
                    load_version(t, &f2, v)?.ok_or_else(|| {
                        not_found(&format!("{}:{q}", function_arn(&f2.account, &f2.region, &f2.name)))
                    })?;
                    for (_, a) in scan_prefix(t, &keys::aliases(&f2.account, &f2.region, &f2.name), usize::MAX)? {
                        if let Ok(a) = serde_json::from_slice::<AliasConfiguration>(&a)
                            && (a.function_version == q
                                || a.routing_config
                                    .as_ref()
                                    .is_some_and(|r| r.additional_version_weights.contains_key(q)))
                        {
                            return Err(conflict(format!(
                                "Unable to delete version because the following aliases reference it: [{}]",
                                a.name
                            )));
                        }
                    }
                    t.delete(&keys::version(&f2.account, &f2.region, &f2.name, v))?;
                    rec.version_code.remove(q);
                    save(t, &f2, &rec)?;
                }
            }
            Ok::<_, AwsError>(())
        })
        .await?;
    i.executor.retire(&crate::env_key_prefix(&f.account, &f.region, &f.name));
    Ok(())
}

fn check_revision(given: &Option<String>, current: &str) -> Result<(), AwsError> {
    if given.as_deref().is_some_and(|r| r != current) {
        return Err(precondition(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
        ));
    }
    Ok(())
}

pub(crate) async fn update_code(
    i: &Inner,
    ctx: &RequestContext,
    input: UpdateFunctionCodeInput,
) -> Result<FunctionConfiguration, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    let code = CodeRef {
        zip_file: input.zip_file.as_deref(),
        s3_bucket: input.s3_bucket.as_deref(),
        s3_key: input.s3_key.as_deref(),
        s3_object_version: input.s3_object_version.as_deref(),
    };
    let (zip, sha_hex, sha_b64) = take_code(i, code, input.image_uri.as_deref(), "UpdateFunctionCode").await?;
    if !input.dry_run {
        store_code(i, &zip, &sha_hex)?;
    }
    let now = i.now();
    let revision = new_revision(i);
    let f2 = f.clone();
    let (dry_run, publish) = (input.dry_run, input.publish);
    let (mut cfg, published) = i
        .store
        .write(move |t| {
            let mut rec = must_load(t, &f2)?;
            check_revision(&input.revision_id, &rec.latest.revision_id)?;
            let mut cfg = rec.latest.clone();
            cfg.code_sha256 = sha_b64;
            cfg.code_size = zip.len() as u64;
            cfg.last_modified = last_modified(now);
            cfg.revision_id = revision;
            if !input.architectures.is_empty() {
                cfg.architectures = input.architectures;
            }
            if dry_run {
                return Ok::<_, AwsError>((cfg, None));
            }
            rec.latest = cfg.clone();
            rec.code_sha_hex = sha_hex;
            let published = if publish { Some(publish_in(t, &f2, &mut rec, None)?) } else { None };
            save(t, &f2, &rec)?;
            Ok((cfg, published))
        })
        .await?;
    if !dry_run {
        i.executor.retire(&crate::env_key_prefix(&f.account, &f.region, &f.name));
    }
    if let Some(p) = published {
        return Ok(p);
    }
    cfg.last_update_status = "InProgress".into();
    cfg.last_update_status_reason = Some("The function is being created.".into());
    cfg.last_update_status_reason_code = Some("Creating".into());
    Ok(cfg)
}

pub(crate) async fn update_configuration(
    i: &Inner,
    ctx: &RequestContext,
    input: UpdateFunctionConfigurationInput,
) -> Result<FunctionConfiguration, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    if let Some(r) = &input.role {
        check_role(r)?;
        if let Some(roles) = i.roles.get() {
            roles.check(r).await?;
        }
    }
    check_limits(input.timeout, input.memory_size)?;
    check_environment(&input.environment)?;
    if let Some(rt) = &input.runtime {
        i.executor.check_runtime(rt).map_err(invalid)?;
    }
    let layer_arns = input.layers.clone();
    let now = i.now();
    let revision = new_revision(i);
    let f2 = f.clone();
    let mut cfg = i
        .store
        .write(move |t| {
            let mut rec = must_load(t, &f2)?;
            check_revision(&input.revision_id, &rec.latest.revision_id)?;
            let c = &mut rec.latest;
            if let Some(v) = input.role {
                c.role = v;
            }
            if let Some(v) = input.handler {
                c.handler = Some(v);
            }
            if let Some(v) = input.description {
                c.description = v;
            }
            if let Some(v) = input.timeout {
                c.timeout = v as u32;
            }
            if let Some(v) = input.memory_size {
                c.memory_size = v as u32;
            }
            if let Some(v) = input.environment {
                c.environment = Some(EnvironmentResponse { variables: v.variables });
            }
            if let Some(v) = input.runtime {
                c.runtime = Some(v);
            }
            if let Some(arns) = layer_arns {
                c.layers = crate::layers::references(t, &arns)?;
            }
            if let Some(v) = input.tracing_config {
                c.tracing_config = v;
            }
            if let Some(v) = input.ephemeral_storage {
                c.ephemeral_storage = v;
            }
            if let Some(v) = input.logging_config {
                c.logging_config = v;
            }
            if let Some(v) = input.dead_letter_config {
                c.dead_letter_config = Some(v);
            }
            if let Some(v) = input.vpc_config {
                c.vpc_config = Some(v);
            }
            if let Some(v) = input.kms_key_arn {
                c.kms_key_arn = Some(v);
            }
            c.last_modified = last_modified(now);
            c.revision_id = revision;
            let out = c.clone();
            save(t, &f2, &rec)?;
            Ok::<_, AwsError>(out)
        })
        .await?;
    i.executor.retire(&crate::env_key_prefix(&f.account, &f.region, &f.name));
    cfg.last_update_status = "InProgress".into();
    cfg.last_update_status_reason = Some("The function is being created.".into());
    cfg.last_update_status_reason_code = Some("Creating".into());
    Ok(cfg)
}

pub(crate) async fn publish_version(
    i: &Inner,
    ctx: &RequestContext,
    input: PublishVersionInput,
) -> Result<FunctionConfiguration, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            check_revision(&input.revision_id, &rec.latest.revision_id)?;
            if let Some(sha) = &input.code_sha256
                && *sha != rec.latest.code_sha256
            {
                return Err(invalid(format!(
                    "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                    rec.latest.code_sha256
                )));
            }
            let cfg = publish_in(t, &f, &mut rec, input.description)?;
            save(t, &f, &rec)?;
            Ok(cfg)
        })
        .await
}

pub(crate) async fn list_versions(
    i: &Inner,
    ctx: &RequestContext,
    input: ListByFunctionInput,
) -> Result<ListVersionsOutput, AwsError> {
    let size = page_size(input.max_items)?;
    let f = parse_function_name(&input.function_name, ctx)?;
    let all = i
        .read(move |r| {
            let rec = must_load(r, &f)?;
            let mut out = vec![rec.latest];
            for (_, v) in scan_prefix(r, &keys::versions(&f.account, &f.region, &f.name), usize::MAX)? {
                if let Ok(c) = serde_json::from_slice::<FunctionConfiguration>(&v) {
                    out.push(c);
                }
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    let (page, next) = paginate(all, input.marker.as_deref(), size, |c| c.version.clone())?;
    Ok(ListVersionsOutput { versions: page, next_marker: next })
}

fn check_alias_name(name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.bytes().all(|b| b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(validation(format!(
            "Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )));
    }
    Ok(())
}

fn check_version_exists(r: &mut dyn ReadTxn, f: &FunctionName, version: &str) -> Result<(), AwsError> {
    if version == "$LATEST" {
        return Ok(());
    }
    let missing = || not_found(&format!("{}:{version}", function_arn(&f.account, &f.region, &f.name)));
    let v: u64 = version.parse().map_err(|_| missing())?;
    load_version(r, f, v)?.ok_or_else(missing).map(|_| ())
}

fn check_routing(
    r: &mut dyn ReadTxn,
    f: &FunctionName,
    primary: &str,
    routing: &Option<RoutingConfig>,
) -> Result<(), AwsError> {
    let Some(rc) = routing else { return Ok(()) };
    if rc.additional_version_weights.len() > 1 {
        return Err(invalid("Number of items in AdditionalVersionWeights cannot be greater than 1"));
    }
    for (v, w) in &rc.additional_version_weights {
        if !(0.0..=1.0).contains(w) {
            return Err(validation(format!(
                "Value '{{{v}={w}}}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]"
            )));
        }
        if v == primary {
            return Err(invalid(format!(
                "Invalid function version {v}. Function version {v} is already included in routing configuration."
            )));
        }
        if primary == "$LATEST" || v == "$LATEST" {
            return Err(invalid("$LATEST is not supported for an alias pointing to more than 1 version"));
        }
        check_version_exists(r, f, v)?;
    }
    Ok(())
}

pub(crate) async fn create_alias(
    i: &Inner,
    ctx: &RequestContext,
    input: CreateAliasInput,
) -> Result<AliasConfiguration, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    check_alias_name(&input.name)?;
    let revision = new_revision(i);
    i.store
        .write(move |t| {
            must_load(t, &f)?;
            check_version_exists(t, &f, &input.function_version)?;
            check_routing(t, &f, &input.function_version, &input.routing_config)?;
            let arn = format!("{}:{}", function_arn(&f.account, &f.region, &f.name), input.name);
            if load_alias(t, &f, &input.name)?.is_some() {
                return Err(conflict(format!("Alias already exists: {arn}")));
            }
            let a = AliasConfiguration {
                alias_arn: arn,
                name: input.name,
                function_version: input.function_version,
                description: input.description.unwrap_or_default(),
                routing_config: input.routing_config,
                revision_id: revision,
            };
            let b = serde_json::to_vec(&a).map_err(|e| AwsError::internal(e.to_string()))?;
            t.put(&keys::alias(&f.account, &f.region, &f.name, &a.name), &b)?;
            Ok(a)
        })
        .await
}

pub(crate) async fn get_alias(
    i: &Inner,
    ctx: &RequestContext,
    input: AliasRef,
) -> Result<AliasConfiguration, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    i.read(move |r| {
        must_load(r, &f)?;
        load_alias(r, &f, &input.name)?.ok_or_else(|| {
            AwsError::new(
                "ResourceNotFoundException",
                format!("Alias not found: {}:{}", function_arn(&f.account, &f.region, &f.name), input.name),
            )
        })
    })
    .await
}

pub(crate) async fn list_aliases(
    i: &Inner,
    ctx: &RequestContext,
    input: ListByFunctionInput,
) -> Result<ListAliasesOutput, AwsError> {
    let size = page_size(input.max_items)?;
    let f = parse_function_name(&input.function_name, ctx)?;
    let version = input.function_version.clone();
    let all = i
        .read(move |r| {
            must_load(r, &f)?;
            Ok::<_, AwsError>(
                scan_prefix(r, &keys::aliases(&f.account, &f.region, &f.name), usize::MAX)?
                    .into_iter()
                    .filter_map(|(_, v)| serde_json::from_slice::<AliasConfiguration>(&v).ok())
                    .filter(|a| version.as_ref().is_none_or(|v| &a.function_version == v))
                    .collect::<Vec<_>>(),
            )
        })
        .await?;
    let (page, next) = paginate(all, input.marker.as_deref(), size, |a| a.name.clone())?;
    Ok(ListAliasesOutput { aliases: page, next_marker: next })
}

pub(crate) async fn update_alias(
    i: &Inner,
    ctx: &RequestContext,
    input: UpdateAliasInput,
) -> Result<AliasConfiguration, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    let revision = new_revision(i);
    i.store
        .write(move |t| {
            must_load(t, &f)?;
            let mut a = load_alias(t, &f, &input.name)?.ok_or_else(|| {
                AwsError::new(
                    "ResourceNotFoundException",
                    format!("Alias not found: {}:{}", function_arn(&f.account, &f.region, &f.name), input.name),
                )
            })?;
            check_revision(&input.revision_id, &a.revision_id)?;
            if let Some(v) = input.function_version {
                check_version_exists(t, &f, &v)?;
                a.function_version = v;
            }
            if let Some(d) = input.description {
                a.description = d;
            }
            if input.routing_config.is_some() {
                check_routing(t, &f, &a.function_version, &input.routing_config)?;
                a.routing_config = input.routing_config.filter(|r| !r.additional_version_weights.is_empty());
            }
            a.revision_id = revision;
            let b = serde_json::to_vec(&a).map_err(|e| AwsError::internal(e.to_string()))?;
            t.put(&keys::alias(&f.account, &f.region, &f.name, &a.name), &b)?;
            Ok(a)
        })
        .await
}

pub(crate) async fn delete_alias(i: &Inner, ctx: &RequestContext, input: AliasRef) -> Result<(), AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    i.store
        .write(move |t| {
            must_load(t, &f)?;
            t.delete(&keys::alias(&f.account, &f.region, &f.name, &input.name))?;
            Ok(())
        })
        .await
}

/// Sum of reserved concurrency over the account's functions, except `except`.
fn reserved_total(r: &mut dyn ReadTxn, account: &str, region: &str, except: &str) -> Result<u32, AwsError> {
    Ok(scan_prefix(r, &keys::functions(account, region), usize::MAX)?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice::<FunctionRecord>(&v).ok())
        .filter(|f| f.latest.function_name != except)
        .filter_map(|f| f.reserved_concurrency)
        .sum())
}

pub(crate) async fn put_concurrency(
    i: &Inner,
    ctx: &RequestContext,
    input: PutConcurrencyInput,
) -> Result<Concurrency, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    let n = input.reserved_concurrent_executions;
    if n < 0 {
        return Err(validation(format!(
            "Value '{n}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"
        )));
    }
    let n = n as u32;
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            let others = reserved_total(t, &f.account, &f.region, &f.name)?;
            if others + n > ACCOUNT_CONCURRENCY - MIN_UNRESERVED {
                return Err(invalid(format!(
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
                )));
            }
            rec.reserved_concurrency = Some(n);
            save(t, &f, &rec)?;
            Ok(Concurrency { reserved_concurrent_executions: n })
        })
        .await
}

pub(crate) async fn get_concurrency(i: &Inner, ctx: &RequestContext, input: FunctionRef) -> Result<Value, AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    i.read(move |r| {
        let rec = must_load(r, &f)?;
        Ok(match rec.reserved_concurrency {
            Some(n) => json!({"ReservedConcurrentExecutions": n}),
            None => json!({}),
        })
    })
    .await
}

pub(crate) async fn delete_concurrency(i: &Inner, ctx: &RequestContext, input: FunctionRef) -> Result<(), AwsError> {
    let f = parse_function_name(&input.function_name, ctx)?;
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            rec.reserved_concurrency = None;
            save(t, &f, &rec)
        })
        .await
}

fn function_from_arn(arn: &str, ctx: &RequestContext) -> Result<FunctionName, AwsError> {
    let f = parse_function_name(arn, ctx)?;
    if !arn.starts_with("arn:") {
        return Err(validation(format!(
            "Value '{arn}' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{{2}}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{{1}}:\\d{{12}}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:[a-zA-Z0-9-_]+)"
        )));
    }
    Ok(f)
}

pub(crate) async fn tag(i: &Inner, ctx: &RequestContext, input: TagResourceInput) -> Result<(), AwsError> {
    let f = function_from_arn(&input.resource, ctx)?;
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            rec.tags.extend(input.tags);
            if rec.tags.len() > 50 {
                return Err(invalid("Number of tags exceeds resource tag limit."));
            }
            save(t, &f, &rec)
        })
        .await
}

pub(crate) async fn untag(i: &Inner, ctx: &RequestContext, input: UntagResourceInput) -> Result<(), AwsError> {
    let f = function_from_arn(&input.resource, ctx)?;
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            for k in input.tag_keys {
                rec.tags.remove(&k);
            }
            save(t, &f, &rec)
        })
        .await
}

pub(crate) async fn list_tags(i: &Inner, ctx: &RequestContext, input: ResourceRef) -> Result<TagsOutput, AwsError> {
    let f = function_from_arn(&input.resource, ctx)?;
    i.read(move |r| Ok(TagsOutput { tags: must_load(r, &f)?.tags })).await
}

pub(crate) async fn add_permission(
    i: &Inner,
    ctx: &RequestContext,
    input: AddPermissionInput,
) -> Result<Value, AwsError> {
    let mut f = parse_function_name(&input.function_name, ctx)?;
    if input.qualifier.is_some() {
        f.qualifier = input.qualifier.clone();
    }
    let action = if input.action == "*" || input.action.starts_with("lambda:") {
        input.action.clone()
    } else {
        format!("lambda:{}", input.action)
    };
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            check_revision(&input.revision_id, &rec.latest.revision_id)?;
            if f.qualifier.is_some() {
                resolve_config(t, &f, &rec)?;
            }
            let qualifier = f.qualifier.clone().unwrap_or_default();
            let resource = match &f.qualifier {
                Some(q) => format!("{}:{q}", function_arn(&f.account, &f.region, &f.name)),
                None => function_arn(&f.account, &f.region, &f.name),
            };
            let policy = rec
                .policies
                .entry(qualifier)
                .or_insert_with(|| json!({"Version": "2012-10-17", "Id": "default", "Statement": []}));
            let statements = policy.get_mut("Statement").and_then(Value::as_array_mut).ok_or_else(|| AwsError::internal("policy without statements"))?;
            if statements.iter().any(|s| s.get("Sid").and_then(Value::as_str) == Some(&input.statement_id)) {
                return Err(conflict(format!(
                    "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                    input.statement_id
                )));
            }
            let principal = if input.principal.ends_with(".amazonaws.com") {
                json!({"Service": input.principal})
            } else if input.principal == "*" {
                json!("*")
            } else if stratus_core::is_account_id(&input.principal) {
                json!({"AWS": format!("arn:aws:iam::{}:root", input.principal)})
            } else {
                json!({"AWS": input.principal})
            };
            let mut statement = json!({"Sid": input.statement_id, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource});
            let mut condition = serde_json::Map::new();
            if let Some(arn) = &input.source_arn {
                condition.insert("ArnLike".into(), json!({"AWS:SourceArn": arn}));
            }
            let mut equals = serde_json::Map::new();
            if let Some(acct) = &input.source_account {
                equals.insert("AWS:SourceAccount".into(), json!(acct));
            }
            if let Some(org) = &input.principal_org_id {
                equals.insert("aws:PrincipalOrgID".into(), json!(org));
            }
            if let Some(tok) = &input.event_source_token {
                equals.insert("lambda:EventSourceToken".into(), json!(tok));
            }
            if let Some(auth) = &input.function_url_auth_type {
                equals.insert("lambda:FunctionUrlAuthType".into(), json!(auth));
            }
            if !equals.is_empty() {
                condition.insert("StringEquals".into(), Value::Object(equals));
            }
            if !condition.is_empty()
                && let Some(obj) = statement.as_object_mut()
            {
                obj.insert("Condition".into(), Value::Object(condition));
            }
            statements.push(statement.clone());
            save(t, &f, &rec)?;
            Ok(json!({"Statement": statement.to_string()}))
        })
        .await
}

pub(crate) async fn remove_permission(
    i: &Inner,
    ctx: &RequestContext,
    input: RemovePermissionInput,
) -> Result<(), AwsError> {
    let mut f = parse_function_name(&input.function_name, ctx)?;
    if input.qualifier.is_some() {
        f.qualifier = input.qualifier.clone();
    }
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            check_revision(&input.revision_id, &rec.latest.revision_id)?;
            let missing = || {
                AwsError::new(
                    "ResourceNotFoundException",
                    format!("Statement {} is not found in resource policy.", input.statement_id),
                )
            };
            let q = f.qualifier.clone().unwrap_or_default();
            let policy = rec.policies.get_mut(&q).ok_or_else(missing)?;
            let statements = policy.get_mut("Statement").and_then(Value::as_array_mut).ok_or_else(missing)?;
            let before = statements.len();
            statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(&input.statement_id));
            if statements.len() == before {
                return Err(missing());
            }
            if statements.is_empty() {
                rec.policies.remove(&q);
            }
            save(t, &f, &rec)
        })
        .await
}

/// Whether a function (or the version / alias a qualified ARN names) exists and its resource
/// policy lets an AWS service principal (`s3.amazonaws.com`) invoke it — what a push source
/// checks before it accepts the function as a destination.
pub(crate) async fn access(i: &Inner, function_arn: &str) -> Result<Option<stratus_core::ResourceAccess>, AwsError> {
    let ctx = RequestContext::internal("000000000000", "us-east-1", String::new());
    let Ok(f) = parse_function_name(function_arn, &ctx) else { return Ok(None) };
    i.read(move |r| {
        let Some(rec) = load(r, &f)? else { return Ok(None) };
        let policy = rec.policies.get(f.qualifier.as_deref().unwrap_or_default()).map(Value::to_string);
        Ok(Some(stratus_core::ResourceAccess { policy, tags: rec.tags.clone() }))
    })
    .await
}

pub(crate) async fn get_policy(i: &Inner, ctx: &RequestContext, input: FunctionRef) -> Result<Value, AwsError> {
    let mut f = parse_function_name(&input.function_name, ctx)?;
    if input.qualifier.is_some() {
        f.qualifier = input.qualifier;
    }
    i.read(move |r| {
        let rec = must_load(r, &f)?;
        let policy = rec
            .policies
            .get(f.qualifier.as_deref().unwrap_or_default())
            .ok_or_else(|| AwsError::new("ResourceNotFoundException", "The resource you requested does not exist."))?;
        Ok(json!({"Policy": policy.to_string(), "RevisionId": rec.latest.revision_id}))
    })
    .await
}

pub(crate) async fn account_settings(i: &Inner, ctx: &RequestContext) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    i.read(move |r| {
        let mut count = 0u64;
        let mut total = 0u64;
        let mut reserved = 0u32;
        for (_, v) in scan_prefix(r, &keys::functions(&account, &region), usize::MAX)? {
            if let Ok(f) = serde_json::from_slice::<FunctionRecord>(&v) {
                count += 1;
                total += f.latest.code_size;
                reserved += f.reserved_concurrency.unwrap_or(0);
            }
        }
        Ok(json!({
            "AccountLimit": {
                "TotalCodeSize": TOTAL_CODE_SIZE,
                "CodeSizeUnzipped": CODE_SIZE_UNZIPPED,
                "CodeSizeZipped": CODE_SIZE_ZIPPED,
                "ConcurrentExecutions": ACCOUNT_CONCURRENCY,
                "UnreservedConcurrentExecutions": ACCOUNT_CONCURRENCY - reserved,
            },
            "AccountUsage": {"TotalCodeSize": total, "FunctionCount": count},
        }))
    })
    .await
}

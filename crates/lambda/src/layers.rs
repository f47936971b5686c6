//! Layers: versioned zip archives that functions reference by version ARN and that are laid
//! out beside the function's code when it runs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, scan_prefix};

use crate::errors::{invalid, validation};
use crate::types::LayerRef;
use crate::types::last_modified;
use crate::{Inner, keys};

/// A layer version as stored (and, without `sha_hex`, as answered).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerVersion {
    pub layer_name: String,
    pub layer_arn: String,
    pub layer_version_arn: String,
    pub version: u64,
    pub description: String,
    pub created_date: String,
    pub compatible_runtimes: Vec<String>,
    pub compatible_architectures: Vec<String>,
    pub license_info: Option<String>,
    pub code_size: u64,
    pub code_sha256: String,
    pub sha_hex: String,
}

impl LayerVersion {
    fn render(&self, urls: &dyn crate::source::CodeUrls, host: &str) -> Value {
        let mut v = self.list_item();
        if let Some(o) = v.as_object_mut() {
            o.insert("LayerArn".into(), json!(self.layer_arn));
            o.insert(
                "Content".into(),
                json!({"Location": urls.url(host, &self.sha_hex),
                       "CodeSha256": self.code_sha256, "CodeSize": self.code_size}),
            );
        }
        v
    }

    fn list_item(&self) -> Value {
        let mut v = json!({
            "LayerVersionArn": self.layer_version_arn,
            "Version": self.version,
            "Description": self.description,
            "CreatedDate": self.created_date,
            "CompatibleRuntimes": self.compatible_runtimes,
            "CompatibleArchitectures": self.compatible_architectures,
        });
        if let (Some(o), Some(l)) = (v.as_object_mut(), &self.license_info) {
            o.insert("LicenseInfo".into(), json!(l));
        }
        v
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishInput {
    pub layer_name: String,
    pub content: ContentInput,
    pub description: Option<String>,
    #[serde(default)]
    pub compatible_runtimes: Vec<String>,
    #[serde(default)]
    pub compatible_architectures: Vec<String>,
    pub license_info: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContentInput {
    pub zip_file: Option<String>,
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Option<String>,
    #[serde(rename = "S3Key")]
    pub s3_key: Option<String>,
    #[serde(rename = "S3ObjectVersion")]
    pub s3_object_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionRef {
    pub layer_name: String,
    pub version_number: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArnRef {
    pub arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    pub layer_name: Option<String>,
    pub compatible_runtime: Option<String>,
    pub compatible_architecture: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

/// (account, region, name) of a layer name or layer ARN.
fn layer_name(input: &str, ctx: &RequestContext) -> Result<(String, String, String), AwsError> {
    let (account, region, name) = match input.strip_prefix("arn:") {
        Some(_) => {
            let a = stratus_core::Arn::parse(input).ok_or_else(|| invalid(format!("Invalid layer ARN {input}")))?;
            let name =
                a.resource.strip_prefix("layer:").ok_or_else(|| invalid(format!("Invalid layer ARN {input}")))?;
            (a.account.to_string(), a.region.to_string(), name.to_string())
        }
        None => (ctx.account.clone(), ctx.region.clone(), input.to_string()),
    };
    if name.is_empty() || name.len() > 140 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(validation(format!(
            "Value '{input}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{{12}}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"
        )));
    }
    Ok((account, region, name))
}

fn load(
    r: &mut dyn ReadTxn,
    account: &str,
    region: &str,
    name: &str,
    version: u64,
) -> Result<Option<LayerVersion>, AwsError> {
    match r.get(&keys::layer_version(account, region, name, version))? {
        Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| AwsError::internal(format!("corrupt layer: {e}"))),
        None => Ok(None),
    }
}

fn not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The resource you requested does not exist.")
}

/// The layer version a version ARN names.
pub(crate) fn by_arn(r: &mut dyn ReadTxn, arn: &str) -> Result<Option<LayerVersion>, AwsError> {
    let Some(a) = stratus_core::Arn::parse(arn) else { return Ok(None) };
    let Some(rest) = a.resource.strip_prefix("layer:") else { return Ok(None) };
    let Some((name, version)) = rest.rsplit_once(':') else { return Ok(None) };
    let Ok(version) = version.parse::<u64>() else { return Ok(None) };
    load(r, a.account, a.region, name, version)
}

/// Resolves a function's layer references (at most five, each an existing version).
pub(crate) fn references(r: &mut dyn ReadTxn, arns: &[String]) -> Result<Vec<LayerRef>, AwsError> {
    if arns.len() > 5 {
        return Err(invalid("Cannot reference more than 5 layers."));
    }
    arns.iter()
        .map(|arn| match by_arn(r, arn)? {
            Some(l) => Ok(LayerRef { arn: arn.clone(), code_size: l.code_size }),
            None => Err(invalid(format!("Layer version {arn} does not exist."))),
        })
        .collect()
}

/// The SHA-256 (hex) of each referenced layer's archive, in order.
pub(crate) fn archives(r: &mut dyn ReadTxn, refs: &[LayerRef]) -> Result<Vec<(String, String)>, AwsError> {
    refs.iter()
        .map(|l| match by_arn(r, &l.arn)? {
            Some(v) => Ok((l.arn.clone(), v.sha_hex)),
            None => Err(AwsError::new("ResourceNotFoundException", format!("Layer version {} does not exist.", l.arn))),
        })
        .collect()
}

pub(crate) async fn publish(i: &Inner, ctx: &RequestContext, input: PublishInput) -> Result<Value, AwsError> {
    let (account, region, name) = layer_name(&input.layer_name, ctx)?;
    let zip = match input.content.s3_bucket.as_deref() {
        Some(bucket) => {
            let c = &input.content;
            crate::source::fetch_from_s3(i, bucket, c.s3_key.as_deref(), c.s3_object_version.as_deref()).await?
        }
        None => STANDARD
            .decode(
                input
                    .content
                    .zip_file
                    .as_deref()
                    .ok_or_else(|| invalid("Please provide a source for the layer content."))?,
            )
            .map_err(|_| invalid("Could not decode the ZipFile parameter."))?,
    };
    i.executor.check_code(&zip).map_err(|e| {
        invalid(format!("Could not unzip uploaded file. Please check your file, then try to upload again. {e}"))
    })?;
    if input.compatible_runtimes.len() > 15 {
        return Err(invalid("CompatibleRuntimes can hold at most 15 runtimes."));
    }
    let digest = sha2::Sha256::digest(&zip);
    let sha_hex = hex::encode(digest);
    let blob = keys::code_blob(&sha_hex);
    if i.store.blobs().get(&blob)?.is_none() {
        i.store.blobs().put(&blob, &zip)?;
    }
    let now = i.now();
    let host = ctx.host.clone();
    let urls = i.code_urls();
    let size = zip.len() as u64;
    i.store
        .write(move |t| {
            let version = stratus_storage::next_sequence(t, &format!("lambda/layer/{account}/{region}/{name}"))?;
            let layer_arn = format!(
                "arn:{partition}:lambda:{region}:{account}:layer:{name}",
                partition = stratus_core::partition(&region)
            );
            let lv = LayerVersion {
                layer_version_arn: format!("{layer_arn}:{version}"),
                layer_arn,
                layer_name: name.clone(),
                version,
                description: input.description.unwrap_or_default(),
                created_date: last_modified(now),
                compatible_runtimes: input.compatible_runtimes,
                compatible_architectures: input.compatible_architectures,
                license_info: input.license_info,
                code_size: size,
                code_sha256: STANDARD.encode(digest),
                sha_hex,
            };
            let b = serde_json::to_vec(&lv).map_err(|e| AwsError::internal(e.to_string()))?;
            t.put(&keys::layer_version(&account, &region, &name, version), &b)?;
            Ok(lv.render(urls.as_ref(), &host))
        })
        .await
}

pub(crate) async fn get(i: &Inner, ctx: &RequestContext, input: VersionRef) -> Result<Value, AwsError> {
    let (account, region, name) = layer_name(&input.layer_name, ctx)?;
    let host = ctx.host.clone();
    let v = u64::try_from(input.version_number).map_err(|_| not_found())?;
    let urls = i.code_urls();
    i.read(move |r| Ok(load(r, &account, &region, &name, v)?.ok_or_else(not_found)?.render(urls.as_ref(), &host))).await
}

pub(crate) async fn get_by_arn(i: &Inner, ctx: &RequestContext, input: ArnRef) -> Result<Value, AwsError> {
    let host = ctx.host.clone();
    let urls = i.code_urls();
    i.read(move |r| Ok(by_arn(r, &input.arn)?.ok_or_else(not_found)?.render(urls.as_ref(), &host))).await
}

pub(crate) async fn delete(i: &Inner, ctx: &RequestContext, input: VersionRef) -> Result<(), AwsError> {
    let (account, region, name) = layer_name(&input.layer_name, ctx)?;
    let v = u64::try_from(input.version_number).unwrap_or(0);
    i.store.write(move |t| t.delete(&keys::layer_version(&account, &region, &name, v)).map_err(AwsError::from)).await
}

fn matches(l: &LayerVersion, runtime: &Option<String>, arch: &Option<String>) -> bool {
    runtime.as_ref().is_none_or(|r| l.compatible_runtimes.contains(r))
        && arch.as_ref().is_none_or(|a| l.compatible_architectures.contains(a))
}

fn page(items: Vec<Value>, marker: Option<&str>, max: Option<i64>) -> Result<(Vec<Value>, Option<String>), AwsError> {
    let size = match max {
        None => 50,
        Some(n) if (1..=50).contains(&n) => n as usize,
        Some(n) => {
            return Err(validation(format!(
                "Value '{n}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50"
            )));
        }
    };
    let start = match marker {
        None => 0,
        Some(m) => m.parse::<usize>().map_err(|_| invalid("Invalid marker"))?,
    };
    let rest: Vec<Value> = items.into_iter().skip(start).collect();
    let next = (rest.len() > size).then(|| (start + size).to_string());
    Ok((rest.into_iter().take(size).collect(), next))
}

pub(crate) async fn list_versions(i: &Inner, ctx: &RequestContext, input: ListInput) -> Result<Value, AwsError> {
    let (account, region, name) = layer_name(input.layer_name.as_deref().unwrap_or_default(), ctx)?;
    let (rt, arch) = (input.compatible_runtime.clone(), input.compatible_architecture.clone());
    let mut all: Vec<LayerVersion> = i
        .read(move |r| {
            Ok::<_, AwsError>(
                scan_prefix(r, &keys::layer_versions(&account, &region, &name), usize::MAX)?
                    .into_iter()
                    .filter_map(|(_, v)| serde_json::from_slice::<LayerVersion>(&v).ok())
                    .filter(|l| matches(l, &rt, &arch))
                    .collect(),
            )
        })
        .await?;
    all.reverse();
    let (items, next) =
        page(all.iter().map(LayerVersion::list_item).collect(), input.marker.as_deref(), input.max_items)?;
    let mut out = json!({"LayerVersions": items});
    if let (Some(o), Some(n)) = (out.as_object_mut(), next) {
        o.insert("NextMarker".into(), json!(n));
    }
    Ok(out)
}

pub(crate) async fn list_layers(i: &Inner, ctx: &RequestContext, input: ListInput) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let (rt, arch) = (input.compatible_runtime.clone(), input.compatible_architecture.clone());
    let all: Vec<LayerVersion> = i
        .read(move |r| {
            Ok::<_, AwsError>(
                scan_prefix(r, &keys::layers(&account, &region), usize::MAX)?
                    .into_iter()
                    .filter_map(|(_, v)| serde_json::from_slice::<LayerVersion>(&v).ok())
                    .filter(|l| matches(l, &rt, &arch))
                    .collect(),
            )
        })
        .await?;
    // Keys sort by name then version: the last of each name is its latest matching version.
    let mut latest: Vec<LayerVersion> = Vec::new();
    for l in all {
        match latest.last_mut() {
            Some(last) if last.layer_name == l.layer_name => *last = l,
            _ => latest.push(l),
        }
    }
    let items = latest
        .iter()
        .map(|l| json!({"LayerName": l.layer_name, "LayerArn": l.layer_arn, "LatestMatchingVersion": l.list_item()}))
        .collect();
    let (items, next) = page(items, input.marker.as_deref(), input.max_items)?;
    let mut out = json!({"Layers": items});
    if let (Some(o), Some(n)) = (out.as_object_mut(), next) {
        o.insert("NextMarker".into(), json!(n));
    }
    Ok(out)
}

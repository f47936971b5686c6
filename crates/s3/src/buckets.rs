//! Buckets: create/delete/head/list/location, and the bucket's configurations (versioning,
//! tagging, policy, CORS, notifications).

use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};
use stratus_storage::scan_prefix;

use crate::errors::{Fail, Res, invalid_argument};
use crate::notifications::{self, DestinationKind, NotificationRule};
use crate::objects::{self, decode, load_bucket, save_bucket, tag_list, tags_from, timestamp};
use crate::types::{Bucket, CorsRule, Versioning};
use crate::{EVENTS_TOPIC, S3, caller, keys};

/// Bucket naming rules for general purpose buckets.
pub fn valid_bucket_name(n: &str) -> bool {
    let b = n.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && b.iter().all(|&c| edge(c) || c == b'.' || c == b'-')
        && b.first().is_some_and(|&c| edge(c))
        && b.last().is_some_and(|&c| edge(c))
        && !n.contains("..")
        && !n.contains(".-")
        && !n.contains("-.")
        && n.parse::<std::net::Ipv4Addr>().is_err()
        && !n.starts_with("xn--")
        && !n.starts_with("sthree-")
        && !n.ends_with("-s3alias")
        && !n.ends_with("--ol-s3")
        && !n.starts_with("amzn-s3-demo-")
        // Directory buckets and table buckets have names of their own.
        && !n.ends_with("--x-s3")
        && !n.ends_with("--table-s3")
}

/// The account regional namespace's suffix a name carries (`-{account}-{region}-an`), as
/// (account, region).
fn regional_suffix(n: &str) -> Option<(&str, &str)> {
    let rest = n.strip_suffix("-an")?;
    // `{prefix}-{12 digits}-{region}`: the region has dashes of its own, so find the account.
    let bytes = rest.as_bytes();
    (0..bytes.len().saturating_sub(13)).rev().find_map(|i| {
        let account = rest.get(i + 1..i + 13)?;
        (bytes[i] == b'-' && account.bytes().all(|b| b.is_ascii_digit()) && rest.as_bytes().get(i + 13) == Some(&b'-'))
            .then(|| (account, &rest[i + 14..]))
            .filter(|(_, region)| looks_like_region(region))
    })
}

/// `{area}-{place…}-{n}`, as AWS region codes are written (`us-west-2`, `us-gov-east-1`).
fn looks_like_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The namespace rules of CreateBucket (`x-amz-bucket-namespace`): an account regional
/// bucket's name ends with its owner's `-{account}-{region}-an`, and such names are kept out of
/// the global namespace.
fn check_namespace(name: &str, namespace: Option<&str>, account: &str, region: &str) -> S3Result<()> {
    let suffix = regional_suffix(name);
    match namespace {
        None | Some("global") => {
            if suffix.is_some() {
                return Err(s3_error!(
                    InvalidBucketName,
                    "The specified bucket is not valid. Bucket names ending in -{{account}}-{{region}}-an belong to an account regional namespace: create them with x-amz-bucket-namespace: account-regional."
                ));
            }
        }
        Some("account-regional") => match suffix {
            Some((a, r)) if a == account && r == region => {}
            _ => {
                return Err(s3_error!(
                    InvalidBucketName,
                    "The specified bucket is not valid. A bucket in your account regional namespace is named {{prefix}}-{account}-{region}-an."
                ));
            }
        },
        Some(other) => {
            return Err(crate::errors::invalid_argument_named(
                "Invalid bucket namespace",
                "x-amz-bucket-namespace",
                other,
            ));
        }
    }
    Ok(())
}

/// Runs `f` on the stored bucket and saves it.
async fn update<T: Send + 'static>(
    s3: &S3,
    bucket: String,
    f: impl FnOnce(&mut Bucket) -> Res<T> + Send + 'static,
) -> S3Result<T> {
    Ok(s3
        .store()
        .write(move |t| {
            let mut b = load_bucket(t, &bucket)?;
            let out = f(&mut b)?;
            save_bucket(t, &b)?;
            Ok::<_, Fail>(out)
        })
        .await?)
}

async fn read_bucket(s3: &S3, bucket: &str) -> S3Result<Bucket> {
    objects::bucket_exists(s3, bucket).await
}

pub async fn create(s3: &S3, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
    let who = caller(&req);
    let req_headers_namespace =
        req.headers.get("x-amz-bucket-namespace").and_then(|v| v.to_str().ok()).map(str::to_string);
    let i = req.input;
    if !valid_bucket_name(&i.bucket) {
        return Err(s3_error!(InvalidBucketName, "The specified bucket is not valid."));
    }
    let constraint = i
        .create_bucket_configuration
        .as_ref()
        .and_then(|c| c.location_constraint.as_ref())
        .map(|c| c.as_str().to_string());
    let region = match constraint.as_deref() {
        // us-east-1 is the absence of a constraint; naming it is an error.
        Some("us-east-1") => {
            return Err(s3_error!(InvalidLocationConstraint, "The specified location-constraint is not valid"));
        }
        Some("") | None => who.region.clone(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    };
    // A region's own endpoint makes buckets of that region only (us-east-1's is the global
    // endpoint, which makes them anywhere).
    if constraint.as_deref().is_some_and(|c| !c.is_empty()) && who.region != "us-east-1" && region != who.region {
        return Err(s3_error!(
            IllegalLocationConstraintException,
            "The {} location constraint is incompatible for the region specific endpoint this request was sent to.",
            constraint.as_deref().unwrap_or_default()
        ));
    }
    if constraint.is_none() && who.region != "us-east-1" {
        return Err(s3_error!(
            IllegalLocationConstraintException,
            "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
        ));
    }
    let namespace = req_headers_namespace;
    check_namespace(&i.bucket, namespace.as_deref(), &who.account, &region)?;
    let configs = crate::configs::at_create(&who.account, &i)?;
    let locked = i.object_lock_enabled_for_bucket == Some(true);
    let b = Bucket {
        name: i.bucket.clone(),
        account: who.account.clone(),
        region,
        created_millis: s3.now_millis(),
        // Object Lock needs versioning, and turns it on.
        versioning: if locked { Versioning::Enabled } else { Versioning::Unversioned },
        policy: None,
        cors: None,
        tags: None,
        notifications: Vec::new(),
        public_access_block: Some(crate::public::PublicAccessBlock::ALL),
        configs: configs.into_iter().collect(),
    };
    let name = i.bucket.clone();
    s3.store()
        .write(move |t| -> Res<()> {
            if let Some(v) = t.get(&keys::bucket(&b.name))? {
                let existing: Bucket = decode(&v)?;
                if existing.account != b.account {
                    return Err(Fail(s3_error!(
                        BucketAlreadyExists,
                        "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
                    )));
                }
                // us-east-1 answers a repeated create by the owner with success (legacy
                // behaviour); other regions say the owner has it already.
                if existing.region == "us-east-1" && b.region == "us-east-1" {
                    return Ok(());
                }
                return Err(Fail(s3_error!(
                    BucketAlreadyOwnedByYou,
                    "Your previous request to create the named bucket succeeded and you already own it."
                )));
            }
            save_bucket(t, &b)
        })
        .await?;
    Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{name}")) }))
}

pub async fn delete(s3: &S3, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
    let name = req.input.bucket;
    let released = s3
        .store()
        .write(move |t| -> Res<Vec<String>> {
            load_bucket(t, &name)?;
            if !scan_prefix(t, &keys::versions_prefix(&name), 1)?.is_empty() {
                return Err(Fail(s3_error!(BucketNotEmpty, "The bucket you tried to delete is not empty")));
            }
            // Uploads in progress go with the bucket.
            let mut released = Vec::new();
            for (k, v) in scan_prefix(t, &keys::uploads_prefix(&name), usize::MAX)? {
                let u: crate::types::Upload = decode(&v)?;
                for (pk, pv) in scan_prefix(t, &keys::parts_prefix(&u.upload_id), usize::MAX)? {
                    let p: crate::types::Part = decode(&pv)?;
                    released.push(p.blob);
                    t.delete(&pk)?;
                }
                t.delete(&k)?;
            }
            t.delete(&keys::bucket(&name))?;
            Ok(released)
        })
        .await?;
    crate::body::delete_later(s3.store().blobs().clone(), released);
    Ok(S3Response::new(DeleteBucketOutput {}))
}

pub async fn head(s3: &S3, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    Ok(S3Response::new(HeadBucketOutput { bucket_region: Some(b.region), ..Default::default() }))
}

pub async fn list(s3: &S3, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
    let who = caller(&req);
    let account = who.account.clone();
    let i = req.input;
    let all = s3
        .store()
        .read(move |r| -> Res<Vec<Bucket>> {
            scan_prefix(r, keys::BUCKETS, usize::MAX)?.iter().map(|(_, v)| decode::<Bucket>(v)).collect()
        })
        .await?;
    let prefix = i.prefix.clone().unwrap_or_default();
    let mut mine: Vec<Bucket> = all
        .into_iter()
        .filter(|b| b.account == account && b.name.starts_with(&prefix))
        .filter(|b| i.bucket_region.as_deref().is_none_or(|r| r == b.region))
        .filter(|b| i.continuation_token.as_deref().is_none_or(|t| b.name.as_str() > t))
        .collect();
    let max = i.max_buckets.map(|m| m.clamp(1, 10000) as usize).unwrap_or(usize::MAX);
    let token = if mine.len() > max {
        mine.truncate(max);
        mine.last().map(|b| b.name.clone())
    } else {
        None
    };
    let buckets = mine
        .into_iter()
        .map(|b| Bucket_ {
            name: Some(b.name),
            creation_date: Some(timestamp(b.created_millis)),
            bucket_region: Some(b.region),
        })
        .collect();
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        owner: Some(owner(&account)),
        continuation_token: token,
        prefix: i.prefix,
    }))
}

use s3s::dto::Bucket as Bucket_;

/// An account as S3 names owners: by its canonical user id (S3 no longer sends display names).
pub fn owner(account: &str) -> Owner {
    Owner { id: Some(crate::configs::canonical_id(account)), display_name: None }
}

pub async fn location(
    s3: &S3,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    // us-east-1 is reported as no constraint.
    let location_constraint = (b.region != "us-east-1").then(|| BucketLocationConstraint::from(b.region));
    Ok(S3Response::new(GetBucketLocationOutput { location_constraint }))
}

pub async fn put_versioning(
    s3: &S3,
    req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let i = req.input;
    let state = match i.versioning_configuration.status.as_ref().map(|s| s.as_str()) {
        Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
        Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    };
    update(s3, i.bucket, move |b| {
        // A bucket that never had versioning stays unversioned when "suspended".
        if !(state == Versioning::Suspended && b.versioning == Versioning::Unversioned) {
            b.versioning = state;
        }
        Ok(())
    })
    .await?;
    Ok(S3Response::new(PutBucketVersioningOutput {}))
}

pub async fn get_versioning(
    s3: &S3,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    let status = match b.versioning {
        Versioning::Unversioned => None,
        Versioning::Enabled => Some(BucketVersioningStatus::from_static(BucketVersioningStatus::ENABLED)),
        Versioning::Suspended => Some(BucketVersioningStatus::from_static(BucketVersioningStatus::SUSPENDED)),
    };
    Ok(S3Response::new(GetBucketVersioningOutput { status, mfa_delete: None }))
}

pub async fn put_tagging(
    s3: &S3,
    req: S3Request<PutBucketTaggingInput>,
) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let i = req.input;
    let tags = tags_from(&i.tagging.tag_set);
    if tags.len() > 50 {
        return Err(s3_error!(InvalidTag, "Bucket tag count cannot be greater than 50"));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, v) in &tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(s3_error!(InvalidTag, "The TagKey or TagValue you have provided is invalid"));
        }
        if k.starts_with("aws:") {
            return Err(s3_error!(InvalidTag, "System tags cannot be added/updated by requester"));
        }
        if !seen.insert(k) {
            return Err(s3_error!(InvalidTag, "Cannot provide multiple Tags with the same key"));
        }
    }
    // An empty tag set removes the bucket's tags.
    update(s3, i.bucket, move |b| {
        b.tags = (!tags.is_empty()).then_some(tags);
        Ok(())
    })
    .await?;
    let mut resp = S3Response::new(PutBucketTaggingOutput {});
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

pub async fn get_tagging(
    s3: &S3,
    req: S3Request<GetBucketTaggingInput>,
) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    match b.tags {
        Some(t) => Ok(S3Response::new(GetBucketTaggingOutput { tag_set: tag_list(&t) })),
        None => Err(s3_error!(NoSuchTagSet, "The TagSet does not exist")),
    }
}

pub async fn delete_tagging(
    s3: &S3,
    req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    update(s3, req.input.bucket, |b| {
        b.tags = None;
        Ok(())
    })
    .await?;
    Ok(S3Response::new(DeleteBucketTaggingOutput {}))
}

pub async fn put_policy(s3: &S3, req: S3Request<PutBucketPolicyInput>) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let who = caller(&req);
    let i = req.input;
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(&i.policy);
    if !matches!(parsed, Ok(serde_json::Value::Object(_))) {
        return Err(s3_error!(MalformedPolicy, "Policies must be valid JSON and the first byte must be '{{'"));
    }
    let policy = i.policy;
    let public = crate::public::is_public(&policy);
    let bucket = i.bucket.clone();
    update(s3, i.bucket, move |b| {
        if public && b.public_access_block.is_some_and(|p| p.block_public_policy) {
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::{bucket}\" because public policies are blocked by the BlockPublicPolicy block public access setting.",
                    who.arn
                ),
            )
            .into());
        }
        b.policy = Some(policy);
        Ok(())
    })
    .await?;
    Ok(S3Response::new(PutBucketPolicyOutput {}))
}

pub async fn policy_status(
    s3: &S3,
    req: S3Request<GetBucketPolicyStatusInput>,
) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    let Some(policy) = b.policy else {
        return Err(s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist"));
    };
    let status = PolicyStatus { is_public: Some(crate::public::is_public(&policy)) };
    Ok(S3Response::new(GetBucketPolicyStatusOutput { policy_status: Some(status) }))
}

pub async fn put_public_access_block(
    s3: &S3,
    req: S3Request<PutPublicAccessBlockInput>,
) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
    let c = req.input.public_access_block_configuration;
    let block = crate::public::PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    };
    update(s3, req.input.bucket, move |b| {
        b.public_access_block = Some(block);
        Ok(())
    })
    .await?;
    Ok(S3Response::new(PutPublicAccessBlockOutput {}))
}

pub async fn get_public_access_block(
    s3: &S3,
    req: S3Request<GetPublicAccessBlockInput>,
) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    let Some(p) = b.public_access_block else {
        let mut e = S3Error::with_message(
            S3ErrorCode::Custom("NoSuchPublicAccessBlockConfiguration".into()),
            "The public access block configuration was not found",
        );
        e.set_status_code(http::StatusCode::NOT_FOUND);
        return Err(e);
    };
    let configuration = PublicAccessBlockConfiguration {
        block_public_acls: Some(p.block_public_acls),
        ignore_public_acls: Some(p.ignore_public_acls),
        block_public_policy: Some(p.block_public_policy),
        restrict_public_buckets: Some(p.restrict_public_buckets),
    };
    Ok(S3Response::new(GetPublicAccessBlockOutput { public_access_block_configuration: Some(configuration) }))
}

pub async fn delete_public_access_block(
    s3: &S3,
    req: S3Request<DeletePublicAccessBlockInput>,
) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
    update(s3, req.input.bucket, |b| {
        b.public_access_block = None;
        Ok(())
    })
    .await?;
    Ok(S3Response::new(DeletePublicAccessBlockOutput {}))
}

pub async fn get_policy(s3: &S3, req: S3Request<GetBucketPolicyInput>) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    match b.policy {
        Some(p) => Ok(S3Response::new(GetBucketPolicyOutput { policy: Some(p) })),
        None => Err(s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist")),
    }
}

pub async fn delete_policy(
    s3: &S3,
    req: S3Request<DeleteBucketPolicyInput>,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    update(s3, req.input.bucket, |b| {
        b.policy = None;
        Ok(())
    })
    .await?;
    Ok(S3Response::new(DeleteBucketPolicyOutput {}))
}

pub async fn put_cors(s3: &S3, req: S3Request<PutBucketCorsInput>) -> S3Result<S3Response<PutBucketCorsOutput>> {
    let i = req.input;
    let mut rules = Vec::new();
    for r in i.cors_configuration.cors_rules {
        for m in &r.allowed_methods {
            if !matches!(m.as_str(), "GET" | "PUT" | "POST" | "DELETE" | "HEAD") {
                return Err(invalid_argument(&format!(
                    "Found unsupported HTTP method in CORS config. Unsupported method is {}",
                    m.as_str()
                )));
            }
        }
        rules.push(CorsRule {
            id: r.id,
            allowed_methods: r.allowed_methods.iter().map(|m| m.as_str().to_string()).collect(),
            allowed_origins: r.allowed_origins,
            allowed_headers: r.allowed_headers.unwrap_or_default(),
            expose_headers: r.expose_headers.unwrap_or_default(),
            max_age_seconds: r.max_age_seconds,
        });
    }
    if rules.is_empty() || rules.len() > 100 {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    update(s3, i.bucket, move |b| {
        b.cors = Some(rules);
        Ok(())
    })
    .await?;
    Ok(S3Response::new(PutBucketCorsOutput {}))
}

pub async fn get_cors(s3: &S3, req: S3Request<GetBucketCorsInput>) -> S3Result<S3Response<GetBucketCorsOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    let Some(rules) = b.cors else {
        return Err(s3_error!(NoSuchCORSConfiguration, "The CORS configuration does not exist"));
    };
    let cors_rules = rules
        .into_iter()
        .map(|r| CORSRule {
            id: r.id,
            allowed_methods: r.allowed_methods,
            allowed_origins: r.allowed_origins,
            allowed_headers: (!r.allowed_headers.is_empty()).then_some(r.allowed_headers),
            expose_headers: (!r.expose_headers.is_empty()).then_some(r.expose_headers),
            max_age_seconds: r.max_age_seconds,
        })
        .collect();
    Ok(S3Response::new(GetBucketCorsOutput { cors_rules: Some(cors_rules) }))
}

pub async fn delete_cors(
    s3: &S3,
    req: S3Request<DeleteBucketCorsInput>,
) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
    update(s3, req.input.bucket, |b| {
        b.cors = None;
        Ok(())
    })
    .await?;
    Ok(S3Response::new(DeleteBucketCorsOutput {}))
}

/// Matches a CORS request against the bucket's rules: the headers to answer with, if a rule
/// allows it.
pub fn cors_match(
    rules: &[CorsRule],
    origin: &str,
    method: &str,
    request_headers: &[String],
) -> Option<Vec<(&'static str, String)>> {
    let wild = |pattern: &str, value: &str| match pattern.split_once('*') {
        Some((a, b)) => value.len() >= a.len() + b.len() && value.starts_with(a) && value.ends_with(b),
        None => pattern.eq_ignore_ascii_case(value),
    };
    let rule = rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| wild(o, origin))
            && r.allowed_methods.iter().any(|m| m == method)
            && request_headers.iter().all(|h| r.allowed_headers.iter().any(|a| wild(a, h)))
    })?;
    let any_origin = rule.allowed_origins.iter().any(|o| o == "*");
    let mut out = vec![
        ("access-control-allow-origin", if any_origin { "*".to_string() } else { origin.to_string() }),
        ("access-control-allow-methods", rule.allowed_methods.join(", ")),
    ];
    if !request_headers.is_empty() {
        out.push(("access-control-allow-headers", request_headers.join(", ")));
    }
    if !rule.expose_headers.is_empty() {
        out.push(("access-control-expose-headers", rule.expose_headers.join(", ")));
    }
    if let Some(age) = rule.max_age_seconds {
        out.push(("access-control-max-age", age.to_string()));
    }
    if !any_origin {
        out.push(("access-control-allow-credentials", "true".to_string()));
        out.push(("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".to_string()));
    }
    Some(out)
}

impl crate::S3 {
    /// Answers a CORS preflight (`OPTIONS`) from the bucket's rules: `Ok(headers)` when allowed,
    /// `Err(error code)` as S3 refuses (`NoSuchBucket`, `CORSResponse` when no rule matches).
    pub async fn cors_preflight(
        &self,
        bucket: &str,
        origin: &str,
        method: &str,
        request_headers: &[String],
    ) -> Result<Vec<(&'static str, String)>, String> {
        let b = objects::bucket_exists(self, bucket).await.map_err(|e| e.code().as_str().to_string())?;
        let rules = b.cors.unwrap_or_default();
        cors_match(&rules, origin, method, request_headers).ok_or_else(|| "CORSResponse".to_string())
    }

    /// CORS headers for an actual (non-preflight) request with an `Origin`, if a rule allows it.
    pub async fn cors_headers(&self, bucket: &str, origin: &str, method: &str) -> Vec<(&'static str, String)> {
        match objects::bucket_exists(self, bucket).await {
            Ok(b) => cors_match(&b.cors.unwrap_or_default(), origin, method, &[]).unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }
}

fn rules_from(cfg: &NotificationConfiguration, new_id: &dyn Fn() -> String) -> S3Result<Vec<NotificationRule>> {
    let mut rules = Vec::new();
    let mut push =
        |kind, id: &Option<String>, arn: &str, events: &[Event], filter: &Option<NotificationConfigurationFilter>| {
            let pairs: Vec<(String, String)> = filter
                .as_ref()
                .and_then(|f| f.key.as_ref())
                .and_then(|k| k.filter_rules.as_ref())
                .map(|rs| {
                    rs.iter()
                        .map(|r| {
                            (
                                r.name.as_ref().map(|n| n.as_str().to_string()).unwrap_or_default(),
                                r.value.clone().unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let (prefix, suffix) = notifications::filter_rules(&pairs)?;
            rules.push(NotificationRule {
                kind,
                id: id.clone().filter(|i| !i.is_empty()).unwrap_or_else(new_id),
                arn: arn.to_string(),
                events: events.iter().map(|e| e.as_ref().to_string()).collect(),
                prefix,
                suffix,
            });
            Ok::<(), S3Error>(())
        };
    for q in cfg.queue_configurations.iter().flatten() {
        push(DestinationKind::Queue, &q.id, &q.queue_arn, &q.events, &q.filter)?;
    }
    for t in cfg.topic_configurations.iter().flatten() {
        push(DestinationKind::Topic, &t.id, &t.topic_arn, &t.events, &t.filter)?;
    }
    for l in cfg.lambda_function_configurations.iter().flatten() {
        push(DestinationKind::Lambda, &l.id, &l.lambda_function_arn, &l.events, &l.filter)?;
    }
    Ok(rules)
}

/// The stored filter as S3 returns it: rule names capitalised (`Prefix`, `Suffix`) however
/// they were given (the model's enum spells them in lower case).
fn filter_out(r: &NotificationRule) -> Option<NotificationConfigurationFilter> {
    let mut rules = Vec::new();
    if let Some(p) = &r.prefix {
        rules.push(FilterRule { name: Some(FilterRuleName::from_static("Prefix")), value: Some(p.clone()) });
    }
    if let Some(s) = &r.suffix {
        rules.push(FilterRule { name: Some(FilterRuleName::from_static("Suffix")), value: Some(s.clone()) });
    }
    (!rules.is_empty())
        .then_some(NotificationConfigurationFilter { key: Some(S3KeyFilter { filter_rules: Some(rules) }) })
}

pub async fn put_notifications(
    s3: &S3,
    req: S3Request<PutBucketNotificationConfigurationInput>,
) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
    let who = caller(&req);
    let i = req.input;
    if i.notification_configuration.event_bridge_configuration.is_some() {
        return Err(s3_error!(NotImplemented, "EventBridge notifications are not implemented"));
    }
    let rules = rules_from(&i.notification_configuration, &|| s3.env().ids.uuid())?;
    notifications::validate(&rules)?;
    let b = read_bucket(s3, &i.bucket).await?;
    if !i.skip_destination_validation.unwrap_or(false)
        && let Some(targets) = s3.targets()
    {
        let bucket_arn = notifications::bucket_arn(&b.name);
        for r in &rules {
            if !targets.check(&r.arn, &bucket_arn, &b.account).await {
                let mut e = S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "Unable to validate the following destination configurations".to_string(),
                );
                e.set_status_code(http::StatusCode::BAD_REQUEST);
                return Err(e);
            }
        }
    }
    let now = s3.now_millis();
    let bucket = i.bucket.clone();
    let test_time = stratus_core::time::iso8601_millis(now);
    let host_id = objects::host_id(&who.request_id);
    s3.store()
        .write_signalling(move |t| -> Res<()> {
            let mut b = load_bucket(t, &bucket)?;
            // Queues and topics get a test message; functions do not.
            let mut told = std::collections::HashSet::new();
            for r in rules.iter().filter(|r| r.kind != DestinationKind::Lambda) {
                if told.insert(r.arn.clone()) {
                    let ev = notifications::test_event(&bucket, &test_time, &who.request_id, &host_id);
                    let record = notifications::outbox_record(&r.arn, &b.name, &b.account, ev);
                    stratus_storage::outbox_push(t, EVENTS_TOPIC, &record)?;
                }
            }
            b.notifications = rules;
            save_bucket(t, &b)
        })
        .await?;
    Ok(S3Response::new(PutBucketNotificationConfigurationOutput {}))
}

pub async fn get_notifications(
    s3: &S3,
    req: S3Request<GetBucketNotificationConfigurationInput>,
) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
    let b = read_bucket(s3, &req.input.bucket).await?;
    let (mut queues, mut topics, mut lambdas) = (Vec::new(), Vec::new(), Vec::new());
    for r in &b.notifications {
        let events: Vec<Event> = r.events.iter().map(|e| Event::from(e.clone())).collect();
        match r.kind {
            DestinationKind::Queue => queues.push(QueueConfiguration {
                events,
                filter: filter_out(r),
                id: Some(r.id.clone()),
                queue_arn: r.arn.clone(),
            }),
            DestinationKind::Topic => topics.push(TopicConfiguration {
                events,
                filter: filter_out(r),
                id: Some(r.id.clone()),
                topic_arn: r.arn.clone(),
            }),
            DestinationKind::Lambda => lambdas.push(LambdaFunctionConfiguration {
                events,
                filter: filter_out(r),
                id: Some(r.id.clone()),
                lambda_function_arn: r.arn.clone(),
            }),
        }
    }
    Ok(S3Response::new(GetBucketNotificationConfigurationOutput {
        queue_configurations: (!queues.is_empty()).then_some(queues),
        topic_configurations: (!topics.is_empty()).then_some(topics),
        lambda_function_configurations: (!lambdas.is_empty()).then_some(lambdas),
        event_bridge_configuration: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.1", "a1b"] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in ["ab", "ABC", "-abc", "abc-", "a..b", "192.168.1.1", "xn--abc", "a_b", &"a".repeat(64)] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
        for reserved in ["data--usw2-az1--x-s3", "t--table-s3", "amzn-s3-demo-bucket"] {
            assert!(!valid_bucket_name(reserved), "{reserved}");
        }
    }

    #[test]
    fn account_regional_namespace() {
        let name = "logs-111122223333-us-west-2-an";
        assert_eq!(regional_suffix(name), Some(("111122223333", "us-west-2")));
        assert_eq!(regional_suffix("plain-bucket"), None);
        assert_eq!(regional_suffix("x-111122223333-nowhere-an"), None);
        assert!(check_namespace(name, Some("account-regional"), "111122223333", "us-west-2").is_ok());
        assert!(check_namespace(name, Some("account-regional"), "999999999999", "us-west-2").is_err());
        assert!(check_namespace(name, Some("account-regional"), "111122223333", "us-east-1").is_err());
        assert!(check_namespace(name, None, "111122223333", "us-west-2").is_err());
        assert!(check_namespace("plain-bucket", Some("account-regional"), "111122223333", "us-west-2").is_err());
        assert!(check_namespace("plain-bucket", Some("global"), "111122223333", "us-west-2").is_ok());
        assert!(check_namespace("plain-bucket", Some("galactic"), "111122223333", "us-west-2").is_err());
    }

    #[test]
    fn cors_rules_match_origin_method_and_headers() {
        let rules = vec![CorsRule {
            id: None,
            allowed_methods: vec!["GET".into(), "PUT".into()],
            allowed_origins: vec!["https://*.example.com".into()],
            allowed_headers: vec!["x-amz-*".into()],
            expose_headers: vec!["ETag".into()],
            max_age_seconds: Some(300),
        }];
        let h = cors_match(&rules, "https://app.example.com", "PUT", &["x-amz-meta-a".into()]).unwrap_or_default();
        assert!(h.contains(&("access-control-allow-origin", "https://app.example.com".into())));
        assert!(h.contains(&("access-control-max-age", "300".into())));
        assert!(cors_match(&rules, "https://evil.com", "GET", &[]).is_none());
        assert!(cors_match(&rules, "https://app.example.com", "DELETE", &[]).is_none());
        assert!(cors_match(&rules, "https://app.example.com", "GET", &["authorization".into()]).is_none());
    }
}

//! Multipart uploads: create, upload (and copy) parts, complete, abort, list parts and uploads.
//! A completed object's bytes stay in its parts' blobs (its segments), so completing copies
//! nothing.

use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};
use stratus_storage::scan_prefix;

use base64::Engine as _;

use crate::body;
use crate::buckets::owner;
use crate::errors;
use crate::errors::{Fail, Res, invalid_argument, no_such_upload};
use crate::objects::{
    self, ChecksumRequest, NewObject, check_conditions, check_key, copy_source, decode, encode, load_bucket, quoted,
    resolve_with_data, set_checksum, timestamp,
};
use crate::types::{ContentHeaders, Part, Segment, Upload};
use crate::{S3, caller, keys};

const MIN_PART: u64 = 5 << 20;

fn load_upload(r: &mut dyn stratus_storage::ReadTxn, bucket: &str, key: &str, upload_id: &str) -> Res<Upload> {
    load_bucket(r, bucket)?;
    match r.get(&keys::upload(bucket, key, upload_id))? {
        Some(v) => decode(&v),
        None => Err(Fail(no_such_upload())),
    }
}

/// Takes a multipart upload away (its record and parts) in the transaction that completes it.
pub fn take_upload(t: &mut dyn stratus_storage::Txn, bucket: &str, key: &str, upload_id: &str) -> Res<Upload> {
    let up = load_upload(t, bucket, key, upload_id)?;
    t.delete(&keys::upload(bucket, key, upload_id))?;
    for (pk, _) in scan_prefix(t, &keys::parts_prefix(upload_id), usize::MAX)? {
        t.delete(&pk)?;
    }
    Ok(up)
}

/// The composite checksum of a multipart object whose upload named an algorithm and whose
/// parts all carry it: the algorithm over the parts' digests, `{base64}-{parts}`; with the
/// parts' values. CRC64NVME is a full-object checksum only, so it gives none.
fn composite_checksum(algorithm: Option<&str>, parts: &[Part]) -> (Option<(String, String)>, Vec<String>) {
    let Some(alg) = algorithm.map(str::to_ascii_uppercase).filter(|a| a != "CRC64NVME") else {
        return (None, Vec::new());
    };
    let values: Option<Vec<String>> =
        parts.iter().map(|p| p.checksum.as_ref().filter(|(a, _)| *a == alg).map(|(_, v)| v.clone())).collect();
    let Some(values) = values else { return (None, Vec::new()) };
    let mut hasher = body::hasher_for(&[alg.as_str()]);
    for v in &values {
        match base64::engine::general_purpose::STANDARD.decode(v) {
            Ok(raw) => hasher.update(&raw),
            Err(_) => return (None, Vec::new()),
        }
    }
    let Some(whole) = body::checksum_value(&hasher.finalize(), &alg) else { return (None, Vec::new()) };
    (Some((alg, format!("{whole}-{}", values.len()))), values)
}

fn part_number(n: i32) -> S3Result<u32> {
    if !(1..=10000).contains(&n) {
        return Err(invalid_argument("Part number must be an integer between 1 and 10000, inclusive"));
    }
    Ok(n as u32)
}

pub async fn create(
    s3: &S3,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let who = caller(&req);
    let req_acl = crate::configs::AclHeaders::of_create_upload(&req.input);
    let i = req.input;
    check_key(&i.key)?;
    let tags = objects::parse_tagging_header(i.tagging.as_deref())?;
    let expires = i.expires.as_ref().and_then(|t| {
        let mut buf = Vec::new();
        t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
        String::from_utf8(buf).ok()
    });
    let (storage_class, lock, encryption) = objects::write_options!(i, s3.now_millis());
    let acl = crate::configs::acl_at_write(s3, &i.bucket, &who.account, &req_acl).await?;
    let upload = Upload {
        key: i.key.clone(),
        upload_id: s3.new_id() + &s3.new_id(),
        initiated_millis: s3.now_millis(),
        owner: who.account.clone(),
        headers: ContentHeaders {
            content_type: i.content_type,
            content_encoding: i.content_encoding,
            content_disposition: i.content_disposition,
            content_language: i.content_language,
            cache_control: i.cache_control,
            expires,
            website_redirect: i.website_redirect_location,
        },
        metadata: i.metadata.unwrap_or_default().into_iter().collect(),
        tags,
        checksum_algorithm: i.checksum_algorithm.as_ref().map(|a| a.as_str().to_ascii_uppercase()),
        storage_class,
        lock,
        encryption,
        acl,
    };
    let (bucket, u) = (i.bucket.clone(), upload.clone());
    let now = s3.now_millis();
    s3.store()
        .write(move |t| -> Res<()> {
            let b = load_bucket(t, &bucket)?;
            // Lock headers need a bucket with Object Lock: refused before any part is sent.
            if u.lock != Default::default() {
                crate::lock::for_new_version(&b, u.lock.clone(), now)?;
            }
            t.put(&keys::upload(&bucket, &u.key, &u.upload_id), &encode(&u))?;
            Ok(())
        })
        .await?;
    let enc = crate::encryption::answer(upload.encryption.as_ref());
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(i.bucket),
        key: Some(upload.key),
        upload_id: Some(upload.upload_id),
        checksum_algorithm: i.checksum_algorithm,
        server_side_encryption: enc.sse,
        ssekms_key_id: enc.kms_key,
        bucket_key_enabled: enc.bucket_key,
        sse_customer_algorithm: enc.customer_algorithm,
        sse_customer_key_md5: enc.customer_key_md5,
        ..Default::default()
    }))
}

/// Records a written part (replacing an earlier upload of the same number).
async fn save_part(s3: &S3, bucket: String, key: String, upload_id: String, part: Part) -> S3Result<()> {
    let blob = part.blob.clone();
    let res = s3
        .store()
        .write(move |t| -> Res<Option<String>> {
            load_upload(t, &bucket, &key, &upload_id)?;
            let k = keys::part(&upload_id, part.number);
            let old = t.get(&k)?.map(|v| decode::<Part>(&v)).transpose()?;
            t.put(&k, &encode(&part))?;
            Ok(old.map(|p| p.blob))
        })
        .await;
    match res {
        Ok(old) => {
            body::delete_later(s3.store().blobs().clone(), old.into_iter().collect());
            Ok(())
        }
        Err(e) => {
            body::delete_later(s3.store().blobs().clone(), vec![blob]);
            Err(e.into())
        }
    }
}

pub async fn upload_part(s3: &S3, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
    let trailing = req.trailing_headers.clone();
    let i = req.input;
    let number = part_number(i.part_number)?;
    let (b, k, u) = (i.bucket.clone(), i.key.clone(), i.upload_id.clone());
    let upload = s3.store().read(move |r| load_upload(r, &b, &k, &u)).await?;
    let mut sums = ChecksumRequest::new(
        i.checksum_algorithm.as_ref(),
        &[
            ("CRC32", i.checksum_crc32.as_ref()),
            ("CRC32C", i.checksum_crc32c.as_ref()),
            ("SHA1", i.checksum_sha1.as_ref()),
            ("SHA256", i.checksum_sha256.as_ref()),
            ("CRC64NVME", i.checksum_crc64nvme.as_ref()),
        ],
        &req.headers,
    );
    if sums.algorithm.is_none() {
        sums.algorithm = upload.checksum_algorithm.clone();
    }
    // The parts of an SSE-C upload carry its key, as S3 checks.
    let given = crate::encryption::customer_key(
        i.sse_customer_algorithm.as_deref(),
        i.sse_customer_key.as_deref(),
        i.sse_customer_key_md5.as_deref(),
    )?;
    crate::encryption::check_part(upload.encryption.as_ref(), given.as_deref())?;
    // Parts stay in blob files: a completed object is the list of its parts' blobs.
    let (w, checksum) = sums.receive(s3, i.body, i.content_md5.as_deref(), trailing.as_ref(), 0).await?;
    let etag = hex::encode(w.md5);
    let part = Part {
        number,
        etag: etag.clone(),
        size: w.size,
        blob: w.blob,
        last_modified_millis: s3.now_millis(),
        checksum: checksum.clone(),
    };
    save_part(s3, i.bucket, i.key, i.upload_id, part).await?;
    let mut c = Checksum::default();
    set_checksum(&checksum, &mut c);
    Ok(S3Response::new(UploadPartOutput {
        e_tag: Some(quoted(&etag)),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_crc64nvme: c.checksum_crc64nvme,
        ..Default::default()
    }))
}

pub async fn upload_part_copy(
    s3: &S3,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let i = req.input;
    let number = part_number(i.part_number)?;
    let (b, k, u) = (i.bucket.clone(), i.key.clone(), i.upload_id.clone());
    let upload = s3.store().read(move |r| load_upload(r, &b, &k, &u)).await?;
    let (sb, sk, svid) = copy_source(&i.copy_source)?;
    let src = resolve_with_data(s3, &sb, &sk, svid.as_deref()).await?;
    check_conditions(
        &src,
        i.copy_source_if_match.as_ref(),
        i.copy_source_if_none_match.as_ref(),
        i.copy_source_if_modified_since.as_ref(),
        i.copy_source_if_unmodified_since.as_ref(),
        crate::errors::precondition_failed,
    )?;
    let (offset, len) = match i.copy_source_range.as_deref() {
        None => (0, src.size),
        Some(r) => {
            let bad = || {
                invalid_argument(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                )
            };
            let (a, z) = r.strip_prefix("bytes=").and_then(|s| s.split_once('-')).ok_or_else(bad)?;
            let (a, z): (u64, u64) = (a.parse().map_err(|_| bad())?, z.parse().map_err(|_| bad())?);
            if a > z || z >= src.size {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidRange,
                    "The requested range is not satisfiable".to_string(),
                ));
            }
            (a, z - a + 1)
        }
    };
    let algorithm = upload.checksum_algorithm.clone();
    let hasher = body::hasher_for(&algorithm.iter().map(String::as_str).collect::<Vec<_>>());
    let blob = keys::blob_name(s3.now_millis(), &s3.env().ids.uuid());
    let (blobs, segments) = (s3.store().blobs().clone(), src.segments.clone());
    let w = tokio::task::spawn_blocking(move || body::copy(&*blobs, &segments, offset, len, blob, hasher))
        .await
        .map_err(S3Error::internal_error)??;
    let checksum = algorithm.and_then(|a| body::checksum_value(&w.checksums, &a).map(|v| (a, v)));
    let etag = hex::encode(w.md5);
    let now = s3.now_millis();
    let part = Part {
        number,
        etag: etag.clone(),
        size: w.size,
        blob: w.blob,
        last_modified_millis: now,
        checksum: checksum.clone(),
    };
    save_part(s3, i.bucket, i.key, i.upload_id, part).await?;
    let mut result =
        CopyPartResult { e_tag: Some(quoted(&etag)), last_modified: Some(timestamp(now)), ..Default::default() };
    let mut c = Checksum::default();
    set_checksum(&checksum, &mut c);
    result.checksum_crc32 = c.checksum_crc32;
    result.checksum_crc32c = c.checksum_crc32c;
    result.checksum_sha1 = c.checksum_sha1;
    result.checksum_sha256 = c.checksum_sha256;
    result.checksum_crc64nvme = c.checksum_crc64nvme;
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(result),
        copy_source_version_id: (src.version_id != "null").then_some(src.version_id),
        ..Default::default()
    }))
}

fn strip_etag(e: &ETag) -> String {
    e.value().trim_matches('"').to_string()
}

pub async fn complete(
    s3: &S3,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let who = caller(&req);
    let i = req.input;
    let wanted: Vec<(i32, String)> = i
        .multipart_upload
        .as_ref()
        .and_then(|m| m.parts.as_ref())
        .map(|ps| {
            ps.iter()
                .map(|p| (p.part_number.unwrap_or(0), p.e_tag.as_ref().map(strip_etag).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    if wanted.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    if wanted.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(s3_error!(
            InvalidPartOrder,
            "The list of parts was not in ascending order. Parts must be ordered by part number."
        ));
    }
    let (b, k, u) = (i.bucket.clone(), i.key.clone(), i.upload_id.clone());
    let (upload, stored) = s3
        .store()
        .read(move |r| -> Res<(Upload, Vec<Part>)> {
            let up = load_upload(r, &b, &k, &u)?;
            let parts = scan_prefix(r, &keys::parts_prefix(&u), usize::MAX)?
                .iter()
                .map(|(_, v)| decode::<Part>(v))
                .collect::<Res<Vec<Part>>>()?;
            Ok((up, parts))
        })
        .await?;
    let invalid_part = || {
        s3_error!(
            InvalidPart,
            "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
        )
    };
    let mut chosen = Vec::new();
    for (idx, (n, etag)) in wanted.iter().enumerate() {
        let p = stored.iter().find(|p| p.number as i32 == *n && &p.etag == etag).ok_or_else(invalid_part)?;
        if idx + 1 < wanted.len() && p.size < MIN_PART {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size."
            ));
        }
        chosen.push(p.clone());
    }
    errors::check_write_conditions(i.if_match.as_ref(), i.if_none_match.as_ref())?;
    let etags: Vec<&str> = chosen.iter().map(|p| p.etag.as_str()).collect();
    let etag = body::multipart_etag(&etags);
    let (checksum, part_checksums) = composite_checksum(upload.checksum_algorithm.as_deref(), &chosen);
    let unused: Vec<String> =
        stored.iter().filter(|p| !chosen.iter().any(|c| c.number == p.number)).map(|p| p.blob.clone()).collect();
    let obj = NewObject {
        key: i.key.clone(),
        size: chosen.iter().map(|p| p.size).sum(),
        etag: etag.clone(),
        segments: chosen.iter().map(|p| Segment::file(p.blob.clone(), p.size)).collect(),
        headers: upload.headers.clone(),
        metadata: upload.metadata.clone(),
        tags: upload.tags.clone(),
        checksum: checksum.clone(),
        parts_count: Some(chosen.len() as u32),
        part_checksums,
        event_name: "ObjectCreated:CompleteMultipartUpload",
        if_match: i.if_match,
        if_none_match: i.if_none_match,
        // Consumed in the commit's transaction: completing twice cannot install the parts
        // twice, and an upload whose conditions fail stays.
        upload_id: Some(i.upload_id.clone()),
        storage_class: upload.storage_class.clone(),
        lock: upload.lock.clone(),
        encryption: upload.encryption.clone(),
        version_id: None,
        replica: false,
    };
    let v = objects::commit_object(s3, &i.bucket, &who, obj).await?;
    body::delete_later(s3.store().blobs().clone(), unused);
    let mut c = Checksum::default();
    objects::set_checksum(&checksum, &mut c);
    if let Some(acl) = &upload.acl {
        crate::configs::store_object_acl(s3, &i.bucket, &i.key, &v.version_id, acl.clone()).await?;
    }
    let enc = crate::encryption::answer(v.encryption.as_ref());
    Ok(S3Response::new(CompleteMultipartUploadOutput {
        bucket: Some(i.bucket.clone()),
        key: Some(i.key.clone()),
        e_tag: Some(quoted(&etag)),
        location: Some(format!("/{}/{}", i.bucket, i.key)),
        server_side_encryption: enc.sse,
        ssekms_key_id: enc.kms_key,
        bucket_key_enabled: enc.bucket_key,
        version_id: (v.version_id != "null").then_some(v.version_id),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_type: checksum.is_some().then(|| ChecksumType::from_static(ChecksumType::COMPOSITE)),
        ..Default::default()
    }))
}

pub async fn abort(
    s3: &S3,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let i = req.input;
    let released = s3
        .store()
        .write(move |t| -> Res<Vec<String>> {
            load_upload(t, &i.bucket, &i.key, &i.upload_id)?;
            t.delete(&keys::upload(&i.bucket, &i.key, &i.upload_id))?;
            let mut blobs = Vec::new();
            for (pk, pv) in scan_prefix(t, &keys::parts_prefix(&i.upload_id), usize::MAX)? {
                blobs.push(decode::<Part>(&pv)?.blob);
                t.delete(&pk)?;
            }
            Ok(blobs)
        })
        .await?;
    body::delete_later(s3.store().blobs().clone(), released);
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub async fn list_parts(s3: &S3, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
    let i = req.input;
    let max = i.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
    let marker = i.part_number_marker.unwrap_or(0).max(0) as u32;
    let (b, k, u) = (i.bucket.clone(), i.key.clone(), i.upload_id.clone());
    let (upload, parts) = s3
        .store()
        .read(move |r| -> Res<(Upload, Vec<Part>)> {
            let up = load_upload(r, &b, &k, &u)?;
            let parts = scan_prefix(r, &keys::parts_prefix(&u), usize::MAX)?
                .iter()
                .map(|(_, v)| decode::<Part>(v))
                .collect::<Res<Vec<Part>>>()?;
            Ok((up, parts))
        })
        .await?;
    let mut after: Vec<Part> = parts.into_iter().filter(|p| p.number > marker).collect();
    let truncated = after.len() > max;
    after.truncate(max);
    let next = after.last().map(|p| p.number as i32);
    let out_parts = after
        .iter()
        .map(|p| {
            let mut c = Checksum::default();
            set_checksum(&p.checksum, &mut c);
            s3s::dto::Part {
                e_tag: Some(quoted(&p.etag)),
                last_modified: Some(timestamp(p.last_modified_millis)),
                part_number: Some(p.number as i32),
                size: Some(p.size as i64),
                checksum_crc32: c.checksum_crc32,
                checksum_crc32c: c.checksum_crc32c,
                checksum_sha1: c.checksum_sha1,
                checksum_sha256: c.checksum_sha256,
                checksum_crc64nvme: c.checksum_crc64nvme,
            }
        })
        .collect();
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(i.bucket),
        key: Some(i.key),
        upload_id: Some(i.upload_id),
        part_number_marker: Some(marker as i32),
        next_part_number_marker: next,
        max_parts: Some(max as i32),
        is_truncated: Some(truncated),
        parts: Some(out_parts),
        initiator: Some(Initiator { id: Some(upload.owner.clone()), display_name: Some("stratus".into()) }),
        owner: Some(owner(&upload.owner)),
        storage_class: Some(StorageClass::from(upload.storage_class.clone().unwrap_or_else(|| "STANDARD".into()))),
        checksum_algorithm: upload.checksum_algorithm.map(ChecksumAlgorithm::from),
        ..Default::default()
    }))
}

pub async fn list_uploads(
    s3: &S3,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let i = req.input;
    let max = i.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
    let bucket = i.bucket.clone();
    let all = s3
        .store()
        .read(move |r| -> Res<Vec<Upload>> {
            load_bucket(r, &bucket)?;
            scan_prefix(r, &keys::uploads_prefix(&bucket), usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()
        })
        .await?;
    let prefix = i.prefix.clone().unwrap_or_default();
    let delimiter = i.delimiter.clone().filter(|d| !d.is_empty());
    let km = i.key_marker.clone().unwrap_or_default();
    let um = i.upload_id_marker.clone();
    let mut uploads = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last: Option<(String, Option<String>)> = None;
    for u in all.into_iter().filter(|u| u.key.starts_with(&prefix)) {
        let after_marker = if km.is_empty() {
            true
        } else {
            u.key > km || (u.key == km && um.as_ref().is_some_and(|m| u.upload_id.as_str() > m.as_str()))
        };
        if !after_marker {
            continue;
        }
        if let Some(d) = &delimiter
            && let Some(pos) = u.key[prefix.len()..].find(d.as_str())
        {
            let cp = u.key[..prefix.len() + pos + d.len()].to_string();
            if prefixes.last() == Some(&cp) {
                continue;
            }
            if uploads.len() + prefixes.len() >= max {
                truncated = true;
                break;
            }
            last = Some((cp.clone(), None));
            prefixes.push(cp);
            continue;
        }
        if uploads.len() + prefixes.len() >= max {
            truncated = true;
            break;
        }
        last = Some((u.key.clone(), Some(u.upload_id.clone())));
        uploads.push(MultipartUpload {
            key: Some(u.key.clone()),
            upload_id: Some(u.upload_id.clone()),
            initiated: Some(timestamp(u.initiated_millis)),
            initiator: Some(Initiator { id: Some(u.owner.clone()), display_name: Some("stratus".into()) }),
            owner: Some(owner(&u.owner)),
            storage_class: Some(StorageClass::from(u.storage_class.clone().unwrap_or_else(|| "STANDARD".into()))),
            checksum_algorithm: u.checksum_algorithm.clone().map(ChecksumAlgorithm::from),
            ..Default::default()
        });
    }
    let (next_key, next_upload) =
        if truncated { last.map(|(k, u)| (Some(k), u)).unwrap_or((None, None)) } else { (None, None) };
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(i.bucket),
        prefix: i.prefix,
        delimiter: i.delimiter,
        key_marker: i.key_marker,
        upload_id_marker: i.upload_id_marker,
        next_key_marker: next_key,
        next_upload_id_marker: next_upload,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        uploads: Some(uploads),
        common_prefixes: (!prefixes.is_empty())
            .then(|| prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(p) }).collect()),
        encoding_type: i.encoding_type,
        ..Default::default()
    }))
}

//! S3's errors by their code names, and the bridge from storage failures.

use s3s::{S3Error, S3ErrorCode, s3_error};
use stratus_storage::StoreError;

/// The error a storage transaction body returns: an S3 error, or a storage failure.
#[derive(Debug)]
pub struct Fail(pub S3Error);

pub type Res<T> = Result<T, Fail>;

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail(storage(e))
    }
}

impl From<S3Error> for Fail {
    fn from(e: S3Error) -> Self {
        Fail(e)
    }
}

impl From<Fail> for S3Error {
    fn from(f: Fail) -> Self {
        f.0
    }
}

pub fn storage(e: StoreError) -> S3Error {
    match e {
        StoreError::Closed => s3_error!(ServiceUnavailable, "The service is shutting down."),
        other => S3Error::with_message(S3ErrorCode::InternalError, format!("Internal storage error: {other}")),
    }
}

pub fn corrupt() -> S3Error {
    s3_error!(InternalError, "A stored record could not be read.")
}

pub fn no_such_bucket(bucket: &str) -> S3Error {
    let _ = bucket;
    s3_error!(NoSuchBucket, "The specified bucket does not exist")
}

pub fn no_such_key() -> S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

pub fn no_such_version() -> S3Error {
    s3_error!(NoSuchVersion, "The specified version does not exist.")
}

pub fn no_such_upload() -> S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

pub fn invalid_argument(message: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message.to_string())
}

/// Adds detail elements to an error's XML body (`ArgumentName`, `StorageClass`, …): carried to
/// the gateway in the internal [`ERROR_ELEMENTS`] header (form-encoded pairs), which writes
/// them into the body and removes the header.
pub fn with_elements(mut e: S3Error, elements: &[(&str, &str)]) -> S3Error {
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(elements).finish();
    let mut h = e.headers().cloned().unwrap_or_default();
    if let Ok(v) = http::HeaderValue::from_str(&encoded) {
        h.insert(ERROR_ELEMENTS, v);
    }
    e.set_headers(h);
    e
}

/// InvalidArgument naming the argument (`ArgumentName`, `ArgumentValue`).
pub fn invalid_argument_named(message: &str, name: &str, value: &str) -> S3Error {
    with_elements(invalid_argument(message), &[("ArgumentName", name), ("ArgumentValue", value)])
}

/// The internal header that carries an error's detail elements to the gateway.
pub const ERROR_ELEMENTS: &str = "x-stratus-error-elements";

pub fn precondition_failed() -> S3Error {
    s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold")
}

/// A conditional write whose key was written or deleted while it was in flight.
pub fn conditional_conflict() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("ConditionalRequestConflict".into()),
        "The conditional request cannot succeed due to a conflicting operation against this resource.",
    );
    e.set_status_code(http::StatusCode::CONFLICT);
    e
}

/// A write condition S3 does not offer (an If-None-Match other than `*`, If-Match `*`, or
/// both headers at once).
pub fn condition_not_implemented() -> S3Error {
    s3_error!(NotImplemented, "A header you provided implies functionality that is not implemented")
}

/// Checks the conditions of a write (PutObject, CompleteMultipartUpload, CopyObject):
/// `If-None-Match: *` or `If-Match: {etag}`, one at a time.
pub fn check_write_conditions(
    if_match: Option<&s3s::dto::ETagCondition>,
    if_none_match: Option<&s3s::dto::ETagCondition>,
) -> Result<(), S3Error> {
    match (if_match, if_none_match) {
        (Some(_), Some(_)) => Err(condition_not_implemented()),
        (None, Some(c)) if !c.is_any() => Err(condition_not_implemented()),
        (Some(c), None) if c.is_any() => Err(condition_not_implemented()),
        _ => Ok(()),
    }
}

/// A storage class named on a write, checked: None for STANDARD.
pub fn storage_class(c: Option<&s3s::dto::StorageClass>) -> Result<Option<String>, S3Error> {
    match c.map(|c| c.as_str()) {
        None | Some("STANDARD") => Ok(None),
        Some(c) if crate::types::STORAGE_CLASSES.contains(&c) => Ok(Some(c.to_string())),
        Some(_) => Err(s3_error!(InvalidStorageClass, "The storage class you specified is not valid")),
    }
}

/// A read of an archived object that is not restored; the body names its class.
pub fn invalid_object_state(class: &str) -> S3Error {
    with_elements(
        s3_error!(InvalidObjectState, "The operation is not valid for the object's storage class"),
        &[("StorageClass", class)],
    )
}

pub fn not_modified() -> S3Error {
    let mut e = S3Error::new(S3ErrorCode::NotModified);
    e.set_status_code(http::StatusCode::NOT_MODIFIED);
    e
}

/// An error that carries the delete-marker headers AWS sends with it.
pub fn with_delete_marker(mut e: S3Error, version_id: &str) -> S3Error {
    let mut h = http::HeaderMap::new();
    h.insert("x-amz-delete-marker", http::HeaderValue::from_static("true"));
    if *e.code() == S3ErrorCode::MethodNotAllowed {
        // A delete marker can only be deleted.
        h.insert("allow", http::HeaderValue::from_static("DELETE"));
    }
    if let Ok(v) = http::HeaderValue::from_str(version_id) {
        h.insert("x-amz-version-id", v);
    }
    e.set_headers(h);
    e
}

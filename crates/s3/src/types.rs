//! The stored records of buckets, object versions and multipart uploads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::notifications::NotificationRule;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum Versioning {
    /// Never enabled: every object has exactly one version, `null`.
    #[default]
    Unversioned,
    Enabled,
    Suspended,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub account: String,
    pub region: String,
    pub created_millis: u64,
    #[serde(default)]
    pub versioning: Versioning,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub cors: Option<Vec<CorsRule>>,
    #[serde(default)]
    pub tags: Option<Vec<(String, String)>>,
    #[serde(default)]
    pub notifications: Vec<NotificationRule>,
    /// Block Public Access (none for buckets made before Stratus kept it).
    #[serde(default)]
    pub public_access_block: Option<crate::public::PublicAccessBlock>,
    /// Configurations kept as they were put, by name (`configs.rs`), as XML.
    #[serde(default)]
    pub configs: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CorsRule {
    pub id: Option<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

/// One piece of an object's bytes: a blob (a whole single upload, or one multipart part).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Segment {
    pub blob: String,
    pub size: u64,
    /// Small uploads keep their bytes in the metadata store (`keys::inline_data`), written in
    /// the transaction that commits the version: one group-committed write instead of a file
    /// create, fsync, rename and directory fsync per object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
    /// An inline segment's bytes while they are being written or read (never in the record).
    #[serde(skip)]
    pub data: Option<bytes::Bytes>,
}

impl Segment {
    /// A segment whose bytes are in the blob store.
    pub fn file(blob: String, size: u64) -> Self {
        Self { blob, size, inline: false, data: None }
    }
}

/// The standard headers stored with an object and returned by GET/HEAD.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct ContentHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    /// As received (an HTTP date), so that it goes back unchanged.
    pub expires: Option<String>,
    /// `x-amz-website-redirect-location`: where the website endpoint redirects this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect: Option<String>,
}

/// One version of an object, or a delete marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    pub key: String,
    /// `null` for versions written while versioning was never enabled or suspended.
    pub version_id: String,
    /// Position in [`crate::keys::ORDER_SEQUENCE`]; newer writes have larger numbers.
    pub order: u64,
    pub delete_marker: bool,
    pub last_modified_millis: u64,
    #[serde(default)]
    pub size: u64,
    /// Hex MD5 (or MD5-of-MD5s with `-N`), without quotes.
    #[serde(default)]
    pub etag: String,
    #[serde(default)]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub headers: ContentHeaders,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The checksum the object was uploaded with: (algorithm, base64 value).
    #[serde(default)]
    pub checksum: Option<(String, String)>,
    /// Number of parts when written by a multipart upload.
    #[serde(default)]
    pub parts_count: Option<u32>,
    /// The parts' checksums (base64, of [`Version::checksum`]'s algorithm) when the upload had
    /// one: the object's checksum is then their composite, `{base64}-{parts}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_checksums: Vec<String>,
    #[serde(default)]
    pub owner: String,
    /// The storage class, None for STANDARD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// A restore of an archived object (RestoreObject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<Restore>,
    /// Object Lock: retention and legal hold of this version.
    #[serde(default, skip_serializing_if = "Lock::is_empty")]
    pub lock: Lock,
    /// How it was encrypted (None: SSE-S3, as versions written before this was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<crate::encryption::Encryption>,
    /// `PENDING`, `COMPLETED`, `FAILED` (a replicated source) or `REPLICA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<String>,
}

/// A version's Object Lock state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lock {
    /// `GOVERNANCE` or `COMPLIANCE`, with the time it holds until.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<(String, u64)>,
    /// Some(true) for ON, Some(false) once set OFF (S3 keeps answering OFF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_hold: Option<bool>,
}

impl Lock {
    pub fn is_empty(&self) -> bool {
        self.retention.is_none() && self.legal_hold.is_none()
    }
}

/// A restored copy of an archived object: readable from `ready_millis` until `expiry_millis`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Restore {
    pub ready_millis: u64,
    pub expiry_millis: u64,
}

/// The storage classes S3 accepts on writes to a general purpose bucket (OUTPOSTS, SNOW and
/// EXPRESS_ONEZONE belong to other kinds of buckets).
pub const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
];

/// Classes whose objects must be restored before they are read.
pub fn archived(class: Option<&str>) -> bool {
    matches!(class, Some("GLACIER" | "DEEP_ARCHIVE"))
}

impl Version {
    /// A delete marker for `key`, written at `now_millis` by `owner`.
    pub fn delete_marker(key: &str, version_id: String, order: u64, now_millis: u64, owner: String) -> Version {
        Version {
            key: key.to_string(),
            version_id,
            order,
            delete_marker: true,
            last_modified_millis: now_millis,
            size: 0,
            etag: String::new(),
            segments: Vec::new(),
            headers: ContentHeaders::default(),
            metadata: BTreeMap::new(),
            tags: Vec::new(),
            checksum: None,
            parts_count: None,
            part_checksums: Vec::new(),
            owner,
            storage_class: None,
            restore: None,
            lock: Lock::default(),
            encryption: None,
            replication_status: None,
        }
    }

    /// The storage class as listings name it.
    pub fn class(&self) -> &str {
        self.storage_class.as_deref().unwrap_or("STANDARD")
    }

    /// Whether its bytes can be read now (not archived, or restored and not expired).
    pub fn readable(&self, now_millis: u64) -> bool {
        !archived(self.storage_class.as_deref())
            || self.restore.is_some_and(|r| r.ready_millis <= now_millis && now_millis < r.expiry_millis)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    pub key: String,
    pub upload_id: String,
    pub initiated_millis: u64,
    pub owner: String,
    pub headers: ContentHeaders,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub checksum_algorithm: Option<String>,
    #[serde(default)]
    pub storage_class: Option<String>,
    /// Object Lock settings the completed object takes.
    #[serde(default)]
    pub lock: Lock,
    /// The encryption asked for at initiation (SSE-C: every part must give the same key).
    #[serde(default)]
    pub encryption: Option<crate::encryption::Encryption>,
    /// The ACL grants asked for at initiation, set on the completed object.
    #[serde(default)]
    pub acl: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub number: u32,
    pub etag: String,
    pub size: u64,
    pub blob: String,
    pub last_modified_millis: u64,
    pub checksum: Option<(String, String)>,
}

//! The storage key layout of S3. Every key starts with `s3/`; bucket names contain no `/`, so
//! `{bucket}/` always ends a bucket's part of a key.
//!
//! | key | value |
//! | --- | --- |
//! | `s3/b/{bucket}` | [`Bucket`](crate::types::Bucket) (JSON): owner, region, versioning, configurations |
//! | `s3/c/{bucket}/{key}` | the current version of an object ([`Version`](crate::types::Version)); absent when the newest version is a delete marker |
//! | `s3/v/{bucket}/{key}\0{!order}` | every version, delete markers included; `!order` (8 bytes, big-endian, inverted) sorts a key's versions newest first |
//! | `s3/u/{bucket}/{key}\0{upload id}` | a multipart upload in progress ([`Upload`](crate::types::Upload)) |
//! | `s3/p/{upload id}/{part number, 4 bytes}` | an uploaded part ([`Part`](crate::types::Part)) |
//! | `s3/w/{bucket}/{key}` | when an unversioned object was deleted while uploads of its key were in progress |
//! | `s3/i/{blob name}` | the bytes of a small object kept inline (see [`Segment::inline`](crate::types::Segment)) |
//!
//! The `\0` after an object key keeps all entries of one key together and before those of any
//! longer key (`a\0…` < `a/…`); keys containing `\0` are rejected. Object bytes live in the blob
//! store under a name unique to each write (`s3/{time}-{uuid}`), so metadata never points at a blob
//! that a later or crashed write is still producing. Sequence [`ORDER_SEQUENCE`] orders versions
//! and gives events their `sequencer`.

pub const ORDER_SEQUENCE: &str = "s3/order";

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

pub fn bucket(name: &str) -> Vec<u8> {
    join(&[b"s3/b/", name.as_bytes()])
}

pub const BUCKETS: &[u8] = b"s3/b/";

/// Prefix of the current versions of a bucket's objects.
pub fn current_prefix(bucket: &str) -> Vec<u8> {
    join(&[b"s3/c/", bucket.as_bytes(), b"/"])
}

pub fn current(bucket: &str, key: &str) -> Vec<u8> {
    join(&[&current_prefix(bucket), key.as_bytes()])
}

pub fn versions_prefix(bucket: &str) -> Vec<u8> {
    join(&[b"s3/v/", bucket.as_bytes(), b"/"])
}

/// Prefix of all versions of one object.
pub fn versions_of(bucket: &str, key: &str) -> Vec<u8> {
    join(&[&versions_prefix(bucket), key.as_bytes(), b"\0"])
}

pub fn version(bucket: &str, key: &str, order: u64) -> Vec<u8> {
    join(&[&versions_of(bucket, key), &(!order).to_be_bytes()])
}

/// The object key of a `s3/v/` or `s3/u/` entry (between the bucket prefix and the `\0`).
pub fn object_key_of(prefix_len: usize, k: &[u8]) -> Option<String> {
    let rest = k.get(prefix_len..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    String::from_utf8(rest[..end].to_vec()).ok()
}

pub fn uploads_prefix(bucket: &str) -> Vec<u8> {
    join(&[b"s3/u/", bucket.as_bytes(), b"/"])
}

pub fn upload(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    join(&[&uploads_prefix(bucket), key.as_bytes(), b"\0", upload_id.as_bytes()])
}

/// When an unversioned object with multipart uploads in progress was deleted (big-endian
/// milliseconds): a conditional CompleteMultipartUpload started before it conflicts.
pub fn deleted_during_upload(bucket: &str, key: &str) -> Vec<u8> {
    join(&[b"s3/w/", bucket.as_bytes(), b"/", key.as_bytes()])
}

pub fn parts_prefix(upload_id: &str) -> Vec<u8> {
    join(&[b"s3/p/", upload_id.as_bytes(), b"/"])
}

pub fn part(upload_id: &str, number: u32) -> Vec<u8> {
    join(&[&parts_prefix(upload_id), &number.to_be_bytes()])
}

/// A fresh blob name for one write.
/// Where an inline segment's bytes are kept.
pub fn inline_data(blob: &str) -> Vec<u8> {
    join(&[b"s3/i/", blob.as_bytes()])
}

/// A name no other write uses. It starts with the time so that names (and the keys of inline
/// data) of consecutive writes sort together: a commit group then touches a few adjacent
/// b-tree pages rather than one random page per object.
pub fn blob_name(now_millis: u64, uuid: &str) -> String {
    format!("s3/{now_millis:012x}-{uuid}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_by_key_then_newest_first() {
        let mut ks = [version("b", "a/x", 5), version("b", "a", 3), version("b", "a", 7), version("b", "a0", 1)];
        ks.sort();
        assert_eq!(ks[0], version("b", "a", 7));
        assert_eq!(ks[1], version("b", "a", 3));
        assert_eq!(ks[2], version("b", "a/x", 5));
        assert_eq!(ks[3], version("b", "a0", 1));
        let p = versions_prefix("b").len();
        assert_eq!(object_key_of(p, &ks[2]).unwrap(), "a/x");
    }

    #[test]
    fn parts_sort_numerically() {
        assert!(part("u", 2) < part("u", 10));
        assert!(part("u", 255) < part("u", 256));
    }
}

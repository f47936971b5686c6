//! Object bytes in and out: uploads stream chunk by chunk into a blob writer on a blocking
//! thread (MD5 and the requested checksums computed on the way), downloads stream a byte range
//! of an object's segments out of the blob store. Neither ever holds a whole object in memory.

use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, StreamingBlob};
use s3s::{S3Error, S3ErrorCode, s3_error};
use stratus_storage::BlobStore;
use tokio::sync::mpsc;

use crate::types::Segment;

const CHUNK: usize = 256 << 10;

/// A blob that was written and made durable.
pub struct Written {
    pub blob: String,
    pub size: u64,
    pub md5: [u8; 16],
    pub checksums: Checksum,
    /// The bytes of a body small enough to be kept inline (nothing was written to `blob`).
    pub inline: Option<Bytes>,
}

impl Written {
    /// The segment that holds what was written.
    pub fn segment(&self) -> Segment {
        Segment { blob: self.blob.clone(), size: self.size, inline: self.inline.is_some(), data: self.inline.clone() }
    }
}

/// Which checksums an upload computes: those the client sent (to verify) and the algorithm it
/// asked to be stored.
pub fn hasher_for(algorithms: &[&str]) -> ChecksumHasher {
    let mut h = ChecksumHasher::default();
    for a in algorithms {
        match a.to_ascii_uppercase().as_str() {
            "CRC32" => h.crc32 = Some(Default::default()),
            "CRC32C" => h.crc32c = Some(Default::default()),
            "SHA1" => h.sha1 = Some(Default::default()),
            "SHA256" => h.sha256 = Some(Default::default()),
            "CRC64NVME" => h.crc64nvme = Some(Default::default()),
            _ => {}
        }
    }
    h
}

pub fn checksum_value(c: &Checksum, algorithm: &str) -> Option<String> {
    match algorithm.to_ascii_uppercase().as_str() {
        "CRC32" => c.checksum_crc32.clone(),
        "CRC32C" => c.checksum_crc32c.clone(),
        "SHA1" => c.checksum_sha1.clone(),
        "SHA256" => c.checksum_sha256.clone(),
        "CRC64NVME" => c.checksum_crc64nvme.clone(),
        _ => None,
    }
}

fn io_error(e: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(S3ErrorCode::InternalError, format!("Object data could not be stored: {e}"))
}

/// Streams `body` into a new blob named `blob`, durable when this returns `Ok`. A body of at
/// most `inline_max` bytes is not written anywhere: it comes back in `Written::inline` for the
/// caller to store in its metadata transaction.
pub async fn write(
    blobs: Arc<dyn BlobStore>,
    blob: String,
    body: Option<StreamingBlob>,
    mut hasher: ChecksumHasher,
    inline_max: usize,
) -> Result<Written, S3Error> {
    let mut md5 = Md5::new();
    let mut size = 0u64;
    let mut failed = None;
    // The first bytes, held until they outgrow `inline_max`.
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_len = 0usize;
    let mut file: Option<BlobWriterTask> = None;
    if let Some(mut body) = body {
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    failed = Some(body_error(&*e));
                    break;
                }
            };
            md5.update(&chunk);
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if file.is_none() {
                if head_len + chunk.len() <= inline_max {
                    head_len += chunk.len();
                    head.push(chunk);
                    continue;
                }
                let (tx, handle) = spawn_writer(blobs.clone(), blob.clone());
                let mut sent = true;
                for piece in head.drain(..) {
                    sent = sent && tx.send(piece).await.is_ok();
                }
                file = Some((tx, handle));
                if !sent {
                    break;
                }
            }
            if let Some((tx, _)) = &file
                && tx.send(chunk).await.is_err()
            {
                // The writer failed; its error is reported below.
                break;
            }
        }
    }
    let Some((tx, handle)) = file else {
        if let Some(e) = failed {
            return Err(e);
        }
        let mut data = bytes::BytesMut::with_capacity(head_len);
        for piece in head {
            data.extend_from_slice(&piece);
        }
        let (md5, checksums) = (md5.finalize().into(), hasher.finalize());
        return Ok(Written { blob, size, md5, checksums, inline: Some(data.freeze()) });
    };
    drop(tx);
    let written = handle.await.map_err(io_error).and_then(|r| r);
    if let Some(e) = failed.or(written.err()) {
        delete_later(blobs, vec![blob]);
        return Err(e);
    }
    Ok(Written { blob, size, md5: md5.finalize().into(), checksums: hasher.finalize(), inline: None })
}

/// Where a blob writer is fed, and the task that writes (durable when it returns `Ok`).
type BlobWriterTask = (mpsc::Sender<Bytes>, tokio::task::JoinHandle<Result<(), S3Error>>);

/// A blocking task writing the chunks it is sent into a new blob, durable when it returns.
fn spawn_writer(blobs: Arc<dyn BlobStore>, name: String) -> BlobWriterTask {
    let (tx, mut rx) = mpsc::channel::<Bytes>(4);
    let handle = tokio::task::spawn_blocking(move || -> Result<(), S3Error> {
        let mut w = blobs.writer(&name).map_err(io_error)?;
        while let Some(chunk) = rx.blocking_recv() {
            w.write(&chunk).map_err(io_error)?;
        }
        w.finish().map_err(io_error)
    });
    (tx, handle)
}

/// What a client's broken body means to S3: a signature/length problem stays that error.
fn body_error(e: &(dyn std::error::Error + Send + Sync + 'static)) -> S3Error {
    if let Some(s3) = e.downcast_ref::<S3Error>() {
        return S3Error::with_message(s3.code().clone(), s3.message().unwrap_or("").to_string());
    }
    s3_error!(IncompleteBody, "The request body terminated unexpectedly")
}

/// Streams `len` bytes from `offset` of the concatenation of `segments`.
pub fn read(blobs: Arc<dyn BlobStore>, segments: Vec<Segment>, offset: u64, len: u64) -> StreamingBlob {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = pump(&*blobs, &segments, offset, len, &mut |b| tx.blocking_send(Ok(b)).is_ok()) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    StreamingBlob::wrap(ChannelStream { rx })
}

/// Reads the range and hands it on in chunks; stops early when `sink` says the reader is gone.
pub fn pump(
    blobs: &dyn BlobStore,
    segments: &[Segment],
    offset: u64,
    len: u64,
    sink: &mut dyn FnMut(Bytes) -> bool,
) -> std::io::Result<()> {
    let mut skip = offset;
    let mut left = len;
    for seg in segments {
        if left == 0 {
            break;
        }
        if skip >= seg.size {
            skip -= seg.size;
            continue;
        }
        let take = (seg.size - skip).min(left);
        if seg.inline {
            let data = seg
                .data
                .as_ref()
                .ok_or_else(|| std::io::Error::other(format!("object data {} was not loaded", seg.blob)))?;
            let (from, to) = (skip as usize, (skip + take) as usize);
            let piece = data
                .get(from..to)
                .ok_or_else(|| std::io::Error::other(format!("object data {} is shorter than recorded", seg.blob)))?;
            if !sink(data.slice_ref(piece)) {
                return Ok(());
            }
            left -= take;
            skip = 0;
            continue;
        }
        let mut r = blobs
            .open_range(&seg.blob, skip, take)
            .map_err(std::io::Error::other)?
            .ok_or_else(|| std::io::Error::other(format!("object data {} is missing", seg.blob)))?;
        let mut got = 0u64;
        loop {
            let mut buf = vec![0u8; CHUNK];
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            buf.truncate(n);
            got += n as u64;
            if !sink(Bytes::from(buf)) {
                return Ok(());
            }
        }
        if got != take {
            return Err(std::io::Error::other(format!("object data {} is shorter than recorded", seg.blob)));
        }
        left -= take;
        skip = 0;
    }
    Ok(())
}

/// Copies a byte range of `segments` into a new blob (CopyObject, UploadPartCopy), on the
/// calling (blocking) thread.
pub fn copy(
    blobs: &dyn BlobStore,
    segments: &[Segment],
    offset: u64,
    len: u64,
    blob: String,
    mut hasher: ChecksumHasher,
) -> Result<Written, S3Error> {
    let mut w = blobs.writer(&blob).map_err(io_error)?;
    let mut md5 = Md5::new();
    let mut failed = None;
    pump(blobs, segments, offset, len, &mut |b| {
        md5.update(&b);
        hasher.update(&b);
        match w.write(&b) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(io_error(e));
                false
            }
        }
    })
    .map_err(io_error)?;
    if let Some(e) = failed {
        return Err(e);
    }
    w.finish().map_err(io_error)?;
    Ok(Written { blob, size: len, md5: md5.finalize().into(), checksums: hasher.finalize(), inline: None })
}

/// Deletes blobs no version refers to any more (after the commit that released them).
pub fn delete_later(blobs: Arc<dyn BlobStore>, names: Vec<String>) {
    if names.is_empty() {
        return;
    }
    tokio::task::spawn_blocking(move || {
        for n in names {
            if let Err(e) = blobs.delete(&n) {
                tracing::warn!(blob = %n, "could not delete object data: {e}");
            }
        }
    });
}

struct ChannelStream {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl Stream for ChannelStream {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Checks Content-MD5 against the received bytes (`InvalidDigest` when it is no MD5 at all).
pub fn check_content_md5(header: Option<&str>, md5: &[u8; 16]) -> Result<(), S3Error> {
    let Some(h) = header else { return Ok(()) };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(h.trim())
        .map_err(|_| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
    if decoded.len() != 16 {
        return Err(s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."));
    }
    if decoded != md5 {
        return Err(s3_error!(BadDigest, "The Content-MD5 you specified did not match what we received."));
    }
    Ok(())
}

/// The ETag of a multipart object: MD5 of the parts' binary MD5s, `-` and the part count.
pub fn multipart_etag(part_etags: &[&str]) -> String {
    let mut h = Md5::new();
    for e in part_etags {
        if let Ok(b) = hex::decode(e) {
            h.update(&b);
        }
    }
    format!("{}-{}", hex::encode(h.finalize()), part_etags.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etag_is_md5_of_md5s() {
        let a = hex::encode(Md5::digest(b"a"));
        let b = hex::encode(Md5::digest(b"b"));
        let mut cat = Md5::digest(b"a").to_vec();
        cat.extend_from_slice(&Md5::digest(b"b"));
        assert_eq!(multipart_etag(&[&a, &b]), format!("{}-2", hex::encode(Md5::digest(&cat))));
    }

    #[test]
    fn content_md5_errors() {
        let md5: [u8; 16] = Md5::digest(b"hello").into();
        assert!(check_content_md5(Some(&b64(&md5)), &md5).is_ok());
        assert_eq!(check_content_md5(Some("bm9wZQ=="), &md5).unwrap_err().code(), &S3ErrorCode::InvalidDigest);
        let other: [u8; 16] = Md5::digest(b"other").into();
        assert_eq!(check_content_md5(Some(&b64(&other)), &md5).unwrap_err().code(), &S3ErrorCode::BadDigest);
    }

    #[test]
    fn pump_reads_ranges_across_segments() {
        let blobs = stratus_storage::MemBlobs::default();
        blobs.put("a", b"hello ").unwrap();
        blobs.put("b", b"world").unwrap();
        let segs = vec![Segment::file("a".into(), 6), Segment::file("b".into(), 5)];
        let mut out = Vec::new();
        pump(&blobs, &segs, 4, 4, &mut |b| {
            out.extend_from_slice(&b);
            true
        })
        .unwrap();
        assert_eq!(out, b"o wo");
    }
}

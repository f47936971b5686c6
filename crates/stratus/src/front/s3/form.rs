//! PostObject (HTML form uploads): the form's fields come before the `file` part (S3 requires
//! it last), so only that small head is read and rewritten; the file streams on untouched.
//!
//! - `${filename}` in the `key` field becomes the uploaded file's name, as S3 does.
//! - In open mode the signature fields are taken out: a form built with
//!   `generate_presigned_post` carries a policy signed with the client's secret, which open mode
//!   does not know, and `s3s` checks any signature field it finds. The policy's conditions are
//!   still checked.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::HeaderValue;
use http::request::Parts;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use crate::gateway::BoxError;

/// The most form bytes read before the `file` part (S3 allows 20 KB of fields).
const MAX_HEAD: usize = 1 << 20;

/// Fields that carry a signature.
const SIGNATURE_FIELDS: &[&str] = &["x-amz-signature", "signature"];

/// The `boundary` of a `multipart/form-data` POST.
pub fn boundary(parts: &Parts) -> Option<String> {
    if parts.method != http::Method::POST {
        return None;
    }
    let ct = parts.headers.get("content-type")?.to_str().ok()?;
    let (mime, params) = ct.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary").then(|| v.trim_matches('"').to_string())
    })
}

/// The rewritten form, and the access key it named.
pub struct Unsigned {
    pub body: FormBody,
    pub access_key: Option<String>,
}

/// Reads the form up to its `file` part, rewrites its fields (dropping the signature ones when
/// `strip_signature`) and fixes the length.
pub async fn rewrite(
    parts: &mut Parts,
    mut body: Incoming,
    boundary: &str,
    strip_signature: bool,
) -> Result<Unsigned, BoxError> {
    let delimiter = format!("--{boundary}");
    let mut buf = BytesMut::new();
    let head_end = loop {
        if let Some(end) = file_part_start(&buf, delimiter.as_bytes()) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err("the form's fields are too large".into());
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => return Err(e.into()),
            // No file part: let S3 say what is wrong with the form.
            None => break buf.len(),
        }
    };
    let rest = buf.split_off(head_end);
    let filename = file_name(&rest, delimiter.as_bytes());
    let (head, access_key) = rewrite_fields(&buf, delimiter.as_bytes(), strip_signature, filename.as_deref());
    if let Some(len) = parts.headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<usize>().ok()) {
        let len = (len + head.len()).saturating_sub(buf.len());
        parts.headers.insert("content-length", HeaderValue::from(len));
    }
    let mut first = BytesMut::from(&head[..]);
    first.extend_from_slice(&rest);
    Ok(Unsigned { body: FormBody { head: Some(first.freeze()), inner: body }, access_key })
}

/// Where the part named `file` begins (its delimiter line), once its headers are buffered.
fn file_part_start(buf: &[u8], delimiter: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(p) = find(&buf[at..], delimiter).map(|p| p + at) {
        let headers_from = p + delimiter.len();
        let headers_end = find(&buf[headers_from..], b"\r\n\r\n")? + headers_from;
        if field_name(&buf[headers_from..headers_end]).is_some_and(|n| n.eq_ignore_ascii_case("file")) {
            return Some(p);
        }
        at = headers_end;
    }
    None
}

/// The `filename` of the file part that `rest` starts with.
fn file_name(rest: &[u8], delimiter: &[u8]) -> Option<String> {
    let from = delimiter.len();
    let end = find(rest.get(from..)?, b"\r\n\r\n")? + from;
    let text = std::str::from_utf8(&rest[from..end]).ok()?;
    let disposition = text.split("\r\n").find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    disposition.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == "filename").then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The head rewritten: signature fields dropped (if asked), `${filename}` in the key replaced;
/// and the access key the form named.
fn rewrite_fields(
    head: &[u8],
    delimiter: &[u8],
    strip_signature: bool,
    filename: Option<&str>,
) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::with_capacity(head.len());
    let mut access_key = None;
    let mut at = 0;
    let starts: Vec<usize> = {
        let mut v = Vec::new();
        let mut i = 0;
        while let Some(p) = find(&head[i..], delimiter).map(|p| p + i) {
            v.push(p);
            i = p + delimiter.len();
        }
        v
    };
    for (n, &start) in starts.iter().enumerate() {
        out.extend_from_slice(&head[at..start]);
        let end = starts.get(n + 1).copied().unwrap_or(head.len());
        let part = &head[start..end];
        let headers_from = delimiter.len();
        let (name, value) = match find(&part[headers_from..], b"\r\n\r\n") {
            Some(h) => {
                let name = field_name(&part[headers_from..headers_from + h]);
                let value = &part[headers_from + h + 4..];
                (name, value.strip_suffix(b"\r\n").unwrap_or(value))
            }
            None => (None, &b""[..]),
        };
        let lower = name.map(|n| n.to_ascii_lowercase());
        match lower.as_deref() {
            Some(n) if strip_signature && SIGNATURE_FIELDS.contains(&n) => {}
            Some("key") if filename.is_some() && find(value, b"${filename}").is_some() => {
                let key = String::from_utf8_lossy(value).replace("${filename}", filename.unwrap_or_default());
                let value_at = part.len() - value.len() - if part.ends_with(b"\r\n") { 2 } else { 0 };
                out.extend_from_slice(&part[..value_at]);
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(&part[value_at + value.len()..]);
            }
            Some("x-amz-credential") => {
                access_key = String::from_utf8_lossy(value).split('/').next().map(str::to_string);
                out.extend_from_slice(part);
            }
            Some("awsaccesskeyid") => {
                access_key = Some(String::from_utf8_lossy(value).trim().to_string());
                out.extend_from_slice(part);
            }
            _ => out.extend_from_slice(part),
        }
        at = end;
    }
    out.extend_from_slice(&head[at..]);
    (out, access_key)
}

/// The `name` of a part, from its `Content-Disposition` header.
fn field_name(headers: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(headers).ok()?;
    let disposition = text.split("\r\n").find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    disposition.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The rewritten head, then the rest of the request body as it arrives.
pub struct FormBody {
    head: Option<Bytes>,
    inner: Incoming,
}

impl Body for FormBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        Pin::new(&mut self.inner).poll_frame(cx).map_err(Into::into)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)], file: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for (k, val) in fields {
            v.extend_from_slice(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{val}\r\n").as_bytes(),
            );
        }
        v.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n");
        v.extend_from_slice(file);
        v.extend_from_slice(b"\r\n--XyZ--\r\n");
        v
    }

    #[test]
    fn drops_signature_fields_and_keeps_the_rest() {
        let wire = form(
            &[
                ("key", "a.txt"),
                ("x-amz-credential", "AKID/20260101/us-east-1/s3/aws4_request"),
                ("policy", "cG9s"),
                ("x-amz-signature", "abc"),
            ],
            b"file bytes",
        );
        let start = file_part_start(&wire, b"--XyZ").unwrap();
        let (head, key) = rewrite_fields(&wire[..start], b"--XyZ", true, None);
        assert_eq!(key.as_deref(), Some("AKID"));
        let text = String::from_utf8(head.clone()).unwrap();
        assert!(!text.contains("x-amz-signature") && text.contains("name=\"policy\"") && text.contains("name=\"key\""));
        let (kept, _) = rewrite_fields(&wire[..start], b"--XyZ", false, None);
        assert_eq!(kept, &wire[..start], "nothing changes without a reason");
        let legacy = form(&[("key", "k"), ("AWSAccessKeyId", "OLDKEY"), ("signature", "s")], b"x");
        let start = file_part_start(&legacy, b"--XyZ").unwrap();
        let (head, key) = rewrite_fields(&legacy[..start], b"--XyZ", true, None);
        assert_eq!(key.as_deref(), Some("OLDKEY"));
        assert!(!String::from_utf8(head).unwrap().contains("name=\"signature\""));
    }

    #[test]
    fn the_key_takes_the_file_name() {
        let wire = form(&[("key", "uploads/${filename}"), ("acl", "private")], b"x");
        let start = file_part_start(&wire, b"--XyZ").unwrap();
        assert_eq!(file_name(&wire[start..], b"--XyZ").as_deref(), Some("a.txt"));
        let (head, _) = rewrite_fields(&wire[..start], b"--XyZ", false, Some("a.txt"));
        let text = String::from_utf8(head).unwrap();
        assert!(text.contains("name=\"key\"\r\n\r\nuploads/a.txt\r\n--XyZ"), "{text}");
        assert!(text.contains("name=\"acl\"\r\n\r\nprivate\r\n"));
    }

    #[test]
    fn finds_the_file_part_only_once_its_headers_arrived() {
        let wire = form(&[("key", "k")], b"data");
        let start = file_part_start(&wire, b"--XyZ").unwrap();
        assert!(wire[start..].starts_with(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\""));
        assert_eq!(file_part_start(&wire[..start + 20], b"--XyZ"), None);
    }
}

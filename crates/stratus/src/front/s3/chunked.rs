//! The `aws-chunked` content encoding, decoded without checking chunk signatures (open mode).
//!
//! SDKs that stream uploads (the JavaScript, Java, Go and Rust SDKs, and every SDK that sends a
//! trailing checksum) frame the body as `hex-size[;chunk-signature=…]\r\n data \r\n … 0\r\n
//! trailers \r\n`. `s3s` decodes this only while it verifies the chunk signatures, which needs
//! the caller's secret; in open mode there is none, so the gateway unwraps the frames itself and
//! hands `s3s` the plain payload with the decoded length.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderValue;
use http::request::Parts;
use hyper::body::{Body, Frame, SizeHint};

use crate::gateway::BoxError;

/// The longest chunk header or trailer line accepted (a size, a signature, a checksum).
const MAX_LINE: usize = 4096;

/// Whether the request's body is `aws-chunked` framed.
pub fn is_chunked(parts: &Parts) -> bool {
    let sha = parts.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()).unwrap_or("");
    let encoding = parts.headers.get("content-encoding").and_then(|v| v.to_str().ok()).unwrap_or("");
    sha.starts_with("STREAMING-") || encoding.split(',').any(|e| e.trim() == "aws-chunked")
}

/// Rewrites the head of an `aws-chunked` request to describe the decoded payload.
pub fn unframe_headers(parts: &mut Parts) {
    let h = &mut parts.headers;
    if let Some(len) = h.remove("x-amz-decoded-content-length") {
        h.insert("content-length", len);
    } else {
        h.remove("content-length");
    }
    let rest: Vec<String> = h
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',').map(str::trim).filter(|e| !e.is_empty() && *e != "aws-chunked").map(String::from).collect()
        })
        .unwrap_or_default();
    h.remove("content-encoding");
    if let Ok(v) = HeaderValue::from_str(&rest.join(", "))
        && !rest.is_empty()
    {
        h.insert("content-encoding", v);
    }
    h.insert("x-amz-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
    // The trailing checksum is not carried over: it arrives after the head S3 reads it from.
    h.remove("x-amz-trailer");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a `hex-size[;extensions]` line.
    Size,
    /// This many payload bytes of the current chunk are still to come.
    Data(u64),
    /// The `\r\n` after a chunk's data.
    DataEnd,
    /// Trailer lines after the last (empty) chunk, up to an empty line.
    Trailers,
    Done,
}

/// A body that yields the payload of an `aws-chunked` body.
pub struct Unchunked<B> {
    inner: B,
    buf: BytesMut,
    state: State,
    inner_done: bool,
}

impl<B> Unchunked<B> {
    pub fn new(inner: B) -> Self {
        Self { inner, buf: BytesMut::new(), state: State::Size, inner_done: false }
    }

    /// Takes one line (without its `\r\n`) from the buffer, if a whole one is there.
    fn line(&mut self) -> Result<Option<Bytes>, BoxError> {
        match self.buf.windows(2).position(|w| w == b"\r\n") {
            Some(at) => {
                let line = self.buf.split_to(at).freeze();
                self.buf.advance(2);
                Ok(Some(line))
            }
            None if self.buf.len() > MAX_LINE => Err("aws-chunked: a chunk header is too long".into()),
            None => Ok(None),
        }
    }

    /// Advances the decoder over what is buffered; returns payload bytes when it has some.
    fn step(&mut self) -> Result<Option<Bytes>, BoxError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = self.line()? else { return Ok(None) };
                    let text = std::str::from_utf8(&line).map_err(|_| "aws-chunked: bad chunk header")?;
                    let hex = text.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(hex, 16).map_err(|_| "aws-chunked: bad chunk size")?;
                    self.state = if size == 0 { State::Trailers } else { State::Data(size) };
                }
                State::Data(left) => {
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(self.buf.len());
                    let data = self.buf.split_to(take).freeze();
                    let left = left - take as u64;
                    self.state = if left == 0 { State::DataEnd } else { State::Data(left) };
                    return Ok(Some(data));
                }
                State::DataEnd => {
                    if self.buf.len() < 2 {
                        return Ok(None);
                    }
                    if &self.buf[..2] != b"\r\n" {
                        return Err("aws-chunked: chunk data is longer than its size".into());
                    }
                    self.buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => {
                    let Some(line) = self.line()? else { return Ok(None) };
                    if line.is_empty() {
                        self.state = State::Done;
                    }
                }
                State::Done => return Ok(None),
            }
        }
    }
}

impl<B> Body for Unchunked<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            match this.step() {
                Ok(Some(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Ok(None) if this.state == State::Done => return Poll::Ready(None),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
            if this.inner_done {
                // Some clients end the body right after the trailers, without the final empty line.
                return Poll::Ready(match this.state {
                    State::Trailers if this.buf.is_empty() => None,
                    _ => Some(Err("aws-chunked: the body ended inside a chunk".into())),
                });
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None => this.inner_done = true,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::VecDeque;

    use http_body_util::BodyExt;

    use super::*;

    /// A body that hands out prepared pieces, one frame each.
    struct Pieces(VecDeque<Bytes>);

    impl Body for Pieces {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    /// Decodes `wire` fed to the decoder in pieces of `piece` bytes.
    async fn decode(wire: &[u8], piece: usize) -> Result<Vec<u8>, BoxError> {
        let pieces = wire.chunks(piece).map(Bytes::copy_from_slice).collect();
        Ok(Unchunked::new(Pieces(pieces)).collect().await?.to_bytes().to_vec())
    }

    #[tokio::test]
    async fn decodes_signed_and_trailer_framings_in_any_pieces() {
        let signed =
            b"5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\n\r\n";
        let trailer = b"a\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let no_final_line = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n";
        for piece in [1, 2, 3, 7, 1000] {
            assert_eq!(decode(signed, piece).await.unwrap(), b"hello world");
            assert_eq!(decode(trailer, piece).await.unwrap(), b"0123456789");
            assert_eq!(decode(no_final_line, piece).await.unwrap(), b"abc");
        }
    }

    #[tokio::test]
    async fn malformed_framing_is_an_error() {
        assert!(decode(b"zz\r\nabc\r\n0\r\n\r\n", 4).await.is_err());
        assert!(decode(b"3\r\nabcdef\r\n0\r\n\r\n", 4).await.is_err());
        assert!(decode(b"5\r\nab", 4).await.is_err());
        assert!(decode(&[b'1'; MAX_LINE + 10], 100).await.is_err());
    }

    #[test]
    fn headers_describe_the_decoded_payload() {
        let (mut parts, ()) = http::Request::builder()
            .header("content-length", "100")
            .header("x-amz-decoded-content-length", "11")
            .header("content-encoding", "aws-chunked, gzip")
            .header("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
            .header("x-amz-trailer", "x-amz-checksum-crc32")
            .body(())
            .unwrap()
            .into_parts();
        assert!(is_chunked(&parts));
        unframe_headers(&mut parts);
        assert_eq!(parts.headers["content-length"], "11");
        assert_eq!(parts.headers["content-encoding"], "gzip");
        assert_eq!(parts.headers["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
        assert!(!parts.headers.contains_key("x-amz-trailer"));
        assert!(!is_chunked(&parts));
    }
}

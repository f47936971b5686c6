//! The header names of HTTP/1.1 requests as the client spelled them. hyper keeps header names
//! lower-cased and does not expose the original spelling, but API Gateway hands them to
//! functions as sent (`tEsT-HEADeR`). [`Recorder`] wraps a connection's reads, follows the
//! HTTP/1.1 framing of the bytes hyper reads (heads, `Content-Length` and chunked bodies) and
//! queues each request head's header names; the listener attaches them to the request as
//! [`RawNames`]. Anything it does not follow (HTTP/2, upgrades, a head over 64 KiB) turns it off
//! for the connection, and a door uses the names only when they are exactly the request's.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Header names of one request, in the client's spelling and order.
#[derive(Debug, Clone)]
pub struct RawNames(pub Vec<String>);

impl RawNames {
    /// The client's spelling of each of `headers`' names, when these are exactly the names of
    /// `headers` (else None: the recording and the request do not belong together).
    pub fn spelling(&self, headers: &http::HeaderMap) -> Option<std::collections::HashMap<String, String>> {
        let mut map = std::collections::HashMap::new();
        for n in &self.0 {
            map.entry(n.to_ascii_lowercase()).or_insert_with(|| n.clone());
        }
        let same = map.len() == headers.keys_len() && headers.keys().all(|k| map.contains_key(k.as_str()));
        same.then_some(map)
    }
}

/// Heads recorded on one connection, oldest first.
pub type Heads = Arc<Mutex<VecDeque<RawNames>>>;

const MAX_HEAD: usize = 64 << 10;

enum State {
    /// Reading a request head (the bytes so far).
    Head(Vec<u8>),
    /// Skipping this many body bytes.
    Body(u64),
    /// In a chunked body: reading a chunk-size line.
    ChunkSize(Vec<u8>),
    /// Skipping chunk data (and its CRLF: the count includes it).
    ChunkData(u64),
    /// After the last chunk: trailer lines until an empty one.
    Trailers(Vec<u8>),
    /// Not following this connection any more.
    Off,
}

pub struct Recorder<IO> {
    inner: IO,
    state: State,
    heads: Heads,
}

impl<IO> Recorder<IO> {
    pub fn new(inner: IO) -> (Self, Heads) {
        let heads: Heads = Arc::default();
        (Recorder { inner, state: State::Head(Vec::new()), heads: heads.clone() }, heads)
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Off => return,
                State::Head(buf) => {
                    // Blank lines between requests are allowed before a head.
                    if buf.is_empty() {
                        let skip = bytes.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
                        bytes = &bytes[skip..];
                        if bytes.is_empty() {
                            return;
                        }
                    }
                    let start = buf.len().saturating_sub(3);
                    buf.extend_from_slice(bytes);
                    let Some(end) = find(&buf[start..], b"\r\n\r\n").map(|i| start + i + 4) else {
                        if buf.len() > MAX_HEAD {
                            self.state = State::Off;
                        }
                        return;
                    };
                    let rest = buf.split_off(end);
                    let head = std::mem::take(buf);
                    self.state = self.parse_head(&head);
                    // Continue with what followed the head (in the same read).
                    self.feed(&rest);
                    return;
                }
                State::Body(n) => {
                    let take = (*n).min(bytes.len() as u64) as usize;
                    *n -= take as u64;
                    bytes = &bytes[take..];
                    if *n == 0 {
                        self.state = State::Head(Vec::new());
                    }
                }
                State::ChunkData(n) => {
                    let take = (*n).min(bytes.len() as u64) as usize;
                    *n -= take as u64;
                    bytes = &bytes[take..];
                    if *n == 0 {
                        self.state = State::ChunkSize(Vec::new());
                    }
                }
                State::ChunkSize(line) | State::Trailers(line) => {
                    let Some(nl) = bytes.iter().position(|b| *b == b'\n') else {
                        line.extend_from_slice(bytes);
                        if line.len() > 4096 {
                            self.state = State::Off;
                        }
                        return;
                    };
                    line.extend_from_slice(&bytes[..=nl]);
                    bytes = &bytes[nl + 1..];
                    let text = String::from_utf8_lossy(line).trim().to_string();
                    self.state = match self.state {
                        State::ChunkSize(_) => {
                            let size = text.split(';').next().unwrap_or("").trim();
                            match u64::from_str_radix(size, 16) {
                                Ok(0) => State::Trailers(Vec::new()),
                                Ok(n) => State::ChunkData(n.saturating_add(2)),
                                Err(_) => State::Off,
                            }
                        }
                        _ if text.is_empty() => State::Head(Vec::new()),
                        _ => State::Trailers(Vec::new()),
                    };
                }
            }
        }
    }

    /// Records the head's header names and says how its body is framed.
    fn parse_head(&mut self, head: &[u8]) -> State {
        let Ok(text) = std::str::from_utf8(head) else { return State::Off };
        let mut lines = text.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        if !request_line.ends_with("HTTP/1.1") && !request_line.ends_with("HTTP/1.0") {
            return State::Off;
        }
        let (mut names, mut length, mut chunked, mut upgrade) = (Vec::new(), None, false, false);
        for line in lines.filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else { return State::Off };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<u64>().ok(),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "upgrade" => upgrade = true,
                _ => {}
            }
            names.push(name.to_string());
        }
        if let Ok(mut q) = self.heads.lock() {
            if q.len() > 64 {
                q.clear();
            }
            q.push_back(RawNames(names));
        }
        if upgrade || request_line.starts_with("CONNECT ") {
            State::Off
        } else if chunked {
            State::ChunkSize(Vec::new())
        } else {
            match length {
                Some(n) if n > 0 => State::Body(n),
                _ => State::Head(Vec::new()),
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl<IO: AsyncRead + Unpin> AsyncRead for Recorder<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r
            && !matches!(this.state, State::Off)
        {
            this.feed(&buf.filled()[before..]);
        }
        r
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Recorder<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(input: &[&[u8]]) -> Vec<Vec<String>> {
        let (mut r, heads) = Recorder::new(());
        for part in input {
            r.feed(part);
        }
        heads.lock().unwrap().iter().map(|h| h.0.clone()).collect()
    }

    #[test]
    fn follows_heads_bodies_and_chunks_across_reads() {
        let one = b"GET /a HTTP/1.1\r\nHost: x\r\ntEsT-HEADeR: v\r\n\r\n";
        assert_eq!(names(&[one]), vec![vec!["Host".to_string(), "tEsT-HEADeR".to_string()]]);
        // A body, then a second request in the same read; split across reads at odd places.
        let two = b"POST /b HTTP/1.1\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhelloGET /c HTTP/1.1\r\nX-B: 2\r\n\r\n";
        let (a, b) = two.split_at(20);
        assert_eq!(
            names(&[a, b]),
            vec![vec!["Content-Length".to_string(), "X-A".to_string()], vec!["X-B".to_string()]]
        );
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\nX-C: 3\r\n\r\n";
        let parts: Vec<&[u8]> = chunked.chunks(7).collect();
        let got = names(&parts);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], vec!["X-C".to_string()]);
    }

    #[test]
    fn stops_following_what_it_does_not_understand() {
        assert!(names(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]).is_empty());
        let upgrade = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\nX: 1\r\n\r\n";
        assert_eq!(names(&[upgrade]).len(), 1);
        let mut headers = http::HeaderMap::new();
        headers.insert("x-a", "1".parse().unwrap());
        let raw = RawNames(vec!["X-A".into()]);
        assert_eq!(raw.spelling(&headers).unwrap()["x-a"], "X-A");
        assert!(RawNames(vec!["X-B".into()]).spelling(&headers).is_none());
    }
}

//! git's smart HTTP protocol (v0 and v2) for `git clone`, `fetch`, `pull` and `push`, served
//! by git's own CGI program, `git http-backend`, on the repository's bare directory. Pushes
//! (`git-receive-pack`) to a repository are serialized by its lock, and once git has updated
//! the refs the change is recorded with the triggers it fires (`triggers::sync`), before the
//! push is answered.

use std::process::Stdio;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use crate::{Inner, git, repos, triggers};

/// A request to `/v1/repos/{name}/…`.
#[derive(Debug, Clone)]
pub struct GitRequest {
    pub account: String,
    pub region: String,
    pub name: String,
    pub method: String,
    /// The path after the repository's name (`/info/refs`, `/git-upload-pack`, …).
    pub path: String,
    pub query: String,
    pub content_type: String,
    /// `gzip` when the client compressed its request.
    pub content_encoding: String,
    /// The `Git-Protocol` header (`version=2`).
    pub git_protocol: String,
    pub body: Bytes,
    pub remote_addr: String,
    /// Who pushes (`userIdentityARN` of trigger records).
    pub user_arn: String,
}

#[derive(Debug, Clone)]
pub struct GitResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn plain(status: u16, text: &str) -> GitResponse {
    GitResponse {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body: format!("{text}\n").into_bytes(),
    }
}

/// Splits a CGI answer into status, headers and body.
fn parse_cgi(out: &[u8]) -> GitResponse {
    let (head, body) = match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(p) => (&out[..p], &out[p + 4..]),
        None => match out.windows(2).position(|w| w == b"\n\n") {
            Some(p) => (&out[..p], &out[p + 2..]),
            None => (&out[..0], out),
        },
    };
    let mut status = 200;
    let mut headers = Vec::new();
    for line in String::from_utf8_lossy(head).lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let v = v.trim().to_string();
        if k.eq_ignore_ascii_case("status") {
            status = v.split(' ').next().and_then(|c| c.parse().ok()).unwrap_or(200);
        } else {
            headers.push((k.trim().to_string(), v));
        }
    }
    GitResponse { status, headers, body: body.to_vec() }
}

pub(crate) async fn serve(i: &Inner, req: GitRequest) -> GitResponse {
    let doc = match repos::load(i, &req.account, &req.region, &req.name).await {
        Ok(d) => d,
        Err(e) if e.code == "RepositoryDoesNotExistException" => {
            return plain(404, &format!("Repository {} does not exist", req.name));
        }
        Err(e) => return plain(500, &e.message),
    };
    let receive = req.method == "POST" && req.path.ends_with("/git-receive-pack");
    let _guard = if receive { Some(i.lock(doc.id()).await) } else { None };
    let dir = doc.dir(&i.root);
    let Some(root) = dir.parent() else { return plain(500, "bad repository directory") };
    let path_info = format!("/{}.git{}", doc.id(), req.path);
    let mut cmd = git::command("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", &path_info)
        .env("REQUEST_METHOD", &req.method)
        .env("QUERY_STRING", &req.query)
        .env("CONTENT_TYPE", &req.content_type)
        .env("REMOTE_USER", "codecommit")
        .env("REMOTE_ADDR", &req.remote_addr)
        .stdin(Stdio::piped());
    if req.method == "POST" {
        cmd.env("CONTENT_LENGTH", req.body.len().to_string());
    }
    if !req.git_protocol.is_empty() {
        cmd.env("GIT_PROTOCOL", &req.git_protocol);
    }
    if !req.content_encoding.is_empty() {
        cmd.env("HTTP_CONTENT_ENCODING", &req.content_encoding);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return plain(503, &format!("git is not installed on this server ({e}); CodeCommit needs it")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let body = req.body.clone();
        tokio::spawn(async move {
            let _ = stdin.write_all(&body).await;
        });
    }
    let out = match child.wait_with_output().await {
        Ok(o) => o,
        Err(e) => return plain(500, &format!("git http-backend failed: {e}")),
    };
    if !out.status.success() && out.stdout.is_empty() {
        return plain(500, &format!("git http-backend failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let response = parse_cgi(&out.stdout);
    if receive && let Err(e) = triggers::sync(i, &doc.account, &doc.region, doc.name(), &req.user_arn).await {
        // git has the change; the reconciliation at start fires what could not be recorded.
        tracing::warn!(repository = %doc.name(), error = %e.message, "cannot record a push");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgi_answers() {
        let r = parse_cgi(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope");
        assert_eq!((r.status, r.body.as_slice()), (404, b"nope".as_slice()));
        assert_eq!(r.headers, vec![("Content-Type".to_string(), "text/plain".to_string())]);
        let r = parse_cgi(b"Content-Type: application/x-git-upload-pack-advertisement\n\n001e# service");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"001e# service");
    }
}

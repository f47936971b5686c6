//! The git door: CodeCommit repositories over git's smart HTTP protocol, at
//! `http://git-codecommit.{region}.localhost:P/v1/repos/{name}` (the region from the host, as
//! on AWS; `/v1/repos/{name}` on any other host is the default region — no S3 bucket can be
//! called `v1`). In open mode any credentials (or none) will do; otherwise git must sign in with
//! a CodeCommit service-specific credential (IAM's CreateServiceSpecificCredential) or with the
//! SigV4-derived password `git-remote-codecommit` makes from access keys (user name the access
//! key id, `%` and the session token for temporary keys; password `{YYYYMMDDTHHMMSS}Z{signature}`
//! of the request `GIT {path}` for the host), asked for with a `401` and
//! `WWW-Authenticate: Basic`; in enforce mode IAM decides `codecommit:GitPull` /
//! `codecommit:GitPush` on the repository.

use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use stratus_codecommit::{CodeCommit, GitRequest};

use crate::gateway::{Body, FrontDoor, Head, Peer, boxed};

/// The largest push taken in one request.
const MAX_BODY: usize = 2 << 30;

pub struct GitDoor {
    pub codecommit: CodeCommit,
    pub identity: Option<stratus_iam_api::Identity>,
    /// Access keys, for `git-remote-codecommit`'s SigV4-derived passwords.
    pub keys: Box<dyn stratus_iam::KeyStore>,
    pub enforce: bool,
    pub default_account: String,
    pub default_region: String,
}

/// The region of a `git-codecommit.{region}.…` host.
fn region_of(host: &str) -> Option<&str> {
    let rest = host.strip_prefix("git-codecommit.")?;
    let region = rest.split('.').next()?;
    (!region.is_empty()).then_some(region)
}

/// `/v1/repos/{name}{rest}` → (name, rest).
fn repo_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/v1/repos/")?;
    let (name, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let name = name.strip_suffix(".git").unwrap_or(name);
    (!name.is_empty()).then(|| (name.to_string(), tail.to_string()))
}

fn text(status: u16, body: &str) -> Response<Body> {
    let mut r = Response::new(boxed(Full::new(Bytes::from(format!("{body}\n")))));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert("content-type", HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

fn ask_credentials() -> Response<Body> {
    let mut r = text(401, "Authentication required: use a CodeCommit service-specific credential");
    r.headers_mut().insert("www-authenticate", HeaderValue::from_static("Basic realm=\"CodeCommit\""));
    r
}

fn basic(parts: &http::request::Parts) -> Option<(String, String)> {
    let v = parts.headers.get("authorization")?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// How long a SigV4-derived password is good for.
const PASSWORD_SKEW_SECS: i64 = 15 * 60;

/// The credential a `git-remote-codecommit` password was made with, when it checks out: the
/// signature of `GIT {path}` for one of the names the client may have signed the host as.
fn sigv4_password(
    keys: &dyn stratus_iam::KeyStore,
    user: &str,
    password: &str,
    region: &str,
    path: &str,
    hosts: &[String],
) -> Option<stratus_iam::Credential> {
    let (key_id, token) = match user.split_once('%') {
        Some((k, t)) => (k, Some(t)),
        None => (user, None),
    };
    let (stamp, signature) = password.split_once('Z')?;
    let when = stratus_sigv4::parse_amz_date(&format!("{stamp}Z"))?;
    let now = std::time::SystemTime::now();
    let skew = match now.duration_since(when) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    if skew.abs() > PASSWORD_SKEW_SECS {
        return None;
    }
    let cred = keys.lookup(key_id)?;
    if cred.session_token.as_deref() != token {
        return None;
    }
    if cred.expires.is_some_and(|e| e < now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)) {
        return None;
    }
    let date = &stamp[..8.min(stamp.len())];
    let key = stratus_sigv4::signing_key(&cred.secret_access_key, date, region, "codecommit");
    let scope = format!("{date}/{region}/codecommit/aws4_request");
    hosts
        .iter()
        .any(|host| {
            let canonical = format!("GIT\n{path}\n\nhost:{host}\n\nhost\n");
            let to_sign =
                format!("AWS4-HMAC-SHA256\n{stamp}Z\n{scope}\n{}", stratus_sigv4::sha256_hex(canonical.as_bytes()));
            hex::encode(stratus_sigv4::hmac_sha256(&key, to_sign.as_bytes())) == signature
        })
        .then_some(cred)
}

impl GitDoor {
    async fn serve_request(&self, req: hyper::Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let bare = http::Request::from_parts(parts.clone(), ());
        let region = region_of(Head::of(&bare).host_name()).unwrap_or(&self.default_region).to_string();
        let Some((name, rest)) = repo_path(parts.uri.path()) else { return text(404, "Not found") };
        let query = parts.uri.query().unwrap_or("").to_string();
        let push = rest.ends_with("/git-receive-pack") || query.contains("service=git-receive-pack");
        // Who: anyone in open mode; else the IAM user of a service-specific credential.
        let (account, user_arn) = match &self.identity {
            None => (self.default_account.clone(), format!("arn:aws:iam::{}:root", self.default_account)),
            Some(identity) => {
                let Some((user, password)) = basic(&parts) else { return ask_credentials() };
                let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let hosts = vec![
                    host.clone(),
                    host.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_else(|| host.clone()),
                    format!("git-codecommit.{region}.amazonaws.com"),
                ];
                let path = format!("/v1/repos/{name}");
                let (account, who) = match sigv4_password(self.keys.as_ref(), &user, &password, &region, &path, &hosts)
                {
                    Some(cred) => (cred.account.clone(), cred.identity.clone()),
                    None => {
                        match identity.verify_service_password("codecommit.amazonaws.com", &user, &password).await {
                            Ok(Some((account, user_name))) => {
                                let arn = format!("arn:aws:iam::{account}:user/{user_name}");
                                (account, stratus_iam::Identity::User { name: user_name, id: String::new(), arn })
                            }
                            Ok(None) => return ask_credentials(),
                            Err(e) => return text(500, &e.message),
                        }
                    }
                };
                if self.enforce {
                    let repo_arn = format!(
                        "arn:{partition}:codecommit:{region}:{account}:{name}",
                        partition = stratus_core::partition(&region)
                    );
                    let action = if push { "codecommit:GitPush" } else { "codecommit:GitPull" };
                    let ctx = stratus_core::RequestContext {
                        account: account.clone(),
                        region: region.clone(),
                        request_id: String::new(),
                        access_key: None,
                        host: String::new(),
                        path: String::new(),
                    };
                    let asked = stratus_iam_api::OnResource {
                        service: "codecommit",
                        action,
                        resource: &repo_arn,
                        policy: None,
                        owner: Some(&account),
                    };
                    let decided = identity
                        .authorizer()
                        .authorize_with_policy(Some(&who), &ctx, &asked, stratus_iam::policy::Context::new())
                        .await;
                    if let Err(e) = decided {
                        return text(403, &e.message);
                    }
                }
                let arn = who.caller_arn(&account);
                (account, arn)
            }
        };
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return text(413, "The request is too large"),
        };
        let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let req = GitRequest {
            account,
            region,
            name,
            method: parts.method.as_str().to_string(),
            path: rest,
            query,
            content_type: header("content-type"),
            content_encoding: header("content-encoding"),
            git_protocol: header("git-protocol"),
            body,
            remote_addr: parts.extensions.get::<Peer>().map(|p| p.0.ip().to_string()).unwrap_or_default(),
            user_arn,
        };
        let answer = self.codecommit.git_http(req).await;
        let mut r = Response::new(boxed(Full::new(Bytes::from(answer.body))));
        *r.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (k, v) in answer.headers {
            if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
                r.headers_mut().append(n, v);
            }
        }
        r
    }
}

impl FrontDoor for GitDoor {
    fn claims(&self, head: &Head<'_>) -> bool {
        head.path().starts_with("/v1/repos/")
            && (region_of(head.host_name()).is_some() || head.signed_service().is_none())
    }

    fn serve(&self, req: hyper::Request<Incoming>) -> stratus_proto::BoxFuture<'_, Response<Body>> {
        Box::pin(self.serve_request(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_paths() {
        assert_eq!(region_of("git-codecommit.eu-west-1.localhost"), Some("eu-west-1"));
        assert_eq!(region_of("localhost"), None);
        assert_eq!(repo_path("/v1/repos/r/info/refs"), Some(("r".into(), "/info/refs".into())));
        assert_eq!(repo_path("/v1/repos/r.git/git-upload-pack"), Some(("r".into(), "/git-upload-pack".into())));
        assert_eq!(repo_path("/v1/repos/"), None);
    }
}

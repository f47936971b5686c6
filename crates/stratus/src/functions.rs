//! Connects the Lambda API to the process runtime: the binary is the only place that sees
//! both (ARCHITECTURE.md invariant 1). It also decides what a function's environment says
//! about Stratus: where to reach it and which credentials to use.

use std::collections::BTreeMap;
use std::sync::Arc;

use stratus_lambda::{ExecError, Executor, InvokeRequest, InvokeResponse};
use stratus_proto::BoxFuture;
use stratus_runtime::{FunctionSpec, Invocation, Outcome, RuntimeError, Runtimes};

pub struct ProcessExecutor {
    pub runtimes: Arc<Runtimes>,
    /// `http://127.0.0.1:{port}`, given to functions as `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    /// Verify and enforce modes: functions run with temporary credentials of their role.
    pub roles: Option<RoleCredentials>,
}

/// Credentials of `(access key id, secret, session token, expiry in epoch seconds)`.
type Credentials = (String, String, String, u64);

/// A function's execution-role credentials, minted (as Lambda assumes the role) once per
/// function configuration and renewed before they expire; environments started with old ones
/// are retired then, so that none runs with expired keys.
pub struct RoleCredentials {
    pub identity: stratus_iam_api::Identity,
    pub cache: std::sync::Mutex<std::collections::HashMap<String, Credentials>>,
}

/// Credentials are renewed when fewer than this many seconds are left.
const RENEW_BEFORE_SECS: u64 = 600;

impl RoleCredentials {
    async fn get(&self, req: &InvokeRequest, runtimes: &Runtimes) -> Option<Credentials> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let cached = self.cache.lock().ok().and_then(|m| m.get(&req.key).cloned());
        if let Some(c) = &cached
            && c.3 > now + RENEW_BEFORE_SECS
        {
            return cached;
        }
        let c = &req.config;
        match self
            .identity
            .credentials_for_service(&c.role, &c.function_name, "lambda.amazonaws.com", &req.region)
            .await
        {
            Ok(creds) => {
                if cached.is_some() {
                    runtimes.retire(&req.key);
                }
                if let Ok(mut m) = self.cache.lock() {
                    m.insert(req.key.clone(), creds.clone());
                }
                Some(creds)
            }
            Err(e) => {
                tracing::warn!(function = %c.function_name, role = %c.role, error = %e.message,
                    "the function's role cannot be assumed; it runs without credentials that authenticate");
                None
            }
        }
    }
}

impl ProcessExecutor {
    fn spec(&self, req: &InvokeRequest, creds: Option<&Credentials>) -> FunctionSpec {
        let c = &req.config;
        let mut env: BTreeMap<String, String> = stratus_lambda::executor::function_env(c);
        // The execution role's temporary credentials when callers are authenticated; in open
        // mode a 12-digit access key acts as that account, so the function's calls land in its
        // own account.
        let (key, secret, token) = match creds {
            Some((k, s, t, _)) => (k.clone(), s.clone(), t.clone()),
            None => (req.account.clone(), "stratus".to_string(), format!("stratus-session-{}", c.function_name)),
        };
        for (k, v) in [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", req.region.clone()),
            ("AWS_DEFAULT_REGION", req.region.clone()),
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SESSION_TOKEN", token),
        ] {
            env.insert(k.to_string(), v);
        }
        let log_group = c
            .logging_config
            .get("LogGroup")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("/aws/lambda/{}", c.function_name));
        // The runtime names only a group when it hands over log lines; the account and region
        // travel in front of it (`|` cannot occur in a log group name) and the function sees
        // the plain name.
        env.insert("AWS_LAMBDA_LOG_GROUP_NAME".into(), log_group.clone());
        let log_group = format!("{}|{}|{log_group}", req.account, req.region);
        FunctionSpec {
            key: req.key.clone(),
            code_zip: req.code.clone(),
            layers: req.layers.clone(),
            runtime: c.runtime.clone().unwrap_or_default(),
            handler: c.handler.clone().unwrap_or_default(),
            env,
            memory_mb: c.memory_size,
            timeout: std::time::Duration::from_secs(u64::from(c.timeout)),
            max_concurrency: req.reserved_concurrency,
            function_name: c.function_name.clone(),
            version: c.version.clone(),
            invoked_arn_base: c.function_arn.clone(),
            log_group,
        }
    }
}

impl Executor for ProcessExecutor {
    fn check_code(&self, zip: &[u8]) -> Result<(), String> {
        Runtimes::check_code(zip).map_err(|e| e.to_string())
    }

    fn check_runtime(&self, runtime: &str) -> Result<(), String> {
        self.runtimes.check_runtime(runtime).map_err(|e| e.to_string())
    }

    fn invoke(&self, req: InvokeRequest) -> BoxFuture<'_, Result<InvokeResponse, ExecError>> {
        Box::pin(async move {
            let creds = match &self.roles {
                Some(r) => r.get(&req, &self.runtimes).await,
                None => None,
            };
            let spec = self.spec(&req, creds.as_ref());
            let inv = Invocation {
                request_id: req.request_id.clone(),
                payload: bytes::Bytes::from(req.payload),
                invoked_function_arn: req.invoked_arn.clone(),
                trace_id: None,
                client_context: req.client_context.clone(),
                cognito_identity: None,
            };
            match self.runtimes.invoke(&spec, inv).await {
                Ok(r) => {
                    let (payload, function_error) = match r.outcome {
                        Outcome::Success(p) => (p.to_vec(), None),
                        Outcome::FunctionError { payload, .. } => (payload.to_vec(), Some("Unhandled".to_string())),
                    };
                    Ok(InvokeResponse { payload, function_error, log_tail: r.log_tail })
                }
                Err(RuntimeError::Throttled) => Err(ExecError::Throttled),
                Err(e) => Err(ExecError::Unavailable(e.to_string())),
            }
        })
    }

    fn retire(&self, prefix: &str) {
        self.runtimes.retire(prefix);
    }
}

/// Function output into CloudWatch Logs. The runtime calls it from its own thread, in order per
/// stream, so it can wait for the write.
pub struct LogsSink {
    pub logs: stratus_logs::Logs,
    pub handle: tokio::runtime::Handle,
}

impl stratus_runtime::LogSink for LogsSink {
    fn append(&self, batch: Vec<stratus_runtime::StreamEvents>) {
        let mut appends = Vec::with_capacity(batch.len());
        for s in batch {
            // The runtime's group name is `{account}|{region}|{group}` (see `log_group`).
            let mut parts = s.group.splitn(3, '|');
            let (Some(account), Some(region), Some(group)) = (parts.next(), parts.next(), parts.next()) else {
                tracing::warn!(group = %s.group, "log lines for an unknown log group dropped");
                continue;
            };
            appends.push(stratus_logs::Append {
                account: account.into(),
                region: region.into(),
                group: group.into(),
                stream: s.stream.to_string(),
                events: s.events,
            });
        }
        if let Err(e) = self.handle.block_on(self.logs.append_many(appends)) {
            tracing::warn!(error = %e, "could not store function log lines");
        }
    }
}

/// `/_stratus/lambda-code/{sha256}`: the deployment package GetFunction's `Code.Location`
/// points at. When callers are authenticated the URL is presigned, as AWS's are: it names when
/// it expires and carries a signature only this server can make, so the package is reachable
/// only by whoever was allowed to call GetFunction, for ten minutes.
pub struct CodePackages {
    pub store: stratus_storage::Store,
    pub presigner: Option<Arc<CodePresigner>>,
}

impl crate::services::PlatformFiles for CodePackages {
    fn prefix(&self) -> &'static str {
        "lambda-code"
    }

    fn get<'a>(&'a self, sha: &'a str, query: &'a str) -> stratus_proto::BoxFuture<'a, crate::services::FileResult> {
        Box::pin(async move {
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(None);
            }
            if let Some(p) = &self.presigner
                && !p.grants(sha, query)
            {
                return Ok(None);
            }
            let (blobs, name) = (self.store.blobs().clone(), stratus_lambda::code_blob_name(sha));
            match tokio::task::spawn_blocking(move || blobs.get(&name)).await {
                Ok(Ok(zip)) => Ok(zip.map(|z| ("application/zip", bytes::Bytes::from(z)))),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// How long a presigned package URL works (AWS's are valid for ten minutes).
const CODE_URL_SECS: u64 = 600;

/// Presigns package URLs with a key made at start (URLs do not outlive the process that made
/// them, which their ten minutes make no loss).
pub struct CodePresigner {
    key: [u8; 32],
    env: stratus_core::Env,
}

impl CodePresigner {
    pub fn new(env: stratus_core::Env) -> Self {
        let (a, b) = (env.ids.random_bytes(), env.ids.random_bytes());
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(&a);
        key[16..].copy_from_slice(&b);
        Self { key, env }
    }

    fn signature(&self, sha: &str, expires: u64) -> String {
        let mac = stratus_sigv4::hmac_sha256(&self.key, format!("lambda-code/{sha}\n{expires}").as_bytes());
        mac.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `query` holds an unexpired signature for the package `sha`.
    fn grants(&self, sha: &str, query: &str) -> bool {
        let (mut expires, mut signature) = (None, None);
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "Expires" => expires = v.parse::<u64>().ok(),
                "Signature" => signature = Some(v.into_owned()),
                _ => {}
            }
        }
        let (Some(expires), Some(signature)) = (expires, signature) else { return false };
        let now = self.env.clock.now_millis() / 1000;
        let expected = self.signature(sha, expires);
        expires >= now
            && expected.len() == signature.len()
            && expected.bytes().zip(signature.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl stratus_lambda::CodeUrls for CodePresigner {
    fn url(&self, host: &str, sha_hex: &str) -> String {
        let expires = self.env.clock.now_millis() / 1000 + CODE_URL_SECS;
        let signature = self.signature(sha_hex, expires);
        format!("http://{host}/_stratus/lambda-code/{sha_hex}?Expires={expires}&Signature={signature}")
    }
}

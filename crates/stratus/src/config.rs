//! `stratus serve` settings: flags, the same as `STRATUS_*` environment variables, and an
//! optional TOML file. Flags and variables win over the file; the file wins over defaults.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Deserialize;
use stratus_iam::Credential;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Any credentials are accepted; signatures are parsed, not checked.
    Open,
    /// Signatures are verified against the configured credentials.
    Verify,
    /// As `verify`, and every request is authorized by IAM policies.
    Enforce,
}

#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STRATUS_HOST")]
    pub host: Option<IpAddr>,
    /// Port to listen on.
    #[arg(long, env = "STRATUS_PORT")]
    pub port: Option<u16>,
    /// Where data is kept (created if missing).
    #[arg(long, env = "STRATUS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory: nothing survives a restart.
    #[arg(long, env = "STRATUS_IN_MEMORY")]
    pub in_memory: bool,
    /// Keep state in this PostgreSQL database (`postgres://user@host:port/db`) instead of the
    /// data directory's embedded store; object bytes stay in the data directory.
    #[arg(long, env = "STRATUS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// This node's name in `/_stratus/health` and `/_stratus/cluster` (1–64 of `A-Za-z0-9._-`;
    /// by default the host name and a random suffix, kept in the data directory's `node-id`).
    #[arg(long, env = "STRATUS_NODE_ID")]
    pub node_id: Option<String>,
    /// Account for requests whose access key is not a 12-digit account id.
    #[arg(long, env = "STRATUS_DEFAULT_ACCOUNT")]
    pub default_account: Option<String>,
    /// Region for requests that do not name one.
    #[arg(long, env = "STRATUS_DEFAULT_REGION")]
    pub default_region: Option<String>,
    /// Log level (error, warn, info, debug, trace) or a tracing filter.
    #[arg(long, env = "STRATUS_LOG_LEVEL")]
    pub log_level: Option<String>,
    #[arg(long, env = "STRATUS_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// How requests are authenticated.
    #[arg(long, env = "STRATUS_AUTH", value_enum)]
    pub auth: Option<AuthMode>,
    /// Seconds an idle function environment is kept warm before it is stopped.
    #[arg(long, env = "STRATUS_FUNCTION_IDLE_SECONDS")]
    pub function_idle_seconds: Option<u64>,
    /// Seconds an S3 lifecycle "day" lasts (86400; shorter to watch rules act in tests).
    #[arg(long, env = "STRATUS_S3_LIFECYCLE_DAY_SECONDS")]
    pub s3_lifecycle_day_seconds: Option<u64>,
    /// Seconds an S3 RestoreObject of an archived object takes to complete (0).
    #[arg(long, env = "STRATUS_S3_RESTORE_SECONDS")]
    pub s3_restore_seconds: Option<u64>,
    /// Seconds between writes of gathered S3 server access log lines to their target buckets (10).
    #[arg(long, env = "STRATUS_S3_ACCESS_LOG_SECONDS")]
    pub s3_access_log_seconds: Option<u64>,
    /// A TOML file with any of these settings (and `[[credentials]]` for verify mode).
    #[arg(long, env = "STRATUS_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The file form.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    host: Option<IpAddr>,
    port: Option<u16>,
    data_dir: Option<PathBuf>,
    in_memory: Option<bool>,
    database_url: Option<String>,
    node_id: Option<String>,
    default_account: Option<String>,
    default_region: Option<String>,
    log_level: Option<String>,
    log_format: Option<LogFormat>,
    auth: Option<AuthMode>,
    function_idle_seconds: Option<u64>,
    s3_lifecycle_day_seconds: Option<u64>,
    s3_restore_seconds: Option<u64>,
    s3_access_log_seconds: Option<u64>,
    #[serde(default)]
    credentials: Vec<Credential>,
    /// `[[oidc-keys]]`: the JWKS of an OpenID Connect issuer, for AssumeRoleWithWebIdentity.
    #[serde(default)]
    oidc_keys: Vec<OidcKeys>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OidcKeys {
    /// The issuer as tokens name it (`iss`), e.g. `https://token.actions.githubusercontent.com`.
    issuer: String,
    /// A JSON Web Key Set file (`{"keys": [...]}`), relative to the configuration file.
    jwks_file: PathBuf,
}

/// `path` made absolute against the working directory, without resolving links (the data
/// directory may not exist yet).
fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| format!("cannot make {} absolute: {e}", path.display()))
}

fn valid_node_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// This node's id: the configured one, else the one kept in the data directory (made there the
/// first time), so that a node restarted on its data directory is the same node — after a
/// `kill -9` its own record, still live, does not keep it out of a shared database.
pub fn node_id(cfg: &Config) -> Result<String, String> {
    if let Some(id) = &cfg.node_id {
        return Ok(id.clone());
    }
    let Some(dir) = &cfg.data_dir else { return Ok(new_node_id()) };
    let path = dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if valid_node_id(id.trim()) => Ok(id.trim().to_string()),
        _ => {
            let id = new_node_id();
            std::fs::write(&path, format!("{id}\n")).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(id)
        }
    }
}

/// The host name (as far as it is a valid id) and six random hex digits.
fn new_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host: String =
        host.trim().chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')).take(40).collect();
    let uuid = stratus_core::IdSource::uuid(&stratus_core::RandomIds);
    let suffix = &uuid[..6];
    if host.is_empty() { format!("stratus-{suffix}") } else { format!("{host}-{suffix}") }
}

/// Settings after merging.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    /// `None`: in memory. Always absolute.
    pub data_dir: Option<PathBuf>,
    /// State in PostgreSQL rather than in the data directory's embedded store.
    pub database_url: Option<String>,
    /// As configured; `None`: the data directory's `node-id`, made once ([`node_id`]).
    pub node_id: Option<String>,
    /// Where function environments are unpacked: under the data directory, or a temporary
    /// directory of this process in memory mode. Always absolute.
    pub functions_dir: PathBuf,
    pub default_account: String,
    pub default_region: String,
    pub log_level: String,
    pub log_format: LogFormat,
    pub auth: AuthMode,
    pub function_idle_seconds: u64,
    pub s3_lifecycle_day_seconds: u64,
    pub s3_restore_seconds: u64,
    pub s3_access_log_seconds: u64,
    pub credentials: Vec<Credential>,
    /// The JWKS of each OpenID Connect issuer (`https://…`), read at start.
    pub issuer_keys: std::collections::HashMap<String, serde_json::Value>,
}

/// Reads each issuer's JWKS file.
fn issuer_keys(entries: &[OidcKeys]) -> Result<std::collections::HashMap<String, serde_json::Value>, String> {
    let mut keys = std::collections::HashMap::new();
    for k in entries {
        let path = absolute(&k.jwks_file)?;
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let jwks: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: not a JSON Web Key Set: {e}", path.display()))?;
        if !jwks["keys"].is_array() {
            return Err(format!("{}: a JSON Web Key Set needs a \"keys\" array", path.display()));
        }
        if !k.issuer.starts_with("https://") {
            return Err(format!("oidc-keys issuer {:?} must begin with https://", k.issuer));
        }
        keys.insert(k.issuer.trim_end_matches('/').to_string(), jwks);
    }
    Ok(keys)
}

impl Config {
    pub fn resolve(args: ServeArgs) -> Result<Self, String> {
        // Every path is made absolute here, once: below this layer nothing may depend on the
        // working directory (function environments change theirs before they start).
        let config = args.config.as_deref().map(absolute).transpose()?;
        let file = match &config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let mut file = toml::from_str::<FileConfig>(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                // A relative path in the file is relative to the file, wherever the server starts.
                if let (Some(dir), Some(data_dir)) = (path.parent(), &file.data_dir) {
                    file.data_dir = Some(dir.join(data_dir));
                }
                if let Some(dir) = path.parent() {
                    for k in &mut file.oidc_keys {
                        k.jwks_file = dir.join(&k.jwks_file);
                    }
                }
                file
            }
            None => FileConfig::default(),
        };
        let in_memory = args.in_memory || file.in_memory.unwrap_or(false);
        let database_url = args.database_url.or(file.database_url).filter(|u| !u.is_empty());
        if in_memory && database_url.is_some() {
            return Err(
                "--in-memory and --database-url are exclusive: state is either in memory or in the database".into()
            );
        }
        let data_dir = if in_memory {
            None
        } else {
            Some(absolute(&args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("stratus-data")))?)
        };
        let functions_dir = match &data_dir {
            Some(d) => d.join("functions"),
            None => absolute(&std::env::temp_dir().join(format!("stratus-functions-{}", std::process::id())))?,
        };
        let cfg = Config {
            host: args.host.or(file.host).unwrap_or(IpAddr::from([127, 0, 0, 1])),
            port: args.port.or(file.port).unwrap_or(4566),
            data_dir,
            database_url,
            node_id: args.node_id.or(file.node_id),
            functions_dir,
            default_account: args
                .default_account
                .or(file.default_account)
                .unwrap_or_else(|| stratus_core::DEFAULT_ACCOUNT.into()),
            default_region: args
                .default_region
                .or(file.default_region)
                .unwrap_or_else(|| stratus_core::DEFAULT_REGION.into()),
            log_level: args.log_level.or(file.log_level).unwrap_or_else(|| "info".into()),
            log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
            auth: args.auth.or(file.auth).unwrap_or(AuthMode::Open),
            function_idle_seconds: args.function_idle_seconds.or(file.function_idle_seconds).unwrap_or(600),
            s3_lifecycle_day_seconds: args
                .s3_lifecycle_day_seconds
                .or(file.s3_lifecycle_day_seconds)
                .unwrap_or(86_400)
                .max(1),
            s3_restore_seconds: args.s3_restore_seconds.or(file.s3_restore_seconds).unwrap_or(0),
            s3_access_log_seconds: args.s3_access_log_seconds.or(file.s3_access_log_seconds).unwrap_or(10).max(1),
            credentials: file.credentials,
            issuer_keys: issuer_keys(&file.oidc_keys)?,
        };
        if let Some(id) = &cfg.node_id
            && !valid_node_id(id)
        {
            return Err(format!("node id must be 1-64 of A-Za-z0-9._-, got {id:?}"));
        }
        if !stratus_core::is_account_id(&cfg.default_account) {
            return Err(format!("default account must be 12 digits, got {:?}", cfg.default_account));
        }
        if !stratus_core::valid_region(&cfg.default_region) {
            return Err(format!("invalid default region {:?}", cfg.default_region));
        }
        if !cfg.host.is_loopback() && cfg.auth == AuthMode::Open {
            return Err(format!(
                "refusing to listen on {} in open mode: anyone who can reach it could act as any account; use --auth verify with credentials, or a loopback address",
                cfg.host
            ));
        }
        if cfg.auth != AuthMode::Open && cfg.credentials.is_empty() {
            return Err("--auth verify and --auth enforce need [[credentials]] in the config file".into());
        }
        Ok(cfg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_become_absolute() {
        let cwd = std::env::current_dir().unwrap();
        let cfg = Config::resolve(ServeArgs { data_dir: Some("rel/data".into()), ..Default::default() }).unwrap();
        assert_eq!(cfg.data_dir.as_deref(), Some(cwd.join("rel/data").as_path()));
        assert_eq!(cfg.functions_dir, cwd.join("rel/data/functions"));

        let cfg = Config::resolve(ServeArgs::default()).unwrap();
        assert_eq!(cfg.data_dir.as_deref(), Some(cwd.join("stratus-data").as_path()));

        let cfg = Config::resolve(ServeArgs { in_memory: true, ..Default::default() }).unwrap();
        assert!(cfg.data_dir.is_none());
        let both = ServeArgs { in_memory: true, database_url: Some("postgres://db".into()), ..Default::default() };
        assert!(Config::resolve(both).is_err(), "state is in memory or in the database");
        assert!(cfg.functions_dir.is_absolute());
    }

    #[test]
    fn paths_in_the_file_are_relative_to_the_file() {
        let dir = std::env::temp_dir().join(format!("stratus-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("stratus.toml");
        std::fs::write(&file, "data-dir = \"state\"\n").unwrap();
        let cfg = Config::resolve(ServeArgs { config: Some(file), ..Default::default() }).unwrap();
        assert_eq!(cfg.data_dir.as_deref(), Some(dir.join("state").as_path()));
        // A flag is relative to the working directory, as shells expect.
        let cfg = Config::resolve(ServeArgs {
            config: Some(dir.join("stratus.toml")),
            data_dir: Some("flag".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(cfg.data_dir, Some(std::env::current_dir().unwrap().join("flag")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `stratus serve` settings: flags, the same as `STRATUS_*` environment variables, and an
//! optional TOML file. Flags and variables win over the file; the file wins over defaults.

use std::net::IpAddr;
use std::path::PathBuf;

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
    default_account: Option<String>,
    default_region: Option<String>,
    log_level: Option<String>,
    log_format: Option<LogFormat>,
    auth: Option<AuthMode>,
    function_idle_seconds: Option<u64>,
    #[serde(default)]
    credentials: Vec<Credential>,
}

/// Settings after merging.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    /// `None`: in memory.
    pub data_dir: Option<PathBuf>,
    pub default_account: String,
    pub default_region: String,
    pub log_level: String,
    pub log_format: LogFormat,
    pub auth: AuthMode,
    pub function_idle_seconds: u64,
    pub credentials: Vec<Credential>,
}

impl Config {
    pub fn resolve(args: ServeArgs) -> Result<Self, String> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let in_memory = args.in_memory || file.in_memory.unwrap_or(false);
        let cfg = Config {
            host: args.host.or(file.host).unwrap_or(IpAddr::from([127, 0, 0, 1])),
            port: args.port.or(file.port).unwrap_or(4566),
            data_dir: if in_memory {
                None
            } else {
                Some(args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("stratus-data")))
            },
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
            credentials: file.credentials,
        };
        if !stratus_core::is_account_id(&cfg.default_account) {
            return Err(format!("default account must be 12 digits, got {:?}", cfg.default_account));
        }
        if !crate::gateway::valid_region(&cfg.default_region) {
            return Err(format!("invalid default region {:?}", cfg.default_region));
        }
        if !cfg.host.is_loopback() && cfg.auth == AuthMode::Open {
            return Err(format!(
                "refusing to listen on {} in open mode: anyone who can reach it could act as any account; use --auth verify with credentials, or a loopback address",
                cfg.host
            ));
        }
        if cfg.auth == AuthMode::Verify && cfg.credentials.is_empty() {
            return Err("--auth verify needs [[credentials]] in the config file".into());
        }
        Ok(cfg)
    }
}

//! The `stratus` binary: one process, one port, every service.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use stratus_core::Env;
use stratus_iam::{Authenticator, ChainedKeys, KeyStore, Mode, StaticKeys};
use stratus_lambda::Lambda;
use stratus_runtime::{RuntimeConfig, Runtimes};
use stratus_sqs::Sqs;
use stratus_storage::Store;
use tokio::net::TcpListener;

mod alb;
mod apigateway;
mod config;
mod delegation;
mod engine;
mod front;
mod functions;
mod gateway;
mod header_case;
mod http_client;
mod services;
mod sns;
mod sts;
mod tls;
mod websocket;

use config::{AuthMode, Config, LogFormat, ServeArgs};

/// Requests allocate and free many small buffers on every core at once; mimalloc's per-thread
/// free lists cost a fraction of glibc malloc's locking and consolidation there (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use gateway::{FrontDoor, Gateway};
use services::{Registration, Services};

#[derive(Parser)]
#[command(name = "stratus", version, about = "The AWS serverless stack as one self-hosted binary")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every service on one port.
    Serve(ServeArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let Command::Serve(args) = cli.command;
    let cfg = match Config::resolve(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("stratus: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(&cfg);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stratus: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(cfg)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Serves one connection (plain or TLS): HTTP/1.1, and HTTP/2 with prior knowledge or by ALPN
/// (the AWS SDK for JavaScript's Kinesis client and SubscribeToShard in the SDKs for Java speak
/// HTTP/2), with the client's spelling of HTTP/1.1 header names recorded beside hyper.
async fn serve_connection<IO>(
    io: IO,
    peer: SocketAddr,
    secure: bool,
    gw: Arc<Gateway>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30));
    builder.http2().timer(TokioTimer::new());
    let (io, heads) = header_case::Recorder::new(io);
    let conn = builder
        .serve_connection_with_upgrades(
            TokioIo::new(io),
            service_fn(move |mut req| {
                let gw = gw.clone();
                req.extensions_mut().insert(gateway::Peer(peer));
                if secure {
                    req.extensions_mut().insert(gateway::Secure);
                }
                if req.version() != http::Version::HTTP_2
                    && let Some(names) = heads.lock().ok().and_then(|mut q| q.pop_front())
                {
                    req.extensions_mut().insert(names);
                }
                async move { Ok::<_, Infallible>(gw.handle(req).await) }
            }),
        )
        .into_owned();
    let _ = watcher.watch(conn).await;
}

fn init_logging(cfg: &Config) {
    // `s3s` logs every client error (a missing key, a bad bucket name) at ERROR; S3's own
    // failures are logged by Stratus. Its logs stay available by naming it in the filter.
    let level =
        if cfg.log_level.contains("s3s") { cfg.log_level.clone() } else { format!("{},s3s=off", cfg.log_level) };
    let filter =
        tracing_subscriber::EnvFilter::try_new(&level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cfg.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn serve(cfg: Config) -> Result<(), String> {
    let _lock = cfg.data_dir.as_deref().map(lock_data_dir).transpose()?;
    let store = match (&cfg.database_url, &cfg.data_dir) {
        (Some(url), Some(dir)) => {
            // The client connects on a thread of its own (it may not block the runtime).
            let (url, blobs) = (url.clone(), dir.join("blobs"));
            tokio::task::spawn_blocking(move || stratus_storage_postgres::open(&url, &blobs))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("cannot open the database: {e}"))?
        }
        (None, Some(dir)) => stratus_storage_sqlite::open_dir(dir)
            .map_err(|e| format!("cannot open data directory {}: {e}", dir.display()))?,
        (_, None) => Store::in_memory(),
    };
    let env = Env::system();
    // On a database other nodes could share, this node registers before it writes anything.
    let node = stratus_storage::nodes::NodeRecord {
        id: config::node_id(&cfg)?,
        address: SocketAddr::new(cfg.host, cfg.port).to_string(),
        started: env.clock.now_millis(),
        heartbeat: env.clock.now_millis(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let shared = cfg.database_url.is_some();
    let evicted = Arc::new(tokio::sync::Notify::new());
    if shared {
        stratus_storage::nodes::join(&store, &node).await.map_err(|e| format!("cannot use the database: {e}"))?;
        let (store, env, evicted, mut me) = (store.clone(), env.clone(), evicted.clone(), node.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(stratus_storage::nodes::HEARTBEAT).await;
                me.heartbeat = env.clock.now_millis();
                match stratus_storage::nodes::heartbeat(&store, &me).await {
                    Ok(()) => {}
                    Err(e @ stratus_storage::nodes::Refused::Taken(_)) => {
                        tracing::error!("stopping: {e}");
                        evicted.notify_one();
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "could not renew this node's record"),
                }
            }
        });
    }
    let identity = stratus_iam_api::Identity::new(store.clone(), env.clone(), cfg.auth != AuthMode::Open)?;
    identity.start().await?;
    identity.set_issuer_keys(cfg.issuer_keys.clone());
    // Expired temporary credentials are forgotten every few minutes.
    let sweeper = identity.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(300)).await;
            match sweeper.drop_expired_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(sessions = n, "expired temporary credentials dropped"),
                Err(e) => tracing::warn!(error = %e, "could not drop expired temporary credentials"),
            }
        }
    });
    // Keys: the configured credentials (each its account's root user), then what IAM and STS issued.
    let static_keys: Arc<dyn KeyStore> = Arc::new(StaticKeys::new(cfg.credentials.clone()));
    let keys = || Box::new(ChainedKeys(vec![static_keys.clone(), identity.directory()]));
    let mode = match cfg.auth {
        AuthMode::Open => Mode::Open,
        AuthMode::Verify | AuthMode::Enforce => Mode::Verify,
    };
    let auth = Authenticator::new(mode, keys(), cfg.default_account.clone());
    let auth_for_doors = Arc::new(auth);
    let sqs = Sqs::new(store.clone(), env.clone())?;
    sqs.start();
    let logs = stratus_logs::Logs::new(store.clone(), env.clone())?;
    logs.start();
    let addr = SocketAddr::new(cfg.host, cfg.port);
    let listener = bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;

    let work_dir = cfg.functions_dir.clone();
    let sink = Arc::new(functions::LogsSink { logs: logs.clone(), handle: tokio::runtime::Handle::current() });
    // TLS on the same port, with a CA kept in the data directory that functions trust too.
    let tls_dir = cfg.data_dir.as_ref().map_or_else(|| work_dir.join("tls"), |d| d.join("tls"));
    let tls = Arc::new(tls::load_or_create(&tls_dir)?);
    let mut runtime_config = RuntimeConfig::new(work_dir.clone());
    runtime_config.ca_bundle = std::fs::read_to_string(&tls.bundle).ok();
    let ca_bundle = runtime_config.ca_bundle.clone();
    runtime_config.idle_timeout = Duration::from_secs(cfg.function_idle_seconds);
    let runtimes = Arc::new(Runtimes::new(runtime_config, sink));
    let endpoint = format!(
        "http://{}:{}",
        if local.ip().is_unspecified() { "127.0.0.1".to_string() } else { local.ip().to_string() },
        local.port()
    );
    let sns = stratus_sns::Sns::new(store.clone(), env.clone(), endpoint.clone())?;
    // HTTPS subscriptions trust what functions trust: the system's CAs and the local one.
    if let Some(bundle) = &ca_bundle {
        sns.trust(bundle)?;
    }
    let roles = (cfg.auth != AuthMode::Open).then(|| functions::RoleCredentials {
        identity: identity.clone(),
        cache: std::sync::Mutex::new(std::collections::HashMap::new()),
    });
    let executor =
        Arc::new(functions::ProcessExecutor { runtimes: runtimes.clone(), endpoint: endpoint.clone(), roles });
    let lambda = Lambda::new(store.clone(), env.clone(), executor)?;
    lambda.set_queue_source(Arc::new(engine::SqsSource { sqs: sqs.clone() }));
    // Package URLs are presigned when callers are authenticated.
    let presigner = (cfg.auth != AuthMode::Open).then(|| Arc::new(functions::CodePresigner::new(env.clone())));
    if let Some(p) = &presigner {
        lambda.set_code_urls(p.clone());
    }
    let access =
        delegation::ServiceAccess { authorizer: identity.authorizer(), enforce: cfg.auth == AuthMode::Enforce };
    if cfg.auth != AuthMode::Open {
        lambda.set_roles(Arc::new(delegation::LambdaRoles { identity: identity.clone(), access: access.clone() }));
    }
    let dynamodb = stratus_dynamodb::DynamoDb::new(store.clone(), env.clone())?;
    dynamodb.start();
    let dynamodb_streams = dynamodb.streams()?;
    let kinesis = stratus_kinesis::Kinesis::new(store.clone(), env.clone(), stratus_kinesis::Settings::default())?;
    kinesis.start();
    lambda.set_stream_source(Arc::new(engine::StreamSources {
        dynamodb: dynamodb_streams.clone(),
        kinesis: kinesis.clone(),
    }));
    lambda.start();
    sns.set_targets(Arc::new(engine::SnsTargets { sqs: sqs.clone(), lambda: lambda.clone(), access: access.clone() }));
    sns.start();
    logs.set_destinations(Arc::new(engine::LogsDestinations { access: access.clone(), kinesis: kinesis.clone() }));
    let s3 = stratus_s3::S3::new(store.clone(), env.clone());
    s3.set_settings(stratus_s3::Settings {
        day_millis: cfg.s3_lifecycle_day_seconds.saturating_mul(1000),
        restore_millis: cfg.s3_restore_seconds.saturating_mul(1000),
        access_log_millis: cfg.s3_access_log_seconds.saturating_mul(1000),
    });
    s3.start();
    logs.set_buckets(Arc::new(engine::LogsBuckets { s3: s3.clone() }));
    s3.set_targets(Arc::new(engine::S3Targets { sqs: sqs.clone(), sns: sns.clone(), access: access.clone() }));
    lambda.set_code_source(Arc::new(engine::S3Code { s3: s3.clone() }));
    identity.set_resource_policies(Arc::new(engine::ResourcePolicies {
        sqs: sqs.clone(),
        sns: sns.clone(),
        lambda: lambda.clone(),
        dynamodb: dynamodb.clone(),
        kinesis: kinesis.clone(),
    }));
    let apigw = stratus_apigateway::ApiGateway::new(store.clone(), env.clone())?;
    apigw.start().await?;
    let api_backends = Arc::new(apigateway::ApiBackends {
        lambda: lambda.clone(),
        logs: logs.clone(),
        access: access.clone(),
        enforce: cfg.auth == AuthMode::Enforce,
        endpoint: endpoint.clone(),
        identity: (cfg.auth != AuthMode::Open).then(|| identity.clone()),
        granted: Default::default(),
    });
    apigw.set_backends(api_backends.clone());
    let http_apis = stratus_apigatewayv2::ApiGatewayV2::new(store.clone(), env.clone())?;
    http_apis.start().await?;
    http_apis.set_backends(api_backends.clone());
    let codecommit_root = cfg.data_dir.as_ref().map_or_else(|| work_dir.join("codecommit"), |d| d.join("codecommit"));
    let codecommit = stratus_codecommit::CodeCommit::new(store.clone(), env.clone(), codecommit_root)?;
    let git_version = stratus_codecommit::CodeCommit::git_version().await;
    if git_version.is_none() {
        tracing::warn!("git is not installed: CodeCommit repositories cannot be created, cloned or pushed to");
    }
    codecommit.start().await?;
    let elbv2 = stratus_elbv2::Elbv2::new(store.clone(), env.clone())?;
    elbv2.start().await?;
    elbv2.set_targets(Arc::new(alb::AlbTargets {
        lambda: lambda.clone(),
        access: access.clone(),
        granted: Default::default(),
    }));
    tokio::spawn(
        engine::Engine {
            store: store.clone(),
            sqs: sqs.clone(),
            lambda: lambda.clone(),
            sns: sns.clone(),
            access,
            logs: logs.clone(),
            s3: s3.clone(),
            kinesis: kinesis.clone(),
        }
        .run(),
    );
    let s3_door = front::s3::S3Door::new(
        s3.clone(),
        auth_for_doors.mode(),
        Arc::new(ChainedKeys(vec![static_keys.clone(), identity.directory()])),
        (cfg.auth == AuthMode::Enforce).then(|| identity.authorizer()),
        cfg.default_account.clone(),
        cfg.default_region.clone(),
        env.clone(),
    );

    // Every service, once: its API, its door, its reset hook, its files and unsigned links.
    let mut services = Services::default();
    let sqs_reset = sqs.clone();
    services.register(Registration::new("sqs").api(Arc::new(sqs.clone())).on_reset(move || sqs_reset.reset()));
    let (lambda_reset, retire) = (lambda.clone(), runtimes.clone());
    services.register(
        Registration::new("lambda")
            .api(Arc::new(lambda.clone()))
            .files(Arc::new(functions::CodePackages { store: store.clone(), presigner }))
            .on_reset(move || {
                retire.retire("");
                lambda_reset.reset();
            }),
    );
    services.register(Registration::new("logs").api(Arc::new(logs.clone())));
    let dynamodb_reset = dynamodb.clone();
    services.register(
        Registration::new("dynamodb").api(Arc::new(dynamodb.clone())).on_reset(move || dynamodb_reset.reset()),
    );
    services.register(Registration::new("dynamodbstreams").api(Arc::new(dynamodb_streams)));
    services.register(Registration::new("kinesis").api(Arc::new(kinesis.clone())));
    let identity_reset = identity.clone();
    services.register(Registration::new("iam").api(Arc::new(identity.iam())).on_reset(move || identity_reset.reset()));
    services.register(Registration::new("sts").api(Arc::new(identity.sts())).unsigned(sts::web_identity_principal));
    let sns_reset = sns.clone();
    services.register(
        Registration::new("sns")
            .api(Arc::new(sns.clone()))
            .files(Arc::new(sns::SnsCertificate { sns: sns.clone() }))
            .unsigned(sns::link_principal)
            .on_reset(move || sns_reset.reset()),
    );
    let apigw_reset = apigw.clone();
    services.register(
        Registration::new("apigateway")
            .api(Arc::new(apigw.clone()))
            .door(Arc::new(front::execute_api::ExecuteApiDoor {
                apigateway: apigw.clone(),
                http_apis: http_apis.clone(),
                auth: auth_for_doors.clone(),
                env: env.clone(),
                backends: api_backends.clone(),
                runtimes: runtimes.clone(),
            }))
            .on_reset(move || apigw_reset.reset()),
    );
    let http_apis_reset = http_apis.clone();
    services
        .register(Registration::new("apigatewayv2").api(Arc::new(http_apis)).on_reset(move || http_apis_reset.reset()));
    let codecommit_reset = codecommit.clone();
    services.register(
        Registration::new("codecommit")
            .api(Arc::new(codecommit.clone()))
            .door(Arc::new(front::git::GitDoor {
                codecommit: codecommit.clone(),
                identity: (cfg.auth != AuthMode::Open).then(|| identity.clone()),
                keys: keys(),
                enforce: cfg.auth == AuthMode::Enforce,
                default_account: cfg.default_account.clone(),
                default_region: cfg.default_region.clone(),
            }))
            .on_reset(move || codecommit_reset.reset()),
    );
    let elbv2_reset = elbv2.clone();
    let alb_door = Arc::new(front::alb::AlbDoor { elbv2: elbv2.clone() });
    services.register(
        Registration::new("elasticloadbalancing")
            .api(Arc::new(elbv2.clone()))
            .door(alb_door.clone())
            .on_reset(move || elbv2_reset.reset()),
    );
    services.register(Registration::new("ec2").api(Arc::new(stratus_elbv2::Ec2::new()?)));
    front::alb::ListenerPorts { door: alb_door, host: cfg.host, main_port: local.port() }.spawn();
    services.register(Registration::new("tls").files(Arc::new(tls::CaFile { pem: tls.ca_pem.clone() })));
    let s3_reset = s3.clone();
    let website = front::website::WebsiteDoor {
        s3: s3.clone(),
        authorizer: (cfg.auth == AuthMode::Enforce).then(|| identity.authorizer()),
        default_account: cfg.default_account.clone(),
        default_region: cfg.default_region.clone(),
        env: env.clone(),
    };
    services.register(
        Registration::new("s3").door(Arc::new(website)).fallback(Arc::new(s3_door)).on_reset(move || s3_reset.reset()),
    );

    let names = services.names();
    let auth = auth_for_doors;
    let platform = front::platform::PlatformDoor::new(
        &mut services,
        store.clone(),
        auth.clone(),
        env.clone(),
        cfg.data_dir.is_some(),
        git_version,
        front::platform::NodeInfo { record: node.clone(), shared },
    );
    let authorizer = (cfg.auth == AuthMode::Enforce).then(|| identity.authorizer());
    let aws = front::aws::AwsDoor::new(&mut services, auth, authorizer, env.clone(), cfg.default_region.clone());
    // Platform first, then the services' own doors, the AWS APIs, and S3 for what is left.
    let mut doors: Vec<Arc<dyn FrontDoor>> = vec![Arc::new(platform)];
    doors.extend(services.list.iter().filter_map(|r| r.door.clone()));
    doors.push(Arc::new(aws));
    doors.extend(services.list.iter().filter_map(|r| r.fallback.clone()));
    let gateway = Arc::new(Gateway::new(doors));
    let data = match &cfg.data_dir {
        Some(d) => std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()).display().to_string(),
        None => "memory (nothing is kept)".to_string(),
    };
    tracing::info!(
        "Stratus {} listening on http://{local}, data in {data}, auth {:?}, services: {}",
        env!("CARGO_PKG_VERSION"),
        cfg.auth,
        names.join(", ")
    );

    let graceful = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (gw, tls, watcher) = (gateway.clone(), tls.clone(), graceful.watcher());
                tokio::spawn(async move {
                    // TLS and plain HTTP share the port: a handshake starts with 0x16.
                    let mut first = [0u8; 1];
                    match tokio::time::timeout(Duration::from_secs(30), stream.peek(&mut first)).await {
                        Ok(Ok(1)) if first[0] == 0x16 => {
                            match tokio::time::timeout(Duration::from_secs(10), tls.acceptor.accept(stream)).await {
                                Ok(Ok(tls_stream)) => serve_connection(tls_stream, peer, true, gw, watcher).await,
                                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        }
                        Ok(Ok(_)) => serve_connection(stream, peer, false, gw, watcher).await,
                        _ => {}
                    }
                });
            }
            _ = &mut shutdown => break,
            _ = evicted.notified() => break,
        }
    }
    tracing::info!("shutting down: finishing in-flight requests");
    drop(listener);
    sqs.shutdown();
    lambda.shutdown();
    logs.shutdown();
    sns.shutdown();
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => tracing::warn!("some connections did not finish in 10 s"),
    }
    runtimes.shutdown().await;
    if cfg.data_dir.is_none() {
        // In memory mode nothing is kept, the functions' scratch space included.
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    if shared && let Err(e) = stratus_storage::nodes::leave(&store, &node.id).await {
        tracing::warn!(error = %e, "could not remove this node's record");
    }
    store.close();
    tracing::info!("stopped; storage closed cleanly");
    Ok(())
}

/// Binds the listening socket. After a crash, connections the dead process had accepted linger
/// (FIN-WAIT-2 until their clients close them) and would keep the port "in use" for a minute
/// even with SO_REUSEADDR. So the listener is bound with SO_REUSEPORT too — which would also
/// let a second live server share the port, so first make sure nobody is accepting on it.
async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    if tokio::net::TcpStream::connect(addr).await.is_ok() {
        return Err(std::io::Error::new(std::io::ErrorKind::AddrInUse, "another process is listening on it"));
    }
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Holds an exclusive lock on the data directory for the life of the process, so that two
/// servers never write the same files.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // A child process the previous server was starting when it died may still hold a copy
    // of the descriptor for a moment (between fork and exec), so wait briefly for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!("data directory {} is in use by another Stratus process", dir.display()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(format!("cannot lock {}: {e}", path.display())),
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

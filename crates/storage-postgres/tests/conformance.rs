//! The PostgreSQL backend against the conformance suite, plus durability across reopen, on a
//! throwaway cluster (`initdb` and `pg_ctl` in a temporary directory; as root they run as the
//! `postgres` user). Skipped, saying so, where PostgreSQL is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use stratus_storage::conformance;

struct Cluster {
    dir: PathBuf,
    url: String,
    as_postgres: bool,
}

fn tool(name: &str) -> Option<PathBuf> {
    let candidates = [format!("/usr/local/bin/{name}"), format!("/usr/bin/{name}")];
    let mut found: Vec<PathBuf> = candidates.iter().map(PathBuf::from).collect();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for e in entries.flatten() {
            found.push(e.path().join("bin").join(name));
        }
    }
    found.into_iter().find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(55432)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run(as_postgres: bool, program: &Path, args: &[&str]) -> bool {
    let status = if as_postgres {
        Command::new("runuser").arg("-u").arg("postgres").arg("--").arg(program).args(args).status()
    } else {
        Command::new(program).args(args).status()
    };
    status.is_ok_and(|s| s.success())
}

impl Cluster {
    fn start(name: &str) -> Option<Cluster> {
        let (initdb, pg_ctl) = (tool("initdb")?, tool("pg_ctl")?);
        let dir = std::env::temp_dir().join(format!("stratus-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        let as_postgres = is_root();
        if as_postgres {
            Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().ok()?;
        }
        let data = dir.join("data");
        let data_s = data.to_string_lossy().to_string();
        let dir_s = dir.to_string_lossy().to_string();
        if !run(as_postgres, &initdb, &["-D", &data_s, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]) {
            return None;
        }
        let port = free_port();
        let opts = format!("-p {port} -k {dir_s} -c listen_addresses=127.0.0.1 -c fsync=on");
        let log = dir.join("log").to_string_lossy().to_string();
        if !run(as_postgres, &pg_ctl, &["-D", &data_s, "-o", &opts, "-l", &log, "-w", "start"]) {
            return None;
        }
        Some(Cluster { url: format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"), dir, as_postgres })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(pg_ctl) = tool("pg_ctl") {
            let data = self.dir.join("data").to_string_lossy().to_string();
            run(self.as_postgres, &pg_ctl, &["-D", &data, "-m", "immediate", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A throwaway cluster; `None` (said on stderr) without PostgreSQL.
async fn cluster(name: &'static str) -> Option<Cluster> {
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(name)).await.expect("join");
    if cluster.is_none() {
        eprintln!("PostgreSQL (initdb, pg_ctl) is not installed here: the PostgreSQL backend was not checked");
    }
    cluster
}

/// A throwaway cluster and a store on it.
async fn started(name: &'static str) -> Option<(Cluster, stratus_storage::Store)> {
    let cluster = cluster(name).await?;
    let (url, blobs) = (cluster.url.clone(), cluster.dir.join("blobs"));
    let store = tokio::task::spawn_blocking(move || stratus_storage_postgres::open(&url, &blobs))
        .await
        .expect("join")
        .expect("open");
    Some((cluster, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backend_conforms_and_keeps_acknowledged_writes() {
    let Some((cluster, store)) = started("conform").await else { return };
    let blobs = cluster.dir.join("blobs");
    conformance::run_all(&store).await;
    store.close();
    let url = cluster.url.clone();
    conformance::check_reopen(move || {
        tokio::task::block_in_place(|| stratus_storage_postgres::open(&url, &blobs).expect("open"))
    })
    .await;
}

/// Ends every other session on the cluster's database, as a restart or failover would.
fn drop_sessions(url: &str) -> u64 {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("admin connection");
    let rows = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE pid <> pg_backend_pid() AND datname = current_database()",
            &[],
        )
        .expect("terminate");
    rows.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_and_readers_connect_again_after_the_database_drops_them() {
    let Some((cluster, store)) = started("dropped").await else { return };
    for round in 0..3u8 {
        let key = [b'k', round];
        store.write(move |t| t.put(&key, b"before")).await.expect("write");
        assert_eq!(store.read(move |r| r.get(&key)).await.expect("read"), Some(b"before".to_vec()));
        let url = cluster.url.clone();
        let dropped = tokio::task::spawn_blocking(move || drop_sessions(&url)).await.expect("join");
        assert!(dropped >= 2, "round {round}: the writer's and a reader's sessions were ended ({dropped})");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // The next write and read run on new connections; nothing acknowledged was lost.
        store.write(move |t| t.put(&key, b"after")).await.expect("a write after the drop");
        assert_eq!(store.read(move |r| r.get(&key)).await.expect("a read after the drop"), Some(b"after".to_vec()));
    }
    store.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_over_postgres_surface_and_lost_acks_still_commit() {
    use std::sync::Arc;
    use stratus_storage::faulty::FaultyBackend;
    use stratus_storage::{MemBlobs, Store};

    let Some(cluster) = cluster("faulty").await else { return };
    let url = cluster.url.clone();
    let inner = tokio::task::spawn_blocking(move || stratus_storage_postgres::PostgresBackend::open(&url))
        .await
        .expect("join")
        .expect("open");
    let faulty = Arc::new(FaultyBackend::new(Arc::new(inner)));
    let store = Store::new(faulty.clone(), Arc::new(MemBlobs::default()));
    conformance::check_faults(&faulty, &store).await;
    store.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_with_a_newer_schema_is_refused() {
    let Some((cluster, store)) = started("schema").await else { return };
    store.close();
    let url = cluster.url.clone();
    let refused = tokio::task::spawn_blocking(move || {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("admin connection");
        let newer = stratus_storage_postgres::SCHEMA_VERSION + 1;
        admin.execute("UPDATE stratus_schema SET version = $1", &[&newer]).expect("update");
        stratus_storage_postgres::PostgresBackend::open(&url).err()
    })
    .await
    .expect("join");
    let e = refused.expect("a newer schema must be refused").to_string();
    assert!(e.contains("newer than this Stratus knows"), "{e}");
}

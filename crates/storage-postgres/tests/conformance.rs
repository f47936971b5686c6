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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backend_conforms_and_keeps_acknowledged_writes() {
    let Some(cluster) = tokio::task::spawn_blocking(|| Cluster::start("conform")).await.expect("join") else {
        eprintln!("PostgreSQL (initdb, pg_ctl) is not installed here: the PostgreSQL backend was not checked");
        return;
    };
    let blobs = cluster.dir.join("blobs");
    let (url, b) = (cluster.url.clone(), blobs.clone());
    let store = tokio::task::spawn_blocking(move || stratus_storage_postgres::open(&url, &b))
        .await
        .expect("join")
        .expect("open");
    conformance::run_all(&store).await;
    store.close();
    let url = cluster.url.clone();
    conformance::check_reopen(move || {
        tokio::task::block_in_place(|| stratus_storage_postgres::open(&url, &blobs).expect("open"))
    })
    .await;
}

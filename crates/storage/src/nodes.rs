//! The nodes that use a store: each writes its record (`\0sys/node/{id}`) at start and again
//! every [`HEARTBEAT`]; a record whose heartbeat is older than [`LIVE_WITHIN`] belongs to a node
//! that stopped or died. `GET /_stratus/cluster` lists the live ones.
//!
//! Several nodes on one database need leases for background work and serializable retries,
//! which are not built yet; until then a node refuses to join a database another live node
//! uses ([`join`]), and of two nodes that raced past that check the later one learns it at its
//! next heartbeat ([`heartbeat`] answers `Err(Taken)`) and stops.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Store, StoreError, scan_prefix, sys_key};

/// How often a node renews its record.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A node whose record was not renewed for this long is gone.
pub const LIVE_WITHIN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    pub id: String,
    /// Where the node listens (`host:port`).
    pub address: String,
    /// Milliseconds since the epoch.
    pub started: u64,
    pub heartbeat: u64,
    pub version: String,
}

/// Why a node may not use the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Another live node uses it.
    Taken(NodeRecord),
    Store(StoreError),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Taken(other) => write!(
                f,
                "another Stratus node ({} at {}, started {} ms after the epoch) uses this database; \
                 several nodes on one database are not supported yet",
                other.id, other.address, other.started
            ),
            Refused::Store(e) => write!(f, "{e}"),
        }
    }
}

const KIND: &str = "node";

fn prefix() -> Vec<u8> {
    sys_key(KIND, "")
}

fn live(records: Vec<(Vec<u8>, Vec<u8>)>, now: u64) -> Vec<NodeRecord> {
    let within = LIVE_WITHIN.as_millis() as u64;
    records
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice::<NodeRecord>(&v).ok())
        .filter(|n| n.heartbeat + within >= now)
        .collect()
}

/// The node of the two that keeps the store when both claimed it: the one that started first
/// (then the smaller id), so that both come to the same answer.
fn first(a: &NodeRecord, b: &NodeRecord) -> bool {
    (a.started, &a.id) < (b.started, &b.id)
}

/// Writes `me`'s record unless another live node uses the store. `me.heartbeat` is now.
pub async fn join(store: &Store, me: &NodeRecord) -> Result<(), Refused> {
    renew(store, me, false).await
}

/// Renews `me`'s record. `Err(Taken)` when another live node that started first uses the store
/// too (both passed [`join`] at once): this node must stop.
pub async fn heartbeat(store: &Store, me: &NodeRecord) -> Result<(), Refused> {
    renew(store, me, true).await
}

async fn renew(store: &Store, me: &NodeRecord, joined: bool) -> Result<(), Refused> {
    let me = me.clone();
    store
        .write(move |t| {
            let others: Vec<NodeRecord> = live(scan_prefix(t, &prefix(), usize::MAX)?, me.heartbeat)
                .into_iter()
                .filter(|n| n.id != me.id)
                .collect();
            let winner = others.into_iter().find(|o| !joined || first(o, &me));
            if let Some(other) = winner {
                return Ok(Err(Refused::Taken(other)));
            }
            let bytes = serde_json::to_vec(&me).map_err(|e| StoreError::Io(e.to_string()))?;
            t.put(&sys_key(KIND, &me.id), &bytes)?;
            Ok::<_, StoreError>(Ok(()))
        })
        .await
        .map_err(Refused::Store)?
}

/// The live nodes, by id.
pub async fn list(store: &Store, now: u64) -> Result<Vec<NodeRecord>, StoreError> {
    let mut nodes = store.read(move |r| Ok::<_, StoreError>(live(scan_prefix(r, &prefix(), usize::MAX)?, now))).await?;
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(nodes)
}

/// Removes `id`'s record (a clean stop).
pub async fn leave(store: &Store, id: &str) -> Result<(), StoreError> {
    let key = sys_key(KIND, id);
    store.write(move |t| t.delete(&key)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, started: u64, heartbeat: u64) -> NodeRecord {
        NodeRecord { id: id.into(), address: "127.0.0.1:1".into(), started, heartbeat, version: "t".into() }
    }

    #[tokio::test]
    async fn one_live_node_per_store_and_the_later_of_two_stops() {
        let store = Store::in_memory();
        let a = node("a", 1_000, 1_000);
        join(&store, &a).await.expect("the first node joins");
        assert_eq!(list(&store, 1_500).await.expect("list"), std::slice::from_ref(&a));
        // Another node may not join while `a` is live...
        let b = node("b", 2_000, 2_000);
        assert_eq!(join(&store, &b).await, Err(Refused::Taken(a.clone())));
        // ...and may once `a` stopped renewing its record.
        let late = node("b", 7_000, 7_000);
        join(&store, &late).await.expect("joins after a's record went stale");
        assert_eq!(list(&store, 7_000).await.expect("list"), std::slice::from_ref(&late));
        // Two nodes that both got in: the one that started first keeps renewing, the other
        // learns it must stop.
        let c = node("c", 6_000, 7_100);
        store
            .write({
                let c = c.clone();
                move |t| t.put(&sys_key(KIND, "c"), &serde_json::to_vec(&c).expect("json"))
            })
            .await
            .expect("c slipped in");
        let c_beat = node("c", 6_000, 7_200);
        heartbeat(&store, &c_beat).await.expect("c started first: it stays");
        let late_beat = node("b", 7_000, 7_300);
        assert!(matches!(heartbeat(&store, &late_beat).await, Err(Refused::Taken(n)) if n.id == "c"));
        leave(&store, "b").await.expect("leave");
        assert_eq!(list(&store, 7_300).await.expect("list").iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["c"]);
    }
}

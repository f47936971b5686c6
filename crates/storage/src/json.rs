//! Records kept as JSON documents (a service's resources in AWS's own shapes): read, write and
//! list them, with storage failures and undecodable records as `AwsError`s.

use serde::Serialize;
use serde::de::DeserializeOwned;
use stratus_core::AwsError;

use crate::{ReadTxn, StoreError, Txn};

fn store_err(e: StoreError) -> AwsError {
    AwsError::internal(format!("storage: {e}"))
}

/// The record at `key`, if there is one.
pub fn get<T: DeserializeOwned>(r: &mut dyn ReadTxn, key: &str) -> Result<Option<T>, AwsError> {
    match r.get(key.as_bytes()).map_err(store_err)? {
        Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| AwsError::internal(format!("corrupt {key}: {e}"))),
        None => Ok(None),
    }
}

pub fn put<T: Serialize>(t: &mut dyn Txn, key: &str, v: &T) -> Result<(), AwsError> {
    let bytes = serde_json::to_vec(v).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(key.as_bytes(), &bytes).map_err(store_err)
}

/// Every record under `prefix`, in key order.
pub fn list<T: DeserializeOwned>(r: &mut dyn ReadTxn, prefix: &str) -> Result<Vec<T>, AwsError> {
    let rows = crate::scan_prefix(r, prefix.as_bytes(), usize::MAX).map_err(store_err)?;
    rows.into_iter()
        .map(|(k, v)| {
            serde_json::from_slice(&v)
                .map_err(|e| AwsError::internal(format!("corrupt {}: {e}", String::from_utf8_lossy(&k))))
        })
        .collect()
}

/// Deletes every key under `prefix`.
pub fn delete_prefix(t: &mut dyn Txn, prefix: &str) -> Result<(), AwsError> {
    let end = crate::prefix_end(prefix.as_bytes());
    t.delete_range(prefix.as_bytes(), end.as_deref()).map_err(store_err)
}

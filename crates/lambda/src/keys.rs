//! Where Lambda keeps things in the store.
//!
//! - `lambda/f/{account}/{region}/{name}` → function record ($LATEST configuration, counters,
//!   tags, policy, concurrency, event invoke configs)
//! - `lambda/v/{account}/{region}/{name}/{version:010}` → a published version's configuration
//! - `lambda/a/{account}/{region}/{name}/{alias}` → alias
//! - `lambda/l/{account}/{region}/{layer}/{version:010}` → layer version
//! - `lambda/esm/{uuid}` → event source mapping
//! - blob `lambda-code/{sha256 hex}` → deployment package or layer archive (content-addressed)

pub fn function(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("lambda/f/{account}/{region}/{name}").into_bytes()
}

pub fn functions(account: &str, region: &str) -> Vec<u8> {
    format!("lambda/f/{account}/{region}/").into_bytes()
}

pub fn version(account: &str, region: &str, name: &str, version: u64) -> Vec<u8> {
    format!("lambda/v/{account}/{region}/{name}/{version:010}").into_bytes()
}

pub fn versions(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("lambda/v/{account}/{region}/{name}/").into_bytes()
}

pub fn alias(account: &str, region: &str, name: &str, alias: &str) -> Vec<u8> {
    format!("lambda/a/{account}/{region}/{name}/{alias}").into_bytes()
}

pub fn aliases(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("lambda/a/{account}/{region}/{name}/").into_bytes()
}

pub fn layers(account: &str, region: &str) -> Vec<u8> {
    format!("lambda/l/{account}/{region}/").into_bytes()
}

pub fn layer_versions(account: &str, region: &str, layer: &str) -> Vec<u8> {
    format!("lambda/l/{account}/{region}/{layer}/").into_bytes()
}

pub fn layer_version(account: &str, region: &str, layer: &str, version: u64) -> Vec<u8> {
    format!("lambda/l/{account}/{region}/{layer}/{version:010}").into_bytes()
}

pub fn mappings() -> Vec<u8> {
    b"lambda/esm/".to_vec()
}

pub fn mapping(uuid: &str) -> Vec<u8> {
    format!("lambda/esm/{uuid}").into_bytes()
}

pub fn code_blob(sha256_hex: &str) -> String {
    format!("lambda-code/{sha256_hex}")
}

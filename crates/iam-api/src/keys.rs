//! Where IAM keeps things in the store. IAM is global: an account's entities are not
//! per region. Names of users, groups, roles and policies are unique in an account regardless
//! of case, so their keys hold the lower-cased name (records keep the name as given).
//!
//! - `iam/u/{account}/{name}` → user (inline policies, attached policies, tags inside)
//! - `iam/g/{account}/{name}` → group (members inside)
//! - `iam/r/{account}/{name}` → role
//! - `iam/p/{account}/{name}` → customer managed policy (its versions inside)
//! - `iam/k/{access key id}` → an IAM user's access key
//! - `iam/s/{access key id}` → temporary credentials (STS)
//! - `iam/c/{credential id}` → an IAM user's service-specific credential
//! - `iam/o/{account}/{url}` → an OpenID Connect provider (its URL without `https://`)

pub fn entity(kind: Kind, account: &str, name: &str) -> Vec<u8> {
    format!("iam/{}/{account}/{}", kind.letter(), name.to_lowercase()).into_bytes()
}

pub fn entities(kind: Kind, account: &str) -> Vec<u8> {
    format!("iam/{}/{account}/", kind.letter()).into_bytes()
}

pub fn access_key(id: &str) -> Vec<u8> {
    format!("iam/k/{id}").into_bytes()
}

pub const ACCESS_KEYS: &[u8] = b"iam/k/";

pub fn session(id: &str) -> Vec<u8> {
    format!("iam/s/{id}").into_bytes()
}

pub const SESSIONS: &[u8] = b"iam/s/";

pub fn service_credential(id: &str) -> Vec<u8> {
    format!("iam/c/{id}").into_bytes()
}

pub const SERVICE_CREDENTIALS: &[u8] = b"iam/c/";

pub fn oidc_provider(account: &str, url: &str) -> Vec<u8> {
    format!("iam/o/{account}/{url}").into_bytes()
}

pub fn oidc_providers(account: &str) -> Vec<u8> {
    format!("iam/o/{account}/").into_bytes()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
    Role,
    Policy,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::User => 'u',
            Kind::Group => 'g',
            Kind::Role => 'r',
            Kind::Policy => 'p',
        }
    }
}

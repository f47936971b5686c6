//! The keys IAM and STS issued, in memory, so that every request can be authenticated without
//! reading the store: loaded at start, updated after each committed change. Inactive keys and
//! expired sessions are not in it.

use std::collections::HashMap;
use std::sync::RwLock;

use stratus_iam::{Credential, Identity, KeyStore};
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, scan_prefix};

use crate::keys;
use crate::types::{AccessKeyRecord, SessionOf, SessionRecord, arn, decode};

#[derive(Default)]
pub struct Directory {
    keys: RwLock<HashMap<String, Credential>>,
}

fn user_identity(k: &AccessKeyRecord, user_id: &str, path: &str) -> Identity {
    Identity::User { name: k.user.clone(), id: user_id.to_string(), arn: arn(&k.account, "user", path, &k.user) }
}

impl Directory {
    /// Loads every active key and unexpired session from the store.
    pub fn load(&self, r: &mut dyn ReadTxn) -> Result<(), AwsError> {
        let mut map = HashMap::new();
        for (_, v) in scan_prefix(r, keys::ACCESS_KEYS, usize::MAX)? {
            let k: AccessKeyRecord = decode(&v)?;
            let user = crate::entities::find::<crate::types::UserRecord>(r, &k.account, &k.user)?;
            if let (Some(u), true) = (user, k.status == "Active") {
                map.insert(k.id.clone(), key_credential(&k, &u.id, &u.path));
            }
        }
        for (_, v) in scan_prefix(r, keys::SESSIONS, usize::MAX)? {
            let s: SessionRecord = decode(&v)?;
            map.insert(s.id.clone(), session_credential(&s));
        }
        if let Ok(mut keys) = self.keys.write() {
            *keys = map;
        }
        Ok(())
    }

    pub fn clear(&self) {
        if let Ok(mut keys) = self.keys.write() {
            keys.clear();
        }
    }

    /// Adds or replaces an access key (removes it when inactive).
    pub fn put_key_for(&self, k: &AccessKeyRecord, user_id: &str, path: &str) {
        if let Ok(mut keys) = self.keys.write() {
            if k.status == "Active" {
                keys.insert(k.id.clone(), key_credential(k, user_id, path));
            } else {
                keys.remove(&k.id);
            }
        }
    }

    pub fn put_session(&self, s: &SessionRecord) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(s.id.clone(), session_credential(s));
        }
    }

    pub fn remove(&self, id: &str) {
        if let Ok(mut keys) = self.keys.write() {
            keys.remove(id);
        }
    }

    /// Who an access key acts as (the root user for keys IAM did not issue).
    pub fn identity_of(&self, access_key: Option<&str>) -> Identity {
        access_key
            .and_then(|k| self.keys.read().ok().and_then(|m| m.get(k).map(|c| c.identity.clone())))
            .unwrap_or_default()
    }

    /// The IAM user a key belongs to (its access keys and its session tokens).
    pub fn user_of_key(&self, access_key: Option<&str>) -> Option<String> {
        match self.identity_of(access_key) {
            Identity::User { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The account a key belongs to, if IAM issued it.
    pub fn account_of(&self, access_key: &str) -> Option<String> {
        self.keys.read().ok().and_then(|m| m.get(access_key).map(|c| c.account.clone()))
    }
}

fn key_credential(k: &AccessKeyRecord, user_id: &str, path: &str) -> Credential {
    Credential {
        access_key_id: k.id.clone(),
        secret_access_key: k.secret.clone(),
        account: k.account.clone(),
        identity: user_identity(k, user_id, path),
        ..Default::default()
    }
}

fn session_credential(s: &SessionRecord) -> Credential {
    let identity = match &s.of {
        SessionOf::Role { role_name, role_id, role_arn, session_name } => Identity::Role {
            role_name: role_name.clone(),
            role_id: role_id.clone(),
            role_arn: role_arn.clone(),
            session_name: session_name.clone(),
        },
        SessionOf::User { name, id, arn } => Identity::User { name: name.clone(), id: id.clone(), arn: arn.clone() },
        SessionOf::Root => Identity::Root,
    };
    Credential {
        access_key_id: s.id.clone(),
        secret_access_key: s.secret.clone(),
        account: s.account.clone(),
        session_token: Some(s.token.clone()),
        expires: Some(s.expires),
        identity,
        ..Default::default()
    }
}

impl KeyStore for Directory {
    fn lookup(&self, access_key: &str) -> Option<Credential> {
        self.keys.read().ok()?.get(access_key).cloned()
    }
}

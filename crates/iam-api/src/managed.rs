//! AWS managed policies (`arn:aws:iam::aws:policy/…`), vendored as data
//! (`data/aws-managed-policies.json`, refreshed by `scripts/vendor-managed-policies.py` from a
//! published copy, drift-checked by the test command): attachable in every account, read-only.

use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Managed {
    pub policy_name: String,
    pub path: String,
    pub policy_id: String,
    pub arn: String,
    pub default_version_id: String,
    pub description: String,
    pub document: Value,
    pub create_date: String,
    /// When its default version was made.
    pub update_date: String,
}

#[derive(Deserialize)]
struct File {
    policies: Vec<Managed>,
}

static POLICIES: LazyLock<Vec<Managed>> = LazyLock::new(|| {
    serde_json::from_str::<File>(include_str!("../data/aws-managed-policies.json"))
        .map(|f| f.policies)
        .unwrap_or_default()
});

pub fn all() -> &'static [Managed] {
    &POLICIES
}

pub fn find(arn: &str) -> Option<&'static Managed> {
    POLICIES.iter().find(|p| p.arn == arn)
}

impl Managed {
    pub fn document_text(&self) -> String {
        self.document.to_string()
    }

    pub fn created_secs(&self) -> u64 {
        stratus_core::time::parse_iso8601_millis(&self.create_date).map(|m| m / 1000).unwrap_or(0)
    }

    pub fn updated_secs(&self) -> u64 {
        stratus_core::time::parse_iso8601_millis(&self.update_date).map(|m| m / 1000).unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn the_vendored_policies_load_and_parse() {
        let all = super::all();
        assert!(all.len() >= 15, "{}", all.len());
        let basic = super::find("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole").unwrap();
        assert_eq!(basic.policy_name, "AWSLambdaBasicExecutionRole");
        for p in all {
            assert_eq!(p.arn, format!("arn:aws:iam::aws:policy{}{}", p.path, p.policy_name));
            assert!(p.policy_id.starts_with("ANPA"), "{}", p.policy_id);
            stratus_iam::policy::Policy::parse(&p.document_text(), stratus_iam::policy::PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{}: {}", p.policy_name, e.message));
            assert!(p.created_secs() > 0);
            assert!(p.updated_secs() >= p.created_secs(), "{}", p.policy_name);
        }
    }
}

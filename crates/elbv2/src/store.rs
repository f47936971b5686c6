//! What is stored, and under which keys. Each resource keeps AWS's shape (the model's member
//! names: `LoadBalancer`, `Listener`, `Rule`, `TargetGroup`) as answered, beside what only
//! this server needs (attributes, tags, registered targets).
//!
//! Keys, under `elb/`:
//! - `{account}/{region}/lb/{name}` → [`LbDoc`] (names are unique per account and region; an
//!   ARN names its load balancer, so a lookup by ARN is one `get` and a comparison)
//! - `{account}/{region}/listener/{lb id}/{listener id}` → [`ListenerDoc`]
//! - `{account}/{region}/rule/{listener id}/{rule id}` → [`RuleDoc`] (the default rule too)
//! - `{account}/{region}/tg/{name}` → [`TgDoc`]
//! - `dns/{dns name}` → `{account}/{region}/{lb name}`: the data plane finds a load balancer by
//!   its host name (kept in memory too, see `Elbv2::is_load_balancer_host`)
//! - `port/{port}/{listener arn}` → empty: every listener by port, for the listeners' own ports

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stratus_proto::AwsError;
use stratus_storage::ReadTxn;

pub const PREFIX: &str = "elb/";

pub fn scope(account: &str, region: &str) -> String {
    format!("{PREFIX}{account}/{region}/")
}

pub fn lb_key(account: &str, region: &str, name: &str) -> String {
    format!("{}lb/{name}", scope(account, region))
}

pub fn lbs_prefix(account: &str, region: &str) -> String {
    format!("{}lb/", scope(account, region))
}

pub fn listener_key(account: &str, region: &str, lb_id: &str, id: &str) -> String {
    format!("{}listener/{lb_id}/{id}", scope(account, region))
}

pub fn listeners_prefix(account: &str, region: &str, lb_id: &str) -> String {
    format!("{}listener/{lb_id}/", scope(account, region))
}

pub fn all_listeners_prefix(account: &str, region: &str) -> String {
    format!("{}listener/", scope(account, region))
}

pub fn rule_key(account: &str, region: &str, listener_id: &str, id: &str) -> String {
    format!("{}rule/{listener_id}/{id}", scope(account, region))
}

pub fn rules_prefix(account: &str, region: &str, listener_id: &str) -> String {
    format!("{}rule/{listener_id}/", scope(account, region))
}

pub fn all_rules_prefix(account: &str, region: &str) -> String {
    format!("{}rule/", scope(account, region))
}

pub fn tg_key(account: &str, region: &str, name: &str) -> String {
    format!("{}tg/{name}", scope(account, region))
}

pub fn tgs_prefix(account: &str, region: &str) -> String {
    format!("{}tg/", scope(account, region))
}

pub fn dns_key(dns: &str) -> String {
    format!("{PREFIX}dns/{}", dns.to_ascii_lowercase())
}

pub const DNS_PREFIX: &str = "elb/dns/";
pub const PORT_PREFIX: &str = "elb/port/";

pub fn port_key(port: u16, listener_arn: &str) -> String {
    format!("{PORT_PREFIX}{port}/{listener_arn}")
}

pub type Tags = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LbDoc {
    /// The LoadBalancer shape.
    pub lb: Value,
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListenerDoc {
    /// The Listener shape.
    pub listener: Value,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleDoc {
    /// The Rule shape (`Priority` a string, `default` for the listener's default rule).
    pub rule: Value,
    pub listener_arn: String,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TgDoc {
    /// The TargetGroup shape (without `LoadBalancerArns`, which follows from the listeners).
    pub tg: Value,
    pub attributes: BTreeMap<String, String>,
    /// Registered targets (TargetDescription shapes), in registration order.
    #[serde(default)]
    pub targets: Vec<Value>,
    #[serde(default)]
    pub tags: Tags,
}

pub fn store_err(e: stratus_storage::StoreError) -> AwsError {
    AwsError::internal(e.to_string())
}

pub use stratus_storage::json::{get as get_json, list as scan_json, put as put_json};

/// A load balancer ARN's parts: `(account, region, name, id)`.
pub fn parse_lb_arn(arn: &str) -> Option<(String, String, String, String)> {
    let a = stratus_core::Arn::parse(arn)?;
    let rest = a.resource.strip_prefix("loadbalancer/app/")?;
    let (name, id) = rest.split_once('/')?;
    (a.service == "elasticloadbalancing" && !name.is_empty() && !id.contains('/'))
        .then(|| (a.account.to_string(), a.region.to_string(), name.to_string(), id.to_string()))
}

/// A listener ARN's parts: `(account, region, lb name, lb id, listener id)`.
pub fn parse_listener_arn(arn: &str) -> Option<(String, String, String, String, String)> {
    let a = stratus_core::Arn::parse(arn)?;
    let rest = a.resource.strip_prefix("listener/app/")?;
    let mut p = rest.split('/');
    let (name, lb, id) = (p.next()?, p.next()?, p.next()?);
    (a.service == "elasticloadbalancing" && p.next().is_none())
        .then(|| (a.account.to_string(), a.region.to_string(), name.to_string(), lb.to_string(), id.to_string()))
}

/// A rule ARN's parts: `(account, region, listener id, rule id)`.
pub fn parse_rule_arn(arn: &str) -> Option<(String, String, String, String)> {
    let a = stratus_core::Arn::parse(arn)?;
    let rest = a.resource.strip_prefix("listener-rule/app/")?;
    let mut p = rest.split('/');
    let (_name, _lb, listener, id) = (p.next()?, p.next()?, p.next()?, p.next()?);
    (a.service == "elasticloadbalancing" && p.next().is_none())
        .then(|| (a.account.to_string(), a.region.to_string(), listener.to_string(), id.to_string()))
}

/// A target group ARN's parts: `(account, region, name)`.
pub fn parse_tg_arn(arn: &str) -> Option<(String, String, String)> {
    let a = stratus_core::Arn::parse(arn)?;
    let rest = a.resource.strip_prefix("targetgroup/")?;
    let (name, _id) = rest.split_once('/')?;
    (a.service == "elasticloadbalancing").then(|| (a.account.to_string(), a.region.to_string(), name.to_string()))
}

/// 16 lower-case hex digits, as the ids in elbv2 ARNs.
pub fn hex_id(ids: &dyn stratus_core::IdSource) -> String {
    hex::encode(&ids.random_bytes()[..8])
}

pub fn str_of<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Loads a target group by ARN in the caller's account and region.
pub fn load_tg(r: &mut dyn ReadTxn, account: &str, region: &str, arn: &str) -> Result<Option<TgDoc>, AwsError> {
    let Some((a, reg, name)) = parse_tg_arn(arn) else { return Ok(None) };
    if a != account || reg != region {
        return Ok(None);
    }
    let doc: Option<TgDoc> = get_json(r, &tg_key(account, region, &name))?;
    Ok(doc.filter(|d| str_of(&d.tg, "TargetGroupArn") == arn))
}

pub fn load_lb(r: &mut dyn ReadTxn, account: &str, region: &str, arn: &str) -> Result<Option<LbDoc>, AwsError> {
    let Some((a, reg, name, _)) = parse_lb_arn(arn) else { return Ok(None) };
    if a != account || reg != region {
        return Ok(None);
    }
    let doc: Option<LbDoc> = get_json(r, &lb_key(account, region, &name))?;
    Ok(doc.filter(|d| str_of(&d.lb, "LoadBalancerArn") == arn))
}

pub fn load_listener(
    r: &mut dyn ReadTxn,
    account: &str,
    region: &str,
    arn: &str,
) -> Result<Option<ListenerDoc>, AwsError> {
    let Some((a, reg, _, lb, id)) = parse_listener_arn(arn) else { return Ok(None) };
    if a != account || reg != region {
        return Ok(None);
    }
    let doc: Option<ListenerDoc> = get_json(r, &listener_key(account, region, &lb, &id))?;
    Ok(doc.filter(|d| str_of(&d.listener, "ListenerArn") == arn))
}

pub fn load_rule(r: &mut dyn ReadTxn, account: &str, region: &str, arn: &str) -> Result<Option<RuleDoc>, AwsError> {
    let Some((a, reg, listener, id)) = parse_rule_arn(arn) else { return Ok(None) };
    if a != account || reg != region {
        return Ok(None);
    }
    let doc: Option<RuleDoc> = get_json(r, &rule_key(account, region, &listener, &id))?;
    Ok(doc.filter(|d| str_of(&d.rule, "RuleArn") == arn))
}

/// Target group ARN → the load balancers whose listeners or rules forward to it.
pub fn tg_usage(
    r: &mut dyn ReadTxn,
    account: &str,
    region: &str,
) -> Result<BTreeMap<String, std::collections::BTreeSet<String>>, AwsError> {
    let listeners: Vec<ListenerDoc> = scan_json(r, &all_listeners_prefix(account, region))?;
    let lb_of: BTreeMap<String, String> = listeners
        .iter()
        .map(|l| (str_of(&l.listener, "ListenerArn").to_string(), str_of(&l.listener, "LoadBalancerArn").to_string()))
        .collect();
    let mut used: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let rules: Vec<RuleDoc> = scan_json(r, &all_rules_prefix(account, region))?;
    for rule in &rules {
        let Some(lb) = lb_of.get(&rule.listener_arn) else { continue };
        for tg in forwarded_groups(rule.rule.get("Actions")) {
            used.entry(tg).or_default().insert(lb.clone());
        }
    }
    Ok(used)
}

/// The target groups the forward actions of `actions` name.
pub fn forwarded_groups(actions: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    for a in actions.and_then(Value::as_array).into_iter().flatten() {
        if let Some(arn) = a.get("TargetGroupArn").and_then(Value::as_str) {
            out.push(arn.to_string());
        }
        let groups = a.pointer("/ForwardConfig/TargetGroups").and_then(Value::as_array);
        for g in groups.into_iter().flatten() {
            if let Some(arn) = g.get("TargetGroupArn").and_then(Value::as_str) {
                out.push(arn.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `Tags` of an input (a TagList) as a map, refusing duplicate keys.
pub fn tags_of(input: &Value) -> Result<Tags, AwsError> {
    let mut out = Tags::new();
    for t in input.get("Tags").and_then(Value::as_array).into_iter().flatten() {
        let k = str_of(t, "Key").to_string();
        let v = str_of(t, "Value").to_string();
        if out.insert(k.clone(), v).is_some() {
            return Err(AwsError::new("DuplicateTagKeysException", format!("Tag key '{k}' is duplicated")));
        }
    }
    Ok(out)
}

pub fn tag_list(tags: &Tags) -> Value {
    Value::Array(tags.iter().map(|(k, v)| serde_json::json!({"Key": k, "Value": v})).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_parse() {
        let lb = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/my-lb/50dc6c495c0c9188";
        assert_eq!(
            parse_lb_arn(lb),
            Some(("000000000000".into(), "us-east-1".into(), "my-lb".into(), "50dc6c495c0c9188".into()))
        );
        let l = "arn:aws:elasticloadbalancing:us-east-1:0:listener/app/my-lb/50dc/f2f7";
        assert_eq!(parse_listener_arn(l).map(|p| p.4), Some("f2f7".to_string()));
        let r = "arn:aws:elasticloadbalancing:us-east-1:0:listener-rule/app/my-lb/50dc/f2f7/9683";
        assert_eq!(parse_rule_arn(r).map(|p| (p.2, p.3)), Some(("f2f7".into(), "9683".into())));
        let tg = "arn:aws:elasticloadbalancing:us-east-1:0:targetgroup/my-tg/73e2d6bc24d8a067";
        assert_eq!(parse_tg_arn(tg).map(|p| p.2), Some("my-tg".to_string()));
        assert_eq!(parse_lb_arn("arn:aws:sqs:us-east-1:0:q"), None);
        assert_eq!(parse_lb_arn("nonsense"), None);
    }
}

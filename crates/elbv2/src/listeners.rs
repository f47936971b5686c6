//! Listeners and their rules: CreateListener, DescribeListeners, ModifyListener,
//! DeleteListener, CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities, and the
//! validation of actions and conditions. A listener's default actions are also its default
//! rule (priority `default`), stored beside the other rules.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::Txn;

use crate::store::{self, ListenerDoc, RuleDoc, str_of};
use crate::{Inner, errors};

const TERMINAL: [&str; 3] = ["forward", "redirect", "fixed-response"];
const FIXED_TYPES: [&str; 5] = ["text/plain", "text/css", "text/html", "application/javascript", "application/json"];

/// Checks `actions` for a listener of `protocol`, and answers them as AWS does (forward
/// actions carry both `TargetGroupArn`, when there is one group, and `ForwardConfig`).
fn normalize_actions(
    r: &mut dyn stratus_storage::ReadTxn,
    account: &str,
    region: &str,
    actions: &Value,
    protocol: &str,
) -> Result<Value, AwsError> {
    let list = actions.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return Err(errors::validation("At least one action must be specified"));
    }
    let mut out = Vec::new();
    let mut terminal = 0;
    for a in &list {
        let kind = str_of(a, "Type");
        let mut n = Map::new();
        n.insert("Type".into(), Value::String(kind.to_string()));
        if let Some(o) = a.get("Order") {
            n.insert("Order".into(), o.clone());
        }
        match kind {
            "forward" => {
                terminal += 1;
                let mut groups: Vec<Value> =
                    a.pointer("/ForwardConfig/TargetGroups").and_then(Value::as_array).cloned().unwrap_or_default();
                let single = a.get("TargetGroupArn").and_then(Value::as_str);
                if groups.is_empty() {
                    let Some(arn) = single else {
                        return Err(errors::validation("A target group ARN must be specified for a forward action"));
                    };
                    groups.push(json!({"TargetGroupArn": arn}));
                }
                if groups.len() > 5 {
                    return Err(errors::validation("A forward action can have at most 5 target groups"));
                }
                let mut seen = BTreeSet::new();
                let mut normalized = Vec::new();
                for g in &groups {
                    let arn = str_of(g, "TargetGroupArn").to_string();
                    let Some(tg) = store::load_tg(r, account, region, &arn)? else {
                        return Err(AwsError::new(
                            "TargetGroupNotFoundException",
                            format!("Target group '{arn}' not found"),
                        ));
                    };
                    let tg_protocol = str_of(&tg.tg, "Protocol");
                    if !tg_protocol.is_empty() && !matches!(tg_protocol, "HTTP" | "HTTPS") {
                        return Err(AwsError::new(
                            "IncompatibleProtocolsException",
                            format!(
                                "The protocol of target group '{arn}' is not compatible with an application load balancer"
                            ),
                        ));
                    }
                    if !seen.insert(arn.clone()) {
                        return Err(errors::validation(format!("Target group '{arn}' is specified more than once")));
                    }
                    let weight = g.get("Weight").and_then(Value::as_u64).unwrap_or(1);
                    if weight > 999 {
                        return Err(errors::validation("Target group weight must be between 0 and 999"));
                    }
                    normalized.push(json!({"TargetGroupArn": arn, "Weight": weight}));
                }
                if let Some(s) = single
                    && !(normalized.len() == 1 && str_of(&normalized[0], "TargetGroupArn") == s)
                {
                    return Err(errors::validation(
                        "You cannot specify both a target group ARN and a forward config with different target groups",
                    ));
                }
                if normalized.len() == 1 {
                    n.insert("TargetGroupArn".into(), normalized[0]["TargetGroupArn"].clone());
                }
                let stickiness = a
                    .pointer("/ForwardConfig/TargetGroupStickinessConfig")
                    .cloned()
                    .unwrap_or_else(|| json!({"Enabled": false}));
                n.insert(
                    "ForwardConfig".into(),
                    json!({"TargetGroups": normalized, "TargetGroupStickinessConfig": stickiness}),
                );
            }
            "fixed-response" => {
                terminal += 1;
                let Some(cfg) = a.get("FixedResponseConfig") else {
                    return Err(errors::validation(
                        "A fixed response config must be specified for a fixed-response action",
                    ));
                };
                let status = str_of(cfg, "StatusCode");
                let ok_status = status.len() == 3
                    && status.chars().all(|c| c.is_ascii_digit())
                    && matches!(status.as_bytes()[0], b'2' | b'4' | b'5');
                if !ok_status {
                    return Err(errors::validation(format!(
                        "1 validation error detected: Value '{status}' at 'actions.1.member.fixedResponseConfig.statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$"
                    )));
                }
                if let Some(ct) = cfg.get("ContentType").and_then(Value::as_str)
                    && !FIXED_TYPES.contains(&ct)
                {
                    return Err(errors::invalid_action(format!(
                        "The ContentType must be one of:'text/html', 'application/json', 'application/javascript', 'text/css', 'text/plain' (got '{ct}')"
                    )));
                }
                if str_of(cfg, "MessageBody").len() > 1024 {
                    return Err(errors::validation(
                        "The message body of a fixed response cannot be longer than 1024 characters",
                    ));
                }
                n.insert("FixedResponseConfig".into(), cfg.clone());
            }
            "redirect" => {
                terminal += 1;
                let Some(cfg) = a.get("RedirectConfig") else {
                    return Err(errors::validation("A redirect config must be specified for a redirect action"));
                };
                if let Some(p) = cfg.get("Protocol").and_then(Value::as_str)
                    && !matches!(p, "HTTP" | "HTTPS" | "#{protocol}")
                {
                    return Err(errors::invalid_action(format!("The redirect protocol '{p}' is not valid")));
                }
                if let Some(p) = cfg.get("Port").and_then(Value::as_str)
                    && p != "#{port}"
                    && !p.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
                {
                    return Err(errors::invalid_action(format!("The redirect port '{p}' is not valid")));
                }
                if let Some(p) = cfg.get("Path").and_then(Value::as_str)
                    && !p.starts_with('/')
                {
                    return Err(errors::invalid_action("The redirect path must start with a '/' character"));
                }
                let unchanged =
                    |k: &str, default: &str| cfg.get(k).and_then(Value::as_str).unwrap_or(default) == default;
                if unchanged("Protocol", "#{protocol}")
                    && unchanged("Host", "#{host}")
                    && unchanged("Port", "#{port}")
                    && unchanged("Path", "/#{path}")
                    && unchanged("Query", "#{query}")
                {
                    return Err(errors::invalid_action(
                        "The redirect configuration is not valid because it creates a loop.",
                    ));
                }
                let mut c = Map::new();
                for (k, d) in [
                    ("Protocol", "#{protocol}"),
                    ("Port", "#{port}"),
                    ("Host", "#{host}"),
                    ("Path", "/#{path}"),
                    ("Query", "#{query}"),
                ] {
                    c.insert(k.into(), Value::String(cfg.get(k).and_then(Value::as_str).unwrap_or(d).to_string()));
                }
                c.insert("StatusCode".into(), cfg.get("StatusCode").cloned().unwrap_or(Value::Null));
                n.insert("RedirectConfig".into(), Value::Object(c));
            }
            "authenticate-oidc" | "authenticate-cognito" | "jwt-validation" => {
                return Err(if protocol == "HTTPS" {
                    errors::invalid_action(format!("Actions of type '{kind}' are not supported by this server"))
                } else {
                    errors::invalid_action(format!("Actions of type '{kind}' are supported only on HTTPS listeners"))
                });
            }
            other => {
                return Err(errors::validation(format!(
                    "1 validation error detected: Value '{other}' at 'actions.1.member.type' failed to satisfy constraint: Member must satisfy enum value set: [forward, authenticate-oidc, authenticate-cognito, redirect, fixed-response, jwt-validation]"
                )));
            }
        }
        out.push(Value::Object(n));
    }
    if terminal != 1 {
        return Err(errors::invalid_action(
            "A rule must have exactly one action of type forward, redirect or fixed-response",
        ));
    }
    if let Some(last) = out.last()
        && !TERMINAL.contains(&str_of(last, "Type"))
    {
        return Err(errors::invalid_action("The last action must be of type forward, redirect or fixed-response"));
    }
    Ok(Value::Array(out))
}

/// Checks rule conditions and answers them as AWS does (path and host conditions carry both
/// `Values` and their `*Config`).
fn normalize_conditions(conditions: &Value) -> Result<Value, AwsError> {
    let list = conditions.as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut fields = BTreeSet::new();
    for c in &list {
        let field = str_of(c, "Field");
        let short = c.get("Values").and_then(Value::as_array).cloned();
        let mut n = Map::new();
        n.insert("Field".into(), Value::String(field.to_string()));
        let config_of = |name: &str| c.get(name).and_then(|x| x.get("Values")).and_then(Value::as_array).cloned();
        match field {
            "path-pattern" | "host-header" => {
                let cfg_name = if field == "path-pattern" { "PathPatternConfig" } else { "HostHeaderConfig" };
                let values = match (short, config_of(cfg_name)) {
                    (Some(_), Some(_)) => {
                        return Err(errors::validation(format!(
                            "You cannot specify both 'Values' and '{cfg_name}' for a condition"
                        )));
                    }
                    (Some(v), None) | (None, Some(v)) => v,
                    (None, None) => {
                        return Err(errors::validation(format!("A condition of field '{field}' needs values")));
                    }
                };
                check_values(field, &values)?;
                n.insert("Values".into(), Value::Array(values.clone()));
                n.insert(cfg_name.into(), json!({"Values": values}));
            }
            "http-request-method" | "source-ip" => {
                let cfg_name = if field == "source-ip" { "SourceIpConfig" } else { "HttpRequestMethodConfig" };
                let Some(values) = config_of(cfg_name) else {
                    return Err(errors::validation(format!("A condition of field '{field}' needs a {cfg_name}")));
                };
                check_values(field, &values)?;
                for v in values.iter().filter_map(Value::as_str) {
                    if field == "http-request-method"
                        && !v.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch == '-')
                    {
                        return Err(errors::validation(format!("The HTTP request method '{v}' is not valid")));
                    }
                    if field == "source-ip" && !valid_cidr(v) {
                        return Err(errors::validation(format!("The source IP '{v}' is not a valid CIDR block")));
                    }
                }
                n.insert(cfg_name.into(), json!({"Values": values}));
            }
            "http-header" => {
                let Some(cfg) = c.get("HttpHeaderConfig") else {
                    return Err(errors::validation("A condition of field 'http-header' needs an HttpHeaderConfig"));
                };
                let name = str_of(cfg, "HttpHeaderName");
                if name.is_empty() {
                    return Err(errors::validation("An HTTP header condition needs an HttpHeaderName"));
                }
                let values = cfg.get("Values").and_then(Value::as_array).cloned().unwrap_or_default();
                check_values(field, &values)?;
                n.insert("HttpHeaderConfig".into(), json!({"HttpHeaderName": name, "Values": values}));
            }
            "query-string" => {
                let values = c.pointer("/QueryStringConfig/Values").and_then(Value::as_array).cloned();
                let Some(values) = values.filter(|v| !v.is_empty()) else {
                    return Err(errors::validation("A condition of field 'query-string' needs a QueryStringConfig"));
                };
                n.insert("QueryStringConfig".into(), json!({"Values": values}));
            }
            other => {
                return Err(errors::validation(format!("The condition field '{other}' is not valid")));
            }
        }
        if !fields.insert(field.to_string()) && field != "http-header" && field != "query-string" {
            return Err(errors::validation(format!("A rule can have only one '{field}' condition")));
        }
        out.push(Value::Object(n));
    }
    Ok(Value::Array(out))
}

fn check_values(field: &str, values: &[Value]) -> Result<(), AwsError> {
    if values.is_empty() {
        return Err(errors::validation(format!("A condition of field '{field}' needs at least one value")));
    }
    if let Some(v) = values.iter().filter_map(Value::as_str).find(|v| v.len() > 128) {
        return Err(errors::validation(format!("The condition value '{v}' cannot be longer than 128 characters")));
    }
    Ok(())
}

fn valid_cidr(v: &str) -> bool {
    let (ip, bits) = v.split_once('/').unwrap_or((v, ""));
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits.parse::<u8>().is_ok_and(|b| b <= 32),
        Ok(std::net::IpAddr::V6(_)) => bits.parse::<u8>().is_ok_and(|b| b <= 128),
        Err(_) => false,
    }
}

fn default_ssl_policy() -> &'static str {
    "ELBSecurityPolicy-2016-08"
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let lb_arn = str_of(&input, "LoadBalancerArn").to_string();
    let protocol = input.get("Protocol").and_then(Value::as_str).unwrap_or("HTTP").to_string();
    if !matches!(protocol.as_str(), "HTTP" | "HTTPS") {
        return Err(AwsError::new(
            "UnsupportedProtocolException",
            format!("Protocol '{protocol}' is not supported with a load balancer of type 'application'"),
        ));
    }
    let port = input.get("Port").and_then(Value::as_u64).unwrap_or(if protocol == "HTTPS" { 443 } else { 80 });
    let certificates = input.get("Certificates").and_then(Value::as_array).cloned().unwrap_or_default();
    if protocol == "HTTPS" && certificates.is_empty() {
        return Err(AwsError::new(
            "CertificateNotFoundException",
            "A certificate must be specified for HTTPS listeners",
        ));
    }
    let tags = store::tags_of(&input)?;
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let (lid, rid) = (store::hex_id(i.env.ids.as_ref()), store::hex_id(i.env.ids.as_ref()));
    let alpn = input.get("AlpnPolicy").cloned();
    let ssl = input.get("SslPolicy").and_then(Value::as_str).map(str::to_string);
    let actions_in = input.get("DefaultActions").cloned().unwrap_or(Value::Null);
    let listener = i
        .store
        .write(move |t| {
            let lb = store::load_lb(t, &account, &region, &lb_arn)?.ok_or_else(errors::lb_not_found)?;
            let Some((.., name, lb_id)) = store::parse_lb_arn(&lb_arn) else { return Err(errors::lb_not_found()) };
            let existing: Vec<ListenerDoc> = store::scan_json(t, &store::listeners_prefix(&account, &region, &lb_id))?;
            if existing.iter().any(|l| l.listener.get("Port").and_then(Value::as_u64) == Some(port)) {
                return Err(errors::duplicate_listener());
            }
            if existing.len() >= 50 {
                return Err(AwsError::new("TooManyListenersException", "You've reached the limit on the number of listeners per load balancer"));
            }
            let actions = normalize_actions(t, &account, &region, &actions_in, &protocol)?;
            let arn = format!("arn:{partition}:elasticloadbalancing:{region}:{account}:listener/app/{name}/{lb_id}/{lid}", partition = stratus_core::partition(&region));
            let mut l = json!({
                "ListenerArn": arn,
                "LoadBalancerArn": str_of(&lb.lb, "LoadBalancerArn"),
                "Port": port,
                "Protocol": protocol,
                "DefaultActions": actions,
            });
            if protocol == "HTTPS" {
                l["Certificates"] = Value::Array(certificates);
                l["SslPolicy"] = Value::String(ssl.unwrap_or_else(|| default_ssl_policy().to_string()));
            }
            if let Some(a) = alpn {
                l["AlpnPolicy"] = a;
            }
            let doc = ListenerDoc { listener: l.clone(), tags };
            store::put_json(t, &store::listener_key(&account, &region, &lb_id, &lid), &doc)?;
            let rule_arn =
                format!("arn:{partition}:elasticloadbalancing:{region}:{account}:listener-rule/app/{name}/{lb_id}/{lid}/{rid}", partition = stratus_core::partition(&region));
            let rule = RuleDoc {
                rule: json!({"RuleArn": rule_arn, "Priority": "default", "Conditions": [], "Actions": l["DefaultActions"], "IsDefault": true}),
                listener_arn: arn.clone(),
                tags: Default::default(),
            };
            store::put_json(t, &store::rule_key(&account, &region, &lid, &rid), &rule)?;
            t.put(store::port_key(port as u16, &arn).as_bytes(), b"").map_err(store::store_err)?;
            Ok::<_, AwsError>(l)
        })
        .await?;
    i.runtime.add_port(port as u16, str_of(&listener, "ListenerArn"));
    Ok(json!({"Listeners": [listener]}))
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let lb_arn = input.get("LoadBalancerArn").and_then(Value::as_str).map(str::to_string);
    let arns: Vec<String> = input
        .get("ListenerArns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if lb_arn.is_none() && arns.is_empty() {
        return Err(errors::validation("You must specify either listener ARNs or a load balancer ARN"));
    }
    let items: Vec<Value> = i
        .store
        .read(move |r| {
            if let Some(lb) = lb_arn {
                store::load_lb(r, &account, &region, &lb)?.ok_or_else(errors::lb_not_found)?;
                let Some((.., lb_id)) = store::parse_lb_arn(&lb) else { return Err(errors::lb_not_found()) };
                let mut ls: Vec<ListenerDoc> =
                    store::scan_json(r, &store::listeners_prefix(&account, &region, &lb_id))?;
                ls.sort_by_key(|l| l.listener.get("Port").and_then(Value::as_u64).unwrap_or(0));
                return Ok(ls.into_iter().map(|l| l.listener).collect());
            }
            let mut out = Vec::new();
            for a in &arns {
                out.push(
                    store::load_listener(r, &account, &region, a)?.ok_or_else(errors::listener_not_found)?.listener,
                );
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    crate::loadbalancers::page(items, &input, "Listeners")
}

pub async fn modify(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "ListenerArn").to_string();
    let a = arn.clone();
    let (listener, old_port) = i
        .store
        .write(move |t| {
            let mut doc = store::load_listener(t, &account, &region, &a)?.ok_or_else(errors::listener_not_found)?;
            let Some((.., lb_id, lid)) = store::parse_listener_arn(&a) else {
                return Err(errors::listener_not_found());
            };
            let l = &mut doc.listener;
            let old_port = l.get("Port").and_then(Value::as_u64).unwrap_or(0);
            if let Some(p) = input.get("Protocol").and_then(Value::as_str) {
                if !matches!(p, "HTTP" | "HTTPS") {
                    return Err(AwsError::new(
                        "UnsupportedProtocolException",
                        format!("Protocol '{p}' is not supported with a load balancer of type 'application'"),
                    ));
                }
                l["Protocol"] = Value::String(p.to_string());
            }
            if let Some(c) = input.get("Certificates") {
                l["Certificates"] = c.clone();
            }
            if let Some(s) = input.get("SslPolicy") {
                l["SslPolicy"] = s.clone();
            }
            if str_of(l, "Protocol") == "HTTPS" {
                if l.get("Certificates").and_then(Value::as_array).is_none_or(|c| c.is_empty()) {
                    return Err(AwsError::new(
                        "CertificateNotFoundException",
                        "A certificate must be specified for HTTPS listeners",
                    ));
                }
                if l.get("SslPolicy").is_none() {
                    l["SslPolicy"] = Value::String(default_ssl_policy().to_string());
                }
            } else if let Some(o) = l.as_object_mut() {
                o.remove("Certificates");
                o.remove("SslPolicy");
            }
            if let Some(p) = input.get("Port").and_then(Value::as_u64)
                && p != old_port
            {
                let others: Vec<ListenerDoc> =
                    store::scan_json(t, &store::listeners_prefix(&account, &region, &lb_id))?;
                if others.iter().any(|o| o.listener.get("Port").and_then(Value::as_u64) == Some(p)) {
                    return Err(errors::duplicate_listener());
                }
                l["Port"] = json!(p);
            }
            let protocol = str_of(l, "Protocol").to_string();
            let actions_in = input.get("DefaultActions").cloned().unwrap_or_else(|| l["DefaultActions"].clone());
            let actions = normalize_actions(t, &account, &region, &actions_in, &protocol)?;
            doc.listener["DefaultActions"] = actions.clone();
            store::put_json(t, &store::listener_key(&account, &region, &lb_id, &lid), &doc)?;
            let mut rules: Vec<RuleDoc> = store::scan_json(t, &store::rules_prefix(&account, &region, &lid))?;
            for r in rules.iter_mut().filter(|r| r.rule.get("IsDefault").and_then(Value::as_bool) == Some(true)) {
                r.rule["Actions"] = actions.clone();
                let Some((.., rid)) = store::parse_rule_arn(str_of(&r.rule, "RuleArn")) else { continue };
                store::put_json(t, &store::rule_key(&account, &region, &lid, &rid), &*r)?;
            }
            let new_port = doc.listener.get("Port").and_then(Value::as_u64).unwrap_or(0);
            if new_port != old_port {
                t.delete(store::port_key(old_port as u16, &a).as_bytes()).map_err(store::store_err)?;
                t.put(store::port_key(new_port as u16, &a).as_bytes(), b"").map_err(store::store_err)?;
            }
            Ok::<_, AwsError>((doc.listener, old_port))
        })
        .await?;
    let new_port = listener.get("Port").and_then(Value::as_u64).unwrap_or(0);
    if new_port != old_port {
        i.runtime.remove_port(old_port as u16, &arn);
        i.runtime.add_port(new_port as u16, &arn);
    }
    Ok(json!({"Listeners": [listener]}))
}

/// Removes a listener, its rules and its port entry (inside a write).
pub fn remove_listener(t: &mut dyn Txn, account: &str, region: &str, arn: &str) -> Result<Option<u16>, AwsError> {
    let Some(doc) = store::load_listener(t, account, region, arn)? else { return Ok(None) };
    let Some((.., lb_id, lid)) = store::parse_listener_arn(arn) else { return Ok(None) };
    let prefix = store::rules_prefix(account, region, &lid);
    let end = stratus_storage::prefix_end(prefix.as_bytes());
    t.delete_range(prefix.as_bytes(), end.as_deref()).map_err(store::store_err)?;
    t.delete(store::listener_key(account, region, &lb_id, &lid).as_bytes()).map_err(store::store_err)?;
    let port = doc.listener.get("Port").and_then(Value::as_u64).unwrap_or(0) as u16;
    t.delete(store::port_key(port, arn).as_bytes()).map_err(store::store_err)?;
    Ok(Some(port))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "ListenerArn").to_string();
    let a = arn.clone();
    let port = i
        .store
        .write(move |t| {
            let port = remove_listener(t, &account, &region, &a)?;
            port.ok_or_else(errors::listener_not_found)
        })
        .await?;
    i.runtime.remove_port(port, &arn);
    Ok(json!({}))
}

fn priority_of(v: &Value) -> Result<u64, AwsError> {
    let p = v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(0);
    if !(1..=50000).contains(&p) {
        return Err(errors::validation(format!(
            "1 validation error detected: Value '{p}' at 'priority' failed to satisfy constraint: Member must have value between 1 and 50000"
        )));
    }
    Ok(p)
}

fn listener_protocol(
    t: &mut dyn stratus_storage::ReadTxn,
    account: &str,
    region: &str,
    arn: &str,
) -> Result<String, AwsError> {
    let l = store::load_listener(t, account, region, arn)?.ok_or_else(errors::listener_not_found)?;
    Ok(str_of(&l.listener, "Protocol").to_string())
}

pub async fn create_rule(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let listener_arn = str_of(&input, "ListenerArn").to_string();
    let priority = priority_of(input.get("Priority").unwrap_or(&Value::Null))?;
    let tags = store::tags_of(&input)?;
    let rid = store::hex_id(i.env.ids.as_ref());
    let rule = i
        .store
        .write(move |t| {
            let protocol = listener_protocol(t, &account, &region, &listener_arn)?;
            let Some((.., name, lb_id, lid)) = store::parse_listener_arn(&listener_arn) else {
                return Err(errors::listener_not_found());
            };
            let rules: Vec<RuleDoc> = store::scan_json(t, &store::rules_prefix(&account, &region, &lid))?;
            if rules.iter().any(|r| str_of(&r.rule, "Priority") == priority.to_string()) {
                return Err(errors::priority_in_use(priority));
            }
            if rules.len() > 100 {
                return Err(AwsError::new("TooManyRulesException", "You've reached the limit on the number of rules per load balancer"));
            }
            let conditions = normalize_conditions(input.get("Conditions").unwrap_or(&Value::Null))?;
            let actions = normalize_actions(t, &account, &region, input.get("Actions").unwrap_or(&Value::Null), &protocol)?;
            let arn =
                format!("arn:{partition}:elasticloadbalancing:{region}:{account}:listener-rule/app/{name}/{lb_id}/{lid}/{rid}", partition = stratus_core::partition(&region));
            let rule = json!({"RuleArn": arn, "Priority": priority.to_string(), "Conditions": conditions, "Actions": actions, "IsDefault": false});
            let doc = RuleDoc { rule: rule.clone(), listener_arn: listener_arn.clone(), tags };
            store::put_json(t, &store::rule_key(&account, &region, &lid, &rid), &doc)?;
            Ok::<_, AwsError>(rule)
        })
        .await?;
    Ok(json!({"Rules": [rule]}))
}

fn sort_rules(rules: &mut [RuleDoc]) {
    rules.sort_by_key(|r| str_of(&r.rule, "Priority").parse::<u64>().unwrap_or(u64::MAX));
}

pub async fn describe_rules(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let listener = input.get("ListenerArn").and_then(Value::as_str).map(str::to_string);
    let arns: Vec<String> = input
        .get("RuleArns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if listener.is_none() && arns.is_empty() {
        return Err(errors::validation("You must specify either listener rule ARNs or a listener ARN"));
    }
    let items: Vec<Value> = i
        .store
        .read(move |r| {
            if let Some(l) = listener {
                store::load_listener(r, &account, &region, &l)?.ok_or_else(errors::listener_not_found)?;
                let Some((.., lid)) = store::parse_listener_arn(&l) else { return Err(errors::listener_not_found()) };
                let mut rules: Vec<RuleDoc> = store::scan_json(r, &store::rules_prefix(&account, &region, &lid))?;
                sort_rules(&mut rules);
                return Ok(rules.into_iter().map(|r| r.rule).collect());
            }
            let mut out = Vec::new();
            for a in &arns {
                out.push(store::load_rule(r, &account, &region, a)?.ok_or_else(errors::rule_not_found)?.rule);
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    crate::loadbalancers::page(items, &input, "Rules")
}

pub async fn modify_rule(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "RuleArn").to_string();
    let rule = i
        .store
        .write(move |t| {
            let mut doc = store::load_rule(t, &account, &region, &arn)?.ok_or_else(errors::rule_not_found)?;
            let protocol = listener_protocol(t, &account, &region, &doc.listener_arn)?;
            let is_default = doc.rule.get("IsDefault").and_then(Value::as_bool) == Some(true);
            if let Some(c) = input.get("Conditions") {
                if is_default && c.as_array().is_some_and(|c| !c.is_empty()) {
                    return Err(errors::not_permitted("Conditions cannot be specified for the default rule"));
                }
                doc.rule["Conditions"] = normalize_conditions(c)?;
            }
            if let Some(a) = input.get("Actions") {
                doc.rule["Actions"] = normalize_actions(t, &account, &region, a, &protocol)?;
            }
            let Some((.., lid, rid)) = store::parse_rule_arn(&arn) else { return Err(errors::rule_not_found()) };
            store::put_json(t, &store::rule_key(&account, &region, &lid, &rid), &doc)?;
            if is_default
                && let Some((.., lb_id, _)) = store::parse_listener_arn(&doc.listener_arn)
                && let Some(mut l) = store::load_listener(t, &account, &region, &doc.listener_arn)?
            {
                l.listener["DefaultActions"] = doc.rule["Actions"].clone();
                store::put_json(t, &store::listener_key(&account, &region, &lb_id, &lid), &l)?;
            }
            Ok::<_, AwsError>(doc.rule)
        })
        .await?;
    Ok(json!({"Rules": [rule]}))
}

pub async fn delete_rule(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "RuleArn").to_string();
    i.store
        .write(move |t| {
            let doc = store::load_rule(t, &account, &region, &arn)?.ok_or_else(errors::rule_not_found)?;
            if doc.rule.get("IsDefault").and_then(Value::as_bool) == Some(true) {
                return Err(errors::not_permitted(format!("Default rule '{arn}' cannot be deleted")));
            }
            let Some((.., lid, rid)) = store::parse_rule_arn(&arn) else { return Err(errors::rule_not_found()) };
            t.delete(store::rule_key(&account, &region, &lid, &rid).as_bytes()).map_err(store::store_err)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(json!({}))
}

pub async fn set_priorities(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let mut pairs = Vec::new();
    for p in input.get("RulePriorities").and_then(Value::as_array).into_iter().flatten() {
        pairs.push((str_of(p, "RuleArn").to_string(), priority_of(p.get("Priority").unwrap_or(&Value::Null))?));
    }
    let rules = i
        .store
        .write(move |t| {
            let mut changed: Vec<RuleDoc> = Vec::new();
            for (arn, p) in &pairs {
                let mut doc = store::load_rule(t, &account, &region, arn)?.ok_or_else(errors::rule_not_found)?;
                if doc.rule.get("IsDefault").and_then(Value::as_bool) == Some(true) {
                    return Err(errors::not_permitted("The priority of the default rule cannot be changed"));
                }
                doc.rule["Priority"] = Value::String(p.to_string());
                changed.push(doc);
            }
            // No two rules of a listener may share a priority once all are set.
            let listeners: BTreeSet<String> = changed.iter().map(|d| d.listener_arn.clone()).collect();
            for l in &listeners {
                let Some((.., lid)) = store::parse_listener_arn(l) else { continue };
                let mut all: Vec<RuleDoc> = store::scan_json(t, &store::rules_prefix(&account, &region, &lid))?;
                for d in all.iter_mut() {
                    if let Some(c) = changed.iter().find(|c| str_of(&c.rule, "RuleArn") == str_of(&d.rule, "RuleArn")) {
                        *d = c.clone();
                    }
                }
                let mut seen = BTreeSet::new();
                for d in &all {
                    let p = str_of(&d.rule, "Priority");
                    if p != "default" && !seen.insert(p.to_string()) {
                        return Err(errors::priority_in_use(p.parse().unwrap_or(0)));
                    }
                }
            }
            for d in &changed {
                let Some((.., lid, rid)) = store::parse_rule_arn(str_of(&d.rule, "RuleArn")) else { continue };
                store::put_json(t, &store::rule_key(&account, &region, &lid, &rid), d)?;
            }
            Ok::<_, AwsError>(changed.into_iter().map(|d| d.rule).collect::<Vec<_>>())
        })
        .await?;
    Ok(json!({"Rules": rules}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_normalize() {
        let c = normalize_conditions(&json!([{"Field": "path-pattern", "Values": ["/a/*"]}])).expect("valid");
        assert_eq!(
            c,
            json!([{"Field": "path-pattern", "Values": ["/a/*"], "PathPatternConfig": {"Values": ["/a/*"]}}])
        );
        assert!(normalize_conditions(&json!([{"Field": "query-string", "Values": ["x"]}])).is_err());
        assert!(
            normalize_conditions(&json!([{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/33"]}}]))
                .is_err()
        );
        assert!(normalize_conditions(&json!([{"Field": "nope", "Values": ["x"]}])).is_err());
        assert!(
            normalize_conditions(
                &json!([{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}])
            )
            .is_err()
        );
    }
}

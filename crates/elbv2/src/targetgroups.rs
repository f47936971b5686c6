//! Target groups: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup,
//! DeleteTargetGroup, their attributes, RegisterTargets, DeregisterTargets and
//! DescribeTargetHealth. `lambda` groups hold one function (registered only when its policy
//! lets `elasticloadbalancing.amazonaws.com` invoke it), `ip` groups IPv4/IPv6 addresses with
//! ports; `instance` groups can be created, but no instance can be registered (there are none).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::serve::TargetError;
use crate::store::{self, TgDoc, str_of};
use crate::{Inner, errors};

fn default_attributes(target_type: &str) -> BTreeMap<String, String> {
    let pairs: &[(&str, &str)] = if target_type == "lambda" {
        &[("lambda.multi_value_headers.enabled", "false")]
    } else {
        &[
            ("deregistration_delay.timeout_seconds", "300"),
            ("load_balancing.algorithm.anomaly_mitigation", "off"),
            ("load_balancing.algorithm.type", "round_robin"),
            ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
            ("slow_start.duration_seconds", "0"),
            ("stickiness.app_cookie.cookie_name", ""),
            ("stickiness.app_cookie.duration_seconds", "86400"),
            ("stickiness.enabled", "false"),
            ("stickiness.lb_cookie.duration_seconds", "86400"),
            ("stickiness.type", "lb_cookie"),
            ("target_group_health.dns_failover.minimum_healthy_targets.count", "1"),
            ("target_group_health.dns_failover.minimum_healthy_targets.percentage", "off"),
            ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1"),
            ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", "off"),
        ]
    };
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn check_name(name: &str) -> Result<(), AwsError> {
    if name.len() > 32 {
        return Err(errors::validation(format!("Target group name '{name}' cannot be longer than '32' characters")));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(errors::validation(format!(
            "Target group name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(errors::validation(format!("Target group name '{name}' cannot begin or end with '-'")));
    }
    Ok(())
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").to_string();
    check_name(&name)?;
    let target_type = input.get("TargetType").and_then(Value::as_str).unwrap_or("instance").to_string();
    let net = crate::ec2::network(&ctx.account, &ctx.region);
    let mut tg = serde_json::Map::new();
    let id = store::hex_id(i.env.ids.as_ref());
    let arn = format!(
        "arn:{partition}:elasticloadbalancing:{}:{}:targetgroup/{name}/{id}",
        ctx.region,
        ctx.account,
        partition = stratus_core::partition(&ctx.region)
    );
    tg.insert("TargetGroupArn".into(), json!(arn));
    tg.insert("TargetGroupName".into(), json!(name));
    let get = |k: &str| input.get(k).cloned();
    let lambda = target_type == "lambda";
    match target_type.as_str() {
        "lambda" => {
            if input.get("Protocol").is_some() || input.get("Port").is_some() || input.get("VpcId").is_some() {
                return Err(errors::validation(
                    "Protocol, port and VPC ID cannot be specified for target groups with target type 'lambda'",
                ));
            }
        }
        "ip" | "instance" => {
            let protocol = str_of(&input, "Protocol");
            if protocol.is_empty() {
                return Err(errors::validation(format!(
                    "A protocol must be specified for target groups with target type '{target_type}'"
                )));
            }
            let Some(port) = input.get("Port").and_then(Value::as_u64) else {
                return Err(errors::validation(format!(
                    "A port must be specified for target groups with target type '{target_type}'"
                )));
            };
            let vpc = str_of(&input, "VpcId");
            if vpc.is_empty() {
                return Err(errors::validation(format!(
                    "A VPC ID must be specified for target groups with target type '{target_type}'"
                )));
            }
            if vpc != net.vpc_id {
                return Err(errors::validation(format!("The VPC ID '{vpc}' is not found")));
            }
            tg.insert("Protocol".into(), json!(protocol));
            tg.insert("Port".into(), json!(port));
            tg.insert("VpcId".into(), json!(vpc));
            if matches!(protocol, "HTTP" | "HTTPS") {
                tg.insert("ProtocolVersion".into(), get("ProtocolVersion").unwrap_or_else(|| json!("HTTP1")));
            }
            tg.insert("IpAddressType".into(), get("IpAddressType").unwrap_or_else(|| json!("ipv4")));
        }
        other => {
            return Err(errors::invalid_configuration(format!(
                "Target groups of target type '{other}' are not supported by this server"
            )));
        }
    }
    let enabled = input.get("HealthCheckEnabled").and_then(Value::as_bool).unwrap_or(!lambda);
    tg.insert("HealthCheckEnabled".into(), json!(enabled));
    let http = matches!(str_of(&input, "Protocol"), "HTTP" | "HTTPS" | "");
    if !lambda {
        tg.insert(
            "HealthCheckProtocol".into(),
            get("HealthCheckProtocol").unwrap_or_else(|| json!(str_of(&input, "Protocol"))),
        );
        tg.insert("HealthCheckPort".into(), get("HealthCheckPort").unwrap_or_else(|| json!("traffic-port")));
    }
    let (interval, timeout) = if lambda { (35, 30) } else { (30, 5) };
    tg.insert(
        "HealthCheckIntervalSeconds".into(),
        get("HealthCheckIntervalSeconds").unwrap_or_else(|| json!(interval)),
    );
    tg.insert("HealthCheckTimeoutSeconds".into(), get("HealthCheckTimeoutSeconds").unwrap_or_else(|| json!(timeout)));
    tg.insert("HealthyThresholdCount".into(), get("HealthyThresholdCount").unwrap_or_else(|| json!(5)));
    tg.insert("UnhealthyThresholdCount".into(), get("UnhealthyThresholdCount").unwrap_or_else(|| json!(2)));
    if http {
        tg.insert("HealthCheckPath".into(), get("HealthCheckPath").unwrap_or_else(|| json!("/")));
        tg.insert("Matcher".into(), get("Matcher").unwrap_or_else(|| json!({"HttpCode": "200"})));
    }
    tg.insert("LoadBalancerArns".into(), json!([]));
    tg.insert("TargetType".into(), json!(target_type));
    let doc = TgDoc {
        tg: Value::Object(tg),
        attributes: default_attributes(&target_type),
        targets: vec![],
        tags: store::tags_of(&input)?,
    };
    let key = store::tg_key(&ctx.account, &ctx.region, &name);
    let stored = i
        .store
        .write(move |t| {
            if let Some(existing) = store::get_json::<TgDoc>(t, &key)? {
                let same =
                    ["TargetType", "Protocol", "Port", "VpcId"].iter().all(|k| existing.tg.get(*k) == doc.tg.get(*k));
                return if same { Ok(existing) } else { Err(errors::duplicate_tg(&name)) };
            }
            store::put_json(t, &key, &doc)?;
            Ok::<_, AwsError>(doc)
        })
        .await?;
    Ok(json!({"TargetGroups": [stored.tg]}))
}

/// A target group as answered: with the load balancers that use it.
fn answered(doc: &TgDoc, usage: &BTreeMap<String, std::collections::BTreeSet<String>>) -> Value {
    let mut tg = doc.tg.clone();
    let lbs: Vec<String> =
        usage.get(str_of(&doc.tg, "TargetGroupArn")).map(|s| s.iter().cloned().collect()).unwrap_or_default();
    tg["LoadBalancerArns"] = json!(lbs);
    tg
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let strings = |k: &str| -> Vec<String> {
        input
            .get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let (arns, names) = (strings("TargetGroupArns"), strings("Names"));
    let lb = input.get("LoadBalancerArn").and_then(Value::as_str).map(str::to_string);
    let items = i
        .store
        .read(move |r| {
            let all: Vec<TgDoc> = store::scan_json(r, &store::tgs_prefix(&account, &region))?;
            let usage = store::tg_usage(r, &account, &region)?;
            if let Some(lb) = &lb {
                store::load_lb(r, &account, &region, lb)?.ok_or_else(errors::lb_not_found)?;
            }
            let mut out = Vec::new();
            if !arns.is_empty() {
                for a in &arns {
                    let d =
                        all.iter().find(|d| str_of(&d.tg, "TargetGroupArn") == a).ok_or_else(errors::tg_not_found)?;
                    out.push(answered(d, &usage));
                }
            } else if !names.is_empty() {
                for n in &names {
                    let d = all.iter().find(|d| str_of(&d.tg, "TargetGroupName") == n).ok_or_else(|| {
                        AwsError::new("TargetGroupNotFoundException", format!("Target groups '[{n}]' not found"))
                    })?;
                    out.push(answered(d, &usage));
                }
            } else {
                for d in &all {
                    let v = answered(d, &usage);
                    let used_by = v["LoadBalancerArns"].as_array().cloned().unwrap_or_default();
                    if lb.as_ref().is_none_or(|lb| used_by.iter().any(|u| u.as_str() == Some(lb))) {
                        out.push(v);
                    }
                }
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    crate::loadbalancers::page(items, &input, "TargetGroups")
}

pub async fn modify(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "TargetGroupArn").to_string();
    let tg = i
        .store
        .write(move |t| {
            let mut doc = store::load_tg(t, &account, &region, &arn)?.ok_or_else(errors::tg_not_found)?;
            for k in [
                "HealthCheckEnabled",
                "HealthCheckIntervalSeconds",
                "HealthCheckPath",
                "HealthCheckPort",
                "HealthCheckProtocol",
                "HealthCheckTimeoutSeconds",
                "HealthyThresholdCount",
                "UnhealthyThresholdCount",
                "Matcher",
            ] {
                if let Some(v) = input.get(k) {
                    doc.tg[k] = v.clone();
                }
            }
            let name = str_of(&doc.tg, "TargetGroupName").to_string();
            store::put_json(t, &store::tg_key(&account, &region, &name), &doc)?;
            let usage = store::tg_usage(t, &account, &region)?;
            Ok::<_, AwsError>(answered(&doc, &usage))
        })
        .await?;
    Ok(json!({"TargetGroups": [tg]}))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "TargetGroupArn").to_string();
    i.store
        .write(move |t| {
            // Deleting a target group that does not exist succeeds, as on AWS.
            let Some(doc) = store::load_tg(t, &account, &region, &arn)? else { return Ok(()) };
            if store::tg_usage(t, &account, &region)?.contains_key(&arn) {
                return Err(errors::resource_in_use(format!(
                    "Target group '{arn}' is currently in use by a listener or a rule"
                )));
            }
            let name = str_of(&doc.tg, "TargetGroupName").to_string();
            t.delete(store::tg_key(&account, &region, &name).as_bytes()).map_err(store::store_err)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(json!({}))
}

pub async fn describe_attributes(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "TargetGroupArn").to_string();
    let doc =
        i.store.read(move |r| store::load_tg(r, &account, &region, &arn)).await?.ok_or_else(errors::tg_not_found)?;
    Ok(json!({"Attributes": crate::loadbalancers::attribute_list(&doc.attributes)}))
}

pub async fn modify_attributes(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "TargetGroupArn").to_string();
    let changes: Vec<(String, String)> = input
        .get("Attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| (str_of(a, "Key").to_string(), str_of(a, "Value").to_string()))
        .collect();
    let doc = i
        .store
        .write(move |t| {
            let mut doc = store::load_tg(t, &account, &region, &arn)?.ok_or_else(errors::tg_not_found)?;
            let known = default_attributes(str_of(&doc.tg, "TargetType"));
            for (k, v) in changes {
                if !known.contains_key(&k) {
                    return Err(errors::validation(format!("Target group attribute key '{k}' is not recognized")));
                }
                if k.ends_with(".enabled") && v != "true" && v != "false" {
                    return Err(errors::validation(format!(
                        "Target group attribute value '{v}' for key '{k}' is not valid"
                    )));
                }
                doc.attributes.insert(k, v);
            }
            let name = str_of(&doc.tg, "TargetGroupName").to_string();
            store::put_json(t, &store::tg_key(&account, &region, &name), &doc)?;
            Ok::<_, AwsError>(doc)
        })
        .await?;
    Ok(json!({"Attributes": crate::loadbalancers::attribute_list(&doc.attributes)}))
}

fn target_list(input: &Value) -> Vec<Value> {
    input.get("Targets").and_then(Value::as_array).cloned().unwrap_or_default()
}

pub async fn register(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "TargetGroupArn").to_string();
    let targets = target_list(&input);
    let (a, r, tg_arn) = (account.clone(), region.clone(), arn.clone());
    let doc = i.store.read(move |rt| store::load_tg(rt, &a, &r, &tg_arn)).await?.ok_or_else(errors::tg_not_found)?;
    let target_type = str_of(&doc.tg, "TargetType").to_string();
    let mut adding = Vec::new();
    for t in &targets {
        let id = str_of(t, "Id").to_string();
        match target_type.as_str() {
            "lambda" => {
                let fa = stratus_core::Arn::parse(&id)
                    .filter(|a| a.service == "lambda" && a.resource.starts_with("function:"));
                let Some(fa) = fa else {
                    return Err(errors::invalid_target(format!(
                        "The target '{id}' is not a valid Lambda function ARN"
                    )));
                };
                if fa.region != ctx.region || fa.account != ctx.account {
                    return Err(errors::invalid_target(
                        "The Lambda function must be in the same account and region as the target group",
                    ));
                }
                if t.get("Port").is_some() {
                    return Err(errors::validation("A port cannot be specified for a Lambda target"));
                }
                let Some(backend) = i.targets.get() else {
                    return Err(AwsError::internal("Lambda targets are not connected"));
                };
                match backend.may_invoke(&id, &arn).await {
                    Ok(()) => {}
                    Err(TargetError::Denied(_)) => {
                        return Err(AwsError::new(
                            "AccessDenied",
                            format!("elasticloadbalancing principal does not have permission to invoke {id} from target group {arn}"),
                        )
                        .with_status(403));
                    }
                    Err(TargetError::NotFound(_)) => {
                        return Err(errors::invalid_target(format!("The function '{id}' does not exist")));
                    }
                    Err(TargetError::Failed(m)) => return Err(AwsError::internal(m)),
                }
                adding.push(json!({"Id": id}));
            }
            "ip" => {
                if id.parse::<std::net::IpAddr>().is_err() {
                    return Err(errors::invalid_target(format!(
                        "The IP address '{id}' is not a valid IPv4 or IPv6 address"
                    )));
                }
                let port = t.get("Port").and_then(Value::as_u64).or_else(|| doc.tg.get("Port").and_then(Value::as_u64));
                let mut d = json!({"Id": id, "Port": port});
                if let Some(z) = t.get("AvailabilityZone") {
                    d["AvailabilityZone"] = z.clone();
                }
                adding.push(d);
            }
            _ => return Err(errors::invalid_target(format!("The following targets are not valid instances: '{id}'"))),
        }
    }
    let tg_arn = arn.clone();
    i.store
        .write(move |t| {
            let mut doc = store::load_tg(t, &account, &region, &tg_arn)?.ok_or_else(errors::tg_not_found)?;
            for a in adding {
                let same = |x: &Value| str_of(x, "Id") == str_of(&a, "Id") && x.get("Port") == a.get("Port");
                if doc.targets.iter().any(same) {
                    continue;
                }
                if str_of(&doc.tg, "TargetType") == "lambda" && !doc.targets.is_empty() {
                    return Err(AwsError::new(
                        "TooManyTargetsException",
                        "You cannot register more than one Lambda function in a target group",
                    ));
                }
                doc.targets.push(a);
            }
            let name = str_of(&doc.tg, "TargetGroupName").to_string();
            store::put_json(t, &store::tg_key(&account, &region, &name), &doc)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(json!({}))
}

pub async fn deregister(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "TargetGroupArn").to_string();
    let targets = target_list(&input);
    i.store
        .write(move |t| {
            let mut doc = store::load_tg(t, &account, &region, &arn)?.ok_or_else(errors::tg_not_found)?;
            for x in &targets {
                let id = str_of(x, "Id");
                let before = doc.targets.len();
                doc.targets
                    .retain(|d| !(str_of(d, "Id") == id && x.get("Port").is_none_or(|p| d.get("Port") == Some(p))));
                if doc.targets.len() == before {
                    return Err(errors::invalid_target(format!(
                        "The target '{id}' is not registered with target group '{arn}'"
                    )));
                }
            }
            let name = str_of(&doc.tg, "TargetGroupName").to_string();
            store::put_json(t, &store::tg_key(&account, &region, &name), &doc)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(json!({}))
}

/// Whether a TCP connection to `ip:port` opens within a second.
async fn reachable(ip: &str, port: u64) -> bool {
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else { return false };
    let Ok(port) = u16::try_from(port) else { return false };
    let connect = tokio::net::TcpStream::connect((ip, port));
    matches!(tokio::time::timeout(Duration::from_secs(1), connect).await, Ok(Ok(_)))
}

pub async fn health(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arn = str_of(&input, "TargetGroupArn").to_string();
    let a = arn.clone();
    let (doc, used) = i
        .store
        .read(move |r| {
            let doc = store::load_tg(r, &account, &region, &a)?.ok_or_else(errors::tg_not_found)?;
            let used = store::tg_usage(r, &account, &region)?.contains_key(&a);
            Ok::<_, AwsError>((doc, used))
        })
        .await?;
    let asked = target_list(&input);
    let wanted: Vec<(Value, bool)> = if asked.is_empty() {
        doc.targets.iter().map(|t| (t.clone(), true)).collect()
    } else {
        asked
            .iter()
            .map(|t| {
                let found = doc.targets.iter().find(|d| {
                    str_of(d, "Id") == str_of(t, "Id") && t.get("Port").is_none_or(|p| d.get("Port") == Some(p))
                });
                match found {
                    Some(d) => (d.clone(), true),
                    None => (t.clone(), false),
                }
            })
            .collect()
    };
    let lambda = str_of(&doc.tg, "TargetType") == "lambda";
    let enabled = doc.tg.get("HealthCheckEnabled").and_then(Value::as_bool).unwrap_or(false);
    let mut out = Vec::new();
    for (target, registered) in wanted {
        let health = if !registered {
            json!({"State": "unused", "Reason": "Target.NotRegistered", "Description": "Target is not registered to the target group"})
        } else if !used {
            json!({"State": "unused", "Reason": "Target.NotInUse", "Description": "Target group is not configured to receive traffic from the load balancer"})
        } else if !enabled {
            json!({"State": "unavailable", "Reason": "Target.HealthCheckDisabled", "Description": "Health checks are disabled"})
        } else if lambda {
            json!({"State": "healthy"})
        } else {
            let port = match str_of(&doc.tg, "HealthCheckPort") {
                "traffic-port" | "" => target.get("Port").and_then(Value::as_u64).unwrap_or(0),
                p => p.parse().unwrap_or(0),
            };
            if reachable(str_of(&target, "Id"), port).await {
                json!({"State": "healthy"})
            } else {
                json!({"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"})
            }
        };
        let mut d = json!({"Target": target, "TargetHealth": health});
        if !lambda {
            let port = match str_of(&doc.tg, "HealthCheckPort") {
                "traffic-port" | "" => d["Target"].get("Port").map(|p| p.to_string()).unwrap_or_default(),
                p => p.to_string(),
            };
            d["HealthCheckPort"] = Value::String(port);
        }
        out.push(d);
    }
    Ok(json!({"TargetHealthDescriptions": out}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_defaults() {
        assert!(check_name("tg-1").is_ok());
        assert!(check_name(&"t".repeat(33)).is_err());
        assert!(check_name("tg_1").is_err());
        assert!(check_name("-tg").is_err());
        assert_eq!(default_attributes("lambda").len(), 1);
        assert_eq!(
            default_attributes("ip").get("deregistration_delay.timeout_seconds").map(String::as_str),
            Some("300")
        );
    }
}

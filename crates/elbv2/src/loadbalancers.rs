//! Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer and their
//! attributes. Only `application` load balancers are served; they are `active` at once.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::store::{self, LbDoc, ListenerDoc, str_of};
use crate::{Inner, errors};

/// The Route 53 hosted zone of ALBs in a region (AWS's published ids; others get us-east-1's).
fn hosted_zone(region: &str) -> &'static str {
    match region {
        "us-east-2" => "Z3AADJGX6KTTL2",
        "us-west-1" => "Z368ELLRRE2KJ0",
        "us-west-2" => "Z1H1FL5HABSF5",
        "eu-west-1" => "Z32O12XQLNTSW2",
        "eu-central-1" => "Z215JYRZR1TBD5",
        "ap-southeast-1" => "Z1LMS91P8CMLE5",
        "ap-northeast-1" => "Z14GRHDCWA56QT",
        _ => "Z35SXDOTRQ7X7K",
    }
}

/// The attributes of an application load balancer, with AWS's defaults.
pub fn default_attributes() -> BTreeMap<String, String> {
    [
        ("access_logs.s3.enabled", "false"),
        ("access_logs.s3.bucket", ""),
        ("access_logs.s3.prefix", ""),
        ("client_keep_alive.seconds", "3600"),
        ("connection_logs.s3.enabled", "false"),
        ("connection_logs.s3.bucket", ""),
        ("connection_logs.s3.prefix", ""),
        ("deletion_protection.enabled", "false"),
        ("idle_timeout.timeout_seconds", "60"),
        ("load_balancing.cross_zone.enabled", "true"),
        ("routing.http.desync_mitigation_mode", "defensive"),
        ("routing.http.drop_invalid_header_fields.enabled", "false"),
        ("routing.http.preserve_host_header.enabled", "false"),
        ("routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "false"),
        ("routing.http.xff_client_port.enabled", "false"),
        ("routing.http.xff_header_processing.mode", "append"),
        ("routing.http2.enabled", "true"),
        ("waf.fail_open.enabled", "false"),
        ("zonal_shift.config.enabled", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// AWS's rules for load balancer names.
pub fn check_name(name: &str) -> Result<(), AwsError> {
    if name.len() > 32 {
        return Err(errors::validation(format!(
            "The load balancer name '{name}' cannot be longer than '32' characters"
        )));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(errors::validation(format!(
            "The load balancer name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(errors::validation(format!("The load balancer name '{name}' cannot begin or end with a hyphen")));
    }
    if name.starts_with("internal-") {
        return Err(errors::validation(format!("The load balancer name '{name}' cannot begin with 'internal-'")));
    }
    Ok(())
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").to_string();
    check_name(&name)?;
    let kind = input.get("Type").and_then(Value::as_str).unwrap_or("application").to_string();
    if kind != "application" {
        return Err(errors::invalid_configuration(format!(
            "Load balancers of type '{kind}' are not supported by this server; use 'application'"
        )));
    }
    let scheme = input.get("Scheme").and_then(Value::as_str).unwrap_or("internet-facing").to_string();
    let ip_type = input.get("IpAddressType").and_then(Value::as_str).unwrap_or("ipv4").to_string();
    let net = crate::ec2::network(&ctx.account, &ctx.region);
    let mut subnet_ids = strings(input.get("Subnets"));
    for m in input.get("SubnetMappings").and_then(Value::as_array).into_iter().flatten() {
        subnet_ids.push(str_of(m, "SubnetId").to_string());
    }
    let mut zones = Vec::new();
    for id in &subnet_ids {
        let Some((sid, zone, ..)) = net.subnets.iter().find(|s| &s.0 == id) else {
            return Err(AwsError::new("SubnetNotFoundException", format!("The subnet ID '{id}' is not valid")));
        };
        if zones.iter().any(|(_, z): &(String, String)| z == zone) {
            return Err(AwsError::new(
                "InvalidConfigurationRequestException",
                "You cannot specify multiple subnets in the same Availability Zone",
            ));
        }
        zones.push((sid.clone(), zone.clone()));
    }
    if subnet_ids.is_empty() {
        // None named: the default subnets (AWS requires at least two).
        zones = net.subnets.iter().map(|s| (s.0.clone(), s.1.clone())).collect();
    } else if zones.len() < 2 {
        return Err(errors::validation("At least two subnets in two different Availability Zones must be specified"));
    }
    let mut groups = strings(input.get("SecurityGroups"));
    if groups.is_empty() {
        groups.push(net.security_group_id.clone());
    }
    if let Some(g) = groups.iter().find(|g| **g != net.security_group_id) {
        return Err(AwsError::new("InvalidSecurityGroupException", format!("Security group '{g}' does not exist")));
    }
    let tags = store::tags_of(&input)?;
    let bytes = i.env.ids.random_bytes();
    let id = hex::encode(&bytes[..8]);
    let digits =
        100_000_000 + u64::from(u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]])) % 1_900_000_000;
    let prefix = if scheme == "internal" { "internal-" } else { "" };
    let dns = format!("{prefix}{name}-{digits}.{}.elb.localhost", ctx.region);
    let arn = format!(
        "arn:{partition}:elasticloadbalancing:{}:{}:loadbalancer/app/{name}/{id}",
        ctx.region,
        ctx.account,
        partition = stratus_core::partition(&ctx.region)
    );
    let lb = json!({
        "LoadBalancerArn": arn,
        "DNSName": dns,
        "CanonicalHostedZoneId": hosted_zone(&ctx.region),
        "CreatedTime": i.env.clock.now_millis() as f64 / 1000.0,
        "LoadBalancerName": name,
        "Scheme": scheme,
        "VpcId": net.vpc_id,
        "State": {"Code": "active"},
        "Type": "application",
        "AvailabilityZones": zones.iter().map(|(s, z)| json!({"ZoneName": z, "SubnetId": s, "LoadBalancerAddresses": []})).collect::<Vec<_>>(),
        "SecurityGroups": groups,
        "IpAddressType": ip_type,
    });
    let doc = LbDoc { lb, attributes: default_attributes(), tags };
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let key = store::lb_key(&account, &region, &name);
    let stored: LbDoc = i
        .store
        .write(move |t| {
            if let Some(existing) = store::get_json::<LbDoc>(t, &key)? {
                // The same request again answers the load balancer it made.
                let same = str_of(&existing.lb, "Scheme") == str_of(&doc.lb, "Scheme")
                    && str_of(&existing.lb, "IpAddressType") == str_of(&doc.lb, "IpAddressType");
                return if same { Ok(existing) } else { Err(errors::duplicate_lb(&name)) };
            }
            store::put_json(t, &key, &doc)?;
            let dns = str_of(&doc.lb, "DNSName").to_string();
            t.put(store::dns_key(&dns).as_bytes(), format!("{account}/{region}/{name}").as_bytes())
                .map_err(store::store_err)?;
            Ok(doc)
        })
        .await?;
    let dns = str_of(&stored.lb, "DNSName");
    i.runtime.add_host(dns, &ctx.account, &ctx.region, str_of(&stored.lb, "LoadBalancerName"));
    Ok(json!({"LoadBalancers": [stored.lb]}))
}

/// A page of `items` from `Marker` (an offset), at most `PageSize` (default 400).
pub fn page(items: Vec<Value>, input: &Value, member: &str) -> Result<Value, AwsError> {
    let size = input.get("PageSize").and_then(Value::as_u64).unwrap_or(400) as usize;
    let start = match input.get("Marker").and_then(Value::as_str) {
        None => 0,
        Some(m) => m.parse::<usize>().map_err(|_| errors::validation(format!("Invalid marker '{m}'")))?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let mut out = json!({ member: page });
    if start + size < total {
        out["NextMarker"] = Value::String((start + size).to_string());
    }
    Ok(out)
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arns = strings(input.get("LoadBalancerArns"));
    let names = strings(input.get("Names"));
    if !arns.is_empty() && !names.is_empty() {
        return Err(errors::validation(
            "Load balancer names and load balancer ARNs cannot be specified at the same time",
        ));
    }
    let all: Vec<LbDoc> = i.store.read(move |r| store::scan_json(r, &store::lbs_prefix(&account, &region))).await?;
    let items: Vec<Value> = if !arns.is_empty() {
        let mut out = Vec::new();
        for a in &arns {
            match all.iter().find(|d| str_of(&d.lb, "LoadBalancerArn") == a) {
                Some(d) => out.push(d.lb.clone()),
                None => return Err(errors::lb_not_found()),
            }
        }
        out
    } else if !names.is_empty() {
        let mut out = Vec::new();
        for n in &names {
            match all.iter().find(|d| str_of(&d.lb, "LoadBalancerName") == n) {
                Some(d) => out.push(d.lb.clone()),
                None => {
                    return Err(AwsError::new(
                        "LoadBalancerNotFoundException",
                        format!("Load balancers '[{n}]' not found"),
                    ));
                }
            }
        }
        out
    } else {
        all.into_iter().map(|d| d.lb).collect()
    };
    page(items, &input, "LoadBalancers")
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = str_of(&input, "LoadBalancerArn").to_string();
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let a = arn.clone();
    let removed: Option<(String, Vec<(u16, String)>)> = i
        .store
        .write(move |t| {
            // Deleting a load balancer that does not exist succeeds, as on AWS.
            let Some(doc) = store::load_lb(t, &account, &region, &a)? else { return Ok(None) };
            if doc.attributes.get("deletion_protection.enabled").is_some_and(|v| v == "true") {
                return Err(errors::not_permitted(format!(
                    "Load balancer '{a}' cannot be deleted because deletion protection is enabled"
                )));
            }
            let Some((.., name, lb_id)) = store::parse_lb_arn(&a) else { return Ok(None) };
            let listeners: Vec<ListenerDoc> = store::scan_json(t, &store::listeners_prefix(&account, &region, &lb_id))?;
            let mut ports = Vec::new();
            for l in &listeners {
                let larn = str_of(&l.listener, "ListenerArn").to_string();
                crate::listeners::remove_listener(t, &account, &region, &larn)?;
                let port = l.listener.get("Port").and_then(Value::as_u64).unwrap_or(0) as u16;
                ports.push((port, larn));
            }
            t.delete(store::lb_key(&account, &region, &name).as_bytes()).map_err(store::store_err)?;
            let dns = str_of(&doc.lb, "DNSName").to_string();
            t.delete(store::dns_key(&dns).as_bytes()).map_err(store::store_err)?;
            Ok(Some((dns, ports)))
        })
        .await?;
    if let Some((dns, ports)) = removed {
        i.runtime.remove_host(&dns);
        for (p, l) in ports {
            i.runtime.remove_port(p, &l);
        }
    }
    Ok(json!({}))
}

pub async fn describe_attributes(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = str_of(&input, "LoadBalancerArn").to_string();
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let doc =
        i.store.read(move |r| store::load_lb(r, &account, &region, &arn)).await?.ok_or_else(errors::lb_not_found)?;
    Ok(json!({"Attributes": attribute_list(&doc.attributes)}))
}

pub fn attribute_list(attrs: &BTreeMap<String, String>) -> Vec<Value> {
    attrs.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect()
}

pub async fn modify_attributes(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = str_of(&input, "LoadBalancerArn").to_string();
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let changes: Vec<(String, String)> = input
        .get("Attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| (str_of(a, "Key").to_string(), str_of(a, "Value").to_string()))
        .collect();
    let known = default_attributes();
    for (k, v) in &changes {
        if !known.contains_key(k) {
            return Err(errors::validation(format!("Load balancer attribute key '{k}' is not recognized")));
        }
        if k.ends_with(".enabled") && v != "true" && v != "false" {
            return Err(errors::validation(format!("Load balancer attribute value '{v}' for key '{k}' is not valid")));
        }
        if k == "idle_timeout.timeout_seconds" && !v.parse::<u32>().is_ok_and(|s| (1..=4000).contains(&s)) {
            return Err(errors::validation(format!("Load balancer attribute value '{v}' for key '{k}' is not valid")));
        }
    }
    let doc = i
        .store
        .write(move |t| {
            let mut doc = store::load_lb(t, &account, &region, &arn)?.ok_or_else(errors::lb_not_found)?;
            for (k, v) in changes {
                doc.attributes.insert(k, v);
            }
            let name = str_of(&doc.lb, "LoadBalancerName").to_string();
            store::put_json(t, &store::lb_key(&account, &region, &name), &doc)?;
            Ok::<_, AwsError>(doc)
        })
        .await?;
    Ok(json!({"Attributes": attribute_list(&doc.attributes)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("my-lb-1").is_ok());
        assert!(check_name(&"a".repeat(32)).is_ok());
        assert!(check_name(&"a".repeat(33)).is_err());
        assert!(check_name("-lb").is_err());
        assert!(check_name("lb-").is_err());
        assert!(check_name("lb_1").is_err());
        assert!(check_name("internal-lb").is_err());
        assert!(check_name("").is_err());
    }
}

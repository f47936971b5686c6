//! A minimal Amazon EC2 (its own `ec2` protocol): the default network of every account and
//! region, read-only — DescribeVpcs, DescribeSubnets, DescribeSecurityGroups and
//! DescribeAvailabilityZones — so that tools can find the subnets and security group a load
//! balancer needs.
//!
//! Every account and region has a default VPC (172.31.0.0/16), one default subnet in each of
//! three availability zones (`{region}a`, `b`, `c`: 172.31.0.0/20, 172.31.16.0/20,
//! 172.31.32.0/20) and the VPC's `default` security group. Nothing is stored: ids are derived
//! from a hash of account, region and resource, so they are the same after a restart and in
//! every process. It lives beside elbv2 because load balancers stand on these subnets, and
//! service crates never depend on each other.

use std::sync::LazyLock;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use stratus_core::RequestContext;
use stratus_proto::{AwsError, BoxFuture, Checks, Operation, Service, ServiceModel, ValidationFailure, Wire};

static MODEL: LazyLock<Result<ServiceModel, String>> =
    LazyLock::new(|| ServiceModel::parse(include_str!("../../../models/ec2.json"), None).map_err(|e| e.to_string()));

/// The zone letters of the default subnets.
pub const ZONES: [char; 3] = ['a', 'b', 'c'];

/// The default network of an account and region.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub vpc_id: String,
    /// `(subnet id, zone name, zone id, cidr)` in zone order.
    pub subnets: Vec<(String, String, String, String)>,
    pub security_group_id: String,
}

fn derived(prefix: &str, account: &str, region: &str, what: &str) -> String {
    let digest = Sha256::digest(format!("{account}/{region}/{what}").as_bytes());
    format!("{prefix}-{}", &hex::encode(digest)[..17])
}

/// AWS's short form of a region in zone ids (`us-east-1` → `use1`, `ap-southeast-2` → `apse2`).
fn region_short(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i == 0 || i + 1 == parts.len() {
            out.push_str(p);
            continue;
        }
        out.push_str(match *p {
            "northeast" => "ne",
            "southeast" => "se",
            "northwest" => "nw",
            "southwest" => "sw",
            other => &other[..other.len().min(1)],
        });
    }
    out
}

/// The default network of `account` in `region`.
pub fn network(account: &str, region: &str) -> Network {
    let subnets = ZONES
        .iter()
        .enumerate()
        .map(|(i, z)| {
            (
                derived("subnet", account, region, &format!("subnet/{z}")),
                format!("{region}{z}"),
                format!("{}-az{}", region_short(region), i + 1),
                format!("172.31.{}.0/20", i * 16),
            )
        })
        .collect();
    Network {
        vpc_id: derived("vpc", account, region, "vpc"),
        subnets,
        security_group_id: derived("sg", account, region, "sg/default"),
    }
}

fn vpc(account: &str, region: &str, n: &Network) -> Value {
    json!({
        "VpcId": n.vpc_id,
        "OwnerId": account,
        "State": "available",
        "CidrBlock": "172.31.0.0/16",
        "DhcpOptionsId": derived("dopt", account, region, "dopt"),
        "InstanceTenancy": "default",
        "IsDefault": true,
        "CidrBlockAssociationSet": [{
            "AssociationId": derived("vpc-cidr-assoc", account, region, "cidr"),
            "CidrBlock": "172.31.0.0/16",
            "CidrBlockState": {"State": "associated"}
        }],
        "Ipv6CidrBlockAssociationSet": [],
        "Tags": [],
    })
}

fn subnets(account: &str, region: &str, n: &Network) -> Vec<Value> {
    n.subnets
        .iter()
        .map(|(id, zone, zone_id, cidr)| {
            json!({
                "SubnetId": id,
                "SubnetArn": format!("arn:{partition}:ec2:{region}:{account}:subnet/{id}", partition = stratus_core::partition(region)),
                "VpcId": n.vpc_id,
                "OwnerId": account,
                "State": "available",
                "AvailabilityZone": zone,
                "AvailabilityZoneId": zone_id,
                "CidrBlock": cidr,
                "AvailableIpAddressCount": 4091,
                "DefaultForAz": true,
                "MapPublicIpOnLaunch": true,
                "MapCustomerOwnedIpOnLaunch": false,
                "AssignIpv6AddressOnCreation": false,
                "Ipv6CidrBlockAssociationSet": [],
                "EnableDns64": false,
                "Ipv6Native": false,
                "PrivateDnsNameOptionsOnLaunch": {
                    "HostnameType": "ip-name",
                    "EnableResourceNameDnsARecord": false,
                    "EnableResourceNameDnsAAAARecord": false
                },
                "Tags": [],
            })
        })
        .collect()
}

fn security_group(account: &str, region: &str, n: &Network) -> Value {
    let id = &n.security_group_id;
    json!({
        "GroupId": id,
        "GroupName": "default",
        "Description": "default VPC security group",
        "OwnerId": account,
        "VpcId": n.vpc_id,
        "SecurityGroupArn": format!("arn:{partition}:ec2:{region}:{account}:security-group/{id}", partition = stratus_core::partition(region)),
        "IpPermissions": [{
            "IpProtocol": "-1",
            "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
            "UserIdGroupPairs": [{"GroupId": id, "UserId": account}]
        }],
        "IpPermissionsEgress": [{
            "IpProtocol": "-1",
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []
        }],
        "Tags": [],
    })
}

fn zones(region: &str, n: &Network) -> Vec<Value> {
    n.subnets
        .iter()
        .map(|(_, zone, zone_id, _)| {
            json!({
                "State": "available",
                "OptInStatus": "opt-in-not-required",
                "Messages": [],
                "RegionName": region,
                "ZoneName": zone,
                "ZoneId": zone_id,
                "GroupName": region,
                "NetworkBorderGroup": region,
                "ZoneType": "availability-zone",
            })
        })
        .collect()
}

/// The field of a resource a filter name reads (None: the filter name is not valid).
fn filter_field(kind: &str, name: &str) -> Option<&'static str> {
    Some(match (kind, name) {
        (_, "vpc-id" | "vpcId") => "VpcId",
        (_, "owner-id") => "OwnerId",
        (_, "state") => "State",
        ("vpc", "isDefault" | "is-default") => "IsDefault",
        ("vpc", "cidr" | "cidr-block") => "CidrBlock",
        ("vpc", "dhcp-options-id") => "DhcpOptionsId",
        ("subnet", "subnet-id" | "subnetId") => "SubnetId",
        ("subnet", "default-for-az" | "defaultForAz") => "DefaultForAz",
        ("subnet", "availability-zone" | "availabilityZone") => "AvailabilityZone",
        ("subnet", "availability-zone-id" | "availabilityZoneId") => "AvailabilityZoneId",
        ("subnet", "cidr-block" | "cidr" | "cidrBlock") => "CidrBlock",
        ("subnet", "map-public-ip-on-launch") => "MapPublicIpOnLaunch",
        ("sg", "group-name") => "GroupName",
        ("sg", "group-id") => "GroupId",
        ("sg", "description") => "Description",
        ("az", "zone-name") => "ZoneName",
        ("az", "zone-id") => "ZoneId",
        ("az", "region-name") => "RegionName",
        ("az", "zone-type") => "ZoneType",
        ("az", "group-name") => "GroupName",
        ("az", "opt-in-status") => "OptInStatus",
        _ => return None,
    })
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Keeps the items every filter matches (values of one filter are alternatives; `*` and `?`
/// are wildcards, as in EC2). Tag filters match nothing: the defaults have no tags.
fn filtered(kind: &str, items: Vec<Value>, input: &Value) -> Result<Vec<Value>, AwsError> {
    let mut out = items;
    for f in input.get("Filters").and_then(Value::as_array).into_iter().flatten() {
        let name = f.get("Name").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> =
            f.get("Values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        if name.starts_with("tag:") || name == "tag-key" {
            out.clear();
            continue;
        }
        let field = filter_field(kind, name)
            .ok_or_else(|| AwsError::new("InvalidParameterValue", format!("The filter '{name}' is invalid")))?;
        out.retain(|item| {
            let have = item.get(field).map(text).unwrap_or_default();
            values.iter().any(|v| crate::serve::rules::wildcard(v, &have, false))
        });
    }
    Ok(out)
}

/// Keeps the items whose `field` is among `ids` (in that order), or fails with EC2's
/// not-found error for the first unknown one.
fn by_ids(
    items: Vec<Value>,
    field: &str,
    ids: Option<&Value>,
    missing: impl Fn(&str) -> AwsError,
) -> Result<Vec<Value>, AwsError> {
    let Some(ids) = ids.and_then(Value::as_array) else { return Ok(items) };
    let mut out = Vec::new();
    for id in ids.iter().filter_map(Value::as_str) {
        match items.iter().find(|i| i.get(field).and_then(Value::as_str) == Some(id)) {
            Some(i) => out.push(i.clone()),
            None => return Err(missing(id)),
        }
    }
    Ok(out)
}

/// The EC2 service (read-only defaults).
#[derive(Clone)]
pub struct Ec2 {
    model: &'static ServiceModel,
}

impl Ec2 {
    pub fn new() -> Result<Self, String> {
        Ok(Ec2 { model: MODEL.as_ref().map_err(Clone::clone)? })
    }
}

impl Service for Ec2 {
    fn model(&self) -> &ServiceModel {
        self.model
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let (account, region) = (ctx.account.as_str(), ctx.region.as_str());
            let n = network(account, region);
            if input.get("DryRun").and_then(Value::as_bool) == Some(true) {
                return Err(AwsError::new("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
                    .with_status(412));
            }
            match op.name.as_str() {
                "DescribeVpcs" => {
                    let items = by_ids(vec![vpc(account, region, &n)], "VpcId", input.get("VpcIds"), |id| {
                        AwsError::new("InvalidVpcID.NotFound", format!("The vpc ID '{id}' does not exist"))
                    })?;
                    Ok(json!({"Vpcs": filtered("vpc", items, &input)?}))
                }
                "DescribeSubnets" => {
                    let items = by_ids(subnets(account, region, &n), "SubnetId", input.get("SubnetIds"), |id| {
                        AwsError::new("InvalidSubnetID.NotFound", format!("The subnet ID '{id}' does not exist"))
                    })?;
                    Ok(json!({"Subnets": filtered("subnet", items, &input)?}))
                }
                "DescribeSecurityGroups" => {
                    let all = vec![security_group(account, region, &n)];
                    let items = by_ids(all, "GroupId", input.get("GroupIds"), |id| {
                        AwsError::new("InvalidGroup.NotFound", format!("The security group '{id}' does not exist"))
                    })?;
                    let vpc_id = n.vpc_id.clone();
                    let items = by_ids(items, "GroupName", input.get("GroupNames"), |name| {
                        AwsError::new(
                            "InvalidGroup.NotFound",
                            format!("The security group '{name}' does not exist in default VPC '{vpc_id}'"),
                        )
                    })?;
                    Ok(json!({"SecurityGroups": filtered("sg", items, &input)?}))
                }
                "DescribeAvailabilityZones" => {
                    let missing = |z: &str| {
                        AwsError::new(
                            "InvalidParameterValue",
                            format!("The zone '{z}' does not exist in the region {region}"),
                        )
                    };
                    let items = by_ids(zones(region, &n), "ZoneName", input.get("ZoneNames"), missing)?;
                    let items = by_ids(items, "ZoneId", input.get("ZoneIds"), missing)?;
                    Ok(json!({"AvailabilityZones": filtered("az", items, &input)?}))
                }
                other => Err(AwsError::new(
                    "InvalidAction",
                    format!("The action {other} is not valid for this web service."),
                )),
            }
        })
    }

    fn checks(&self) -> Checks {
        Checks { enums: false, ranges: false }
    }

    fn validation_error(&self, _op: &Operation, failure: &ValidationFailure, _wire: Wire) -> AwsError {
        failure.to_query_style()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_stable_and_shaped() {
        let a = network("000000000000", "us-east-1");
        assert_eq!(a, network("000000000000", "us-east-1"));
        assert_ne!(a.vpc_id, network("000000000000", "eu-west-1").vpc_id);
        assert!(a.vpc_id.starts_with("vpc-") && a.vpc_id.len() == 21);
        assert_eq!(a.subnets[1].1, "us-east-1b");
        assert_eq!(a.subnets[1].2, "use1-az2");
        assert_eq!(a.subnets[2].3, "172.31.32.0/20");
        assert_eq!(region_short("ap-southeast-2"), "apse2");
        assert_eq!(region_short("eu-central-1"), "euc1");
    }

    #[test]
    fn filters_select() {
        let n = network("1", "us-east-1");
        let items = subnets("1", "us-east-1", &n);
        let input = json!({"Filters": [{"Name": "availability-zone", "Values": ["us-east-1b", "us-east-1c"]},
                                       {"Name": "default-for-az", "Values": ["true"]}]});
        assert_eq!(filtered("subnet", items.clone(), &input).map(|v| v.len()), Ok(2));
        let bad = json!({"Filters": [{"Name": "nonsense", "Values": ["x"]}]});
        assert!(filtered("subnet", items, &bad).is_err());
    }
}

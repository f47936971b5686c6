//! Elastic Load Balancing v2 (query protocol, `elasticloadbalancing`): Application Load
//! Balancers with listeners, rules and target groups of Lambda functions and IP addresses, and
//! the data plane that serves their requests ([`Elbv2::serve`]), which the binary's ALB door
//! calls. Beside it, [`Ec2`]: the read-only default network (VPC, subnets, security group,
//! availability zones) that load balancers stand on.
//!
//! - `store`: what is stored and where.
//! - `loadbalancers`, `listeners` (listeners and rules), `targetgroups`, `tags`: the operations.
//! - `serve`: a request to a load balancer, from its host name to the target's answer, with
//!   the rule matcher (`serve::rules`) and the Lambda event and answer (`serve::lambda`).
//! - `ec2`: the EC2 service.
//!
//! What targets reach (functions, with the permission check; IP targets over HTTP) is the
//! [`Targets`] trait, which the binary implements: the crate depends on no other service.
//! Operations of the model not listed in [`SUPPORTED`] answer `InvalidAction`.

use std::sync::{Arc, LazyLock, OnceLock};

use serde_json::{Value, json};
use stratus_core::{Env, RequestContext};
use stratus_proto::{AwsError, BoxFuture, Checks, Operation, Service, ServiceModel, ValidationFailure, Wire};
use stratus_storage::Store;

pub mod ec2;
mod errors;
mod listeners;
mod loadbalancers;
pub mod serve;
mod store;
mod tags;
mod targetgroups;

pub use ec2::Ec2;
pub use serve::{AlbRequest, HttpAnswer, Invoked, TargetError, Targets};

static MODEL: LazyLock<Result<ServiceModel, String>> =
    LazyLock::new(|| ServiceModel::parse(include_str!("../../../models/elbv2.json"), None).map_err(|e| e.to_string()));

/// The operations this server implements.
pub const SUPPORTED: &[&str] = &[
    "CreateLoadBalancer",
    "DescribeLoadBalancers",
    "DeleteLoadBalancer",
    "DescribeLoadBalancerAttributes",
    "ModifyLoadBalancerAttributes",
    "CreateListener",
    "DescribeListeners",
    "ModifyListener",
    "DeleteListener",
    "CreateRule",
    "DescribeRules",
    "ModifyRule",
    "DeleteRule",
    "SetRulePriorities",
    "CreateTargetGroup",
    "DescribeTargetGroups",
    "ModifyTargetGroup",
    "DeleteTargetGroup",
    "DescribeTargetGroupAttributes",
    "ModifyTargetGroupAttributes",
    "RegisterTargets",
    "DeregisterTargets",
    "DescribeTargetHealth",
    "AddTags",
    "RemoveTags",
    "DescribeTags",
    "DescribeAccountLimits",
];

/// The Elastic Load Balancing v2 service.
#[derive(Clone)]
pub struct Elbv2 {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    pub model: &'static ServiceModel,
    pub runtime: serve::Runtime,
    /// What targets reach, given by the binary.
    pub targets: OnceLock<Arc<dyn Targets>>,
}

impl Elbv2 {
    pub fn new(store: Store, env: Env) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Elbv2 {
            inner: Arc::new(Inner { store, env, model, runtime: serve::Runtime::default(), targets: OnceLock::new() }),
        })
    }

    /// Connects the targets to the rest of Stratus (once, at start).
    pub fn set_targets(&self, targets: Arc<dyn Targets>) {
        let _ = self.inner.targets.set(targets);
    }

    /// Loads what the data plane keeps in memory (host names and listener ports).
    pub async fn start(&self) -> Result<(), String> {
        let i = &self.inner;
        let (hosts, ports) = i
            .store
            .read(|r| {
                let hosts = stratus_storage::scan_prefix(r, store::DNS_PREFIX.as_bytes(), usize::MAX)?;
                let ports = stratus_storage::scan_prefix(r, store::PORT_PREFIX.as_bytes(), usize::MAX)?;
                Ok::<_, stratus_storage::StoreError>((hosts, ports))
            })
            .await
            .map_err(|e| e.to_string())?;
        for (k, v) in hosts {
            let dns = String::from_utf8_lossy(&k[store::DNS_PREFIX.len()..]).into_owned();
            let v = String::from_utf8_lossy(&v).into_owned();
            let mut parts = v.splitn(3, '/');
            if let (Some(a), Some(r), Some(n)) = (parts.next(), parts.next(), parts.next()) {
                i.runtime.add_host(&dns, a, r, n);
            }
        }
        for (k, _) in ports {
            let rest = String::from_utf8_lossy(&k[store::PORT_PREFIX.len()..]).into_owned();
            if let Some((port, arn)) = rest.split_once('/')
                && let Ok(port) = port.parse::<u16>()
            {
                i.runtime.add_port(port, arn);
            }
        }
        Ok(())
    }

    /// Whether `host` (without port) is the DNS name of a load balancer.
    pub fn is_load_balancer_host(&self, host: &str) -> bool {
        self.inner.runtime.hosts.read().is_ok_and(|h| !h.is_empty() && h.contains_key(&host.to_ascii_lowercase()))
    }

    /// The ports listeners are configured on.
    pub fn listener_ports(&self) -> Vec<u16> {
        let mut p: Vec<u16> = self.inner.runtime.ports.read().map(|m| m.keys().copied().collect()).unwrap_or_default();
        p.sort_unstable();
        p
    }

    /// Wakes whenever the listener ports may have changed.
    pub fn watch_ports(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.runtime.port_version.subscribe()
    }

    /// Serves a request to a load balancer (the ALB door).
    pub async fn serve(&self, req: AlbRequest) -> HttpAnswer {
        serve::serve(&self.inner, req).await
    }

    /// Forgets the host names and ports (after the store was wiped).
    pub fn reset(&self) {
        self.inner.runtime.clear();
    }
}

/// AWS's default quotas, as DescribeAccountLimits answers them.
fn account_limits(input: &Value) -> Result<Value, AwsError> {
    let limits = [
        ("application-load-balancers", "50"),
        ("condition-values-per-alb-rule", "5"),
        ("condition-wildcards-per-alb-rule", "5"),
        ("gateway-load-balancers", "100"),
        ("gateway-load-balancers-per-vpc", "100"),
        ("geneve-target-groups", "100"),
        ("listeners-per-application-load-balancer", "50"),
        ("listeners-per-network-load-balancer", "50"),
        ("network-load-balancers", "50"),
        ("rules-per-application-load-balancer", "100"),
        ("target-groups", "3000"),
        ("target-groups-per-action-on-application-load-balancer", "5"),
        ("target-groups-per-action-on-network-load-balancer", "1"),
        ("target-groups-per-application-load-balancer", "100"),
        ("targets-per-application-load-balancer", "1000"),
        ("targets-per-availability-zone-per-gateway-load-balancer", "300"),
        ("targets-per-availability-zone-per-network-load-balancer", "500"),
        ("targets-per-network-load-balancer", "3000"),
    ];
    let items = limits.iter().map(|(n, m)| json!({"Name": n, "Max": m})).collect();
    loadbalancers::page(items, input, "Limits")
}

impl Service for Elbv2 {
    fn model(&self) -> &ServiceModel {
        self.inner.model
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &self.inner;
            let answer = match op.name.as_str() {
                "CreateLoadBalancer" => loadbalancers::create(i, ctx, input).await,
                "DescribeLoadBalancers" => loadbalancers::describe(i, ctx, input).await,
                "DeleteLoadBalancer" => loadbalancers::delete(i, ctx, input).await,
                "DescribeLoadBalancerAttributes" => loadbalancers::describe_attributes(i, ctx, input).await,
                "ModifyLoadBalancerAttributes" => loadbalancers::modify_attributes(i, ctx, input).await,
                "CreateListener" => listeners::create(i, ctx, input).await,
                "DescribeListeners" => listeners::describe(i, ctx, input).await,
                "ModifyListener" => listeners::modify(i, ctx, input).await,
                "DeleteListener" => listeners::delete(i, ctx, input).await,
                "CreateRule" => listeners::create_rule(i, ctx, input).await,
                "DescribeRules" => listeners::describe_rules(i, ctx, input).await,
                "ModifyRule" => listeners::modify_rule(i, ctx, input).await,
                "DeleteRule" => listeners::delete_rule(i, ctx, input).await,
                "SetRulePriorities" => listeners::set_priorities(i, ctx, input).await,
                "CreateTargetGroup" => targetgroups::create(i, ctx, input).await,
                "DescribeTargetGroups" => targetgroups::describe(i, ctx, input).await,
                "ModifyTargetGroup" => targetgroups::modify(i, ctx, input).await,
                "DeleteTargetGroup" => targetgroups::delete(i, ctx, input).await,
                "DescribeTargetGroupAttributes" => targetgroups::describe_attributes(i, ctx, input).await,
                "ModifyTargetGroupAttributes" => targetgroups::modify_attributes(i, ctx, input).await,
                "RegisterTargets" => targetgroups::register(i, ctx, input).await,
                "DeregisterTargets" => targetgroups::deregister(i, ctx, input).await,
                "DescribeTargetHealth" => targetgroups::health(i, ctx, input).await,
                "AddTags" => tags::add(i, ctx, input).await,
                "RemoveTags" => tags::remove(i, ctx, input).await,
                "DescribeTags" => tags::describe(i, ctx, input).await,
                "DescribeAccountLimits" => account_limits(&input),
                other => Err(errors::unsupported(other)),
            };
            // What the data plane keeps of load balancers, listeners, rules and target groups
            // is dropped after any change.
            if !op.name.starts_with("Describe") {
                i.runtime.changed();
            }
            answer
        })
    }

    fn checks(&self) -> Checks {
        Checks { enums: true, ranges: true }
    }

    /// elbv2 reports model violations as `ValidationError` in the Coral wording.
    fn validation_error(&self, _op: &Operation, failure: &ValidationFailure, _wire: Wire) -> AwsError {
        match failure {
            ValidationFailure::Missing { member, .. } => errors::validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(member)
            )),
            other => {
                let e = other.to_validation_exception();
                errors::validation(e.message)
            }
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_loads_and_serves_what_it_lists() {
        let m = MODEL.as_ref().expect("model");
        for op in SUPPORTED {
            assert!(m.operation(op).is_some(), "{op}");
        }
        assert!(Ec2::new().is_ok());
    }
}

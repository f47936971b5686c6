//! The errors of elbv2, by the model's error shape names (the protocol layer answers their
//! query-protocol codes, such as `LoadBalancerNotFound`), with AWS's messages.

use stratus_proto::AwsError;

/// Parameter validation (`ValidationError`, not in the model: HTTP 400, sender fault).
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", message)
}

pub fn lb_not_found() -> AwsError {
    AwsError::new("LoadBalancerNotFoundException", "One or more load balancers not found")
}

pub fn tg_not_found() -> AwsError {
    AwsError::new("TargetGroupNotFoundException", "One or more target groups not found")
}

pub fn listener_not_found() -> AwsError {
    AwsError::new("ListenerNotFoundException", "One or more listeners not found")
}

pub fn rule_not_found() -> AwsError {
    AwsError::new("RuleNotFoundException", "One or more rules not found")
}

pub fn duplicate_lb(name: &str) -> AwsError {
    AwsError::new(
        "DuplicateLoadBalancerNameException",
        format!("A load balancer with the same name '{name}' exists, but with different settings"),
    )
}

pub fn duplicate_tg(name: &str) -> AwsError {
    AwsError::new(
        "DuplicateTargetGroupNameException",
        format!("A target group with the same name '{name}' exists, but with different settings"),
    )
}

pub fn duplicate_listener() -> AwsError {
    AwsError::new("DuplicateListenerException", "A listener with the specified port already exists.")
}

pub fn priority_in_use(priority: u64) -> AwsError {
    AwsError::new("PriorityInUseException", format!("Priority '{priority}' is currently in use"))
}

pub fn invalid_action(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidLoadBalancerActionException", message)
}

pub fn invalid_configuration(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidConfigurationRequestException", message)
}

pub fn invalid_target(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidTargetException", message)
}

pub fn resource_in_use(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceInUseException", message)
}

pub fn not_permitted(message: impl Into<String>) -> AwsError {
    AwsError::new("OperationNotPermittedException", message)
}

/// The operations of the model this server does not serve.
pub fn unsupported(op: &str) -> AwsError {
    AwsError::new(
        "InvalidAction",
        format!("The action {op} of Elastic Load Balancing is not supported by this server."),
    )
}

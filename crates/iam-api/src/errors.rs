//! IAM's and STS's errors, worded as AWS words them.

use stratus_proto::AwsError;

pub fn no_such(what: &str, name: &str) -> AwsError {
    AwsError::new("NoSuchEntity", format!("The {what} with name {name} cannot be found.")).with_status(404)
}

pub fn already_exists(what: &str, name: &str) -> AwsError {
    AwsError::new("EntityAlreadyExists", format!("{what} with name {name} already exists.")).with_status(409)
}

pub fn delete_conflict(message: &str) -> AwsError {
    AwsError::new("DeleteConflict", message).with_status(409)
}

pub fn limit_exceeded(message: impl Into<String>) -> AwsError {
    AwsError::new("LimitExceeded", message).with_status(409)
}

pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", message).with_status(400)
}

pub fn invalid_input(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidInput", message).with_status(400)
}

pub fn malformed(message: impl Into<String>) -> AwsError {
    AwsError::new("MalformedPolicyDocument", message).with_status(400)
}

pub fn no_policy(arn: &str) -> AwsError {
    AwsError::new("NoSuchEntity", format!("Policy {arn} does not exist or is not attachable.")).with_status(404)
}

/// An operation of the model that is not served.
pub fn unsupported(service: &str, op: &str) -> AwsError {
    AwsError::new("NotImplemented", format!("{op} is not supported by this server's {service}.")).with_status(501)
}

pub fn access_denied(message: impl Into<String>) -> AwsError {
    AwsError::new("AccessDenied", message).with_status(403)
}

//! The CloudWatch Logs errors, by the model's error shape names, with the messages AWS answers.

use stratus_proto::AwsError;

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", message)
}

/// `1 validation error detected: Value '…' at '…' failed to satisfy constraint: …`, the form
/// CloudWatch Logs reports model constraint violations in (as `InvalidParameterException`).
pub fn constraint(member: &str, value: impl std::fmt::Display, constraint: &str) -> AwsError {
    invalid_parameter(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

pub fn group_not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified log group does not exist.")
}

pub fn stream_not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified log stream does not exist.")
}

pub fn group_exists() -> AwsError {
    AwsError::new("ResourceAlreadyExistsException", "The specified log group already exists")
}

pub fn stream_exists() -> AwsError {
    AwsError::new("ResourceAlreadyExistsException", "The specified log stream already exists")
}

pub fn invalid_token() -> AwsError {
    invalid_parameter("The specified nextToken is invalid.")
}

pub fn unsupported_operation(name: &str) -> AwsError {
    AwsError::new("InvalidOperationException", format!("The operation {name} is not supported by this server."))
}

pub fn invalid_filter_pattern(reason: &str) -> AwsError {
    invalid_parameter(format!("Invalid filter pattern: {reason}"))
}

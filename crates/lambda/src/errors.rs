//! Lambda's errors, by the model's error shape names.

use stratus_proto::AwsError;

pub fn not_found(what: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", format!("Function not found: {what}"))
}

pub fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValueException", message)
}

pub fn conflict(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceConflictException", message)
}

pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", format!("1 validation error detected: {}", message.into()))
}

pub fn precondition(message: impl Into<String>) -> AwsError {
    AwsError::new("PreconditionFailedException", message)
}

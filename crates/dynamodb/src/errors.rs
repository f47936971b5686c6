//! DynamoDB's errors, by the model's error shape names, with the messages AWS answers.

use stratus_proto::AwsError;

pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", message)
}

/// `One or more parameter values were invalid: …`
pub fn invalid(message: impl std::fmt::Display) -> AwsError {
    validation(format!("One or more parameter values were invalid: {message}"))
}

pub fn table_not_found(name: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", format!("Requested resource not found: Table: {name} not found"))
}

/// What item operations answer for a table that does not exist.
pub fn no_table() -> AwsError {
    AwsError::new("ResourceNotFoundException", "Requested resource not found")
}

pub fn in_use(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceInUseException", message)
}

pub fn conditional_check_failed() -> AwsError {
    AwsError::new("ConditionalCheckFailedException", "The conditional request failed")
}

pub fn key_mismatch() -> AwsError {
    validation("The provided key element does not match the schema")
}

pub fn unsupported(op: &str) -> AwsError {
    AwsError::new("UnknownOperationException", format!("The operation {op} is not supported by this server."))
}

pub fn limit_exceeded(message: impl Into<String>) -> AwsError {
    AwsError::new("LimitExceededException", message)
}

//! Kinesis's errors, by the model's error shape names, with the messages AWS answers.

use stratus_proto::AwsError;

pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", message)
}

pub fn invalid_argument(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidArgumentException", message)
}

pub fn stream_not_found(name: &str, account: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", format!("Stream {name} under account {account} not found."))
}

pub fn in_use(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceInUseException", message)
}

pub fn limit_exceeded(message: impl Into<String>) -> AwsError {
    AwsError::new("LimitExceededException", message)
}

pub fn not_active(name: &str, account: &str) -> AwsError {
    in_use(format!("Stream {name} under account {account} not ACTIVE, instead in state UPDATING"))
}

pub fn unsupported(op: &str) -> AwsError {
    AwsError::new("UnknownOperationException", format!("The operation {op} is not supported by this server."))
}

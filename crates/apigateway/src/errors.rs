//! API Gateway's control-plane errors, by the model's error shape names, with AWS's messages.

use stratus_proto::AwsError;

pub fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("NotFoundException", message)
}

pub fn bad_request(message: impl Into<String>) -> AwsError {
    AwsError::new("BadRequestException", message)
}

pub fn conflict(message: impl Into<String>) -> AwsError {
    AwsError::new("ConflictException", message)
}

pub fn api_not_found(account: &str, id: &str) -> AwsError {
    not_found(format!("Invalid API identifier specified {account}:{id}"))
}

pub fn resource_not_found(_account: &str, _id: &str) -> AwsError {
    not_found("Invalid Resource identifier specified")
}

pub fn method_not_found() -> AwsError {
    not_found("Invalid Method identifier specified")
}

pub fn integration_not_found() -> AwsError {
    not_found("Invalid Integration identifier specified")
}

pub fn response_not_found() -> AwsError {
    not_found("Invalid Response status code specified")
}

pub fn stage_not_found() -> AwsError {
    not_found("Invalid Stage identifier specified")
}

pub fn deployment_not_found() -> AwsError {
    not_found("Invalid Deployment identifier specified")
}

pub fn unsupported(op: &str) -> AwsError {
    AwsError::new("BadRequestException", format!("The operation {op} is not supported by this server."))
        .with_status(400)
}

//! API Gateway v2's control-plane errors, by the model's error shape names, with AWS's messages
//! (`NotFoundException` also names the `resourceType`).

use stratus_proto::AwsError;

pub fn bad_request(message: impl Into<String>) -> AwsError {
    AwsError::new("BadRequestException", message).with_status(400)
}

pub fn conflict(message: impl Into<String>) -> AwsError {
    AwsError::new("ConflictException", message).with_status(409)
}

pub fn not_found(message: String, resource_type: &str) -> AwsError {
    AwsError::new("NotFoundException", message).with_status(404).with_field("resourceType", resource_type)
}

pub fn api_not_found(account: &str, id: &str) -> AwsError {
    not_found(format!("Invalid API identifier specified {account}:{id}"), "Api")
}

pub fn route_not_found(id: &str) -> AwsError {
    not_found(format!("Invalid Route identifier specified {id}"), "Route")
}

pub fn integration_not_found(id: &str) -> AwsError {
    not_found(format!("Invalid Integration identifier specified {id}"), "Integration")
}

pub fn stage_not_found(name: &str) -> AwsError {
    not_found(format!("Invalid stage identifier specified {name}"), "Stage")
}

pub fn deployment_not_found(id: &str) -> AwsError {
    not_found(format!("Invalid Deployment identifier specified {id}"), "Deployment")
}

pub fn unsupported(op: &str) -> AwsError {
    bad_request(format!("The operation {op} is not supported by this server (API Gateway v2 serves HTTP APIs)."))
}

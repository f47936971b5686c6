//! CodeCommit's errors, by the model's exception names (all 400 unless said), with AWS's
//! messages where they are known.

use stratus_proto::AwsError;

pub fn err(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::new(code, message).with_status(400)
}

pub fn repo_not_found(name: &str) -> AwsError {
    err("RepositoryDoesNotExistException", format!("{name} does not exist"))
}

pub fn repo_exists(name: &str) -> AwsError {
    err("RepositoryNameExistsException", format!("Repository named {name} already exists"))
}

pub fn branch_not_found(name: &str) -> AwsError {
    err("BranchDoesNotExistException", format!("Branch {name} does not exist"))
}

pub fn commit_not_found(spec: &str) -> AwsError {
    err("CommitDoesNotExistException", format!("Could not find commit {spec}"))
}

pub fn git_failed(message: impl Into<String>) -> AwsError {
    AwsError::internal(message.into())
}

pub fn unsupported(op: &str) -> AwsError {
    AwsError::new("UnknownOperationException", format!("The operation {op} is not supported by this server."))
}

//! The SNS errors, by the model's error shape names (the protocol layer maps them to SNS's
//! query-protocol codes such as `NotFound` and `InvalidParameter`).

use stratus_proto::AwsError;

pub fn topic_not_found() -> AwsError {
    AwsError::new("NotFoundException", "Topic does not exist")
}

pub fn subscription_not_found() -> AwsError {
    AwsError::new("NotFoundException", "Subscription does not exist")
}

pub fn resource_not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "Resource does not exist")
}

/// `Invalid parameter: {what}` — SNS's wording for nearly every bad input.
pub fn invalid_parameter(what: impl std::fmt::Display) -> AwsError {
    AwsError::new("InvalidParameterException", format!("Invalid parameter: {what}"))
}

/// `Invalid parameter: {name} Reason: {reason}`
pub fn invalid_parameter_reason(name: &str, reason: impl std::fmt::Display) -> AwsError {
    invalid_parameter(format!("{name} Reason: {reason}"))
}

/// Bad message attributes are `ParameterValueInvalid` (InvalidParameterValueException).
pub fn invalid_parameter_value(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValueException", message)
}

pub fn invalid_filter_policy(reason: impl std::fmt::Display) -> AwsError {
    invalid_parameter(format!("FilterPolicy: {reason}"))
}

pub fn empty_batch() -> AwsError {
    AwsError::new("EmptyBatchRequestException", "The batch request doesn't contain any entries")
}

pub fn too_many_entries() -> AwsError {
    AwsError::new("TooManyEntriesInBatchRequestException", "The batch request contains more entries than permissible.")
}

pub fn ids_not_distinct() -> AwsError {
    AwsError::new("BatchEntryIdsNotDistinctException", "Two or more batch entries in the request have the same Id.")
}

pub fn invalid_batch_entry_id() -> AwsError {
    AwsError::new(
        "InvalidBatchEntryIdException",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
    )
}

pub fn tag_limit_exceeded() -> AwsError {
    AwsError::new("TagLimitExceededException", "Could not complete request: tag quota of per resource exceeded")
}

/// The operations of SNS this server does not serve (SMS, mobile push, data protection).
pub fn unsupported(op: &str) -> AwsError {
    AwsError::new("InvalidAction", format!("The action {op} is not valid for this web service."))
}

//! The SQS errors, by the model's error shape names (the protocol layer maps them to the
//! query-protocol codes such as `AWS.SimpleQueueService.NonExistentQueue`).

use stratus_proto::AwsError;

pub fn queue_does_not_exist() -> AwsError {
    AwsError::new("QueueDoesNotExist", "The specified queue does not exist.")
}

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValue", message)
}

/// `Value {value} for parameter {name} is invalid. Reason: {reason}.`
pub fn invalid_value(name: &str, value: impl std::fmt::Display, reason: &str) -> AwsError {
    invalid_parameter(format!("Value {value} for parameter {name} is invalid. Reason: {reason}"))
}

pub fn missing_parameter(name: &str) -> AwsError {
    AwsError::new("MissingParameter", format!("The request must contain the parameter {name}."))
}

pub fn invalid_attribute_value(name: &str) -> AwsError {
    AwsError::new("InvalidAttributeValue", format!("Invalid value for the parameter {name}."))
}

pub fn invalid_attribute_value_reason(name: &str, reason: &str) -> AwsError {
    AwsError::new("InvalidAttributeValue", format!("Invalid value for the parameter {name}. Reason: {reason}"))
}

pub fn invalid_attribute_name(name: &str) -> AwsError {
    AwsError::new("InvalidAttributeName", format!("Unknown Attribute {name}."))
}

pub fn receipt_handle_invalid(handle: &str) -> AwsError {
    AwsError::new(
        "ReceiptHandleIsInvalid",
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

pub fn not_for_queue_type(name: &str, value: impl std::fmt::Display) -> AwsError {
    invalid_value(name, value, "The request include parameter that is not valid for this queue type.")
}

//! The error every service answers with.

/// An error answered to the client. `code` is the error shape's name in the service model
/// (e.g. `QueueDoesNotExist`) or a common AWS code (`InvalidParameterValue`); the protocol
/// looks up the wire code and HTTP status in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: String,
    pub message: String,
    /// Overrides the model's status (and the 400 default for codes outside the model).
    pub status: Option<u16>,
    /// Overrides whether the sender is at fault.
    pub sender: Option<bool>,
    /// Further members of the error body (e.g. Lambda's `Reason`), for the JSON protocols; a
    /// value that is a JSON object or array is written as JSON (DynamoDB's `Item`).
    pub fields: Vec<(String, String)>,
}

impl AwsError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), status: None, sender: None, fields: Vec::new() }
    }

    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        if status >= 500 {
            self.sender = Some(false);
        }
        self
    }

    /// The server failed (storage, a bug): 500 `InternalFailure`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalFailure", message).with_status(500)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new("ServiceUnavailable", message).with_status(503)
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

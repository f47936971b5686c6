//! Errors as AWS reports them, and the validation failures the model checks find.

pub use stratus_core::AwsError;

/// What the model checks found wrong with an input.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidationFailure {
    /// A required member is absent. `path` is the dotted member path (`Entries.1.Id`).
    Missing { path: String, member: String },
    /// The value has the wrong JSON type / cannot be parsed as the shape's type.
    Type { path: String, member: String, expected: &'static str, value: String },
    /// A string not among the shape's enum values.
    Enum { path: String, member: String, value: String, allowed: Vec<String> },
    /// A number outside `min..=max`.
    Range { path: String, member: String, value: String, min: Option<f64>, max: Option<f64> },
    /// A string, list, map or blob whose length is outside `min..=max` (`value`: a string's).
    Length { path: String, member: String, len: usize, value: Option<String>, min: Option<f64>, max: Option<f64> },
}

impl ValidationFailure {
    pub fn member(&self) -> &str {
        match self {
            Self::Missing { member, .. }
            | Self::Type { member, .. }
            | Self::Enum { member, .. }
            | Self::Range { member, .. }
            | Self::Length { member, .. } => member,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            Self::Missing { path, .. }
            | Self::Type { path, .. }
            | Self::Enum { path, .. }
            | Self::Range { path, .. }
            | Self::Length { path, .. } => path,
        }
    }

    /// The error as the JSON services of the Coral family report it
    /// (`1 validation error detected: Value … at '…' failed to satisfy constraint: …`).
    pub fn to_validation_exception(&self) -> AwsError {
        let at = camel_path(self.path());
        let msg = match self {
            Self::Missing { .. } => {
                format!("Value null at '{at}' failed to satisfy constraint: Member must not be null")
            }
            Self::Type { value, expected, .. } => {
                return AwsError::new(
                    "SerializationException",
                    format!("Value {value} at '{at}' is not a valid {expected}"),
                );
            }
            Self::Enum { value, allowed, .. } => format!(
                "Value '{value}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
            Self::Range { value, min, max, .. } => match (min, max) {
                (Some(m), _) if value.parse::<f64>().is_ok_and(|v| v < *m) => {
                    format!(
                        "Value '{value}' at '{at}' failed to satisfy constraint: Member must have value greater than or equal to {m}"
                    )
                }
                (_, Some(m)) => {
                    format!(
                        "Value '{value}' at '{at}' failed to satisfy constraint: Member must have value less than or equal to {m}"
                    )
                }
                _ => format!("Value '{value}' at '{at}' failed to satisfy constraint"),
            },
            Self::Length { len, value, min, max, .. } => {
                // AWS quotes a string's value; other shapes are named by position only.
                let value = value.as_deref().map(|v| format!(" '{v}'")).unwrap_or_default();
                match (min, max) {
                    (Some(m), _) if (*len as f64) < *m => format!(
                        "Value{value} at '{at}' failed to satisfy constraint: Member must have length greater than or equal to {m}"
                    ),
                    (_, Some(m)) => format!(
                        "Value{value} at '{at}' failed to satisfy constraint: Member must have length less than or equal to {m}"
                    ),
                    _ => format!("Value{value} at '{at}' failed to satisfy constraint (length {len})"),
                }
            }
        };
        AwsError::new("ValidationException", format!("1 validation error detected: {msg}"))
    }

    /// The error as the query-protocol services report it (`MissingParameter`,
    /// `InvalidParameterValue`).
    pub fn to_query_style(&self) -> AwsError {
        match self {
            Self::Missing { member, .. } => {
                AwsError::new("MissingParameter", format!("The request must contain the parameter {member}."))
            }
            Self::Type { member, value, expected, .. } => AwsError::new(
                "InvalidParameterValue",
                format!("Value {value} for parameter {member} is invalid. Reason: must be a valid {expected}."),
            ),
            Self::Enum { member, value, .. } => {
                AwsError::new("InvalidParameterValue", format!("Value {value} for parameter {member} is invalid."))
            }
            Self::Range { member, value, .. } => {
                AwsError::new("InvalidParameterValue", format!("Value {value} for parameter {member} is invalid."))
            }
            Self::Length { member, len, .. } => AwsError::new(
                "InvalidParameterValue",
                format!("Value for parameter {member} is invalid (length {len})."),
            ),
        }
    }
}

/// `Entries.1.Id` → `entries.1.member.id`-like paths are what Coral prints; we keep the simpler
/// lower-camel form of each segment.
fn camel_path(path: &str) -> String {
    path.split('.')
        .map(|seg| {
            let mut c = seg.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

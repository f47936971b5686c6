//! Errors, and how AWS reports each of them in its three wire dialects.
//!
//! `Display` of [`SigV4Error`] is the message text AWS sends to clients of
//! the JSON and query services (the S3 texts, which differ for some
//! conditions, come from [`SigV4Error::aws_error`] with [`Dialect::S3`]).

/// The coarse kind of a failure, so that each protocol can choose its
/// service's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigV4ErrorKind {
    /// Authorization header present but malformed / missing parts → AWS
    /// "IncompleteSignature" (400).
    Incomplete,
    /// Signature mismatch → JSON services "InvalidSignatureException", query
    /// services and S3 "SignatureDoesNotMatch".
    SignatureMismatch,
    /// Clock skew for header-signed requests → "InvalidSignatureException"
    /// (JSON, message "Signature expired: … is now earlier than …"),
    /// "SignatureDoesNotMatch" (query, same message), "RequestTimeTooSkewed" (S3).
    Expired,
    /// Presigned URL past its expiry (or not yet valid) → "AccessDenied" /
    /// "Request has expired" (S3), "RequestExpired" for the others.
    PresignExpired,
    /// Unknown access key → "UnrecognizedClientException" (JSON) /
    /// "InvalidClientTokenId" (query) / "InvalidAccessKeyId" (S3). Not raised
    /// by `verify` itself; callers construct [`SigV4Error::UnknownAccessKey`].
    UnknownAccessKey,
    /// Unsupported algorithm or malformed presign parameters (400).
    Malformed,
}

/// The wire dialect an error is going to be rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `awsJson1_0` / `awsJson1_1` / `restJson1` services (error `__type`).
    Json,
    /// `awsQuery` / `ec2Query` services (XML `<ErrorResponse>`).
    Query,
    /// S3 (`restXml`, `<Error><Code>`).
    S3,
}

/// An error as AWS would send it: code, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsErrorInfo {
    /// The error code (`__type` for JSON, `<Code>` for XML).
    pub code: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// The human-readable message.
    pub message: String,
}

/// Why an `X-Amz-Expires` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpiresProblem {
    /// Not a decimal number.
    NotANumber,
    /// A negative number.
    Negative,
    /// Zero seconds.
    Zero,
    /// More than 604800 seconds (7 days).
    TooLarge,
}

const MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const S3_MISMATCH_MESSAGE: &str =
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
const TOKEN_INVALID_MESSAGE: &str = "The security token included in the request is invalid.";
const S3_BAD_DATE_MESSAGE: &str = "AWS authentication requires a valid Date or x-amz-date header";
const CREDENTIAL_FORMAT: &str = "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"";

/// A SigV4 authentication failure. `Display` is the message AWS sends (for
/// the JSON and query services); see [`SigV4Error::aws_error`] for the code,
/// status and the S3 wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// The Authorization header lacks `Credential`, `SignedHeaders` or
    /// `Signature`, has a part that is not `key=value`, or the request has
    /// neither `X-Amz-Date` nor `Date`.
    #[error("{message}")]
    IncompleteSignature {
        /// The AWS message, e.g. "Authorization header requires 'Signature' parameter. …".
        message: String,
        /// True when the only problem is the missing date header (S3 answers
        /// that one with AccessDenied instead of AuthorizationHeaderMalformed).
        date_only: bool,
    },

    /// An `Authorization` scheme or `X-Amz-Algorithm` other than `AWS4-HMAC-SHA256`.
    #[error("{}", if *.presigned { "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"" } else { "Unsupported Authorization Type" })]
    UnsupportedAlgorithm {
        /// The algorithm / scheme the request named.
        algorithm: String,
        /// Whether it came from the query string.
        presigned: bool,
    },

    /// The credential is not `AKID/YYYYMMDD/region/service/aws4_request`.
    #[error("{}", malformed_credential_message(*.presigned))]
    MalformedCredential {
        /// The credential as sent.
        credential: String,
        /// Whether it came from `X-Amz-Credential`.
        presigned: bool,
    },

    /// `X-Amz-Date` (or `Date`) is not a valid timestamp.
    #[error("{}", if *.presigned { "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"" } else { S3_BAD_DATE_MESSAGE })]
    InvalidDate {
        /// The value as sent.
        value: String,
        /// Whether it came from the query string.
        presigned: bool,
    },

    /// A presigned request lacks one of the required `X-Amz-*` parameters.
    #[error(
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
    )]
    MissingPresignParameters,

    /// `X-Amz-Expires` is not a number in 1..=604800.
    #[error("{}", expires_message(*.problem))]
    InvalidExpires {
        /// The value as sent (or requested from `presign`).
        value: String,
        /// What is wrong with it.
        problem: ExpiresProblem,
    },

    /// Both an Authorization header and presigned query parameters.
    #[error(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
    )]
    MultipleAuthMechanisms,

    /// A header that must be covered by the signature (`host`, the date
    /// header, `x-amz-target`) is not in `SignedHeaders`.
    #[error("'{header}' must be a 'SignedHeader' in the AWS Authorization.")]
    UnsignedRequiredHeader {
        /// The header, in its usual spelling (`Host`, `X-Amz-Date`, …).
        header: String,
    },

    /// The credential scope date differs from the date of `X-Amz-Date`.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{}', from '{amz_date}'.",
        .amz_date.get(..8).unwrap_or(.amz_date.as_str())
    )]
    ScopeDateMismatch {
        /// The date in the credential scope.
        scope_date: String,
        /// The request timestamp.
        amz_date: String,
        /// Whether the request was presigned.
        presigned: bool,
    },

    /// The signature does not match. The canonical request and string to sign
    /// are the server's (what AWS echoes back to help debugging).
    #[error("{}", MISMATCH_MESSAGE)]
    SignatureMismatch {
        /// The access key the request named.
        access_key: String,
        /// The signature the request carried.
        signature_provided: String,
        /// The canonical request the server computed.
        canonical_request: String,
        /// The string to sign the server computed.
        string_to_sign: String,
    },

    /// `x-amz-content-sha256` names a hash that is not the body's.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch {
        /// The header's value.
        declared: String,
        /// The hash of the body the caller passed.
        computed: String,
    },

    /// A header-signed request whose time is more than 15 minutes away from the server's.
    #[error("{}", skew_message(.request_time, .server_time, .limit, *.future))]
    RequestTimeTooSkewed {
        /// The request's `X-Amz-Date`.
        request_time: String,
        /// The server's time (`YYYYMMDDTHHMMSSZ`).
        server_time: String,
        /// The server time minus (or plus, when `future`) 15 minutes.
        limit: String,
        /// True when the request is in the future.
        future: bool,
    },

    /// A presigned URL past `X-Amz-Date + X-Amz-Expires`.
    #[error("Request has expired")]
    PresignExpired {
        /// The request's `X-Amz-Date`.
        amz_date: String,
        /// Its `X-Amz-Expires`.
        expires_secs: u64,
        /// The server's time (`YYYYMMDDTHHMMSSZ`).
        server_time: String,
    },

    /// A presigned URL whose `X-Amz-Date` is more than 15 minutes in the future.
    #[error("Request is not yet valid")]
    PresignNotYetValid {
        /// The request's `X-Amz-Date`.
        amz_date: String,
        /// The server's time (`YYYYMMDDTHHMMSSZ`).
        server_time: String,
    },

    /// The access key is not known (raised by callers, not by `verify`).
    #[error("{}", TOKEN_INVALID_MESSAGE)]
    UnknownAccessKey {
        /// The access key the request named.
        access_key: String,
    },

    /// `sign`/`presign`: no `host` header and no authority in the URI.
    #[error("The request has no host: set a Host header or use an absolute URI")]
    MissingHost,

    /// `sign`/`presign`: an input cannot be put on the wire (bad characters,
    /// time outside years 0..=9999, …).
    #[error("Cannot sign the request: {reason}")]
    InvalidSigningInput {
        /// What is wrong.
        reason: String,
    },
}

fn malformed_credential_message(presigned: bool) -> String {
    if presigned {
        format!(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting {CREDENTIAL_FORMAT}."
        )
    } else {
        format!("The authorization header is malformed; the Credential is mal-formed; expecting {CREDENTIAL_FORMAT}.")
    }
}

fn expires_message(problem: ExpiresProblem) -> &'static str {
    match problem {
        ExpiresProblem::NotANumber => "X-Amz-Expires should be a number",
        ExpiresProblem::Negative => "X-Amz-Expires must be non-negative",
        ExpiresProblem::Zero => "X-Amz-Expires must be greater than 0",
        ExpiresProblem::TooLarge => {
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
        }
    }
}

fn skew_message(request_time: &str, server_time: &str, limit: &str, future: bool) -> String {
    if future {
        format!("Signature not yet current: {request_time} is still later than {limit} ({server_time} + 15 min.)")
    } else {
        format!("Signature expired: {request_time} is now earlier than {limit} ({server_time} - 15 min.)")
    }
}

impl SigV4Error {
    /// The kind of failure, so that each protocol can choose its service's code.
    pub fn kind(&self) -> SigV4ErrorKind {
        match self {
            Self::IncompleteSignature { .. } | Self::UnsignedRequiredHeader { .. } => SigV4ErrorKind::Incomplete,
            Self::MalformedCredential { presigned, .. } | Self::InvalidDate { presigned, .. } => {
                if *presigned {
                    SigV4ErrorKind::Malformed
                } else {
                    SigV4ErrorKind::Incomplete
                }
            }
            Self::UnsupportedAlgorithm { .. }
            | Self::MissingPresignParameters
            | Self::InvalidExpires { .. }
            | Self::MultipleAuthMechanisms
            | Self::MissingHost
            | Self::InvalidSigningInput { .. } => SigV4ErrorKind::Malformed,
            Self::ScopeDateMismatch { .. } | Self::SignatureMismatch { .. } | Self::ContentSha256Mismatch { .. } => {
                SigV4ErrorKind::SignatureMismatch
            }
            Self::RequestTimeTooSkewed { .. } => SigV4ErrorKind::Expired,
            Self::PresignExpired { .. } | Self::PresignNotYetValid { .. } => SigV4ErrorKind::PresignExpired,
            Self::UnknownAccessKey { .. } => SigV4ErrorKind::UnknownAccessKey,
        }
    }

    /// The AWS message text for this error (same as `Display`): what the JSON
    /// and query services put in `message` / `<Message>`.
    pub fn aws_message(&self) -> String {
        self.to_string()
    }

    /// The code, HTTP status and message AWS sends for this error in the
    /// given dialect.
    ///
    /// JSON services answer signature problems with HTTP 400 (DynamoDB, ECS,
    /// ECR, Kinesis: `InvalidSignatureException`, 400), query services with
    /// 403 `SignatureDoesNotMatch` (STS, SQS query, IAM), S3 with its own
    /// codes. Services that speak JSON but keep query-compatible codes (SQS's
    /// JSON protocol) should use [`Dialect::Query`] codes.
    pub fn aws_error(&self, dialect: Dialect) -> AwsErrorInfo {
        let own = || self.to_string();
        let (code, status, message): (&'static str, u16, String) = match (self, dialect) {
            // ---- malformed / incomplete -------------------------------------------------
            (Self::IncompleteSignature { date_only, .. }, Dialect::S3) => {
                if *date_only {
                    ("AccessDenied", 403, S3_BAD_DATE_MESSAGE.to_owned())
                } else {
                    (
                        "AuthorizationHeaderMalformed",
                        400,
                        "The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.".to_owned(),
                    )
                }
            }
            (Self::UnsupportedAlgorithm { presigned, .. }, Dialect::S3) => {
                if *presigned {
                    ("AuthorizationQueryParametersError", 400, own())
                } else {
                    ("InvalidArgument", 400, own())
                }
            }
            (Self::MalformedCredential { presigned, .. }, Dialect::S3) => {
                if *presigned {
                    ("AuthorizationQueryParametersError", 400, own())
                } else {
                    ("AuthorizationHeaderMalformed", 400, own())
                }
            }
            (Self::InvalidDate { presigned, .. }, Dialect::S3) => {
                if *presigned {
                    ("AuthorizationQueryParametersError", 400, own())
                } else {
                    ("AccessDenied", 403, own())
                }
            }
            (Self::MissingPresignParameters | Self::InvalidExpires { .. }, Dialect::S3) => {
                ("AuthorizationQueryParametersError", 400, own())
            }
            (Self::MultipleAuthMechanisms | Self::MissingHost | Self::InvalidSigningInput { .. }, Dialect::S3) => {
                ("InvalidArgument", 400, own())
            }
            (Self::UnsignedRequiredHeader { .. }, Dialect::S3) => {
                ("AccessDenied", 403, "There were headers present in the request which were not signed".to_owned())
            }
            (
                Self::IncompleteSignature { .. }
                | Self::UnsupportedAlgorithm { .. }
                | Self::MalformedCredential { .. }
                | Self::InvalidDate { .. }
                | Self::MissingPresignParameters
                | Self::InvalidExpires { .. }
                | Self::MultipleAuthMechanisms
                | Self::UnsignedRequiredHeader { .. }
                | Self::MissingHost
                | Self::InvalidSigningInput { .. },
                Dialect::Json,
            ) => ("IncompleteSignatureException", 400, own()),
            (
                Self::IncompleteSignature { .. }
                | Self::UnsupportedAlgorithm { .. }
                | Self::MalformedCredential { .. }
                | Self::InvalidDate { .. }
                | Self::MissingPresignParameters
                | Self::InvalidExpires { .. }
                | Self::MultipleAuthMechanisms
                | Self::UnsignedRequiredHeader { .. }
                | Self::MissingHost
                | Self::InvalidSigningInput { .. },
                Dialect::Query,
            ) => ("IncompleteSignature", 400, own()),

            // ---- signature ---------------------------------------------------------------
            (Self::ScopeDateMismatch { presigned, .. }, Dialect::S3) => {
                if *presigned {
                    (
                        "AuthorizationQueryParametersError",
                        400,
                        "Invalid credential date. Date is not the same as X-Amz-Date.".to_owned(),
                    )
                } else {
                    (
                        "AuthorizationHeaderMalformed",
                        400,
                        "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.".to_owned(),
                    )
                }
            }
            (Self::SignatureMismatch { .. }, Dialect::S3) => {
                ("SignatureDoesNotMatch", 403, S3_MISMATCH_MESSAGE.to_owned())
            }
            (Self::ContentSha256Mismatch { .. }, Dialect::S3) => ("XAmzContentSHA256Mismatch", 400, own()),
            (Self::ScopeDateMismatch { .. } | Self::SignatureMismatch { .. }, Dialect::Json) => {
                ("InvalidSignatureException", 400, own())
            }
            (Self::ContentSha256Mismatch { .. }, Dialect::Json) => {
                ("InvalidSignatureException", 400, MISMATCH_MESSAGE.to_owned())
            }
            (Self::ScopeDateMismatch { .. } | Self::SignatureMismatch { .. }, Dialect::Query) => {
                ("SignatureDoesNotMatch", 403, own())
            }
            (Self::ContentSha256Mismatch { .. }, Dialect::Query) => {
                ("SignatureDoesNotMatch", 403, MISMATCH_MESSAGE.to_owned())
            }

            // ---- time --------------------------------------------------------------------
            (Self::RequestTimeTooSkewed { .. }, Dialect::S3) => (
                "RequestTimeTooSkewed",
                403,
                "The difference between the request time and the current time is too large.".to_owned(),
            ),
            (Self::RequestTimeTooSkewed { .. }, Dialect::Json) => ("InvalidSignatureException", 400, own()),
            (Self::RequestTimeTooSkewed { .. }, Dialect::Query) => ("SignatureDoesNotMatch", 403, own()),
            (Self::PresignExpired { .. } | Self::PresignNotYetValid { .. }, Dialect::S3) => {
                ("AccessDenied", 403, own())
            }
            (Self::PresignExpired { .. } | Self::PresignNotYetValid { .. }, Dialect::Json | Dialect::Query) => {
                ("RequestExpired", 400, own())
            }

            // ---- identity ----------------------------------------------------------------
            (Self::UnknownAccessKey { .. }, Dialect::S3) => (
                "InvalidAccessKeyId",
                403,
                "The AWS Access Key Id you provided does not exist in our records.".to_owned(),
            ),
            (Self::UnknownAccessKey { .. }, Dialect::Json) => ("UnrecognizedClientException", 400, own()),
            (Self::UnknownAccessKey { .. }, Dialect::Query) => ("InvalidClientTokenId", 403, own()),
        };
        AwsErrorInfo { code, status, message }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let e = SigV4Error::SignatureMismatch {
            access_key: "AK".into(),
            signature_provided: "x".into(),
            canonical_request: String::new(),
            string_to_sign: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        );
        assert_eq!(e.kind(), SigV4ErrorKind::SignatureMismatch);
        let s3 = e.aws_error(Dialect::S3);
        assert_eq!((s3.code, s3.status), ("SignatureDoesNotMatch", 403));
        let json = e.aws_error(Dialect::Json);
        assert_eq!((json.code, json.status), ("InvalidSignatureException", 400));
        let query = e.aws_error(Dialect::Query);
        assert_eq!((query.code, query.status), ("SignatureDoesNotMatch", 403));

        let skew = SigV4Error::RequestTimeTooSkewed {
            request_time: "20140325T143453Z".into(),
            server_time: "20140325T145251Z".into(),
            limit: "20140325T143751Z".into(),
            future: false,
        };
        assert_eq!(
            skew.to_string(),
            "Signature expired: 20140325T143453Z is now earlier than 20140325T143751Z (20140325T145251Z - 15 min.)"
        );
        assert_eq!(skew.kind(), SigV4ErrorKind::Expired);
        assert_eq!(skew.aws_error(Dialect::S3).code, "RequestTimeTooSkewed");

        let scope = SigV4Error::ScopeDateMismatch {
            scope_date: "20151124".into(),
            amz_date: "20151125T154140Z".into(),
            presigned: false,
        };
        assert_eq!(
            scope.to_string(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20151124' != '20151125', from '20151125T154140Z'."
        );

        let unknown = SigV4Error::UnknownAccessKey { access_key: "AK".into() };
        assert_eq!(unknown.kind(), SigV4ErrorKind::UnknownAccessKey);
        assert_eq!(unknown.aws_error(Dialect::Query).code, "InvalidClientTokenId");
        assert_eq!(unknown.aws_error(Dialect::Json).code, "UnrecognizedClientException");
        assert_eq!(unknown.aws_error(Dialect::S3).code, "InvalidAccessKeyId");

        let exp = SigV4Error::PresignExpired {
            amz_date: "20130524T000000Z".into(),
            expires_secs: 86400,
            server_time: "20130526T000000Z".into(),
        };
        assert_eq!(exp.to_string(), "Request has expired");
        assert_eq!(exp.aws_error(Dialect::S3).code, "AccessDenied");
        assert_eq!(exp.kind(), SigV4ErrorKind::PresignExpired);
    }
}

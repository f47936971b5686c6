//! The front doors of the gateway, one module each (see `gateway.rs` for the order in which
//! they are asked).

use http::StatusCode;
use stratus_sigv4::Dialect;

use crate::gateway::{Head, Reply, plain_error};

pub mod alb;
pub mod aws;
pub mod execute_api;
pub mod git;
pub mod platform;
pub mod s3;
pub mod website;

/// The answer when no door claims a request (only when no door takes what is left).
pub fn unclaimed(head: &Head<'_>) -> Reply {
    plain_error(
        Dialect::Json,
        StatusCode::BAD_REQUEST,
        "UnrecognizedService",
        &format!("No service of this server takes {} {}.", head.method, head.path()),
    )
}

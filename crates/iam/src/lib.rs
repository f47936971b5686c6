//! Identity and access: who calls (SigV4 authentication against known keys), the IAM policy
//! language and AWS's evaluation logic (`policy`), and the IAM and STS APIs.
//!
//! - `auth`: authentication — open mode (any key, no signature check) and verify mode (the key
//!   must be known and the signature must verify), producing a [`Principal`].
//! - `policy`: parsing, validating and evaluating policy documents.

mod auth;
pub mod jwt;
pub mod policy;

pub use auth::*;

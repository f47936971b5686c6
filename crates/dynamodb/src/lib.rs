//! Amazon DynamoDB (JSON 1.0, `X-Amz-Target: DynamoDB_20120810.<Op>`).
//!
//! - [`value`]: attribute values in DynamoDB's JSON (`{"S": …}`, `{"N": …}`, …) with exact
//!   38-digit numbers ([`number`]).
//! - [`expr`]: the expression language (condition, filter, key condition, projection and update
//!   expressions), parsed once and evaluated against items.

pub mod expr;
pub mod number;
pub mod value;

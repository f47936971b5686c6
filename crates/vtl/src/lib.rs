//! A Velocity Template Language (VTL) engine with Amazon API Gateway's mapping-template objects.
//!
//! The crate implements the subset of Apache Velocity 1.7 that API Gateway mapping templates use:
//! references (`$x`, `$!x`, `${x}`, properties, indexing, method calls), the directives `#set`, `#if`,
//! `#elseif`, `#else`, `#foreach`, `#break`, `#stop`, `#macro`, `#define`, `#evaluate`, comments,
//! unparsed blocks and escapes. The [`apigw`] module builds the `$input`, `$util`, `$context` and
//! `$stageVariables` variables of an API Gateway REST API mapping template.
//!
//! ```
//! use stratus_vtl::{Context, Template, Value};
//!
//! let template = Template::parse("Hello $name!#if($n > 1) x$n#end").unwrap();
//! let mut ctx = Context::new();
//! ctx.set("name", "world");
//! ctx.set("n", Value::Int(3));
//! assert_eq!(template.render(&mut ctx).unwrap(), "Hello world! x3");
//! ```
//!
//! # Whitespace ("gobbling") rule
//!
//! A source line whose only content, apart from spaces and tabs, is one or more directives
//! (`#set`, `#if`, `#elseif`, `#else`, `#end`, `#foreach`, `#break`, `#stop`, `#macro`, `#define`)
//! and/or comments emits nothing: its indentation, trailing blanks and its newline are dropped.
//! Any other line is emitted as written, except that a `##` line comment also removes the newline
//! that ends it (as in Velocity). Macro calls, references and `#evaluate` count as content.
//!
//! # Limits
//!
//! Rendering fails with [`Error::Limit`] beyond [`MAX_ITERATIONS`] `#foreach` iterations in total,
//! [`MAX_DEPTH`] nested macro calls / `#evaluate`s, or [`MAX_OUTPUT`] bytes of output or string value.
#![warn(clippy::unwrap_used)]
#![warn(missing_docs)]

pub mod apigw;
mod json;
mod methods;
mod parser;
pub mod regex;
mod render;
mod value;

pub use json::{parse_json, to_json_string};
pub use parser::Template;
pub use render::Context;
pub use value::{List, Map, Object, OrderedMap, Value};

use std::fmt;

/// Maximum number of `#foreach` iterations (summed over all loops) in one render.
pub const MAX_ITERATIONS: usize = 1_000_000;
/// Maximum nesting of macro calls and `#evaluate`, and of expressions while parsing.
pub const MAX_DEPTH: usize = 64;
/// Maximum size in bytes of the output and of any string built while rendering.
pub const MAX_OUTPUT: usize = 10 * 1024 * 1024;

/// Errors from parsing or rendering a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The template text is not valid VTL.
    Parse {
        /// What is wrong.
        message: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column (in characters) of the problem.
        column: usize,
    },
    /// Evaluation failed (a method threw, bad arguments, invalid JSON given to `parseJson` …).
    Render {
        /// What went wrong.
        message: String,
        /// 1-based line of the template construct being evaluated (0 if unknown).
        line: usize,
        /// 1-based column of the template construct being evaluated (0 if unknown).
        column: usize,
    },
    /// A runaway guard tripped (iterations, depth or output size).
    Limit(String),
}

impl Error {
    /// A render error without a position (the renderer adds one when it can).
    pub fn render(message: impl Into<String>) -> Error {
        Error::Render { message: message.into(), line: 0, column: 0 }
    }

    pub(crate) fn at(self, line: usize, column: usize) -> Error {
        match self {
            Error::Render { message, line: 0, .. } => Error::Render { message, line, column },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse { message, line, column } => {
                write!(f, "parse error at line {line}, column {column}: {message}")
            }
            Error::Render { message, line: 0, .. } => write!(f, "render error: {message}"),
            Error::Render { message, line, column } => {
                write!(f, "render error at line {line}, column {column}: {message}")
            }
            Error::Limit(message) => write!(f, "limit exceeded: {message}"),
        }
    }
}

impl std::error::Error for Error {}

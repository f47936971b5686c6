//! Attribute values.

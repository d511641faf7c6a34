//! Typed access to JSON fields with errors that name the field's path
//! (`profile[3].timestamp is missing`).

use serde_json::{Map, Value};

use crate::jsonl::json_kind;

/// The value of `object[name]`, or an error naming `{at}{name}`.
pub(crate) fn required<'a>(
    object: &'a Map<String, Value>,
    at: &str,
    name: &str,
) -> Result<&'a Value, String> {
    object
        .get(name)
        .ok_or_else(|| format!("{at}{name} is missing"))
}

/// A string field.
pub(crate) fn string(object: &Map<String, Value>, at: &str, name: &str) -> Result<String, String> {
    match required(object, at, name)? {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!(
            "{at}{name}: expected a string, found {}",
            json_kind(other)
        )),
    }
}

/// A string or number field, as text (numbers as JSON writes them: `5`, `4.0`).
pub(crate) fn text(object: &Map<String, Value>, at: &str, name: &str) -> Result<String, String> {
    match required(object, at, name)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!(
            "{at}{name}: expected a number or a string, found {}",
            json_kind(other)
        )),
    }
}

/// An integer field.
pub(crate) fn integer(object: &Map<String, Value>, at: &str, name: &str) -> Result<i64, String> {
    match required(object, at, name)? {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{at}{name}: expected an integer, found {n}")),
        other => Err(format!(
            "{at}{name}: expected an integer, found {}",
            json_kind(other)
        )),
    }
}

/// An object field.
pub(crate) fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "{what}: expected an object, found {}",
            json_kind(other)
        )),
    }
}

/// An array field.
pub(crate) fn array<'a>(
    object: &'a Map<String, Value>,
    at: &str,
    name: &str,
) -> Result<&'a [Value], String> {
    match required(object, at, name)? {
        Value::Array(items) => Ok(items),
        other => Err(format!(
            "{at}{name}: expected a list, found {}",
            json_kind(other)
        )),
    }
}

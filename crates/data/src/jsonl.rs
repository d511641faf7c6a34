//! Line-by-line JSONL reading with `file:line` errors and optional skipping of bad rows.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{DataError, Result};
use crate::records::{Content, Message};

/// How to treat rows that do not have the expected layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadOptions {
    /// `false` (default): the first bad row is an error naming `file:line`.
    /// `true`: bad rows are counted, logged with `tracing::warn!`, and skipped.
    pub skip_bad_rows: bool,
}

/// A row that was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// 1-based line number.
    pub line: usize,
    /// Why it was rejected.
    pub message: String,
}

/// What a reader kept and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadReport {
    /// Rows parsed successfully.
    pub rows: usize,
    /// Blank lines ignored.
    pub blank_lines: usize,
    /// Bad rows skipped (only with `skip_bad_rows`).
    pub skipped: Vec<SkippedRow>,
}

/// Parsed rows of one JSONL file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows<T> {
    /// The file read.
    pub path: PathBuf,
    /// The records, in file order.
    pub records: Vec<T>,
    /// 1-based line number of each record.
    pub lines: Vec<usize>,
    /// Counts of kept and skipped rows.
    pub report: ReadReport,
}

/// Reads `path` as JSONL, parsing each non-blank line's JSON object with `parse`.
///
/// `parse` returns a human-readable message describing what was expected; it becomes
/// `DataError::BadRow { path, line, message }`. A file with no rows left is
/// `DataError::EmptyDataset`.
pub fn read_jsonl<T>(
    path: &Path,
    options: ReadOptions,
    parse: impl Fn(&Map<String, Value>) -> std::result::Result<T, String>,
) -> Result<Rows<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    parse_jsonl_str(path, &text, options, parse)
}

/// [`read_jsonl`] on text already in memory (`path` is used in messages only).
pub fn parse_jsonl_str<T>(
    path: &Path,
    text: &str,
    options: ReadOptions,
    parse: impl Fn(&Map<String, Value>) -> std::result::Result<T, String>,
) -> Result<Rows<T>> {
    let mut rows = Rows {
        path: path.to_path_buf(),
        records: Vec::new(),
        lines: Vec::new(),
        report: ReadReport::default(),
    };
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() {
            rows.report.blank_lines += 1;
            continue;
        }
        let parsed = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => parse(&map),
            Ok(other) => Err(format!(
                "expected a JSON object per line, found {}",
                json_kind(&other)
            )),
            Err(e) => Err(format!("invalid JSON: {e}")),
        };
        match parsed {
            Ok(record) => {
                rows.records.push(record);
                rows.lines.push(line_no);
            }
            Err(message) if options.skip_bad_rows => {
                tracing::warn!(file = %path.display(), line = line_no, %message, "skipping bad row");
                rows.report.skipped.push(SkippedRow {
                    line: line_no,
                    message,
                });
            }
            Err(message) => {
                return Err(DataError::BadRow {
                    path: path.to_path_buf(),
                    line: line_no,
                    message,
                });
            }
        }
    }
    rows.report.rows = rows.records.len();
    if rows.records.is_empty() {
        let detail = if rows.report.skipped.is_empty() {
            "no rows".to_string()
        } else {
            format!(
                "all {} rows were bad and skipped",
                rows.report.skipped.len()
            )
        };
        return Err(DataError::EmptyDataset {
            path: path.to_path_buf(),
            detail,
        });
    }
    if !rows.report.skipped.is_empty() {
        tracing::warn!(
            file = %path.display(),
            skipped = rows.report.skipped.len(),
            kept = rows.report.rows,
            "skipped bad rows"
        );
    }
    Ok(rows)
}

/// The JSON type name used in error messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value of a required field.
pub(crate) fn field<'a>(
    row: &'a Map<String, Value>,
    name: &str,
) -> std::result::Result<&'a Value, String> {
    row.get(name).ok_or_else(|| {
        let keys: Vec<&str> = row.keys().map(String::as_str).collect();
        format!("missing field `{name}` (row has {keys:?})")
    })
}

/// A string field.
pub(crate) fn string_field(
    row: &Map<String, Value>,
    name: &str,
) -> std::result::Result<String, String> {
    match field(row, name)? {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!(
            "field `{name}`: expected a string, found {}",
            json_kind(other)
        )),
    }
}

/// Parses a message list `[{"role": ..., "content": ...}, ...]`.
pub(crate) fn parse_messages(
    value: &Value,
    what: &str,
) -> std::result::Result<Vec<Message>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "{what}: expected a list of messages, found {}",
            json_kind(value)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(map) = item else {
                return Err(format!(
                    "{what}[{i}]: expected a message object {{\"role\", \"content\"}}, found {}",
                    json_kind(item)
                ));
            };
            let role = match map.get("role") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(format!(
                        "{what}[{i}].role: expected a string, found {}",
                        json_kind(other)
                    ));
                }
                None => return Err(format!("{what}[{i}]: message has no `role`")),
            };
            let content = match map.get("content") {
                Some(Value::String(s)) => s.clone(),
                // Assistant turns that only call tools have `content: null`.
                Some(Value::Null) => String::new(),
                Some(other) => {
                    return Err(format!(
                        "{what}[{i}].content: expected a string, found {}",
                        json_kind(other)
                    ));
                }
                None => return Err(format!("{what}[{i}]: message has no `content`")),
            };
            let extra = map
                .iter()
                .filter(|(k, _)| k.as_str() != "role" && k.as_str() != "content")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Message {
                role,
                content,
                extra,
            })
        })
        .collect()
}

/// Parses a prompt/completion field: a string (standard) or a message list (conversational).
pub(crate) fn parse_content(value: &Value, what: &str) -> std::result::Result<Content, String> {
    match value {
        Value::String(s) => Ok(Content::Text(s.clone())),
        Value::Array(_) => parse_messages(value, what).map(Content::Conversation),
        other => Err(format!(
            "{what}: expected a string or a list of messages, found {}",
            json_kind(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_name(row: &Map<String, Value>) -> std::result::Result<String, String> {
        string_field(row, "name")
    }

    #[test]
    fn reports_file_and_line() {
        let text = "{\"name\": \"a\"}\n\n{\"name\": 3}\n";
        let err = parse_jsonl_str(
            Path::new("x.jsonl"),
            text,
            ReadOptions::default(),
            parse_name,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.jsonl:3: field `name`: expected a string, found a number"
        );
    }

    #[test]
    fn skips_and_counts() {
        let text = "{\"name\": \"a\"}\nnot json\n[1]\n{\"name\": \"b\"}\n";
        let rows = parse_jsonl_str(
            Path::new("x.jsonl"),
            text,
            ReadOptions {
                skip_bad_rows: true,
            },
            parse_name,
        )
        .unwrap();
        assert_eq!(rows.records, vec!["a", "b"]);
        assert_eq!(rows.lines, vec![1, 4]);
        assert_eq!(rows.report.rows, 2);
        let skipped: Vec<usize> = rows.report.skipped.iter().map(|s| s.line).collect();
        assert_eq!(skipped, vec![2, 3]);
        assert!(rows.report.skipped[1].message.contains("found an array"));
    }

    #[test]
    fn empty_is_an_error() {
        let err = parse_jsonl_str(
            Path::new("e.jsonl"),
            "\n \n",
            ReadOptions::default(),
            parse_name,
        )
        .unwrap_err();
        assert!(matches!(err, DataError::EmptyDataset { .. }), "{err}");
        let err = parse_jsonl_str(
            Path::new("e.jsonl"),
            "{}\n",
            ReadOptions {
                skip_bad_rows: true,
            },
            parse_name,
        )
        .unwrap_err();
        assert!(err.to_string().contains("all 1 rows were bad"), "{err}");
    }
}

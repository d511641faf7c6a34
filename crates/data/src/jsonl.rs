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

/// The longest JSONL line read (64 MiB): a longer one is an error naming `file:line`, so a
/// corrupt or hostile file cannot make the reader allocate without bound.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Reads `path` as JSONL, parsing each non-blank line's JSON object with `parse`.
///
/// The file is streamed line by line; a line longer than [`MAX_LINE_BYTES`] is a
/// `DataError::BadRow` (never skipped), a line that is not UTF-8 a bad row like any other.
/// `parse` returns a human-readable message describing what was expected; it becomes
/// `DataError::BadRow { path, line, message }`. A file with no rows left is
/// `DataError::EmptyDataset`.
pub fn read_jsonl<T>(
    path: &Path,
    options: ReadOptions,
    parse: impl Fn(&Map<String, Value>) -> std::result::Result<T, String>,
) -> Result<Rows<T>> {
    read_jsonl_limited(path, options, MAX_LINE_BYTES, parse)
}

/// [`read_jsonl`] with another line-length bound (tests use a small one).
pub fn read_jsonl_limited<T>(
    path: &Path,
    options: ReadOptions,
    max_line_bytes: usize,
    parse: impl Fn(&Map<String, Value>) -> std::result::Result<T, String>,
) -> Result<Rows<T>> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = std::io::BufReader::new(file);
    let mut collector = RowCollector::new(path, options, parse);
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(max_line_bytes as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        } else if buf.len() > max_line_bytes {
            return Err(DataError::BadRow {
                path: path.to_path_buf(),
                line: line_no,
                message: format!(
                    "the line is longer than {max_line_bytes} bytes (the limit for one JSONL row)"
                ),
            });
        }
        match std::str::from_utf8(&buf) {
            Ok(line) => collector.push(line_no, line)?,
            Err(e) => collector.bad(line_no, format!("the line is not valid UTF-8: {e}"))?,
        }
    }
    collector.finish()
}

/// [`read_jsonl`] on text already in memory (`path` is used in messages only).
pub fn parse_jsonl_str<T>(
    path: &Path,
    text: &str,
    options: ReadOptions,
    parse: impl Fn(&Map<String, Value>) -> std::result::Result<T, String>,
) -> Result<Rows<T>> {
    let mut collector = RowCollector::new(path, options, parse);
    for (index, line) in text.lines().enumerate() {
        collector.push(index + 1, line)?;
    }
    collector.finish()
}

/// The per-line logic shared by the streaming and in-memory readers.
struct RowCollector<T, P> {
    rows: Rows<T>,
    options: ReadOptions,
    parse: P,
}

impl<T, P> RowCollector<T, P>
where
    P: Fn(&Map<String, Value>) -> std::result::Result<T, String>,
{
    fn new(path: &Path, options: ReadOptions, parse: P) -> Self {
        Self {
            rows: Rows {
                path: path.to_path_buf(),
                records: Vec::new(),
                lines: Vec::new(),
                report: ReadReport::default(),
            },
            options,
            parse,
        }
    }

    /// One line (without its line break).
    fn push(&mut self, line_no: usize, line: &str) -> Result<()> {
        if line.trim().is_empty() {
            self.rows.report.blank_lines += 1;
            return Ok(());
        }
        let parsed = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => (self.parse)(&map),
            Ok(other) => Err(format!(
                "expected a JSON object per line, found {}",
                json_kind(&other)
            )),
            Err(e) => Err(format!("invalid JSON: {e}")),
        };
        match parsed {
            Ok(record) => {
                self.rows.records.push(record);
                self.rows.lines.push(line_no);
                Ok(())
            }
            Err(message) => self.bad(line_no, message),
        }
    }

    /// A bad row: skipped and counted with `skip_bad_rows`, else the error.
    fn bad(&mut self, line_no: usize, message: String) -> Result<()> {
        let path = &self.rows.path;
        if self.options.skip_bad_rows {
            tracing::warn!(file = %path.display(), line = line_no, %message, "skipping bad row");
            self.rows.report.skipped.push(SkippedRow {
                line: line_no,
                message,
            });
            Ok(())
        } else {
            Err(DataError::BadRow {
                path: path.clone(),
                line: line_no,
                message,
            })
        }
    }

    fn finish(self) -> Result<Rows<T>> {
        let mut rows = self.rows;
        let path = rows.path.clone();
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
            return Err(DataError::EmptyDataset { path, detail });
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

#[cfg(test)]
mod limit_tests {
    use super::*;

    fn object(map: &Map<String, Value>) -> std::result::Result<usize, String> {
        Ok(map.len())
    }

    #[test]
    fn streaming_reads_lines_like_the_in_memory_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let text = "{\"a\": 1}\r\n\n{\"a\": 1, \"b\": 2}\n{\"c\": 3}";
        std::fs::write(&path, text).unwrap();
        let streamed = read_jsonl(&path, ReadOptions::default(), object).unwrap();
        let in_memory = parse_jsonl_str(&path, text, ReadOptions::default(), object).unwrap();
        assert_eq!(streamed, in_memory);
        assert_eq!(streamed.records, vec![1, 2, 1]);
        assert_eq!(streamed.lines, vec![1, 3, 4]);
    }

    #[test]
    fn an_overlong_line_is_an_error_naming_it_even_when_skipping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.jsonl");
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(200));
        std::fs::write(&path, format!("{{\"a\": 1}}\n{long}\n")).unwrap();
        let skip = ReadOptions {
            skip_bad_rows: true,
        };
        let err = read_jsonl_limited(&path, skip, 100, object).unwrap_err();
        assert!(
            matches!(&err, DataError::BadRow { line: 2, message, .. } if message.contains("longer than 100 bytes")),
            "{err}"
        );
        // Exactly at the limit is fine.
        let exact = "{\"a\": \"xxxx\"}";
        std::fs::write(&path, exact).unwrap();
        read_jsonl_limited(&path, ReadOptions::default(), exact.len(), object).unwrap();
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_bad_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.jsonl");
        std::fs::write(&path, b"{\"a\": \"caf\xe9\"}\n{\"a\": 1}\n").unwrap();
        let err = read_jsonl(&path, ReadOptions::default(), object).unwrap_err();
        assert!(
            matches!(&err, DataError::BadRow { line: 1, message, .. } if message.contains("UTF-8")),
            "{err}"
        );
        let skip = ReadOptions {
            skip_bad_rows: true,
        };
        let rows = read_jsonl(&path, skip, object).unwrap();
        assert_eq!(rows.lines, vec![2]);
        assert_eq!(rows.report.skipped.len(), 1);
    }
}

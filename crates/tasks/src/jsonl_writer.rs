//! Writing JSONL: one compact JSON object per line, `\n` line ends, parent directories
//! created. Field order is the struct's, so the same rows give the same bytes.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::error::{Result, TaskError};

/// Writes `rows` to `path` (replacing it) and returns how many were written.
pub fn write_jsonl<T: Serialize>(path: &Path, rows: impl IntoIterator<Item = T>) -> Result<usize> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| TaskError::io(parent, e))?;
    }
    let file = std::fs::File::create(path).map_err(|e| TaskError::io(path, e))?;
    let mut out = std::io::BufWriter::new(file);
    let mut count = 0;
    for row in rows {
        serde_json::to_writer(&mut out, &row)?;
        out.write_all(b"\n").map_err(|e| TaskError::io(path, e))?;
        count += 1;
    }
    out.flush().map_err(|e| TaskError::io(path, e))?;
    Ok(count)
}

/// Writes `value` as pretty JSON with a final newline.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| TaskError::io(parent, e))?;
    }
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| TaskError::io(path, e))
}

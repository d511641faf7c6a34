//! Writing JSONL and JSON result files: one compact JSON object per line, `\n` line ends,
//! parent directories created. Field order is the struct's, so the same rows give the same
//! bytes. Every file is written atomically ([`prefopt_core::write_atomic`]), so a killed run
//! leaves the old file or the new one, never half of it.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;

/// Writes `rows` to `path` (replacing it) and returns how many were written.
pub fn write_jsonl<T: Serialize>(path: &Path, rows: impl IntoIterator<Item = T>) -> Result<usize> {
    let mut bytes = Vec::new();
    let mut count = 0;
    for row in rows {
        serde_json::to_writer(&mut bytes, &row)?;
        bytes.push(b'\n');
        count += 1;
    }
    prefopt_core::write_atomic(path, &bytes)?;
    Ok(count)
}

/// Writes `value` as pretty JSON with a final newline.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(prefopt_core::write_atomic(path, text.as_bytes())?)
}

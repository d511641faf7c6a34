//! The verdict store: a JSONL file with one line per judged (prompt index, image j).
//!
//! ```text
//! {"index":0,"image":0,"testpoints":["Style","World Knowledge"],"scores":[1,0],"analysis":[...],"answer":"<description>..."}
//! ```
//!
//! Lines are appended and flushed one at a time by a single writer, so a crash loses at most
//! the line being written; a truncated last line is ignored on load with a warning. A line whose
//! `scores` is `null` records a failure (its `error` says why); a later line for the same key
//! supersedes an earlier one, so `--resume` re-judges failures and appends.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The longest verdict line [`Verdicts::load`] reads (64 MiB, as a JSONL data-set row); a
/// longer one is an error naming the line before it is held whole.
pub const MAX_VERDICT_LINE_BYTES: u64 = 64 * 1024 * 1024;

/// One line of the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The prompt's `index` column.
    pub index: usize,
    /// Image number `j` (file `{index}_{j}.png`).
    pub image: usize,
    /// The prompt's test points as written in the CSV, in order.
    pub testpoints: Vec<String>,
    /// 0/1 per test point; `None` when the judge never gave a parsable answer.
    pub scores: Option<Vec<u8>>,
    /// Per-test-point analysis from the judge, when parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Vec<String>>,
    /// The raw judge answer (the last one received).
    #[serde(default)]
    pub answer: Option<String>,
    /// Why `scores` is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The judge model that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl Verdict {
    /// Whether this verdict has scores.
    pub fn is_judged(&self) -> bool {
        self.scores.is_some()
    }
}

/// All verdicts of a store, latest line per `(index, image)`.
#[derive(Debug, Clone, Default)]
pub struct Verdicts {
    /// Latest verdict per key.
    pub by_key: BTreeMap<(usize, usize), Verdict>,
    /// Lines read (including superseded ones).
    pub lines: usize,
    /// Whether a truncated last line was skipped.
    pub truncated_tail: bool,
}

impl Verdicts {
    /// Reads a store. A missing file reads as empty.
    pub fn load(path: &Path) -> Result<Self> {
        let mut out = Self::default();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(path, e)),
        };
        let mut lines: Vec<String> = Vec::new();
        let mut reader = BufReader::new(file);
        let mut ends_with_newline = true;
        loop {
            let mut buf = String::new();
            let n = (&mut reader)
                .take(MAX_VERDICT_LINE_BYTES + 1)
                .read_line(&mut buf)
                .map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            if n as u64 > MAX_VERDICT_LINE_BYTES {
                return Err(Error::Verdict {
                    path: path.to_path_buf(),
                    line: lines.len() + 1,
                    message: format!(
                        "the line is longer than {MAX_VERDICT_LINE_BYTES} bytes (the limit for \
                         one verdict)"
                    ),
                });
            }
            ends_with_newline = buf.ends_with('\n');
            lines.push(buf);
        }
        let last = lines.len();
        for (i, line) in lines.iter().enumerate() {
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Verdict>(text) {
                Ok(v) => {
                    if let Some(scores) = &v.scores
                        && (scores.len() != v.testpoints.len() || scores.iter().any(|s| *s > 1))
                    {
                        return Err(Error::Verdict {
                            path: path.to_path_buf(),
                            line: i + 1,
                            message: format!(
                                "{} test points but scores {scores:?} (need one 0/1 each)",
                                v.testpoints.len()
                            ),
                        });
                    }
                    out.lines += 1;
                    out.by_key.insert((v.index, v.image), v);
                }
                Err(e) if i + 1 == last && !ends_with_newline => {
                    tracing::warn!(
                        file = %path.display(),
                        line = i + 1,
                        "ignoring a truncated last line (interrupted write): {e}"
                    );
                    out.truncated_tail = true;
                }
                Err(e) => {
                    return Err(Error::Verdict {
                        path: path.to_path_buf(),
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The latest verdict for `(index, image)`.
    pub fn get(&self, index: usize, image: usize) -> Option<&Verdict> {
        self.by_key.get(&(index, image))
    }
}

/// Appends verdicts to a JSONL file, one flushed line at a time.
#[derive(Debug)]
pub struct VerdictWriter {
    path: PathBuf,
    file: File,
}

impl VerdictWriter {
    /// Opens `path` for appending (creating it and its parent folder). A truncated last line
    /// (a write interrupted by a crash) is cut off first, so the next record starts cleanly.
    pub fn append(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.last().is_some_and(|b| *b != b'\n') {
            let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            tracing::warn!(
                file = %path.display(),
                "dropping a truncated last line ({} bytes) left by an interrupted write",
                bytes.len() - keep
            );
            file.set_len(keep as u64).map_err(|e| Error::io(path, e))?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Writes one line and flushes it to the OS.
    pub fn write(&mut self, verdict: &Verdict) -> Result<()> {
        let mut line = serde_json::to_vec(verdict)?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(index: usize, image: usize, scores: Option<Vec<u8>>) -> Verdict {
        Verdict {
            index,
            image,
            testpoints: vec!["Style".into(), "World Knowledge".into()],
            scores,
            analysis: None,
            answer: Some("raw".into()),
            error: None,
            model: None,
        }
    }

    #[test]
    fn an_endless_line_is_refused_before_it_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.jsonl");
        let first = serde_json::to_string(&v(0, 0, Some(vec![1, 0]))).unwrap();
        let mut file = File::create(&path).unwrap();
        writeln!(file, "{first}").unwrap();
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..=MAX_VERDICT_LINE_BYTES >> 20 {
            file.write_all(&chunk).unwrap();
        }
        drop(file);
        let err = Verdicts::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("longer than 67108864"),
            "{err}"
        );
    }

    #[test]
    fn latest_line_wins_and_truncated_tail_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.jsonl");
        let mut w = VerdictWriter::append(&path).unwrap();
        w.write(&v(0, 0, None)).unwrap();
        w.write(&v(0, 1, Some(vec![1, 1]))).unwrap();
        w.write(&v(0, 0, Some(vec![0, 1]))).unwrap();
        drop(w);
        // Simulate a crash mid-line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"index":1,"image":0,"testp"#).unwrap();
        drop(f);
        let all = Verdicts::load(&path).unwrap();
        assert!(all.truncated_tail);
        assert_eq!(all.lines, 3);
        assert_eq!(all.get(0, 0).unwrap().scores, Some(vec![0, 1]));
        assert!(all.get(1, 0).is_none());
        // Appending after the broken tail starts a fresh line.
        VerdictWriter::append(&path)
            .unwrap()
            .write(&v(1, 0, Some(vec![1, 0])))
            .unwrap();
        let all = Verdicts::load(&path).unwrap();
        assert_eq!(all.get(1, 0).unwrap().scores, Some(vec![1, 0]));
    }

    #[test]
    fn bad_middle_line_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.jsonl");
        std::fs::write(
            &path,
            "{\"index\":0,\"image\":0,\"testpoints\":[\"Style\"],\"scores\":[1]}\nnot json\n",
        )
        .unwrap();
        let err = Verdicts::load(&path).unwrap_err().to_string();
        assert!(err.contains("v.jsonl: line 2"), "{err}");
        std::fs::write(
            &path,
            "{\"index\":0,\"image\":0,\"testpoints\":[\"Style\"],\"scores\":[1,0]}\n",
        )
        .unwrap();
        let err = Verdicts::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("1 test points"),
            "{err}"
        );
    }
}

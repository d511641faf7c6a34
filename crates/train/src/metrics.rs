//! Metrics as JSON lines, with TRL's names, and the NaN/Inf guard.
//!
//! One line per logged step, e.g.
//!
//! ```text
//! {"loss":0.6931,"grad_norm":1.25,"learning_rate":5e-7,"rewards/chosen":0.01,"epoch":0.02,"step":10}
//! ```
//!
//! Names are TRL's/HF's (`loss`, `grad_norm`, `learning_rate`, `epoch`, `step`, plus whatever
//! the objective returns: `rewards/chosen`, `logps/rejected`, `eval_loss`, ...). `learning_rate`
//! is the lr the optimizer step used. Each line is written with one `write` call on a file opened
//! with `O_APPEND`, so a reader (plotting, `tail -f`) never sees half a line and a crash loses at
//! most the line being written.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io};

/// Errors with [`Error::NonFinite`] (naming the step and metric) when `value` is NaN or ±Inf.
pub fn check_finite(step: u64, metric: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite {
            step,
            metric: metric.to_string(),
            value,
        })
    }
}

/// The metrics of one logged step, in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRecord {
    /// Optimizer steps completed.
    pub step: u64,
    /// Fractional epoch.
    pub epoch: f64,
    /// `(name, value)` pairs, written in this order before `epoch` and `step`.
    pub values: Vec<(String, f64)>,
}

impl MetricsRecord {
    /// A record with no values yet (e.g. for `eval_*` lines).
    pub fn new(step: u64, epoch: f64) -> Self {
        Self {
            step,
            epoch,
            values: Vec::new(),
        }
    }

    /// The standard training line: `loss`, `grad_norm` (if clipping/measuring), `learning_rate`.
    pub fn train(
        step: u64,
        epoch: f64,
        loss: f64,
        grad_norm: Option<f64>,
        learning_rate: f64,
    ) -> Self {
        let mut record = Self::new(step, epoch).with("loss", loss);
        if let Some(norm) = grad_norm {
            record = record.with("grad_norm", norm);
        }
        record.with("learning_rate", learning_rate)
    }

    /// Adds (or replaces) a metric.
    pub fn with(mut self, name: impl Into<String>, value: f64) -> Self {
        let name = name.into();
        match self.values.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.values.push((name, value)),
        }
        self
    }

    /// Adds many metrics (e.g. an objective's `metrics` map).
    pub fn with_all<I, S>(mut self, metrics: I) -> Self
    where
        I: IntoIterator<Item = (S, f64)>,
        S: Into<String>,
    {
        for (name, value) in metrics {
            self = self.with(name, value);
        }
        self
    }

    /// The value of a metric.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// The NaN/Inf guard over every value (and `epoch`).
    pub fn check_finite(&self) -> Result<()> {
        for (name, value) in &self.values {
            check_finite(self.step, name, *value)?;
        }
        check_finite(self.step, "epoch", self.epoch)
    }

    /// The JSON line (without the trailing newline).
    ///
    /// Non-finite values are written as `null` (JSON has no NaN); [`MetricsLog::log`] refuses
    /// them before they get here.
    pub fn to_json_line(&self) -> String {
        let mut line = String::from("{");
        for (name, value) in &self.values {
            push_pair(&mut line, name, number(*value));
        }
        push_pair(&mut line, "epoch", number(self.epoch));
        push_pair(&mut line, "step", serde_json::Value::from(self.step));
        line.push('}');
        line
    }
}

fn number(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn push_pair(line: &mut String, name: &str, value: serde_json::Value) {
    if line.len() > 1 {
        line.push(',');
    }
    line.push_str(&serde_json::Value::from(name).to_string());
    line.push(':');
    line.push_str(&value.to_string());
}

/// An append-only `metrics.jsonl`.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Creates (or empties) the file, and its parent directories.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        prefopt_core::write_atomic(&path, b"")?;
        Self::append(path)
    }

    /// Opens the file for appending (creating it if needed).
    pub fn append(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        Ok(Self { path, file })
    }

    /// Opens for appending after a resume from `checkpoint_step`: lines with a larger `step`
    /// (logged after that checkpoint by the run that crashed) are dropped first, by rewriting
    /// the file atomically ([`prefopt_core::write_atomic`]).
    pub fn resume(path: impl Into<PathBuf>, checkpoint_step: u64) -> Result<Self> {
        let path = path.into();
        if path.exists() {
            let kept: Vec<String> = read_lines(&path)?
                .into_iter()
                .filter(|(_, obj)| {
                    obj.get("step")
                        .and_then(serde_json::Value::as_u64)
                        .is_none_or(|s| s <= checkpoint_step)
                })
                .map(|(line, _)| line)
                .collect();
            let mut text = kept.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            prefopt_core::write_atomic(&path, text.as_bytes())?;
        }
        Self::append(path)
    }

    /// Guards against NaN/Inf ([`Error::NonFinite`], nothing written) and appends one line.
    pub fn log(&mut self, record: &MetricsRecord) -> Result<()> {
        record.check_finite()?;
        let mut line = record.to_json_line();
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(io(&self.path))?;
        tracing::debug!(target: "prefopt_train::metrics", "{}", line.trim_end());
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_lines(path: &Path) -> Result<Vec<(String, serde_json::Map<String, serde_json::Value>)>> {
    let file = File::open(path).map_err(io(path))?;
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(serde_json::Value::Object(obj)) => out.push((line, obj)),
            // A torn last line (crash mid-write on a full disk): skip it.
            Ok(_) | Err(_) => {
                tracing::warn!(path = %path.display(), "skipping malformed metrics line")
            }
        }
    }
    Ok(out)
}

/// Reads a metrics JSONL file into records (`step`/`epoch` taken out, other numeric fields kept
/// in file order where the JSON map preserves it, otherwise sorted by name).
pub fn read_metrics(path: impl AsRef<Path>) -> Result<Vec<MetricsRecord>> {
    let path = path.as_ref();
    let mut out = Vec::new();
    for (_, obj) in read_lines(path)? {
        let step = obj
            .get("step")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| Error::Json {
                path: path.to_path_buf(),
                source: serde::de::Error::custom("metrics line without an integer `step`"),
            })?;
        let epoch = obj
            .get("epoch")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0);
        let mut record = MetricsRecord::new(step, epoch);
        for (name, value) in &obj {
            if name != "step"
                && name != "epoch"
                && let Some(v) = value.as_f64()
            {
                record.values.push((name.clone(), v));
            }
        }
        out.push(record);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_uses_trl_names_and_order() {
        let r = MetricsRecord::train(10, 0.5, 0.25, Some(1.5), 5e-7).with("rewards/chosen", -0.125);
        assert_eq!(
            r.to_json_line(),
            r#"{"loss":0.25,"grad_norm":1.5,"learning_rate":5e-7,"rewards/chosen":-0.125,"epoch":0.5,"step":10}"#
        );
    }

    #[test]
    fn guard_names_step_and_metric() {
        let r = MetricsRecord::train(7, 0.1, f64::NAN, None, 1e-3);
        let e = r.check_finite().unwrap_err();
        assert!(
            matches!(&e, Error::NonFinite { step: 7, metric, .. } if metric == "loss"),
            "{e}"
        );
        let e = check_finite(3, "grad_norm", f64::INFINITY).unwrap_err();
        assert_eq!(e.to_string(), "non-finite `grad_norm` = inf at step 3");
    }
}

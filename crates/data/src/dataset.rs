//! JSONL file → tokenized data set, optionally through the on-disk cache.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cache::{CacheKey, CacheKeyBuilder, CacheOutcome, load_or_build};
use crate::error::{DataError, Result};
use crate::jsonl::{ReadOptions, ReadReport, Rows, SkippedRow};
use crate::preference::read_preference_jsonl;
use crate::prompts::read_prompt_jsonl;
use crate::ranked::{RankedOptions, read_ranked_jsonl};
use crate::sft::read_sft_jsonl;
use crate::tokenize::{
    Encoder, TokenizeReport, TokenizedList, TokenizedPair, TokenizedPrompt, TokenizedSft,
};
use crate::tokenizer::Tokenizer;
use crate::truncation::Truncation;

/// Everything that decides how a file becomes token ids (all of it is part of the cache
/// key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DatasetOptions {
    /// Bad-row handling.
    pub read: ReadOptions,
    /// Length limit.
    pub truncation: Truncation,
    /// Ranked-list options (ignored for other kinds).
    pub ranked: RankedOptions,
}

/// What reading and tokenizing kept and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DatasetReport {
    /// JSONL reading.
    pub read: ReadReport,
    /// Tokenization and truncation.
    pub tokenize: TokenizeReport,
}

/// A tokenized data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizedDataset<T> {
    /// The examples, in file order.
    pub examples: Vec<T>,
    /// 1-based JSONL line of each example.
    pub lines: Vec<usize>,
    /// Counts.
    pub report: DatasetReport,
}

impl<T> TokenizedDataset<T> {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether there are none (never true for a loaded data set).
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }
}

/// The data layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    /// Preference pairs.
    Preference,
    /// Ranked lists.
    Ranked,
    /// SFT.
    Sft,
    /// Prompts only.
    Prompt,
    /// User-history (personalization) examples: `crate::load_personal_dataset`.
    Personal,
}

/// The cache key of a tokenized data set: data bytes, tokenizer files, options, kind and
/// this crate's version.
pub fn dataset_cache_key(
    data_path: &Path,
    tokenizer: &Tokenizer,
    kind: DatasetKind,
    options: &DatasetOptions,
) -> Result<CacheKey> {
    Ok(CacheKeyBuilder::new()
        .str("purpose", "prefopt-data tokenized dataset")
        .str("crate_version", env!("CARGO_PKG_VERSION"))
        .json("kind", &kind)?
        .file("data", data_path)?
        .bytes("tokenizer_files", &tokenizer.fingerprint())
        .str(
            "chat_template",
            tokenizer.chat_template().map_or("", |t| t.source()),
        )
        .json("options", options)?
        .finish())
}

/// The default cache file for a data set: `<cache_dir>/<file stem>-<kind>-<key>.bin`.
pub fn dataset_cache_path(
    cache_dir: &Path,
    data_path: &Path,
    kind: DatasetKind,
    key: &CacheKey,
) -> PathBuf {
    let stem = data_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("data");
    let kind = serde_json::to_string(&kind)
        .unwrap_or_default()
        .replace('"', "");
    cache_dir.join(format!("{stem}-{kind}-{}.bin", &key.to_hex()[..16]))
}

/// Encodes every record of `rows`: the examples, their 1-based lines and the read report.
/// A row whose `encode` fails (with the message to report) is a `file:line`
/// [`DataError::BadRow`], or with `skip_bad_rows` a warned skip counted in
/// `report.skipped` (and one row fewer in `report.rows`); `Ok(None)` leaves a row out
/// silently. Shared by every tokenized data set, personalised ones included.
pub(crate) fn encode_rows<R, T>(
    rows: &Rows<R>,
    skip_bad_rows: bool,
    mut encode: impl FnMut(&R) -> std::result::Result<Option<T>, String>,
) -> Result<(Vec<T>, Vec<usize>, ReadReport)> {
    let mut read = rows.report.clone();
    let mut examples = Vec::with_capacity(rows.records.len());
    let mut lines = Vec::with_capacity(rows.records.len());
    for (record, &line) in rows.records.iter().zip(&rows.lines) {
        match encode(record) {
            Ok(Some(example)) => {
                examples.push(example);
                lines.push(line);
            }
            Ok(None) => {}
            Err(message) if skip_bad_rows => {
                tracing::warn!(file = %rows.path.display(), line, error = %message, "skipping row that failed to tokenize");
                read.skipped.push(SkippedRow { line, message });
                read.rows -= 1;
            }
            Err(message) => {
                return Err(DataError::BadRow {
                    path: rows.path.clone(),
                    line,
                    message,
                });
            }
        }
    }
    Ok((examples, lines, read))
}

fn tokenize_rows<R, T>(
    rows: Rows<R>,
    options: &DatasetOptions,
    mut encode: impl FnMut(&R, &mut TokenizeReport) -> Result<Option<T>>,
) -> Result<TokenizedDataset<T>> {
    let mut tokenize = TokenizeReport::default();
    let (examples, lines, read) = encode_rows(&rows, options.read.skip_bad_rows, |record| {
        encode(record, &mut tokenize).map_err(|e| e.to_string())
    })?;
    let report = DatasetReport { read, tokenize };
    let t = report.tokenize.truncation;
    if t.dropped_long_prompt > 0 || t.truncated_rows > 0 {
        tracing::info!(
            file = %rows.path.display(),
            dropped_long_prompt = t.dropped_long_prompt,
            truncated_rows = t.truncated_rows,
            "truncation"
        );
    }
    if report.tokenize.prefix_mismatches > 0 {
        tracing::warn!(
            file = %rows.path.display(),
            rows = report.tokenize.prefix_mismatches,
            "prompt tokens were not a prefix of prompt+completion tokens"
        );
    }
    if examples.is_empty() {
        return Err(DataError::EmptyDataset {
            path: rows.path,
            detail: format!(
                "{} rows read, {} skipped, {} dropped because the prompt alone reached max_length",
                rows.records.len(),
                report.read.skipped.len(),
                t.dropped_long_prompt
            ),
        });
    }
    Ok(TokenizedDataset {
        examples,
        lines,
        report,
    })
}

fn cached<T: Serialize + DeserializeOwned>(
    path: &Path,
    tokenizer: &Tokenizer,
    kind: DatasetKind,
    options: &DatasetOptions,
    cache_dir: Option<&Path>,
    build: impl FnOnce() -> Result<TokenizedDataset<T>>,
) -> Result<TokenizedDataset<T>> {
    let Some(dir) = cache_dir else {
        return build();
    };
    let key = dataset_cache_key(path, tokenizer, kind, options)?;
    let file = dataset_cache_path(dir, path, kind, &key);
    let (data, outcome) = load_or_build(&file, &key, build)?;
    if outcome == CacheOutcome::Hit {
        tracing::info!(cache = %file.display(), examples = data.examples.len(), "loaded tokenized data from cache");
    }
    Ok(data)
}

/// Reads and tokenizes preference pairs; with `cache_dir`, through the cache.
pub fn load_preference_dataset(
    path: &Path,
    tokenizer: &Tokenizer,
    options: &DatasetOptions,
    cache_dir: Option<&Path>,
) -> Result<TokenizedDataset<TokenizedPair>> {
    cached(
        path,
        tokenizer,
        DatasetKind::Preference,
        options,
        cache_dir,
        || {
            let rows = read_preference_jsonl(path, options.read)?;
            let encoder = Encoder::new(tokenizer, options.truncation);
            tokenize_rows(rows, options, |r, rep| encoder.pair(r, rep))
        },
    )
}

/// Reads and tokenizes ranked lists; with `cache_dir`, through the cache.
pub fn load_ranked_dataset(
    path: &Path,
    tokenizer: &Tokenizer,
    options: &DatasetOptions,
    cache_dir: Option<&Path>,
) -> Result<TokenizedDataset<TokenizedList>> {
    cached(
        path,
        tokenizer,
        DatasetKind::Ranked,
        options,
        cache_dir,
        || {
            let rows = read_ranked_jsonl(path, options.read, options.ranked)?;
            let encoder = Encoder::new(tokenizer, options.truncation);
            tokenize_rows(rows, options, |r, rep| encoder.list(r, rep))
        },
    )
}

/// Reads and tokenizes SFT rows; with `cache_dir`, through the cache.
pub fn load_sft_dataset(
    path: &Path,
    tokenizer: &Tokenizer,
    options: &DatasetOptions,
    cache_dir: Option<&Path>,
) -> Result<TokenizedDataset<TokenizedSft>> {
    cached(
        path,
        tokenizer,
        DatasetKind::Sft,
        options,
        cache_dir,
        || {
            let rows = read_sft_jsonl(path, options.read)?;
            let encoder = Encoder::new(tokenizer, options.truncation);
            tokenize_rows(rows, options, |r, rep| encoder.sft(r, rep))
        },
    )
}

/// Reads and tokenizes prompts; with `cache_dir`, through the cache.
pub fn load_prompt_dataset(
    path: &Path,
    tokenizer: &Tokenizer,
    options: &DatasetOptions,
    cache_dir: Option<&Path>,
) -> Result<TokenizedDataset<TokenizedPrompt>> {
    cached(
        path,
        tokenizer,
        DatasetKind::Prompt,
        options,
        cache_dir,
        || {
            let rows = read_prompt_jsonl(path, options.read)?;
            let encoder = Encoder::new(tokenizer, options.truncation);
            tokenize_rows(rows, options, |r, rep| encoder.prompt(r, rep))
        },
    )
}

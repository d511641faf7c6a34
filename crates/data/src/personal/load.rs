//! Personalization file → tokenized data set, optionally through the on-disk cache.

use std::path::Path;

use super::encode::{PersonalEncoder, TokenizedPersonal};
use super::layout::{PersonalLayout, read_personal_jsonl};
use super::options::PersonalOptions;
use super::report::PersonalReport;
use crate::cache::{CacheKey, CacheKeyBuilder, CacheOutcome, load_or_build};
use crate::dataset::{
    DatasetKind, DatasetOptions, DatasetReport, TokenizedDataset, dataset_cache_key,
    dataset_cache_path, encode_rows,
};
use crate::error::{DataError, Result};
use crate::jsonl::ReadOptions;
use crate::tokenize::TokenizeReport;
use crate::tokenizer::Tokenizer;

/// The cache key of a tokenized personalization set: [`dataset_cache_key`] of the data
/// file (data bytes, tokenizer files, chat template, read options, crate version) plus the
/// layout, the [`PersonalOptions`] and, for the Amazon layout, the metadata file's bytes.
pub fn personal_cache_key(
    path: &Path,
    layout: &PersonalLayout,
    tokenizer: &Tokenizer,
    personal: &PersonalOptions,
    read: ReadOptions,
) -> Result<CacheKey> {
    let options = DatasetOptions {
        read,
        ..Default::default()
    };
    let base = dataset_cache_key(path, tokenizer, DatasetKind::Personal, &options)?;
    let mut builder = CacheKeyBuilder::new()
        .str("purpose", "prefopt-data personalization dataset")
        .bytes("dataset", &base.0)
        .json("layout", layout)?
        .json("personalization", personal)?;
    if let PersonalLayout::Amazon { meta } = layout {
        builder = builder.file("meta", meta)?;
    }
    Ok(builder.finish())
}

fn build(
    path: &Path,
    layout: &PersonalLayout,
    tokenizer: &Tokenizer,
    personal: &PersonalOptions,
    read: ReadOptions,
) -> Result<(TokenizedDataset<TokenizedPersonal>, PersonalReport)> {
    let rows = read_personal_jsonl(path, layout, read)?;
    let encoder = PersonalEncoder::new(tokenizer, personal);
    let mut personal_report = PersonalReport::default();
    let (examples, lines, read_report) = encode_rows(&rows, read.skip_bad_rows, |record| {
        encoder
            .encode_row(record, &mut personal_report)
            .map(Some)
            .map_err(|e| e.message())
    })?;
    let report = DatasetReport {
        read: read_report,
        tokenize: TokenizeReport {
            examples: examples.len(),
            ..TokenizeReport::default()
        },
    };
    let p = personal_report;
    if p.history_items_dropped > 0 || p.targets_truncated > 0 {
        tracing::info!(
            file = %rows.path.display(),
            history_items_dropped = p.history_items_dropped,
            prompts_fitted = p.prompts_fitted,
            targets_truncated = p.targets_truncated,
            "personalization budgets"
        );
    }
    if examples.is_empty() {
        return Err(DataError::EmptyDataset {
            path: rows.path,
            detail: format!(
                "{} rows read, {} skipped",
                rows.records.len(),
                report.read.skipped.len()
            ),
        });
    }
    Ok((
        TokenizedDataset {
            examples,
            lines,
            report,
        },
        personal_report,
    ))
}

/// Reads and tokenizes a personalization file; with `cache_dir`, through the cache
/// (`<cache_dir>/<stem>-personal-<key>.bin`, key = [`personal_cache_key`]).
///
/// Rows that fail to parse or encode are `file:line` errors, or counted skips in
/// `report.read.skipped` with `read.skip_bad_rows`. The [`PersonalReport`] counts the
/// history items kept, dropped and cut, and the targets truncated.
pub fn load_personal_dataset(
    path: &Path,
    layout: &PersonalLayout,
    tokenizer: &Tokenizer,
    personal: &PersonalOptions,
    read: ReadOptions,
    cache_dir: Option<&Path>,
) -> Result<(TokenizedDataset<TokenizedPersonal>, PersonalReport)> {
    personal.validate()?;
    let Some(dir) = cache_dir else {
        return build(path, layout, tokenizer, personal, read);
    };
    let key = personal_cache_key(path, layout, tokenizer, personal, read)?;
    let file = dataset_cache_path(dir, path, DatasetKind::Personal, &key);
    let (data, outcome) = load_or_build(&file, &key, || {
        build(path, layout, tokenizer, personal, read)
    })?;
    if outcome == CacheOutcome::Hit {
        tracing::info!(cache = %file.display(), examples = data.0.examples.len(), "loaded tokenized personalization data from cache");
    }
    Ok(data)
}

//! A tokenized data set of any method, its cache key, and its batches.

use std::path::Path;
use std::sync::Arc;

use prefopt_data::{
    CacheKey, Collator, Cursor, DatasetKind, DatasetOptions, DatasetReport, Loader, LoaderConfig,
    TokenizedList, TokenizedPair, TokenizedSft, Tokenizer, dataset_cache_key,
    load_preference_dataset, load_ranked_dataset, load_sft_dataset,
};

use crate::device_batch::HostBatch;
use crate::error::Result;
use crate::run_config::Method;

/// Tokenized examples of one split, in file order.
#[derive(Debug, Clone)]
pub enum Examples {
    /// Preference pairs (DPO).
    Pairs(Arc<Vec<TokenizedPair>>),
    /// Ranked lists (LiPO), with the list width K (`None` = longest list of each batch).
    Lists(Arc<Vec<TokenizedList>>, Option<usize>),
    /// SFT rows.
    Sft(Arc<Vec<TokenizedSft>>),
}

/// A loaded split: examples, their cache key and what reading reported.
#[derive(Debug, Clone)]
pub struct LoadedSplit {
    /// The examples.
    pub examples: Examples,
    /// The key of the tokenized set (data bytes, tokenizer, options): the base of the
    /// reference log-prob cache key.
    pub key: CacheKey,
    /// Rows read, skipped, truncated.
    pub report: DatasetReport,
}

/// Reads and tokenizes `path` for `method`.
pub fn load_split(
    method: Method,
    path: &Path,
    tokenizer: &Tokenizer,
    options: &DatasetOptions,
    list_size: Option<usize>,
    cache_dir: Option<&Path>,
) -> Result<LoadedSplit> {
    let kind = match method {
        Method::Sft => DatasetKind::Sft,
        Method::Dpo => DatasetKind::Preference,
        Method::Lipo => DatasetKind::Ranked,
    };
    let (examples, report) = match method {
        Method::Dpo => {
            let d = load_preference_dataset(path, tokenizer, options, cache_dir)?;
            (Examples::Pairs(Arc::new(d.examples)), d.report)
        }
        Method::Lipo => {
            let d = load_ranked_dataset(path, tokenizer, options, cache_dir)?;
            (Examples::Lists(Arc::new(d.examples), list_size), d.report)
        }
        Method::Sft => {
            let d = load_sft_dataset(path, tokenizer, options, cache_dir)?;
            (Examples::Sft(Arc::new(d.examples)), d.report)
        }
    };
    if !report.read.skipped.is_empty() {
        tracing::warn!(
            file = %path.display(),
            skipped = report.read.skipped.len(),
            "skipped bad rows (skip_bad_rows = true)"
        );
    }
    let key = dataset_cache_key(path, tokenizer, kind, options)?;
    Ok(LoadedSplit {
        examples,
        key,
        report,
    })
}

impl Examples {
    /// Number of examples.
    pub fn len(&self) -> usize {
        match self {
            Self::Pairs(x) => x.len(),
            Self::Lists(x, _) => x.len(),
            Self::Sft(x) => x.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Collates the examples `indices` into one batch.
    pub fn collate(&self, collator: &Collator, indices: &[usize]) -> Result<HostBatch> {
        Ok(match self {
            Self::Pairs(x) => {
                let refs: Vec<&TokenizedPair> = indices.iter().map(|&i| &x[i]).collect();
                HostBatch::Pairs(collator.pairs(&refs)?)
            }
            Self::Lists(x, k) => {
                let refs: Vec<&TokenizedList> = indices.iter().map(|&i| &x[i]).collect();
                HostBatch::Lists(collator.lists(&refs, *k)?)
            }
            Self::Sft(x) => {
                let refs: Vec<&TokenizedSft> = indices.iter().map(|&i| &x[i]).collect();
                HostBatch::Sft(collator.sft(&refs)?)
            }
        })
    }

    /// A prefetching loader over these examples starting at `start`.
    pub fn loader(
        &self,
        collator: Collator,
        config: LoaderConfig,
        start: Cursor,
    ) -> Result<Loader<HostBatch>> {
        Ok(match self {
            Self::Pairs(x) => Loader::new(x.clone(), config, start, move |xs| {
                collator.pairs(xs).map(HostBatch::Pairs)
            })?,
            Self::Lists(x, k) => {
                let k = *k;
                Loader::new(x.clone(), config, start, move |xs| {
                    collator.lists(xs, k).map(HostBatch::Lists)
                })?
            }
            Self::Sft(x) => Loader::new(x.clone(), config, start, move |xs| {
                collator.sft(xs).map(HostBatch::Sft)
            })?,
        })
    }
}

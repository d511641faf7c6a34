//! A tokenized data set of any method, its cache key, and its batches.

use std::path::Path;
use std::sync::Arc;

use prefopt_data::{
    CacheKey, Collator, Cursor, DatasetKind, DatasetReport, Loader, LoaderConfig, TokenizedList,
    TokenizedPair, TokenizedPersonal, TokenizedSft, Tokenizer, dataset_cache_key,
    load_personal_dataset, load_preference_dataset, load_ranked_dataset, load_sft_dataset,
    personal_cache_key,
};

use crate::device_batch::HostBatch;
use crate::error::Result;
use crate::personalization_section::PersonalMethod;
use crate::run_config::{Method, RunConfig};

/// Tokenized examples of one split, in file order.
#[derive(Debug, Clone)]
pub enum Examples {
    /// Preference pairs (DPO).
    Pairs(Arc<Vec<TokenizedPair>>),
    /// Ranked lists (LiPO), with the list width K (`None` = longest list of each batch).
    Lists(Arc<Vec<TokenizedList>>, Option<usize>),
    /// SFT rows.
    Sft(Arc<Vec<TokenizedSft>>),
    /// Personalised examples (user histories), batched as the method trains on them.
    Personal(Arc<Vec<TokenizedPersonal>>, PersonalMethod),
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

/// Reads and tokenizes `path` for `method`, with the data settings of `config`.
pub fn load_split(
    method: Method,
    path: &Path,
    tokenizer: &Tokenizer,
    config: &RunConfig,
    cache_dir: Option<&Path>,
) -> Result<LoadedSplit> {
    let options = config.data.dataset_options();
    let list_size = config.data.list_size;
    let kind = match method {
        Method::Sft => DatasetKind::Sft,
        Method::Dpo => DatasetKind::Preference,
        Method::Lipo => DatasetKind::Ranked,
        Method::NextQuill => DatasetKind::Personal,
    };
    let (examples, report) = match method {
        Method::Dpo => {
            let d = load_preference_dataset(path, tokenizer, &options, cache_dir)?;
            (Examples::Pairs(Arc::new(d.examples)), d.report)
        }
        Method::Lipo => {
            let d = load_ranked_dataset(path, tokenizer, &options, cache_dir)?;
            (Examples::Lists(Arc::new(d.examples), list_size), d.report)
        }
        Method::Sft => {
            let d = load_sft_dataset(path, tokenizer, &options, cache_dir)?;
            (Examples::Sft(Arc::new(d.examples)), d.report)
        }
        Method::NextQuill => {
            let p = &config.personalization;
            let (d, personal) = load_personal_dataset(
                path,
                &p.data_layout()?,
                tokenizer,
                &p.prompt,
                options.read,
                cache_dir,
            )?;
            tracing::info!(
                file = %path.display(),
                examples = personal.examples,
                history_items_dropped = personal.history_items_dropped,
                targets_truncated = personal.targets_truncated,
                "personalised examples"
            );
            (Examples::Personal(Arc::new(d.examples), p.method), d.report)
        }
    };
    if !report.read.skipped.is_empty() {
        tracing::warn!(
            file = %path.display(),
            skipped = report.read.skipped.len(),
            "skipped bad rows (skip_bad_rows = true)"
        );
    }
    let key = match method {
        Method::NextQuill => personal_cache_key(
            path,
            &config.personalization.data_layout()?,
            tokenizer,
            &config.personalization.prompt,
            options.read,
        )?,
        _ => dataset_cache_key(path, tokenizer, kind, &options)?,
    };
    Ok(LoadedSplit {
        examples,
        key,
        report,
    })
}

/// The rows a personalised micro-batch trains on: NextQuill's two halves (every example with
/// its history, and every example with the null history, each padded to its own length; the
/// completions are identical), or the `B` rows of a baseline (with history for ContextSFT,
/// null history for SFT).
fn personal_rows(
    collator: &Collator,
    examples: &[&TokenizedPersonal],
    method: PersonalMethod,
) -> prefopt_data::Result<HostBatch> {
    fn with<'a>(e: &&'a TokenizedPersonal) -> (&'a [u32], &'a [u32]) {
        (&e.prompt_ids, &e.completion_ids)
    }
    fn null<'a>(e: &&'a TokenizedPersonal) -> (&'a [u32], &'a [u32]) {
        (&e.null_prompt_ids, &e.completion_ids)
    }
    let with_history = || collator.rows(&examples.iter().map(with).collect::<Vec<_>>());
    let null_history = || collator.rows(&examples.iter().map(null).collect::<Vec<_>>());
    Ok(match method {
        PersonalMethod::NextQuill => HostBatch::Counterfactual {
            with_history: with_history()?,
            null_history: null_history()?,
        },
        PersonalMethod::ContextSft => HostBatch::Sft(with_history()?),
        PersonalMethod::Sft => HostBatch::Sft(null_history()?),
    })
}

impl Examples {
    /// Number of examples.
    pub fn len(&self) -> usize {
        match self {
            Self::Pairs(x) => x.len(),
            Self::Lists(x, _) => x.len(),
            Self::Sft(x) => x.len(),
            Self::Personal(x, _) => x.len(),
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
            Self::Personal(x, method) => {
                let refs: Vec<&TokenizedPersonal> = indices.iter().map(|&i| &x[i]).collect();
                personal_rows(collator, &refs, *method)?
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
            Self::Personal(x, method) => {
                let method = *method;
                Loader::new(x.clone(), config, start, move |xs| {
                    personal_rows(&collator, xs, method)
                })?
            }
        })
    }
}

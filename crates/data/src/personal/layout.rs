//! Which reader a personalization file needs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::amazon::{ItemMetadata, read_amazon_jsonl};
use super::lamp::read_lamp_jsonl;
use super::record::PersonalRecord;
use crate::error::Result;
use crate::jsonl::{ReadOptions, Rows};

/// The JSONL layout of a personalization file. In TOML:
/// `{ layout = "amazon", meta = "meta.jsonl" }` or `{ layout = "lamp" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "layout", rename_all = "snake_case")]
pub enum PersonalLayout {
    /// NextQuill's Amazon reviews, with the item metadata JSONL file `meta`.
    Amazon {
        /// Item metadata (`asin`/`parent_asin`, `title`, `description`).
        meta: PathBuf,
    },
    /// LaMP / LongLaMP rows.
    Lamp,
}

/// Reads `path` with the reader of `layout` (the Amazon layout reads its metadata first).
pub fn read_personal_jsonl(
    path: &Path,
    layout: &PersonalLayout,
    options: ReadOptions,
) -> Result<Rows<PersonalRecord>> {
    match layout {
        PersonalLayout::Amazon { meta } => {
            let meta = ItemMetadata::read(meta)?;
            read_amazon_jsonl(path, &meta, options)
        }
        PersonalLayout::Lamp => read_lamp_jsonl(path, options),
    }
}

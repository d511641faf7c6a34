//! The Amazon-review layout of NextQuill (and its group's DPL data set): review rows
//! `{"user_id", "profile": [...], "data": {...}}` plus an item metadata table.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fields;
use super::record::{Field, HistoryItem, PersonalRecord};
use crate::error::Result;
use crate::jsonl::{ReadOptions, Rows, json_kind, read_jsonl};

/// Item title and description by ASIN (Amazon Reviews 2023 metadata).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ItemMetadata {
    items: BTreeMap<String, (String, String)>,
}

impl ItemMetadata {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads JSONL rows `{"asin" (or "parent_asin"), "title", "description"}`.
    ///
    /// `description` may be a string, a list of strings (joined with a space, as Amazon
    /// 2023 stores it) or `null` (empty). A later row with the same ASIN replaces an
    /// earlier one. Any bad row is an error naming `file:line`.
    pub fn read(path: &Path) -> Result<Self> {
        let rows = read_jsonl(path, ReadOptions::default(), parse_metadata_row)?;
        let mut table = Self::new();
        for (asin, title, description) in rows.records {
            table.insert(asin, title, description);
        }
        Ok(table)
    }

    /// Adds or replaces an item.
    pub fn insert(
        &mut self,
        asin: impl Into<String>,
        title: impl Into<String>,
        description: impl Into<String>,
    ) {
        self.items
            .insert(asin.into(), (title.into(), description.into()));
    }

    /// `(title, description)` of an item.
    pub fn get(&self, asin: &str) -> Option<(&str, &str)> {
        self.items.get(asin).map(|(t, d)| (t.as_str(), d.as_str()))
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn parse_metadata_row(row: &Map<String, Value>) -> Result<(String, String, String), String> {
    let asin = if row.contains_key("asin") {
        fields::string(row, "", "asin")?
    } else if row.contains_key("parent_asin") {
        fields::string(row, "", "parent_asin")?
    } else {
        return Err("asin is missing (and there is no parent_asin)".into());
    };
    let title = fields::string(row, "", "title")?;
    let description = match fields::required(row, "", "description")? {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(parts) => parts
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                Value::String(s) => Ok(s.as_str()),
                other => Err(format!(
                    "description[{i}]: expected a string, found {}",
                    json_kind(other)
                )),
            })
            .collect::<Result<Vec<_>, String>>()?
            .join(" "),
        other => Err(format!(
            "description: expected a string or a list of strings, found {}",
            json_kind(other)
        ))?,
    };
    Ok((asin, title, description))
}

fn item_meta<'m>(
    meta: &'m ItemMetadata,
    asin: &str,
    at: &str,
) -> Result<(&'m str, &'m str), String> {
    meta.get(asin)
        .ok_or_else(|| format!("{at}asin `{asin}` is not in the item metadata"))
}

/// Parses one Amazon row into a [`PersonalRecord`].
///
/// prefix = `Item Title`, `Item Description` (metadata of `data.asin`); each history item
/// = `Item Title`, `Item Description` (metadata of its asin), `Review Rating`,
/// `Review Title`, `Review Text`, with id = asin and timestamp = `timestamp`;
/// suffix = `Output Review Rating`, `Output Review Title`; target = `data.text`.
/// Ratings may be numbers or strings. Errors name the field (`profile[3].timestamp is
/// missing`) or the ASIN missing from the metadata.
pub fn parse_amazon_row(
    row: &Map<String, Value>,
    meta: &ItemMetadata,
) -> Result<PersonalRecord, String> {
    let user_id = fields::string(row, "", "user_id")?;
    let data = fields::object(fields::required(row, "", "data")?, "data")?;
    let data_asin = fields::string(data, "data.", "asin")?;
    let rating = fields::text(data, "data.", "rating")?;
    let title = fields::string(data, "data.", "title")?;
    let target = fields::string(data, "data.", "text")?;
    let (item_title, item_description) = item_meta(meta, &data_asin, "data.")?;
    let profile = fields::array(row, "", "profile")?;
    let mut history = Vec::with_capacity(profile.len());
    for (i, value) in profile.iter().enumerate() {
        let at = format!("profile[{i}].");
        let item = fields::object(value, &format!("profile[{i}]"))?;
        let asin = fields::string(item, &at, "asin")?;
        let rating = fields::text(item, &at, "rating")?;
        let review_title = fields::string(item, &at, "title")?;
        let text = fields::string(item, &at, "text")?;
        let timestamp = fields::integer(item, &at, "timestamp")?;
        let (meta_title, meta_description) = item_meta(meta, &asin, &at)?;
        history.push(HistoryItem {
            id: Some(asin.clone()),
            timestamp: Some(timestamp),
            fields: vec![
                Field::labelled("Item Title", meta_title),
                Field::labelled("Item Description", meta_description),
                Field::labelled("Review Rating", rating),
                Field::labelled("Review Title", review_title),
                Field::labelled("Review Text", text),
            ],
        });
    }
    Ok(PersonalRecord {
        user_id,
        prefix: vec![
            Field::labelled("Item Title", item_title),
            Field::labelled("Item Description", item_description),
        ],
        history,
        suffix: vec![
            Field::labelled("Output Review Rating", rating),
            Field::labelled("Output Review Title", title),
        ],
        target,
    })
}

/// Reads an Amazon-layout JSONL file (see [`parse_amazon_row`]).
pub fn read_amazon_jsonl(
    path: &Path,
    meta: &ItemMetadata,
    options: ReadOptions,
) -> Result<Rows<PersonalRecord>> {
    read_jsonl(path, options, |row| parse_amazon_row(row, meta))
}

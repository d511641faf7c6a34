//! Host-side personalization records: a query, a user's history and the gold response.

use serde::{Deserialize, Serialize};

/// One rendered line of a prompt: `"{label}: {value}"`, or the raw `value` when `label` is
/// `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The label (`Item Title`, `Review Text`, a LaMP profile key), or `None` for a raw line.
    pub label: Option<String>,
    /// The text.
    pub value: String,
}

impl Field {
    /// A labelled field.
    pub fn labelled(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: Some(label.into()),
            value: value.into(),
        }
    }

    /// A raw text line.
    pub fn raw(value: impl Into<String>) -> Self {
        Self {
            label: None,
            value: value.into(),
        }
    }
}

/// One past item of a user (a review, a post...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// Item id (the ASIN for Amazon, `id` for LaMP), used in messages.
    pub id: Option<String>,
    /// When it was written (any integer unit; only the order matters). Items without one
    /// sort after dated items (see [`crate::select_history`]).
    pub timestamp: Option<i64>,
    /// The fields rendered for this item, in order.
    pub fields: Vec<Field>,
}

/// One personalization example: query fields around a history block, and the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalRecord {
    /// The user.
    pub user_id: String,
    /// Query fields rendered before the history block.
    pub prefix: Vec<Field>,
    /// The user's history, in file order.
    pub history: Vec<HistoryItem>,
    /// Query fields rendered after the history block.
    pub suffix: Vec<Field>,
    /// The gold response text.
    pub target: String,
}

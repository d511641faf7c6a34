//! Prompt text of a personalization record, with its history or with the null history.

use super::options::PersonalOptions;
use super::record::{Field, HistoryItem, PersonalRecord};

fn push_field(out: &mut Vec<String>, field: &Field) {
    match &field.label {
        Some(label) => out.push(format!("{label}: {}", field.value)),
        None => out.push(field.value.clone()),
    }
}

/// Renders the prompt text: one line per prefix field, the history block, one line per
/// suffix field, joined with `\n` (no trailing newline).
///
/// A field renders as `"{label}: {value}"`, or as its raw value without a label. The
/// history block is `history_header`, then for each item of `history` (in the given order,
/// newest first after [`crate::select_history`]) a line `item_header` with `{i}` replaced
/// by the 1-based index, followed by the item's fields. `history = None` renders the null
/// history: `history_header` followed by one line `null_history` (NextQuill's `None`).
/// `Some(&[])` renders the header alone. The two renderings of a record differ only in the
/// history block.
pub fn render_prompt(
    record: &PersonalRecord,
    history: Option<&[&HistoryItem]>,
    options: &PersonalOptions,
) -> String {
    let mut lines = Vec::new();
    for field in &record.prefix {
        push_field(&mut lines, field);
    }
    lines.push(options.history_header.clone());
    match history {
        None => lines.push(options.null_history.clone()),
        Some(items) => {
            for (index, item) in items.iter().enumerate() {
                lines.push(options.item_header.replace("{i}", &(index + 1).to_string()));
                for field in &item.fields {
                    push_field(&mut lines, field);
                }
            }
        }
    }
    for field in &record.suffix {
        push_field(&mut lines, field);
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fields_header_items_and_null() {
        let item = HistoryItem {
            id: None,
            timestamp: Some(1),
            fields: vec![Field::labelled("Review Text", "good"), Field::raw("raw")],
        };
        let record = PersonalRecord {
            user_id: "u".into(),
            prefix: vec![Field::labelled("Item Title", "T")],
            history: vec![item.clone()],
            suffix: vec![Field::raw("q")],
            target: "y".into(),
        };
        let options = PersonalOptions::default();
        assert_eq!(
            render_prompt(&record, Some(&[&item, &item]), &options),
            "Item Title: T\n[User's Past Reviews]:\n[Review 1]\nReview Text: good\nraw\n\
             [Review 2]\nReview Text: good\nraw\nq"
        );
        assert_eq!(
            render_prompt(&record, None, &options),
            "Item Title: T\n[User's Past Reviews]:\nNone\nq"
        );
        assert_eq!(
            render_prompt(&record, Some(&[]), &options),
            "Item Title: T\n[User's Past Reviews]:\nq"
        );
    }
}

//! Which history items go into a prompt.

use std::cmp::Reverse;

use super::record::HistoryItem;

/// The items to show, newest first, at most `max_items` of them.
///
/// Rule: items with a timestamp come first, by timestamp descending (newest first; equal
/// timestamps keep file order); items without a timestamp follow in file order. Then the
/// list is cut to `max_items`. This is NextQuill's "sort by timestamp, newest first, keep
/// `max_his_len`".
pub fn select_history(items: &[HistoryItem], max_items: usize) -> Vec<&HistoryItem> {
    let mut order: Vec<&HistoryItem> = items.iter().collect();
    // Stable sort: ties (and all undated items) keep file order.
    order.sort_by_key(|item| match item.timestamp {
        Some(t) => (false, Reverse(t)),
        None => (true, Reverse(0)),
    });
    order.truncate(max_items);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, timestamp: Option<i64>) -> HistoryItem {
        HistoryItem {
            id: Some(id.into()),
            timestamp,
            fields: Vec::new(),
        }
    }

    fn ids(items: &[&HistoryItem]) -> Vec<String> {
        items.iter().map(|i| i.id.clone().unwrap()).collect()
    }

    #[test]
    fn newest_first_then_undated_in_file_order() {
        let items = vec![
            item("a", Some(5)),
            item("u1", None),
            item("b", Some(9)),
            item("c", Some(5)),
            item("u2", None),
            item("d", Some(1)),
        ];
        assert_eq!(
            ids(&select_history(&items, 10)),
            vec!["b", "a", "c", "d", "u1", "u2"]
        );
        assert_eq!(ids(&select_history(&items, 3)), vec!["b", "a", "c"]);
        assert!(select_history(&items, 0).is_empty());
    }
}

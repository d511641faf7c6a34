//! The LaMP / LongLaMP layout: `{"id"?, "input", "output", "profile": [{...}, ...]}`.

use std::path::Path;

use serde_json::{Map, Value};

use super::date::parse_date;
use super::fields;
use super::record::{Field, HistoryItem, PersonalRecord};
use crate::error::Result;
use crate::jsonl::{ReadOptions, Rows, read_jsonl};

fn profile_item(value: &Value, index: usize) -> Result<HistoryItem, String> {
    let at = format!("profile[{index}].");
    let object = fields::object(value, &format!("profile[{index}]"))?;
    let id = match object.get("id") {
        None => None,
        Some(_) => Some(fields::text(object, &at, "id")?),
    };
    let timestamp = if object.contains_key("timestamp") {
        Some(fields::integer(object, &at, "timestamp")?)
    } else if object.contains_key("date") {
        let date = fields::string(object, &at, "date")?;
        Some(
            parse_date(&date)
                .ok_or_else(|| format!("{at}date: expected a YYYY-MM-DD date, found {date:?}"))?,
        )
    } else {
        None
    };
    let fields = object
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "id" | "timestamp" | "date"))
        .filter_map(|(key, value)| match value {
            Value::String(s) => Some(Field::labelled(key.clone(), s.clone())),
            Value::Number(n) => Some(Field::labelled(key.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    Ok(HistoryItem {
        id,
        timestamp,
        fields,
    })
}

/// Parses one LaMP row. The user id is the row's `user_id`, else its `id` (string or
/// number), else `None` ([`read_lamp_jsonl`] then uses the line number).
fn parse_row(row: &Map<String, Value>) -> Result<(Option<String>, PersonalRecord), String> {
    let user_id = if row.contains_key("user_id") {
        Some(fields::text(row, "", "user_id")?)
    } else if row.contains_key("id") {
        Some(fields::text(row, "", "id")?)
    } else {
        None
    };
    let input = fields::string(row, "", "input")?;
    let target = fields::string(row, "", "output")?;
    let profile = fields::array(row, "", "profile")?;
    let history = profile
        .iter()
        .enumerate()
        .map(|(i, v)| profile_item(v, i))
        .collect::<Result<Vec<_>, String>>()?;
    Ok((
        user_id,
        PersonalRecord {
            user_id: String::new(),
            prefix: Vec::new(),
            history,
            suffix: vec![Field::raw(input)],
            target,
        },
    ))
}

/// Parses one LaMP / LongLaMP row; `line` is the user id when the row has neither
/// `user_id` nor `id`.
///
/// prefix = none; history = `profile`, each item with id = its `id`, timestamp = an
/// integer `timestamp`, else a `date` `"YYYY-MM-DD"` as Unix seconds (UTC), and one field
/// per other string or number value, labelled with its key, in file order (other value
/// types are ignored); suffix = the raw `input`; target = `output`.
pub fn parse_lamp_row(row: &Map<String, Value>, line: usize) -> Result<PersonalRecord, String> {
    let (user_id, mut record) = parse_row(row)?;
    record.user_id = user_id.unwrap_or_else(|| line.to_string());
    Ok(record)
}

/// Reads a LaMP / LongLaMP JSONL file (see [`parse_lamp_row`]).
pub fn read_lamp_jsonl(path: &Path, options: ReadOptions) -> Result<Rows<PersonalRecord>> {
    let rows = read_jsonl(path, options, parse_row)?;
    let records = rows
        .records
        .into_iter()
        .zip(&rows.lines)
        .map(|((user_id, mut record), line)| {
            record.user_id = user_id.unwrap_or_else(|| line.to_string());
            record
        })
        .collect();
    Ok(Rows {
        path: rows.path,
        records,
        lines: rows.lines,
        report: rows.report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_fields_in_key_order_with_date_timestamp() {
        let row: Map<String, Value> = serde_json::from_str(
            r#"{"input": "q", "output": "a", "profile": [
                {"text": "t", "id": "7", "date": "1970-01-02", "score": 3, "tags": ["x"], "title": "T"}
            ]}"#,
        )
        .unwrap();
        let record = parse_lamp_row(&row, 4).unwrap();
        assert_eq!(record.user_id, "4");
        let item = &record.history[0];
        assert_eq!(item.id.as_deref(), Some("7"));
        assert_eq!(item.timestamp, Some(86_400));
        assert_eq!(
            item.fields,
            vec![
                Field::labelled("text", "t"),
                Field::labelled("score", "3"),
                Field::labelled("title", "T"),
            ]
        );
        assert_eq!(record.suffix, vec![Field::raw("q")]);
    }
}

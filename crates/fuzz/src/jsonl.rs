//! JSONL data sets, every layout: preference pairs, ranked lists, SFT, prompts, and the
//! personalised LaMP and Amazon-review histories (`prefopt_data::parse_jsonl_str` and the
//! per-layout row parsers, plus the streaming `read_jsonl` on a file).

use std::path::Path;

use prefopt_data::{
    ItemMetadata, RankedOptions, ReadOptions, parse_amazon_row, parse_jsonl_str, parse_lamp_row,
    parse_preference_row, parse_prompt_row, parse_ranked_row, parse_sft_row, read_jsonl,
};
use serde_json::{Map, Value};

use crate::scratch::file_with;

/// Reads `data` both in memory and streamed from a file, skipping bad rows, with `parse`.
fn read<T>(data: &[u8], parse: impl Fn(&Map<String, Value>) -> Result<T, String> + Copy) {
    let options = ReadOptions {
        skip_bad_rows: true,
    };
    let text = String::from_utf8_lossy(data);
    let _ = parse_jsonl_str(Path::new("fuzz.jsonl"), &text, options, parse);
    let path = file_with("fuzz.jsonl", data);
    let _ = read_jsonl(&path, options, parse);
}

/// Preference pairs (explicit or implicit prompt, text or conversational).
pub fn jsonl_preference(data: &[u8]) {
    read(data, parse_preference_row);
}

/// Ranked lists (`prompt`/`responses`/`scores` and UltraFeedback).
pub fn jsonl_ranked(data: &[u8]) {
    let options = RankedOptions::default();
    read(data, |row| parse_ranked_row(row, &options));
}

/// SFT rows (prompt/completion, text or messages).
pub fn jsonl_sft(data: &[u8]) {
    read(data, parse_sft_row);
}

/// Prompt rows.
pub fn jsonl_prompts(data: &[u8]) {
    read(data, parse_prompt_row);
}

/// LaMP personal histories.
pub fn jsonl_lamp(data: &[u8]) {
    read(data, |row| parse_lamp_row(row, 1));
}

/// Amazon-review personal histories (against an empty metadata table and a one-item one).
pub fn jsonl_amazon(data: &[u8]) {
    let mut meta = ItemMetadata::new();
    meta.insert("B1", "A title", "A description");
    read(data, |row| parse_amazon_row(row, &meta));
}

fn lines(rows: &[&str]) -> Vec<Vec<u8>> {
    rows.iter()
        .map(|r| format!("{r}\n{r}\n").into_bytes())
        .collect()
}

pub(crate) fn preference_seeds() -> Vec<Vec<u8>> {
    lines(&[
        r#"{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}"#,
        r#"{"chosen": "Q: sky? A: blue", "rejected": "Q: sky? A: red"}"#,
        r#"{"prompt": [{"role": "user", "content": "Hi"}], "chosen": [{"role": "assistant", "content": "Hello"}], "rejected": [{"role": "assistant", "content": "Go"}]}"#,
    ])
}

pub(crate) fn ranked_seeds() -> Vec<Vec<u8>> {
    lines(&[
        r#"{"prompt": "Name a prime.", "responses": [" 7", " 9", " 2"], "scores": [1.0, 0.0, 2.0]}"#,
        r#"{"instruction": "Say hi", "completions": [{"response": "hi", "overall_score": 7.5, "fine-grained_score": 4.0}, {"response": "no", "overall_score": 2, "fine-grained_score": 1.5}]}"#,
    ])
}

pub(crate) fn sft_seeds() -> Vec<Vec<u8>> {
    lines(&[
        r#"{"prompt": "The capital of Italy is", "completion": " Rome."}"#,
        r#"{"text": "Plain text row."}"#,
        r#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}"#,
    ])
}

pub(crate) fn prompt_seeds() -> Vec<Vec<u8>> {
    lines(&[
        r#"{"prompt": "The sky is"}"#,
        r#"{"prompt": [{"role": "user", "content": "Hi"}]}"#,
    ])
}

pub(crate) fn lamp_seeds() -> Vec<Vec<u8>> {
    lines(&[
        r#"{"id": "1", "input": "Generate a title for: cats", "output": "Cats", "profile": [{"id": "p1", "title": "Dogs", "abstract": "About dogs", "date": "2020-01-02"}]}"#,
        r#"{"id": "2", "input": "Write a tweet", "output": "hi", "profile": [{"id": "p2", "text": "hello", "date": "2019-02-01"}]}"#,
    ])
}

pub(crate) fn amazon_seeds() -> Vec<Vec<u8>> {
    lines(&[
        r#"{"user_id": "u1", "data": {"asin": "B1", "rating": 5, "title": "Great", "text": "Loved it", "timestamp": 1600000000000}, "profile": [{"asin": "B1", "rating": "4.0", "title": "Good", "text": "Fine", "timestamp": 1500000000000}]}"#,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows<T>(seeds: Vec<Vec<u8>>, parse: impl Fn(&Map<String, Value>) -> Result<T, String>) {
        for seed in seeds {
            let text = String::from_utf8(seed).unwrap();
            let rows =
                parse_jsonl_str(Path::new("seed"), &text, ReadOptions::default(), &parse).unwrap();
            assert_eq!(rows.records.len(), 2, "{text}");
        }
    }

    /// Every seed row is valid, so mutations start deep inside the row parsers.
    #[test]
    fn the_seeds_parse() {
        rows(preference_seeds(), parse_preference_row);
        rows(ranked_seeds(), |r| {
            parse_ranked_row(r, &RankedOptions::default())
        });
        rows(sft_seeds(), parse_sft_row);
        rows(prompt_seeds(), parse_prompt_row);
        rows(lamp_seeds(), |r| parse_lamp_row(r, 1));
        let mut meta = ItemMetadata::new();
        meta.insert("B1", "A title", "A description");
        rows(amazon_seeds(), |r| parse_amazon_row(r, &meta));
    }
}

//! Personalization data: Amazon and LaMP readers, history selection, rendering, budget
//! fitting, bad rows and the cache.

use std::path::PathBuf;

use prefopt_data::{
    DataError, Field, HistoryItem, ItemMetadata, Message, PersonalEncoder, PersonalLayout,
    PersonalOptions, PersonalRecord, PersonalReport, ReadOptions, Tokenizer, dataset_cache_path,
    load_personal_dataset, personal_cache_key, read_amazon_jsonl, read_lamp_jsonl,
    read_personal_jsonl, render_prompt, select_history,
};
use proptest::prelude::*;

use crate::common::{fixtures, tiny_tokenizer};

fn personal(name: &str) -> PathBuf {
    fixtures().join("personal").join(name)
}

fn amazon_layout() -> PersonalLayout {
    PersonalLayout::Amazon {
        meta: personal("amazon_meta.jsonl"),
    }
}

/// Word-level tokenizer: one id per whitespace-separated word (unknown words map to
/// `<unk>`), EOS `</s>`, no chat template, no special tokens added by `encode`.
fn word_tokenizer() -> Tokenizer {
    Tokenizer::from_dir(&personal("word_tokenizer")).expect("word tokenizer loads")
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn amazon_records() -> Vec<PersonalRecord> {
    let meta = ItemMetadata::read(&personal("amazon_meta.jsonl")).unwrap();
    read_amazon_jsonl(&personal("amazon.jsonl"), &meta, ReadOptions::default())
        .unwrap()
        .records
}

fn ids(items: &[&HistoryItem]) -> Vec<String> {
    items.iter().map(|i| i.id.clone().unwrap()).collect()
}

fn unlimited() -> PersonalOptions {
    PersonalOptions {
        max_prompt_length: None,
        max_target_length: None,
        ..Default::default()
    }
}

#[test]
fn amazon_rows_become_records() {
    let meta = ItemMetadata::read(&personal("amazon_meta.jsonl")).unwrap();
    assert_eq!(meta.len(), 15);
    // parent_asin is accepted; list descriptions are joined with a space; null is empty.
    assert_eq!(meta.get("A5"), Some(("Item A5", "Description of item A5.")));
    assert_eq!(
        meta.get("A2"),
        Some(("Item A2", "Part one of A2. Part two."))
    );
    assert_eq!(meta.get("T2"), Some(("Target Two", "")));
    let records = amazon_records();
    let users: Vec<&str> = records.iter().map(|r| r.user_id.as_str()).collect();
    assert_eq!(users, vec!["u1", "u2", "u3"]);
    let u2 = &records[1];
    assert_eq!(
        u2.prefix,
        vec![
            Field::labelled("Item Title", "Target Two"),
            Field::labelled("Item Description", ""),
        ]
    );
    assert_eq!(
        u2.suffix,
        vec![
            Field::labelled("Output Review Rating", "3"),
            Field::labelled("Output Review Title", "Fine"),
        ]
    );
    assert_eq!(u2.target, "It was fine.");
    assert_eq!(
        u2.history[1],
        HistoryItem {
            id: Some("A1".into()),
            timestamp: Some(100),
            fields: vec![
                Field::labelled("Item Title", "Item A1"),
                Field::labelled("Item Description", "Description of item A1."),
                Field::labelled("Review Rating", "2"),
                Field::labelled("Review Title", "title 1"),
                Field::labelled("Review Text", "review text 1"),
            ],
        }
    );
    // Float ratings render as JSON writes them.
    assert_eq!(records[0].suffix[0].value, "4.0");
    assert_eq!(records[0].history.len(), 10);
    assert!(records[2].history.is_empty());
    let via_layout = read_personal_jsonl(
        &personal("amazon.jsonl"),
        &amazon_layout(),
        ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(via_layout.records, records);
}

#[test]
fn lamp_rows_become_records() {
    let rows = read_lamp_jsonl(&personal("lamp.jsonl"), ReadOptions::default()).unwrap();
    let users: Vec<&str> = rows.records.iter().map(|r| r.user_id.as_str()).collect();
    // user_id, else id (a number here), else the line number.
    assert_eq!(users, vec!["writer-1", "7", "3"]);
    let first = &rows.records[0];
    assert!(first.prefix.is_empty());
    assert_eq!(first.suffix, vec![Field::raw("Write about cats")]);
    assert_eq!(first.target, "Cats are great pets");
    // `date -u -d 2020-01-02 +%s` = 1577923200
    assert_eq!(first.history[0].timestamp, Some(1_577_923_200));
    assert_eq!(
        first.history[0].fields,
        vec![
            Field::labelled("title", "Dogs"),
            Field::labelled("content", "dogs bark"),
        ]
    );
    let second = &rows.records[1];
    assert_eq!(second.history[0].timestamp, Some(50));
    assert_eq!(
        second.history[0].fields,
        vec![
            Field::labelled("text", "sunny days"),
            Field::labelled("score", "3"),
        ]
    );
    // Lists are not fields.
    assert_eq!(
        second.history[1].fields,
        vec![Field::labelled("text", "snowy nights")]
    );
    assert_eq!(second.history[2].timestamp, None);
}

#[test]
fn selection_is_newest_first_and_capped() {
    let records = amazon_records();
    assert_eq!(
        ids(&select_history(&records[0].history, 8)),
        vec!["A10", "A9", "A8", "A7", "A6", "A5", "A4", "A3"]
    );
    // u2's profile is stored out of order (300, 100, 200).
    assert_eq!(
        ids(&select_history(&records[1].history, 8)),
        vec!["A3", "A2", "A1"]
    );
    let lamp = read_lamp_jsonl(&personal("lamp.jsonl"), ReadOptions::default()).unwrap();
    assert_eq!(
        ids(&select_history(&lamp.records[0].history, 8)),
        vec!["p2", "p1", "p3"]
    );
    // The undated item comes after the dated ones.
    assert_eq!(
        ids(&select_history(&lamp.records[1].history, 8)),
        vec!["p5", "p4", "p6"]
    );
}

#[test]
fn with_and_null_history_differ_only_in_the_history_block() {
    let options = PersonalOptions::default();
    let records = amazon_records();
    let u2 = &records[1];
    let selected = select_history(&u2.history, 2);
    assert_eq!(
        render_prompt(u2, Some(&selected), &options),
        "Item Title: Target Two\nItem Description: \n[User's Past Reviews]:\n[Review 1]\n\
         Item Title: Item A3\nItem Description: Description of item A3.\nReview Rating: 4\n\
         Review Title: title 3\nReview Text: review text 3\n[Review 2]\nItem Title: Item A2\n\
         Item Description: Part one of A2. Part two.\nReview Rating: 3\nReview Title: title 2\n\
         Review Text: review text 2\nOutput Review Rating: 3\nOutput Review Title: Fine"
    );
    assert_eq!(
        render_prompt(u2, None, &options),
        "Item Title: Target Two\nItem Description: \n[User's Past Reviews]:\nNone\n\
         Output Review Rating: 3\nOutput Review Title: Fine"
    );
    let lamp = read_lamp_jsonl(&personal("lamp.jsonl"), ReadOptions::default()).unwrap();
    for record in records.iter().chain(&lamp.records) {
        let selected = select_history(&record.history, 8);
        let with = render_prompt(record, Some(&selected), &options);
        let null = render_prompt(record, None, &options);
        let with: Vec<&str> = with.lines().collect();
        let null: Vec<&str> = null.lines().collect();
        let head = record.prefix.len() + 1;
        let tail = record.suffix.len();
        assert_eq!(with[..head], null[..head]);
        assert_eq!(with[with.len() - tail..], null[null.len() - tail..]);
        assert_eq!(null[head..null.len() - tail], ["None"]);
        let fields: usize = selected.iter().map(|i| 1 + i.fields.len()).sum();
        assert_eq!(with.len() - head - tail, fields);
    }
}

#[test]
fn completion_ids_are_the_target_alone_in_both_views() {
    let t = word_tokenizer();
    let eos = t.eos().unwrap().id;
    let options = unlimited();
    let (data, report) = load_personal_dataset(
        &personal("amazon.jsonl"),
        &amazon_layout(),
        &t,
        &options,
        ReadOptions::default(),
        None,
    )
    .unwrap();
    let records = amazon_records();
    assert_eq!(data.len(), 3);
    assert_eq!(data.lines, vec![1, 2, 3]);
    for (e, r) in data.examples.iter().zip(&records) {
        let mut expected = t.encode(&r.target, false).unwrap();
        expected.push(eos);
        assert_eq!(e.completion_ids, expected);
        assert_eq!(e.target, r.target);
        assert_eq!(e.user_id, r.user_id);
        // Same completion when the history is removed entirely.
        let bare = PersonalRecord {
            history: Vec::new(),
            ..r.clone()
        };
        let alone = PersonalEncoder::new(&t, &options)
            .encode(&bare, &mut PersonalReport::default())
            .unwrap();
        assert_eq!(alone.completion_ids, e.completion_ids);
        let selected = select_history(&r.history, 8);
        assert_eq!(
            e.prompt_ids.len(),
            words(&render_prompt(r, Some(&selected), &options))
        );
        assert_eq!(
            e.null_prompt_ids.len(),
            words(&render_prompt(r, None, &options))
        );
    }
    // "I liked it a lot." is in the vocabulary: 5 words + EOS.
    assert_eq!(data.examples[0].completion_ids, vec![5, 6, 7, 8, 9, 2]);
    assert_eq!(
        report,
        PersonalReport {
            examples: 3,
            history_items_kept: 8 + 3,
            history_items_over_max: 2,
            empty_histories: 1,
            ..Default::default()
        }
    );
    assert_eq!(data.report.tokenize.examples, 3);
}

#[test]
fn chat_templates_wrap_the_rendered_prompt() {
    let t = tiny_tokenizer();
    let options = PersonalOptions {
        system_prompt: Some("Write a review.".into()),
        ..unlimited()
    };
    let records = amazon_records();
    let e = PersonalEncoder::new(&t, &options)
        .encode(&records[1], &mut PersonalReport::default())
        .unwrap();
    let selected = select_history(&records[1].history, 8);
    let messages = |text: String| {
        vec![
            Message::new("system", "Write a review."),
            Message::new("user", text),
        ]
    };
    assert_eq!(
        e.prompt_ids,
        t.encode_chat(
            &messages(render_prompt(&records[1], Some(&selected), &options)),
            true
        )
        .unwrap()
    );
    assert_eq!(
        e.null_prompt_ids,
        t.encode_chat(&messages(render_prompt(&records[1], None, &options)), true)
            .unwrap()
    );
    let mut target = t.encode("It was fine.", false).unwrap();
    target.push(t.eos().unwrap().id);
    assert_eq!(e.completion_ids, target);
}

#[test]
fn budget_drops_the_oldest_items_first_and_counts_them() {
    let t = word_tokenizer();
    let u1 = amazon_records().remove(0);
    let selected = select_history(&u1.history, 8);
    let lengths: Vec<usize> = (0..=8)
        .map(|k| words(&render_prompt(&u1, Some(&selected[..k]), &unlimited())))
        .collect();
    // Newest item A10: "[Review 1]" (2), "Item Title: Item A10" (4), "Item Description:
    // Part one of A10. Part two." (8), "Review Rating: 5.0" (3), "Review Title: title 10"
    // (4), "Review Text: review text 10" (5). Odd items have a 6-word description.
    assert_eq!(lengths[1] - lengths[0], 2 + 4 + 8 + 3 + 4 + 5);
    assert_eq!(lengths[2] - lengths[1], 2 + 4 + 6 + 3 + 4 + 5);
    for (budget, kept) in [(lengths[5], 5), (lengths[5] - 1, 4), (lengths[8], 8)] {
        let options = PersonalOptions {
            max_prompt_length: Some(budget),
            ..unlimited()
        };
        let mut report = PersonalReport::default();
        let e = PersonalEncoder::new(&t, &options)
            .encode(&u1, &mut report)
            .unwrap();
        assert_eq!(e.history_items, kept);
        assert_eq!(e.prompt_ids.len(), lengths[kept]);
        assert_eq!(
            e.prompt_ids,
            t.encode(&render_prompt(&u1, Some(&selected[..kept]), &options), true)
                .unwrap()
        );
        assert_eq!(report.history_items_dropped, 8 - kept);
        assert_eq!(report.prompts_fitted, usize::from(kept < 8));
        assert_eq!(report.history_items_over_max, 2);
        assert_eq!(report.history_items_kept, kept);
    }
}

#[test]
fn long_targets_are_cut_keeping_eos() {
    let t = word_tokenizer();
    let options = PersonalOptions {
        max_target_length: Some(3),
        ..unlimited()
    };
    let mut report = PersonalReport::default();
    let e = PersonalEncoder::new(&t, &options)
        .encode(&amazon_records()[0], &mut report)
        .unwrap();
    // "I liked it a lot." + EOS = [5, 6, 7, 8, 9, 2] → [5, 6, 2].
    assert_eq!(e.completion_ids, vec![5, 6, 2]);
    assert_eq!(report.targets_truncated, 1);
}

#[test]
fn history_item_missing_a_field_names_file_line_and_field() {
    let t = word_tokenizer();
    let path = personal("amazon_bad_field.jsonl");
    let err = load_personal_dataset(
        &path,
        &amazon_layout(),
        &t,
        &unlimited(),
        ReadOptions::default(),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, DataError::BadRow { line: 2, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{}:2: profile[1].timestamp is missing", path.display())
    );
    let (data, _) = load_personal_dataset(
        &path,
        &amazon_layout(),
        &t,
        &unlimited(),
        ReadOptions {
            skip_bad_rows: true,
        },
        None,
    )
    .unwrap();
    assert_eq!(data.lines, vec![1]);
    assert_eq!(data.report.read.skipped[0].line, 2);
}

#[test]
fn asin_missing_from_the_metadata_is_named() {
    let meta = ItemMetadata::read(&personal("amazon_meta.jsonl")).unwrap();
    let path = personal("amazon_missing_asin.jsonl");
    let err = read_amazon_jsonl(&path, &meta, ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3: profile[1].asin `A99` is not in the item metadata",
            path.display()
        )
    );
}

#[test]
fn empty_targets_and_oversized_items_are_errors_or_counted_skips() {
    let t = word_tokenizer();
    let path = personal("lamp_bad.jsonl");
    let options = PersonalOptions {
        max_prompt_length: Some(20),
        ..Default::default()
    };
    let err = load_personal_dataset(
        &path,
        &PersonalLayout::Lamp,
        &t,
        &options,
        ReadOptions::default(),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:2: target is empty after tokenization", path.display())
    );
    let (data, report) = load_personal_dataset(
        &path,
        &PersonalLayout::Lamp,
        &t,
        &options,
        ReadOptions {
            skip_bad_rows: true,
        },
        None,
    )
    .unwrap();
    assert_eq!(data.lines, vec![1]);
    assert_eq!(data.report.read.rows, 1);
    let skipped: Vec<(usize, &str)> = data
        .report
        .read
        .skipped
        .iter()
        .map(|s| (s.line, s.message.as_str()))
        .collect();
    // Row 3: 3 header words + "[Review 1]" (2) + "text:" and 40 words + "hello there" = 48.
    assert_eq!(
        skipped,
        vec![
            (2, "target is empty after tokenization"),
            (
                3,
                "history item (no id) does not fit max_prompt_length 20 even alone (prompt has 48 tokens)"
            ),
        ]
    );
    // Failed rows leave the report alone: only row 1 is counted.
    assert_eq!(report.examples, 1);
    assert_eq!(report.history_items_kept, 1);
    assert_eq!(report.history_items_dropped, 0);
    // Row 3 alone, through the encoder: the same reason as an error.
    let rows = read_lamp_jsonl(&path, ReadOptions::default()).unwrap();
    let err = PersonalEncoder::new(&t, &options)
        .encode(&rows.records[2], &mut PersonalReport::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not fit max_prompt_length 20 even alone")
    );
    // A budget below the null-history prompt (6 words) is an error too.
    let tight = PersonalOptions {
        max_prompt_length: Some(5),
        ..Default::default()
    };
    let err = PersonalEncoder::new(&t, &tight)
        .encode(&rows.records[0], &mut PersonalReport::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the null-history prompt has 6 tokens, more than max_prompt_length 5"),
        "{err}"
    );
}

#[test]
fn cache_hit_returns_identical_data_and_keys_follow_inputs() {
    let t = word_tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("meta.jsonl");
    std::fs::copy(personal("amazon_meta.jsonl"), &meta).unwrap();
    let layout = PersonalLayout::Amazon { meta: meta.clone() };
    let data_path = personal("amazon.jsonl");
    let options = PersonalOptions::default();
    let read = ReadOptions::default();
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let first =
        load_personal_dataset(&data_path, &layout, &t, &options, read, Some(&cache)).unwrap();
    let key = personal_cache_key(&data_path, &layout, &t, &options, read).unwrap();
    let file = dataset_cache_path(
        &cache,
        &data_path,
        prefopt_data::DatasetKind::Personal,
        &key,
    );
    assert!(file.is_file());
    assert!(
        file.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("amazon-personal-")
    );
    let second =
        load_personal_dataset(&data_path, &layout, &t, &options, read, Some(&cache)).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        first,
        load_personal_dataset(&data_path, &layout, &t, &options, read, None).unwrap()
    );
    let other = PersonalOptions {
        max_history_items: 2,
        ..Default::default()
    };
    assert_ne!(
        key,
        personal_cache_key(&data_path, &layout, &t, &other, read).unwrap()
    );
    let mut text = std::fs::read_to_string(&meta).unwrap();
    text.push_str("{\"asin\": \"Z\", \"title\": \"z\", \"description\": \"\"}\n");
    std::fs::write(&meta, text).unwrap();
    assert_ne!(
        key,
        personal_cache_key(&data_path, &layout, &t, &options, read).unwrap()
    );
}

#[test]
fn options_and_layouts_deserialize_like_the_config_tables() {
    let layout: PersonalLayout =
        serde_json::from_str(r#"{"layout": "amazon", "meta": "m.jsonl"}"#).unwrap();
    assert_eq!(
        layout,
        PersonalLayout::Amazon {
            meta: PathBuf::from("m.jsonl")
        }
    );
    let layout: PersonalLayout = serde_json::from_str(r#"{"layout": "lamp"}"#).unwrap();
    assert_eq!(layout, PersonalLayout::Lamp);
    let options: PersonalOptions = serde_json::from_str(r#"{"max_history_items": 4}"#).unwrap();
    assert_eq!(options.max_history_items, 4);
    assert_eq!(options.max_prompt_length, Some(2048));
    assert_eq!(options.history_header, "[User's Past Reviews]:");
    assert!(serde_json::from_str::<PersonalOptions>(r#"{"max_history": 4}"#).is_err());
    let zero = PersonalOptions {
        max_target_length: Some(0),
        ..Default::default()
    };
    assert!(matches!(zero.validate(), Err(DataError::InvalidOption(_))));
}

fn record_from(history: &[(Option<i64>, usize)]) -> PersonalRecord {
    PersonalRecord {
        user_id: "p".into(),
        prefix: vec![Field::labelled("Item Title", "thing")],
        history: history
            .iter()
            .enumerate()
            .map(|(i, &(timestamp, n))| HistoryItem {
                id: Some(format!("h{i}")),
                timestamp,
                fields: vec![Field::labelled("text", vec!["w"; n].join(" "))],
            })
            .collect(),
        suffix: vec![Field::raw("write it")],
        target: "fine words".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn kept_prompts_fit_and_are_newest_first_prefixes(
        history in prop::collection::vec((prop::option::of(0i64..20), 1usize..12), 0..12),
        budget in 4usize..80,
        max_items in 0usize..10,
    ) {
        let t = word_tokenizer();
        let record = record_from(&history);
        let options = PersonalOptions {
            max_history_items: max_items,
            max_prompt_length: Some(budget),
            ..Default::default()
        };
        let encoder = PersonalEncoder::new(&t, &options);
        let selected = select_history(&record.history, max_items);
        let length = |k: usize| {
            t.encode(&render_prompt(&record, Some(&selected[..k]), &options), true).unwrap().len()
        };
        let null = t.encode(&render_prompt(&record, None, &options), true).unwrap().len();
        let mut report = PersonalReport::default();
        match encoder.encode(&record, &mut report) {
            Ok(e) => {
                prop_assert!(e.prompt_ids.len() <= budget);
                prop_assert!(e.null_prompt_ids.len() <= budget);
                let k = e.history_items;
                prop_assert!(k <= selected.len());
                let kept = t
                    .encode(&render_prompt(&record, Some(&selected[..k]), &options), true)
                    .unwrap();
                prop_assert_eq!(&e.prompt_ids, &kept);
                // Maximal: one more (older) item would not fit.
                if k < selected.len() {
                    prop_assert!(length(k + 1) > budget);
                }
                prop_assert_eq!(report.history_items_dropped, selected.len() - k);
                let bare = record_from(&[]);
                let alone = PersonalEncoder::new(&t, &PersonalOptions::default())
                    .encode(&bare, &mut PersonalReport::default())
                    .unwrap();
                prop_assert_eq!(e.completion_ids, alone.completion_ids);
            }
            Err(_) => {
                prop_assert!(null > budget || length(selected.len().min(1)) > budget);
                prop_assert_eq!(report, PersonalReport::default());
            }
        }
    }
}

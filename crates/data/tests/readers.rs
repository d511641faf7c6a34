//! JSONL readers on every committed layout, bad rows included.

use prefopt_data::{
    Content, DataError, Message, RankedOptions, ReadOptions, UltraFeedbackScore,
    read_preference_jsonl, read_prompt_jsonl, read_ranked_jsonl, read_sft_jsonl,
};

use crate::common::jsonl;

fn text(s: &str) -> Content {
    Content::Text(s.to_string())
}

#[test]
fn standard_pairs() {
    let rows =
        read_preference_jsonl(&jsonl("pairs_standard.jsonl"), ReadOptions::default()).unwrap();
    assert_eq!(rows.records.len(), 3);
    assert_eq!(rows.records[0].prompt, text("The sky is"));
    assert_eq!(rows.records[0].chosen, text(" blue."));
    assert_eq!(rows.records[0].rejected, text(" green."));
    assert_eq!(rows.lines, vec![1, 2, 3]);
}

#[test]
fn conversational_pairs() {
    let rows = read_preference_jsonl(&jsonl("pairs_conversational.jsonl"), ReadOptions::default())
        .unwrap();
    let Content::Conversation(prompt) = &rows.records[1].prompt else {
        panic!("expected messages")
    };
    assert_eq!(prompt.len(), 4);
    assert_eq!(prompt[3], Message::new("user", "Name a fruit."));
    assert_eq!(
        rows.records[1].chosen,
        Content::Conversation(vec![Message::new("assistant", "Apple.")])
    );
}

#[test]
fn implicit_prompts_are_extracted() {
    let rows =
        read_preference_jsonl(&jsonl("pairs_implicit.jsonl"), ReadOptions::default()).unwrap();
    let r = &rows.records[0];
    assert_eq!(
        r.prompt,
        text("\n\nHuman: What is the capital of France?\n\nAssistant:")
    );
    assert_eq!(r.chosen, text(" Paris."));
    assert_eq!(r.rejected, text(" London, I think."));
    let r = &rows.records[1];
    assert_eq!(
        r.prompt,
        Content::Conversation(vec![Message::new("user", "Say hi")])
    );
    assert_eq!(
        r.rejected,
        Content::Conversation(vec![Message::new("assistant", "No.")])
    );
}

#[test]
fn bad_rows_name_file_and_line() {
    let path = jsonl("pairs_bad.jsonl");
    let err = read_preference_jsonl(&path, ReadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("pairs_bad.jsonl:2:"), "{msg}");
    assert!(msg.contains("`chosen` and `rejected`"), "{msg}");
    let rows = read_preference_jsonl(
        &path,
        ReadOptions {
            skip_bad_rows: true,
        },
    )
    .unwrap();
    assert_eq!(rows.lines, vec![1, 4]);
    let skipped: Vec<usize> = rows.report.skipped.iter().map(|s| s.line).collect();
    assert_eq!(skipped, vec![2, 3, 5]);
    assert!(rows.report.skipped[1].message.starts_with("invalid JSON"));
    assert!(
        rows.report.skipped[2]
            .message
            .contains("must all be strings or all message lists")
    );
}

#[test]
fn empty_file_is_an_error() {
    let err = read_preference_jsonl(&jsonl("empty.jsonl"), ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::EmptyDataset { .. }), "{err}");
    let err = read_preference_jsonl(&jsonl("missing.jsonl"), ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
}

#[test]
fn ranked_lists_in_both_layouts() {
    let rows = read_ranked_jsonl(
        &jsonl("ranked.jsonl"),
        ReadOptions::default(),
        RankedOptions::default(),
    )
    .unwrap();
    assert_eq!(rows.records[0].responses.len(), 3);
    assert_eq!(rows.records[0].scores, vec![1.0, 0.0, 2.0]);
    assert!(rows.records[1].prompt.is_conversation());
    // Wrong files for the layout fail with the expected layouts named.
    let err = read_ranked_jsonl(
        &jsonl("pairs_standard.jsonl"),
        ReadOptions::default(),
        RankedOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("pairs_standard.jsonl:1: missing field `responses`"),
        "{err}"
    );
    let err = read_ranked_jsonl(
        &jsonl("pairs_implicit.jsonl"),
        ReadOptions::default(),
        RankedOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("pairs_implicit.jsonl:1: expected a ranked row"),
        "{err}"
    );
}

#[test]
fn ultrafeedback_scores() {
    let path = jsonl("ultrafeedback.jsonl");
    let overall =
        read_ranked_jsonl(&path, ReadOptions::default(), RankedOptions::default()).unwrap();
    assert_eq!(overall.records[0].scores, vec![7.5, 3.0, 9.0]);
    assert_eq!(overall.records[1].scores, vec![10.0, 2.0]);
    assert_eq!(overall.records[0].prompt, text("Write a haiku about rain."));
    let fine = RankedOptions {
        ultrafeedback_score: UltraFeedbackScore::FineGrainedMean,
        ultrafeedback_as_chat: true,
    };
    let fine = read_ranked_jsonl(&path, ReadOptions::default(), fine).unwrap();
    // Means of the four aspect ratings; "N/A" is left out: (1 + 3 + 2) / 3 = 2.
    assert_eq!(fine.records[0].scores, vec![4.5, 2.0, 5.0]);
    assert_eq!(fine.records[1].scores, vec![5.0, 1.75]);
    assert_eq!(
        fine.records[0].responses[1],
        Content::Conversation(vec![Message::new("assistant", "Rain.")])
    );
}

#[test]
fn sft_layouts() {
    let rows = read_sft_jsonl(&jsonl("sft.jsonl"), ReadOptions::default()).unwrap();
    assert_eq!(rows.records.len(), 4);
    assert_eq!(
        rows.records[0].prompt,
        Some(text("The capital of Italy is"))
    );
    assert!(rows.records[1].completion.is_conversation());
    assert_eq!(rows.records[2].prompt, None);
    assert_eq!(rows.records[3].completion, text("Just some text to model."));
}

#[test]
fn prompt_only() {
    let rows = read_prompt_jsonl(&jsonl("prompts.jsonl"), ReadOptions::default()).unwrap();
    assert_eq!(rows.records[0].prompt, text("Write a poem about the sea."));
    assert!(rows.records[1].prompt.is_conversation());
}

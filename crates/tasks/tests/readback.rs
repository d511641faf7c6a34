//! What this crate writes, read back by prefopt-data's readers and tokenized with the
//! trained tokenizer.

use prefopt_data::{
    Content, DatasetOptions, RankedOptions, ReadOptions, Tokenizer, load_preference_dataset,
    load_prompt_dataset, load_ranked_dataset, load_sft_dataset, read_preference_jsonl,
    read_prompt_jsonl, read_ranked_jsonl, read_sft_jsonl,
};
use prefopt_tasks::{
    DemoSizes, PairOptions, PairStrategy, ReviewGrammar, ScoredPrompt, generate_reviews,
    preference_pairs, prepare, write_preference_jsonl, write_ranked_jsonl, write_sft_jsonl,
};

fn text(content: &Content) -> &str {
    match content {
        Content::Text(s) => s,
        Content::Conversation(_) => panic!("expected plain text"),
    }
}

/// K = 4 "samples" per prompt, taken from the grammar's own completions.
fn scored(prompts: &[String], seed: u64) -> Vec<ScoredPrompt> {
    let reviews = generate_reviews(&ReviewGrammar::default(), seed, 4 * prompts.len()).unwrap();
    prompts
        .iter()
        .zip(reviews.chunks(4))
        .map(|(p, chunk)| {
            ScoredPrompt::score(
                p.clone(),
                chunk.iter().map(|r| r.completion.clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn sft_and_prompt_files_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = DemoSizes {
        sft_examples: 300,
        prompts: 20,
        vocab_size: 512,
    };
    let files = prepare(dir.path(), 1, &sizes).unwrap();
    let reviews = generate_reviews(&ReviewGrammar::default(), 1, 300).unwrap();
    let rows = read_sft_jsonl(&files.sft, ReadOptions::default()).unwrap();
    assert_eq!(rows.records.len(), 300);
    for (record, review) in rows.records.iter().zip(&reviews) {
        assert_eq!(text(record.prompt.as_ref().unwrap()), review.prompt);
        assert_eq!(text(&record.completion), review.completion);
    }
    let prompts = read_prompt_jsonl(&files.prompts, ReadOptions::default()).unwrap();
    assert_eq!(prompts.records.len(), 20);

    // Through the tokenizer: every row kept, completions end with EOS, prompts with BOS.
    let tokenizer = Tokenizer::from_dir(&files.model_dir).unwrap();
    let eos = tokenizer.eos().unwrap().id;
    let bos = tokenizer.bos().unwrap().id;
    let options = DatasetOptions::default();
    let sft = load_sft_dataset(&files.sft, &tokenizer, &options, None).unwrap();
    assert_eq!(sft.len(), 300);
    for example in &sft.examples {
        assert_eq!(example.prompt_ids[0], bos);
        assert_eq!(*example.completion_ids.last().unwrap(), eos);
        assert!(example.prompt_ids.len() + example.completion_ids.len() <= files.max_sft_tokens);
    }
    let prompt_set = load_prompt_dataset(&files.prompts, &tokenizer, &options, None).unwrap();
    assert_eq!(prompt_set.len(), 20);
}

#[test]
fn preference_and_ranked_files_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let files = prepare(
        &dir.path().join("task"),
        2,
        &DemoSizes {
            sft_examples: 300,
            prompts: 30,
            vocab_size: 512,
        },
    )
    .unwrap();
    let prompts: Vec<String> = read_prompt_jsonl(&files.prompts, ReadOptions::default())
        .unwrap()
        .records
        .iter()
        .map(|r| text(&r.prompt).to_string())
        .collect();
    let items = scored(&prompts, 5);
    let tokenizer = Tokenizer::from_dir(&files.model_dir).unwrap();
    let options = DatasetOptions::default();

    for strategy in [PairStrategy::BestVsWorst, PairStrategy::AllPairs] {
        let pairs = preference_pairs(
            &items,
            &PairOptions {
                strategy,
                min_margin: 0.0,
            },
        );
        assert!(!pairs.is_empty());
        let path = dir.path().join(format!("pairs_{strategy:?}.jsonl"));
        assert_eq!(write_preference_jsonl(&path, &pairs).unwrap(), pairs.len());
        let rows = read_preference_jsonl(&path, ReadOptions::default()).unwrap();
        assert_eq!(rows.records.len(), pairs.len());
        for (record, pair) in rows.records.iter().zip(&pairs) {
            assert_eq!(text(&record.prompt), pair.prompt);
            assert_eq!(text(&record.chosen), pair.chosen);
            assert_eq!(text(&record.rejected), pair.rejected);
            assert!(pair.chosen_score > pair.rejected_score);
        }
        let data = load_preference_dataset(&path, &tokenizer, &options, None).unwrap();
        assert_eq!(data.len(), pairs.len());
    }

    let path = dir.path().join("lists.jsonl");
    let written = write_ranked_jsonl(&path, &items).unwrap();
    let with_spread: Vec<&ScoredPrompt> = items.iter().filter(|i| i.has_spread()).collect();
    assert_eq!(written, with_spread.len());
    assert!(written > 0);
    let rows = read_ranked_jsonl(&path, ReadOptions::default(), RankedOptions::default()).unwrap();
    for (record, item) in rows.records.iter().zip(&with_spread) {
        assert_eq!(text(&record.prompt), item.prompt);
        let responses: Vec<&str> = record.responses.iter().map(text).collect();
        assert_eq!(responses, item.completions);
        let expected: Vec<f32> = item.rewards.iter().map(|&r| r as f32).collect();
        assert_eq!(record.scores, expected);
    }
    let lists = load_ranked_dataset(&path, &tokenizer, &options, None).unwrap();
    assert_eq!(lists.len(), written);
    assert!(lists.examples.iter().all(|l| l.response_ids.len() == 4));
}

#[test]
fn sft_writer_creates_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/sft.jsonl");
    let reviews = generate_reviews(&ReviewGrammar::default(), 0, 3).unwrap();
    assert_eq!(write_sft_jsonl(&path, &reviews).unwrap(), 3);
    let body = std::fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["prompt", "completion"]);
}

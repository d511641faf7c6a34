//! Tokenized data sets: EOS handling, truncation counts, caching, batches.

use prefopt_data::{
    CacheLookup, Collator, DatasetKind, DatasetOptions, PadSide, ReadOptions, TokenizedPair,
    Truncation, TruncationMode, dataset_cache_key, dataset_cache_path, load_preference_dataset,
    load_prompt_dataset, load_ranked_dataset, load_sft_dataset, read_cache,
};

use crate::common::{jsonl, tiny_tokenizer};

fn limited(max_length: usize, mode: TruncationMode) -> DatasetOptions {
    DatasetOptions {
        truncation: Truncation {
            max_length: Some(max_length),
            mode,
        },
        ..Default::default()
    }
}

#[test]
fn text_completions_end_with_exactly_one_eos() {
    let t = tiny_tokenizer();
    let eos = t.eos().unwrap().id;
    let data = load_preference_dataset(
        &jsonl("pairs_standard.jsonl"),
        &t,
        &DatasetOptions::default(),
        None,
    )
    .unwrap();
    for e in &data.examples {
        assert_eq!(e.prompt_ids[0], t.bos().unwrap().id);
        for c in [&e.chosen_ids, &e.rejected_ids] {
            assert_eq!(c.last(), Some(&eos));
            assert_eq!(c.iter().filter(|&&x| x == eos).count(), 1);
        }
    }
}

#[test]
fn truncation_drops_long_prompts_and_counts_cut_rows() {
    let t = tiny_tokenizer();
    let full = load_preference_dataset(
        &jsonl("pairs_standard.jsonl"),
        &t,
        &DatasetOptions::default(),
        None,
    )
    .unwrap();
    let prompt_lens: Vec<usize> = full.examples.iter().map(|e| e.prompt_ids.len()).collect();
    assert_eq!(prompt_lens, vec![10, 28, 8]);
    // max_length 12: example 2 (prompt 28) is dropped; rows longer than 12 are counted:
    // ex 1: 10+7, 10+8 both cut; ex 3: 8+3, 8+3 both fit.
    let data = load_preference_dataset(
        &jsonl("pairs_standard.jsonl"),
        &t,
        &limited(12, TruncationMode::KeepStart),
        None,
    )
    .unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data.lines, vec![1, 3]);
    assert_eq!(data.report.tokenize.truncation.dropped_long_prompt, 1);
    assert_eq!(data.report.tokenize.truncation.truncated_rows, 2);
    // Keep-end drops nothing.
    let data = load_preference_dataset(
        &jsonl("pairs_standard.jsonl"),
        &t,
        &limited(12, TruncationMode::KeepEnd),
        None,
    )
    .unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(data.report.tokenize.truncation.dropped_long_prompt, 0);
    assert_eq!(data.report.tokenize.truncation.truncated_rows, 4);
    // Every prompt too long: an empty data set is an error that says why.
    let err = load_preference_dataset(
        &jsonl("pairs_standard.jsonl"),
        &t,
        &limited(3, TruncationMode::KeepStart),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("3 dropped because the prompt alone reached max_length"),
        "{err}"
    );
}

#[test]
fn pair_batches_follow_trl_layout() {
    let t = tiny_tokenizer();
    let data = load_preference_dataset(
        &jsonl("pairs_standard.jsonl"),
        &t,
        &DatasetOptions::default(),
        None,
    )
    .unwrap();
    let refs: Vec<&TokenizedPair> = data.examples.iter().collect();
    let pad = t.pad().unwrap().id;
    let batch = Collator::new(pad).pairs(&refs).unwrap();
    assert_eq!(batch.rows, 6);
    let lengths = batch.row_lengths();
    for (i, e) in data.examples.iter().enumerate() {
        assert_eq!(lengths[i], e.prompt_ids.len() + e.chosen_ids.len());
        assert_eq!(lengths[i + 3], e.prompt_ids.len() + e.rejected_ids.len());
        let row = &batch.input_ids[(i + 3) * batch.seq_len..][..lengths[i + 3]];
        assert_eq!(&row[e.prompt_ids.len()..], e.rejected_ids.as_slice());
        let comp = &batch.completion_mask[(i + 3) * batch.seq_len..][..batch.seq_len];
        assert_eq!(comp.iter().filter(|&&m| m).count(), e.rejected_ids.len());
    }
    assert_eq!(batch.seq_len, *lengths.iter().max().unwrap());
}

#[test]
fn ragged_ranked_lists_batch_with_a_mask() {
    let t = tiny_tokenizer();
    let data =
        load_ranked_dataset(&jsonl("ranked.jsonl"), &t, &DatasetOptions::default(), None).unwrap();
    let refs: Vec<_> = data.examples.iter().collect();
    let batch = Collator::new(t.pad().unwrap().id)
        .lists(&refs, None)
        .unwrap();
    assert_eq!((batch.tokens.rows, batch.list_size), (6, 3));
    assert_eq!(batch.list_mask, vec![true, true, true, true, true, false]);
    assert_eq!(batch.scores, vec![1.0, 0.0, 2.0, 0.9, 0.1, 0.0]);
    // Conversational responses end with the template's turn end, not an added EOS.
    let im_end = t.token_to_id("<|im_end|>").unwrap();
    assert_eq!(
        data.examples[1].response_ids[0].iter().rev().nth(1),
        Some(&im_end)
    );
}

#[test]
fn sft_and_prompt_sets() {
    let t = tiny_tokenizer();
    let sft = load_sft_dataset(&jsonl("sft.jsonl"), &t, &DatasetOptions::default(), None).unwrap();
    assert_eq!(sft.len(), 4);
    assert!(!sft.examples[0].prompt_ids.is_empty());
    assert!(sft.examples[2].prompt_ids.is_empty() && sft.examples[3].prompt_ids.is_empty());
    assert_eq!(
        sft.examples[3].completion_ids.first(),
        Some(&t.bos().unwrap().id)
    );
    assert_eq!(
        sft.examples[3].completion_ids.last(),
        Some(&t.eos().unwrap().id)
    );
    let prompts = load_prompt_dataset(
        &jsonl("prompts.jsonl"),
        &t,
        &DatasetOptions::default(),
        None,
    )
    .unwrap();
    let refs: Vec<_> = prompts.examples.iter().collect();
    let batch = Collator::new(0)
        .with_pad_side(PadSide::Left)
        .prompts(&refs)
        .unwrap();
    // Left padding: every row ends at the last column with its prompt's last token;
    // the conversational prompt ends with the generation header "<|im_start|>assistant\n".
    let last = |r: usize| batch.input_ids[(r + 1) * batch.seq_len - 1];
    assert_eq!(last(0), *prompts.examples[0].prompt_ids.last().unwrap());
    let header = t.encode("<|im_start|>assistant\n", false).unwrap();
    assert!(prompts.examples[1].prompt_ids.ends_with(&header));
    assert_eq!(last(1), *header.last().unwrap());
}

#[test]
fn cache_is_used_and_invalidated() {
    let t = tiny_tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("pairs.jsonl");
    std::fs::copy(jsonl("pairs_standard.jsonl"), &data_path).unwrap();
    let options = DatasetOptions::default();
    let first = load_preference_dataset(&data_path, &t, &options, Some(dir.path())).unwrap();
    let key = dataset_cache_key(&data_path, &t, DatasetKind::Preference, &options).unwrap();
    let cache_file = dataset_cache_path(dir.path(), &data_path, DatasetKind::Preference, &key);
    let cached =
        read_cache::<prefopt_data::TokenizedDataset<TokenizedPair>>(&cache_file, &key).unwrap();
    assert_eq!(cached, CacheLookup::Hit(first.clone()));
    // Options and data bytes are part of the key.
    let other = DatasetOptions {
        read: ReadOptions {
            skip_bad_rows: true,
        },
        ..options
    };
    assert_ne!(
        key,
        dataset_cache_key(&data_path, &t, DatasetKind::Preference, &other).unwrap()
    );
    assert_ne!(
        key,
        dataset_cache_key(&data_path, &t, DatasetKind::Ranked, &options).unwrap()
    );
    std::fs::write(
        &data_path,
        "{\"prompt\": \"a\", \"chosen\": \" b\", \"rejected\": \" c\"}\n",
    )
    .unwrap();
    let changed = load_preference_dataset(&data_path, &t, &options, Some(dir.path())).unwrap();
    assert_eq!(changed.len(), 1);
    // A corrupted cache file is rebuilt, not used.
    let key = dataset_cache_key(&data_path, &t, DatasetKind::Preference, &options).unwrap();
    let cache_file = dataset_cache_path(dir.path(), &data_path, DatasetKind::Preference, &key);
    let mut bytes = std::fs::read(&cache_file).unwrap();
    let mid = bytes.len() / 2 + 40;
    bytes[mid] ^= 0xFF;
    std::fs::write(&cache_file, &bytes).unwrap();
    assert!(matches!(
        read_cache::<prefopt_data::TokenizedDataset<TokenizedPair>>(&cache_file, &key).unwrap(),
        CacheLookup::Miss(prefopt_data::CacheMiss::Corrupt(_))
    ));
    let rebuilt = load_preference_dataset(&data_path, &t, &options, Some(dir.path())).unwrap();
    assert_eq!(rebuilt, changed);
    assert!(matches!(
        read_cache::<prefopt_data::TokenizedDataset<TokenizedPair>>(&cache_file, &key).unwrap(),
        CacheLookup::Hit(_)
    ));
}

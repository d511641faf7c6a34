//! The trained tokenizer, loaded by prefopt-data.

use prefopt_data::Tokenizer;
use prefopt_tasks::{
    BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, ReviewGrammar, TokenizerTrainingConfig, generate_reviews,
    sentiment::lexicon::{NEGATIVE, POSITIVE},
    train_tokenizer,
};
use proptest::prelude::*;

fn trained() -> (
    tempfile::TempDir,
    prefopt_tasks::TrainedTokenizer,
    Vec<String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let texts: Vec<String> = generate_reviews(&ReviewGrammar::default(), 4, 2000)
        .unwrap()
        .iter()
        .map(|r| r.text())
        .collect();
    let trained = train_tokenizer(
        texts.iter().map(String::as_str),
        &TokenizerTrainingConfig::default(),
        dir.path(),
    )
    .unwrap();
    (dir, trained, texts)
}

#[test]
fn loaded_by_prefopt_data_with_special_tokens() {
    let (dir, trained, texts) = trained();
    let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();
    assert_eq!(tokenizer.vocab_size(), trained.vocab_size);
    assert!(trained.vocab_size <= 1024 && trained.vocab_size > 259);
    assert_eq!(tokenizer.bos().unwrap().text, BOS_TOKEN);
    assert_eq!(tokenizer.eos().unwrap().text, EOS_TOKEN);
    assert_eq!(tokenizer.pad().unwrap().text, PAD_TOKEN);
    let ids = [
        tokenizer.bos().unwrap().id,
        tokenizer.eos().unwrap().id,
        tokenizer.pad().unwrap().id,
    ];
    assert_eq!(
        ids,
        [
            trained.special.bos,
            trained.special.eos,
            trained.special.pad
        ]
    );
    assert_eq!(ids, [0, 1, 2]);
    assert_eq!(tokenizer.stop_token_ids(), [1]);

    for line in texts.iter().take(200) {
        let ids = tokenizer.encode(line, true).unwrap();
        assert_eq!(ids[0], 0, "BOS first");
        assert_eq!(tokenizer.decode(&ids, true).unwrap(), *line);
        // With special tokens kept, the text is BOS + line.
        assert_eq!(
            tokenizer.decode(&ids, false).unwrap(),
            format!("{BOS_TOKEN}{line}")
        );
    }
}

#[test]
fn lexicon_words_are_single_tokens() {
    // A closed vocabulary and ~1000 merges: each sentiment word after a space is one
    // token, so the model chooses sentiment in one step.
    let (dir, _, texts) = trained();
    let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();
    let corpus = texts.join("\n");
    for (word, _) in POSITIVE.iter().chain(NEGATIVE) {
        if corpus.matches(&format!(" {word}")).count() >= 20 {
            let ids = tokenizer.encode(&format!(" {word}"), false).unwrap();
            assert_eq!(ids.len(), 1, "{word} → {ids:?}");
        }
    }
}

#[test]
fn too_small_a_vocabulary_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config = TokenizerTrainingConfig {
        vocab_size: 100,
        ..Default::default()
    };
    assert!(train_tokenizer(["a b c"], &config, dir.path()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_text_round_trips(text in any::<String>()) {
        // byte-level BPE: nothing is unknown, whatever a model emits
        static DIR: std::sync::OnceLock<(tempfile::TempDir, Tokenizer)> = std::sync::OnceLock::new();
        let (_, tokenizer) = DIR.get_or_init(|| {
            let (dir, _, _) = trained();
            let tokenizer = Tokenizer::from_dir(dir.path()).unwrap();
            (dir, tokenizer)
        });
        let ids = tokenizer.encode(&text, false).unwrap();
        prop_assert_eq!(tokenizer.decode(&ids, false).unwrap(), text);
    }
}

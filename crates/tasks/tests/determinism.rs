//! Same seed → same reviews and byte-identical files; another seed → other files.

use std::collections::BTreeMap;
use std::path::Path;

use prefopt_tasks::{DemoSizes, ReviewGrammar, generate_reviews, prepare};

const SMALL: DemoSizes = DemoSizes {
    sft_examples: 600,
    prompts: 24,
    vocab_size: 512,
};

/// Every file below `dir`, by relative path, with its bytes.
pub(crate) fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn grammar_is_a_function_of_the_seed() {
    let grammar = ReviewGrammar::default();
    let a = generate_reviews(&grammar, 42, 300).unwrap();
    let b = generate_reviews(&grammar, 42, 300).unwrap();
    let c = generate_reviews(&grammar, 43, 300).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    // A shorter corpus is a prefix of a longer one with the same seed.
    assert_eq!(generate_reviews(&grammar, 42, 100).unwrap(), a[..100]);
}

#[test]
fn prepare_is_byte_identical_for_a_seed() {
    let (one, two, other) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = prepare(one.path(), 9, &SMALL).unwrap();
    let b = prepare(two.path(), 9, &SMALL).unwrap();
    prepare(other.path(), 10, &SMALL).unwrap();
    let (fa, fb, fc) = (files(one.path()), files(two.path()), files(other.path()));
    let names: Vec<&str> = fa.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "corpus_stats.json",
            "model/config.json",
            "model/generation_config.json",
            "model/special_tokens_map.json",
            "model/tokenizer.json",
            "model/tokenizer_config.json",
            "prompts.jsonl",
            "sft.jsonl",
        ]
    );
    assert_eq!(fa, fb, "two runs with seed 9 differ");
    assert_eq!(a.tokenizer.vocab_size, b.tokenizer.vocab_size);
    assert_ne!(fa["sft.jsonl"], fc["sft.jsonl"]);
    assert_ne!(fa["prompts.jsonl"], fc["prompts.jsonl"]);
}

//! Fixture paths and the tiny tokenizer.

use std::path::PathBuf;

use prefopt_data::Tokenizer;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn jsonl(name: &str) -> PathBuf {
    fixtures().join("jsonl").join(name)
}

/// The tiny byte-level BPE of `scripts/make_tiny_tokenizer.py`.
pub fn tiny_tokenizer() -> Tokenizer {
    Tokenizer::from_dir(&fixtures().join("tiny_tokenizer")).expect("fixture tokenizer loads")
}

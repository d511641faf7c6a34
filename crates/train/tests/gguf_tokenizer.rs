//! A `.gguf` file as the model path: the run's tokenizer comes from its metadata, and the HF
//! tokenizer files written next to a trained model give the same tokenizer.

use std::path::PathBuf;

use prefopt_train::{copy_tokenizer_files, load_tokenizer};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/tests/fixtures/gguf")
        .join(name)
}

#[test]
fn a_gguf_path_gives_the_tokenizer_and_its_hf_files() {
    let text = "Hello  world, 123 — ünïcode\n\tend";
    for name in ["bpe.gguf", "spm.gguf"] {
        let gguf = fixture(name);
        let from_gguf = load_tokenizer(&gguf, None).unwrap();
        let out = tempfile::tempdir().unwrap();
        copy_tokenizer_files(&gguf, out.path()).unwrap();
        assert!(out.path().join("tokenizer.json").is_file(), "{name}");
        let from_files = load_tokenizer(out.path(), None).unwrap();
        let ids = from_gguf.encode(text, true).unwrap();
        assert!(!ids.is_empty(), "{name}");
        assert_eq!(ids, from_files.encode(text, true).unwrap(), "{name}");
        assert_eq!(from_gguf.vocab_size(), from_files.vocab_size(), "{name}");
    }
}

#[test]
fn a_file_that_is_not_gguf_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("model.gguf");
    std::fs::write(&bogus, b"not a gguf").unwrap();
    let err = load_tokenizer(&bogus, None).unwrap_err().to_string();
    assert!(err.contains("model.gguf"), "{err}");
}

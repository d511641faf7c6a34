//! Tokenizers built from GGUF metadata against transformers' tokenizer of the same files
//! (`scripts/make_gguf_tokenizer.py`), the HF files they write, and bad files.

use std::path::{Path, PathBuf};

use prefopt_data::{GgufTokenizerFiles, Message, Tokenizer};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gguf")
        .join(name)
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("reference.json")).unwrap()).unwrap()
}

fn ids(v: &serde_json::Value) -> Vec<Vec<u32>> {
    serde_json::from_value(v.clone()).unwrap()
}

fn conversation(reference: &serde_json::Value) -> Vec<Message> {
    serde_json::from_value(reference["conversation"].clone()).unwrap()
}

/// Checks `tokenizer` against transformers' `entry` (ids with and without special tokens,
/// decoded texts, special tokens, vocabulary size, the rendered `conversation`).
fn check_entry(
    name: &str,
    tokenizer: &Tokenizer,
    texts: &[String],
    entry: &serde_json::Value,
    conversation: &[Message],
) {
    let with = ids(&entry["ids"]);
    let without = ids(&entry["ids_no_special"]);
    let decoded: Vec<String> = serde_json::from_value(entry["decoded"].clone()).unwrap();
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(
            tokenizer.encode(text, true).unwrap(),
            with[i],
            "{name}: {text:?}"
        );
        assert_eq!(
            tokenizer.encode(text, false).unwrap(),
            without[i],
            "{name}: {text:?} without special tokens"
        );
        assert_eq!(
            tokenizer.decode(&without[i], false).unwrap(),
            decoded[i],
            "{name}: decode {text:?}"
        );
    }
    let special = &entry["special_tokens"];
    let text_of = |t: Option<&prefopt_data::SpecialToken>| t.map(|t| t.text.clone());
    assert_eq!(
        text_of(tokenizer.bos()).as_deref(),
        special["bos_token"].as_str()
    );
    assert_eq!(
        text_of(tokenizer.eos()).as_deref(),
        special["eos_token"].as_str()
    );
    assert_eq!(
        text_of(tokenizer.unk()).as_deref(),
        special["unk_token"].as_str()
    );
    if let Some(pad) = special["pad_token"].as_str() {
        assert_eq!(text_of(tokenizer.pad()).as_deref(), Some(pad));
    }
    assert_eq!(
        tokenizer.vocab_size() as u64,
        entry["vocab_size"].as_u64().unwrap()
    );
    assert_eq!(
        tokenizer.apply_chat_template(conversation, true).unwrap(),
        entry["chat"].as_str().unwrap(),
        "{name}: chat template"
    );
}

fn check(name: &str, tokenizer: &Tokenizer, reference: &serde_json::Value) {
    let texts: Vec<String> = serde_json::from_value(reference["texts"].clone()).unwrap();
    let entry = &reference["files"][name];
    check_entry(name, tokenizer, &texts, entry, &conversation(reference));
}

#[test]
fn encodings_equal_transformers_on_the_text_set() {
    let reference = reference();
    for name in ["bpe.gguf", "bpe_llama3.gguf", "spm.gguf"] {
        let tokenizer = Tokenizer::from_gguf(&fixture(name)).unwrap();
        check(name, &tokenizer, &reference);
    }
}

#[test]
fn written_hf_files_give_the_same_tokenizer() {
    let reference = reference();
    for name in ["bpe.gguf", "spm.gguf"] {
        let file = prefopt_gguf::GgufFile::open(fixture(name)).unwrap();
        let files = GgufTokenizerFiles::from_gguf(&file).unwrap();
        let dir = tempfile::tempdir().unwrap();
        files.write(dir.path()).unwrap();
        let from_dir = Tokenizer::load(dir.path()).unwrap();
        check(name, &from_dir, &reference);
        let from_gguf = Tokenizer::load(&fixture(name)).unwrap();
        assert_eq!(from_dir.fingerprint(), from_gguf.fingerprint(), "{name}");
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("tokenizer_config.json")).unwrap(),
        )
        .unwrap();
        assert!(
            config["chat_template"]
                .as_str()
                .unwrap()
                .contains("im_start")
                || name == "spm.gguf"
        );
    }
}

/// A copy of fixture `name` with `edit` applied.
fn patched(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> (tempfile::TempDir, PathBuf) {
    prefopt_testkit::patched_copy(&fixture(name), edit)
}

fn value_at(bytes: &[u8], key: &str) -> usize {
    prefopt_testkit::find_bytes(bytes, key.as_bytes()) + key.len() + 4
}

fn error(path: &Path) -> String {
    match Tokenizer::from_gguf(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn vocab_size_that_does_not_match_the_token_list() {
    let (_dir, path) = patched("bpe.gguf", |b| {
        let at = value_at(b, "llama.vocab_size");
        b[at..at + 4].copy_from_slice(&300u32.to_le_bytes());
    });
    let err = error(&path);
    assert!(
        err.contains("does not match") && err.contains("295 tokens") && err.contains("300"),
        "{err}"
    );
}

#[test]
fn unsupported_tokenizer_model() {
    let (_dir, path) = patched("bpe.gguf", |b| {
        let at = value_at(b, "tokenizer.ggml.model") + 8;
        b[at..at + 4].copy_from_slice(b"bert");
    });
    let err = error(&path);
    assert!(
        err.contains("tokenizer.ggml.model") && err.contains("bert"),
        "{err}"
    );
}

#[test]
fn special_token_id_outside_the_vocabulary() {
    let (_dir, path) = patched("bpe.gguf", |b| {
        let at = value_at(b, "tokenizer.ggml.bos_token_id");
        b[at..at + 4].copy_from_slice(&5000u32.to_le_bytes());
    });
    let err = error(&path);
    assert!(
        err.contains("tokenizer.ggml.bos_token_id") && err.contains("5000"),
        "{err}"
    );
}

#[test]
fn not_a_gguf_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.gguf");
    std::fs::write(&path, b"not a gguf at all").unwrap();
    let err = Tokenizer::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("not a GGUF file") && err.contains("x.gguf"),
        "{err}"
    );
}

/// The fetched SmolLM2 GGUF, or `None` after saying how to fetch it.
fn smollm2() -> Option<PathBuf> {
    prefopt_testkit::fetched_model(
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "the SmolLM2 GGUF tokenizer test",
    )
}

#[test]
fn smollm2_tokenizer_equals_transformers() {
    let Some(path) = smollm2() else { return };
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("smollm2_reference.json")).unwrap())
            .unwrap();
    let texts: Vec<String> = serde_json::from_value(reference["texts"].clone()).unwrap();
    let tokenizer = Tokenizer::from_gguf(&path).unwrap();
    check_entry(
        "SmolLM2",
        &tokenizer,
        &texts,
        &reference,
        &conversation(&reference),
    );
    let without: Vec<Message> =
        serde_json::from_value(reference["conversation_without_system"].clone()).unwrap();
    assert_eq!(
        tokenizer.apply_chat_template(&without, true).unwrap(),
        reference["chat_without_system"].as_str().unwrap()
    );
    assert_eq!(tokenizer.stop_token_ids(), [2]);
    // The files `prefopt convert` writes give the same tokenizer.
    let dir = tempfile::tempdir().unwrap();
    GgufTokenizerFiles::from_path(&path)
        .unwrap()
        .write(dir.path())
        .unwrap();
    let from_dir = Tokenizer::from_dir(dir.path()).unwrap();
    check_entry(
        "SmolLM2 (HF files)",
        &from_dir,
        &texts,
        &reference,
        &conversation(&reference),
    );
    assert_eq!(from_dir.fingerprint(), tokenizer.fingerprint());
}

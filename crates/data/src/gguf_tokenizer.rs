//! A tokenizer from GGUF metadata: the `tokenizer.ggml.*` keys and `tokenizer.chat_template`
//! rebuilt into the `tokenizer.json` and `tokenizer_config.json` a Hugging Face checkpoint
//! would carry, then loaded like any other tokenizer.
//!
//! The translation follows transformers' GGUF converter (5.24,
//! `integrations/gguf/gguf_tokenizer_mapping.py`), the oracle the tests compare encodings
//! with, in two places more faithful to llama.cpp, the runtime GGUF files are made for:
//!
//! | `tokenizer.ggml.model` | what is built |
//! |---|---|
//! | `gpt2` (byte-level BPE) | BPE over the file's vocabulary (tokens outside the GPT-2 byte alphabet respelled from their UTF-8 bytes) and merges; the pre-tokenizer of `tokenizer.ggml.pre` (Llama 3, Qwen2, Qwen3.5, Tekken, GPT-4o split regexes + byte level, or plain GPT-2 byte level for `default`/`gpt-2`/`smollm`/...); `ignore_merges` for the Llama 3 family (as Llama 3's own `tokenizer.json` and llama.cpp do; transformers 5.24 leaves it off) |
//! | `llama` (SentencePiece BPE) | BPE with byte fallback; merges from the file, or derived from the piece scores as transformers' `generate_merges` does; `Metaspace` pre-tokenizer (no prefix space when `tokenizer.ggml.add_space_prefix` is false, which transformers 5.24 ignores) |
//!
//! CONTROL tokens (type 3; for byte-level vocabularies only those spelled in the byte
//! alphabet, as transformers does), the unknown token (type 2) and the BOS/EOS/UNK/PAD tokens
//! become special added tokens; USER_DEFINED tokens (type 4) plain added tokens, so both are
//! matched whole. BOS/EOS are added by the post-processor when `add_bos_token` /
//! `add_eos_token` say so (BOS defaults on for `llama` vocabularies and the Llama 3 family).
//! A `tokenizer.huggingface.json` key, when present, is used verbatim.

use std::collections::HashMap;
use std::path::Path;

use prefopt_gguf::GgufFile;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::chat_template::templates_from_config;
use crate::error::{DataError, Result};
use crate::tokenizer::{Tokenizer, hash_file};

/// Token types of `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`).
const TYPE_UNKNOWN: i64 = 2;
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;

/// The `tokenizer.ggml.model` values this module builds.
pub const SUPPORTED_GGUF_TOKENIZERS: &[&str] = &["gpt2", "llama"];

const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN35_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const TEKKEN_SPLIT: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT4O_SPLIT: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// `tokenizer.ggml.pre` ids whose merges were learned on Llama 3's split (transformers'
/// `GGUF_PRE_TOKENIZER_SPLITS`); llama.cpp also adds BOS and ignores merges for them.
const LLAMA3_FAMILY: &[&str] = &[
    "llama3",
    "llama-v3",
    "llama-bpe",
    "falcon3",
    "falcon-h1",
    "pixtral",
    "midm-2.0",
    "lfm2",
    "jina-v5-nano",
    "dbrx",
    "smaug-bpe",
];

/// `tokenizer.ggml.pre` ids that use GPT-2's own byte-level regex (transformers' fallback).
const GPT2_REGEX_PRE: &[&str] = &["default", "gpt-2", "gpt2", "smollm", "starcoder", "refact"];

/// The split regex of a pre-tokenizer id; `Ok(None)` = GPT-2's byte-level regex.
fn split_regex(pre: Option<&str>) -> Result<Option<&'static str>> {
    let Some(pre) = pre else {
        tracing::warn!("GGUF tokenizer has no tokenizer.ggml.pre; using GPT-2's split regex");
        return Ok(None);
    };
    if LLAMA3_FAMILY.contains(&pre) {
        return Ok(Some(LLAMA3_SPLIT));
    }
    Ok(match pre {
        "tekken" => Some(TEKKEN_SPLIT),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "megrez" => Some(QWEN2_SPLIT),
        "qwen35" => Some(QWEN35_SPLIT),
        "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => Some(GPT4O_SPLIT),
        p if GPT2_REGEX_PRE.contains(&p) => None,
        other => {
            return Err(DataError::Tokenizer(format!(
                "tokenizer.ggml.pre `{other}` is not a pre-tokenizer this build knows (known: \
                 {}, tekken, qwen2, qwen35, gpt-4o, {})",
                LLAMA3_FAMILY.join(", "),
                GPT2_REGEX_PRE.join(", ")
            )));
        }
    })
}

/// GPT-2's reversible byte → printable character map (`bytes_to_unicode`).
fn bytes_to_unicode() -> [char; 256] {
    let mut out = ['\0'; 256];
    let printable = |b: u32| {
        (u32::from(b'!')..=u32::from(b'~')).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b)
    };
    let mut next = 256u32;
    for b in 0..256u32 {
        let c = if printable(b) {
            b
        } else {
            next += 1;
            next - 1
        };
        out[b as usize] = char::from_u32(c).unwrap_or('\0');
    }
    out
}

/// The two files of an HF tokenizer, built from a GGUF's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufTokenizerFiles {
    /// The `tokenizer.json` document.
    pub tokenizer_json: Value,
    /// The `tokenizer_config.json` document: special tokens, `add_bos_token`/`add_eos_token`,
    /// the chat template(s).
    pub tokenizer_config: Value,
}

fn gguf_error(e: prefopt_gguf::GgufError) -> DataError {
    DataError::Tokenizer(e.to_string())
}

struct Vocab<'a> {
    file: &'a GgufFile,
    tokens: &'a [String],
    types: Vec<i64>,
}

impl Vocab<'_> {
    fn fail(&self, message: String) -> DataError {
        DataError::Tokenizer(format!("{}: {message}", self.file.path().display()))
    }

    /// The text of the token whose id is stored under `tokenizer.ggml.{key}`.
    fn special(&self, key: &str) -> Result<Option<(u32, String)>> {
        let full = format!("tokenizer.ggml.{key}");
        let Some(id) = self.file.get_u64(&full).map_err(gguf_error)? else {
            return Ok(None);
        };
        let token = self.tokens.get(id as usize).ok_or_else(|| {
            self.fail(format!(
                "`{full}` = {id} is outside the vocabulary of {} tokens",
                self.tokens.len()
            ))
        })?;
        Ok(Some((id as u32, token.clone())))
    }

    /// `token → id` with each token as `spell` writes it; a spelling seen twice is an error
    /// (llama.cpp refuses duplicate token texts too).
    fn map(&self, spell: impl Fn(&str) -> String) -> Result<Map<String, Value>> {
        let mut map = Map::new();
        for (id, token) in self.tokens.iter().enumerate() {
            let spelled = spell(token);
            if map.insert(spelled.clone(), id.into()).is_some() {
                return Err(self.fail(format!(
                    "duplicate token {spelled:?} (id {id}) in `tokenizer.ggml.tokens`"
                )));
            }
        }
        Ok(map)
    }

    /// The added tokens: CONTROL, UNKNOWN and the `specials` ids as special tokens where
    /// `keep_special` accepts their text, USER_DEFINED ones as plain tokens where `keep_user`
    /// does.
    fn added(
        &self,
        specials: &[u32],
        keep_special: impl Fn(&str) -> bool,
        keep_user: impl Fn(&str) -> bool,
    ) -> Vec<Value> {
        let mut added = Vec::new();
        for (id, (token, &ty)) in self.tokens.iter().zip(&self.types).enumerate() {
            let special =
                ty == TYPE_CONTROL || ty == TYPE_UNKNOWN || specials.contains(&(id as u32));
            if special && keep_special(token) {
                added.push(added_token(id, token, true));
            } else if ty == TYPE_USER_DEFINED && keep_user(token) {
                added.push(added_token(id, token, false));
            }
        }
        added
    }

    fn merges(&self) -> Result<Option<Vec<Value>>> {
        let Some(merges) = self
            .file
            .get_strings("tokenizer.ggml.merges")
            .map_err(gguf_error)?
        else {
            return Ok(None);
        };
        merges
            .iter()
            .enumerate()
            .map(|(i, m)| {
                // The first space after the first character separates the pair.
                let at = m
                    .char_indices()
                    .skip(1)
                    .find(|&(_, c)| c == ' ')
                    .map(|(at, _)| at)
                    .ok_or_else(|| {
                        self.fail(format!(
                            "`tokenizer.ggml.merges` entry {i} ({m:?}) is not `left right`"
                        ))
                    })?;
                Ok(json!([&m[..at], &m[at + 1..]]))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

fn added_token(id: usize, content: &str, special: bool) -> Value {
    json!({
        "id": id, "content": content, "single_word": false, "lstrip": false,
        "rstrip": false, "normalized": false, "special": special,
    })
}

/// A `tokenizer.json` document without a post-processor (the caller sets it).
fn document(added: Vec<Value>, pre_tokenizer: Value, decoder: Value, model: Value) -> Value {
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": decoder,
        "model": model,
    })
}

/// transformers' `generate_merges(vocab, scores)`: every split of every piece into two pieces
/// of the vocabulary, with the piece's score; per piece ordered by the halves' ids, then all
/// stably by `(score, chars of left, chars of right)` descending.
fn merges_from_scores(tokens: &[String], scores: &[f64]) -> Vec<Value> {
    let ids: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut merges: Vec<(&str, &str, f64)> = Vec::new();
    for (token, &score) in tokens.iter().zip(scores) {
        let mut local: Vec<(&str, &str, f64)> = token
            .char_indices()
            .skip(1)
            .map(|(at, _)| (&token[..at], &token[at..]))
            .filter(|(l, r)| ids.contains_key(l) && ids.contains_key(r))
            .map(|(l, r)| (l, r, score))
            .collect();
        local.sort_by_key(|(l, r, _)| (ids[l], ids[r]));
        merges.extend(local);
    }
    let key = |m: &(&str, &str, f64)| (m.2, m.0.chars().count(), m.1.chars().count());
    merges.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        kb.0.total_cmp(&ka.0)
            .then(kb.1.cmp(&ka.1))
            .then(kb.2.cmp(&ka.2))
    });
    merges.into_iter().map(|(l, r, _)| json!([l, r])).collect()
}

/// transformers' `TemplateProcessing`: `[bos] $A [eos]`, pairs `… [bos] $B:1 [eos]`.
fn post_processor(bos: Option<(u32, &str)>, eos: Option<(u32, &str)>) -> Value {
    let special = |t: &str, type_id: u32| json!({"SpecialToken": {"id": t, "type_id": type_id}});
    let seq = |id: &str, type_id: u32| json!({"Sequence": {"id": id, "type_id": type_id}});
    let part = |id: &str, type_id: u32| {
        let mut out = Vec::new();
        if let Some((_, b)) = bos {
            out.push(special(b, type_id));
        }
        out.push(seq(id, type_id));
        if let Some((_, e)) = eos {
            out.push(special(e, type_id));
        }
        out
    };
    let single = part("A", 0);
    let pair = [part("A", 0), part("B", 1)].concat();
    let mut specials = Map::new();
    for (id, text) in bos.into_iter().chain(eos) {
        specials.insert(
            text.into(),
            json!({"id": text, "ids": [id], "tokens": [text]}),
        );
    }
    json!({"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials})
}

impl GgufTokenizerFiles {
    /// Opens the GGUF file at `path` and builds the files from its metadata
    /// ([`GgufTokenizerFiles::from_gguf`]).
    pub fn from_path(path: &Path) -> Result<Self> {
        Self::from_gguf(&GgufFile::open(path).map_err(gguf_error)?)
    }

    /// Builds the files from `file`'s `tokenizer.*` metadata.
    ///
    /// # Errors
    /// [`DataError::Tokenizer`] naming the file and the key: no or an unsupported
    /// `tokenizer.ggml.model`, token types/scores of another length than the token list, a
    /// declared `<arch>.vocab_size` that differs from it, duplicate token texts, special-token
    /// ids outside the vocabulary, malformed merges, an unknown pre-tokenizer id.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let model = file
            .get_str("tokenizer.ggml.model")
            .map_err(gguf_error)?
            .ok_or_else(|| {
                DataError::Tokenizer(format!(
                    "{}: no tokenizer in this GGUF (missing `tokenizer.ggml.model`)",
                    file.path().display()
                ))
            })?;
        let tokens = file
            .require_strings("tokenizer.ggml.tokens")
            .map_err(gguf_error)?;
        let n = tokens.len();
        let vocab = Vocab {
            file,
            tokens,
            types: file
                .get_i64s("tokenizer.ggml.token_type")
                .map_err(gguf_error)?
                .unwrap_or_else(|| vec![1; n]),
        };
        if vocab.types.len() != n {
            return Err(vocab.fail(format!(
                "`tokenizer.ggml.token_type` has {} entries for {n} tokens",
                vocab.types.len()
            )));
        }
        if let Some(arch) = file.get_str("general.architecture").map_err(gguf_error)?
            && let Some(declared) = file
                .get_u64(&format!("{arch}.vocab_size"))
                .map_err(gguf_error)?
            && declared as usize != n
        {
            return Err(vocab.fail(format!(
                "the tokenizer does not match the vocabulary: `tokenizer.ggml.tokens` lists {n} \
                 tokens but `{arch}.vocab_size` is {declared}"
            )));
        }
        if let Some(text) = file
            .get_str("tokenizer.huggingface.json")
            .map_err(gguf_error)?
        {
            let tokenizer_json = serde_json::from_str(text).map_err(|e| {
                vocab.fail(format!("`tokenizer.huggingface.json` is not JSON: {e}"))
            })?;
            return Ok(Self {
                tokenizer_json,
                tokenizer_config: Self::config(&vocab, false, false)?,
            });
        }
        let pre = file.get_str("tokenizer.ggml.pre").map_err(gguf_error)?;
        let llama3_family = pre.is_some_and(|p| LLAMA3_FAMILY.contains(&p));
        let add_bos = file
            .get_bool("tokenizer.ggml.add_bos_token")
            .map_err(gguf_error)?
            .unwrap_or(model == "llama" || llama3_family);
        let add_eos = file
            .get_bool("tokenizer.ggml.add_eos_token")
            .map_err(gguf_error)?
            .unwrap_or(false);
        let bos = vocab.special("bos_token_id")?;
        let eos = vocab.special("eos_token_id")?;
        let specials: Vec<u32> = [
            "bos_token_id",
            "eos_token_id",
            "unknown_token_id",
            "padding_token_id",
        ]
        .iter()
        .map(|k| vocab.special(k))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .map(|(id, _)| id)
        .collect();
        let mut tokenizer_json = match model {
            "gpt2" => Self::byte_level(&vocab, pre, llama3_family, &specials)?,
            "llama" => Self::sentencepiece(&vocab, &specials)?,
            other => {
                return Err(vocab.fail(format!(
                    "`tokenizer.ggml.model` = `{other}` is not supported (supported: {})",
                    SUPPORTED_GGUF_TOKENIZERS.join(", ")
                )));
            }
        };
        let bos = bos
            .as_ref()
            .filter(|_| add_bos)
            .map(|(id, t)| (*id, t.as_str()));
        let eos = eos
            .as_ref()
            .filter(|_| add_eos)
            .map(|(id, t)| (*id, t.as_str()));
        tokenizer_json["post_processor"] = post_processor(bos, eos);
        Ok(Self {
            tokenizer_json,
            tokenizer_config: Self::config(&vocab, add_bos, add_eos)?,
        })
    }

    fn config(vocab: &Vocab<'_>, add_bos: bool, add_eos: bool) -> Result<Value> {
        let mut config = Map::new();
        for (name, key) in [
            ("bos_token", "bos_token_id"),
            ("eos_token", "eos_token_id"),
            ("unk_token", "unknown_token_id"),
            ("pad_token", "padding_token_id"),
        ] {
            if let Some((_, text)) = vocab.special(key)? {
                config.insert(name.into(), Value::String(text));
            }
        }
        config.insert("add_bos_token".into(), add_bos.into());
        config.insert("add_eos_token".into(), add_eos.into());
        config.insert("tokenizer_class".into(), "PreTrainedTokenizerFast".into());
        let file = vocab.file;
        let default = file
            .get_str("tokenizer.chat_template")
            .map_err(gguf_error)?;
        let mut named: Vec<Value> = Vec::new();
        for (key, value) in file.metadata() {
            if let Some(name) = key.strip_prefix("tokenizer.chat_template.") {
                let template = value.as_str().ok_or_else(|| {
                    vocab.fail(format!(
                        "`{key}` holds {}, expected a string",
                        value.describe()
                    ))
                })?;
                named.push(json!({"name": name, "template": template}));
            }
        }
        match (default, named.is_empty()) {
            (Some(t), true) => {
                config.insert("chat_template".into(), t.into());
            }
            (default, false) => {
                if let Some(t) = default {
                    named.insert(0, json!({"name": "default", "template": t}));
                }
                config.insert("chat_template".into(), Value::Array(named));
            }
            (None, true) => {}
        }
        Ok(Value::Object(config))
    }

    /// `tokenizer.json` of a byte-level BPE (`gpt2`) vocabulary.
    fn byte_level(
        vocab: &Vocab<'_>,
        pre: Option<&str>,
        llama3_family: bool,
        specials: &[u32],
    ) -> Result<Value> {
        let alphabet = bytes_to_unicode();
        let in_alphabet = |t: &str| t.chars().all(|c| alphabet.contains(&c));
        let map = vocab.map(|token| {
            if in_alphabet(token) {
                token.to_string()
            } else {
                token.bytes().map(|b| alphabet[b as usize]).collect()
            }
        })?;
        let merges = vocab.merges()?.unwrap_or_default();
        let added = vocab.added(specials, in_alphabet, |t| map.contains_key(t));
        let pre_tokenizer = match split_regex(pre)? {
            Some(regex) => json!({"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
            ]}),
            None => {
                json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})
            }
        };
        Ok(document(
            added,
            pre_tokenizer,
            json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}),
            json!({
                "type": "BPE", "dropout": null, "unk_token": null,
                "continuing_subword_prefix": "", "end_of_word_suffix": "",
                "fuse_unk": false, "byte_fallback": false, "ignore_merges": llama3_family,
                "vocab": map, "merges": merges,
            }),
        ))
    }

    /// `tokenizer.json` of a SentencePiece-style (`llama`) vocabulary.
    fn sentencepiece(vocab: &Vocab<'_>, specials: &[u32]) -> Result<Value> {
        let map = vocab.map(str::to_string)?;
        let merges = match vocab.merges()? {
            Some(m) => m,
            None => {
                let scores = vocab
                    .file
                    .get_f64s("tokenizer.ggml.scores")
                    .map_err(gguf_error)?
                    .ok_or_else(|| {
                        vocab.fail(
                            "a `llama` tokenizer needs `tokenizer.ggml.merges` or `tokenizer.ggml.scores`"
                                .into(),
                        )
                    })?;
                if scores.len() != vocab.tokens.len() {
                    return Err(vocab.fail(format!(
                        "`tokenizer.ggml.scores` has {} entries for {} tokens",
                        scores.len(),
                        vocab.tokens.len()
                    )));
                }
                merges_from_scores(vocab.tokens, &scores)
            }
        };
        let added = vocab.added(specials, |_| true, |_| true);
        let prefix_space = vocab
            .file
            .get_bool("tokenizer.ggml.add_space_prefix")
            .map_err(gguf_error)?
            .unwrap_or(true);
        let mut decoders = vec![
            json!({"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "}),
            json!({"type": "ByteFallback"}),
            json!({"type": "Fuse"}),
        ];
        if prefix_space {
            decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
        }
        Ok(document(
            added,
            json!({
                "type": "Metaspace", "replacement": "\u{2581}",
                "prepend_scheme": if prefix_space { "first" } else { "never" }, "split": false,
            }),
            json!({"type": "Sequence", "decoders": decoders}),
            json!({
                "type": "BPE", "dropout": null, "unk_token": null,
                "continuing_subword_prefix": null, "end_of_word_suffix": null,
                "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
                "vocab": map, "merges": merges,
            }),
        ))
    }

    /// The two files as written (pretty JSON), `(tokenizer.json, tokenizer_config.json)`.
    pub fn to_bytes(&self) -> (Vec<u8>, Vec<u8>) {
        let pretty = |v: &Value| {
            let mut bytes = serde_json::to_vec_pretty(v).unwrap_or_default();
            bytes.push(b'\n');
            bytes
        };
        (pretty(&self.tokenizer_json), pretty(&self.tokenizer_config))
    }

    /// Writes `tokenizer.json` and `tokenizer_config.json` into `dir` (atomically, file by
    /// file); [`Tokenizer::from_dir`] on `dir` then gives the tokenizer
    /// [`Tokenizer::from_gguf`] builds, fingerprint included.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let (json, config) = self.to_bytes();
        for (name, bytes) in [("tokenizer.json", json), ("tokenizer_config.json", config)] {
            prefopt_core::write_atomic(&dir.join(name), &bytes)?;
        }
        Ok(())
    }

    /// Builds the [`Tokenizer`] these files describe.
    pub fn to_tokenizer(&self) -> Result<Tokenizer> {
        let (json, config) = self.to_bytes();
        let mut hasher = Sha256::new();
        hash_file(&mut hasher, "tokenizer.json", &json);
        hash_file(&mut hasher, "tokenizer_config.json", &config);
        let inner = tokenizers::Tokenizer::from_bytes(&json).map_err(|e| {
            DataError::Tokenizer(format!("tokenizer built from GGUF metadata: {e}"))
        })?;
        let templates = templates_from_config(&self.tokenizer_config)?;
        Tokenizer::assemble(
            inner,
            &self.tokenizer_config,
            &Value::Null,
            &Value::Null,
            templates,
            hasher.finalize().into(),
        )
    }
}

impl Tokenizer {
    /// The tokenizer of a GGUF file, from its `tokenizer.*` metadata (see
    /// [`GgufTokenizerFiles`]).
    pub fn from_gguf(path: &Path) -> Result<Self> {
        GgufTokenizerFiles::from_path(path)?.to_tokenizer()
    }

    /// A tokenizer from a model path of either form: a file is read as GGUF
    /// ([`Tokenizer::from_gguf`]), a directory as HF tokenizer files ([`Tokenizer::from_dir`]).
    pub fn load(path: &Path) -> Result<Self> {
        if path.is_file() {
            Self::from_gguf(path)
        } else {
            Self::from_dir(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_alphabet_is_gpt2s() {
        let a = bytes_to_unicode();
        assert_eq!(a[b' ' as usize], 'Ġ');
        assert_eq!(a[b'\n' as usize], 'Ċ');
        assert_eq!(a[b'A' as usize], 'A');
        assert_eq!(a[0xC3], 'Ã');
        let mut sorted = a.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 256);
    }

    #[test]
    fn merges_from_scores_orders_by_score_then_length() {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "bc", "abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let scores = [0.0, 0.0, 0.0, -1.0, -2.0, -0.5];
        let merges = merges_from_scores(&tokens, &scores);
        // abc (-0.5): splits a|bc and ab|c, by ids: (0, 4) then (3, 2); then ab, then bc.
        assert_eq!(
            merges,
            vec![
                json!(["ab", "c"]),
                json!(["a", "bc"]),
                json!(["a", "b"]),
                json!(["b", "c"])
            ]
        );
    }

    #[test]
    fn post_processor_brackets() {
        let p = post_processor(Some((1, "<s>")), None);
        assert_eq!(p["single"].as_array().unwrap().len(), 2);
        assert_eq!(p["pair"].as_array().unwrap().len(), 4);
        assert_eq!(p["special_tokens"]["<s>"]["ids"], json!([1]));
        let p = post_processor(None, None);
        assert_eq!(
            p["single"],
            json!([{"Sequence": {"id": "A", "type_id": 0}}])
        );
    }
}

//! A Hugging Face tokenizer directory: `tokenizer.json` plus the side files that decide
//! special tokens and chat templates.
//!
//! Which files are read, and what each decides (the same precedence as transformers):
//!
//! | file | used for |
//! |---|---|
//! | `tokenizer.json` (required) | vocabulary, pre/post-processing, added tokens |
//! | `tokenizer_config.json` | `bos_token`/`eos_token`/`pad_token`/`unk_token` (string or `AddedToken` object), `chat_template` |
//! | `special_tokens_map.json` | special tokens missing from `tokenizer_config.json` |
//! | `chat_template.jinja` | the default chat template (overrides `tokenizer_config.json`'s, as in transformers ≥ 4.43) |
//! | `generation_config.json` | extra stop ids (`eos_token_id` may be a list), `pad_token_id` fallback |
//!
//! `encode(text, add_special_tokens = true)` applies `tokenizer.json`'s post-processor (for
//! example Llama's `<s> $A`). `add_bos_token`/`add_eos_token` in `tokenizer_config.json`
//! are ignored, as transformers 5 ignores them whenever `tokenizer.json` exists
//! (`tokenization_utils_base.py` drops both keys; transformers 4's `LlamaTokenizerFast`
//! rebuilt the post-processor from them instead). When no pad token is configured, the pad
//! id is `generation_config.json`'s `pad_token_id`, else EOS (TRL's fallback).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chat_template::{ChatTemplate, ChatTemplateInputs, templates_from_config};
use crate::error::{DataError, Result};
use crate::records::Message;

/// A special token: its text and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialToken {
    /// Text, as written in templates (`</s>`, `<|eot_id|>`).
    pub text: String,
    /// Id in the vocabulary.
    pub id: u32,
}

/// Paths of the files that make up a tokenizer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenizerFiles {
    /// `tokenizer.json` (required).
    pub tokenizer_json: PathBuf,
    /// `tokenizer_config.json`.
    pub tokenizer_config: Option<PathBuf>,
    /// `special_tokens_map.json`.
    pub special_tokens_map: Option<PathBuf>,
    /// `generation_config.json`.
    pub generation_config: Option<PathBuf>,
    /// `chat_template.jinja`.
    pub chat_template: Option<PathBuf>,
}

impl TokenizerFiles {
    /// The files of a model or tokenizer directory (side files only if they exist).
    pub fn in_dir(dir: &Path) -> Self {
        let optional = |name: &str| {
            let p = dir.join(name);
            p.is_file().then_some(p)
        };
        Self {
            tokenizer_json: dir.join("tokenizer.json"),
            tokenizer_config: optional("tokenizer_config.json"),
            special_tokens_map: optional("special_tokens_map.json"),
            generation_config: optional("generation_config.json"),
            chat_template: optional("chat_template.jinja"),
        }
    }
}

/// A tokenizer with transformers' special-token and chat-template behaviour.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    bos: Option<SpecialToken>,
    eos: Option<SpecialToken>,
    pad: Option<SpecialToken>,
    unk: Option<SpecialToken>,
    stop_ids: Vec<u32>,
    templates: BTreeMap<String, String>,
    chat_template: Option<ChatTemplate>,
    fingerprint: [u8; 32],
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}

/// The text of a special-token entry: `"</s>"` or `{"content": "</s>", ...}`.
fn token_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(m) => m.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// `eos_token_id` / `pad_token_id` in generation_config: an integer or a list.
fn ids_of(value: Option<&serde_json::Value>) -> Vec<u32> {
    match value {
        Some(serde_json::Value::Number(n)) => n.as_u64().map(|x| x as u32).into_iter().collect(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_u64().map(|x| x as u32))
            .collect(),
        _ => Vec::new(),
    }
}

/// Adds one tokenizer file to a [`Tokenizer::fingerprint`]: its role, length and bytes.
pub(crate) fn hash_file(hasher: &mut Sha256, label: &str, bytes: &[u8]) {
    hasher.update(label.as_bytes());
    hasher.update([0]);
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

impl Tokenizer {
    /// Loads the tokenizer files of a model directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_files(&TokenizerFiles::in_dir(dir))
    }

    /// Loads the given files.
    pub fn from_files(files: &TokenizerFiles) -> Result<Self> {
        let mut hasher = Sha256::new();
        let json_bytes = read_bytes(&files.tokenizer_json)?;
        hash_file(&mut hasher, "tokenizer.json", &json_bytes);
        let inner = tokenizers::Tokenizer::from_bytes(&json_bytes).map_err(|e| {
            DataError::Tokenizer(format!("{}: {e}", files.tokenizer_json.display()))
        })?;
        let mut side = |label: &str, path: &Option<PathBuf>| -> Result<Option<Vec<u8>>> {
            let Some(path) = path else { return Ok(None) };
            let bytes = read_bytes(path)?;
            hash_file(&mut hasher, label, &bytes);
            Ok(Some(bytes))
        };
        let parse = |path: &Option<PathBuf>, bytes: Option<Vec<u8>>| -> Result<serde_json::Value> {
            match (path, bytes) {
                (Some(p), Some(b)) => serde_json::from_slice(&b).map_err(|e| {
                    DataError::Tokenizer(format!("{}: invalid JSON: {e}", p.display()))
                }),
                _ => Ok(serde_json::Value::Null),
            }
        };
        let config_bytes = side("tokenizer_config.json", &files.tokenizer_config)?;
        let map_bytes = side("special_tokens_map.json", &files.special_tokens_map)?;
        let generation_bytes = side("generation_config.json", &files.generation_config)?;
        let jinja_bytes = side("chat_template.jinja", &files.chat_template)?;
        let config = parse(&files.tokenizer_config, config_bytes)?;
        let special_map = parse(&files.special_tokens_map, map_bytes)?;
        let generation = parse(&files.generation_config, generation_bytes)?;
        let mut templates = templates_from_config(&config)?;
        if let (Some(path), Some(bytes)) = (&files.chat_template, jinja_bytes) {
            let text = String::from_utf8(bytes)
                .map_err(|e| DataError::Tokenizer(format!("{}: {e}", path.display())))?;
            templates.insert("default".to_string(), text);
        }
        let fingerprint: [u8; 32] = hasher.finalize().into();
        Self::assemble(
            inner,
            &config,
            &special_map,
            &generation,
            templates,
            fingerprint,
        )
    }

    pub(crate) fn assemble(
        inner: tokenizers::Tokenizer,
        config: &serde_json::Value,
        special_map: &serde_json::Value,
        generation: &serde_json::Value,
        templates: BTreeMap<String, String>,
        fingerprint: [u8; 32],
    ) -> Result<Self> {
        let lookup = |key: &str| -> Result<Option<SpecialToken>> {
            let text = token_text(config.get(key)).or_else(|| token_text(special_map.get(key)));
            let Some(text) = text else { return Ok(None) };
            let id = inner.token_to_id(&text).ok_or_else(|| {
                DataError::Tokenizer(format!("{key} {text:?} is not in the vocabulary"))
            })?;
            Ok(Some(SpecialToken { text, id }))
        };
        let bos = lookup("bos_token")?;
        let eos = lookup("eos_token")?;
        let unk = lookup("unk_token")?;
        let mut pad = lookup("pad_token")?;
        if pad.is_none() {
            pad = ids_of(generation.get("pad_token_id"))
                .first()
                .and_then(|&id| inner.id_to_token(id).map(|text| SpecialToken { text, id }))
                .or_else(|| eos.clone());
        }
        let mut stop_ids: Vec<u32> = eos.iter().map(|t| t.id).collect();
        for id in ids_of(generation.get("eos_token_id")) {
            if !stop_ids.contains(&id) {
                stop_ids.push(id);
            }
        }
        let chat_template = match templates.get("default") {
            Some(source) => Some(ChatTemplate::new(source.clone())?),
            None if templates.len() == 1 => {
                let source = templates.values().next().cloned().unwrap_or_default();
                Some(ChatTemplate::new(source)?)
            }
            None => None,
        };
        Ok(Self {
            inner,
            bos,
            eos,
            pad,
            unk,
            stop_ids,
            templates,
            chat_template,
            fingerprint,
        })
    }

    /// Selects the named chat template of a `tokenizer_config.json` with several
    /// (`default`, `tool_use`, ...).
    pub fn select_chat_template(&mut self, name: &str) -> Result<()> {
        let source = self.templates.get(name).ok_or_else(|| {
            DataError::Tokenizer(format!(
                "no chat template named {name:?} (available: {:?})",
                self.templates.keys().collect::<Vec<_>>()
            ))
        })?;
        self.chat_template = Some(ChatTemplate::new(source.clone())?);
        Ok(())
    }

    /// Replaces the chat template with `source` (for models that ship none).
    pub fn set_chat_template(&mut self, source: &str) -> Result<()> {
        self.chat_template = Some(ChatTemplate::new(source)?);
        Ok(())
    }

    /// Names of the chat templates in the tokenizer files.
    pub fn chat_template_names(&self) -> Vec<&str> {
        self.templates.keys().map(String::as_str).collect()
    }

    /// The selected chat template, if any.
    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.chat_template.as_ref()
    }

    /// The wrapped `tokenizers` tokenizer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// Beginning-of-sequence token.
    pub fn bos(&self) -> Option<&SpecialToken> {
        self.bos.as_ref()
    }

    /// End-of-sequence token (appended to plain-text completions).
    pub fn eos(&self) -> Option<&SpecialToken> {
        self.eos.as_ref()
    }

    /// Padding token (configured pad, else generation_config's `pad_token_id`, else EOS).
    pub fn pad(&self) -> Option<&SpecialToken> {
        self.pad.as_ref()
    }

    /// The id to pad batches with: the padding token, else EOS, else 0.
    pub fn padding_id(&self) -> u32 {
        self.pad().or_else(|| self.eos()).map_or(0, |t| t.id)
    }

    /// Unknown token.
    pub fn unk(&self) -> Option<&SpecialToken> {
        self.unk.as_ref()
    }

    /// Ids that end generation: EOS, then generation_config's `eos_token_id`s.
    pub fn stop_token_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// SHA-256 over the bytes of every file read (for cache keys).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Id of a token string.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Tokenizes `text`; `add_special_tokens` runs `tokenizer.json`'s post-processor.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, add_special_tokens)
            .map_err(|e| DataError::Tokenizer(format!("encode: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Turns ids back into text.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| DataError::Tokenizer(format!("decode: {e}")))
    }

    /// The special-token variables a chat template sees.
    pub fn template_special_tokens(&self) -> BTreeMap<String, String> {
        [
            ("bos_token", &self.bos),
            ("eos_token", &self.eos),
            ("pad_token", &self.pad),
            ("unk_token", &self.unk),
        ]
        .into_iter()
        .filter_map(|(k, t)| t.as_ref().map(|t| (k.to_string(), t.text.clone())))
        .collect()
    }

    /// Renders `messages` with the selected chat template (transformers'
    /// `apply_chat_template(messages, tokenize=False, add_generation_prompt=...)`).
    pub fn apply_chat_template(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String> {
        self.render_chat(
            messages,
            ChatTemplateInputs {
                add_generation_prompt,
                ..Default::default()
            },
        )
    }

    /// [`Tokenizer::apply_chat_template`] with tools and extra variables; the special-token
    /// strings are filled in from this tokenizer.
    pub fn render_chat(
        &self,
        messages: &[Message],
        mut inputs: ChatTemplateInputs,
    ) -> Result<String> {
        let template = self.chat_template.as_ref().ok_or_else(|| {
            DataError::ChatTemplate(
                "the tokenizer has no chat template (conversational data needs one; set \
                 `chat_template` in tokenizer_config.json or call set_chat_template)"
                    .into(),
            )
        })?;
        for (k, v) in self.template_special_tokens() {
            inputs.special_tokens.entry(k).or_insert(v);
        }
        template.render(messages, &inputs)
    }

    /// Renders and tokenizes a conversation, as `apply_chat_template(tokenize=True)` does
    /// (`add_special_tokens=False`: the template writes its own BOS).
    pub fn encode_chat(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>> {
        let text = self.apply_chat_template(messages, add_generation_prompt)?;
        self.encode(&text, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_text_accepts_strings_and_added_token_objects() {
        assert_eq!(
            token_text(Some(&serde_json::json!("</s>"))).as_deref(),
            Some("</s>")
        );
        assert_eq!(
            token_text(Some(
                &serde_json::json!({"__type": "AddedToken", "content": "<s>"})
            ))
            .as_deref(),
            Some("<s>")
        );
        assert_eq!(token_text(Some(&serde_json::Value::Null)), None);
    }

    #[test]
    fn generation_config_ids_int_or_list() {
        assert_eq!(ids_of(Some(&serde_json::json!(7))), vec![7]);
        assert_eq!(ids_of(Some(&serde_json::json!([1, 2]))), vec![1, 2]);
        assert!(ids_of(None).is_empty());
    }
}

//! The model side of the server: a [`CausalLm`] with its tokenizer, turning checked requests
//! into token ids ([`Prompter`]) and batches of them into choices ([`Engine::complete`]).

use std::path::Path;
use std::sync::Arc;

use burn::prelude::Device;
use prefopt_data::Tokenizer;
use prefopt_models::{CausalLm, GenerationConfig, LoadOptions};

use crate::api_error::ApiError;
use crate::batch_plan::{BatchKey, rows};
use crate::error::{Result, ServeError};
use crate::request::ChatRequest;
use crate::response::{Choice, Completion, FinishReason};
use crate::stop_strings::{find_stop, shortest_prefix};

/// A model ready to serve: weights, tokenizer (with a chat template), stop and pad tokens.
#[derive(Debug)]
pub struct Engine {
    model: CausalLm,
    tokenizer: Arc<Tokenizer>,
    eos: Vec<u32>,
    pad: u32,
}

impl Engine {
    /// Loads a Hugging Face checkpoint directory (`config.json`, `model.safetensors`, the
    /// tokenizer files) or a `.gguf` file (weights dequantized to f32, tokenizer and chat
    /// template from its metadata; kept quantized with [`LoadOptions::keep_quantized`]) onto
    /// `device`; the tokenizer comes from `tokenizer` when given, and `chat_template` selects a
    /// named template.
    ///
    /// # Errors
    /// [`ServeError::UnsupportedModel`] for a path that does not exist, and every loading
    /// error of
    /// [`Engine::new`], the tokenizer and the weights.
    pub fn load(
        model: &Path,
        tokenizer: Option<&Path>,
        chat_template: Option<&str>,
        device: &Device,
        options: &LoadOptions,
    ) -> Result<Self> {
        let unsupported = |reason: &str| ServeError::UnsupportedModel {
            path: model.to_path_buf(),
            reason: reason.to_owned(),
        };
        if !model.exists() {
            return Err(unsupported("does not exist"));
        }
        let tokenizer = prefopt_train::load_tokenizer(tokenizer.unwrap_or(model), chat_template)?;
        let model = CausalLm::load_with(model, device, options)?;
        Self::new(model, tokenizer)
    }

    /// Wraps a loaded model and tokenizer.
    ///
    /// A choice ends on any of the model config's `eos_token_id`s and the tokenizer's stop
    /// tokens (`generation_config.json`); prompts are left-padded with the tokenizer's pad
    /// token, else its EOS.
    ///
    /// # Errors
    /// A tokenizer whose ids do not fit the model's vocabulary, or one without a chat
    /// template (`POST /v1/chat/completions` renders every conversation with it).
    pub fn new(model: CausalLm, tokenizer: Tokenizer) -> Result<Self> {
        model.check_vocab(tokenizer.vocab_size())?;
        if tokenizer.chat_template().is_none() {
            return Err(prefopt_core::invalid(
                "chat_template",
                "the tokenizer has no chat template (`chat_template` in tokenizer_config.json); \
                 chat completions need one",
            ));
        }
        let mut eos = model.config().eos_token_ids.clone();
        for &t in tokenizer.stop_token_ids() {
            if !eos.contains(&t) {
                eos.push(t);
            }
        }
        let pad = tokenizer
            .pad()
            .or_else(|| tokenizer.eos())
            .map(|t| t.id)
            .or(model.config().pad_token_id)
            .unwrap_or(0);
        Ok(Self {
            model,
            tokenizer: Arc::new(tokenizer),
            eos,
            pad,
        })
    }

    /// Tokens of context the model has (`max_position_embeddings`): prompt plus
    /// `max_tokens` must fit.
    pub fn context_length(&self) -> usize {
        self.model.config().max_position_embeddings
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// What the HTTP threads need to check and encode requests.
    pub(crate) fn prompter(&self, served_model: &str, default_max_tokens: usize) -> Prompter {
        Prompter {
            tokenizer: Arc::clone(&self.tokenizer),
            context: self.context_length(),
            served_model: served_model.to_owned(),
            default_max_tokens,
        }
    }

    /// Generates the choices of every request of `batch` in one `generate` call (a batch that
    /// [`plan`](crate::batch_plan::plan) put together under `key`), sampling from `seed`.
    ///
    /// # Errors
    /// A generation or decoding error (the whole batch fails).
    pub(crate) fn complete(
        &self,
        batch: &[&Prepared],
        key: BatchKey,
        seed: u64,
    ) -> Result<Vec<Completion>> {
        let Some(first) = batch.first() else {
            return Ok(Vec::new());
        };
        let greedy = matches!(key, BatchKey::Greedy { .. });
        let eos = if first.request.ignore_eos {
            Vec::new()
        } else {
            self.eos.clone()
        };
        let max_new = batch.iter().map(|p| p.max_tokens).max().unwrap_or(1);
        let config = GenerationConfig::new()
            .with_max_new_tokens(max_new)
            .with_do_sample(!greedy)
            .with_temperature(if greedy {
                1.0
            } else {
                first.request.temperature
            })
            .with_top_k(first.request.top_k)
            .with_top_p(first.request.top_p)
            .with_seed(seed)
            .with_eos_token_ids(Some(eos))
            .with_pad_token_id(Some(self.pad));
        let out = if let [only] = batch {
            self.model.generate_repeated(
                std::slice::from_ref(&only.prompt_ids),
                rows(&only.request),
                &config,
            )?
        } else {
            let prompts: Vec<Vec<u32>> = batch
                .iter()
                .flat_map(|p| std::iter::repeat_n(p.prompt_ids.clone(), rows(&p.request)))
                .collect();
            self.model.generate(&prompts, &config)?
        };
        let mut next_row = 0;
        batch
            .iter()
            .map(|p| {
                let r = rows(&p.request);
                let mut choices = (next_row..next_row + r)
                    .map(|i| self.choice(&out.tokens[i], out.finished[i], p))
                    .collect::<Result<Vec<_>>>()?;
                next_row += r;
                if greedy {
                    // One greedy row stands for all `n` (identical) choices.
                    choices = vec![choices[0].clone(); p.request.n];
                }
                Ok(Completion {
                    choices,
                    prompt_tokens: p.prompt_ids.len(),
                })
            })
            .collect()
    }

    /// One row's tokens as a choice: cut to the request's `max_tokens`, decoded (special
    /// tokens skipped), cut before the first stop string.
    fn choice(&self, tokens: &[u32], ended_on_eos: bool, p: &Prepared) -> Result<Choice> {
        let (tokens, eos) = if tokens.len() > p.max_tokens {
            (&tokens[..p.max_tokens], false)
        } else {
            (tokens, ended_on_eos)
        };
        let text = self.tokenizer.decode(tokens, true)?;
        let stops = &p.request.stop;
        if let Some(at) = find_stop(&text, stops) {
            let used = shortest_prefix(tokens.len(), |k| {
                self.tokenizer
                    .decode(&tokens[..k], true)
                    .is_ok_and(|t| find_stop(&t, stops).is_some())
            });
            return Ok(Choice {
                text: text[..at].to_owned(),
                finish_reason: FinishReason::Stop,
                tokens: used,
            });
        }
        Ok(Choice {
            text,
            finish_reason: if eos {
                FinishReason::Stop
            } else {
                FinishReason::Length
            },
            tokens: tokens.len(),
        })
    }
}

/// A request ready for the scheduler: checked, rendered and encoded, its `max_tokens`
/// resolved.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) request: ChatRequest,
    pub(crate) prompt_ids: Vec<u32>,
    pub(crate) max_tokens: usize,
}

/// Checks requests against the served model and encodes them (on the HTTP threads, so the
/// scheduler thread only generates).
#[derive(Debug, Clone)]
pub(crate) struct Prompter {
    tokenizer: Arc<Tokenizer>,
    context: usize,
    served_model: String,
    default_max_tokens: usize,
}

impl Prompter {
    /// Renders the conversation with the chat template (plus the generation prompt) and
    /// resolves `max_tokens` (default: the server's, capped by the room left in the context).
    ///
    /// # Errors
    /// 404 for another `model`; 400 naming `messages` (the template fails, or the prompt
    /// fills the context) or `max_tokens` (prompt plus `max_tokens` exceed the context).
    pub(crate) fn prepare(&self, request: ChatRequest) -> std::result::Result<Prepared, ApiError> {
        if let Some(model) = &request.model
            && *model != self.served_model
        {
            return Err(ApiError::unknown_model(model, &self.served_model));
        }
        let prompt_ids = self
            .tokenizer
            .encode_chat(&request.messages, true)
            .map_err(|e| {
                ApiError::invalid("messages", format!("cannot render the conversation: {e}"))
            })?;
        let context = self.context;
        if prompt_ids.is_empty() || prompt_ids.len() >= context {
            return Err(ApiError::invalid(
                "messages",
                format!(
                    "the prompt has {} tokens; the model's context is {context} tokens and \
                     needs room for at least one new token",
                    prompt_ids.len()
                ),
            ));
        }
        let room = context - prompt_ids.len();
        let max_tokens = match request.max_tokens {
            Some(m) if m > room => {
                return Err(ApiError::invalid(
                    "max_tokens",
                    format!(
                        "{m} new tokens do not fit: the prompt has {} of the model's {context} \
                         tokens of context, which leaves {room}",
                        prompt_ids.len()
                    ),
                ));
            }
            Some(m) => m,
            None => self.default_max_tokens.min(room),
        };
        Ok(Prepared {
            request,
            prompt_ids,
            max_tokens,
        })
    }
}

//! Llama-family models from GGUF files (llama.cpp's format, read by `prefopt-gguf`).
//!
//! Three translations turn a GGUF into what [`crate::CausalLm::load_hf`] would have built from
//! the same model's Hugging Face checkpoint:
//! - **config** (`config.rs`): the `llama.*` metadata → an HF `config.json` value →
//!   [`crate::LlamaConfig`] (so a converted checkpoint writes that `config.json` back);
//! - **names** (`weights.rs`): llama.cpp's tensor names (`token_embd`, `blk.N.attn_q`, ...) →
//!   the HF names this crate loads by, shapes checked against ggml's reversed `ne`;
//! - **Q/K rows** (`weights.rs`): llama.cpp's converter permutes the rows of `attn_q`/`attn_k`
//!   per head for its interleaved RoPE; the inverse permutation restores HF's rotate-half
//!   layout (with the KV head count for `attn_k`, which matters under GQA).

mod config;
mod load;
mod weights;

pub use config::{SUPPORTED_GGUF_ARCHITECTURES, llama_config_from_gguf};
pub use weights::unpermute_rows;
